// Package outcomesqlite stores clinical audit definitions, funnels and
// unit outcomes (package audit) in SQLite, tagged with their release. It
// never decides visibility: every read filters by the visible-release set
// its caller passes.
package outcomesqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators/audit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "audit-outcomes"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() sqlitedb.Set { return sqlitedb.Embedded(Component, migrations) }

// Store implements audit.Store.
type Store struct{ db *sql.DB }

var _ audit.Store = (*Store)(nil)

// New returns the store over db.
func New(db *sql.DB) *Store { return &Store{db: db} }

// WriteAudit implements audit.Store.
func (s *Store) WriteAudit(ctx context.Context, a audit.Released, outcomes []audit.Outcome) error {
	def, err := json.Marshal(a.Definition)
	if err != nil {
		return err
	}
	funnels, err := json.Marshal(a.Funnels)
	if err != nil {
		return err
	}
	return sqlitedb.WithTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := deleteRelease(ctx, tx, a.Release); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_releases (release_id, audit, dataset, version, definition, funnels)
			VALUES (?, ?, ?, ?, ?, ?)`, a.Release, a.Definition.ID, a.Dataset, a.Version, string(def), string(funnels)); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_outcomes (release_id, audit, measure, period, level, provider, team, code, status, outcome)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, o := range outcomes {
			o.Release, o.Audit = a.Release, a.Definition.ID
			raw, err := json.Marshal(o)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, a.Release, o.Audit, o.Measure, o.Period, string(o.Level), o.Provider, o.Team, o.Code,
				string(o.Status), string(raw)); err != nil {
				return fmt.Errorf("outcome %s %s %s: %w", o.Measure, o.Level, o.Code, err)
			}
		}
		return nil
	})
}

func deleteRelease(ctx context.Context, tx *sql.Tx, release int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_outcomes WHERE release_id = ?`, release); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM audit_releases WHERE release_id = ?`, release)
	return err
}

// DeleteRelease implements audit.Store.
func (s *Store) DeleteRelease(ctx context.Context, release int64) error {
	return sqlitedb.WithTx(ctx, s.db, func(tx *sql.Tx) error { return deleteRelease(ctx, tx, release) })
}

// Audits implements audit.Store.
func (s *Store) Audits(ctx context.Context, visible datasets.Visible) ([]audit.Released, error) {
	in, args := sqlitedb.VisibleIn(visible)
	rows, err := s.db.QueryContext(ctx, `SELECT release_id, dataset, version, definition, funnels FROM audit_releases
		WHERE release_id IN `+in+` ORDER BY release_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Released
	for rows.Next() {
		var a audit.Released
		var def, funnels string
		if err := rows.Scan(&a.Release, &a.Dataset, &a.Version, &def, &funnels); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(def), &a.Definition); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(funnels), &a.Funnels); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Outcomes implements audit.Store.
func (s *Store) Outcomes(ctx context.Context, q audit.Query) ([]audit.Outcome, error) {
	in, args := sqlitedb.VisibleIn(q.Visible)
	where := []string{"release_id IN " + in}
	for _, c := range []struct {
		column, value string
	}{{"audit", q.Audit}, {"measure", q.Measure}, {"period", q.Period}, {"level", string(q.Level)}, {"code", q.Code}, {"provider", q.Provider}} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if q.Release != 0 {
		where = append(where, "release_id = ?")
		args = append(args, q.Release)
	}
	if q.Flagged {
		where = append(where, "status IN ('alert', 'alarm')")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT outcome FROM audit_outcomes WHERE `+strings.Join(where, " AND ")+`
		ORDER BY measure, period, CASE level WHEN 'hospital' THEN 0 WHEN 'team' THEN 1 ELSE 2 END, provider, team, code, release_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Outcome
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var o audit.Outcome
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
