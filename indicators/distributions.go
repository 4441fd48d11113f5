package indicators

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// Distribution functions for the exact limits (statistics.md B1 and B4),
// written to work at any volume a national audit meets: expected counts from
// 0.1 to 10⁶ and more, and denominators up to 10⁷.
//
// The earlier versions summed probability mass terms from zero. At hospital
// volumes the first term, e^−E or (1 − θ)ⁿ, underflows to zero, so the sum
// stays at zero and a search that walks up from zero never ends. Here every
// tail probability comes from the regularised incomplete gamma and beta
// functions (gonum's mathext, after Cephes), which keep their relative
// accuracy in both tails, and the probability mass is computed on the log
// scale. Quantiles are searched from a Cornish–Fisher starting point with a
// bounded number of evaluations, so a computation either returns or reports
// ErrNotConverged.

// ErrNotConverged is returned when a numerical search reached its iteration
// cap without an answer. It should not happen for finite inputs; it is the
// guard that turns a would-be hang into an error.
var ErrNotConverged = errors.New("the computation did not converge within its iteration limit")

// maxCount is the largest count the exact methods accept: beyond 2⁵³ whole
// numbers are no longer exact in a float64.
const maxCount = 1 << 53

// maxSearchSteps caps the evaluations of the distribution function in one
// quantile search (a doubling bracket of at most 54 steps then a bisection
// of at most 54 more).
const maxSearchSteps = 200

// discrete describes a distribution on the whole numbers 0..max.
type discrete struct {
	cdf    func(k float64) float64 // P(X ≤ k)
	sf     func(k float64) float64 // P(X > k), computed directly, not as 1 − cdf
	logPMF func(k float64) float64 // log P(X = k)
	mean   float64
	sd     float64
	skew   float64
	max    float64 // the largest value with positive probability (+Inf for the Poisson)
}

// poisson is the Poisson distribution with mean mu. P(X ≤ k) is the
// complemented regularised incomplete gamma function Q(k + 1, mu), and
// P(X > k) is P(k + 1, mu).
func poisson(mu float64) discrete {
	return discrete{
		cdf: func(k float64) float64 { return mathext.GammaIncRegComp(k+1, mu) },
		sf:  func(k float64) float64 { return mathext.GammaIncReg(k+1, mu) },
		logPMF: func(k float64) float64 {
			lg, _ := math.Lgamma(k + 1)
			return k*math.Log(mu) - mu - lg
		},
		mean: mu, sd: math.Sqrt(mu), skew: 1 / math.Sqrt(mu), max: math.Inf(1),
	}
}

// binomial is the binomial distribution of n trials with probability theta.
// P(X ≤ k) is the regularised incomplete beta function I_{1−θ}(n − k, k + 1)
// and P(X > k) is I_θ(k + 1, n − k).
func binomial(n, theta float64) discrete {
	sd := math.Sqrt(n * theta * (1 - theta))
	return discrete{
		cdf: func(k float64) float64 {
			if k >= n {
				return 1
			}
			return mathext.RegIncBeta(n-k, k+1, 1-theta)
		},
		sf: func(k float64) float64 {
			if k >= n {
				return 0
			}
			return mathext.RegIncBeta(k+1, n-k, theta)
		},
		logPMF: func(k float64) float64 {
			ln, _ := math.Lgamma(n + 1)
			lk, _ := math.Lgamma(k + 1)
			lnk, _ := math.Lgamma(n - k + 1)
			return ln - lk - lnk + k*math.Log(theta) + (n-k)*math.Log1p(-theta)
		},
		mean: n * theta, sd: sd, skew: (1 - 2*theta) / sd, max: n,
	}
}

// reaches reports whether P(X ≤ k) ≥ p. Above the median it is tested as
// P(X > k) ≤ 1 − p, the same inequality, because the upper tail keeps its
// digits where P(X ≤ k) is close to 1 (1 − p is exact in floating point for
// p from 0.5 to 1).
func (d discrete) reaches(k, p float64) bool {
	if k < 0 {
		return false
	}
	if p > 0.5 {
		return d.sf(k) <= 1-p
	}
	return d.cdf(k) >= p
}

// start is a first guess at the p-quantile: the Cornish–Fisher expansion
// mean + sd·(z + (z² − 1)·skew/6), rounded down and kept within 0..max.
func (d discrete) start(p float64) float64 {
	z := normalQuantile(p)
	g := math.Floor(d.mean + d.sd*(z+(z*z-1)*d.skew/6))
	if math.IsNaN(g) || g < 0 {
		return 0
	}
	return math.Min(g, d.max)
}

// quantile is the smallest whole k with P(X ≤ k) ≥ p, for 0 < p < 1. From
// the starting guess it brackets the answer by doubling steps, down or up,
// then bisects the bracket on whole numbers, so the number of evaluations
// grows with the logarithm of the guess's error and is capped by
// maxSearchSteps.
func (d discrete) quantile(p float64) (float64, error) {
	steps := 0
	step := func() bool { steps++; return steps <= maxSearchSteps }
	// lo never reaches p (−1 stands for "below the support"); hi does.
	var lo, hi float64
	g := d.start(p)
	if d.reaches(g, p) {
		hi, lo = g, g-1
		for w := 1.0; lo >= 0 && d.reaches(lo, p); w *= 2 {
			if !step() {
				return math.NaN(), ErrNotConverged
			}
			hi, lo = lo, math.Max(lo-2*w, -1)
		}
	} else {
		lo, hi = g, g+1
		for w := 1.0; hi < d.max && !d.reaches(hi, p); w *= 2 {
			if !step() {
				return math.NaN(), ErrNotConverged
			}
			lo, hi = hi, math.Min(hi+2*w, d.max)
		}
		// At the top of a bounded support P(X ≤ max) = 1 ≥ p.
	}
	for hi-lo > 1 {
		if !step() {
			return math.NaN(), ErrNotConverged
		}
		mid := lo + math.Floor((hi-lo)/2)
		if d.reaches(mid, p) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

// interpolatedQuantile is Spiegelhalter's interpolated p-quantile r − α of
// a discrete distribution (statistics.md B1): r is the smallest count with
// F(r) ≥ p and α = (F(r) − p)/(F(r) − F(r − 1)). The denominator is the
// probability mass f(r), taken from its logarithm so that it keeps its
// accuracy where it is small; above the median the numerator is computed
// from the upper tail, as (1 − p) − P(X > r). Rounding can put α a hair
// outside [0, 1]; it is clamped there.
func (d discrete) interpolatedQuantile(p float64) (float64, error) {
	r, err := d.quantile(p)
	if err != nil {
		return math.NaN(), err
	}
	num := d.cdf(r) - p
	if p > 0.5 {
		num = (1 - p) - d.sf(r)
	}
	mass := math.Exp(d.logPMF(r))
	alpha := num / mass
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		return math.NaN(), fmt.Errorf("%w: the probability mass at %v is zero", ErrNotConverged, r)
	}
	return r - math.Min(math.Max(alpha, 0), 1), nil
}

// usable reports whether x is a finite number.
func usable(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// checkProbability rejects a probability outside the open interval (0, 1).
func checkProbability(p float64) error {
	if !usable(p) || p <= 0 || p >= 1 {
		return fmt.Errorf("%w: the probability %v must be strictly between 0 and 1", ErrInput, p)
	}
	return nil
}

// exactPoissonQuantile is the interpolated p-quantile r − α of the Poisson
// distribution with mean e (a count, not yet divided by e).
func exactPoissonQuantile(e, p float64) (float64, error) {
	if !usable(e) || e <= 0 || e > maxCount {
		return math.NaN(), fmt.Errorf("%w: the expected count %v must be positive and finite", ErrInput, e)
	}
	if err := checkProbability(p); err != nil {
		return math.NaN(), err
	}
	return poisson(e).interpolatedQuantile(p)
}

// exactBinomialQuantile is the interpolated p-quantile r − α of the
// binomial distribution of n trials with probability theta.
func exactBinomialQuantile(theta float64, n int, p float64) (float64, error) {
	if n < 1 || n > maxCount {
		return math.NaN(), fmt.Errorf("%w: the number of cases %d must be at least 1", ErrInput, n)
	}
	if !usable(theta) || theta <= 0 || theta >= 1 {
		return math.NaN(), fmt.Errorf("%w: the target proportion %v must be strictly between 0 and 1", ErrInput, theta)
	}
	if err := checkProbability(p); err != nil {
		return math.NaN(), err
	}
	return binomial(float64(n), theta).interpolatedQuantile(p)
}

// gammaQuantile is the p-quantile of the gamma distribution with shape a
// and scale 1, that is qchisq(p, 2a)/2, for a > 0 and 0 < p < 1. The
// upper half comes from gonum's inverse of the complemented incomplete
// gamma function. Below the median gonum's answer is polished by Newton
// steps on log x: for a small shape the lower quantiles are tiny numbers
// (about (p·Γ(a + 1))^(1/a)) that its search can leave inexact or at zero.
func gammaQuantile(a, p float64) float64 {
	if p >= 0.5 {
		return mathext.GammaIncRegCompInv(a, 1-p)
	}
	x := mathext.GammaIncRegInv(a, p)
	if !(x > 0) || math.IsInf(x, 0) {
		lg, _ := math.Lgamma(a + 1)
		x = math.Exp((math.Log(p) + lg) / a)
	}
	return polishLowerGamma(a, p, x)
}

// polishLowerGamma refines x towards P(a, x) = p by Newton's method on
// u = log x: g(u) = log P(a, eᵘ) − log p has derivative x·f(x)/P(a, x),
// with f the gamma density. It stops after 30 steps or when a step no
// longer moves x, and keeps x if a step goes wrong.
func polishLowerGamma(a, p, x float64) float64 {
	lga, _ := math.Lgamma(a)
	logp := math.Log(p)
	for i := 0; i < 30 && x > 0 && usable(x); i++ {
		cdf := mathext.GammaIncReg(a, x)
		if !(cdf > 0) {
			return x
		}
		logDensity := (a-1)*math.Log(x) - x - lga
		slope := x * math.Exp(logDensity) / cdf
		du := (math.Log(cdf) - logp) / slope
		if !usable(du) {
			return x
		}
		next := x * math.Exp(-du)
		if math.Abs(next-x) <= 1e-15*x {
			return next
		}
		x = next
	}
	return x
}

// poissonMeanLower is the mean at which a count x is at the top of the
// lower tail, P(X ≥ x) = tail: χ²_{tail; 2x}/2, and 0 when x = 0.
func poissonMeanLower(x, tail float64) float64 {
	if x == 0 {
		return 0
	}
	return gammaQuantile(x, tail)
}

// poissonMeanUpper is the mean at which P(X ≤ x) = tail:
// χ²_{1 − tail; 2x + 2}/2.
func poissonMeanUpper(x, tail float64) float64 {
	return gammaQuantile(x+1, 1-tail)
}

// tQuantile is the p-quantile of Student's t distribution with df degrees
// of freedom (R's qt(p, df)), through gonum's inverse incomplete beta
// function; df need not be whole.
func tQuantile(p, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}
