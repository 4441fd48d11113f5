// Package workflowsqlite stores the publishing workflow's records in the
// SQLite database the catalogue uses, so that one workflow step — a
// release's change of state (through cataloguesqlite's transaction
// writer), the workflow's own records, and the step's audit entry (through
// auditsqlite) — commits in one transaction or not at all. A publication
// also records, in that same transaction, the chain head its audit entry
// makes in the release's catalogue record (package auditlog explains why);
// migration 0004 fills it in for releases published before that.
//
// It owns the tables of its migrations. It must not decide what is public
// (the catalogue's published view does) and it never serves anything.
package workflowsqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "workflow"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
// They reference the catalogue's tables, so apply them after the
// catalogue's.
func Migrations() sqlitedb.Set { return sqlitedb.Embedded(Component, migrations) }

// Store implements publisher.WorkflowStore.
type Store struct {
	db        *sql.DB
	catalogue *cataloguesqlite.Store
	log       *auditsqlite.Log
}

var _ publisher.WorkflowStore = (*Store)(nil)

// New returns the workflow store over db, which must hold the catalogue's,
// the audit log's and this store's migrations; cat is the catalogue store
// over the same db.
func New(db *sql.DB, cat *cataloguesqlite.Store) *Store {
	return &Store{db: db, catalogue: cat, log: auditsqlite.New(db)}
}

const instantLayout = time.RFC3339Nano

func formatInstant(t time.Time) string { return t.UTC().Format(instantLayout) }

func parseInstant(s string) (time.Time, error) { return time.Parse(instantLayout, s) }

func parseNull(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	return parseInstant(s.String)
}

// Apply implements publisher.WorkflowStore: one transaction.
func (s *Store) Apply(ctx context.Context, c publisher.Change) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cat := s.catalogue.InTx(tx)
	for _, t := range c.Transitions {
		if err := cat.TransitionRelease(ctx, t); err != nil {
			return err
		}
	}
	if f := c.Files; f != nil {
		if err := cat.ReplaceFiles(ctx, f.Release, f.Files, f.DisclosureSummary); err != nil {
			return err
		}
	}
	if cc := c.Calendar; cc != nil {
		if _, err := cat.PutCalendarEntry(ctx, cc.Entry, cc.Reason, cc.Actor); err != nil {
			return err
		}
	}
	if p := c.Publisher; p != nil {
		if err := cat.RenamePublisher(ctx, *p); err != nil {
			return err
		}
	}
	if r := c.Report; r != nil {
		var revision any
		if r.Revision != nil {
			raw, err := json.Marshal(r.Revision)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			revision = string(raw)
		}
		// An amendment's report keeps the revision the submission declared.
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_reports (release_id, report, revision) VALUES (?, ?, ?)
			ON CONFLICT (release_id) DO UPDATE SET report = excluded.report, revision = COALESCE(excluded.revision, workflow_reports.revision)`,
			r.Release, string(r.JSON), revision); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if p := c.Preview; p != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_previews (release_id, opened_at, until, opened_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (release_id) DO UPDATE SET opened_at = excluded.opened_at, until = excluded.until, opened_by = excluded.opened_by`,
			p.Release, formatInstant(p.OpenedAt), formatInstant(p.Until), p.OpenedBy); err != nil {
			return fmt.Errorf("preview: %w", err)
		}
	}
	if q := c.Query; q != nil {
		if err := putQuery(ctx, tx, q); err != nil {
			return err
		}
	}
	if o := c.OutlierResponse; o != nil {
		err := tx.QueryRowContext(ctx, `INSERT INTO workflow_outlier_responses
			(release_id, provider, measure, period, level, team, code, kind, text, by_user, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			o.Release, o.Provider, o.Measure, o.Period, string(o.Level), o.Team, o.Code, string(o.Kind), o.Text, o.By,
			formatInstant(o.At)).Scan(&o.ID)
		if err != nil {
			return fmt.Errorf("outlier response: %w", err)
		}
	}
	if v := c.Review; v != nil {
		answers, _ := json.Marshal(v.Answers)
		files, _ := json.Marshal(v.Files)
		accepted, _ := json.Marshal(append([]string{}, v.Accepted...))
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_reviews
			(release_id, reviewer, reviewer_name, answers, decision, change_asked, reasons, files, at, accepted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.Release, v.Reviewer, v.ReviewerName, string(answers), string(v.Decision), v.Change, v.Reasons, string(files),
			formatInstant(v.At), string(accepted)); err != nil {
			return fmt.Errorf("review: %w", err)
		}
	}
	if u := c.Unfinished; u != nil {
		q := `INSERT INTO workflow_unfinished (release_id, since) VALUES (?, ?) ON CONFLICT (release_id) DO NOTHING`
		args := []any{u.Release, formatInstant(u.At)}
		if u.Done {
			q, args = `DELETE FROM workflow_unfinished WHERE release_id = ?`, args[:1]
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("unfinished mark of release %d: %w", u.Release, err)
		}
	}
	if d := c.RemoveDraft; d != nil {
		// A draft has no workflow records but, perhaps, a publisher's look
		// at it in the workspace (the access list).
		for _, table := range []string{"workflow_unfinished", "workflow_access", "workflow_reports", "workflow_previews",
			"workflow_queries", "workflow_reviews", "workflow_outlier_responses"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE release_id = ?`, d.Release); err != nil {
				return fmt.Errorf("remove draft release %d: %s: %w", d.Release, table, err)
			}
		}
		removed, err := cat.RemoveDraft(ctx, d.Release)
		if err != nil {
			return err
		}
		d.DatasetRemoved = removed
	}
	if c.Audit.Action != "" {
		e, err := auditsqlite.Append(ctx, tx, c.Audit)
		if err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		if c.RecordHeadFor != 0 {
			if err := cat.RecordAuditHead(ctx, c.RecordHeadFor, catalogue.ChainHead{Seq: e.Seq, Hash: e.Hash}); err != nil {
				return err
			}
		}
	} else if c.RecordHeadFor != 0 {
		return fmt.Errorf("release %d: a chain head to record needs an audit entry", c.RecordHeadFor)
	}
	return tx.Commit()
}

func putQuery(ctx context.Context, tx *sql.Tx, q *publisher.Query) error {
	if q.ID == 0 {
		err := tx.QueryRowContext(ctx, `INSERT INTO workflow_queries (release_id, organisation, raised_by, text, raised_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, q.Release, q.Organisation, q.RaisedBy, q.Text, formatInstant(q.RaisedAt)).Scan(&q.ID)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE workflow_queries SET resolution = ?, resolved_by = ?, resolved_at = ?
		WHERE id = ? AND release_id = ? AND resolved_at IS NULL`,
		q.Resolution, q.ResolvedBy, formatInstant(q.ResolvedAt), q.ID, q.Release)
	if err != nil {
		return fmt.Errorf("query %d: %w", q.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("query %d of release %d: %w", q.ID, q.Release, errAlreadyResolved)
	}
	return nil
}

var errAlreadyResolved = errors.New("no open query with that id")

// Reviews implements publisher.WorkflowStore.
func (s *Store) Reviews(ctx context.Context, release int64) ([]publisher.Review, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, release_id, reviewer, reviewer_name, answers, decision, change_asked,
		reasons, files, at, accepted FROM workflow_reviews WHERE release_id = ? ORDER BY id`, release)
	if err != nil {
		return nil, fmt.Errorf("reviews of release %d: %w", release, err)
	}
	defer rows.Close()
	var out []publisher.Review
	for rows.Next() {
		var v publisher.Review
		var answers, decision, files, at, accepted string
		if err := rows.Scan(&v.ID, &v.Release, &v.Reviewer, &v.ReviewerName, &answers, &decision, &v.Change, &v.Reasons, &files, &at, &accepted); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(accepted), &v.Accepted); err != nil {
			return nil, fmt.Errorf("review %d accepted findings: %w", v.ID, err)
		}
		v.Decision = publisher.Decision(decision)
		if err := json.Unmarshal([]byte(answers), &v.Answers); err != nil {
			return nil, fmt.Errorf("review %d answers: %w", v.ID, err)
		}
		if err := json.Unmarshal([]byte(files), &v.Files); err != nil {
			return nil, fmt.Errorf("review %d files: %w", v.ID, err)
		}
		if v.At, err = parseInstant(at); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Queries implements publisher.WorkflowStore.
func (s *Store) Queries(ctx context.Context, release int64) ([]publisher.Query, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, release_id, organisation, raised_by, text, raised_at, resolution,
		resolved_by, resolved_at FROM workflow_queries WHERE release_id = ? ORDER BY id`, release)
	if err != nil {
		return nil, fmt.Errorf("queries of release %d: %w", release, err)
	}
	defer rows.Close()
	var out []publisher.Query
	for rows.Next() {
		var q publisher.Query
		var raised string
		var resolved sql.NullString
		if err := rows.Scan(&q.ID, &q.Release, &q.Organisation, &q.RaisedBy, &q.Text, &raised, &q.Resolution, &q.ResolvedBy, &resolved); err != nil {
			return nil, err
		}
		if q.RaisedAt, err = parseInstant(raised); err != nil {
			return nil, err
		}
		if q.ResolvedAt, err = parseNull(resolved); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// OutlierResponses implements publisher.WorkflowStore.
func (s *Store) OutlierResponses(ctx context.Context, release int64) ([]publisher.OutlierResponse, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, release_id, provider, measure, period, level, team, code, kind, text, by_user, at
		FROM workflow_outlier_responses WHERE release_id = ? ORDER BY id`, release)
	if err != nil {
		return nil, fmt.Errorf("outlier responses of release %d: %w", release, err)
	}
	defer rows.Close()
	var out []publisher.OutlierResponse
	for rows.Next() {
		var r publisher.OutlierResponse
		var level, kind, at string
		if err := rows.Scan(&r.ID, &r.Release, &r.Provider, &r.Measure, &r.Period, &level, &r.Team, &r.Code, &kind, &r.Text, &r.By, &at); err != nil {
			return nil, err
		}
		r.Level, r.Kind = audit.Level(level), publisher.ResponseKind(kind)
		if r.At, err = parseInstant(at); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Preview implements publisher.WorkflowStore.
func (s *Store) Preview(ctx context.Context, release int64) (publisher.Preview, bool, error) {
	p := publisher.Preview{Release: release}
	var opened, until string
	err := s.db.QueryRowContext(ctx, `SELECT opened_at, until, opened_by FROM workflow_previews WHERE release_id = ?`, release).
		Scan(&opened, &until, &p.OpenedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if p.OpenedAt, err = parseInstant(opened); err != nil {
		return p, false, err
	}
	if p.Until, err = parseInstant(until); err != nil {
		return p, false, err
	}
	return p, true, nil
}

// Revision implements publisher.WorkflowStore.
func (s *Store) Revision(ctx context.Context, release int64) (*publisher.RevisionSpec, error) {
	var raw sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT revision FROM workflow_reports WHERE release_id = ?`, release).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !raw.Valid {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("revision of release %d: %w", release, err)
	}
	var spec publisher.RevisionSpec
	if err := json.Unmarshal([]byte(raw.String), &spec); err != nil {
		return nil, fmt.Errorf("revision of release %d: %w", release, err)
	}
	return &spec, nil
}

// Report implements publisher.WorkflowStore.
func (s *Store) Report(ctx context.Context, release int64) (json.RawMessage, error) {
	var report string
	err := s.db.QueryRowContext(ctx, `SELECT report FROM workflow_reports WHERE release_id = ?`, release).Scan(&report)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return json.RawMessage(report), nil
}

// RecordAccess implements publisher.WorkflowStore.
func (s *Store) RecordAccess(ctx context.Context, a publisher.Access) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO workflow_access (release_id, username, name, role, first_at, last_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (release_id, username, role) DO UPDATE SET last_at = excluded.last_at`,
		a.Release, a.Username, a.Name, string(a.Role), formatInstant(a.First), formatInstant(a.Last))
	return err
}

// AccessList implements publisher.WorkflowStore.
func (s *Store) AccessList(ctx context.Context, release int64) ([]publisher.Access, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT release_id, username, name, role, first_at, last_at FROM workflow_access
		WHERE release_id = ? ORDER BY first_at, username`, release)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []publisher.Access
	for rows.Next() {
		var a publisher.Access
		var role, first, last string
		if err := rows.Scan(&a.Release, &a.Username, &a.Name, &role, &first, &last); err != nil {
			return nil, err
		}
		a.Role = publisher.Role(role)
		if a.First, err = parseInstant(first); err != nil {
			return nil, err
		}
		if a.Last, err = parseInstant(last); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AuditLog implements publisher.WorkflowStore.
func (s *Store) AuditLog() publisher.AuditLog { return s.log }

// UnfinishedReleases implements publisher.WorkflowStore.
func (s *Store) UnfinishedReleases(ctx context.Context) ([]int64, error) {
	ids, err := sqlitedb.QueryIDs(ctx, s.db, `SELECT release_id FROM workflow_unfinished ORDER BY since, release_id`)
	if err != nil {
		return nil, fmt.Errorf("unfinished releases: %w", err)
	}
	return ids, nil
}
