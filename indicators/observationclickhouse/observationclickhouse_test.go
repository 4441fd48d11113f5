package observationclickhouse_test

import (
	"context"
	"fmt"
	"testing"

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
// in order of nothing but its values: every observation once, nulls kept;
// written again smaller, only the new ones are left.
func TestReleaseLargerThanOneInsert(t *testing.T) {
	store := observationclickhouse.New(clickhousetest.Fresh(t, observationclickhouse.Migrations()))
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
		if err := store.WriteObservations(ctx, 9, want); err != nil {
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
		for _, i := range []int{0, 1, 99_999, 100_000, n - 1} {
			w, g := want[i], got[want[i].Organisation]
			if (w.Value == nil) != (g.Value == nil) || w.Value != nil && *w.Value != *g.Value || g.Reason != w.Reason || g.Quintile != w.Quintile {
				t.Errorf("observation %d: read %+v, wrote %+v", i, g, w)
			}
		}
	}
}
