// Package observationstest is the contract suite every
// indicators.ObservationStore implementation passes.
package observationstest

import (
	"context"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

func f(x float64) *float64 { return &x }

// Run checks a fresh, empty store made by open.
func Run(t *testing.T, open func(t *testing.T) indicators.ObservationStore) {
	ctx := context.Background()
	collect := func(t *testing.T, s indicators.ObservationStore, q indicators.ObservationQuery) []indicators.Observation {
		t.Helper()
		var out []indicators.Observation
		for o, err := range s.Observations(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
		return out
	}
	t.Run("reads only visible releases", func(t *testing.T) {
		s := open(t)
		for rel, value := range map[int64]float64{1: 1.02, 2: 0.98} {
			if err := s.WriteObservations(ctx, rel, []indicators.Observation{
				{Indicator: "shmi", Organisation: "RA2", Period: "p", Value: f(value), Lower95: f(0.9), Upper95: f(1.1), Comparison: indicators.Similar},
				{Indicator: "shmi", Organisation: "RR8", Period: "p", Reason: "suppressed in the source", Comparison: indicators.NotCompared},
			}); err != nil {
				t.Fatal(err)
			}
		}
		if got := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible()}); len(got) != 0 {
			t.Errorf("an empty visible set read %d observations", len(got))
		}
		got := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(2), Organisation: "RA2"})
		if len(got) != 1 || got[0].Release != 2 || *got[0].Value != 0.98 || got[0].Comparison != indicators.Similar {
			t.Errorf("visible release 2, RA2: %+v", got)
		}
		rr8 := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2), Organisation: "RR8"})
		if len(rr8) != 2 || rr8[0].Value != nil || rr8[0].Reason == "" {
			t.Errorf("not-shown values: %+v", rr8)
		}
	})
	t.Run("rewrite replaces, delete removes", func(t *testing.T) {
		s := open(t)
		s.WriteObservations(ctx, 1, []indicators.Observation{{Indicator: "a", Organisation: "X", Comparison: indicators.Better}})
		s.WriteObservations(ctx, 1, []indicators.Observation{{Indicator: "b", Organisation: "X", Comparison: indicators.Worse}})
		got := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1)})
		if len(got) != 1 || got[0].Indicator != "b" {
			t.Errorf("after a rewrite: %+v", got)
		}
		defs := []indicators.Definition{{ID: "b", Title: "B"}}
		if err := s.WriteDefinitions(ctx, 1, defs); err != nil {
			t.Fatal(err)
		}
		if d, err := s.Definitions(ctx, datasets.NewVisible(1)); err != nil || len(d) != 1 || d[0].Title != "B" {
			t.Errorf("definitions: %+v %v", d, err)
		}
		if d, _ := s.Definitions(ctx, datasets.NewVisible(2)); len(d) != 0 {
			t.Errorf("definitions of an invisible release: %+v", d)
		}
		if err := s.DeleteRelease(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1)}); len(got) != 0 {
			t.Errorf("after delete: %+v", got)
		}
	})
	t.Run("newest release's definition wins", func(t *testing.T) {
		s := open(t)
		s.WriteDefinitions(ctx, 3, []indicators.Definition{{ID: "x", Title: "old"}})
		s.WriteDefinitions(ctx, 7, []indicators.Definition{{ID: "x", Title: "new"}})
		d, _ := s.Definitions(ctx, datasets.NewVisible(3, 7))
		if len(d) != 1 || d[0].Title != "new" || d[0].Release != 7 {
			t.Errorf("definitions: %+v", d)
		}
		d, _ = s.Definitions(ctx, datasets.NewVisible(3))
		if len(d) != 1 || d[0].Title != "old" {
			t.Errorf("with only release 3 visible: %+v", d)
		}
	})
}
