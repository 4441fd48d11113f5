// Package auditsqlite stores the audit log (publisher/auditlog) in the
// embedded SQLite database, in the table audit_log.
//
// Entries are appended with [Append] inside the caller's transaction, so
// that a change (a workflow step, an account change, a register entry) and
// its audit entry commit together or not at all. Append reads the head and
// inserts the sealed entry in that transaction; because sqlitedb opens
// transactions with BEGIN IMMEDIATE, the write lock is held from the start
// and appends are serialised. (On a database opened otherwise, two racing
// appends fail on the sequence number's uniqueness rather than fork the
// chain.)
//
// # What it must not do
//
// It never updates or deletes a row: the migration adds triggers that
// refuse both. It decides nothing about what entries say, and the public
// site must not import it (cmd wires it in).
package auditsqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"time"

	"github.com/candour/candour/publisher/auditlog"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "audit"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	return sub
}

// instantLayout matches auditlog's encoding: fixed width, so text order is
// time order, and nanoseconds survive the round trip.
const instantLayout = "2006-01-02T15:04:05.000000000Z"

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func head(ctx context.Context, q querier) (auditlog.Head, error) {
	var h auditlog.Head
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return auditlog.EmptyHead, nil
	}
	if err != nil {
		return auditlog.Head{}, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}

// Append seals e after the current head and inserts it, inside tx. It
// returns the sealed entry. The entry is part of the caller's transaction:
// if tx is rolled back, so is the entry.
func Append(ctx context.Context, tx *sql.Tx, e auditlog.Entry) (auditlog.Entry, error) {
	if err := e.Validate(); err != nil {
		return auditlog.Entry{}, fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	h, err := head(ctx, tx)
	if err != nil {
		return auditlog.Entry{}, err
	}
	e = auditlog.Seal(h, e)
	files := e.Files
	if files == nil {
		files = []auditlog.FileHash{}
	}
	filesJSON, err := json.Marshal(files)
	if err != nil {
		return auditlog.Entry{}, fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	var details sql.NullString
	if len(e.Details) > 0 {
		details = sql.NullString{String: string(e.Details), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO audit_log (seq, at, actor, action, release_id, files, details, payload_hash, prev, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.Format(instantLayout), e.Actor, e.Action, e.Release, string(filesJSON), details,
		e.PayloadHash, e.Prev, e.Hash); err != nil {
		return auditlog.Entry{}, fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	return e, nil
}

// Log reads and appends to the audit log through its own transactions.
type Log struct {
	db  *sql.DB
	now func() time.Time
}

// New returns a Log over db, which must have had Migrations applied.
func New(db *sql.DB) *Log {
	return &Log{db: db, now: time.Now}
}

// Append appends e in a transaction of its own and returns it sealed. A
// zero At is set to the current time.
func (l *Log) Append(ctx context.Context, e auditlog.Entry) (auditlog.Entry, error) {
	if e.At.IsZero() {
		e.At = l.now()
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return auditlog.Entry{}, fmt.Errorf("append audit entry: %w", err)
	}
	defer tx.Rollback()
	e, err = Append(ctx, tx, e)
	if err != nil {
		return auditlog.Entry{}, err
	}
	if err := tx.Commit(); err != nil {
		return auditlog.Entry{}, fmt.Errorf("append audit entry: %w", err)
	}
	return e, nil
}

// Head returns the last entry's sequence number and hash, or
// auditlog.EmptyHead for an empty log.
func (l *Log) Head(ctx context.Context) (auditlog.Head, error) {
	return head(ctx, l.db)
}

const selectEntries = `SELECT seq, at, actor, action, release_id, files, details, payload_hash, prev, hash FROM audit_log`

// Entries streams the entries after afterSeq in ascending order. Stopping
// the iteration early releases the query.
func (l *Log) Entries(ctx context.Context, afterSeq int64) iter.Seq2[auditlog.Entry, error] {
	return func(yield func(auditlog.Entry, error) bool) {
		rows, err := l.db.QueryContext(ctx, selectEntries+` WHERE seq > ? ORDER BY seq`, afterSeq)
		if err != nil {
			yield(auditlog.Entry{}, fmt.Errorf("read audit log: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scan(rows)
			if err != nil {
				yield(auditlog.Entry{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(auditlog.Entry{}, fmt.Errorf("read audit log: %w", err))
		}
	}
}

// EntriesForRelease returns the entries about release id, in ascending
// order.
func (l *Log) EntriesForRelease(ctx context.Context, id int64) ([]auditlog.Entry, error) {
	rows, err := l.db.QueryContext(ctx, selectEntries+` WHERE release_id = ? AND release_id <> 0 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read audit entries for release %d: %w", id, err)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit entries for release %d: %w", id, err)
	}
	return out, nil
}

// Verify checks the whole stored chain and returns its head; see
// auditlog.Verify for the errors.
func (l *Log) Verify(ctx context.Context) (auditlog.Head, error) {
	return auditlog.Verify(l.Entries(ctx, 0))
}

func scan(rows *sql.Rows) (auditlog.Entry, error) {
	var (
		e       auditlog.Entry
		at      string
		files   string
		details sql.NullString
	)
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Release, &files, &details, &e.PayloadHash, &e.Prev, &e.Hash); err != nil {
		return auditlog.Entry{}, fmt.Errorf("read audit entry: %w", err)
	}
	t, err := time.Parse(instantLayout, at)
	if err != nil {
		return auditlog.Entry{}, fmt.Errorf("read audit entry %d: instant: %w", e.Seq, err)
	}
	e.At = t
	if err := json.Unmarshal([]byte(files), &e.Files); err != nil {
		return auditlog.Entry{}, fmt.Errorf("read audit entry %d: files: %w", e.Seq, err)
	}
	if len(e.Files) == 0 {
		e.Files = nil
	}
	if details.Valid {
		e.Details = json.RawMessage(details.String)
	}
	return e, nil
}
