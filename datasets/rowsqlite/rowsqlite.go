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
		rows, err := s.db.QueryContext(ctx,
			`SELECT row_number, cells FROM dataset_rows
			 WHERE release_id = ? AND file_name = ? AND row_number > ?
			 ORDER BY row_number LIMIT ?`,
			q.File.Release, q.File.File, q.After, limit)
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
			if err := json.Unmarshal([]byte(cells), &r.Cells); err != nil {
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
