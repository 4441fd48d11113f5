package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSnapshotTablesDecided creates a data folder with every migration
// (through openApp, as the server does) and fails if any table is neither
// public nor private in snapshottables.go: a new table must be decided
// about before it can ship (until then the snapshot drops it). It also
// fails on names listed for tables that do not exist, and when
// appMigrations (which read nodes check snapshots against) differs from
// what openApp applies.
func TestSnapshotTablesDecided(t *testing.T) {
	ctx := context.Background()
	a, err := openApp(ctx, Config{DataDir: filepath.Join(t.TempDir(), "data"), Approvals: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tables, err := tableNames(ctx, a.db)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, name := range tables {
		if strings.HasPrefix(name, "sqlite_") {
			continue // SQLite's own; pruneTables keeps only their lines about public tables
		}
		seen[name] = true
		_, public := publicTable(name)
		_, private := privateTables[name]
		switch {
		case public && private:
			t.Errorf("table %s is both public and private in snapshottables.go", name)
		case !public && !private:
			t.Errorf("table %s is neither public nor private: decide in cmd/candour/snapshottables.go whether a public snapshot may hold it (and how to prune it), or why not", name)
		}
	}
	for _, pt := range publicTables {
		if !seen[pt.name] {
			t.Errorf("publicTables lists %s, which no migration creates", pt.name)
		}
		if pt.why == "" {
			t.Errorf("publicTables: %s says nothing of why it is public", pt.name)
		}
	}
	for name := range privateTables {
		if !seen[name] {
			t.Errorf("privateTables lists %s, which no migration creates", name)
		}
	}

	// The migrations openApp applied are exactly appMigrations.
	if err := checkSnapshotSchema(ctx, a.db); err != nil {
		t.Errorf("appMigrations and openApp disagree: %v", err)
	}
	var components []string
	rows, err := a.db.QueryContext(ctx, `SELECT DISTINCT component FROM schema_migrations ORDER BY component`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		components = append(components, c)
	}
	rows.Close()
	var want []string
	for _, set := range appMigrations() {
		want = append(want, set.Component)
	}
	slices.Sort(want)
	if fmt.Sprint(components) != fmt.Sprint(want) {
		t.Errorf("openApp migrated components %v; appMigrations lists %v", components, want)
	}
}
