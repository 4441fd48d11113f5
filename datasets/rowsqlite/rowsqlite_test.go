package rowsqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/datasets/rowstoretest"
	"github.com/candour/candour/datasets/sqlitedb"
)

func TestContract(t *testing.T) {
	rowstoretest.Run(t, func(t *testing.T) datasets.RowStore {
		s, _ := openStore(t)
		return s
	})
}

func openStore(t *testing.T) (*rowsqlite.Store, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, rowsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	return rowsqlite.New(db), db
}

func readAll(t *testing.T, s *rowsqlite.Store, q datasets.RowQuery) ([]datasets.StoredRow, error) {
	t.Helper()
	var out []datasets.StoredRow
	for r, err := range s.Rows(context.Background(), datasets.NewVisible(q.File.Release), q) {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Rows stored one to a table row before blocks came are moved by Upgrade,
// exactly, once.
func TestUpgradeMovesLegacyRows(t *testing.T) {
	s, db := openStore(t)
	ctx := context.Background()
	legacy := [][]string{{"RR8", "12"}, {"RX1", `say "hi"`}, {"A,B", "é"}}
	for i := len(legacy); i < 5000; i++ { // more than one page of the move
		legacy = append(legacy, []string{"R" + strconv.Itoa(i), strconv.Itoa(i * 3)})
	}
	for i, cells := range legacy {
		raw, _ := json.Marshal(cells)
		if _, err := db.ExecContext(ctx, `INSERT INTO dataset_rows (release_id, file_name, row_number, cells) VALUES (4, 'old.csv', ?, ?)`, i+1, string(raw)); err != nil {
			t.Fatal(err)
		}
	}
	f := datasets.FileRef{Release: 4, File: "old.csv"}
	if got, _ := readAll(t, s, datasets.RowQuery{File: f}); len(got) != 0 {
		t.Fatalf("legacy rows read before the upgrade: %v", got)
	}
	for _, want := range []int{1, 0} { // the second run finds nothing to move
		n, err := s.Upgrade(ctx)
		if err != nil || n != want {
			t.Fatalf("upgrade moved %d files (%v), want %d", n, err, want)
		}
	}
	got, err := readAll(t, s, datasets.RowQuery{File: f})
	if err != nil || len(got) != len(legacy) {
		t.Fatalf("after the upgrade: %v %v", got, err)
	}
	for i, r := range got {
		if r.Number != int64(i+1) || !slices.Equal(r.Cells, legacy[i]) {
			t.Errorf("row %d: %d %q", i, r.Number, r.Cells)
		}
	}
	var left int
	db.QueryRowContext(ctx, `SELECT count(*) FROM dataset_rows`).Scan(&left)
	if left != 0 {
		t.Errorf("%d legacy rows left", left)
	}
}

// A damaged block is an error naming the file and rows, not wrong rows.
func TestDamagedBlock(t *testing.T) {
	s, db := openStore(t)
	ctx := context.Background()
	f := datasets.FileRef{Release: 2, File: "d.csv"}
	if _, err := s.WriteRows(ctx, f, func(yield func([]string, error) bool) {
		for i := 0; i < 3000; i++ { // two blocks: rows 1–2048 all "A", the rest all "B"
			v := "A"
			if i >= 2048 {
				v = "B"
			}
			if !yield([]string{v, strconv.Itoa(i)}, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	// Cut the end off the first block's rows (its header stays whole).
	if _, err := db.ExecContext(ctx, `UPDATE row_blocks SET data = substr(data, 1, length(data) - 3) WHERE first_row = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, s, datasets.RowQuery{File: f}); err == nil || !strings.Contains(err.Error(), "d.csv: rows from 1") {
		t.Errorf("reading a damaged block: %v", err)
	}
	got, err := readAll(t, s, datasets.RowQuery{File: f, After: 2048})
	if err != nil || len(got) != 952 || got[0].Number != 2049 {
		t.Errorf("rows after the damaged block: %d rows, %v", len(got), err)
	}
}
