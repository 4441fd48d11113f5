package observationsqlite_test

import (
	"context"
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
