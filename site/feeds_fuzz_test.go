package site

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
)

// fuzzFeedEvents builds up to three events (a new release, a correction,
// a withdrawal, as bits 0–2 of kinds choose; at least one) whose every
// text comes from the fuzzer.
func fuzzFeedEvents(title, summary, notes, reason, name string, kinds byte) []feedEvent {
	published := time.Date(2026, 2, 12, 9, 30, 0, 0, time.UTC)
	d := catalogue.Dataset{Slug: "waits", Title: title, Publisher: catalogue.Publisher{Slug: "nhs-england", Name: summary}}
	r := catalogue.Release{ID: 1, Dataset: catalogue.DatasetRef{Slug: "waits"}, Version: 1, Title: title, Summary: summary,
		PeriodLabel: reason, ChangeNotes: notes, PublishedAt: published,
		Files: []catalogue.File{{Name: name, Role: catalogue.RolePublic, Bytes: int64(len(notes)), SHA256: strings.Repeat("ab", 32)}}}
	var out []feedEvent
	if kinds&1 != 0 || kinds&7 == 0 {
		out = append(out, feedEvent{Release: r, Dataset: d, At: published})
	}
	if kinds&2 != 0 {
		c := r
		c.ID, c.Version, c.Corrects, c.CorrectionNotice, c.Summary = 2, 2, catalogue.ReleaseRef{ID: 1, Version: 1}, reason, ""
		out = append(out, feedEvent{Release: c, Dataset: d, At: published.Add(time.Hour)})
	}
	if kinds&4 != 0 {
		w := r
		w.State, w.WithdrawnReason = catalogue.StateWithdrawn, reason
		out = append(out, feedEvent{Release: w, Dataset: d, Withdrawn: true, At: published.Add(2 * time.Hour)})
	}
	return out
}

// FuzzFeeds writes the release feeds with titles, summaries, change
// notes, reasons, file names and links from the fuzzer (control
// characters, "]]>", "&", invalid UTF-8 and all). Nothing may panic or
// fail to write; the Atom and RSS documents must be well-formed XML that
// encoding/xml reads, with one entry per event; the JSON Feed must be
// JSON that encoding/json reads, with one item per event.
func FuzzFeeds(f *testing.F) {
	f.Add("Waits, January 2026", "How long people waited.", "First release: **all** providers.", "Two figures were swapped & are now right.",
		"waits.csv", "https://data.example.org", byte(7))
	f.Fuzz(func(t *testing.T, title, summary, notes, reason, name, link string, kinds byte) {
		events := fuzzFeedEvents(title, summary, notes, reason, name, kinds)
		self := link + "/feeds/releases.atom?dataset=" + title
		built, err := buildFeed(link, link, title, self, "feeds/releases/dataset/"+title, fuzzUpdated, events)
		if err != nil {
			t.Fatalf("buildFeed: %v", err)
		}
		atom, err := writeAtom(built, self, "")
		if err != nil {
			t.Fatalf("writeAtom: %v", err)
		}
		var a struct {
			Entries []struct {
				Title   string `xml:"title"`
				Content string `xml:"content"`
			} `xml:"entry"`
		}
		checkFeedXML(t, "Atom", atom, &a)
		if len(a.Entries) != len(events) {
			t.Fatalf("Atom: %d entries for %d events:\n%s", len(a.Entries), len(events), atom)
		}
		rss, err := writeRSS(built)
		if err != nil {
			t.Fatalf("writeRSS: %v", err)
		}
		var r struct {
			Items []struct {
				Title   string `xml:"title"`
				Content string `xml:"encoded"`
			} `xml:"channel>item"`
		}
		checkFeedXML(t, "RSS", rss, &r)
		if len(r.Items) != len(events) {
			t.Fatalf("RSS: %d items for %d events:\n%s", len(r.Items), len(events), rss)
		}
		jf, err := writeJSONFeed(built, self, "")
		if err != nil {
			t.Fatalf("writeJSONFeed: %v", err)
		}
		var j struct {
			Items []struct {
				Title string `json:"title"`
			} `json:"items"`
		}
		if err := json.Unmarshal(jf, &j); err != nil {
			t.Fatalf("the JSON Feed does not parse: %v\n%s", err, jf)
		}
		if len(j.Items) != len(events) {
			t.Fatalf("JSON Feed: %d items for %d events", len(j.Items), len(events))
		}
	})
}

// checkFeedXML reads doc token by token to the end (encoding/xml refuses
// characters XML does not allow, and bad nesting), then decodes it into v.
func checkFeedXML(t *testing.T, kind string, doc []byte, v any) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v\n%q", kind, err, doc)
		}
	}
	if err := xml.Unmarshal(doc, v); err != nil {
		t.Fatalf("%s does not decode: %v\n%q", kind, err, doc)
	}
}

// A release's text holding control characters or bytes that are not UTF-8
// once made the RSS feed unreadable: encoding/xml writes content:encoded,
// a CDATA section, as it is. Found by FuzzFeeds.
func TestRSSWithControlCharactersIsWellFormed(t *testing.T) {
	events := fuzzFeedEvents("Waits\x01", "How long\x00 people waited\xff.", "Notes \x1b[31m in red\x7f", "Swapped ]]> & <fixed>\x0b", "waits.csv", 7)
	built, err := buildFeed("https://data.example.org", "data.example.org", "Waits", "https://data.example.org/feeds/releases.rss", "feeds/releases", fuzzUpdated, events)
	if err != nil {
		t.Fatal(err)
	}
	rss, err := writeRSS(built)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Items []struct {
			Content string `xml:"encoded"`
		} `xml:"channel>item"`
	}
	checkFeedXML(t, "RSS", rss, &r)
	if len(r.Items) != 3 {
		t.Fatalf("got %d items, want 3", len(r.Items))
	}
	if got := r.Items[0].Content; !strings.Contains(got, "How long\uFFFD people waited\uFFFD.") || !strings.Contains(got, "Notes \uFFFD[31m in red\x7f") {
		t.Errorf("the characters XML forbids are not replaced by U+FFFD, or others are lost: %q", got)
	}
	if got := r.Items[1].Content; !strings.Contains(got, "Swapped ]]&gt; &amp; &lt;fixed&gt;\uFFFD") {
		t.Errorf("the correction notice: %q", got)
	}
}

// fuzzUpdated is when the fuzzed feeds last changed when they are empty.
var fuzzUpdated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
