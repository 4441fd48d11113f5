package workflowsqlite_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/workflowsqlite"
)

// without returns the migrations of fsys other than the named files.
func without(t *testing.T, fsys fs.FS, names ...string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, e := range entries {
		for _, n := range names {
			if e.Name() == n {
				continue next
			}
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	return out
}

// TestUpgradeFillsInChainHeads: a data folder from before chain heads were
// recorded gets, for each release it had published, the head its
// publication entry made — what publication records now.
func TestUpgradeFillsInChainHeads(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 2, 19, 9, 30, 0, 0, time.UTC)
	catalogueSet := func(fsys fs.FS) sqlitedb.Set {
		return sqlitedb.Set{Component: cataloguesqlite.Component, Files: fsys}
	}
	workflow := workflowsqlite.Migrations()
	old := []sqlitedb.Set{
		catalogueSet(without(t, cataloguesqlite.Migrations(), "0005_audit_chain_head.sql")),
		auditsqlite.Migrations(),
		{Component: workflow.Component, Files: without(t, workflow.Files, "0004_audit_chain_heads.sql", "0005_unfinished.sql")},
	}
	if err := sqlitedb.Migrate(ctx, db, old...); err != nil {
		t.Fatal(err)
	}

	cat := cataloguesqlite.New(db, func() time.Time { return now })
	p, err := cat.PutPublisher(ctx, catalogue.Publisher{Slug: "nhs-england", Name: "NHS England"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := cat.CreateDataset(ctx, catalogue.Dataset{Slug: "waits", Title: "Waits", Publisher: p,
		Licence: catalogue.DefaultLicence, Status: catalogue.DatasetPlanned})
	if err != nil {
		t.Fatal(err)
	}
	log := auditsqlite.New(db)
	release := func(publish bool) int64 {
		r, err := cat.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: "Waits", PeriodLabel: "January 2026"}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := log.Append(ctx, auditlog.Entry{At: now, Actor: "pat", Action: "release.submitted", Release: r.ID}); err != nil {
			t.Fatal(err)
		}
		if !publish {
			return r.ID
		}
		for _, tr := range [][2]catalogue.ReleaseState{{catalogue.StateDraft, catalogue.StateChecked}, {catalogue.StateChecked, catalogue.StateInReview},
			{catalogue.StateInReview, catalogue.StateApproved}, {catalogue.StateApproved, catalogue.StateScheduled}, {catalogue.StateScheduled, catalogue.StatePublished}} {
			// Through the transaction writer: the store's reads already
			// expect the new columns.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := cat.InTx(tx).TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: tr[0], To: tr[1], At: now, EmbargoAt: now, Actor: "pat"}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := log.Append(ctx, auditlog.Entry{At: now, Actor: "scheduler", Action: "release.published", Release: r.ID}); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	first, draft, second := release(true), release(false), release(true)
	want := map[int64]catalogue.ChainHead{}
	for _, id := range []int64{first, second} {
		entries, err := log.EntriesForRelease(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		last := entries[len(entries)-1]
		want[id] = catalogue.ChainHead{Seq: last.Seq, Hash: last.Hash}
	}
	// Something after the publications, so the head at each is not the
	// log's head.
	if _, err := log.Append(ctx, auditlog.Entry{At: now, Actor: "root", Action: "user.added"}); err != nil {
		t.Fatal(err)
	}

	if err := sqlitedb.Migrate(ctx, db, catalogueSet(cataloguesqlite.Migrations()), auditsqlite.Migrations(), workflow); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	for _, id := range []int64{first, draft, second} {
		r, err := cat.ReleaseByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.AuditHead != want[id] {
			t.Errorf("release %d (%s): head %+v after the upgrade, want %+v", id, r.State, r.AuditHead, want[id])
		}
	}
}
