package indicators

import (
	"fmt"
	"strings"
	"testing"
)

func TestSeriesInPeriodOrderWithTrends(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	prop := Definition{ID: "a", Method: MethodWilson, Unit: UnitPercentage}
	point := func(year int, release int64, x float64) Observation {
		return Observation{Indicator: "a", Organisation: "RR8", Release: release, Period: fmt.Sprintf("%d/%02d", year, (year+1)%100),
			PeriodStart: fmt.Sprintf("%d-04-01", year), Numerator: v(x * 10), Denominator: v(1000), Value: v(x), Lower95: v(x - 3), Upper95: v(x + 3)}
	}
	// Submitted as 2022/23 first (release 1), then 2018/19 to 2021/22.
	scrambled := []Observation{point(2022, 1, 72), point(2018, 2, 60), point(2019, 3, 63), point(2020, 4, 66), point(2021, 5, 69)}
	series := InPeriodOrder(scrambled)
	if series[0].Period != "2018/19" || series[4].Period != "2022/23" {
		t.Fatalf("not in period order: %v", periods(series))
	}
	WithTrends(prop, series)
	if series[4].Trend != TrendIncreasing {
		t.Errorf("2022/23 after five rising periods: %s (%s)", series[4].Trend, series[4].TrendReason)
	}
	if series[3].Trend != TrendNotComputed || !strings.Contains(series[3].TrendReason, "fewer than five periods (4)") {
		t.Errorf("2021/22 has four periods up to it: %s (%s)", series[3].Trend, series[3].TrendReason)
	}
	// A correction covering 2020/21 (release 9) replaces the superseded
	// release's point in the series.
	corrected := InPeriodOrder(append(scrambled, point(2020, 9, 67)))
	if len(corrected) != 5 || corrected[2].Release != 9 {
		t.Errorf("a period covered twice keeps the newer release: %v", corrected)
	}
	shmi := Definition{ID: "shmi", Method: MethodOERatio, OverlappingPeriods: true}
	WithTrends(shmi, series)
	if series[4].Trend != TrendNotComputed || !strings.Contains(series[4].TrendReason, "overlap") {
		t.Errorf("overlapping periods: %s (%s)", series[4].Trend, series[4].TrendReason)
	}
	rating := Definition{ID: "cqc", Method: MethodCategory}
	WithTrends(rating, series)
	if series[4].Trend != "" {
		t.Errorf("a rating has no trend: %s", series[4].Trend)
	}
}

func periods(obs []Observation) []string {
	var out []string
	for _, o := range obs {
		out = append(out, o.Period)
	}
	return out
}

func TestPeriodOrderWithoutStarts(t *testing.T) {
	for label, want := range map[string]string{"2022/23": "2022-04-01", "2019-20": "2019-04-01", "2024": "2024-01-01",
		"2026-01": "2026-01-01", "January 2026": "2026-01-01", "2022/24": "", "Rolling twelve months, published April 2012": ""} {
		if got := periodOrder("", label); got != want {
			t.Errorf("periodOrder(%q) = %q, want %q", label, got, want)
		}
	}
	// Labels without a recognisable start keep release order, not the
	// labels' alphabetical order.
	obs := []Observation{{Release: 1, Period: "published January 2012"}, {Release: 2, Period: "published April 2012"},
		{Release: 3, Period: "published July 2012"}, {Release: 4, Period: "published April 2012"}}
	got := periods(InPeriodOrder(obs))
	if strings.Join(got, "; ") != "published January 2012; published July 2012; published April 2012" {
		t.Errorf("order: %v", got)
	}
}

func TestSeriesAsTheStoreStreamsThem(t *testing.T) {
	// In period order already, as the store streams them: kept as is, but
	// for a period covered by two releases, of which the newer stays.
	obs := []Observation{{Release: 1, Period: "2019/20", PeriodStart: "2019-04-01"}, {Release: 2, Period: "2020/21", PeriodStart: "2020-04-01"},
		{Release: 7, Period: "2020/21", PeriodStart: "2020-04-01"}, {Release: 3, Period: "2021/22", PeriodStart: "2021-04-01"}}
	got := InPeriodOrder(obs[:2])
	if len(got) != 2 || &got[0] != &obs[0] {
		t.Errorf("an ordered series was copied or changed: %v", got)
	}
	got = InPeriodOrder(obs)
	if len(got) != 3 || got[1].Release != 7 || got[2].Release != 3 {
		t.Errorf("with a correction: %+v", got)
	}
}
