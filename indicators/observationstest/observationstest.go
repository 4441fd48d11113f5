// Package observationstest is the contract suite every
// indicators.ObservationStore implementation passes.
package observationstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
			if err := s.WriteObservations(ctx, rel, indicators.ObservationsOf([]indicators.Observation{
				{Indicator: "shmi", Organisation: "RA2", Period: "p", Value: f(value), Lower95: f(0.9), Upper95: f(1.1), Comparison: indicators.Similar},
				{Indicator: "shmi", Organisation: "RR8", Period: "p", Reason: "suppressed in the source", Comparison: indicators.NotCompared},
			})); err != nil {
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
	t.Run("an input that fails part-way is an error, and none of it is kept", func(t *testing.T) {
		s := open(t)
		before := []indicators.Observation{{Indicator: "a", Organisation: "X", Comparison: indicators.Better}}
		if err := s.WriteObservations(ctx, 3, indicators.ObservationsOf(before)); err != nil {
			t.Fatal(err)
		}
		broken := errors.New("line 3: not a number")
		failing := func(yield func(indicators.Observation, error) bool) {
			for _, o := range []indicators.Observation{{Indicator: "b", Organisation: "X"}, {Indicator: "c", Organisation: "Y"}} {
				if !yield(o, nil) {
					return
				}
			}
			yield(indicators.Observation{}, broken)
		}
		if err := s.WriteObservations(ctx, 3, failing); !errors.Is(err, broken) {
			t.Fatalf("writing an input that fails: error %v, want %v", err, broken)
		}
		// The release keeps what it had (a store with transactions) or
		// nothing (one without), never part of the failed input.
		for _, o := range collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(3)}) {
			if o.Indicator != "a" {
				t.Errorf("after a failed write the release holds %+v", o)
			}
		}
	})
	t.Run("rewrite replaces, delete removes", func(t *testing.T) {
		s := open(t)
		s.WriteObservations(ctx, 1, indicators.ObservationsOf([]indicators.Observation{{Indicator: "a", Organisation: "X", Comparison: indicators.Better}}))
		s.WriteObservations(ctx, 1, indicators.ObservationsOf([]indicators.Observation{{Indicator: "b", Organisation: "X", Comparison: indicators.Worse}}))
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
	t.Run("funnel limits and the comparison beside the verdict round-trip", func(t *testing.T) {
		s := open(t)
		in := indicators.Observation{Indicator: "shmi", Organisation: "RA2", Period: "p", Value: f(1.2), Comparison: indicators.HigherThanExpected,
			Beside: indicators.Worse, Funnel: "above the 95% limit", FunnelLower95: f(0.87), FunnelUpper95: f(1.15), FunnelLower998: f(0.8), FunnelUpper998: f(1.25)}
		if err := s.WriteObservations(ctx, 4, indicators.ObservationsOf([]indicators.Observation{in})); err != nil {
			t.Fatal(err)
		}
		got := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(4)})
		if len(got) != 1 {
			t.Fatalf("read %d observations", len(got))
		}
		o := got[0]
		if o.Comparison != in.Comparison || o.Beside != in.Beside || o.Funnel != in.Funnel || *o.FunnelLower95 != 0.87 || *o.FunnelUpper95 != 1.15 ||
			*o.FunnelLower998 != 0.8 || *o.FunnelUpper998 != 1.25 {
			t.Errorf("read back %+v", o)
		}
	})
	t.Run("codes keep their leading zeros, text its letters, reads their order", func(t *testing.T) {
		s := open(t)
		// Written out of order, twice for release 2 (a retried write): one
		// copy is kept.
		in := []indicators.Observation{
			{Indicator: "z-last", Organisation: "00123", Period: "2024", PeriodStart: "2024-04-01", Value: f(2), Comparison: indicators.Similar},
			{Indicator: "äöü-Ωmega", Organisation: "00123", Period: "2023", PeriodStart: "2023-04-01", Value: f(1), Reason: "≤ 5 patients: «suppressed»", Comparison: indicators.NotCompared},
			{Indicator: "äöü-Ωmega", Organisation: "0012", Period: "2023", PeriodStart: "2023-04-01", Quintile: 5, Comparison: indicators.Better},
		}
		for range 2 {
			if err := s.WriteObservations(ctx, 2, indicators.ObservationsOf(in)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.WriteObservations(ctx, 1, indicators.ObservationsOf([]indicators.Observation{{Indicator: "äöü-Ωmega", Organisation: "0012", Period: "2022", PeriodStart: "2022-04-01", Comparison: indicators.Worse}})); err != nil {
			t.Fatal(err)
		}
		got := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2)})
		var order []string
		for _, o := range got {
			order = append(order, fmt.Sprintf("%s %s %s r%d", o.Indicator, o.Organisation, o.PeriodStart, o.Release))
		}
		want := []string{"z-last 00123 2024-04-01 r2", "äöü-Ωmega 0012 2022-04-01 r1", "äöü-Ωmega 0012 2023-04-01 r2", "äöü-Ωmega 00123 2023-04-01 r2"}
		if !slices.Equal(order, want) {
			t.Errorf("read in the order\n%q\nwant (indicator, organisation, period start, release)\n%q", order, want)
		}
		one := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2), Organisation: "00123", Indicator: "äöü-Ωmega"})
		if len(one) != 1 || one[0].Reason != "≤ 5 patients: «suppressed»" || one[0].Comparison != indicators.NotCompared {
			t.Errorf("organisation 00123, indicator äöü-Ωmega: %+v", one)
		}
		if q := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2), Organisation: "123"}); len(q) != 0 {
			t.Errorf("organisation 123 (not 00123): %+v", q)
		}
		if q := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2), Release: 1}); len(q) != 1 || q[0].Release != 1 {
			t.Errorf("release 1 only: %+v", q)
		}
		if q := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2), Organisation: "O'Brien; DROP TABLE observations"}); len(q) != 0 {
			t.Errorf("a code with a quote: %+v", q)
		}
		if q := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(2), Organisation: "0012"}); len(q) != 1 || q[0].Quintile != 5 {
			t.Errorf("quintile: %+v", q)
		}
	})
	t.Run("points are the observations' points, in their order; a list of organisations keeps only those", func(t *testing.T) {
		s := open(t)
		// Values no shorter decimal form gives back exactly, and missing ones.
		awkward := []*float64{f(0.1 + 0.2), f(1.0 / 3), f(-2.5e-300), f(123456789.123456789), nil, f(0)}
		for rel := int64(1); rel <= 3; rel++ {
			var obs []indicators.Observation
			for i, org := range []string{"0012", "00123", "RR8", "Ωmega"} {
				for j, ind := range []string{"b-second", "a-first"} {
					k := int(rel) + i + j
					period := fmt.Sprintf("20%02d/%02d", 20+rel, 21+rel)
					if org == "Ωmega" { // text that JSON and SQL must escape
						period += ` "quoted" \ back\slash, 'single' ☃`
					}
					obs = append(obs, indicators.Observation{Indicator: ind, Organisation: org, Period: period,
						PeriodStart: fmt.Sprintf("20%02d-04-01", 20+rel), Numerator: awkward[k%6], Denominator: awkward[(k+1)%6],
						Value: awkward[(k+2)%6], Lower95: awkward[(k+3)%6], Upper95: awkward[(k+4)%6], Lower998: f(9), Category: "not a point",
						Comparison: indicators.Similar, Reason: "r", Dataset: "d", Version: 2})
				}
			}
			if err := s.WriteObservations(ctx, rel, indicators.ObservationsOf(obs)); err != nil {
				t.Fatal(err)
			}
		}
		// A later release for an earlier period, and one for the same
		// period as release 2: read in period order, then release.
		if err := s.WriteObservations(ctx, 4, indicators.ObservationsOf([]indicators.Observation{
			{Indicator: "a-first", Organisation: "RR8", Period: "2019/20", PeriodStart: "2019-04-01", Value: f(4), Comparison: indicators.Similar},
			{Indicator: "b-second", Organisation: "RR8", Period: "2022/23", PeriodStart: "2022-04-01", Value: f(5), Comparison: indicators.Similar},
		})); err != nil {
			t.Fatal(err)
		}
		points := func(q indicators.ObservationQuery) []indicators.Point {
			var out []indicators.Point
			for p, err := range s.Points(ctx, q) {
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, p)
			}
			return out
		}
		same := func(a, b *float64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
		for _, q := range []indicators.ObservationQuery{
			{Visible: datasets.NewVisible(1, 2, 3)},
			{Visible: datasets.NewVisible(1, 3), Organisation: "00123"},
			{Visible: datasets.NewVisible(1, 2, 3), Organisation: "Ωmega"},
			{Visible: datasets.NewVisible(1, 2, 3, 4), Organisation: "RR8"},
			{Visible: datasets.NewVisible(1, 2, 3), Organisation: "Ωmega", Indicator: "b-second", Release: 2},
			{Visible: datasets.NewVisible(2, 3), Organisation: "RR8", Organisations: []string{"RR8"}},
			{Visible: datasets.NewVisible(2, 3), Organisation: "RR8", Organisations: []string{"0012"}},
			{Visible: datasets.NewVisible(1, 2, 3), Organisation: "nowhere"},
			{Visible: datasets.NewVisible(1, 2, 3), Indicator: "a-first"},
			{Visible: datasets.NewVisible(2, 3), Indicator: "b-second", Organisations: []string{"RR8", "0012", "nowhere"}},
			{Visible: datasets.NewVisible(1, 2, 3), Release: 2, Organisations: []string{"Ωmega"}},
			{Visible: datasets.NewVisible(1, 2, 3), Organisations: []string{}},
			{Visible: datasets.NewVisible()},
		} {
			obs := collect(t, s, q)
			got := points(q)
			if len(got) != len(obs) {
				t.Errorf("%+v: %d points for %d observations", q, len(got), len(obs))
				continue
			}
			for i, o := range obs {
				want, p := indicators.PointOf(o), got[i]
				if p.Release != want.Release || p.Indicator != want.Indicator || p.Organisation != want.Organisation || p.Period != want.Period ||
					p.PeriodStart != want.PeriodStart || !same(p.Numerator, want.Numerator) || !same(p.Denominator, want.Denominator) ||
					!same(p.Value, want.Value) || !same(p.Lower95, want.Lower95) || !same(p.Upper95, want.Upper95) {
					t.Errorf("%+v: point %d is %+v, the observation's %+v", q, i, p, want)
				}
			}
		}
		for _, q := range []indicators.ObservationQuery{
			{Visible: datasets.NewVisible(1, 2, 3, 4)},
			{Visible: datasets.NewVisible(4), Indicator: "a-first"},
			{Visible: datasets.NewVisible(1, 2, 3), Release: 2, Indicator: "b-second", Organisations: []string{"Ωmega", "0012", "nowhere"}},
			{Visible: datasets.NewVisible(1, 2, 3), Organisations: []string{}},
			{Visible: datasets.NewVisible()},
		} {
			var want []string
			for _, o := range collect(t, s, q) {
				if !slices.Contains(want, o.Organisation) {
					want = append(want, o.Organisation)
				}
			}
			slices.Sort(want)
			got, err := s.ObservedOrganisations(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%+v: organisations %q, want %q", q, got, want)
			}
		}
		if got, _ := s.ObservedOrganisations(ctx, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3, 4)}); strings.Join(got, " ") != "0012 00123 RR8 Ωmega" {
			t.Errorf("every organisation: %q", got)
		}
		var order []string
		for _, p := range points(indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3, 4), Organisation: "RR8"}) {
			order = append(order, fmt.Sprintf("%s %s r%d", p.Indicator, p.PeriodStart, p.Release))
		}
		if want := []string{"a-first 2019-04-01 r4", "a-first 2021-04-01 r1", "a-first 2022-04-01 r2", "a-first 2023-04-01 r3",
			"b-second 2021-04-01 r1", "b-second 2022-04-01 r2", "b-second 2022-04-01 r4", "b-second 2023-04-01 r3"}; !slices.Equal(order, want) {
			t.Errorf("RR8's points in the order\n%q\nwant\n%q", order, want)
		}
		var read []string
		for _, o := range collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(2, 3), Indicator: "b-second", Organisations: []string{"RR8", "0012", "nowhere"}}) {
			read = append(read, fmt.Sprintf("%s r%d", o.Organisation, o.Release))
		}
		if want := []string{"0012 r2", "0012 r3", "RR8 r2", "RR8 r3"}; !slices.Equal(read, want) {
			t.Errorf("organisations RR8, 0012 and one with none, releases 2 and 3: %q, want %q", read, want)
		}
		if o := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3), Organisations: []string{}}); len(o) != 0 {
			t.Errorf("an empty list of organisations read %d observations", len(o))
		}
		if o := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3), Organisations: []string{"123", "O'Brien"}}); len(o) != 0 {
			t.Errorf("organisations 123 (not 00123) and a quoted code: %+v", o)
		}
		if o := collect(t, s, indicators.ObservationQuery{Visible: datasets.NewVisible(1), Organisations: []string{"00123"}}); len(o) != 2 || *o[0].Value != *awkward[5] {
			t.Errorf("organisation 00123 in release 1: %+v", o)
		}
	})
	t.Run("summaries in period order, visible only, removed with the release", func(t *testing.T) {
		s := open(t)
		// Written out of period order: release 9 is the earliest period.
		for rel, start := range map[int64]string{5: "2022-04-01", 6: "2023-04-01", 9: "2018-04-01"} {
			sum := indicators.Summary{Indicator: "x", Period: start[:4], PeriodStart: start, Organisations: 3,
				Funnel: &indicators.FunnelFit{Limits: "log-scale", Tau2: 0.003, Units: 3, Applied: true},
				Areas:  []indicators.AreaValue{{Code: "E92000001", Level: "national", Value: f(12.5)}}}
			if err := s.WriteSummaries(ctx, rel, []indicators.Summary{sum}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Summaries(ctx, datasets.NewVisible(5, 6, 9), "x")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Release != 9 || got[1].Release != 5 || got[2].Release != 6 {
			t.Fatalf("summaries: %+v", got)
		}
		if got[0].Funnel == nil || got[0].Funnel.Tau2 != 0.003 || len(got[0].Areas) != 1 || *got[0].Areas[0].Value != 12.5 {
			t.Errorf("summary read back: %+v", got[0])
		}
		if got, _ := s.Summaries(ctx, datasets.NewVisible(6), "x"); len(got) != 1 || got[0].Release != 6 {
			t.Errorf("with only release 6 visible: %+v", got)
		}
		if got, _ := s.Summaries(ctx, datasets.NewVisible(5, 6, 9), "y"); len(got) != 0 {
			t.Errorf("another indicator: %+v", got)
		}
		if err := s.DeleteRelease(ctx, 9); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Summaries(ctx, datasets.NewVisible(5, 6, 9), ""); len(got) != 2 {
			t.Errorf("after deleting release 9: %+v", got)
		}
	})
}
