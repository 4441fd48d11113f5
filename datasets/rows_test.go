package datasets

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// sendNumbered sends rows 1 … n in batches of size, then returns end.
func sendNumbered(n, size int, end error, finished *atomic.Bool) func(context.Context, func([]StoredRow) bool) error {
	return func(ctx context.Context, send func([]StoredRow) bool) error {
		defer finished.Store(true)
		var batch []StoredRow
		for i := 1; i <= n; i++ {
			batch = append(batch, StoredRow{Number: int64(i)})
			if len(batch) == size || i == n {
				if !send(batch) {
					return nil
				}
				batch = nil
			}
		}
		return end
	}
}

func TestReadAhead(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name      string
		n         int
		end       error
		stopAfter int // the caller stops after this many rows (0: never)
		cancelAt  int // the caller's context ends after this many rows (0: never)
		wantRows  int // rows yielded
		wantErr   error
	}{
		{name: "every row in order", n: 1000, wantRows: 1000},
		{name: "no rows", n: 0, wantRows: 0},
		{name: "the error after the rows before it", n: 300, end: boom, wantRows: 300, wantErr: boom},
		{name: "a caller that stops early", n: 100000, stopAfter: 5, wantRows: 5},
		{name: "a context that ends mid-read is an error", n: 100000, cancelAt: 5, wantErr: context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var finished atomic.Bool
			rows, want := 0, int64(1)
			var got error
			for r, err := range ReadAhead(ctx, 2, sendNumbered(c.n, 7, c.end, &finished)) {
				if err != nil {
					got = err
					break
				}
				if r.Number != want {
					t.Fatalf("row %d came where row %d should", r.Number, want)
				}
				want++
				if rows++; rows == c.stopAfter {
					break
				}
				if rows == c.cancelAt {
					cancel()
				}
			}
			if !finished.Load() {
				t.Error("the reading goroutine was still running when the sequence returned")
			}
			if !errors.Is(got, c.wantErr) {
				t.Errorf("error %v, want %v", got, c.wantErr)
			}
			if c.cancelAt == 0 && rows != c.wantRows {
				t.Errorf("%d rows, want %d", rows, c.wantRows)
			}
			if c.cancelAt > 0 && rows >= c.n {
				t.Errorf("every row came although the context ended after %d", c.cancelAt)
			}
		})
	}
}
