package websubsqlite_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candour/candour/cmd/candour/websubsqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/site/websub"
)

// store is the real SQLite store in a fresh file.
func store(t *testing.T) *websubsqlite.Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, websubsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	return websubsqlite.New(db)
}

func TestStoreLeasesAndDeliveries(t *testing.T) {
	ctx := context.Background()
	s := store(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	a := websub.Subscription{Topic: "http://x/feeds/releases.atom", Callback: "http://cb/a", Secret: "s", Expires: now.Add(time.Hour), Delivered: "d1"}
	b := websub.Subscription{Topic: "http://x/feeds/releases.atom", Callback: "http://cb/b", Expires: now.Add(500 * time.Millisecond)}
	for _, sub := range []websub.Subscription{a, b} {
		if err := s.Put(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Active(ctx, now); len(got) != 2 || got[0].Secret != "s" || got[0].Delivered != "d1" || !got[0].Expires.Equal(a.Expires) {
		t.Fatalf("active: %+v", got)
	}
	// A lease that has run out is gone (half a second matters).
	if got, _ := s.Active(ctx, now.Add(time.Second)); len(got) != 1 || got[0].Callback != a.Callback {
		t.Fatalf("after b's lease: %+v", got)
	}
	// Renewing keeps one subscription, with the new lease and secret.
	a.Expires, a.Secret = now.Add(2*time.Hour), "t"
	if err := s.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, a.Topic, a.Callback, "d2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Active(ctx, now.Add(90*time.Minute)); len(got) != 1 || got[0].Secret != "t" || got[0].Delivered != "d2" {
		t.Fatalf("renewed: %+v", got)
	}
	if err := s.Delete(ctx, a.Topic, a.Callback); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Active(ctx, now); len(got) != 0 {
		t.Fatalf("after delete: %+v", got)
	}
}

// topicServer is a topic whose content the test sets.
type topicServer struct {
	mu      sync.Mutex
	content string
}

func (ts *topicServer) set(c string) { ts.mu.Lock(); ts.content = c; ts.mu.Unlock() }

func (ts *topicServer) render(_ context.Context, topic string) (websub.Content, error) {
	if !strings.HasPrefix(topic, "http://site.test/feeds/") {
		return websub.Content{}, websub.ErrNotTopic
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return websub.Content{Body: []byte(ts.content), ContentType: "application/atom+xml"}, nil
}

// TestHubVerifiesDeliversRetriesAndUnsubscribes drives the hub by hand:
// intent is verified before anything is stored, a change is delivered
// signed, a subscriber that fails is retried with backoff until it takes
// the content, and an unsubscription verified the same way ends it.
func TestHubVerifiesDeliversRetriesAndUnsubscribes(t *testing.T) {
	ctx := context.Background()
	var failures atomic.Int32
	failures.Store(2)
	var mu sync.Mutex
	var delivered []string
	var signatures []string
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if r.URL.Query().Get("hub.topic") == "" {
				http.Error(w, "no topic", 400)
				return
			}
			io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		if failures.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		delivered = append(delivered, string(body))
		signatures = append(signatures, r.Header.Get("X-Hub-Signature"))
		mu.Unlock()
	}))
	defer cb.Close()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	ts := &topicServer{content: "v1"}
	st := store(t)
	h := &websub.Hub{Path: "/websub", Store: st, Render: ts.render, Client: cb.Client(), Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }, Interval: time.Hour, PrivateCallbacks: true,
		Retries: []time.Duration{time.Second, 10 * time.Second}}
	topic := "http://site.test/feeds/releases.atom"
	if err := h.Accept(ctx, websub.Request{Mode: "subscribe", Topic: topic, Callback: cb.URL + "/a", Secret: "k", LeaseSeconds: "120"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { subs, _ := st.Active(ctx, h.Now()); return len(subs) == 1 })

	h.Deliver(ctx) // unchanged since verification: nothing sent
	ts.set("v2")
	h.Deliver(ctx) // fails (1st)
	h.Deliver(ctx) // not yet due
	clock.Add(int64(time.Second))
	h.Deliver(ctx) // fails (2nd)
	clock.Add(int64(5 * time.Second))
	h.Deliver(ctx) // not due until 10 s
	clock.Add(int64(5 * time.Second))
	h.Deliver(ctx) // delivered
	h.Deliver(ctx) // nothing new
	mu.Lock()
	if len(delivered) != 1 || delivered[0] != "v2" || signatures[0] != "sha256="+websub.Sign("k", []byte("v2")) || failures.Load() != -1 {
		t.Errorf("deliveries %q, signatures %q, failures left %d", delivered, signatures, failures.Load())
	}
	mu.Unlock()

	// The lease runs out after 120 s: a later change reaches nobody.
	clock.Add(int64(3 * time.Minute))
	ts.set("v3")
	h.Deliver(ctx)
	if subs, _ := st.Active(ctx, h.Now()); len(subs) != 0 {
		t.Errorf("expired subscription still active: %+v", subs)
	}
	// Subscribe again, then unsubscribe: verified, then gone.
	if err := h.Accept(ctx, websub.Request{Mode: "subscribe", Topic: topic, Callback: cb.URL + "/a"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { subs, _ := st.Active(ctx, h.Now()); return len(subs) == 1 })
	if err := h.Accept(ctx, websub.Request{Mode: "unsubscribe", Topic: topic, Callback: cb.URL + "/a"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { subs, _ := st.Active(ctx, h.Now()); return len(subs) == 0 })
	for _, bad := range []websub.Request{
		{Mode: "subscribe", Topic: "http://other.test/feeds/x", Callback: cb.URL},
		{Mode: "subscribe", Topic: topic, Callback: "mailto:x@y"},
		{Mode: "watch", Topic: topic, Callback: cb.URL},
		{Mode: "subscribe", Topic: topic, Callback: cb.URL, LeaseSeconds: "-4"},
	} {
		var re *websub.RequestError
		if err := h.Accept(ctx, bad); err == nil || !asRequestError(err, &re) {
			t.Errorf("%+v: %v, want a refusal naming the field", bad, err)
		}
	}
}

func asRequestError(err error, re **websub.RequestError) bool {
	r, ok := err.(*websub.RequestError)
	*re = r
	return ok && r.Field != ""
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
