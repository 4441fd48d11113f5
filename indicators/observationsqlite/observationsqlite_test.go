package observationsqlite_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationsqlite"
	"github.com/candour/candour/indicators/observationstest"
)

func TestContract(t *testing.T) {
	observationstest.Run(t, func(t *testing.T) indicators.ObservationStore {
		ctx := context.Background()
		db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := sqlitedb.Migrate(ctx, db, observationsqlite.Migrations()); err != nil {
			t.Fatal(err)
		}
		return observationsqlite.New(db)
	})
}

// A database written before summaries existed gets one per release and
// indicator, and its observations read back, after the upgrade.
func TestUpgradeBackfillsSummaries(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := observationsqlite.Migrations()
	old := fstest.MapFS{}
	for _, name := range []string{"0001_observations.sql", "0002_observations_by_organisation.sql", "0003_trends.sql",
		"0004_release_reference.sql", "0005_funnel_position.sql"} {
		b, err := fs.ReadFile(all.Files, name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: b}
	}
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: all.Component, Files: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO observations (release_id, indicator, organisation, period, period_start, value, comparison,
		trend, trend_reason) VALUES (7, 'shmi', 'RR8', '2013', '2013-01-01', 0.95, 'better', 'cannot be calculated', 'overlap'),
		(7, 'shmi', 'RX1', '2013', '2013-01-01', 0.91, 'better', '', '')`); err != nil {
		t.Fatal(err)
	}
	if err := sqlitedb.Migrate(ctx, db, all); err != nil {
		t.Fatal(err)
	}
	s := observationsqlite.New(db)
	sums, err := s.Summaries(ctx, datasets.NewVisible(7), "shmi")
	if err != nil || len(sums) != 1 || sums[0].Release != 7 || sums[0].PeriodStart != "2013-01-01" || sums[0].Organisations != 2 {
		t.Fatalf("backfilled summaries: %+v %v", sums, err)
	}
	n := 0
	for o, err := range s.Observations(ctx, indicators.ObservationQuery{Visible: datasets.NewVisible(7)}) {
		if err != nil || o.Comparison != indicators.Better {
			t.Fatalf("%+v %v", o, err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("read %d observations", n)
	}
}

// Observations stored before observation_points existed get their packed
// points from the upgrade: an organisation's points read back as its
// observations' points, escaped text and missing values included.
func TestUpgradePacksPoints(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := observationsqlite.Migrations()
	old := fstest.MapFS{}
	entries, err := fs.ReadDir(all.Files, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() >= "0007" {
			continue
		}
		b, err := fs.ReadFile(all.Files, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		old[e.Name()] = &fstest.MapFile{Data: b}
	}
	if len(old) != 6 {
		t.Fatalf("%d migrations before 0007", len(old))
	}
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: all.Component, Files: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO observations (release_id, indicator, organisation, period, period_start, numerator, denominator,
		value, lower95, upper95, comparison) VALUES
		(7, 'shmi', 'RR8', '2013 "q" \ Ω', '2013-01-01', NULL, 120.5, 0.30000000000000004, 0.1, 1e-300, 'better'),
		(7, 'amr', 'RR8', '2013', '2013-01-01', 3, 7, 42.857142857142854, NULL, NULL, 'similar'),
		(8, 'shmi', 'RR8', '2014', '2014-01-01', 1, 2, 0.5, 0.25, 0.75, 'similar'),
		(7, 'shmi', 'RX1', '2013', '2013-01-01', 1, 2, 0.91, 0.8, 1.0, 'better')`); err != nil {
		t.Fatal(err)
	}
	if err := sqlitedb.Migrate(ctx, db, all); err != nil {
		t.Fatal(err)
	}
	s := observationsqlite.New(db)
	q := indicators.ObservationQuery{Visible: datasets.NewVisible(7, 8), Organisation: "RR8"}
	var want, got []indicators.Point
	for o, err := range s.Observations(ctx, q) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, indicators.PointOf(o))
	}
	for p, err := range s.Points(ctx, q) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	show := func(ps []indicators.Point) string {
		num := func(x *float64) string {
			if x == nil {
				return "nil"
			}
			return fmt.Sprint(*x)
		}
		var out string
		for _, p := range ps {
			out += fmt.Sprintf("%d %s %s %q %s %s %s %s %s %s\n", p.Release, p.Indicator, p.Organisation, p.Period, p.PeriodStart,
				num(p.Numerator), num(p.Denominator), num(p.Value), num(p.Lower95), num(p.Upper95))
		}
		return out
	}
	if len(want) != 3 || show(got) != show(want) {
		t.Fatalf("points after the upgrade\n%s\nwant\n%s", show(got), show(want))
	}
	for i := range got {
		for _, pair := range [][2]*float64{{got[i].Numerator, want[i].Numerator}, {got[i].Value, want[i].Value}, {got[i].Upper95, want[i].Upper95}} {
			if (pair[0] == nil) != (pair[1] == nil) || pair[0] != nil && *pair[0] != *pair[1] {
				t.Errorf("point %d: %v, want %v", i, pair[0], pair[1])
			}
		}
	}
	if got[1].Period != `2013 "q" \ Ω` || got[1].Upper95 == nil || *got[1].Upper95 != 1e-300 || *got[1].Value != 0.30000000000000004 {
		t.Errorf("escaped text or awkward numbers: %+v", got[1])
	}
}
