package datasets

import (
	"context"
	"errors"
	"iter"
	"slices"
)

// ErrNotVisible is returned by row reads for a release outside the caller's
// visible set.
var ErrNotVisible = errors.New("release not visible")

// ErrUnavailable marks a store error that means the store's server could
// not be reached or went away (not a query it refused): the request may
// succeed if tried again shortly, so pages answer 503 with Retry-After.
var ErrUnavailable = errors.New("the data store is not answering")

// Visible is the set of release ids a reader may see. Only the catalogue's
// published view (through its caller) builds one for public reads; the
// publisher builds one naming a single release when it derives data from
// that release. The zero value contains nothing.
type Visible struct {
	ids []int64 // sorted, unique
}

// NewVisible returns the set of the given release ids.
func NewVisible(ids ...int64) Visible {
	s := slices.Clone(ids)
	slices.Sort(s)
	return Visible{ids: slices.Compact(s)}
}

// Contains reports whether release id is in the set.
func (v Visible) Contains(id int64) bool {
	_, ok := slices.BinarySearch(v.ids, id)
	return ok
}

// IDs returns the release ids in ascending order.
func (v Visible) IDs() []int64 { return slices.Clone(v.ids) }

// Len returns the number of releases in the set.
func (v Visible) Len() int { return len(v.ids) }

// FileRef names one file of one release.
type FileRef struct {
	Release int64  // release id
	File    string // file name within the release
}

// StoredRow is one data row of a release file as stored: its 1-based row
// number within the file and its cells as text, exactly as published.
type StoredRow struct {
	Number int64
	Cells  []string
}

// RowQuery selects rows of one release file, in row-number order.
type RowQuery struct {
	File  FileRef
	After int64 // return rows with Number > After (keyset pagination)
	Limit int   // 0 means no limit
	// Equal keeps only rows whose cell at each column index is one of the
	// texts given (exact text comparison), so a store can filter without
	// handing every row over.
	Equal map[int][]string
	// Within keeps only rows whose cell at each column index is a decimal
	// number (as ParseDecimal reads it) inside the range; any other cell
	// (a suppression marker, a blank) is outside every range.
	Within map[int]Range
}

// Range is a closed interval of numbers; use math.Inf for an open end.
type Range struct{ Min, Max float64 }

// Contains reports whether x is in the range.
func (r Range) Contains(x float64) bool { return r.Min <= x && x <= r.Max }

// RowStore holds the rows of release files, each tagged with its release.
// Writing rows makes nothing public: public reads pass a Visible set that
// only contains published releases.
//
// Implementations: rowsqlite (embedded) and rowclickhouse. The contract is checked by
// rowstoretest.Run against each implementation.
type RowStore interface {
	// WriteRows stores the rows of one file of a release, numbering them
	// from 1 in the order given, and returns how many it stored. Writing a
	// file that already has rows replaces them. An error from rows aborts
	// the write and nothing of that file is stored.
	WriteRows(ctx context.Context, f FileRef, rows iter.Seq2[[]string, error]) (int64, error)

	// Rows streams the rows q selects. It yields ErrNotVisible (and no
	// rows) when q.File.Release is not in visible.
	Rows(ctx context.Context, visible Visible, q RowQuery) iter.Seq2[StoredRow, error]

	// DeleteRelease removes every row of a release (a cancelled draft).
	DeleteRelease(ctx context.Context, release int64) error
}

// ReadAhead yields the rows that read sends, in the order sent, while
// read runs in a goroutine of its own up to depth batches ahead: a row
// store decodes the next rows while its caller writes the last ones out.
// read stops when send returns false (the caller stopped, or ctx ended)
// and returns the error that ended reading, if any, which is yielded
// after the rows sent before it. A read cut short by ctx ending yields
// ctx's error, so a caller never takes a short file for a whole one. The
// goroutine has ended when the sequence returns; a sent batch belongs to
// the caller.
func ReadAhead(ctx context.Context, depth int, read func(ctx context.Context, send func([]StoredRow) bool) error) iter.Seq2[StoredRow, error] {
	return func(yield func(StoredRow, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		type batch struct {
			rows []StoredRow
			err  error
		}
		batches := make(chan batch, depth)
		cut := false // a send found ctx ended; read once batches is closed
		send := func(b batch) bool {
			select {
			case batches <- b:
				return true
			case <-ctx.Done():
				cut = true
				return false
			}
		}
		go func() {
			defer close(batches)
			if err := read(ctx, func(rows []StoredRow) bool { return send(batch{rows: rows}) }); err != nil {
				send(batch{err: err})
			}
		}()
		defer func() {
			cancel()
			for range batches { // wait for read to end and let go of its connection
			}
		}()
		for b := range batches {
			for _, r := range b.rows {
				if !yield(r, nil) {
					return
				}
			}
			if b.err != nil {
				yield(StoredRow{}, b.err)
				return
			}
		}
		if cut {
			yield(StoredRow{}, context.Cause(ctx))
		}
	}
}
