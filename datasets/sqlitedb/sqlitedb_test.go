package sqlitedb

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/candour/candour/datasets"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v1 := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (y INTEGER);")},
		"README.md":  {Data: []byte("ignored")},
	}
	if err := Migrate(ctx, db, Set{Component: "test", Files: v1}); err != nil {
		t.Fatal(err)
	}
	// Applying again is a no-op (would fail on CREATE TABLE if re-run).
	if err := Migrate(ctx, db, Set{Component: "test", Files: v1}); err != nil {
		t.Fatalf("second run: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE component = 'test'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("recorded %d migrations (err %v), want 2", n, err)
	}
	// A new file is applied; a later one (3) after an earlier (2) in order.
	v2 := fstest.MapFS{
		"0001_a.sql": v1["0001_a.sql"],
		"0002_b.sql": v1["0002_b.sql"],
		"0003_c.sql": {Data: []byte("INSERT INTO b VALUES (1);")},
	}
	if err := Migrate(ctx, db, Set{Component: "test", Files: v2}); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM b`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("b has %d rows (err %v), want 1", n, err)
	}

	cases := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"edited after apply", fstest.MapFS{
			"0001_a.sql": {Data: []byte("CREATE TABLE a (x TEXT);")},
			"0002_b.sql": v1["0002_b.sql"], "0003_c.sql": v2["0003_c.sql"],
		}, "0001_a.sql was changed"},
		{"missing file", fstest.MapFS{"0001_a.sql": v1["0001_a.sql"], "0002_b.sql": v1["0002_b.sql"]}, "version 3 is recorded"},
		{"bad name", fstest.MapFS{"abc.sql": {Data: []byte("")}}, "must start with a positive number"},
		{"duplicate version", fstest.MapFS{"0001_a.sql": v1["0001_a.sql"], "1_again.sql": {Data: []byte("")}}, "share version 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Migrate(ctx, db, Set{Component: "test", Files: c.fs})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestFailedMigrationLeavesNoRecord(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bad := fstest.MapFS{"0001_bad.sql": {Data: []byte("CREATE TABLE t (x); INSERT INTO nowhere VALUES (1);")}}
	if err := Migrate(ctx, db, Set{Component: "x", Files: bad}); err == nil {
		t.Fatal("want an error")
	}
	var n int
	db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE component = 'x'`).Scan(&n)
	var tables int
	db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 't'`).Scan(&tables)
	if n != 0 || tables != 0 {
		t.Fatalf("after a failed migration: %d records, %d tables; want 0 and 0", n, tables)
	}
}

// A visible set larger than SQLite's limit on parameters (32,766) still
// selects exactly its releases; the empty set selects none.
func TestVisibleInBeyondTheParameterLimit(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (release_id INTEGER, name TEXT);
		INSERT INTO t VALUES (3, 'a'), (40001, 'b'), (40002, 'c'), (99999, 'd');`); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, 0, 40_002)
	for id := int64(1); id <= 40_002; id++ {
		ids = append(ids, id)
	}
	for _, c := range []struct {
		visible datasets.Visible
		want    string
	}{{datasets.NewVisible(ids...), "a,b,c"}, {datasets.NewVisible(40002), "c"}, {datasets.NewVisible(), ""}} {
		in, args := VisibleIn(c.visible)
		rows, err := db.QueryContext(ctx, "SELECT name FROM t WHERE release_id IN "+in+" AND name <> ? ORDER BY name", append(args, "z")...)
		if err != nil {
			t.Fatalf("%d visible releases: %v", c.visible.Len(), err)
		}
		var got []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			got = append(got, n)
		}
		rows.Close()
		if strings.Join(got, ",") != c.want {
			t.Errorf("%d visible releases select %q, want %q", c.visible.Len(), got, c.want)
		}
	}
}
