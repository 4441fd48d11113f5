// Package rowclickhouse stores the rows of release files on a ClickHouse
// server (see datasets/clickhousedb): the datasets.RowStore for a
// deployment whose rows outgrow the embedded database. It passes the same
// contract suite (rowstoretest) as rowsqlite.
//
// Each release file is a partition of dataset_rows, its rows in row-number
// order with their cells as an array of text, exactly as published.
// Writing a file drops its partition and inserts its rows in batches of
// insertBatch rows, so memory does not grow with the file. ClickHouse has
// no transactions: a write that fails part-way (the rows' reader fails, or
// the server) drops what it wrote, so nothing of that file is left; the
// publisher writes a release's rows before the release can be public and
// rewrites an interrupted amendment at start-up.
//
// Equality filters and keyset pagination are done by the server; numeric
// range filters are checked here with datasets.ParseDecimal, the rule every
// store applies (ClickHouse's own number parsing accepts other texts), so
// a query with a range reads the file's rows past the cursor and stops at
// its limit.
//
// A read decodes the server's rows in a goroutine of its own, a batch
// ahead of its caller, so that an export writes CSV while the next rows
// are decoded; a caller that stops early cancels the query and the
// goroutine ends before Rows returns.
//
// It never decides visibility: reads of a release outside the visible set
// its caller passes yield datasets.ErrNotVisible.
package rowclickhouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the store's migrations.
func Migrations() clickhousedb.Set { return clickhousedb.Embedded("rows", migrationFiles) }

// insertBatch is how many rows go to the server in one insert.
const insertBatch = 100_000

// Tables are the store's tables, for clickhousedb.Server.Migrate.
var Tables = []string{"dataset_rows"}

// Store implements datasets.RowStore.
type Store struct{ db *clickhousedb.Server }

var _ datasets.RowStore = (*Store)(nil)

// New returns the store on db: one server, or a cluster's shards.
func New(db *clickhousedb.Server) *Store { return &Store{db: db} }

// dropFile empties the partition of one release file.
func (s *Store) dropFile(ctx context.Context, f datasets.FileRef) error {
	// The file name is a quoted string literal, as partition expressions
	// need; quoteString escapes it.
	if err := s.db.OnEveryShard(ctx, fmt.Sprintf("ALTER TABLE dataset_rows DROP PARTITION (%d, %s)", f.Release, quoteString(f.File))); err != nil {
		return fmt.Errorf("rows of %s in release %d: %w", f.File, f.Release, clickhousedb.Classify(err))
	}
	return nil
}

// quoteString writes s as a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// WriteRows implements datasets.RowStore.
func (s *Store) WriteRows(ctx context.Context, f datasets.FileRef, rows iter.Seq2[[]string, error]) (int64, error) {
	if err := s.dropFile(ctx, f); err != nil {
		return 0, clickhousedb.Classify(err)
	}
	n, err := s.insert(ctx, f, rows)
	if err != nil {
		// Leave nothing of the file rather than part of it.
		if derr := s.dropFile(context.WithoutCancel(ctx), f); derr != nil {
			return 0, fmt.Errorf("%w (and removing what was written: %v)", err, derr)
		}
		return 0, clickhousedb.Classify(err)
	}
	return n, nil
}

func (s *Store) insert(ctx context.Context, f datasets.FileRef, rows iter.Seq2[[]string, error]) (int64, error) {
	var batch driver.Batch
	var n int64
	send := func() error {
		if batch == nil {
			return nil
		}
		err := batch.Send()
		batch = nil
		return clickhousedb.Classify(err)
	}
	for cells, err := range rows {
		if err != nil {
			if batch != nil {
				batch.Abort()
			}
			return 0, clickhousedb.Classify(err)
		}
		if batch == nil {
			if batch, err = s.db.ShardFor(f.Release).PrepareBatch(ctx, "INSERT INTO dataset_rows (release_id, file, number, cells)"); err != nil {
				return 0, clickhousedb.Classify(err)
			}
		}
		n++
		if err := batch.Append(uint64(f.Release), f.File, uint64(n), cells); err != nil {
			batch.Abort()
			return 0, fmt.Errorf("row %d: %w", n, err)
		}
		if n%insertBatch == 0 {
			if err := send(); err != nil {
				return 0, clickhousedb.Classify(err)
			}
		}
	}
	return n, clickhousedb.Classify(send())
}

// Rows implements datasets.RowStore.
func (s *Store) Rows(ctx context.Context, visible datasets.Visible, q datasets.RowQuery) iter.Seq2[datasets.StoredRow, error] {
	return func(yield func(datasets.StoredRow, error) bool) {
		if !visible.Contains(q.File.Release) {
			yield(datasets.StoredRow{}, datasets.ErrNotVisible)
			return
		}
		// A reader that stops early cancels the query rather than reading
		// the rest of the file.
		for row, err := range datasets.ReadAhead(ctx, readAhead, func(ctx context.Context, send func([]datasets.StoredRow) bool) error {
			return s.readRows(ctx, q, send)
		}) {
			if !yield(row, err) || err != nil {
				return
			}
		}
	}
}

// Rows are read from the server and decoded in a goroutine of their own,
// a batch at a time, while the caller writes the previous batches out:
// for an export, decoding and writing each take about half the time.
const (
	rowBatchSize = 256 // rows a batch
	readAhead    = 4   // batches decoded ahead of the caller
)

// readRows sends q's rows, a batch at a time, until the last (or q.Limit
// rows) or until send refuses; it returns the error that ended reading.
func (s *Store) readRows(ctx context.Context, q datasets.RowQuery, send func([]datasets.StoredRow) bool) error {
	query, args := rowsSQL(s.db.Table("dataset_rows"), q)
	rows, err := s.db.Query.Query(ctx, query, args...)
	if err != nil {
		return clickhousedb.Classify(err)
	}
	defer rows.Close()
	ranges := rangeList(q.Within)
	sent := 0
	// Scanned into once, not declared for each row, where the driver's
	// pointers to them took two allocations a row, and through one list
	// of them (a call's own list took another); a row's cells are cut
	// from a slab shared by many rows.
	var (
		number  uint64
		packed  string
		scratch []string
		slab    cellSlab
	)
	dest := []any{&number, &packed}
	batch := make([]datasets.StoredRow, 0, rowBatchSize)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return clickhousedb.Classify(err)
		}
		scratch, err = unpackCells(packed, scratch[:0])
		if err != nil {
			return fmt.Errorf("row %d of %s: %w", number, q.File.File, err)
		}
		if !within(scratch, ranges) {
			continue
		}
		batch = append(batch, datasets.StoredRow{Number: int64(number), Cells: slab.copyOf(scratch)})
		if sent++; q.Limit > 0 && sent == q.Limit {
			break
		}
		if len(batch) == rowBatchSize {
			if !send(batch) {
				return nil
			}
			batch = make([]datasets.StoredRow, 0, rowBatchSize)
		}
	}
	if err := rows.Err(); err != nil {
		return clickhousedb.Classify(err)
	}
	if len(batch) > 0 && !send(batch) {
		return nil
	}
	return ctx.Err()
}

// rowsSQL is the query for q: the file's rows after the cursor that pass
// its equality filters, in row-number order, limited when no range filter
// is left to apply here.
func rowsSQL(table string, q datasets.RowQuery) (string, []any) {
	where := []string{fmt.Sprintf("release_id = %d", q.File.Release), "file = ?", fmt.Sprintf("number > %d", max(q.After, 0))}
	args := []any{q.File.File}
	columns := make([]int, 0, len(q.Equal))
	for col := range q.Equal {
		columns = append(columns, col)
	}
	sort.Ints(columns)
	for _, col := range columns {
		values := q.Equal[col]
		if len(values) == 0 {
			where = append(where, "0")
			continue
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
		// Arrays count from 1, and a row too short to have the column has
		// no value there (ClickHouse would give "").
		where = append(where, fmt.Sprintf("length(cells) > %d AND cells[%d] IN (%s)", col, col+1, marks))
		for _, v := range values {
			args = append(args, v)
		}
	}
	query := "SELECT number, " + packedCells + " FROM " + table + " WHERE " + strings.Join(where, " AND ") + " ORDER BY number"
	if q.Limit > 0 && len(q.Within) == 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	return query, args
}

// packedCells is a row's cells as one string, each cell written as its
// length in bytes, a colon and its bytes ("2:RR3:abc"), which no cell's
// content can confuse. The driver scans an Array(String) by reflection,
// allocating every cell; one string a row, split here into substrings of
// it, reads a large export three times as fast.
const packedCells = "arrayStringConcat(arrayMap(x -> concat(toString(length(x)), ':', x), cells))"

// unpackCells appends to cells the cells of a row packed by packedCells,
// which share the packed string's bytes.
func unpackCells(packed string, cells []string) ([]string, error) {
	for rest := packed; rest != ""; {
		colon := strings.IndexByte(rest, ':')
		if colon < 0 {
			return nil, errors.New("a packed row ends without a cell length")
		}
		n, err := strconv.Atoi(rest[:colon])
		if err != nil || n < 0 || n > len(rest)-colon-1 {
			return nil, fmt.Errorf("a packed row has the cell length %q", rest[:colon])
		}
		cells = append(cells, rest[colon+1:colon+1+n])
		rest = rest[colon+1+n:]
	}
	return cells, nil
}

// cellSlab hands out rows' cells from shared blocks: one allocation for
// many rows rather than one a row. A row's cells are capped at their
// length, so a reader appending to them cannot reach the next row's.
type cellSlab []string

// cellSlabRows is how many rows' cells a block holds.
const cellSlabRows = 128

// copyOf returns a copy of cells from the slab.
func (s *cellSlab) copyOf(cells []string) []string {
	if len(*s)+len(cells) > cap(*s) {
		*s = make([]string, 0, cellSlabRows*max(1, len(cells)))
	}
	from := len(*s)
	*s = append(*s, cells...)
	return (*s)[from:len(*s):len(*s)]
}

// columnRange is a range filter on one column.
type columnRange struct {
	col int
	r   datasets.Range
}

// rangeList is a query's range filters as a list, read for every row.
func rangeList(ranges map[int]datasets.Range) []columnRange {
	out := make([]columnRange, 0, len(ranges))
	for col, r := range ranges {
		out = append(out, columnRange{col, r})
	}
	return out
}

// within reports whether cells pass every range filter.
func within(cells []string, ranges []columnRange) bool {
	for _, cr := range ranges {
		if cr.col >= len(cells) {
			return false
		}
		x, ok := datasets.ParseDecimal(cells[cr.col])
		if !ok || !cr.r.Contains(x) {
			return false
		}
	}
	return true
}

// DeleteRelease implements datasets.RowStore.
func (s *Store) DeleteRelease(ctx context.Context, release int64) error {
	rows, err := s.db.Query.Query(ctx, fmt.Sprintf("SELECT DISTINCT file FROM %s WHERE release_id = %d", s.db.Table("dataset_rows"), release))
	if err != nil {
		return clickhousedb.Classify(err)
	}
	var files []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return clickhousedb.Classify(err)
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return clickhousedb.Classify(err)
	}
	for _, f := range files {
		if err := s.dropFile(ctx, datasets.FileRef{Release: release, File: f}); err != nil {
			return clickhousedb.Classify(err)
		}
	}
	return nil
}
