package indicators

import "fmt"

// ProportionTrend is the chi-square test for trend in proportions (the
// Cochran–Armitage test, as R's prop.trend.test(x, n) computes it) for
// numerators x_i of denominators n_i at the scores 0, 1, …, k − 1 (R's
// default scores 1..k give the same answer: only differences in score
// matter).
//
// With the pooled proportion p̄ = Σx/Σn, the observed proportions
// f_i = x_i/n_i are regressed on the score by weighted least squares with
// weights w_i = n_i/(p̄(1 − p̄)). The statistic is the regression sum of
// squares, chi2 = S_sf²/S_ss, where S_ss = Σw(s − s̄)² and
// S_sf = Σw(s − s̄)(f − f̄) about the weighted means; under no trend it is
// χ² on 1 degree of freedom. slope = S_sf/S_ss is the fitted change in the
// proportion per step of the score (p̄(1 − p̄) cancels from it): its sign
// gives the direction of the trend.
//
// It returns ErrInput (wrapped, with the reason) for fewer than two points,
// slices of different lengths, a denominator that is not positive, a
// numerator outside 0..n, non-finite values, or a pooled proportion of 0
// or 1, where there is no variation to test.
func ProportionTrend(numerators, denominators []float64) (slope float64, chi2 float64, err error) {
	scores := make([]float64, len(numerators))
	for i := range scores {
		scores[i] = float64(i)
	}
	return ProportionTrendAt(scores, numerators, denominators)
}

// ProportionTrendAt is ProportionTrend at given scores (the periods'
// positions), so that a series with a point left out keeps the others in
// their places (R's prop.trend.test(x, n, score)).
func ProportionTrendAt(scores, numerators, denominators []float64) (slope float64, chi2 float64, err error) {
	if err := checkTrendCounts(numerators, denominators); err != nil {
		return 0, 0, err
	}
	if len(scores) != len(numerators) {
		return 0, 0, fmt.Errorf("%w: %d scores for %d points", ErrInput, len(scores), len(numerators))
	}
	var sx, sn float64
	for i := range numerators {
		sx += numerators[i]
		sn += denominators[i]
	}
	pooled := sx / sn
	if pooled <= 0 || pooled >= 1 {
		return 0, 0, fmt.Errorf("%w: the pooled proportion is %v, so there is no variation to test", ErrInput, pooled)
	}
	// Weighted means of the score and of the proportion.
	var sw, sws, swf float64
	for i := range numerators {
		w := denominators[i] / (pooled * (1 - pooled))
		sw += w
		sws += w * scores[i]
		swf += w * numerators[i] / denominators[i]
	}
	sBar, fBar := sws/sw, swf/sw
	// Weighted sums of squares and products about those means.
	var sss, ssf float64
	for i := range numerators {
		w := denominators[i] / (pooled * (1 - pooled))
		ds := scores[i] - sBar
		sss += w * ds * ds
		ssf += w * ds * (numerators[i]/denominators[i] - fBar)
	}
	return ssf / sss, ssf * ssf / sss, nil
}

// checkTrendCounts rejects counts the test for trend cannot use.
func checkTrendCounts(x, n []float64) error {
	if len(x) != len(n) {
		return fmt.Errorf("%w: %d numerators but %d denominators", ErrInput, len(x), len(n))
	}
	if len(x) < 2 {
		return fmt.Errorf("%w: a trend needs at least two points, not %d", ErrInput, len(x))
	}
	for i := range x {
		if !usable(x[i]) || !usable(n[i]) || n[i] <= 0 || x[i] < 0 || x[i] > n[i] {
			return fmt.Errorf("%w: point %d has numerator %v of denominator %v", ErrInput, i+1, x[i], n[i])
		}
	}
	return nil
}
