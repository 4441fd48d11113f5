// Package rowsqlite implements datasets.RowStore in the embedded SQLite
// database: one table of rows keyed by release, file and row number, each
// row's cells kept as a JSON array of text exactly as published.
//
// It must not decide visibility (reads take the caller's datasets.Visible)
// and must not be imported by the public site; cmd wires it in.
package rowsqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"

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
	if _, err := tx.ExecContext(ctx, `DELETE FROM dataset_rows WHERE release_id = ? AND file_name = ?`, f.Release, f.File); err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO dataset_rows (release_id, file_name, row_number, cells) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	defer stmt.Close()
	var n int64
	for cells, err := range rows {
		if err != nil {
			return 0, fmt.Errorf("write rows of %s: row %d: %w", f.File, n+1, err)
		}
		b, err := json.Marshal(cells)
		if err != nil {
			return 0, err
		}
		n++
		if _, err := stmt.ExecContext(ctx, f.Release, f.File, n, string(b)); err != nil {
			return 0, fmt.Errorf("write rows of %s: row %d: %w", f.File, n, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("write rows of %s: %w", f.File, err)
	}
	return n, nil
}

// Rows implements datasets.RowStore.
func (s *Store) Rows(ctx context.Context, visible datasets.Visible, q datasets.RowQuery) iter.Seq2[datasets.StoredRow, error] {
	return func(yield func(datasets.StoredRow, error) bool) {
		if !visible.Contains(q.File.Release) {
			yield(datasets.StoredRow{}, datasets.ErrNotVisible)
			return
		}
		limit := int64(q.Limit)
		if limit <= 0 {
			limit = -1 // SQLite: no limit
		}
		// Equality filters run inside SQLite (json_extract), so rows that
		// do not match are never decoded here.
		where := `release_id = ? AND file_name = ? AND row_number > ?`
		args := []any{q.File.Release, q.File.File, q.After}
		cols := make([]int, 0, len(q.Equal))
		for col := range q.Equal {
			cols = append(cols, col)
		}
		slices.Sort(cols)
		for _, col := range cols {
			vals := q.Equal[col]
			if col < 0 || len(vals) == 0 {
				continue
			}
			where += fmt.Sprintf(` AND json_extract(cells, '$[%d]') IN (%s)`, col, strings.TrimSuffix(strings.Repeat("?,", len(vals)), ","))
			for _, v := range vals {
				args = append(args, v)
			}
		}
		rows, err := s.db.QueryContext(ctx,
			`SELECT row_number, cells FROM dataset_rows WHERE `+where+` ORDER BY row_number LIMIT ?`, append(args, limit)...)
		if err != nil {
			yield(datasets.StoredRow{}, fmt.Errorf("read rows of %s: %w", q.File.File, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r datasets.StoredRow
			var cells string
			if err := rows.Scan(&r.Number, &cells); err != nil {
				yield(datasets.StoredRow{}, err)
				return
			}
			if r.Cells, err = decodeCells(cells); err != nil {
				yield(datasets.StoredRow{}, fmt.Errorf("read rows of %s: row %d: %w", q.File.File, r.Number, err))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(datasets.StoredRow{}, err)
		}
	}
}

// DeleteRelease implements datasets.RowStore.
func (s *Store) DeleteRelease(ctx context.Context, release int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM dataset_rows WHERE release_id = ?`, release); err != nil {
		return fmt.Errorf("delete rows of release %d: %w", release, err)
	}
	return nil
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
