package observationsqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationsqlite"
)

// The pages' reads (BuildScorecard and ReadIndicatorWhere, which read
// points and then only the latest observations) give what reading every
// observation of every series gives (ReadSeries): the same latest
// observation with the same recent trend, the same series, for releases
// submitted out of period order and a correction of a period.
func TestPageReadsAgreeWithWholeSeries(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, observationsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	s := observationsqlite.New(db)
	v := func(x float64) *float64 { return &x }
	defs := []indicators.Definition{
		{ID: "prop", Title: "Proportion", Method: indicators.MethodWilson, Unit: indicators.UnitPercentage, Polarity: indicators.HigherIsBetter},
		{ID: "ratio", Title: "Ratio", Method: indicators.MethodOERatio, Unit: indicators.UnitRatio, Polarity: indicators.LowerIsBetter},
	}
	orgs := []string{"RR8", "RX1", "00123"}
	// Releases 1–6 cover 2018/19 to 2023/24 submitted out of order;
	// release 7 corrects 2021/22; RX1 has nothing in the latest period.
	years := map[int64]int{1: 2023, 2: 2018, 3: 2019, 4: 2021, 5: 2020, 6: 2022, 7: 2021}
	for rel := int64(1); rel <= 7; rel++ {
		y := years[rel]
		var obs []indicators.Observation
		for i, org := range orgs {
			if org == "RX1" && y == 2023 {
				continue
			}
			for j, d := range defs {
				x := float64(40 + (y-2018)*(i+1)*3 + j + int(rel))
				obs = append(obs, indicators.Observation{Indicator: d.ID, Organisation: org, Period: fmt.Sprintf("%d/%02d", y, (y+1)%100),
					PeriodStart: fmt.Sprintf("%d-04-01", y), Numerator: v(x * 10), Denominator: v(1000), Value: v(x), Lower95: v(x - 2), Upper95: v(x + 2),
					Comparison: indicators.Similar, Dataset: "d", Version: int(rel)})
			}
		}
		if err := s.WriteObservations(ctx, rel, indicators.ObservationsOf(obs)); err != nil {
			t.Fatal(err)
		}
		var sums []indicators.Summary
		for _, d := range defs {
			sums = append(sums, indicators.Summary{Indicator: d.ID, Period: fmt.Sprintf("%d/%02d", y, (y+1)%100), PeriodStart: fmt.Sprintf("%d-04-01", y)})
		}
		if err := s.WriteSummaries(ctx, rel, sums); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteDefinitions(ctx, 7, defs); err != nil {
		t.Fatal(err)
	}
	visible := datasets.NewVisible(1, 2, 3, 4, 5, 6, 7)
	whole := map[[2]string][]indicators.Observation{}
	for _, d := range defs {
		all, err := indicators.ReadSeries(ctx, s, visible, d, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range all {
			k := [2]string{o.Indicator, o.Organisation}
			whole[k] = append(whole[k], o)
		}
	}
	same := func(what string, got, want indicators.Observation) {
		t.Helper()
		if got.Release != want.Release || got.Trend != want.Trend || got.TrendReason != want.TrendReason || *got.Value != *want.Value || got.Period != want.Period {
			t.Errorf("%s: %d %s %q %v, want %d %s %q %v", what, got.Release, got.Trend, got.TrendReason, *got.Value, want.Release, want.Trend, want.TrendReason, *want.Value)
		}
	}
	trends := 0
	for _, org := range orgs {
		sc, err := indicators.BuildScorecard(ctx, s, visible, org)
		if err != nil {
			t.Fatal(err)
		}
		if len(sc.Lines) != len(defs) {
			t.Fatalf("%s: %d lines", org, len(sc.Lines))
		}
		for _, l := range sc.Lines {
			series := whole[[2]string{l.Definition.ID, org}]
			same(org+" "+l.Definition.ID, l.Latest, series[len(series)-1])
			if len(l.Series) != len(series) {
				t.Errorf("%s %s: %d points, %d observations", org, l.Definition.ID, len(l.Series), len(series))
				continue
			}
			for i, p := range l.Series {
				if p.Release != series[i].Release || *p.Value != *series[i].Value {
					t.Errorf("%s %s point %d: release %d value %v, want %d %v", org, l.Definition.ID, i, p.Release, *p.Value, series[i].Release, *series[i].Value)
				}
			}
			if l.Latest.Trend == indicators.TrendIncreasing {
				trends++
			}
		}
	}
	if trends == 0 {
		t.Error("no series has an increasing trend: the data do not exercise the trend")
	}
	defsRead, err := s.Definitions(ctx, visible)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defsRead {
		view, err := indicators.ReadIndicator(ctx, s, visible, d)
		if err != nil {
			t.Fatal(err)
		}
		if view.Latest.Release != 1 || len(view.Observations) != 2 {
			t.Fatalf("%s: latest release %d, %d observations (RX1 has none in 2023/24)", d.ID, view.Latest.Release, len(view.Observations))
		}
		for _, o := range view.Observations {
			series := whole[[2]string{d.ID, o.Organisation}]
			same(d.ID+" "+o.Organisation, o, series[len(series)-1])
		}
		var offered []string
		only, err := indicators.ReadIndicatorWhere(ctx, s, visible, d, func(codes []string) ([]string, error) {
			offered = codes
			return []string{"00123"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(offered) != "[00123 RR8]" {
			t.Errorf("%s: offered %v, want those with the latest period", d.ID, offered)
		}
		if len(only.Observations) != 1 || only.Observations[0].Organisation != "00123" {
			t.Fatalf("%s kept to 00123: %+v", d.ID, only.Observations)
		}
		same(d.ID+" 00123 alone", only.Observations[0], view.Observations[0])
		none, err := indicators.ReadIndicatorWhere(ctx, s, visible, d, func([]string) ([]string, error) { return nil, nil })
		if err != nil || len(none.Observations) != 0 || none.Latest.Release != 1 {
			t.Errorf("%s kept to none: %+v %v", d.ID, none.Observations, err)
		}
	}
}
