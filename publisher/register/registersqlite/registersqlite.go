// Package registersqlite stores the data release register (package
// register) in SQLite, writing each entry's audit entry in the same
// transaction. It owns the register_entries table.
package registersqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/register"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "register"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() sqlitedb.Set { return sqlitedb.Embedded(Component, migrations) }

// Store implements register.Store.
type Store struct{ db *sql.DB }

var _ register.Store = (*Store)(nil)

// New returns the store over db (with the audit log's migrations applied).
func New(db *sql.DB) *Store { return &Store{db: db} }

// Add implements register.Store.
func (s *Store) Add(ctx context.Context, actor string, e register.Entry) (register.Entry, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return e, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `INSERT INTO register_entries
		(recipient, data, purpose, legal_basis, shared_on, classification, agreement, recorded_by, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Recipient, e.Data, e.Purpose, e.LegalBasis, e.SharedOn.String(), e.Classification, e.Agreement, e.RecordedBy,
		e.RecordedAt.UTC().Format(time.RFC3339Nano)).Scan(&e.ID); err != nil {
		return e, err
	}
	details, err := json.Marshal(map[string]any{"entry": e.ID, "recipient": e.Recipient, "data": e.Data, "purpose": e.Purpose,
		"legalBasis": e.LegalBasis, "sharedOn": e.SharedOn.String(), "classification": e.Classification, "agreement": e.Agreement})
	if err != nil {
		return e, err
	}
	if _, err := auditsqlite.Append(ctx, tx, auditlog.Entry{At: e.RecordedAt, Actor: actor, Action: "register.added", Details: details}); err != nil {
		return e, err
	}
	return e, tx.Commit()
}

// List implements register.Store.
func (s *Store) List(ctx context.Context) ([]register.Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, recipient, data, purpose, legal_basis, shared_on, classification, agreement,
		recorded_by, recorded_at FROM register_entries ORDER BY shared_on DESC, id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []register.Entry
	for rows.Next() {
		var e register.Entry
		var shared, recorded string
		if err := rows.Scan(&e.ID, &e.Recipient, &e.Data, &e.Purpose, &e.LegalBasis, &shared, &e.Classification, &e.Agreement,
			&e.RecordedBy, &recorded); err != nil {
			return nil, err
		}
		if e.SharedOn, err = catalogue.ParseDate(shared); err != nil {
			return nil, err
		}
		e.RecordedAt, _ = time.Parse(time.RFC3339Nano, recorded)
		out = append(out, e)
	}
	return out, rows.Err()
}
