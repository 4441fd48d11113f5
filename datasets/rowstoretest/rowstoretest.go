// Package rowstoretest is the contract every datasets.RowStore
// implementation must meet. Each implementation's tests call Run with a
// constructor for a fresh, empty store; nothing else imports it.
package rowstoretest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
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
		want := [][]string{{"A81001", "0012", ""}, {"RR8", "*", "1.5"}, {"Total", "x,y", `"q"`}}
		n, err := s.WriteRows(ctx, f, seq(want, nil))
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("wrote %d rows, want 3", n)
		}
		got := collect(t, s.Rows(ctx, datasets.NewVisible(7), datasets.RowQuery{File: f}))
		if len(got) != 3 {
			t.Fatalf("got %d rows, want 3", len(got))
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
