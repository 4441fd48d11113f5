// Package outcomeclickhouse stores clinical audit definitions, funnels and
// unit outcomes (package audit) on a ClickHouse server (see
// datasets/clickhousedb), tagged with their release: the audit.Store for a
// deployment whose outcomes outgrow the embedded database. It passes the
// same contract suite (outcomestest) as outcomesqlite.
//
// Each table is partitioned by release; writing a release's audit drops
// its partitions and inserts the new rows in batches. ClickHouse has no
// transactions, so a write cut off part-way leaves the release with some
// of its rows until it is written again, which the publisher does before
// the release can be public. It never decides visibility: every read
// filters by the visible-release set its caller passes.
package outcomeclickhouse

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/indicators/audit"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the store's migrations.
func Migrations() clickhousedb.Set { return clickhousedb.Embedded("audit-outcomes", migrationFiles) }

// Tables are the store's tables, for clickhousedb.Server.Migrate.
var Tables = []string{"audit_releases", "audit_outcomes"}

// Store implements audit.Store.
type Store struct{ db *clickhousedb.Server }

var _ audit.Store = (*Store)(nil)

// New returns the store on db: one server, or a cluster's shards.
func New(db *clickhousedb.Server) *Store { return &Store{db: db} }

// WriteAudit implements audit.Store.
func (s *Store) WriteAudit(ctx context.Context, a audit.Released, outcomes []audit.Outcome) error {
	def, err := json.Marshal(a.Definition)
	if err != nil {
		return clickhousedb.Classify(err)
	}
	funnels, err := json.Marshal(a.Funnels)
	if err != nil {
		return clickhousedb.Classify(err)
	}
	if err := s.DeleteRelease(ctx, a.Release); err != nil {
		return clickhousedb.Classify(err)
	}
	release, err := s.db.ShardFor(a.Release).PrepareBatch(ctx, "INSERT INTO audit_releases (release_id, audit, dataset, version, definition, funnels)")
	if err != nil {
		return clickhousedb.Classify(err)
	}
	if err := release.Append(uint64(a.Release), a.Definition.ID, a.Dataset, int64(a.Version), string(def), string(funnels)); err != nil {
		release.Abort()
		return clickhousedb.Classify(err)
	}
	if err := release.Send(); err != nil {
		return clickhousedb.Classify(err)
	}
	if len(outcomes) == 0 {
		return nil
	}
	batch, err := s.db.ShardFor(a.Release).PrepareBatch(ctx, "INSERT INTO audit_outcomes (release_id, audit, measure, period, level, provider, team, code, status, outcome)")
	if err != nil {
		return clickhousedb.Classify(err)
	}
	for _, o := range outcomes {
		o.Release, o.Audit = a.Release, a.Definition.ID
		raw, err := json.Marshal(o)
		if err == nil {
			err = batch.Append(uint64(a.Release), o.Audit, o.Measure, o.Period, string(o.Level), o.Provider, o.Team, o.Code, string(o.Status), string(raw))
		}
		if err != nil {
			batch.Abort()
			return fmt.Errorf("outcome %s %s %s: %w", o.Measure, o.Level, o.Code, err)
		}
	}
	return clickhousedb.Classify(batch.Send())
}

// DeleteRelease implements audit.Store.
func (s *Store) DeleteRelease(ctx context.Context, release int64) error {
	for _, table := range []string{"audit_outcomes", "audit_releases"} {
		if err := s.db.OnEveryShard(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %d", table, release)); err != nil {
			return fmt.Errorf("%s of release %d: %w", table, release, clickhousedb.Classify(err))
		}
	}
	return nil
}

// Audits implements audit.Store.
func (s *Store) Audits(ctx context.Context, visible datasets.Visible) ([]audit.Released, error) {
	in, some := clickhousedb.In(visible)
	if !some {
		return nil, nil
	}
	rows, err := s.db.Query.Query(ctx, "SELECT release_id, dataset, version, definition, funnels FROM "+s.db.Table("audit_releases")+" WHERE release_id IN "+in+" ORDER BY release_id")
	if err != nil {
		return nil, clickhousedb.Classify(err)
	}
	defer rows.Close()
	var out []audit.Released
	for rows.Next() {
		var a audit.Released
		var release uint64
		var version int64
		var def, funnels string
		if err := rows.Scan(&release, &a.Dataset, &version, &def, &funnels); err != nil {
			return nil, clickhousedb.Classify(err)
		}
		a.Release, a.Version = int64(release), int(version)
		if err := json.Unmarshal([]byte(def), &a.Definition); err != nil {
			return nil, clickhousedb.Classify(err)
		}
		if err := json.Unmarshal([]byte(funnels), &a.Funnels); err != nil {
			return nil, clickhousedb.Classify(err)
		}
		out = append(out, a)
	}
	return out, clickhousedb.Classify(rows.Err())
}

// Outcomes implements audit.Store: in order of measure, period, level
// (hospitals, then teams, then consultants), provider, team, code and
// release.
func (s *Store) Outcomes(ctx context.Context, q audit.Query) ([]audit.Outcome, error) {
	in, some := clickhousedb.In(q.Visible)
	if !some {
		return nil, nil
	}
	where := []string{"release_id IN " + in}
	var args []any
	for _, c := range []struct {
		column, value string
	}{{"audit", q.Audit}, {"measure", q.Measure}, {"period", q.Period}, {"level", string(q.Level)}, {"code", q.Code}, {"provider", q.Provider}} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if q.Release != 0 {
		where = append(where, fmt.Sprintf("release_id = %d", q.Release))
	}
	if q.Flagged {
		where = append(where, "status IN ('alert', 'alarm')")
	}
	rows, err := s.db.Query.Query(ctx, "SELECT outcome FROM "+s.db.Table("audit_outcomes")+" WHERE "+strings.Join(where, " AND ")+
		" ORDER BY measure, period, multiIf(level = 'hospital', 0, level = 'team', 1, 2), provider, team, code, release_id", args...)
	if err != nil {
		return nil, clickhousedb.Classify(err)
	}
	defer rows.Close()
	var out []audit.Outcome
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, clickhousedb.Classify(err)
		}
		var o audit.Outcome
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return nil, clickhousedb.Classify(err)
		}
		out = append(out, o)
	}
	return out, clickhousedb.Classify(rows.Err())
}
