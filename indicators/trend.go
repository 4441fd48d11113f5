package indicators

import (
	"fmt"
	"math"
	"sort"
)

// Trend is a recent-trend marker.
type Trend string

// Trend markers (Fingertips' wording).
const (
	TrendIncreasing  Trend = "increasing"
	TrendDecreasing  Trend = "decreasing"
	TrendNoChange    Trend = "no significant change"
	TrendNotComputed Trend = "cannot be calculated"
)

// trendThreshold is χ² on 1 degree of freedom at p < 0.002 (3.0902²).
const trendThreshold = 9.5495

// RecentTrend applies Fingertips' recent-trend rule to a series, oldest
// first, with each point's 95% interval: it uses the five most recent
// points, and needs at least five, none missing, from periods that do not
// overlap. The test is a weighted least-squares slope (weights from the
// standard error (upper − lower)/(2 × 1.96), a reconstruction the
// reference allows) significant when slope²/variance > 9.5495; then, if
// leaving out any one point reverses the slope's sign, the marker is "no
// significant change" (an outlier drives it). The reason says why a
// trend cannot be calculated.
func RecentTrend(values, lower, upper []float64, overlapping bool) (Trend, string) {
	if overlapping {
		return TrendNotComputed, "the periods overlap (rolling twelve months), so consecutive values are not independent"
	}
	if len(values) < 5 {
		return TrendNotComputed, fmt.Sprintf("fewer than five periods (%d)", len(values))
	}
	n := len(values)
	x := []float64{0, 1, 2, 3, 4}
	y := values[n-5:]
	w := make([]float64, 5)
	for i := range w {
		lo, hi := lower[n-5+i], upper[n-5+i]
		if math.IsNaN(y[i]) || math.IsNaN(lo) || math.IsNaN(hi) {
			return TrendNotComputed, "a value or its confidence interval is missing"
		}
		se := (hi - lo) / (2 * z95)
		if se <= 0 {
			return TrendNotComputed, "a confidence interval has no width"
		}
		w[i] = 1 / (se * se)
	}
	slope, chi2 := wls(x, y, w)
	if chi2 <= trendThreshold {
		return TrendNoChange, ""
	}
	for drop := range x {
		var xs, ys, ws []float64
		for i := range x {
			if i != drop {
				xs, ys, ws = append(xs, x[i]), append(ys, y[i]), append(ws, w[i])
			}
		}
		if s, _ := wls(xs, ys, ws); math.Signbit(s) != math.Signbit(slope) {
			return TrendNoChange, "an outlying point decides the direction"
		}
	}
	if slope > 0 {
		return TrendIncreasing, ""
	}
	return TrendDecreasing, ""
}

// wls returns the weighted least-squares slope and slope²/variance.
func wls(x, y, w []float64) (float64, float64) {
	var sw, sx, sy float64
	for i := range x {
		sw += w[i]
		sx += w[i] * x[i]
		sy += w[i] * y[i]
	}
	mx, my := sx/sw, sy/sw
	var sxx, sxy float64
	for i := range x {
		sxx += w[i] * (x[i] - mx) * (x[i] - mx)
		sxy += w[i] * (x[i] - mx) * (y[i] - my)
	}
	if sxx == 0 {
		return 0, 0
	}
	b := sxy / sxx
	return b, b * b * sxx
}

// AssignTrends gives each new observation its recent-trend marker from the
// series of earlier observations of the same indicator and organisation
// (from earlier releases) followed by it.
func AssignTrends(defs []Definition, obs []Observation, earlier []Observation) {
	byDef := map[string]Definition{}
	for _, d := range defs {
		byDef[d.ID] = d
	}
	type key struct{ indicator, org string }
	series := map[key][]Observation{}
	for _, o := range earlier {
		k := key{o.Indicator, o.Organisation}
		series[k] = append(series[k], o)
	}
	for i := range obs {
		o := &obs[i]
		d, ok := byDef[o.Indicator]
		if !ok || d.Method == MethodCategory {
			continue
		}
		s := append(append([]Observation(nil), series[key{o.Indicator, o.Organisation}]...), *o)
		sort.SliceStable(s, func(a, b int) bool { return s[a].PeriodStart < s[b].PeriodStart })
		var v, lo, hi []float64
		for _, x := range s {
			if x.Value == nil || x.Lower95 == nil || x.Upper95 == nil {
				v, lo, hi = append(v, math.NaN()), append(lo, math.NaN()), append(hi, math.NaN())
				continue
			}
			v, lo, hi = append(v, *x.Value), append(lo, *x.Lower95), append(hi, *x.Upper95)
		}
		o.Trend, o.TrendReason = RecentTrend(v, lo, hi, d.OverlappingPeriods)
	}
}
