package observationclickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/clickhousedb/clickhousetest"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationclickhouse"
	"github.com/candour/candour/indicators/observationstest"
)

// The contract suite every observation store passes, against a real
// ClickHouse server.
func TestContract(t *testing.T) {
	observationstest.Run(t, func(t *testing.T) indicators.ObservationStore {
		return observationclickhouse.New(clickhousetest.Fresh(t, observationclickhouse.Migrations()))
	})
}

// The same suite on a two-shard cluster: writes go to one shard by
// release, reads through Distributed tables.
func TestContractOnTwoShards(t *testing.T) {
	observationstest.Run(t, func(t *testing.T) indicators.ObservationStore {
		return observationclickhouse.New(clickhousetest.FreshCluster(t, []clickhousedb.Set{observationclickhouse.Migrations()}, observationclickhouse.Tables...))
	})
}

// A release of more observations than one insert sends is written whole,
// in order of nothing but its values: every observation once, nulls kept,
// in one part of each table; written again smaller, only the new ones are
// left.
func TestReleaseLargerThanOneInsert(t *testing.T) {
	db := clickhousetest.Fresh(t, observationclickhouse.Migrations())
	store := observationclickhouse.New(db)
	ctx := context.Background()
	generate := func(n int) []indicators.Observation {
		obs := make([]indicators.Observation, n)
		for i := range obs {
			v := float64(i) / 4
			obs[i] = indicators.Observation{Indicator: "big", Organisation: fmt.Sprintf("O%07d", i), Period: "2026", PeriodStart: "2026-01-01",
				Value: &v, Quintile: i%5 + 1, Dataset: "big", Version: 1, Comparison: indicators.Comparison("similar")}
			if i%7 == 0 {
				obs[i].Value, obs[i].Reason = nil, "fewer than 10 patients"
			}
		}
		return obs
	}
	for _, n := range []int{250_001, 120_000} {
		want := generate(n)
		if err := store.WriteObservations(ctx, 9, indicators.ObservationsOf(want)); err != nil {
			t.Fatal(err)
		}
		got := map[string]indicators.Observation{}
		for o, err := range store.Observations(ctx, indicators.ObservationQuery{Visible: datasets.NewVisible(9), Indicator: "big"}) {
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := got[o.Organisation]; dup {
				t.Fatalf("%s read twice", o.Organisation)
			}
			got[o.Organisation] = o
		}
		if len(got) != n {
			t.Fatalf("wrote %d observations, read %d", n, len(got))
		}
		// Written in several inserts, the release is left in one part of
		// each table: reads open every part.
		for _, table := range []string{"observations", "observations_by_organisation"} {
			var parts uint64
			if err := db.Query.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = ? AND active AND partition = '9'", table).Scan(&parts); err != nil {
				t.Fatal(err)
			}
			if parts != 1 {
				t.Errorf("%s holds release 9 of %d observations in %d parts, want 1", table, n, parts)
			}
		}
		for _, i := range []int{0, 1, 99_999, 100_000, n - 1} {
			w, g := want[i], got[want[i].Organisation]
			if (w.Value == nil) != (g.Value == nil) || w.Value != nil && *w.Value != *g.Value || g.Reason != w.Reason || g.Quintile != w.Quintile {
				t.Errorf("observation %d: read %+v, wrote %+v", i, g, w)
			}
		}
	}
}

// countByRelease counts each release's rows in table, read through the
// name the store reads it by.
func countByRelease(t *testing.T, db *clickhousedb.Server, table string) map[uint64]uint64 {
	t.Helper()
	rows, err := db.Query.Query(context.Background(), "SELECT release_id, count() FROM "+db.Table(table)+" GROUP BY release_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[uint64]uint64{}
	for rows.Next() {
		var release, n uint64
		if err := rows.Scan(&release, &n); err != nil {
			t.Fatal(err)
		}
		out[release] = n
	}
	return out
}

// generatedObservations are n observations of release's indicators over
// three organisations.
func generatedObservations(n int) []indicators.Observation {
	obs := make([]indicators.Observation, n)
	for i := range obs {
		v := float64(i)
		obs[i] = indicators.Observation{Indicator: fmt.Sprintf("ind%03d", i/3), Organisation: fmt.Sprintf("R%d", i%3), Period: "2026",
			PeriodStart: "2026-01-01", Value: &v, Dataset: "d", Version: 1}
	}
	return obs
}

// deployments open a fresh store's database on one server and on a
// cluster of two shards.
var deployments = map[string]func(t *testing.T) *clickhousedb.Server{
	"one server": func(t *testing.T) *clickhousedb.Server {
		return clickhousetest.Fresh(t, observationclickhouse.Migrations())
	},
	"two shards": func(t *testing.T) *clickhousedb.Server {
		return clickhousetest.FreshCluster(t, []clickhousedb.Set{observationclickhouse.Migrations()}, observationclickhouse.Tables...)
	},
}

// The copy ordered by organisation, which scorecards read, holds exactly
// what observations holds, release by release, through rewrites and
// removals, on one server and on two shards; and a scorecard's read
// (organisation, no indicator) gives the rows an indicator's read gives.
func TestOrganisationCopyFollowsWrites(t *testing.T) {
	for name, open := range deployments {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			store, ctx := observationclickhouse.New(db), context.Background()
			same := func(want map[uint64]uint64) {
				t.Helper()
				main, copied := countByRelease(t, db, "observations"), countByRelease(t, db, "observations_by_organisation")
				if fmt.Sprint(main) != fmt.Sprint(want) || fmt.Sprint(copied) != fmt.Sprint(want) {
					t.Fatalf("rows by release: observations %v, observations_by_organisation %v, want %v", main, copied, want)
				}
			}
			for release, n := range map[int64]int{1: 300, 2: 90} {
				if err := store.WriteObservations(ctx, release, indicators.ObservationsOf(generatedObservations(n))); err != nil {
					t.Fatal(err)
				}
			}
			same(map[uint64]uint64{1: 300, 2: 90})
			if err := store.WriteObservations(ctx, 1, indicators.ObservationsOf(generatedObservations(30))); err != nil {
				t.Fatal(err)
			}
			same(map[uint64]uint64{1: 30, 2: 90})

			var byOrganisation, byIndicator []string
			for o, err := range store.Observations(ctx, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2), Organisation: "R1"}) {
				if err != nil {
					t.Fatal(err)
				}
				byOrganisation = append(byOrganisation, fmt.Sprint(o.Release, o.Indicator, *o.Value))
			}
			for i := range 30 {
				for o, err := range store.Observations(ctx, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2), Indicator: fmt.Sprintf("ind%03d", i), Organisation: "R1"}) {
					if err != nil {
						t.Fatal(err)
					}
					byIndicator = append(byIndicator, fmt.Sprint(o.Release, o.Indicator, *o.Value))
				}
			}
			if len(byOrganisation) != 40 || fmt.Sprint(byOrganisation) != fmt.Sprint(byIndicator) {
				t.Fatalf("R1 read by organisation (%d rows): %v\nby indicator (%d rows): %v", len(byOrganisation), byOrganisation, len(byIndicator), byIndicator)
			}

			if err := store.DeleteRelease(ctx, 2); err != nil {
				t.Fatal(err)
			}
			same(map[uint64]uint64{1: 30})
		})
	}
}

// A deployment whose observations were written before the copy ordered by
// organisation existed gets them copied by the migration that adds it,
// once: running the copy again adds nothing.
func TestMigrationCopiesEarlierObservations(t *testing.T) {
	ctx := context.Background()
	first, err := fs.ReadFile(observationclickhouse.Migrations().Files, "0001_observations.sql")
	if err != nil {
		t.Fatal(err)
	}
	before := clickhousedb.Set{Component: "observations", Files: fstest.MapFS{"0001_observations.sql": {Data: first}}}
	db := clickhousetest.Fresh(t, before)
	batch, err := db.Query.PrepareBatch(ctx, "INSERT INTO observations (release_id, indicator, organisation, period, period_start)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if err := batch.Append(uint64(i%4+1), fmt.Sprintf("ind%d", i%7), fmt.Sprintf("R%03d", i), "2026", "2026-01-01"); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	if err := clickhousedb.Migrate(ctx, db.Query, observationclickhouse.Migrations()); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]uint64{1: 125, 2: 125, 3: 125, 4: 125}
	if got := countByRelease(t, db, "observations_by_organisation"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("copied %v, want %v", got, want)
	}
	second, err := fs.ReadFile(observationclickhouse.Migrations().Files, "0002_observations_by_organisation.sql")
	if err != nil {
		t.Fatal(err)
	}
	statements := clickhousedb.Statements(string(second))
	if err := db.Query.Exec(ctx, statements[len(statements)-1]); err != nil {
		t.Fatal(err)
	}
	if got := countByRelease(t, db, "observations_by_organisation"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after copying again: %v, want %v", got, want)
	}
}

// A release of more rows than one INSERT sends is written whole, and an
// input failing after two INSERTs have gone leaves none of its rows, on
// one server and on two shards.
func TestWriteObservationsInBlocks(t *testing.T) {
	for name, open := range deployments {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			store, ctx := observationclickhouse.New(db), context.Background()
			const n = 250_001 // two full INSERTs and one row
			if err := store.WriteObservations(ctx, 4, indicators.ObservationsOf(generatedObservations(n))); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"observations", "observations_by_organisation"} {
				if got := countByRelease(t, db, table); fmt.Sprint(got) != fmt.Sprint(map[uint64]uint64{4: n}) {
					t.Fatalf("%s after writing %d observations: %v", table, n, got)
				}
			}
			broken := errors.New("row 230,000: not a number")
			failing := func(yield func(indicators.Observation, error) bool) {
				for i, o := range generatedObservations(230_000) {
					if !yield(o, nil) {
						return
					}
					if i == 229_999 {
						yield(indicators.Observation{}, broken)
					}
				}
			}
			if err := store.WriteObservations(ctx, 4, failing); !errors.Is(err, broken) {
				t.Fatalf("an input failing after two INSERTs: error %v, want %v", err, broken)
			}
			for _, table := range []string{"observations", "observations_by_organisation"} {
				if got := countByRelease(t, db, table); len(got) != 0 {
					t.Fatalf("%s after a failed write: %v, want nothing of release 4", table, got)
				}
			}
		})
	}
}
