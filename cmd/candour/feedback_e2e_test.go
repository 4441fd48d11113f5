package main

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// liveFeed is the feed of a feedback service the test runs on loopback:
// two stories about RR8 and one about an organisation not in the
// directory.
const liveFeed = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:fb="https://github.com/candour/candour/ns/feedback/1">
  <title>Loopback Stories</title>
  <id>tag:loopback.example,2026:feed</id>
  <updated>2026-03-02T09:00:00Z</updated>
  <entry>
    <id>tag:loopback.example,2026:story/1</id>
    <title>Loopback story about the fracture clinic</title>
    <link rel="alternate" href="https://loopback.example/stories/1"/>
    <published>2026-03-01T10:15:00Z</published>
    <content>Seen within the hour and the plaster room staff were lovely.</content>
    <fb:organisation>RR8</fb:organisation>
    <fb:rating>5</fb:rating>
    <fb:response published="2026-03-02T08:30:00Z">Thank you from the fracture clinic team.</fb:response>
  </entry>
  <entry>
    <id>tag:loopback.example,2026:story/2</id>
    <title>Story about nobody we know</title>
    <link href="https://loopback.example/stories/2"/>
    <published>2026-03-01T11:00:00Z</published>
    <content>An organisation the directory does not have.</content>
    <fb:organisation>ZZZ99</fb:organisation>
    <fb:rating>3</fb:rating>
  </entry>
</feed>`

// TestFeedbackEndToEnd runs the demo with a live feedback source on
// loopback: scorecards show the demo's synthetic feedback and the polled
// source's, attributed with links back and their rating counts; the
// story with an NHS number is held (not public, listed for an
// administrator, shown once released); a hidden item disappears with its
// audit log entry; a read node shows the same feedback; and the synthetic
// Friends and Family Test style indicator appears with its interval on a
// scorecard and in the API, its suppressed and too-small values shown as
// such.
func TestFeedbackEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo; skipped with -short")
	}
	polls := make(chan string, 10)
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case polls <- r.Header.Get("User-Agent"):
		default:
		}
		w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
		fmt.Fprint(w, liveFeed)
	}))
	defer feed.Close()
	dir := t.TempDir()
	sources := filepath.Join(dir, "feedback-sources.json")
	if err := os.WriteFile(sources, []byte(`[{"name": "loopback-stories", "title": "Loopback Stories", "feed_url": "`+feed.URL+`/feed.atom",
		"format": "atom", "interval": "1h", "homepage": "https://loopback.example/"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startCandour(t, "demo", filepath.Join(dir, "candour-data"), "--feedback-sources", sources)

	// The poller reads the live source at start: wait for its story.
	waitUntil(t, "the polled story on RR8's scorecard", func() bool {
		return strings.Contains(s.mustGet(t, "/organisations/RR8"), "Loopback story about the fracture clinic")
	})
	if ua := <-polls; !strings.Contains(ua, "Candour") {
		t.Errorf("the poller's User-Agent is %q, want one naming Candour", ua)
	}

	t.Run("scorecards show feedback attributed to its source", func(t *testing.T) {
		rr8 := s.mustGet(t, "/organisations/RR8")
		for _, want := range []string{
			`<h2 id="feedback">What patients say</h2>`,
			`From <a href="https://patient-stories.example/">Patient Stories (synthetic demonstration feed)</a>`,
			`From <a href="https://care-reviews.example/">Care Reviews (synthetic demonstration feed)</a>`,
			`From <a href="https://loopback.example/">Loopback Stories</a>`,
			// Eight stories about RR8, seven rated, one held: seven ratings shown.
			"7 ratings, 3.4 stars out of 5 on average, and 1 comment without a rating.",
			`href="https://patient-stories.example/stories/1001"`, "Read it on Patient Stories (synthetic demonstration feed)",
			"The provider replied on", "Thank you for taking the time to tell us.",
			`href="https://loopback.example/stories/1"`, "Thank you from the fracture clinic team.",
		} {
			if !strings.Contains(rr8, html.EscapeString(want)) && !strings.Contains(rr8, want) {
				t.Errorf("RR8's scorecard lacks %q", want)
			}
		}
		practice := s.mustGet(t, "/organisations/A81001")
		for _, want := range []string{"What patients say", `href="https://care-reviews.example/"`, "5 ratings, 3.8 stars out of 5 on average.",
			"Easy to book", `href="https://care-reviews.example/stories/1001"`} {
			if !strings.Contains(practice, want) {
				t.Errorf("A81001's scorecard lacks %q", want)
			}
		}
		var api struct {
			Organisation string
			Sources      []struct {
				Name, Title, Homepage string
				Stars                 [5]int
				Ratings, Items        int
				Mean                  *float64
				Recent                []struct{ Link, Title, Comment string }
			}
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/organisations/RR8/feedback")), &api); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, src := range api.Sources {
			got[src.Name] = fmt.Sprintf("%d ratings %v, %d items, %d recent", src.Ratings, src.Stars, src.Items, len(src.Recent))
		}
		want := map[string]string{"loopback-stories": "1 ratings [0 0 0 0 1], 1 items, 1 recent",
			"synthetic-care-reviews":    "3 ratings [0 0 1 1 1], 3 items, 3 recent",
			"synthetic-patient-stories": "7 ratings [1 1 1 2 2], 8 items, 5 recent"}
		if fmt.Sprint(got) != fmt.Sprint(want) || api.Organisation != "RR8" {
			t.Errorf("API feedback of RR8: %v, want %v", got, want)
		}
		if strings.Contains(s.stderr.String(), "ZZZ99") == false {
			t.Error("the story about ZZZ99, not in the directory, was not logged as refused")
		}
		if status, _, _ := s.get(t, "/api/v1/organisations/NOPE1/feedback"); status != http.StatusNotFound {
			t.Errorf("feedback of an organisation that does not exist: %d, want 404", status)
		}
	})

	const nhsNumber = "943 476 5919"
	heldID := "https://patient-stories.example/stories/1009"
	t.Run("a held item is not public, is listed for administrators, and shows once released", func(t *testing.T) {
		for _, path := range []string{"/organisations/RR8", "/api/v1/organisations/RR8/feedback"} {
			if strings.Contains(s.mustGet(t, path), nhsNumber) {
				t.Errorf("%s shows the held comment with an NHS number", path)
			}
		}
		reviewer := newBrowser(t, s)
		reviewer.login("reviewer-1", "demo-reviewer-pass")
		if status, _ := reviewer.get("/workspace/feedback"); status != http.StatusForbidden {
			t.Errorf("a reviewer opening the moderation page: %d, want 403", status)
		}
		if status, _, _ := reviewer.post("/workspace/feedback/release", url.Values{"csrf": {reviewer.token()}, "source": {"synthetic-patient-stories"},
			"id": {heldID}, "reason": {"fine"}}); status != http.StatusForbidden {
			t.Errorf("a reviewer releasing an item: %d, want 403", status)
		}

		admin := newBrowser(t, s)
		admin.login("admin", "demo-admin-password")
		_, ws := admin.get("/workspace")
		if !strings.Contains(ws, `href="/workspace/feedback"`) {
			t.Error("the administrator's workspace does not link the moderation page")
		}
		status, page := admin.get("/workspace/feedback")
		if status != http.StatusOK || !strings.Contains(page, nhsNumber) || !strings.Contains(page, `id="held-items"`) ||
			!strings.Contains(page, html.EscapeString(heldID)) {
			t.Fatalf("moderation page: %d, lacks the held item:\n%s", status, page)
		}
		form := url.Values{"csrf": {csrfOf(t, page)}, "source": {"synthetic-patient-stories"}, "id": {heldID}}
		// Without the anti-forgery token: refused.
		if status, _, _ := admin.post("/workspace/feedback/release", url.Values{"source": form["source"], "id": form["id"], "reason": {"x"}}); status != http.StatusForbidden {
			t.Errorf("release without the anti-forgery token: %d, want 403", status)
		}
		// Without a reason: the page again, saying the reason is needed.
		status, body, _ := admin.post("/workspace/feedback/release", form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "reason") || !strings.Contains(body, `id="feedback-error"`) {
			t.Errorf("release without a reason: %d\n%s", status, body)
		}
		form.Set("reason", "The number is the published test NHS number, not a patient's: safe to show.")
		status, _, h := admin.post("/workspace/feedback/release", form)
		if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/workspace/feedback?done=") {
			t.Fatalf("release: %d %s", status, h.Get("Location"))
		}
		if rr8 := s.mustGet(t, "/organisations/RR8"); !strings.Contains(rr8, nhsNumber) || !strings.Contains(rr8, "8 ratings") {
			t.Error("the released item is not on RR8's scorecard at once (with 8 ratings)")
		}
		if _, page := admin.get("/workspace/feedback"); strings.Contains(page, html.EscapeString(heldID)) && strings.Contains(page, `id="held-items"`) {
			t.Error("the released item is still listed as held")
		}
	})

	hiddenID := "https://patient-stories.example/stories/1003"
	const hiddenText = "My operation was cancelled on the day twice"
	t.Run("a hidden item disappears, with its audit log entry", func(t *testing.T) {
		if !strings.Contains(s.mustGet(t, "/organisations/RR8"), hiddenText) {
			t.Fatal("the item to hide is not on RR8's scorecard")
		}
		admin := newBrowser(t, s)
		admin.login("admin", "demo-admin-password")
		_, page := admin.get("/workspace/feedback?organisation=rr8")
		if !strings.Contains(page, `id="found-items"`) || !strings.Contains(page, hiddenText) {
			t.Fatalf("RR8's visible feedback is not listed for hiding:\n%s", page)
		}
		const reason = "Describes a named member of staff's mistake; hidden at the provider's request after review."
		status, _, _ := admin.post("/workspace/feedback/hide", url.Values{"csrf": {csrfOf(t, page)}, "source": {"synthetic-patient-stories"},
			"id": {hiddenID}, "organisation": {"RR8"}, "reason": {reason}})
		if status != http.StatusSeeOther {
			t.Fatalf("hide: %d", status)
		}
		for _, path := range []string{"/organisations/RR8", "/api/v1/organisations/RR8/feedback"} {
			if body := s.mustGet(t, path); strings.Contains(body, hiddenText) {
				t.Errorf("%s still shows the hidden item", path)
			}
		}
		if rr8 := s.mustGet(t, "/organisations/RR8"); !strings.Contains(rr8, "7 ratings") {
			t.Error("RR8's ratings still count the hidden item")
		}
		export := s.mustGet(t, "/transparency/audit-log.jsonl")
		var hidden, released int
		for _, line := range strings.Split(strings.TrimSpace(export), "\n") {
			var e struct {
				Actor, Action string
				Redacted      bool
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatal(err)
			}
			switch {
			case e.Action == "feedback.hidden" && e.Actor == "admin" && e.Redacted:
				hidden++
			case e.Action == "feedback.released" && e.Actor == "admin" && e.Redacted:
				released++
			}
		}
		if hidden != 1 || released != 1 || strings.Contains(export, "hidden at the provider") {
			t.Errorf("the public audit log has %d hidden and %d released entries by admin, want 1 each, redacted", hidden, released)
		}
		if out, err := s.candour(t, "audit", "verify"); err != nil {
			t.Errorf("audit verify after moderation: %v\n%s", err, out)
		}
	})

	t.Run("a read node shows the same feedback", func(t *testing.T) {
		rn := startCandour(t, "serve", filepath.Join(s.dataDir, publicDir), "--read-only")
		// The snapshot written after the last decision reaches the read
		// node within seconds.
		waitUntil(t, "the read node to show RR8's feedback as moderated", func() bool {
			rr8 := rn.mustGet(t, "/organisations/RR8")
			return strings.Contains(rr8, nhsNumber) && !strings.Contains(rr8, hiddenText)
		})
		rr8 := rn.mustGet(t, "/organisations/RR8")
		for _, want := range []string{"What patients say", "7 ratings", `href="https://loopback.example/stories/1"`, "Loopback Stories"} {
			if !strings.Contains(rr8, want) {
				t.Errorf("the read node's RR8 scorecard lacks %q", want)
			}
		}
		if status, _ := newBrowser(t, rn).get("/workspace/feedback"); status != http.StatusNotFound {
			t.Errorf("a read node's moderation page: %d, want 404", status)
		}
	})

	t.Run("the Friends and Family Test style indicator, with its interval", func(t *testing.T) {
		rr8 := s.mustGet(t, "/organisations/RR8")
		row := regexp.MustCompile(`(?s)href="/indicators/synthetic-fft-recommend">Would recommend.*?</tr>`).FindString(rr8)
		if !regexp.MustCompile(`\d+\.\d% to \d+\.\d%`).MatchString(row) || !strings.Contains(row, "synthetic demonstration data") {
			t.Errorf("RR8's scorecard has no synthetic Friends and Family Test row with an interval:\n%s", row)
		}
		var obs struct {
			Items []map[string]any
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/indicators/synthetic-fft-recommend/observations?organisation=RR8")), &obs); err != nil {
			t.Fatal(err)
		}
		if len(obs.Items) != 1 || obs.Items[0]["denominator"] != 2140.0 || obs.Items[0]["lower_95"] == nil || obs.Items[0]["upper_95"] == nil {
			t.Errorf("API observation of RR8: %v, want 2,140 responses with a 95%% interval", obs.Items)
		}
		for code, reason := range map[string]string{"RA7": "suppressed", "RA2": "too few to show reliably (12, fewer than 30)"} {
			if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/indicators/synthetic-fft-recommend/observations?organisation="+code)), &obs); err != nil {
				t.Fatal(err)
			}
			if len(obs.Items) != 1 || obs.Items[0]["value"] != nil || !strings.Contains(fmt.Sprint(obs.Items[0]["reason"]), reason) {
				t.Errorf("API observation of %s: %v, want no value and the reason %q", code, obs.Items, reason)
			}
			page := s.mustGet(t, "/organisations/"+code)
			row := regexp.MustCompile(`(?s)href="/indicators/synthetic-fft-recommend">Would recommend.*?</tr>`).FindString(page)
			if !strings.Contains(row, "Not shown") || regexp.MustCompile(`>0(\.0)?%<`).MatchString(row) {
				t.Errorf("%s's scorecard row shows its value as other than not shown:\n%s", code, row)
			}
		}
		dataset := s.mustGet(t, "/datasets/synthetic-friends-and-family-test")
		if !strings.Contains(dataset, "Synthetic demonstration data") && !strings.Contains(dataset, "synthetic demonstration data") {
			t.Error("the Friends and Family Test style dataset does not say it is synthetic")
		}
	})
}

// waitUntil polls cond every 200 ms for up to 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
