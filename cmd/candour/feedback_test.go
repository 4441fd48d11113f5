package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/publisher"
)

// A poll that adds or changes an item, and a moderator's decision, are
// announced (the page cache is cleared and a snapshot asked for); a poll
// that changes nothing is not. The stores are the real SQLite ones.
func TestFeedbackChangesAreAnnounced(t *testing.T) {
	ctx := context.Background()
	a, err := openApp(ctx, Config{DataDir: filepath.Join(t.TempDir(), "data"), Approvals: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	src := feedback.Source{Name: "care-stories", Title: "Care Stories", FeedURL: "https://stories.example/feed.atom", Format: feedback.FormatAtom, Interval: time.Hour}
	if err := a.feedback.PutSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	changes := 0
	store := notifyingFeedback{a.feedback, func() { changes++ }}
	item := feedback.Item{Source: src.Name, ID: "1", Organisation: "RR8", Link: "https://stories.example/1",
		Published: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Rating: 4, Comment: "Kind staff."}
	for i, want := range []int{1, 1} { // added, then unchanged
		if _, err := store.Upsert(ctx, []feedback.Item{item}); err != nil {
			t.Fatal(err)
		}
		if changes != want {
			t.Errorf("upsert %d: %d announcements, want %d", i+1, changes, want)
		}
	}
	item.Response = feedback.Response{Text: "Thank you."}
	if _, err := store.Upsert(ctx, []feedback.Item{item}); err != nil || changes != 2 {
		t.Errorf("a response attached: %d announcements (%v), want 2", changes, err)
	}

	mod := a.moderator(func() { changes++ })
	admin := publisher.Actor{Username: "ada", Roles: []publisher.Role{publisher.RoleAdministrator}}
	if _, err := mod.Hide(ctx, admin, src.Name, "1", ""); err == nil || changes != 2 {
		t.Errorf("a hide without a reason: %v, %d announcements; want refused and none", err, changes)
	}
	if it, err := mod.Hide(ctx, admin, src.Name, "1", "Names a member of staff."); err != nil || it.State != feedback.StateHidden || changes != 3 {
		t.Errorf("hide: %+v %v, %d announcements, want hidden and 3", it, err, changes)
	}
}

// The poller stops when serving stops, even in the middle of a poll that
// is waiting for a slow source.
func TestFeedbackPollerStopsCleanly(t *testing.T) {
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer slow.Close()
	ctx := context.Background()
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "data"), Approvals: 2, Feedback: []feedback.Source{{Name: "slow", Title: "Slow",
		FeedURL: slow.URL + "/feed.atom", Format: feedback.FormatAtom, Interval: time.Minute}}}
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	stop, err := startFeedbackPoller(a, func() {})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the poller did not poll its source")
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the poller did not stop within 5 s")
	}
	if sources, err := a.feedback.Sources(ctx); err != nil || len(sources) != 1 || sources[0].Name != "slow" {
		t.Errorf("sources recorded: %v %v", sources, err)
	}
}
