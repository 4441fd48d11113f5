package site

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/candour/candour/catalogue"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func sampleEvents() []feedEvent {
	published := time.Date(2026, 2, 12, 9, 30, 0, 0, time.UTC)
	d := catalogue.Dataset{Slug: "waits", Title: "Waits", Publisher: catalogue.Publisher{Slug: "nhs-england", Name: "NHS England"}}
	v1 := catalogue.Release{ID: 1, Dataset: catalogue.DatasetRef{Slug: "waits"}, Version: 1, Title: "Waits, January 2026",
		Summary: "How long people waited in January.", ChangeNotes: "First release: **all** providers.", PublishedAt: published,
		Files: []catalogue.File{{Name: "waits.csv", Role: catalogue.RolePublic, Bytes: 2048, SHA256: strings.Repeat("ab", 32)},
			{Name: "waits.csv", Role: catalogue.RoleOriginal, SHA256: strings.Repeat("00", 32)}}}
	v2 := catalogue.Release{ID: 2, Dataset: catalogue.DatasetRef{Slug: "waits"}, Version: 2, Title: "Waits, January 2026 (corrected)",
		Corrects: catalogue.ReleaseRef{ID: 1, Version: 1}, CorrectionNotice: "Two providers' figures were swapped & are now right.",
		PublishedAt: published.Add(48 * time.Hour), State: catalogue.StateWithdrawn, StateChangedAt: published.Add(96 * time.Hour),
		WithdrawnReason: "Withdrawn <pending> a review."}
	return []feedEvent{
		{Release: v2, Dataset: d, Withdrawn: true, At: v2.StateChangedAt},
		{Release: v2, Dataset: d, At: v2.PublishedAt},
		{Release: v1, Dataset: d, At: v1.PublishedAt},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./site -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file:\n%s", name, got)
	}
}

func TestFeedsAreGoldenAndParse(t *testing.T) {
	const base, self = "https://data.example.org", "https://data.example.org/feeds/releases.atom"
	f, err := buildFeed(base, "data.example.org", "Candour: new releases", self, "feeds/releases", fuzzUpdated, sampleEvents())
	if err != nil {
		t.Fatal(err)
	}
	atom, err := writeAtom(f, self, "")
	if err != nil {
		t.Fatal(err)
	}
	rss, err := writeRSS(f)
	if err != nil {
		t.Fatal(err)
	}
	jf, err := writeJSONFeed(f, strings.Replace(self, ".atom", ".json", 1), "")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "releases.atom", atom)
	golden(t, "releases.rss", rss)
	golden(t, "releases.json", jf)

	p := gofeed.NewParser()
	for name, raw := range map[string][]byte{"atom": atom, "rss": rss, "json": jf} {
		parsed, err := p.ParseString(string(raw))
		if err != nil {
			t.Fatalf("%s does not parse: %v", name, err)
		}
		if parsed.FeedType != name || len(parsed.Items) != 3 {
			t.Fatalf("%s: type %s, %d items", name, parsed.FeedType, len(parsed.Items))
		}
		first, last := parsed.Items[0], parsed.Items[2]
		if first.Title != "Withdrawn: Waits, January 2026 (corrected)" || parsed.Items[1].Title != "Correction: Waits, January 2026 (corrected)" ||
			last.Title != "New release: Waits, January 2026" || last.Link != base+"/datasets/waits/releases/1" {
			t.Errorf("%s items: %q %q %q %q", name, first.Title, parsed.Items[1].Title, last.Title, last.Link)
		}
		body := last.Content
		if !strings.Contains(body, base+"/datasets/waits/releases/1/files/waits.csv") || !strings.Contains(body, "<strong>all</strong>") ||
			strings.Contains(body, strings.Repeat("00", 32)) {
			t.Errorf("%s: the entry does not link the file and change notes, or names the original: %s", name, body)
		}
		if !strings.Contains(first.Content, "Withdrawn &lt;pending&gt; a review.") {
			t.Errorf("%s: the withdrawal reason is not escaped: %s", name, first.Content)
		}
	}
	// The defects put right: a self link and tag: ids in Atom, no
	// name-only author in RSS.
	if !strings.Contains(string(atom), `rel="self"`) || !strings.Contains(string(atom), "<id>tag:data.example.org,2026:feeds/releases</id>") ||
		!strings.Contains(string(atom), "<id>tag:data.example.org,2026:release/2/withdrawn</id>") {
		t.Errorf("atom: no self link or tag ids:\n%s", atom)
	}
	if strings.Contains(string(rss), "<author>") || !strings.Contains(string(rss), "<category>NHS England</category>") {
		t.Errorf("rss: an author element, or no publisher category:\n%s", rss)
	}
}

// TestEmptyFeedsFollowTheirSpecifications: a feed with no entries still
// has JSON Feed's required items (empty), a sensible Atom updated (when
// the feed began, never 1970), and every feed its own id.
func TestEmptyFeedsFollowTheirSpecifications(t *testing.T) {
	const base = "https://data.example.org"
	changed := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	ids := map[string]bool{}
	for _, filter := range []feedFilter{{}, {Dataset: "shmi"}, {Publisher: "nhs-england"}, {Topic: "Cancer"}} {
		self := base + "/feeds/releases.json" + filter.query()
		f, err := buildFeed(base, "data.example.org", "Empty", self, filter.idPath(), changed, nil)
		if err != nil {
			t.Fatal(err)
		}
		jf, err := writeJSONFeed(f, self, "")
		if err != nil {
			t.Fatal(err)
		}
		var j map[string]any
		if err := json.Unmarshal(jf, &j); err != nil {
			t.Fatal(err)
		}
		if items, ok := j["items"].([]any); !ok || len(items) != 0 {
			t.Errorf("empty JSON Feed %s: items %v, want an empty list", filter.query(), j["items"])
		}
		atom, err := writeAtom(f, strings.Replace(self, ".json", ".atom", 1), "")
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			ID      string `xml:"id"`
			Updated string `xml:"updated"`
		}
		if err := xml.Unmarshal(atom, &a); err != nil {
			t.Fatal(err)
		}
		if a.Updated != "2026-11-20T09:30:00Z" {
			t.Errorf("empty Atom feed %s: updated %q, want when the feed began", filter.query(), a.Updated)
		}
		if ids[a.ID] {
			t.Errorf("two feeds share the id %s", a.ID)
		}
		ids[a.ID] = true
	}
	if !ids["tag:data.example.org,2026:feeds/releases/topic/cancer"] {
		t.Errorf("feed ids: %v", ids)
	}
}
