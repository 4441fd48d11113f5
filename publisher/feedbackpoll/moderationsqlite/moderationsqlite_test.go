package moderationsqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/catalogue/feedback/feedbacksqlite"
	"github.com/candour/candour/catalogue/feedback/feedbacktest"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/feedbackpoll"
	"github.com/candour/candour/publisher/feedbackpoll/moderationsqlite"
)

var (
	admin    = publisher.Actor{Username: "ada", Name: "Ada Lovelace", Roles: []publisher.Role{publisher.RoleAdministrator}}
	reviewer = publisher.Actor{Username: "rex", Roles: []publisher.Role{publisher.RoleReviewer}}
	decided  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

type env struct {
	fb  *feedbacksqlite.Store
	log *auditsqlite.Log
	mod *feedbackpoll.Moderator
}

func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: feedbacksqlite.Component, Files: feedbacksqlite.Migrations()},
		auditsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	fb := feedbacksqlite.New(db, func() time.Time { return feedbacktest.T0 })
	if err := fb.PutSource(ctx, feedbacktest.SourceA); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Upsert(ctx, []feedback.Item{
		feedbacktest.Item("visible", 0, 1, "Rude about a named nurse."),
		feedbacktest.Item("held", 1, 2, "The ward's number 01642 617617 rang out."),
	}); err != nil {
		t.Fatal(err)
	}
	return env{fb: fb, log: auditsqlite.New(db), mod: feedbackpoll.NewModerator(moderationsqlite.New(db, fb), func() time.Time { return decided })}
}

func (e env) entries(t *testing.T) []auditlog.Entry {
	t.Helper()
	var out []auditlog.Entry
	for entry, err := range e.log.Entries(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry)
	}
	return out
}

func TestModerationIsAudited(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := feedbacktest.SourceA.Name
	cases := []struct {
		do     func() (feedback.Item, error)
		id     string
		state  feedback.State
		action string
		reason string
	}{
		{func() (feedback.Item, error) {
			return e.mod.Hide(ctx, admin, src, "visible", "names a member of staff")
		},
			"visible", feedback.StateHidden, feedbackpoll.AuditHidden, "names a member of staff"},
		{func() (feedback.Item, error) {
			return e.mod.Release(ctx, admin, src, "held", "the hospital's switchboard")
		},
			"held", feedback.StateVisible, feedbackpoll.AuditReleased, "the hospital's switchboard"},
	}
	for i, c := range cases {
		it, err := c.do()
		if err != nil || it.State != c.state || it.ModeratedBy != "ada" || it.Reason != c.reason || !it.ModeratedAt.Equal(decided) {
			t.Fatalf("%s: %+v, %v", c.action, it, err)
		}
		entries := e.entries(t)
		if len(entries) != i+1 {
			t.Fatalf("after %s: %d audit entries, want %d", c.action, len(entries), i+1)
		}
		last := entries[i]
		var details map[string]string
		if err := json.Unmarshal(last.Details, &details); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"source": src, "item": c.id, "reason": c.reason}
		if last.Action != c.action || last.Actor != "ada" || last.Release != 0 || !last.At.Equal(decided) || !reflect.DeepEqual(details, want) {
			t.Errorf("audit entry: %+v with details %v, want %s by ada with %v", last, details, c.action, want)
		}
		mods, err := e.fb.Moderations(ctx, src, c.id)
		if err != nil || len(mods) != 1 || mods[0].By != "ada" || mods[0].Reason != c.reason {
			t.Errorf("recorded moderations of %s: %+v, %v", c.id, mods, err)
		}
	}
	if _, err := e.log.Verify(ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}

func TestRefusedModerationWritesNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	src := feedbacktest.SourceA.Name
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"not an administrator", func() error { _, err := e.mod.Hide(ctx, reviewer, src, "visible", "rude"); return err }, publisher.ErrForbidden},
		{"no reason", func() error { _, err := e.mod.Hide(ctx, admin, src, "visible", "  "); return err }, feedback.ErrInvalid},
		{"release what is not held", func() error { _, err := e.mod.Release(ctx, admin, src, "visible", "fine"); return err }, feedback.ErrInvalid},
		{"no such item", func() error { _, err := e.mod.Hide(ctx, admin, src, "nope", "rude"); return err }, feedback.ErrNotFound},
	}
	for _, c := range cases {
		if err := c.do(); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if got := e.entries(t); len(got) != 0 {
		t.Errorf("refused moderations wrote %d audit entries", len(got))
	}
	for _, id := range []string{"visible", "held"} {
		if mods, err := e.fb.Moderations(ctx, src, id); err != nil || len(mods) != 0 {
			t.Errorf("%s: moderations %+v, %v; want none", id, mods, err)
		}
	}
	if it, err := e.fb.Item(ctx, src, "visible"); err != nil || it.State != feedback.StateVisible {
		t.Errorf("item after refusals: %s, %v", it.State, err)
	}
}

// TestNoDecisionWithoutItsAuditEntry: when the audit entry cannot be
// written (here the database has no audit log), the decision is not kept.
func TestNoDecisionWithoutItsAuditEntry(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: feedbacksqlite.Component, Files: feedbacksqlite.Migrations()}); err != nil {
		t.Fatal(err)
	}
	fb := feedbacksqlite.New(db, time.Now)
	if err := fb.PutSource(ctx, feedbacktest.SourceA); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Upsert(ctx, []feedback.Item{feedbacktest.Item("1", 0, 1, "Rude.")}); err != nil {
		t.Fatal(err)
	}
	mod := feedbackpoll.NewModerator(moderationsqlite.New(db, fb), time.Now)
	if _, err := mod.Hide(ctx, admin, feedbacktest.SourceA.Name, "1", "rude"); err == nil {
		t.Fatal("hid an item with no audit log to record it in")
	}
	if it, err := fb.Item(ctx, feedbacktest.SourceA.Name, "1"); err != nil || it.State != feedback.StateVisible {
		t.Errorf("item after the failed hide: %s, %v; want still visible", it.State, err)
	}
	if mods, err := fb.Moderations(ctx, feedbacktest.SourceA.Name, "1"); err != nil || len(mods) != 0 {
		t.Errorf("moderations after the failed hide: %+v, %v", mods, err)
	}
}
