// Package auditsqlite stores the audit log (package auditlog) in SQLite.
// Other stores append inside their own transactions with [Append], so a
// change and its audit entry commit together; transactions begin
// immediately (sqlitedb opens with _txlock=immediate), so appends are
// serialised and the chain never forks.
//
// It owns the audit_log table, which is append-only (SQL triggers refuse
// updates and deletes). It never decides what is public: the publisher
// redacts entries for public export.
package auditsqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/auditlog"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "audit"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() sqlitedb.Set { return sqlitedb.Embedded(Component, migrations) }

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func head(ctx context.Context, q querier) (auditlog.Head, error) {
	var h auditlog.Head
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return auditlog.Head{}, nil
	}
	return h, err
}

// Append seals e after the log's current head and inserts it, inside tx.
func Append(ctx context.Context, tx *sql.Tx, e auditlog.Entry) (auditlog.Entry, error) {
	h, err := head(ctx, tx)
	if err != nil {
		return e, fmt.Errorf("audit log head: %w", err)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e = auditlog.Seal(h, e)
	files, err := json.Marshal(e.Files)
	if err != nil {
		return e, err
	}
	if e.Files == nil {
		files = []byte("[]")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, release_id, files, details, payload_hash, prev, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, auditlog.FormatInstant(e.At), e.Actor, e.Action, e.Release, string(files), string(e.Details),
		e.PayloadHash, e.Prev, e.Hash); err != nil {
		return e, fmt.Errorf("append to the audit log: %w", err)
	}
	return e, nil
}

// Log reads and appends to the audit log.
type Log struct{ db *sql.DB }

// New returns the log over db, which must have had Migrations applied.
func New(db *sql.DB) *Log { return &Log{db: db} }

// Append appends an entry in its own transaction.
func (l *Log) Append(ctx context.Context, e auditlog.Entry) (auditlog.Entry, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return e, err
	}
	defer tx.Rollback()
	if e, err = Append(ctx, tx, e); err != nil {
		return e, err
	}
	return e, tx.Commit()
}

// Head returns the last entry's position and hash.
func (l *Log) Head(ctx context.Context) (auditlog.Head, error) { return head(ctx, l.db) }

const columns = `seq, at, actor, action, release_id, files, details, payload_hash, prev, hash`

func scan(rows *sql.Rows) (auditlog.Entry, error) {
	var e auditlog.Entry
	var at, files, details string
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Release, &files, &details, &e.PayloadHash, &e.Prev, &e.Hash); err != nil {
		return e, err
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return e, fmt.Errorf("audit log entry %d: time %q: %w", e.Seq, at, err)
	}
	e.At = t
	if err := json.Unmarshal([]byte(files), &e.Files); err != nil {
		// A damaged files column is kept as no files; Verify then reports
		// the entry's payload as changed.
		e.Files = []auditlog.FileHash{{Name: "unreadable", SHA256: files}}
	}
	if len(e.Files) == 0 {
		e.Files = nil
	}
	if details != "" {
		e.Details = json.RawMessage(details)
	}
	return e, nil
}

// Entries streams the entries after afterSeq, oldest first.
func (l *Log) Entries(ctx context.Context, afterSeq int64) iter.Seq2[auditlog.Entry, error] {
	return func(yield func(auditlog.Entry, error) bool) {
		rows, err := l.db.QueryContext(ctx, `SELECT `+columns+` FROM audit_log WHERE seq > ? ORDER BY seq`, afterSeq)
		if err != nil {
			yield(auditlog.Entry{}, err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scan(rows)
			if !yield(e, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(auditlog.Entry{}, err)
		}
	}
}

// EntriesForRelease returns the entries about one release, oldest first.
func (l *Log) EntriesForRelease(ctx context.Context, release int64) ([]auditlog.Entry, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+columns+` FROM audit_log WHERE release_id = ? ORDER BY seq`, release)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auditlog.Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Verify recomputes the whole chain.
func (l *Log) Verify(ctx context.Context) (auditlog.Head, error) {
	return auditlog.Verify(l.Entries(ctx, 0))
}
