// Package sqlitedb opens Candour's embedded SQLite database and applies the
// embedded migrations of each store that keeps tables in it.
//
// # Driver
//
// It uses github.com/mattn/go-sqlite3 (cgo) rather than the pure-Go
// modernc.org/sqlite. The figures in shared/reference/tech-notes.md for one
// million rows on this kind of machine: insert 3.5 s against 5.8 s, GROUP BY
// 1.1 s against 2.5–3.7 s, filtered count 67 ms against 223 ms. Measured here
// with Go's race detector on (how the tests run), inserting 60,000 rows in a
// transaction took 0.7 s against 4.7 s, because the race detector instruments
// modernc's translated C but not cgo's. The costs are accepted: cgo needs gcc
// (present on every machine of this kind) and a cold build takes about 30 s
// longer (74 s against 44 s measured here, once per machine, cached after).
//
// # Migrations
//
// Each store (catalogue, rows, …) owns its tables and ships its migrations as
// an fs.FS of files named NNNN_description.sql, applied in order of NNNN, each
// in its own transaction, and recorded in schema_migrations with the file's
// SHA-256 so an applied migration that was later edited is refused rather
// than silently diverging.
//
// # What it must not do
//
// It knows no domain types. Stores receive the *sql.DB it opens; only
// command wiring (cmd) and adapter tests import this package, and the public
// site never does.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/migrations"
)

// Open opens (creating if needed) the SQLite database at file with WAL
// journalling, foreign keys on, a busy timeout and immediate write
// transactions, so that concurrent writers wait instead of failing.
func Open(ctx context.Context, file string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL") // a committed publication survives a power cut
	q.Set("_txlock", "immediate")
	dsn := "file:" + file + "?" + q.Encode()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", file, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", file, err)
	}
	return db, nil
}

// Set is one store's migrations.
type Set = migrations.Set

// Embedded is the Set of a store whose migrations are embedded in fsys
// under the folder "migrations" (//go:embed migrations/*.sql).
func Embedded(component string, fsys fs.FS) Set { return migrations.Embedded(component, fsys) }

// Migrate applies every set's pending migrations in order and records them.
// It fails, changing nothing further, if a recorded migration's file has
// changed or disappeared.
func Migrate(ctx context.Context, db *sql.DB, sets ...Set) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL,
		version INTEGER NOT NULL,
		name TEXT NOT NULL,
		sha256 TEXT NOT NULL,
		applied_at TEXT NOT NULL,
		PRIMARY KEY (component, version)
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, set := range sets {
		if err := migrateSet(ctx, db, set); err != nil {
			return fmt.Errorf("migrate %s: %w", set.Component, err)
		}
	}
	return nil
}

func migrateSet(ctx context.Context, db *sql.DB, set Set) error {
	files, err := migrations.Read(set.Files)
	if err != nil {
		return err
	}
	applied := map[int]string{}
	rows, err := db.QueryContext(ctx, `SELECT version, sha256 FROM schema_migrations WHERE component = ?`, set.Component)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			rows.Close()
			return err
		}
		applied[v] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	pending, err := migrations.Pending(files, applied)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if err := apply(ctx, db, set.Component, m); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, component string, m migrations.File) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("apply %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (component, version, name, sha256, applied_at) VALUES (?, ?, ?, ?, ?)`,
		component, m.Version, m.Name, m.SHA256, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("record %s: %w", m.Name, err)
	}
	return tx.Commit()
}

// WithTx runs fn in a transaction on db, committing if it returns nil and
// rolling back otherwise. Transactions begin immediately (see Open), so
// writers queue rather than fail.
func WithTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// VisibleIn returns an SQL list, "(1,2,…)", for a visible-release set,
// for "release_id IN …"; an empty set gives "(NULL)", which matches
// nothing. The ids are written into the list as numbers rather than bound
// as parameters: SQLite allows at most 32,766 parameters a statement, and
// a portal publishes more releases than that. (They are integers the
// catalogue gave, so nothing in them can change the statement.) The
// second result, the list's arguments, is always empty; it is kept so
// that callers append theirs after it.
func VisibleIn(v datasets.Visible) (string, []any) {
	ids := v.IDs()
	if len(ids) == 0 {
		return "(NULL)", nil
	}
	list := make([]byte, 0, 8*len(ids)+2)
	list = append(list, '(')
	for i, id := range ids {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, id, 10)
	}
	return string(append(list, ')')), nil
}

// Querier runs queries: a *sql.DB or a *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// QueryIDs runs a query whose rows are one integer each (ids) and returns
// them in order.
func QueryIDs(ctx context.Context, q Querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
