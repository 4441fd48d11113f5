package clickhousedb_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/clickhousedb/clickhousetest"
)

func TestStatements(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      []string
	}{
		{"one", "CREATE TABLE a (x UInt8) ENGINE = Memory;\n", []string{"CREATE TABLE a (x UInt8) ENGINE = Memory"}},
		{"two with comments", "-- first\nCREATE TABLE a (\n  x UInt8\n) ENGINE = Memory;\n\n-- second\nCREATE TABLE b (y String) ENGINE = Memory;\n",
			[]string{"CREATE TABLE a (\n  x UInt8\n) ENGINE = Memory", "CREATE TABLE b (y String) ENGINE = Memory"}},
		{"no final semicolon", "SELECT 1", []string{"SELECT 1"}},
		{"a semicolon inside a line is not an end", "SELECT ';' AS x;\n", []string{"SELECT ';' AS x"}},
		{"empty", "-- nothing\n\n", nil},
	} {
		if got := clickhousedb.Statements(tc.sql); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestIn(t *testing.T) {
	if in, ok := clickhousedb.In(datasets.NewVisible(7, 3, 7)); !ok || in != "(3, 7)" {
		t.Errorf("releases 7, 3, 7: %q %v", in, ok)
	}
	if in, ok := clickhousedb.In(datasets.NewVisible()); ok {
		t.Errorf("no releases: %q %v, want none", in, ok)
	}
}

// Migrations are applied once, in order, recorded, and a recorded file
// that changed is refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	conn := clickhousetest.Fresh(t).Query
	files := fstest.MapFS{
		"0001_first.sql":  {Data: []byte("CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = Memory;\nCREATE TABLE IF NOT EXISTS b (y String) ENGINE = Memory;\n")},
		"0002_second.sql": {Data: []byte("-- a view over a\nCREATE VIEW IF NOT EXISTS c AS SELECT x FROM a;\n")},
	}
	set := clickhousedb.Set{Component: "test", Files: files}
	for range 2 {
		if err := clickhousedb.Migrate(ctx, conn, set); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.Query(ctx, "SELECT name FROM schema_migrations WHERE component = 'test' ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	if !slices.Equal(names, []string{"0001_first.sql", "0002_second.sql"}) {
		t.Errorf("recorded %q, want each file once", names)
	}
	if err := conn.Exec(ctx, "SELECT x FROM c"); err != nil {
		t.Errorf("the second migration's view: %v", err)
	}
	files["0001_first.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE a (x UInt16) ENGINE = Memory;\n")}
	if err := clickhousedb.Migrate(ctx, conn, set); err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
		t.Errorf("a changed migration: %v, want it refused", err)
	}
}
