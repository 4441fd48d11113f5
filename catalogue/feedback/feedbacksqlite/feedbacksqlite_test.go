package feedbacksqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/catalogue/feedback/feedbacksqlite"
	"github.com/candour/candour/catalogue/feedback/feedbacktest"
	"github.com/candour/candour/datasets/sqlitedb"
)

func openDB(t *testing.T) *sql.DB {
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
	return db
}

func TestContract(t *testing.T) {
	feedbacktest.Run(t, func(t *testing.T) feedback.Store {
		return feedbacksqlite.New(openDB(t), func() time.Time { return feedbacktest.T0 })
	})
}

// TestMigrationsApplyTwice: opening an existing database applies nothing
// again and keeps what it holds.
func TestMigrationsApplyTwice(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "candour.db")
	set := sqlitedb.Set{Component: feedbacksqlite.Component, Files: feedbacksqlite.Migrations()}
	for i := 0; i < 2; i++ {
		db, err := sqlitedb.Open(ctx, file)
		if err != nil {
			t.Fatal(err)
		}
		if err := sqlitedb.Migrate(ctx, db, set); err != nil {
			t.Fatalf("migration run %d: %v", i+1, err)
		}
		s := feedbacksqlite.New(db, time.Now)
		if i == 0 {
			if err := s.PutSource(ctx, feedbacktest.SourceA); err != nil {
				t.Fatal(err)
			}
		} else if got, err := s.Sources(ctx); err != nil || len(got) != 1 {
			t.Errorf("after reopening: sources %v, %v; want the one put", got, err)
		}
		db.Close()
	}
}
