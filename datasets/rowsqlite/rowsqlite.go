// Package rowsqlite implements datasets.RowStore in the embedded SQLite
// database: the rows of each release file in blocks of up to 2,048
// consecutive rows (block.go), each row's cells kept as text exactly as
// published, each block with a summary of the values in its columns.
//
// Why blocks: a filtered export of millions of rows is bounded by the cost
// per row of reading it out of SQLite through database/sql (a row each
// was 0.3× PostgreSQL's COPY); a block costs that once per two thousand
// rows and decodes with no allocation per cell. Equality filters are
// checked in Go, and the summary skips blocks that cannot match.
//
// It must not decide visibility (reads take the caller's datasets.Visible)
// and must not be imported by the public site; cmd wires it in.
package rowsqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"unsafe"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "rows"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() sqlitedb.Set { return sqlitedb.Embedded(Component, migrations) }

// Store is the SQLite row store. The database must have had Migrations
// applied.
type Store struct {
	db *sql.DB
}

// New returns a row store over db.
func New(db *sql.DB) *Store { return &Store{db: db} }

var _ datasets.RowStore = (*Store)(nil)

// WriteRows implements datasets.RowStore in one transaction.
func (s *Store) WriteRows(ctx context.Context, f datasets.FileRef, rows iter.Seq2[[]string, error]) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	defer tx.Rollback()
	// Rows of the file from before blocks came go too.
	if _, err := tx.ExecContext(ctx, `DELETE FROM dataset_rows WHERE release_id = ? AND file_name = ?`, f.Release, f.File); err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	n, err := writeBlocks(ctx, tx, f, rows)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	return n, nil
}

// writeBlocks replaces the blocks of a file inside tx.
func writeBlocks(ctx context.Context, tx *sql.Tx, f datasets.FileRef, rows iter.Seq2[[]string, error]) (int64, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM row_blocks WHERE release_id = ? AND file_name = ?`, f.Release, f.File); err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO row_blocks (release_id, file_name, first_row, row_count, data) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	defer stmt.Close()
	var b blockWriter
	var n, first int64 = 0, 1
	flush := func() error {
		count := len(b.rows)
		if count == 0 {
			return nil
		}
		if _, err := stmt.ExecContext(ctx, f.Release, f.File, first, count, b.encode()); err != nil {
			return fmt.Errorf("write rows of %s: rows %d to %d: %w", f.File, first, first+int64(count)-1, err)
		}
		first += int64(count)
		return nil
	}
	for cells, err := range rows {
		if err != nil {
			return 0, fmt.Errorf("write rows of %s: row %d: %w", f.File, n+1, err)
		}
		n++
		b.add(cells)
		if b.full() {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return n, nil
}

// Rows implements datasets.RowStore. Filters are applied here, block by
// block and column by column: a block whose dictionary or numeric zone
// rules a filter out is not decoded further, and only matching rows are
// built. A goroutine reads and decodes the blocks a couple ahead of the
// caller, so that SQLite and decoding overlap with whatever the caller
// does with the rows (an export writes CSV); it stops, and is waited for,
// when the caller stops early.
func (s *Store) Rows(ctx context.Context, visible datasets.Visible, q datasets.RowQuery) iter.Seq2[datasets.StoredRow, error] {
	return func(yield func(datasets.StoredRow, error) bool) {
		if !visible.Contains(q.File.Release) {
			yield(datasets.StoredRow{}, datasets.ErrNotVisible)
			return
		}
		for row, err := range datasets.ReadAhead(ctx, 2, func(ctx context.Context, send func([]datasets.StoredRow) bool) error {
			return s.readBlocks(ctx, q, send)
		}) {
			if !yield(row, err) || err != nil {
				return
			}
		}
	}
}

// readBlocks sends the rows q selects, a block at a time, until send
// refuses; it returns the error that ended reading.
func (s *Store) readBlocks(ctx context.Context, q datasets.RowQuery, send func([]datasets.StoredRow) bool) error {
	// Start at the block holding row After+1.
	rows, err := s.db.QueryContext(ctx, `SELECT first_row, row_count, data FROM row_blocks
		WHERE release_id = ? AND file_name = ? AND first_row >= IFNULL((SELECT MAX(first_row) FROM row_blocks
			WHERE release_id = ? AND file_name = ? AND first_row <= ?), 0)
		ORDER BY first_row`, q.File.Release, q.File.File, q.File.Release, q.File.File, q.After+1)
	if err != nil {
		return fmt.Errorf("read rows of %s: %w", q.File.File, err)
	}
	defer rows.Close()
	emitted := 0
	var sel []int32
	for rows.Next() {
		var first int64
		var count int
		var data []byte
		if err := rows.Scan(&first, &count, &data); err != nil {
			return fmt.Errorf("read rows of %s: %w", q.File.File, err)
		}
		if first+int64(count)-1 <= q.After {
			continue
		}
		fail := func(err error) error {
			return fmt.Errorf("read rows of %s: rows from %d: %w", q.File.File, first, err)
		}
		b, err := decodeBlock(data)
		if err == nil && b.rows != count {
			err = fmt.Errorf("%w: %d rows, the index says %d", errBlock, b.rows, count)
		}
		if err != nil {
			return fail(err)
		}
		from := max(0, int(q.After-first+1))
		sel = sel[:0]
		for i := from; i < b.rows; i++ {
			sel = append(sel, int32(i))
		}
		if sel, err = b.filter(sel, q); err != nil {
			return fail(err)
		}
		if len(sel) == 0 {
			continue
		}
		if q.Limit > 0 && len(sel) > q.Limit-emitted {
			sel = sel[:q.Limit-emitted]
		}
		built, err := b.build(sel)
		if err != nil {
			return fail(err)
		}
		batch := make([]datasets.StoredRow, len(built))
		for k, cells := range built {
			batch[k] = datasets.StoredRow{Number: first + int64(sel[k]), Cells: cells}
		}
		if !send(batch) {
			return nil
		}
		if emitted += len(sel); q.Limit > 0 && emitted >= q.Limit {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read rows of %s: %w", q.File.File, err)
	}
	return ctx.Err() // rows stop early, with no error, when ctx ends
}

// filter narrows sel (row indices, ascending) to the rows q's filters
// keep.
func (b *block) filter(sel []int32, q datasets.RowQuery) ([]int32, error) {
	for c, vals := range q.Equal {
		if len(sel) == 0 {
			return sel, nil
		}
		if c < 0 {
			continue
		}
		if c >= len(b.columns) {
			return sel[:0], nil
		}
		col := &b.columns[c]
		if col.dict {
			var want [256]bool
			any := false
			for i, v := range col.values {
				if slices.Contains(vals, v) {
					want[i], any = true, true
				}
			}
			if !any {
				return sel[:0], nil
			}
			sel = slices.DeleteFunc(sel, func(i int32) bool { return !want[col.idx[i]] })
			continue
		}
		if err := b.plain(col); err != nil {
			return nil, err
		}
		sel = slices.DeleteFunc(sel, func(i int32) bool {
			v, ok := b.cell(col, int(i))
			return !ok || !slices.Contains(vals, v)
		})
	}
	for c, r := range q.Within {
		if len(sel) == 0 {
			return sel, nil
		}
		if c < 0 {
			continue
		}
		if c >= len(b.columns) {
			return sel[:0], nil
		}
		col := &b.columns[c]
		if col.zone && (col.hi < r.Min || col.lo > r.Max) {
			return sel[:0], nil
		}
		every := col.zone && r.Min <= col.lo && col.hi <= r.Max // every number in the block is inside
		if err := b.plain(col); err != nil {
			return nil, err
		}
		sel = slices.DeleteFunc(sel, func(i int32) bool {
			v, ok := b.cell(col, int(i))
			if !ok {
				return true
			}
			if every {
				return false
			}
			x, ok := datasets.ParseDecimal(v)
			return !ok || !r.Contains(x)
		})
	}
	return sel, nil
}

// build returns the cells of the selected rows (ascending), over one
// backing array. A plain column not already decoded for a filter is read
// once, and only the selected rows' cells become strings.
func (b *block) build(sel []int32) ([][]string, error) {
	ncol := len(b.columns)
	all := make([]string, len(sel)*ncol)
	for c := range b.columns {
		col := &b.columns[c]
		switch {
		case col.dict:
			for k, i := range sel {
				if x := col.idx[i]; x != noCell {
					all[k*ncol+c] = col.values[x]
				}
			}
		case col.cells != nil:
			for k, i := range sel {
				all[k*ncol+c] = col.cells[i]
			}
		default:
			// Walk the lengths to each selected row, stopping after the
			// last; only selected cells become strings.
			lens, raw := col.lens, col.raw
			pos, off, k := 0, 0, 0
			for i := 0; i < b.rows && k < len(sel); i++ {
				if b.short != nil && c >= b.cellsIn(i) {
					continue
				}
				var n int
				if pos < len(lens) && lens[pos] < 0x80 {
					n = int(lens[pos])
					pos++
				} else {
					v, w := binary.Uvarint(lens[min(pos, len(lens)):])
					if w <= 0 {
						return nil, errBlock
					}
					n, pos = int(v), pos+w
				}
				if n > len(raw)-off {
					return nil, errBlock
				}
				if int32(i) == sel[k] {
					if n > 0 {
						all[k*ncol+c] = unsafe.String(&raw[off], n)
					}
					k++
				}
				off += n
			}
		}
	}
	out := make([][]string, len(sel))
	for k, i := range sel {
		n := ncol
		if b.short != nil {
			n = min(ncol, b.cellsIn(int(i)))
		}
		out[k] = all[k*ncol : k*ncol+n : k*ncol+n]
	}
	return out, nil
}

// DeleteRelease implements datasets.RowStore.
func (s *Store) DeleteRelease(ctx context.Context, release int64) error {
	for _, table := range []string{"row_blocks", "dataset_rows"} {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE release_id = ?`, release); err != nil {
			return fmt.Errorf("delete rows of release %d: %w", release, err)
		}
	}
	return nil
}

// Upgrade moves rows stored one to a table row (before migration 0002)
// into blocks, a file per transaction, and returns how many files it
// moved. Run it after migrating and before serving; it is idempotent.
func (s *Store) Upgrade(ctx context.Context) (int, error) {
	var files []datasets.FileRef
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT release_id, file_name FROM dataset_rows`)
	if err != nil {
		return 0, fmt.Errorf("upgrade the row store: %w", err)
	}
	for rows.Next() {
		var f datasets.FileRef
		if err := rows.Scan(&f.Release, &f.File); err != nil {
			rows.Close()
			return 0, err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for i, f := range files {
		if err := s.upgradeFile(ctx, f); err != nil {
			return i, fmt.Errorf("upgrade the row store: %w", err)
		}
	}
	return len(files), nil
}

// upgradeFile moves one file's legacy rows, reading them a block's worth
// at a time so that a file of any size moves in bounded memory.
func (s *Store) upgradeFile(ctx context.Context, f datasets.FileRef) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	page := func(after int64) ([][]string, error) {
		rows, err := tx.QueryContext(ctx, `SELECT row_number, cells FROM dataset_rows
			WHERE release_id = ? AND file_name = ? AND row_number > ? ORDER BY row_number LIMIT ?`, f.Release, f.File, after, blockRows)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			var number int64
			var text string
			if err := rows.Scan(&number, &text); err != nil {
				return nil, err
			}
			if number != after+int64(len(out))+1 {
				return nil, fmt.Errorf("%s of release %d: row %d follows row %d", f.File, f.Release, number, after+int64(len(out)))
			}
			cells, err := decodeCells(text)
			if err != nil {
				return nil, fmt.Errorf("%s of release %d: row %d: %w", f.File, f.Release, number, err)
			}
			out = append(out, cells)
		}
		return out, rows.Err()
	}
	legacy := func(yield func([]string, error) bool) {
		var after int64
		for {
			rows, err := page(after)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(rows) == 0 {
				return
			}
			for _, r := range rows {
				if !yield(r, nil) {
					return
				}
			}
			after += int64(len(rows))
		}
	}
	if _, err := writeBlocks(ctx, tx, f, legacy); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM dataset_rows WHERE release_id = ? AND file_name = ?`, f.Release, f.File); err != nil {
		return err
	}
	return tx.Commit()
}

// decodeCells reads a stored row, a JSON array of strings. Cells without
// escapes (nearly all) are sliced out directly; a row with any backslash
// goes through encoding/json. Exports read millions of rows, and this is
// most of their cost.
func decodeCells(s string) ([]string, error) {
	if strings.IndexByte(s, '\\') >= 0 || len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		var out []string
		err := json.Unmarshal([]byte(s), &out)
		return out, err
	}
	out := make([]string, 0, 8)
	i := 1
	for i < len(s)-1 {
		if s[i] != '"' {
			return nil, fmt.Errorf("stored row %.40q: want a string at byte %d", s, i)
		}
		end := strings.IndexByte(s[i+1:], '"')
		if end < 0 {
			return nil, fmt.Errorf("stored row %.40q: unterminated string", s)
		}
		out = append(out, s[i+1:i+1+end])
		i += end + 2
		if i < len(s)-1 {
			if s[i] != ',' {
				return nil, fmt.Errorf("stored row %.40q: want a comma at byte %d", s, i)
			}
			i++
		}
	}
	return out, nil
}
