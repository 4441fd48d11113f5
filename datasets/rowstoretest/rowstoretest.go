// Package rowstoretest is the contract every datasets.RowStore
// implementation must meet. Each implementation's tests call Run with a
// constructor for a fresh, empty store; nothing else imports it.
package rowstoretest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

// Run checks store behaviour that public reads and publication rely on.
func Run(t *testing.T, newStore func(t *testing.T) datasets.RowStore) {
	t.Run("equality filters", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 3, File: "e.csv"}
		data := [][]string{{"RR8", "62D", "1"}, {"RX1", "62D", "2"}, {"RR8", "FDS", "3"}, {"RA2", "62D", "4"}, {"RR8", "62D", "5"}}
		if _, err := s.WriteRows(ctx, f, func(yield func([]string, error) bool) {
			for _, r := range data {
				if !yield(r, nil) {
					return
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for r, err := range s.Rows(ctx, datasets.NewVisible(3), datasets.RowQuery{File: f, Equal: map[int][]string{0: {"RR8", "RA2"}, 1: {"62D"}}}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d %s", r.Number, r.Cells[2]))
		}
		if strings.Join(got, ",") != "1 1,4 4,5 5" {
			t.Errorf("filtered rows: %v", got)
		}
		got = nil
		for r, err := range s.Rows(ctx, datasets.NewVisible(3), datasets.RowQuery{File: f, After: 1, Limit: 1, Equal: map[int][]string{0: {"RR8"}}}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprint(r.Number))
		}
		if strings.Join(got, ",") != "3" {
			t.Errorf("filtered with a cursor and limit: %v", got)
		}
	})

	t.Run("write then read in order", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 7, File: "a.csv"}
		want := [][]string{{"A81001", "0012", ""}, {"RR8", "*", "1.5"}, {"Total", "x,y", `"q"`},
			{"3:ab", ":", "10:00", "2:"}, {"", "", ""}, {"Gwasanaeth Iechyd — ŷ", "line\nbreak", "tab\there"}}
		n, err := s.WriteRows(ctx, f, seq(want, nil))
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(want)) {
			t.Fatalf("wrote %d rows, want %d", n, len(want))
		}
		got := collect(t, s.Rows(ctx, datasets.NewVisible(7), datasets.RowQuery{File: f}))
		if len(got) != len(want) {
			t.Fatalf("got %d rows, want %d", len(got), len(want))
		}
		for i, r := range got {
			if r.Number != int64(i+1) || !slices.Equal(r.Cells, want[i]) {
				t.Errorf("row %d: got %d %q, want %d %q", i, r.Number, r.Cells, i+1, want[i])
			}
		}
	})
	t.Run("invisible release yields ErrNotVisible and no rows", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 1, File: "draft.csv"}
		if _, err := s.WriteRows(ctx, f, seq([][]string{{"secret"}}, nil)); err != nil {
			t.Fatal(err)
		}
		for _, vis := range []datasets.Visible{{}, datasets.NewVisible(2, 3)} {
			var rows int
			var gotErr error
			for r, err := range s.Rows(ctx, vis, datasets.RowQuery{File: f}) {
				if err != nil {
					gotErr = err
					continue
				}
				rows++
				_ = r
			}
			if rows != 0 || !errors.Is(gotErr, datasets.ErrNotVisible) {
				t.Errorf("visible %v: got %d rows and error %v, want 0 rows and ErrNotVisible", vis.IDs(), rows, gotErr)
			}
		}
	})
	t.Run("keyset pagination", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 3, File: "p.csv"}
		var in [][]string
		for i := range 25 {
			in = append(in, []string{fmt.Sprint(i + 1)})
		}
		if _, err := s.WriteRows(ctx, f, seq(in, nil)); err != nil {
			t.Fatal(err)
		}
		var after int64
		var seen []string
		for page := 0; page < 10; page++ {
			got := collect(t, s.Rows(ctx, datasets.NewVisible(3), datasets.RowQuery{File: f, After: after, Limit: 10}))
			if len(got) == 0 {
				break
			}
			for _, r := range got {
				seen = append(seen, r.Cells[0])
			}
			after = got[len(got)-1].Number
		}
		if len(seen) != 25 || seen[0] != "1" || seen[24] != "25" {
			t.Errorf("pages gave %d rows %v, want 1..25", len(seen), seen)
		}
	})
	// Enough rows that a store keeping them in pages or blocks has many:
	// rows of different lengths, a value seen once, a value in every row
	// of one stretch only, cursors and limits at every offset of interest.
	t.Run("many rows: filters, cursors and limits", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 9, File: "many.csv"}
		const n = 10000
		var in [][]string
		for i := 1; i <= n; i++ {
			row := []string{fmt.Sprint(i), fmt.Sprintf("R%d", i%7), fmt.Sprintf("org-%d", i/1000), strings.Repeat("x", i%50)}
			if i%13 == 0 {
				row = row[:3] // a short row
			}
			if i == 7777 {
				row[1] = "once, with a comma and \"quotes\""
			}
			in = append(in, row)
		}
		if got, err := s.WriteRows(ctx, f, seq(in, nil)); err != nil || got != n {
			t.Fatalf("wrote %d rows: %v", got, err)
		}
		vis := datasets.NewVisible(9)
		want := func(after int64, limit int, keep func(row []string) bool) []int64 {
			var out []int64
			for i, row := range in {
				if int64(i+1) > after && keep(row) && (limit == 0 || len(out) < limit) {
					out = append(out, int64(i+1))
				}
			}
			return out
		}
		all := func([]string) bool { return true }
		cases := []struct {
			name  string
			q     datasets.RowQuery
			keep  func([]string) bool
			cells bool
		}{
			{"everything", datasets.RowQuery{}, all, true},
			{"after 4095, 3 rows", datasets.RowQuery{After: 4095, Limit: 3}, all, true},
			{"after the last", datasets.RowQuery{After: n}, all, false},
			{"a value in one stretch", datasets.RowQuery{Equal: map[int][]string{2: {"org-4"}}}, func(r []string) bool { return r[2] == "org-4" }, false},
			{"a value seen once", datasets.RowQuery{Equal: map[int][]string{1: {"once, with a comma and \"quotes\""}}}, func(r []string) bool { return r[1] == "once, with a comma and \"quotes\"" }, true},
			{"two columns, a cursor and a limit", datasets.RowQuery{After: 2500, Limit: 40, Equal: map[int][]string{1: {"R3", "R5"}, 2: {"org-2", "org-9"}}},
				func(r []string) bool { return (r[1] == "R3" || r[1] == "R5") && (r[2] == "org-2" || r[2] == "org-9") }, false},
			{"a column short rows lack", datasets.RowQuery{Equal: map[int][]string{3: {""}}}, func(r []string) bool { return len(r) > 3 && r[3] == "" }, false},
			{"no such value", datasets.RowQuery{Equal: map[int][]string{1: {"R9"}}}, func([]string) bool { return false }, false},
			{"a numeric range", datasets.RowQuery{Within: map[int]datasets.Range{0: {Min: 4000, Max: 4100.5}}},
				func(r []string) bool { n, _ := strconv.Atoi(r[0]); return n >= 4000 && n <= 4100 }, true},
			{"a range, an equality and a limit", datasets.RowQuery{Limit: 5, Within: map[int]datasets.Range{0: {Min: math.Inf(-1), Max: 30}}, Equal: map[int][]string{1: {"R3"}}},
				func(r []string) bool { n, _ := strconv.Atoi(r[0]); return n <= 30 && r[1] == "R3" }, true},
			{"a range over text", datasets.RowQuery{Within: map[int]datasets.Range{1: {Min: math.Inf(-1), Max: math.Inf(1)}}}, func([]string) bool { return false }, false},
		}
		for _, c := range cases {
			c.q.File = f
			got := collect(t, s.Rows(ctx, vis, c.q))
			var numbers []int64
			for _, r := range got {
				numbers = append(numbers, r.Number)
				if c.cells && !slices.Equal(r.Cells, in[r.Number-1]) {
					t.Errorf("%s: row %d is %q, want %q", c.name, r.Number, r.Cells, in[r.Number-1])
					break
				}
			}
			if w := want(c.q.After, c.q.Limit, c.keep); !slices.Equal(numbers, w) {
				t.Errorf("%s: got %d rows (%v…), want %d (%v…)", c.name, len(numbers), head(numbers), len(w), head(w))
			}
		}
	})
	t.Run("a reader that stops early lets go", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 11, File: "early.csv"}
		var in [][]string
		for i := range 20000 {
			in = append(in, []string{fmt.Sprint(i)})
		}
		if _, err := s.WriteRows(ctx, f, seq(in, nil)); err != nil {
			t.Fatal(err)
		}
		for range 50 { // many readers stopping early must not pile up
			n := 0
			for _, err := range s.Rows(ctx, datasets.NewVisible(11), datasets.RowQuery{File: f}) {
				if err != nil {
					t.Fatal(err)
				}
				if n++; n == 3 {
					break
				}
			}
		}
		// Writing and deleting need no reader to be holding on.
		if _, err := s.WriteRows(ctx, f, seq(in[:5], nil)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRelease(ctx, 11); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a reader whose context ends gets an error, never a short file", func(t *testing.T) {
		s := newStore(t)
		f := datasets.FileRef{Release: 12, File: "cut.csv"}
		var in [][]string
		for i := range 20000 {
			in = append(in, []string{fmt.Sprint(i)})
		}
		if _, err := s.WriteRows(context.Background(), f, seq(in, nil)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		var failed error
		for _, err := range s.Rows(ctx, datasets.NewVisible(12), datasets.RowQuery{File: f}) {
			if err != nil {
				failed = err
				break
			}
			if n++; n == 3 {
				cancel()
			}
		}
		if failed == nil && n != len(in) {
			t.Errorf("the context ended after 3 rows; the read ended after %d of %d rows with no error", n, len(in))
		}
	})
	t.Run("failed write stores nothing", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 4, File: "bad.csv"}
		boom := errors.New("boom")
		if _, err := s.WriteRows(ctx, f, seq([][]string{{"1"}, {"2"}}, boom)); !errors.Is(err, boom) {
			t.Fatalf("got error %v, want %v", err, boom)
		}
		if got := collect(t, s.Rows(ctx, datasets.NewVisible(4), datasets.RowQuery{File: f})); len(got) != 0 {
			t.Errorf("got %d rows after a failed write, want 0", len(got))
		}
	})
	t.Run("rewrite replaces and delete removes", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		f := datasets.FileRef{Release: 5, File: "r.csv"}
		other := datasets.FileRef{Release: 6, File: "r.csv"}
		for _, ff := range []datasets.FileRef{f, other} {
			if _, err := s.WriteRows(ctx, ff, seq([][]string{{"old"}, {"old"}}, nil)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.WriteRows(ctx, f, seq([][]string{{"new"}}, nil)); err != nil {
			t.Fatal(err)
		}
		vis := datasets.NewVisible(5, 6)
		if got := collect(t, s.Rows(ctx, vis, datasets.RowQuery{File: f})); len(got) != 1 || got[0].Cells[0] != "new" {
			t.Errorf("after rewrite got %v, want one row \"new\"", got)
		}
		if err := s.DeleteRelease(ctx, 5); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, s.Rows(ctx, vis, datasets.RowQuery{File: f})); len(got) != 0 {
			t.Errorf("after delete got %d rows, want 0", len(got))
		}
		if got := collect(t, s.Rows(ctx, vis, datasets.RowQuery{File: other})); len(got) != 2 {
			t.Errorf("delete of release 5 touched release 6: got %d rows, want 2", len(got))
		}
	})
}

// seq yields rows, then err if it is not nil.
func seq(rows [][]string, err error) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

func collect(t *testing.T, rows iter.Seq2[datasets.StoredRow, error]) []datasets.StoredRow {
	t.Helper()
	var out []datasets.StoredRow
	for r, err := range rows {
		if err != nil {
			t.Fatalf("reading rows: %v", err)
		}
		out = append(out, r)
	}
	return out
}

func head(xs []int64) []int64 {
	if len(xs) > 5 {
		return xs[:5]
	}
	return xs
}
