package indicators

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// The statistics below follow statistics.md: PHE's PHEindicatormethods for
// intervals, rates, DSRs, SMRs and quantiles (B4), Spiegelhalter's funnel
// limits and DerSimonian–Laird overdispersion for ratios (B1), and the
// composite methods of B5. Where the reference offers two conventions the
// choice is stated on the function.

// Z returns the two-sided normal quantile for a confidence level: 1.959964
// for 0.95, 3.090232 for 0.998 (PHE's qnorm(conf + (1 − conf)/2)).
func Z(conf float64) float64 {
	switch conf {
	case 0.95:
		return z95
	case 0.998:
		return z998
	}
	return normalQuantile(conf + (1-conf)/2)
}

// normalQuantile is the inverse standard normal CDF (Acklam's rational
// approximation refined by one Halley step; relative error below 1e-12).
func normalQuantile(p float64) float64 {
	if p <= 0 {
		return math.Inf(-1)
	}
	if p >= 1 {
		return math.Inf(1)
	}
	a := []float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := []float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := []float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := []float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	var x float64
	switch {
	case p < 0.02425:
		q := math.Sqrt(-2 * math.Log(p))
		x = (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-0.02425:
		q := math.Sqrt(-2 * math.Log(1-p))
		x = -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	default:
		q := p - 0.5
		r := q * q
		x = (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
	}
	e := 0.5*math.Erfc(-x/math.Sqrt2) - p
	u := e * math.Sqrt(2*math.Pi) * math.Exp(x*x/2)
	return x - u/(1+x*u/2)
}

// Interval is a confidence interval.
type Interval struct{ Lower, Upper float64 }

// ErrInput marks arguments a method cannot use (negative counts, x > n).
var ErrInput = errors.New("not computable from these inputs")

// Wilson is the Wilson score interval for x of n at a confidence level
// (PHE wilson_lower/upper). x need not be whole.
func Wilson(x, n, conf float64) (Interval, error) {
	if x < 0 || n <= 0 || x > n {
		return Interval{}, ErrInput
	}
	lo, hi := wilson(x, n, Z(conf))
	return Interval{math.Max(lo, 0), math.Min(hi, 1)}, nil
}

// Byars is Byar's approximation to the interval of a count x (PHE).
func Byars(x, conf float64) Interval {
	z := Z(conf)
	lo := 0.0
	if x > 0 {
		lo = x * math.Pow(1-1/(9*x)-z/(3*math.Sqrt(x)), 3)
	}
	x1 := x + 1
	return Interval{math.Max(lo, 0), x1 * math.Pow(1-1/(9*x1)+z/(3*math.Sqrt(x1)), 3)}
}

// ExactPoisson is the exact (chi-square) interval of a count x (PHE's
// phe_rate below 10 events): lower χ²_{tail; 2x}/2 (0 for x = 0), upper
// χ²_{1−tail; 2x+2}/2, with tail = (1 − conf)/2. The chi-square quantiles
// come from the inverse incomplete gamma function, so any count works; x is
// used as given, as PHE's qchisq does (it was once rounded to a whole
// number). A negative or non-finite count, or a confidence outside (0, 1),
// gives NaN limits.
func ExactPoisson(x, conf float64) Interval {
	tail := (1 - conf) / 2
	if !usable(x) || x < 0 || checkProbability(tail) != nil {
		return Interval{math.NaN(), math.NaN()}
	}
	return Interval{poissonMeanLower(x, tail), poissonMeanUpper(x, tail)}
}

// MeanInterval is the confidence interval of a mean of n individuals with
// standard deviation sd, by Student's t as PHE's phe_mean computes it:
// mean ± t·sd/√n with t = qt((1 + conf)/2, n − 1), the t quantile on n − 1
// degrees of freedom. It is used for every n: t approaches the normal z as
// n grows (1.9623 at n = 1000 against z = 1.9600), so small groups get the
// wider interval their estimated standard deviation calls for. n need not
// be whole. It returns an error for fewer than two individuals (no
// degrees of freedom), a negative standard deviation, non-finite inputs or
// a confidence outside (0, 1).
func MeanInterval(mean, sd, n, conf float64) (Interval, error) {
	if !usable(n) || n < 2 {
		return Interval{}, fmt.Errorf("%w: fewer than two individuals", ErrInput)
	}
	if !usable(mean) || !usable(sd) || sd < 0 || !usable(conf) || conf <= 0 || conf >= 1 {
		return Interval{}, fmt.Errorf("%w: mean %v, standard deviation %v, confidence %v", ErrInput, mean, sd, conf)
	}
	half := tQuantile((1+conf)/2, n-1) * sd / math.Sqrt(n)
	return Interval{mean - half, mean + half}, nil
}

// CountInterval is PHE's choice: exact below 10, Byar's from 10. It
// returns the method's name ("Exact" or "Byars").
func CountInterval(x, conf float64) (Interval, string) {
	if x < 10 {
		return ExactPoisson(x, conf), "Exact"
	}
	return Byars(x, conf), "Byars"
}

// Rate is a crude rate x/n × multiplier with its interval (phe_rate).
func Rate(x, n, multiplier, conf float64) (float64, Interval, string, error) {
	if x < 0 || n <= 0 {
		return 0, Interval{}, "", ErrInput
	}
	iv, method := CountInterval(x, conf)
	return x / n * multiplier, Interval{iv.Lower / n * multiplier, iv.Upper / n * multiplier}, method, nil
}

// ESP2013 are the European Standard Population 2013 weights for the
// nineteen age bands 0–4 … 90+ (sum 100,000).
var ESP2013 = []float64{5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000}

// ErrTooFewEvents is returned where the method withholds a value: a DSR
// from fewer than 10 events ("dsr NA for total count < 10").
var ErrTooFewEvents = errors.New("not calculated: fewer than 10 events")

// DSR is a directly standardised rate by Dobson's method (phe_dsr): counts
// and populations per age band, standard weights, per multiplier.
func DSR(counts, pops, weights []float64, multiplier, conf float64) (float64, Interval, error) {
	if len(counts) != len(pops) || len(counts) != len(weights) || len(counts) == 0 {
		return 0, Interval{}, ErrInput
	}
	var o, sw, dsr, v float64
	for i := range counts {
		if pops[i] <= 0 || counts[i] < 0 {
			return 0, Interval{}, ErrInput
		}
		o += counts[i]
		sw += weights[i]
		dsr += weights[i] * counts[i] / pops[i]
		v += weights[i] * weights[i] * counts[i] / (pops[i] * pops[i])
	}
	if o < 10 {
		return 0, Interval{}, ErrTooFewEvents
	}
	dsr /= sw
	v /= sw * sw
	b := Byars(o, conf)
	k := math.Sqrt(v / o)
	return dsr * multiplier, Interval{(dsr + k*(b.Lower-o)) * multiplier, (dsr + k*(b.Upper-o)) * multiplier}, nil
}

// SMR is an observed/expected ratio with the count interval of O divided by
// E (phe_smr, refvalue 1).
func SMR(o, e, conf float64) (float64, Interval, error) {
	if o < 0 || e <= 0 {
		return 0, Interval{}, ErrInput
	}
	iv, _ := CountInterval(o, conf)
	return o / e, Interval{iv.Lower / e, iv.Upper / e}, nil
}

// Compare places an interval against a benchmark point value through
// polarity: entirely above is higher (better if higher is better),
// entirely below lower, otherwise similar.
func Compare(iv Interval, benchmark float64, p Polarity) Comparison {
	return compare(iv.Lower, iv.Upper, benchmark, p)
}

// Quantiles assigns PHE quantiles (phe_quantile): ranks with ties at the
// minimum rank; with invert the highest value is in quantile 1.
func Quantiles(values []float64, q int, invert bool) []int {
	n := len(values)
	key := make([]float64, n)
	mx := math.Inf(-1)
	for _, v := range values {
		mx = math.Max(mx, v)
	}
	for i, v := range values {
		key[i] = v
		if invert {
			key[i] = mx - v
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return key[order[a]] < key[order[b]] })
	rank := make([]int, n)
	for pos, i := range order {
		if pos > 0 && key[i] == key[order[pos-1]] {
			rank[i] = rank[order[pos-1]]
		} else {
			rank[i] = pos + 1
		}
	}
	out := make([]int, n)
	for i := range values {
		v := int(math.Floor(float64(q+1) - math.Ceil((float64(n+1)-float64(rank[i]))/(float64(n)/float64(q)))))
		out[i] = max(v, 1)
	}
	return out
}

// RatioLimits are funnel limits around a target ratio of 1 at expected
// count e.
type RatioLimits struct{ Lower95, Upper95, Lower998, Upper998 float64 }

// NormalRatioLimits are 1 ± z·√(1/E).
func NormalRatioLimits(e float64) RatioLimits {
	s := math.Sqrt(1 / e)
	return RatioLimits{1 - z95*s, 1 + z95*s, 1 - z998*s, 1 + z998*s}
}

// LogRatioLimits are exp(±z·√(1/E + τ²)) (SHMI style; τ² = 0 unadjusted).
func LogRatioLimits(e, tau2 float64) RatioLimits {
	s := math.Sqrt(1/e + tau2)
	return RatioLimits{math.Exp(-z95 * s), math.Exp(z95 * s), math.Exp(-z998 * s), math.Exp(z998 * s)}
}

// ExactRatioLimit is Spiegelhalter's exact Poisson limit with
// interpolation at probability p, on the ratio scale around a target of 1:
// r the smallest count with F(r) ≥ p for X ~ Poisson(E), α = (F(r) − p)/
// (F(r) − F(r − 1)), limit (r − α)/E. (The reference also mentions a +1/n
// upper variant; this is the interpolated form without it.) It is not
// clipped: at small E the lower limit falls below zero. It works at any E
// up to 2⁵³ (see distributions.go); inputs it cannot use (E not positive or
// not finite, p outside (0, 1)) give NaN, and ExactRatioLimitChecked says
// why.
func ExactRatioLimit(e, p float64) float64 {
	l, _ := ExactRatioLimitChecked(e, p)
	return l
}

// ExactRatioLimitChecked is ExactRatioLimit with an error in place of NaN:
// ErrInput for inputs it cannot use, ErrNotConverged if a search reached its
// iteration cap.
func ExactRatioLimitChecked(e, p float64) (float64, error) {
	q, err := exactPoissonQuantile(e, p)
	if err != nil {
		return math.NaN(), err
	}
	return q / e, nil
}

// Overdispersion is the estimate of extra-Poisson variation between
// units on the log scale (SHMI method): φ and DerSimonian–Laird τ².
type Overdispersion struct {
	Phi  float64
	Tau2 float64
	N    int
}

// EstimateOverdispersion estimates φ and τ² from observed and expected
// counts with z_i = √E·ln(O/E) (w_i = E_i). winsor, when positive (0.1 in
// Spiegelhalter's method), replaces z-scores beyond that share at either
// end with the percentile values; 0 uses every z as it is.
func EstimateOverdispersion(o, e []float64, winsor float64) (Overdispersion, error) {
	if len(o) != len(e) || len(o) < 2 {
		return Overdispersion{}, ErrInput
	}
	var z, w []float64
	for i := range o {
		if o[i] > 0 && e[i] > 0 {
			z, w = append(z, math.Sqrt(e[i])*math.Log(o[i]/e[i])), append(w, e[i])
		}
	}
	if len(z) < 2 {
		return Overdispersion{}, ErrInput
	}
	z, w = TrimScores(z, w, "winsorise", winsor)
	phi, tau2, _ := DispersionOf(z, w)
	return Overdispersion{Phi: phi, Tau2: tau2, N: len(z)}, nil
}

// percentile is the linear-interpolation percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	pos := p * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// Normalisation is how a composite puts indicators on one scale.
type Normalisation string

// Normalisations: z-scores with the sample standard deviation, or
// min-max to [0, 1]. Both flip lower-is-better indicators.
const (
	ZScore Normalisation = "z-score"
	MinMax Normalisation = "min-max"
)

// Composite combines indicators (columns of values, one row per unit) with
// weights (nil for equal) after normalising each; lower-is-better
// indicators are flipped so that higher composites are better.
func Composite(columns [][]float64, polarity []Polarity, weights []float64, how Normalisation) ([]float64, error) {
	if len(columns) == 0 || len(columns) != len(polarity) {
		return nil, ErrInput
	}
	units := len(columns[0])
	if weights == nil {
		weights = make([]float64, len(columns))
		for i := range weights {
			weights[i] = 1 / float64(len(columns))
		}
	}
	out := make([]float64, units)
	for k, col := range columns {
		if len(col) != units {
			return nil, ErrInput
		}
		norm := make([]float64, units)
		switch how {
		case ZScore:
			var mean, ss float64
			for _, v := range col {
				mean += v
			}
			mean /= float64(units)
			for _, v := range col {
				ss += (v - mean) * (v - mean)
			}
			sd := math.Sqrt(ss / float64(units-1))
			if sd == 0 || units < 2 {
				return nil, ErrInput
			}
			for i, v := range col {
				norm[i] = (v - mean) / sd
				if polarity[k] == LowerIsBetter {
					norm[i] = -norm[i]
				}
			}
		case MinMax:
			mn, mx := math.Inf(1), math.Inf(-1)
			for _, v := range col {
				mn, mx = math.Min(mn, v), math.Max(mx, v)
			}
			if mx == mn {
				return nil, ErrInput
			}
			for i, v := range col {
				norm[i] = (v - mn) / (mx - mn)
				if polarity[k] == LowerIsBetter {
					norm[i] = 1 - norm[i]
				}
			}
		default:
			return nil, ErrInput
		}
		for i := range out {
			out[i] += weights[k] * norm[i]
		}
	}
	return out, nil
}

// FunnelPosition places an observed/expected ratio against the limits at
// its expected count: "within", or above or below the 95% ("alert") or
// 99.8% ("alarm") limits, with strict comparisons.
func FunnelPosition(ratio float64, l RatioLimits) string {
	switch {
	case ratio > l.Upper998:
		return "above the 99.8% limit"
	case ratio > l.Upper95:
		return "above the 95% limit"
	case ratio < l.Lower998:
		return "below the 99.8% limit"
	case ratio < l.Lower95:
		return "below the 95% limit"
	}
	return "within the limits"
}

// ProportionLimits are funnel limits around a target proportion θ0 for a
// unit with n cases, at 95% ("alert") and 99.8% ("alarm"), clipped to
// [0, 1].
type ProportionLimits struct{ Lower95, Upper95, Lower998, Upper998 float64 }

func clip01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

// NormalProportionLimits are θ0 ± z·√(θ0(1 − θ0)/n), which is also what
// PHE's Wilson-inversion gives (statistics.md B1).
func NormalProportionLimits(theta, n float64) ProportionLimits {
	s := math.Sqrt(theta * (1 - theta) / n)
	return ProportionLimits{clip01(theta - z95*s), clip01(theta + z95*s), clip01(theta - z998*s), clip01(theta + z998*s)}
}

// ExactProportionLimit is Spiegelhalter's exact binomial limit with
// interpolation at probability p: r the smallest count with F(r) ≥ p for
// X ~ Binomial(n, θ0), α = (F(r) − p)/(F(r) − F(r − 1)), limit (r − α)/n,
// clipped to [0, 1]. (The +1/n upper variant of some implementations is not
// used.) It works for any n up to 2⁵³ (see distributions.go); inputs it
// cannot use (n < 1, θ0 outside (0, 1), p outside (0, 1), NaN) give NaN,
// and ExactProportionLimitChecked says why.
func ExactProportionLimit(theta float64, n int, p float64) float64 {
	l, _ := ExactProportionLimitChecked(theta, n, p)
	return l
}

// ExactProportionLimitChecked is ExactProportionLimit with an error in
// place of NaN: ErrInput for inputs it cannot use, ErrNotConverged if a
// search reached its iteration cap.
func ExactProportionLimitChecked(theta float64, n int, p float64) (float64, error) {
	q, err := exactBinomialQuantile(theta, n, p)
	if err != nil {
		return math.NaN(), err
	}
	return clip01(q / float64(n)), nil
}

// ArcsineProportionLimits are sin²(asin√θ0 ± z·√(1/(4n) + τ²)), clipped
// (FunnelPlotR's "PR" form; τ² = 0 unadjusted).
func ArcsineProportionLimits(theta, n, tau2 float64) ProportionLimits {
	a, s := math.Asin(math.Sqrt(theta)), math.Sqrt(1/(4*n)+tau2)
	f := func(x float64) float64 {
		x = math.Min(math.Max(x, 0), math.Pi/2)
		return math.Pow(math.Sin(x), 2)
	}
	return ProportionLimits{f(a - z95*s), f(a + z95*s), f(a - z998*s), f(a + z998*s)}
}

// Classification places a unit's value against its limits with strict
// comparisons (FunnelPlotR): "alarm" beyond 99.8%, "alert" beyond 95%,
// otherwise "within"; high says on which side.
func Classification(value float64, lower95, upper95, lower998, upper998 float64) (level string, high bool) {
	switch {
	case value > upper998:
		return "alarm", true
	case value < lower998:
		return "alarm", false
	case value > upper95:
		return "alert", true
	case value < lower95:
		return "alert", false
	}
	return "within", false
}

// ChiSquareRatioLimits are FunnelPlotR's unadjusted limits for a ratio
// with target 1 ("exact CI" form): lower χ²_{α; 2E}/(2E) and upper
// χ²_{1−α; 2(E+1)}/(2E), treating E as an observed count (a CI-based, not
// prediction-based, limit), with α = 0.025 and 0.001. As in FunnelPlotR,
// E is not rounded: the chi-square has 2E degrees of freedom whether or
// not E is whole. (Earlier versions rounded E to a whole number and
// searched only up to E + 60, which clipped the upper limit at large E.)
// An E that is not positive and finite gives NaN limits;
// ChiSquareRatioLimitsChecked says why.
func ChiSquareRatioLimits(e float64) RatioLimits {
	l, _ := ChiSquareRatioLimitsChecked(e)
	return l
}

// ChiSquareRatioLimitsChecked is ChiSquareRatioLimits with an error
// (ErrInput) in place of NaN limits.
func ChiSquareRatioLimitsChecked(e float64) (RatioLimits, error) {
	if !usable(e) || e <= 0 {
		nan := math.NaN()
		return RatioLimits{nan, nan, nan, nan}, fmt.Errorf("%w: the expected count %v must be positive and finite", ErrInput, e)
	}
	lo := func(tail float64) float64 { return gammaQuantile(e, tail) / e }
	hi := func(tail float64) float64 { return gammaQuantile(e+1, 1-tail) / e }
	return RatioLimits{lo(0.025), hi(0.025), lo(0.001), hi(0.001)}, nil
}
