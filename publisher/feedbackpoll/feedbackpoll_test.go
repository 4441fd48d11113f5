package feedbackpoll_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/catalogue/feedback/feedbacksqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/feedbackpoll"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// post is one entry of a test feed.
type post struct {
	id, org  string
	rating   int
	comment  string
	response string
	hours    int // published t0 plus hours
}

func esc(s string) string {
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

func (p post) published() time.Time { return t0.Add(time.Duration(p.hours) * time.Hour) }

func atomDoc(posts []post) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<feed xmlns="http://www.w3.org/2005/Atom" xmlns:fb="` + feedback.Namespace + `"><title>Stories</title><id>urn:x</id><updated>2026-03-01T00:00:00Z</updated>`)
	for _, p := range posts {
		fmt.Fprintf(&b, `<entry><id>%s</id><title>Story %s</title><link href="https://stories.example/%s"/><published>%s</published><content>%s</content><fb:organisation>%s</fb:organisation>`,
			esc(p.id), esc(p.id), esc(p.id), p.published().Format(time.RFC3339), esc(p.comment), esc(p.org))
		if p.rating != 0 {
			fmt.Fprintf(&b, `<fb:rating>%d</fb:rating>`, p.rating)
		}
		if p.response != "" {
			fmt.Fprintf(&b, `<fb:response published="%s">%s</fb:response>`, p.published().Add(24*time.Hour).Format(time.RFC3339), esc(p.response))
		}
		b.WriteString(`</entry>`)
	}
	b.WriteString(`</feed>`)
	return b.String()
}

func rssDoc(posts []post) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<rss version="2.0" xmlns:fb="` + feedback.Namespace + `"><channel><title>Reviews</title><link>https://reviews.example/</link><description>d</description>`)
	for _, p := range posts {
		fmt.Fprintf(&b, `<item><guid isPermaLink="false">%s</guid><title>Story %s</title><link>https://reviews.example/%s</link><pubDate>%s</pubDate><description>%s</description><category domain="%s">%s</category>`,
			esc(p.id), esc(p.id), esc(p.id), p.published().Format(time.RFC1123Z), esc(p.comment), feedback.SchemeODS, esc(p.org))
		if p.rating != 0 {
			fmt.Fprintf(&b, `<category domain="%s">%d</category>`, feedback.SchemeRating, p.rating)
		}
		if p.response != "" {
			fmt.Fprintf(&b, `<fb:response published="%s">%s</fb:response>`, p.published().Add(24*time.Hour).Format(time.RFC1123Z), esc(p.response))
		}
		b.WriteString(`</item>`)
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

func jsonDoc(posts []post) string {
	items := []map[string]any{}
	for _, p := range posts {
		fb := map[string]any{"organisation": p.org}
		if p.rating != 0 {
			fb["rating"] = p.rating
		}
		if p.response != "" {
			fb["response"] = map[string]string{"text": p.response, "date_published": p.published().Add(24 * time.Hour).Format(time.RFC3339)}
		}
		items = append(items, map[string]any{"id": p.id, "url": "https://ratings.example/" + p.id, "title": "Story " + p.id,
			"content_text": p.comment, "date_published": p.published().Format(time.RFC3339), "_feedback": fb})
	}
	b, err := json.Marshal(map[string]any{"version": "https://jsonfeed.org/version/1.1", "title": "Ratings", "items": items})
	if err != nil {
		panic(err)
	}
	return string(b)
}

var docs = map[feedback.Format]func([]post) string{
	feedback.FormatAtom: atomDoc, feedback.FormatRSS: rssDoc, feedback.FormatJSON: jsonDoc,
}

var contentTypes = map[feedback.Format]string{
	feedback.FormatAtom: "application/atom+xml; charset=utf-8",
	feedback.FormatRSS:  "application/rss+xml",
	feedback.FormatJSON: "application/feed+json",
}

// answer is what the feed server sends for one path.
type answer struct {
	status       int // 0 means 200
	contentType  string
	body         string
	etag         string
	lastModified string
	chunked      bool // no Content-Length
}

// feedServer is a local feed server whose answers tests change, and
// which records the requests it gets.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	answers  map[string]answer
	requests map[string][]http.Header
}

func newFeedServer(t *testing.T) *feedServer {
	fs := &feedServer{answers: map[string]answer{}, requests: map[string][]http.Header{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	if !strings.HasPrefix(fs.URL, "http://127.0.0.1:") {
		t.Fatalf("test feed server at %s, want 127.0.0.1", fs.URL)
	}
	return fs
}

func (fs *feedServer) set(path string, a answer) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.answers[path] = a
}

func (fs *feedServer) got(path string) []http.Header {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests[path]
}

func (fs *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.requests[r.URL.Path] = append(fs.requests[r.URL.Path], r.Header.Clone())
	a, ok := fs.answers[r.URL.Path]
	fs.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if a.etag != "" {
		w.Header().Set("ETag", a.etag)
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if a.lastModified != "" {
		w.Header().Set("Last-Modified", a.lastModified)
		if a.etag == "" && r.Header.Get("If-Modified-Since") == a.lastModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", a.contentType)
	if !a.chunked {
		w.Header().Set("Content-Length", fmt.Sprint(len(a.body)))
	}
	w.WriteHeader(max(a.status, http.StatusOK))
	if a.chunked {
		for i := 0; i < len(a.body); i += 1000 {
			w.Write([]byte(a.body[i:min(i+1000, len(a.body))]))
			w.(http.Flusher).Flush()
		}
		return
	}
	w.Write([]byte(a.body))
}

// directory is the catalogue's directory, as the poller sees it.
type directory map[string]bool

func (d directory) OrganisationsInDirectory(_ context.Context, codes []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range codes {
		if d[c] {
			out[c] = true
		}
	}
	return out, nil
}

var known = directory{"RR8": true, "RX1": true, "A81001": true}

func openStore(t *testing.T) *feedbacksqlite.Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: feedbacksqlite.Component, Files: feedbacksqlite.Migrations()}); err != nil {
		t.Fatal(err)
	}
	return feedbacksqlite.New(db, func() time.Time { return t0 })
}

// clock is a fixed clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// rig is a poller over a real store, a feed server and a log buffer.
type rig struct {
	store  *feedbacksqlite.Store
	server *feedServer
	poller *feedbackpoll.Poller
	clock  *clock
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// logLines returns the logged records with the message.
func (r *rig) logLines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func source(server *feedServer, name string, f feedback.Format) feedback.Source {
	return feedback.Source{Name: name, Title: "Source " + name, FeedURL: server.URL + "/" + name, Format: f,
		Interval: time.Hour, Homepage: "https://" + name + ".example/"}
}

func newRig(t *testing.T, cfg feedbackpoll.Config, sources func(*feedServer) []feedback.Source) *rig {
	t.Helper()
	r := &rig{store: openStore(t), server: newFeedServer(t), clock: &clock{t: t0}, logs: &syncBuffer{}}
	cfg.Now = r.clock.Now
	cfg.Logger = slog.New(slog.NewJSONHandler(r.logs, nil))
	p, err := feedbackpoll.New(r.store, known, sources(r.server), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.poller = p
	return r
}

func (r *rig) runOnce(t *testing.T) []feedbackpoll.Result {
	t.Helper()
	res, err := r.poller.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (r *rig) visible(t *testing.T, org string) []feedback.Item {
	t.Helper()
	items, err := r.store.Visible(context.Background(), org, 100)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func itemIDs(items []feedback.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

var formats = []feedback.Format{feedback.FormatAtom, feedback.FormatRSS, feedback.FormatJSON}

func oneSource(f feedback.Format) func(*feedServer) []feedback.Source {
	return func(s *feedServer) []feedback.Source { return []feedback.Source{source(s, "src", f)} }
}

// TestMatchingAndRePolling, for each format: items are matched to
// organisations by code, an unknown code is refused and logged while the
// rest is stored, a second poll duplicates nothing, and a provider
// response published later attaches to its item.
func TestMatchingAndRePolling(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			r := newRig(t, feedbackpoll.Config{}, oneSource(f))
			posts := []post{
				{id: "1", org: "RR8", rating: 5, comment: "Kind staff.", hours: 1},
				{id: "2", org: "ZZZ99", rating: 1, comment: "Nobody knows this place.", hours: 2},
				{id: "3", org: "A81001", rating: 3, comment: "Fine.", hours: 3},
				{id: "4", org: "RR8", comment: "Unrated.", hours: 4},
			}
			r.server.set("/src", answer{contentType: contentTypes[f], body: docs[f](posts)})

			res := r.runOnce(t)[0]
			if res.Err != nil || res.Upserted != (feedback.Upserted{Added: 3}) {
				t.Fatalf("first poll: %+v, want 3 added and no error", res)
			}
			if len(res.Refused) != 1 || res.Refused[0].ID != "2" || res.Refused[0].Position != 2 ||
				!strings.Contains(res.Refused[0].Reason, "ZZZ99 is not in the directory") {
				t.Errorf("refused: %+v, want entry 2 for its unknown code", res.Refused)
			}
			logged := r.logLines(t, "feedback entry refused")
			if len(logged) != 1 || logged[0]["source"] != "src" || !strings.Contains(fmt.Sprint(logged[0]["reason"]), "ZZZ99") {
				t.Errorf("logged refusals: %v, want one naming the source and ZZZ99", logged)
			}
			if got := itemIDs(r.visible(t, "RR8")); !reflect.DeepEqual(got, []string{"4", "1"}) {
				t.Errorf("RR8's items: %v, want 4 then 1", got)
			}
			if got := itemIDs(r.visible(t, "A81001")); !reflect.DeepEqual(got, []string{"3"}) {
				t.Errorf("A81001's items: %v, want 3", got)
			}
			first := r.visible(t, "RR8")[1]
			if first.Rating != 5 || first.Comment != "Kind staff." || !first.Published.Equal(t0.Add(time.Hour)) || first.Link == "" {
				t.Errorf("item 1 stored as %+v", first)
			}

			// Again, unchanged: nothing added.
			res = r.runOnce(t)[0]
			if res.Err != nil || res.Upserted != (feedback.Upserted{Unchanged: 3}) {
				t.Errorf("second poll: %+v, want 3 unchanged", res)
			}
			if got := len(r.visible(t, "RR8")); got != 2 {
				t.Errorf("after re-poll RR8 has %d items, want 2", got)
			}

			// The provider answers item 1.
			posts[0].response = "Thank you; we have shared this with the ward."
			r.server.set("/src", answer{contentType: contentTypes[f], body: docs[f](posts)})
			res = r.runOnce(t)[0]
			if res.Err != nil || res.Upserted != (feedback.Upserted{Updated: 1, Unchanged: 2}) {
				t.Errorf("third poll: %+v, want 1 updated", res)
			}
			got := r.visible(t, "RR8")
			if len(got) != 2 || got[1].ID != "1" || got[1].Response.Text != posts[0].response ||
				!got[1].Response.Published.Equal(t0.Add(25*time.Hour)) {
				t.Errorf("after the response: %+v, want it on item 1", got)
			}
		})
	}
}

// TestNotModified: the poller sends the ETag and Last-Modified it was
// given, and a 304 changes nothing.
func TestNotModified(t *testing.T) {
	cases := []struct {
		name   string
		a      answer
		header string
		want   string
	}{
		{"ETag", answer{etag: `"v1"`}, "If-None-Match", `"v1"`},
		{"Last-Modified", answer{lastModified: "Sun, 01 Mar 2026 09:00:00 GMT"}, "If-Modified-Since", "Sun, 01 Mar 2026 09:00:00 GMT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, feedbackpoll.Config{}, oneSource(feedback.FormatAtom))
			a := c.a
			a.contentType, a.body = contentTypes[feedback.FormatAtom], atomDoc([]post{{id: "1", org: "RR8", rating: 4, comment: "Good.", hours: 1}})
			r.server.set("/src", a)
			if res := r.runOnce(t)[0]; res.Err != nil || res.Upserted.Added != 1 {
				t.Fatalf("first poll: %+v", res)
			}
			res := r.runOnce(t)[0]
			if res.Err != nil || !res.NotModified || res.Upserted != (feedback.Upserted{}) {
				t.Errorf("second poll: %+v, want 304 and nothing stored", res)
			}
			reqs := r.server.got("/src")
			if len(reqs) != 2 || reqs[0].Get(c.header) != "" || reqs[1].Get(c.header) != c.want {
				t.Errorf("%s sent: first %q, second %q; want none, then %q", c.header, reqs[0].Get(c.header), reqs[1].Get(c.header), c.want)
			}
			if next, _ := r.poller.Next("src"); !next.Equal(t0.Add(time.Hour)) {
				t.Errorf("after a 304 next poll at %s, want the interval later", next)
			}
			if got := len(r.visible(t, "RR8")); got != 1 {
				t.Errorf("RR8 has %d items, want 1", got)
			}
		})
	}
}

// TestValidatorsKeptOnlyWhenStored: a feed whose items could not be stored
// is fetched whole next time, not answered 304.
func TestValidatorsKeptOnlyWhenStored(t *testing.T) {
	r := newRig(t, feedbackpoll.Config{}, oneSource(feedback.FormatAtom))
	r.server.set("/src", answer{etag: `"v1"`, contentType: "text/html; charset=utf-8", body: "<html><body>Maintenance</body></html>"})
	if res := r.runOnce(t)[0]; res.Err == nil {
		t.Fatalf("an HTML page as the feed: %+v, want refused", res)
	}
	r.runOnce(t)
	if reqs := r.server.got("/src"); len(reqs) != 2 || reqs[1].Get("If-None-Match") != "" {
		t.Errorf("after a refused feed the poller sent If-None-Match %q, want none", reqs[1].Get("If-None-Match"))
	}
}

var small = feedback.Limits{MaxBytes: 2000, MaxDepth: 12, MaxItems: 100}

// TestRefusedFeeds: each hostile or broken feed is refused with an error
// naming the source and why, logged, backed off, and the next source is
// still polled and stored.
func TestRefusedFeeds(t *testing.T) {
	big := atomDoc([]post{{id: "1", org: "RR8", rating: 4, comment: strings.Repeat("Long story. ", 300), hours: 1}})
	cases := []struct {
		name   string
		format feedback.Format
		a      answer
		want   error
		says   string
	}{
		{"oversized by Content-Length", feedback.FormatAtom, answer{body: big}, feedback.ErrTooLarge, "Content-Length"},
		{"oversized without Content-Length", feedback.FormatAtom, answer{body: big, chunked: true}, feedback.ErrTooLarge, "more than 2000 bytes"},
		{"malformed XML", feedback.FormatAtom, answer{body: `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id>`}, feedback.ErrMalformed, ""},
		{"malformed JSON", feedback.FormatJSON, answer{body: `{"version": "https://jsonfeed.org/version/1.1", "items": [`}, feedback.ErrMalformed, ""},
		{"deeply nested XML", feedback.FormatRSS, answer{body: `<rss><channel><item>` + strings.Repeat("<b>", 20) + strings.Repeat("</b>", 20) + `</item></channel></rss>`},
			feedback.ErrTooDeep, "12 elements deep"},
		{"deeply nested JSON", feedback.FormatJSON, answer{body: `{"version":"https://jsonfeed.org/version/1.1","items":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`},
			feedback.ErrTooDeep, "12 objects or arrays deep"},
		{"Latin-1 by Content-Type", feedback.FormatRSS, answer{contentType: "application/rss+xml; charset=ISO-8859-1", body: rssDoc(nil)},
			feedback.ErrEncoding, "iso-8859-1"},
		{"invalid UTF-8", feedback.FormatRSS, answer{body: strings.Replace(rssDoc([]post{{id: "1", org: "RR8", rating: 2, comment: "caf", hours: 1}}), "caf", "caf\xe9", 1)},
			feedback.ErrEncoding, "not valid UTF-8"},
	}
	good := []post{{id: "g1", org: "RX1", rating: 4, comment: "Good.", hours: 1}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, feedbackpoll.Config{Limits: small, BaseBackoff: time.Minute, MaxBackoff: time.Hour},
				func(s *feedServer) []feedback.Source {
					return []feedback.Source{source(s, "bad", c.format), source(s, "good", feedback.FormatJSON)}
				})
			r.server.set("/bad", c.a)
			r.server.set("/good", answer{contentType: contentTypes[feedback.FormatJSON], body: jsonDoc(good)})
			res := r.runOnce(t)
			if len(res) != 2 {
				t.Fatalf("%d results, want 2", len(res))
			}
			var refused *feedback.RefusedError
			if !errors.As(res[0].Err, &refused) || !errors.Is(res[0].Err, c.want) || refused.Source != "bad" {
				t.Fatalf("bad feed: %v, want a refusal of source bad wrapping %v", res[0].Err, c.want)
			}
			if !strings.Contains(res[0].Err.Error(), c.says) {
				t.Errorf("refusal %q does not say %q", res[0].Err, c.says)
			}
			if res[1].Err != nil || res[1].Upserted.Added != 1 {
				t.Errorf("the next source after a refused feed: %+v, want its item stored", res[1])
			}
			logged := r.logLines(t, "feedback poll failed")
			if len(logged) != 1 || logged[0]["source"] != "bad" || !strings.Contains(fmt.Sprint(logged[0]["err"]), "feed refused") {
				t.Errorf("logged failures: %v, want one for source bad", logged)
			}
			if got := len(r.visible(t, "RR8")); got != 0 {
				t.Errorf("the refused feed stored %d items", got)
			}
			if next, _ := r.poller.Next("bad"); !next.Equal(t0.Add(time.Minute)) {
				t.Errorf("after a failure next poll at %s, want a minute later", next)
			}
		})
	}
}

// TestBackoffGrowsAndResets: consecutive failures double the wait up to
// the cap; a success returns to the source's interval.
func TestBackoffGrowsAndResets(t *testing.T) {
	r := newRig(t, feedbackpoll.Config{BaseBackoff: time.Minute, MaxBackoff: 5 * time.Minute}, oneSource(feedback.FormatAtom))
	r.server.set("/src", answer{status: http.StatusInternalServerError, body: "oops"})
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		res := r.runOnce(t)[0]
		if res.Err == nil || !strings.Contains(res.Err.Error(), "500") {
			t.Fatalf("poll %d: %v, want a failure naming the status", i+1, res.Err)
		}
		if !res.Next.Equal(t0.Add(want)) {
			t.Errorf("after failure %d: next at +%s, want +%s", i+1, res.Next.Sub(t0), want)
		}
	}
	r.server.set("/src", answer{contentType: contentTypes[feedback.FormatAtom], body: atomDoc(nil)})
	if res := r.runOnce(t)[0]; res.Err != nil || !res.Next.Equal(t0.Add(time.Hour)) {
		t.Errorf("after recovery: %+v, want next at the interval", res)
	}
}

func TestBackoff(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{{1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute}, {7, 64 * time.Minute}, {8, 90 * time.Minute}, {1000, 90 * time.Minute}}
	for _, c := range cases {
		if got := feedbackpoll.Backoff(c.failures, time.Minute, 90*time.Minute); got != c.want {
			t.Errorf("Backoff(%d) = %s, want %s", c.failures, got, c.want)
		}
	}
}

// TestPersonalDataHeld: a comment with an NHS number is held for
// moderation; one whose ten digits fail the check is not.
func TestPersonalDataHeld(t *testing.T) {
	r := newRig(t, feedbackpoll.Config{}, oneSource(feedback.FormatRSS))
	r.server.set("/src", answer{contentType: contentTypes[feedback.FormatRSS], body: rssDoc([]post{
		{id: "held", org: "RR8", rating: 1, comment: "My NHS number is 943 476 5919 and my letter never came.", hours: 1},
		{id: "shown", org: "RR8", rating: 4, comment: "The reference on my letter was 943 476 5918.", hours: 2},
	})})
	res := r.runOnce(t)[0]
	if res.Err != nil || res.Upserted.Added != 2 || res.Upserted.Held != 1 {
		t.Fatalf("poll: %+v, want 2 added, 1 held", res)
	}
	if got := itemIDs(r.visible(t, "RR8")); !reflect.DeepEqual(got, []string{"shown"}) {
		t.Errorf("visible: %v, want only the invalid check digit's", got)
	}
	held, err := r.store.Held(context.Background(), 10)
	if err != nil || len(held) != 1 || held[0].ID != "held" || held[0].Reason != feedback.ReasonNHSNumber {
		t.Errorf("held: %+v, %v; want item held for an NHS number", held, err)
	}
}

// TestUnknownOrganisationOnly: a feed of nothing but unknown codes stores
// nothing, refuses each, and is still a successful poll.
func TestUnknownOrganisationOnly(t *testing.T) {
	r := newRig(t, feedbackpoll.Config{}, oneSource(feedback.FormatJSON))
	r.server.set("/src", answer{contentType: contentTypes[feedback.FormatJSON], body: jsonDoc([]post{
		{id: "a", org: "XXX01", rating: 3, comment: "?", hours: 1}, {id: "b", org: "rr8x", rating: 3, comment: "?", hours: 2},
	})})
	res := r.runOnce(t)[0]
	if res.Err != nil || res.Upserted != (feedback.Upserted{}) || len(res.Refused) != 2 {
		t.Fatalf("poll: %+v, want no error, nothing stored, 2 refused", res)
	}
	for i, want := range []string{"XXX01", "RR8X"} {
		if !strings.Contains(res.Refused[i].Reason, want+" is not in the directory") || res.Refused[i].Position != i+1 {
			t.Errorf("refusal %d: %+v, want code %s at position %d", i, res.Refused[i], want, i+1)
		}
	}
	if got := len(r.logLines(t, "feedback entry refused")); got != 2 {
		t.Errorf("%d refusals logged, want 2", got)
	}
}

// TestRunStopsWithItsContext: Run polls every source at once and returns
// when its context ends.
func TestRunStopsWithItsContext(t *testing.T) {
	r := newRig(t, feedbackpoll.Config{}, func(s *feedServer) []feedback.Source {
		return []feedback.Source{source(s, "one", feedback.FormatAtom), source(s, "two", feedback.FormatJSON)}
	})
	r.server.set("/one", answer{status: http.StatusServiceUnavailable})
	r.server.set("/two", answer{contentType: contentTypes[feedback.FormatJSON], body: jsonDoc([]post{{id: "1", org: "RR8", rating: 5, comment: "Good.", hours: 1}})})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.poller.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.visible(t, "RR8")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run stored nothing within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of its context ending")
	}
	if got := len(r.server.got("/one")); got != 1 {
		t.Errorf("the failing source was asked %d times, want once (its backoff is a minute)", got)
	}
}

// TestFutureDatedRefused: an item dated more than a day ahead is refused
// (it would head the organisation's list until then); one an hour ahead
// is kept.
func TestFutureDatedRefused(t *testing.T) {
	r := newRig(t, feedbackpoll.Config{}, oneSource(feedback.FormatAtom))
	r.server.set("/src", answer{contentType: contentTypes[feedback.FormatAtom], body: atomDoc([]post{
		{id: "soon", org: "RR8", rating: 4, comment: "Clock skew.", hours: 1},
		{id: "later", org: "RR8", rating: 5, comment: "From the future.", hours: 24 * 365},
	})})
	res := r.runOnce(t)[0]
	if res.Err != nil || res.Upserted.Added != 1 || len(res.Refused) != 1 || res.Refused[0].ID != "later" ||
		!strings.Contains(res.Refused[0].Reason, "more than 24h0m0s from now") {
		t.Errorf("poll: %+v, want the item a year ahead refused and the other kept", res)
	}
}

func TestNewRefusesBadSources(t *testing.T) {
	store := openStore(t)
	good := feedback.Source{Name: "a", Title: "A", FeedURL: "http://127.0.0.1/a", Format: feedback.FormatAtom, Interval: time.Hour}
	bad := good
	bad.Format = "xml"
	for name, sources := range map[string][]feedback.Source{"invalid": {bad}, "twice": {good, good}} {
		if _, err := feedbackpoll.New(store, known, sources, feedbackpoll.Config{}); !errors.Is(err, feedback.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
