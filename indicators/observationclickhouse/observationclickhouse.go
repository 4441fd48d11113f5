// Package observationclickhouse keeps indicator observations, definitions
// and summaries on a ClickHouse server (see datasets/clickhousedb for the
// server version and driver): the indicators.ObservationStore for a
// deployment whose observations outgrow the embedded database. It passes
// the same contract suite (observationstest) as observationsqlite.
//
// Each table is partitioned by release. Observations are kept twice, in
// observations (ordered by indicator, for indicator pages) and in
// observations_by_organisation (ordered by organisation, for scorecards),
// which a materialised view fills inside each insert into observations:
// 18.16 cannot skip granules on the second column of a sorting key, so
// one order cannot serve both pages (migration 0002 says more). Writing a
// release's observations drops its partitions, inserts the new rows in
// batches, each sent while the next is read from the caller's stream, and
// merges each partition into one part. ClickHouse has no
// transactions, so a write cut off part-way leaves the release with none
// or some of its rows until it is written again, which the publisher does
// (a release is made public only after its observations are written, and
// an interrupted amendment is rewritten at start-up). Reads are plain
// queries filtered by the visible releases.
//
// It must not hold anything but observations, definitions and summaries:
// the catalogue and workflow stay in SQLite.
package observationclickhouse

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/indicators"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the store's migrations.
func Migrations() clickhousedb.Set { return clickhousedb.Embedded("observations", migrationFiles) }

// Tables are the store's tables, for clickhousedb.Server.Migrate.
var Tables = []string{"observations", "observations_by_organisation", "indicator_definitions", "indicator_summaries"}

// observationTables hold a release's observations: what is written to the
// first, the view copies to the second.
var observationTables = []string{"observations", "observations_by_organisation"}

// Store implements indicators.ObservationStore.
type Store struct{ db *clickhousedb.Server }

var _ indicators.ObservationStore = (*Store)(nil)

// New returns the store on db: one server, or a cluster's shards.
func New(db *clickhousedb.Server) *Store { return &Store{db: db} }

const observationColumns = `release_id, indicator, organisation, period, period_start, numerator,
	denominator, value, category, lower95, upper95, lower998, upper998, benchmark, comparison, reason, quintile,
	dataset, version, funnel, funnel_lower95, funnel_upper95, funnel_lower998, funnel_upper998, beside`

// dropRelease empties a release's partition of each table.
func (s *Store) dropRelease(ctx context.Context, release int64, tables ...string) error {
	for _, table := range tables {
		if err := s.db.OnEveryShard(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %d", table, release)); err != nil {
			return fmt.Errorf("%s of release %d: %w", table, release, clickhousedb.Classify(err))
		}
	}
	return nil
}

// WriteObservations implements indicators.ObservationStore. The input is
// read in batches of insertBatch observations, each sent while the next
// is read (insertBatches), so a release of millions needs two batches of
// memory, not the release's.
func (s *Store) WriteObservations(ctx context.Context, release int64, obs iter.Seq2[indicators.Observation, error]) error {
	if err := s.dropRelease(ctx, release, observationTables...); err != nil {
		return clickhousedb.Classify(err)
	}
	if err := s.insertBatches(ctx, release, obs); err != nil {
		// Leave none of the release's observations rather than some.
		if derr := s.dropRelease(context.WithoutCancel(ctx), release, observationTables...); derr != nil {
			return fmt.Errorf("%w (and removing what was written: %v)", err, derr)
		}
		return err
	}
	return s.mergeRelease(ctx, release, observationTables...)
}

// insertBatches reads obs into batches in the caller's goroutine and
// inserts them, one INSERT a batch and in order, in another: reading the
// next batch overlaps sending the last. Two batch buffers go back and
// forth between the two. The first error, the input's or an insert's, is
// returned; after an insert fails the input is read no further.
//
// One INSERT of many blocks (the driver's Flush), which would keep the
// driver's column buffers, was tried and measured slower here: 0.60× the
// rate of clickhouse-client against 0.76–0.78× with an INSERT a batch.
func (s *Store) insertBatches(ctx context.Context, release int64, obs iter.Seq2[indicators.Observation, error]) error {
	full := make(chan []indicators.Observation)
	free := make(chan []indicators.Observation, 2)
	for range 2 {
		free <- make([]indicators.Observation, 0, insertBatch)
	}
	var failed atomic.Bool
	inserted := make(chan error, 1)
	go func() {
		var err error
		var cols columnBuffers
		for batch := range full {
			if err == nil {
				if err = s.insertObservations(ctx, release, batch, &cols); err != nil {
					failed.Store(true)
				}
			}
			clear(batch) // drop the references before the buffer is reused
			free <- batch[:0]
		}
		inserted <- err
	}()
	readErr := func() error {
		defer close(full) // also if obs panics, so the inserting goroutine ends
		batch := <-free
		for o, err := range obs {
			if err != nil {
				return err
			}
			if failed.Load() {
				return nil
			}
			batch = append(batch, o)
			if len(batch) == insertBatch {
				full <- batch
				batch = <-free
			}
		}
		if len(batch) > 0 {
			full <- batch
		}
		return nil
	}()
	if err := <-inserted; err != nil {
		return err
	}
	return readErr
}

// mergeRelease merges a release's partition of each table into one part.
// Inserts of insertBatch rows leave a release in many parts, which
// 18.16 may leave unmerged, and a read opens every part of every release
// it reads: a scorecard on 10.5 million observations was served at 54
// pages/s from 29 parts and 88 from 10. The merge costs about half a
// second a million rows, once, at publication.
func (s *Store) mergeRelease(ctx context.Context, release int64, tables ...string) error {
	for _, table := range tables {
		if err := s.db.ShardFor(release).Exec(ctx, fmt.Sprintf("OPTIMIZE TABLE %s PARTITION %d FINAL", table, release)); err != nil {
			return fmt.Errorf("merging %s of release %d: %w", table, release, clickhousedb.Classify(err))
		}
	}
	return nil
}

// insertBatch is the most observations sent in one INSERT: the driver
// holds a batch's columns in memory until it is sent, and one batch of
// millions grew them by copying (a 2-million-row release took 8.5 s to
// write as one batch).
const insertBatch = 100_000

// insertObservations inserts one batch of a release's observations, its
// columns built in cols.
func (s *Store) insertObservations(ctx context.Context, release int64, obs []indicators.Observation, cols *columnBuffers) error {
	batch, err := s.db.ShardFor(release).PrepareBatch(ctx, "INSERT INTO observations ("+observationColumns+")")
	if err != nil {
		return clickhousedb.Classify(err)
	}
	for i, column := range cols.fill(release, obs) {
		if err := batch.Column(i).Append(column); err != nil {
			batch.Abort()
			return fmt.Errorf("observations of release %d, column %d: %w", release, i+1, err)
		}
	}
	return clickhousedb.Classify(batch.Send())
}

// refill makes the next of bufs (numbered by *next, which it advances)
// f of each observation, reusing its array.
func refill[T any](bufs *[][]T, next *int, obs []indicators.Observation, f func(*indicators.Observation) T) []T {
	if *next == len(*bufs) {
		*bufs = append(*bufs, nil)
	}
	out := (*bufs)[*next][:0]
	for i := range obs {
		out = append(out, f(&obs[i]))
	}
	(*bufs)[*next] = out
	*next++
	return out
}

// columnBuffers are a batch's columns, in the order of observationColumns,
// kept from one batch to the next: appended a column at a time, the
// driver copies each whole rather than taking every row's 25 values
// through reflection; made anew for each batch, they were 30 MB a batch
// of 100,000, mostly pointers for the collector to scan.
type columnBuffers struct {
	texts    [][]string
	numbers  [][]*float64
	integers [][]int64
	releases []uint64
}

// fill makes the buffers obs's columns and returns them.
func (c *columnBuffers) fill(release int64, obs []indicators.Observation) []any {
	var ti, ni, ii int
	text := func(f func(o *indicators.Observation) string) []string { return refill(&c.texts, &ti, obs, f) }
	number := func(f func(o *indicators.Observation) *float64) []*float64 { return refill(&c.numbers, &ni, obs, f) }
	integer := func(f func(o *indicators.Observation) int) []int64 {
		return refill(&c.integers, &ii, obs, func(o *indicators.Observation) int64 { return int64(f(o)) })
	}
	c.releases = c.releases[:0]
	for range obs {
		c.releases = append(c.releases, uint64(release))
	}
	type o = indicators.Observation
	return []any{c.releases,
		text(func(o *o) string { return o.Indicator }), text(func(o *o) string { return o.Organisation }),
		text(func(o *o) string { return o.Period }), text(func(o *o) string { return o.PeriodStart }),
		number(func(o *o) *float64 { return o.Numerator }), number(func(o *o) *float64 { return o.Denominator }),
		number(func(o *o) *float64 { return o.Value }), text(func(o *o) string { return o.Category }),
		number(func(o *o) *float64 { return o.Lower95 }), number(func(o *o) *float64 { return o.Upper95 }),
		number(func(o *o) *float64 { return o.Lower998 }), number(func(o *o) *float64 { return o.Upper998 }),
		number(func(o *o) *float64 { return o.Benchmark }), text(func(o *o) string { return string(o.Comparison) }),
		text(func(o *o) string { return o.Reason }), integer(func(o *o) int { return o.Quintile }),
		text(func(o *o) string { return o.Dataset }), integer(func(o *o) int { return o.Version }),
		text(func(o *o) string { return o.Funnel }),
		number(func(o *o) *float64 { return o.FunnelLower95 }), number(func(o *o) *float64 { return o.FunnelUpper95 }),
		number(func(o *o) *float64 { return o.FunnelLower998 }), number(func(o *o) *float64 { return o.FunnelUpper998 }),
		text(func(o *o) string { return string(o.Beside) }),
	}
}

// Observations implements indicators.ObservationStore.
func (s *Store) Observations(ctx context.Context, q indicators.ObservationQuery) iter.Seq2[indicators.Observation, error] {
	return func(yield func(indicators.Observation, error) bool) {
		where, args, some := observationsWhere(q)
		if !some {
			return
		}
		rows, err := s.db.Query.Query(ctx, "SELECT "+observationColumns+" FROM "+s.observationsTable(q)+" WHERE "+where+
			" ORDER BY indicator, organisation, period_start, release_id", args...)
		if err != nil {
			yield(indicators.Observation{}, clickhousedb.Classify(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanObservation(rows)
			if !yield(o, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(indicators.Observation{}, clickhousedb.Classify(err))
		}
	}
}

// observationsTable is the table to read what q selects from: the copy
// ordered by organisation when q picks organisations but no indicator
// (a scorecard), where the other order would read every granule.
func (s *Store) observationsTable(q indicators.ObservationQuery) string {
	if q.Indicator == "" && (q.Organisation != "" || q.Organisations != nil) {
		return s.db.Table("observations_by_organisation")
	}
	return s.db.Table("observations")
}

// observationsWhere is the condition selecting what q selects; some is
// false when nothing can match (no visible release, an empty list of
// organisations).
func observationsWhere(q indicators.ObservationQuery) (where string, args []any, some bool) {
	in, some := clickhousedb.In(q.Visible)
	if !some || q.Organisations != nil && len(q.Organisations) == 0 {
		return "", nil, false
	}
	conds := []string{"release_id IN " + in}
	if q.Organisation != "" {
		conds = append(conds, "organisation = ?")
		args = append(args, q.Organisation)
	}
	if q.Indicator != "" {
		conds = append(conds, "indicator = ?")
		args = append(args, q.Indicator)
	}
	if q.Release != 0 {
		conds = append(conds, fmt.Sprintf("release_id = %d", q.Release))
	}
	if q.Organisations != nil {
		codes := make([]any, len(q.Organisations))
		for i, c := range q.Organisations {
			codes[i] = c
		}
		conds = append(conds, "organisation IN ?") // a GroupSet binds as (…, …)
		args = append(args, clickhouse.GroupSet{Value: codes})
	}
	return strings.Join(conds, " AND "), args, true
}

// Points implements indicators.ObservationStore: the same rows as
// Observations, reading only the point's columns (ClickHouse stores each
// column apart, so the others are never read).
func (s *Store) Points(ctx context.Context, q indicators.ObservationQuery) iter.Seq2[indicators.Point, error] {
	return func(yield func(indicators.Point, error) bool) {
		where, args, some := observationsWhere(q)
		if !some {
			return
		}
		rows, err := s.db.Query.Query(ctx, "SELECT release_id, indicator, organisation, period, period_start, numerator, denominator, value, lower95, upper95 FROM "+
			s.observationsTable(q)+" WHERE "+where+" ORDER BY indicator, organisation, period_start, release_id", args...)
		if err != nil {
			yield(indicators.Point{}, clickhousedb.Classify(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var p indicators.Point
			var release uint64
			err := rows.Scan(&release, &p.Indicator, &p.Organisation, &p.Period, &p.PeriodStart, &p.Numerator, &p.Denominator, &p.Value, &p.Lower95, &p.Upper95)
			p.Release = int64(release)
			if !yield(p, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(indicators.Point{}, clickhousedb.Classify(err))
		}
	}
}

// ObservedOrganisations implements indicators.ObservationStore.
func (s *Store) ObservedOrganisations(ctx context.Context, q indicators.ObservationQuery) ([]string, error) {
	where, args, some := observationsWhere(q)
	if !some {
		return nil, nil
	}
	rows, err := s.db.Query.Query(ctx, "SELECT DISTINCT organisation FROM "+s.observationsTable(q)+" WHERE "+where+" ORDER BY organisation", args...)
	if err != nil {
		return nil, clickhousedb.Classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			return nil, err
		}
		out = append(out, code)
	}
	return out, clickhousedb.Classify(rows.Err())
}

func scanObservation(rows driver.Rows) (indicators.Observation, error) {
	var o indicators.Observation
	var release uint64
	var quintile, version int64
	var comparison, beside string
	err := rows.Scan(&release, &o.Indicator, &o.Organisation, &o.Period, &o.PeriodStart, &o.Numerator, &o.Denominator,
		&o.Value, &o.Category, &o.Lower95, &o.Upper95, &o.Lower998, &o.Upper998, &o.Benchmark, &comparison, &o.Reason, &quintile,
		&o.Dataset, &version, &o.Funnel, &o.FunnelLower95, &o.FunnelUpper95, &o.FunnelLower998, &o.FunnelUpper998, &beside)
	o.Release, o.Quintile, o.Version = int64(release), int(quintile), int(version)
	o.Comparison, o.Beside = indicators.Comparison(comparison), indicators.Comparison(beside)
	return o, err
}

// WriteDefinitions implements indicators.ObservationStore.
func (s *Store) WriteDefinitions(ctx context.Context, release int64, defs []indicators.Definition) error {
	if err := s.dropRelease(ctx, release, "indicator_definitions"); err != nil {
		return clickhousedb.Classify(err)
	}
	if len(defs) == 0 {
		return nil
	}
	batch, err := s.db.ShardFor(release).PrepareBatch(ctx, "INSERT INTO indicator_definitions (release_id, id, definition)")
	if err != nil {
		return clickhousedb.Classify(err)
	}
	for _, d := range defs {
		raw, err := json.Marshal(d)
		if err == nil {
			err = batch.Append(uint64(release), d.ID, string(raw))
		}
		if err != nil {
			batch.Abort()
			return fmt.Errorf("definition %s: %w", d.ID, err)
		}
	}
	return clickhousedb.Classify(batch.Send())
}

// Definitions implements indicators.ObservationStore: for each indicator,
// the definition of the newest visible release that ships one.
func (s *Store) Definitions(ctx context.Context, visible datasets.Visible) ([]indicators.ReleasedDefinition, error) {
	in, some := clickhousedb.In(visible)
	if !some {
		return nil, nil
	}
	rows, err := s.db.Query.Query(ctx, "SELECT release_id, id, definition FROM "+s.db.Table("indicator_definitions")+" WHERE release_id IN "+in)
	if err != nil {
		return nil, clickhousedb.Classify(err)
	}
	defer rows.Close()
	newest := map[string]indicators.ReleasedDefinition{}
	for rows.Next() {
		var release uint64
		var id, raw string
		if err := rows.Scan(&release, &id, &raw); err != nil {
			return nil, clickhousedb.Classify(err)
		}
		if have, ok := newest[id]; ok && have.Release >= int64(release) {
			continue
		}
		rd := indicators.ReleasedDefinition{Release: int64(release)}
		if err := json.Unmarshal([]byte(raw), &rd.Definition); err != nil {
			return nil, fmt.Errorf("definition %s of release %d: %w", id, release, err)
		}
		newest[id] = rd
	}
	if err := rows.Err(); err != nil {
		return nil, clickhousedb.Classify(err)
	}
	out := make([]indicators.ReleasedDefinition, 0, len(newest))
	for _, rd := range newest {
		out = append(out, rd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// WriteSummaries implements indicators.ObservationStore.
func (s *Store) WriteSummaries(ctx context.Context, release int64, sums []indicators.Summary) error {
	if err := s.dropRelease(ctx, release, "indicator_summaries"); err != nil {
		return clickhousedb.Classify(err)
	}
	if len(sums) == 0 {
		return nil
	}
	batch, err := s.db.ShardFor(release).PrepareBatch(ctx, "INSERT INTO indicator_summaries (release_id, indicator, period, period_start, summary)")
	if err != nil {
		return clickhousedb.Classify(err)
	}
	for _, sum := range sums {
		sum.Release = release
		raw, err := json.Marshal(sum)
		if err == nil {
			err = batch.Append(uint64(release), sum.Indicator, sum.Period, sum.PeriodStart, string(raw))
		}
		if err != nil {
			batch.Abort()
			return fmt.Errorf("summary of %s: %w", sum.Indicator, err)
		}
	}
	return clickhousedb.Classify(batch.Send())
}

// Summaries implements indicators.ObservationStore.
func (s *Store) Summaries(ctx context.Context, visible datasets.Visible, indicator string) ([]indicators.Summary, error) {
	in, some := clickhousedb.In(visible)
	if !some {
		return nil, nil
	}
	where, args := "release_id IN "+in, []any{}
	if indicator != "" {
		where += " AND indicator = ?"
		args = append(args, indicator)
	}
	rows, err := s.db.Query.Query(ctx, "SELECT summary FROM "+s.db.Table("indicator_summaries")+" WHERE "+where+" ORDER BY indicator, period_start, release_id", args...)
	if err != nil {
		return nil, clickhousedb.Classify(err)
	}
	defer rows.Close()
	var out []indicators.Summary
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, clickhousedb.Classify(err)
		}
		var sum indicators.Summary
		if err := json.Unmarshal([]byte(raw), &sum); err != nil {
			return nil, fmt.Errorf("indicator summary: %w", err)
		}
		out = append(out, sum)
	}
	return out, clickhousedb.Classify(rows.Err())
}

// DeleteRelease implements indicators.ObservationStore.
func (s *Store) DeleteRelease(ctx context.Context, release int64) error {
	return clickhousedb.Classify(s.dropRelease(ctx, release, slices.Concat(observationTables, []string{"indicator_definitions", "indicator_summaries"})...))
}
