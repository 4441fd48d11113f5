package observationsqlite_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationsqlite"
)

// ReadArea, through the real store, reads each indicator's latest visible
// period only: a release that is not visible changes nothing.
func TestReadAreaLatestVisiblePeriod(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, observationsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	store := observationsqlite.New(db)
	schema := datasets.Schema{Fields: []datasets.Field{{Name: "Code"},
		{Name: "Events", Type: datasets.TypeNumber}, {Name: "Size", Type: datasets.TypeNumber}}}
	d := indicators.Definition{ID: "p", Title: "P", Description: "d", File: "f.csv", Organisation: "Code", Numerator: "Events",
		Denominator: "Size", Unit: indicators.UnitPercentage, Polarity: indicators.HigherIsBetter, Method: indicators.MethodWilson,
		Benchmark: indicators.Benchmark{Kind: "england"}, AuthoredBy: "a", CheckedBy: "b"}
	for rel, c := range map[int64]struct {
		period string
		rows   [][]string
	}{
		1: {"2024/25", [][]string{{"A", "10", "100"}, {"B", "10", "100"}, {"C", "40", "100"}}},
		2: {"2025/26", [][]string{{"A", "50", "100"}, {"B", "70", "100"}, {"C", "90", "100"}}},
	} {
		obs, sums, err := indicators.Compute([]indicators.Definition{d},
			[]indicators.Table{{Name: "f.csv", Schema: schema, Header: schema.FieldNames(), Rows: c.rows}}, indicators.Period{Label: c.period})
		if err != nil {
			t.Fatal(err)
		}
		for i := range obs {
			obs[i].Release = rel
		}
		sums[0].Release = rel
		if err := store.WriteObservations(ctx, rel, indicators.ObservationsOf(obs)); err != nil {
			t.Fatal(err)
		}
		if err := store.WriteSummaries(ctx, rel, sums); err != nil {
			t.Fatal(err)
		}
		if err := store.WriteDefinitions(ctx, rel, []indicators.Definition{d}); err != nil {
			t.Fatal(err)
		}
	}
	in := func(code string) bool { return code == "A" || code == "B" }
	for _, c := range []struct {
		visible        []int64
		period         string
		value, england float64
	}{{[]int64{1}, "2024/25", 10, 20}, {[]int64{1, 2}, "2025/26", 60, 70}} {
		got, err := indicators.ReadArea(ctx, store, datasets.NewVisible(c.visible...), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Period != c.period || got[0].Value == nil || math.Abs(*got[0].Value-c.value) > 1e-12 ||
			got[0].England == nil || math.Abs(*got[0].England-c.england) > 1e-12 || got[0].Organisations != 2 {
			t.Fatalf("visible %v: %+v, want %s at %v against England %v", c.visible, got, c.period, c.value, c.england)
		}
	}
}
