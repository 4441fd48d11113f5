package indicators

import (
	"fmt"
	"math"
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
	if anyLeftOutReverses(len(x), slope, func(drop int) (float64, bool) {
		s, _ := wls(without(x, drop), without(y, drop), without(w, drop))
		return s, true
	}) {
		return TrendNoChange, "an outlying point decides the direction"
	}
	if slope > 0 {
		return TrendIncreasing, ""
	}
	return TrendDecreasing, ""
}

// anyLeftOutReverses is Fingertips' outlier check: whether leaving out any
// one of n points reverses the sign of the slope; slopeWithout fits the
// rest (ok false when it cannot).
func anyLeftOutReverses(n int, slope float64, slopeWithout func(drop int) (float64, bool)) bool {
	for drop := range n {
		if s, ok := slopeWithout(drop); ok && math.Signbit(s) != math.Signbit(slope) {
			return true
		}
	}
	return false
}

// without returns xs with the element at drop left out, each point keeping
// its own value (positions are passed the same way).
func without(xs []float64, drop int) []float64 {
	return append(append(make([]float64, 0, len(xs)-1), xs[:drop]...), xs[drop+1:]...)
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

// trendOf is the recent-trend marker at the last point of a series of
// one indicator for one organisation, in period order. Proportions
// (Wilson) use the chi-square test for trend in proportions over the
// numerators and denominators (ProportionTrend, Fingertips' test for
// proportions); every other method the weighted least-squares slope over
// the values and their 95% intervals (RecentTrend).
func trendOf(d Definition, series []Point) (Trend, string) {
	if d.Method == MethodCategory || d.Method == MethodAsGiven && !hasIntervals(series) {
		return "", ""
	}
	if d.OverlappingPeriods {
		return RecentTrend(nil, nil, nil, true)
	}
	if d.Method == MethodWilson {
		return proportionTrend(series)
	}
	var v, lo, hi []float64
	for _, x := range series {
		if x.Value == nil || x.Lower95 == nil || x.Upper95 == nil {
			v, lo, hi = append(v, math.NaN()), append(lo, math.NaN()), append(hi, math.NaN())
			continue
		}
		v, lo, hi = append(v, *x.Value), append(lo, *x.Lower95), append(hi, *x.Upper95)
	}
	return RecentTrend(v, lo, hi, false)
}

func hasIntervals(series []Point) bool {
	for _, o := range series {
		if o.Lower95 != nil {
			return true
		}
	}
	return false
}

// proportionTrend applies the recent-trend rule to proportions: the five
// most recent points, χ² for trend on 1 degree of freedom above 9.5495,
// then the same leave-one-out check as RecentTrend.
func proportionTrend(series []Point) (Trend, string) {
	if len(series) < 5 {
		return TrendNotComputed, fmt.Sprintf("fewer than five periods (%d)", len(series))
	}
	var x, n []float64
	for _, o := range series[len(series)-5:] {
		if o.Value == nil || o.Numerator == nil || o.Denominator == nil || *o.Denominator <= 0 {
			return TrendNotComputed, "a value, its numerator or its denominator is missing"
		}
		x, n = append(x, *o.Numerator), append(n, *o.Denominator)
	}
	slope, chi2, err := ProportionTrend(x, n)
	if err != nil {
		return TrendNotComputed, "the test for trend cannot be calculated from these counts"
	}
	if chi2 <= trendThreshold {
		return TrendNoChange, ""
	}
	positions := []float64{0, 1, 2, 3, 4}
	if anyLeftOutReverses(len(x), slope, func(drop int) (float64, bool) {
		s, _, err := ProportionTrendAt(without(positions, drop), without(x, drop), without(n, drop))
		return s, err == nil
	}) {
		return TrendNoChange, "an outlying point decides the direction"
	}
	if slope > 0 {
		return TrendIncreasing, ""
	}
	return TrendDecreasing, ""
}
