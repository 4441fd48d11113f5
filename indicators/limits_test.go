package indicators

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The reference values in testdata were computed by R with its own
// distribution functions; the scripts beside them say how to regenerate
// them (Rscript indicators/testdata/limits-reference.R >
// indicators/testdata/limits-reference.csv).

// closeTo checks got against an R value to 1e-6 relative, or 1e-12
// absolute near zero.
func closeTo(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > math.Max(1e-6*math.Abs(want), 1e-12) {
		t.Errorf("%s = %.15g, want %.15g (R)", name, got, want)
	}
}

// readReference reads a CSV of reference values with "#" comment lines,
// returning the rows as maps from the header's column names.
func readReference(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) < 2 {
		t.Fatalf("%s has no rows", path)
	}
	var rows []map[string]string
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, col := range records[0] {
			row[col] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

func number(t *testing.T, s string) float64 {
	t.Helper()
	if s == "NA" {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("reference value %q: %v", s, err)
	}
	return v
}

// TestLimitsAgainstR compares every limit of the reference grid with R:
// exact Poisson and binomial limits with Spiegelhalter's interpolation,
// chi-square ratio limits, exact Poisson and Byar's intervals of a count,
// and Student's t quantiles (through MeanInterval too).
func TestLimitsAgainstR(t *testing.T) {
	rows := readReference(t, "testdata/limits-reference.csv")
	counts := map[string]int{}
	for _, row := range rows {
		kind := row["kind"]
		a, b, p, want := number(t, row["a"]), number(t, row["b"]), number(t, row["p"]), number(t, row["value"])
		name := fmt.Sprintf("%s a=%s b=%s p=%s", kind, row["a"], row["b"], row["p"])
		counts[kind]++
		switch kind {
		case "poisson-limit":
			closeTo(t, name, ExactRatioLimit(a, p), want)
		case "binomial-limit":
			n := int(a)
			q, err := exactBinomialQuantile(b, n, p)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			closeTo(t, name+" (unclipped)", q/a, want)
			closeTo(t, name, ExactProportionLimit(b, n, p), clip01(want))
		case "chisq-ratio":
			closeTo(t, name, chiSquareField(ChiSquareRatioLimits(a), p), want)
		case "poisson-ci":
			iv := ExactPoisson(a, b)
			closeTo(t, name, pick(iv, p), want)
			if a < 10 {
				civ, method := CountInterval(a, b)
				if method != "Exact" {
					t.Errorf("%s: CountInterval used %s", name, method)
				}
				closeTo(t, name+" (CountInterval)", pick(civ, p), want)
			}
		case "byars":
			closeTo(t, name, pick(Byars(a, b), p), want)
		case "t-quantile":
			closeTo(t, name, tQuantile(p, a), want)
			// A mean of n = df + 1 individuals with sd = √n has the
			// half-width t exactly.
			iv, err := MeanInterval(10, math.Sqrt(a+1), a+1, 2*p-1)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			closeTo(t, name+" (MeanInterval)", iv.Upper-10, want)
			closeTo(t, name+" (MeanInterval lower)", 10-iv.Lower, want)
		default:
			t.Errorf("unknown kind %q", kind)
		}
	}
	want := map[string]int{"poisson-limit": 64, "binomial-limit": 160, "chisq-ratio": 68, "poisson-ci": 56, "byars": 16, "t-quantile": 18}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d %s rows in the reference, want %d", counts[k], k, n)
		}
	}
}

// pick is the lower limit for a lower-tail probability, else the upper.
func pick(iv Interval, p float64) float64 {
	if p < 0.5 {
		return iv.Lower
	}
	return iv.Upper
}

func chiSquareField(l RatioLimits, p float64) float64 {
	switch p {
	case 0.025:
		return l.Lower95
	case 0.975:
		return l.Upper95
	case 0.001:
		return l.Lower998
	case 0.999:
		return l.Upper998
	}
	return math.NaN()
}

// TestProportionTrendAgainstR compares ProportionTrend with R's
// prop.trend.test (statistic) and the weighted slope it fits.
func TestProportionTrendAgainstR(t *testing.T) {
	rows := readReference(t, "testdata/proptrend-reference.csv")
	list := func(s string) []float64 {
		var out []float64
		for _, f := range strings.Split(s, ";") {
			out = append(out, number(t, f))
		}
		return out
	}
	for _, row := range rows {
		name := "x=" + row["x"] + " n=" + row["n"] + " score=" + row["score"]
		slope, chi2, err := ProportionTrendAt(list(row["score"]), list(row["x"]), list(row["n"]))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		closeTo(t, name+" statistic", chi2, number(t, row["statistic"]))
		closeTo(t, name+" slope", slope, number(t, row["slope"]))
	}
	if len(rows) < 8 {
		t.Errorf("only %d reference cases", len(rows))
	}
}

func TestProportionTrendRejectsBadCounts(t *testing.T) {
	for name, c := range map[string][2][]float64{
		"one point":        {{1}, {10}},
		"lengths differ":   {{1, 2}, {10}},
		"zero denominator": {{1, 0}, {10, 0}},
		"x above n":        {{11, 2}, {10, 10}},
		"negative":         {{-1, 2}, {10, 10}},
		"NaN":              {{math.NaN(), 2}, {10, 10}},
		"all zero":         {{0, 0, 0}, {10, 10, 10}},
		"all events":       {{10, 10}, {10, 10}},
	} {
		if _, _, err := ProportionTrend(c[0], c[1]); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
}

func TestMeanIntervalNeedsTwoIndividuals(t *testing.T) {
	for _, n := range []float64{1, 0, -3, math.NaN()} {
		if _, err := MeanInterval(5, 1, n, 0.95); err == nil || !strings.Contains(err.Error(), "fewer than two individuals") {
			t.Errorf("n = %v: err = %v", n, err)
		}
	}
	if _, err := MeanInterval(5, -1, 10, 0.95); err == nil {
		t.Error("a negative standard deviation was accepted")
	}
	// Large n: t converges to the normal z.
	iv, err := MeanInterval(0, 1e4, 1e8, 0.95)
	if err != nil || math.Abs(iv.Upper-z95) > 1e-6 {
		t.Errorf("n = 1e8: %+v %v, want upper %v", iv, err, z95)
	}
}

// The grids of the reference, and some hostile values.
var (
	gridE      = []float64{0.1, 0.5, 1, 2, 5, 10, 20, 30, 100, 500, 800, 1000, 5000, 1e4, 1e5, 1e6}
	gridN      = []int{10, 50, 100, 1000, 8000, 1e5, 1e6, 1e7}
	gridTheta  = []float64{0.001, 0.01, 0.1, 0.5, 0.9}
	gridP      = []float64{0.001, 0.025, 0.975, 0.999}
	hostileE   = []float64{1e-9, 1e7, 1e15, 0, -1, math.NaN(), math.Inf(1), math.Inf(-1)}
	hostileP   = []float64{0, 1, -0.5, 1.5, math.NaN(), math.Inf(1), 1e-300, 1 - 1e-16}
	hostileTh  = []float64{1e-12, 1 - 1e-12, 0, 1, math.NaN(), math.Inf(1), math.Inf(-1)}
	hostileN   = []int{1, 2, 0, -1, 1 << 40}
	hangBudget = 2 * time.Second
)

// returnsWithin runs f in a goroutine and fails the test if it has not
// returned within the budget: a guard against hangs, not a benchmark.
func returnsWithin(t *testing.T, name string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(hangBudget)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Errorf("%s did not return within %v", name, hangBudget)
	}
}

// TestExactLimitsNeverHang calls every limit function over the grids and
// the hostile values, each in a goroutine with a time budget.
func TestExactLimitsNeverHang(t *testing.T) {
	es := append(append([]float64(nil), gridE...), hostileE...)
	ps := append(append([]float64(nil), gridP...), hostileP...)
	thetas := append(append([]float64(nil), gridTheta...), hostileTh...)
	ns := append(append([]int(nil), gridN...), hostileN...)
	for _, e := range es {
		for _, p := range ps {
			returnsWithin(t, fmt.Sprintf("ExactRatioLimit(%v, %v)", e, p), func() { ExactRatioLimit(e, p) })
		}
		returnsWithin(t, fmt.Sprintf("ChiSquareRatioLimits(%v)", e), func() { ChiSquareRatioLimits(e) })
		for _, conf := range []float64{0.95, 0.998, 0, 1, math.NaN()} {
			returnsWithin(t, fmt.Sprintf("ExactPoisson(%v, %v)", e, conf), func() { ExactPoisson(e, conf) })
			returnsWithin(t, fmt.Sprintf("Byars(%v, %v)", e, conf), func() { Byars(e, conf) })
			returnsWithin(t, fmt.Sprintf("MeanInterval(n = %v, %v)", e, conf), func() { _, _ = MeanInterval(1, 1, e, conf) })
		}
	}
	for _, n := range ns {
		for _, theta := range thetas {
			for _, p := range ps {
				returnsWithin(t, fmt.Sprintf("ExactProportionLimit(%v, %v, %v)", theta, n, p), func() { ExactProportionLimit(theta, n, p) })
			}
		}
	}
}

// TestExactLimitsRejectUnusableInputs: NaN, infinite and non-positive
// inputs give NaN, and the checked variants ErrInput.
func TestExactLimitsRejectUnusableInputs(t *testing.T) {
	for _, e := range []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if l, err := ExactRatioLimitChecked(e, 0.975); !math.IsNaN(l) || !errors.Is(err, ErrInput) {
			t.Errorf("ExactRatioLimitChecked(%v) = %v, %v", e, l, err)
		}
		if l, err := ChiSquareRatioLimitsChecked(e); !math.IsNaN(l.Upper95) || !math.IsNaN(l.Lower998) || !errors.Is(err, ErrInput) {
			t.Errorf("ChiSquareRatioLimitsChecked(%v) = %v, %v", e, l, err)
		}
		if iv := ExactPoisson(e, 0.95); e != 0 && (!math.IsNaN(iv.Lower) || !math.IsNaN(iv.Upper)) {
			t.Errorf("ExactPoisson(%v) = %+v", e, iv)
		}
	}
	for _, p := range []float64{0, 1, -0.5, 1.5, math.NaN(), math.Inf(1)} {
		if l, err := ExactRatioLimitChecked(20, p); !math.IsNaN(l) || !errors.Is(err, ErrInput) {
			t.Errorf("ExactRatioLimitChecked(20, %v) = %v, %v", p, l, err)
		}
		if l, err := ExactProportionLimitChecked(0.1, 50, p); !math.IsNaN(l) || !errors.Is(err, ErrInput) {
			t.Errorf("ExactProportionLimitChecked(0.1, 50, %v) = %v, %v", p, l, err)
		}
	}
	for _, theta := range []float64{0, 1, -0.1, math.NaN(), math.Inf(1)} {
		if l, err := ExactProportionLimitChecked(theta, 50, 0.975); !math.IsNaN(l) || !errors.Is(err, ErrInput) {
			t.Errorf("ExactProportionLimitChecked(%v, 50) = %v, %v", theta, l, err)
		}
	}
	for _, n := range []int{0, -5} {
		if l := ExactProportionLimit(0.1, n, 0.975); !math.IsNaN(l) {
			t.Errorf("ExactProportionLimit(0.1, %d) = %v", n, l)
		}
	}
	// Extreme but usable inputs give numbers.
	for _, c := range [][2]float64{{1e-9, 0.975}, {1e7, 0.999}, {1e15, 0.025}} {
		if l, err := ExactRatioLimitChecked(c[0], c[1]); err != nil || math.IsNaN(l) {
			t.Errorf("ExactRatioLimitChecked(%v, %v) = %v, %v", c[0], c[1], l, err)
		}
	}
	for _, theta := range []float64{1e-12, 1 - 1e-12} {
		for _, n := range []int{1, 10, 1e7} {
			if l, err := ExactProportionLimitChecked(theta, n, 0.999); err != nil || l < 0 || l > 1 {
				t.Errorf("ExactProportionLimitChecked(%v, %d) = %v, %v", theta, n, l, err)
			}
		}
	}
}

// The three failures at hospital volumes (R: 1.0692655269242,
// 0.106559238732181, and an upper limit above 1 at E = 1,000).
func TestExactLimitsAtHospitalVolumes(t *testing.T) {
	closeTo(t, "ExactRatioLimit(800, 0.975)", ExactRatioLimit(800, 0.975), 1.0692655269242)
	closeTo(t, "ExactProportionLimit(0.1, 8000, 0.975)", ExactProportionLimit(0.1, 8000, 0.975), 0.106559238732181)
	l := ChiSquareRatioLimits(1000)
	closeTo(t, "ChiSquareRatioLimits(1000) upper 95%", l.Upper95, 1.0639521360163)
	if l := ChiSquareRatioLimits(500); l.Upper998 <= 1.12 {
		t.Errorf("ChiSquareRatioLimits(500) upper 99.8%% = %v, clipped", l.Upper998)
	}
}

// denseE is a log-spaced grid of expected counts from 0.1 to 10⁶.
func denseE() []float64 {
	const steps = 4000
	out := make([]float64, steps+1)
	for i := range out {
		out[i] = 0.1 * math.Pow(1e7, float64(i)/steps)
	}
	return out
}

// TestExactPoissonLimitsAreMonotone checks the exact Poisson limits over a
// dense grid of E from 0.1 to 10⁶:
//   - on the count scale, r − α never decreases as E grows (its derivative
//     is 1 + α(r/E − 1) ≥ r/E ≥ 0), and never decreases with p;
//   - on the ratio scale the upper limit is at least 1 and the lower at
//     most 1, and the upper limit falls towards 1 as E grows.
//
// The fall is not strictly monotone: within each step of r the ratio
// (r − α)/E rises briefly (its derivative is (α − (1 − α)(r − E))/E², which
// is positive just after r steps up, where α is near 1). R's qpois and
// ppois give the same saw-tooth (visible up to E ≈ 77 on a grid of 20,000
// points), so it is a property of the interpolated method, not of this
// code. The test therefore checks the fall between E and 2E (between E
// and 1.5E it fails below E ≈ 0.25 at p = 0.975).
func TestExactPoissonLimitsAreMonotone(t *testing.T) {
	es := denseE()
	prev := make([]float64, len(gridP))
	for i := range prev {
		prev[i] = math.Inf(-1)
	}
	for _, e := range es {
		var qs []float64
		for j, p := range gridP {
			q, err := exactPoissonQuantile(e, p)
			if err != nil {
				t.Fatalf("E = %v, p = %v: %v", e, p, err)
			}
			if q < prev[j]-1e-9*math.Abs(prev[j]) {
				t.Errorf("p = %v: r − α fell from %v to %v at E = %v", p, prev[j], q, e)
			}
			prev[j] = q
			qs = append(qs, q)
		}
		for j := 1; j < len(qs); j++ {
			if qs[j] < qs[j-1] {
				t.Errorf("E = %v: the limit at p = %v is below the one at %v", e, gridP[j], gridP[j-1])
			}
		}
		for _, p := range gridP {
			l := ExactRatioLimit(e, p)
			if (p > 0.5 && l < 1) || (p < 0.5 && l > 1) {
				t.Errorf("E = %v, p = %v: ratio limit %v on the wrong side of 1", e, p, l)
			}
			if p > 0.5 && ExactRatioLimit(2*e, p) >= l {
				t.Errorf("E = %v, p = %v: the upper limit does not fall from E to 2E (%v, %v)", e, p, l, ExactRatioLimit(2*e, p))
			}
			if p < 0.5 && ExactRatioLimit(2*e, p) <= l {
				t.Errorf("E = %v, p = %v: the lower limit does not rise from E to 2E", e, p)
			}
		}
	}
	if u := ExactRatioLimit(1e6, 0.999); u-1 > 0.0035 {
		t.Errorf("upper 99.9%% limit at E = 10⁶ is %v, want close to 1", u)
	}
}

// TestChiSquareLimitsAreMonotone: the chi-square limits are continuous in
// E; the upper limits fall and the lower rise towards 1 as E grows.
func TestChiSquareLimitsAreMonotone(t *testing.T) {
	var prev RatioLimits
	for i, e := range denseE() {
		l := ChiSquareRatioLimits(e)
		if l.Lower998 > l.Lower95 || l.Lower95 > 1 || l.Upper95 < 1 || l.Upper998 < l.Upper95 {
			t.Errorf("E = %v: limits out of order %+v", e, l)
		}
		if i > 0 && (l.Upper95 > prev.Upper95 || l.Upper998 > prev.Upper998 || l.Lower95 < prev.Lower95 || l.Lower998 < prev.Lower998) {
			t.Errorf("E = %v: limits %+v not monotone after %+v", e, l, prev)
		}
		prev = l
	}
}

// TestExactBinomialLimitsAreMonotone: for each target θ0, the count-scale
// limit r − α never falls as n grows, the limits are ordered in p, and the
// upper limit is at least θ0 and the lower at most θ0 once nθ0 ≥ 0.1.
func TestExactBinomialLimitsAreMonotone(t *testing.T) {
	for _, theta := range []float64{0.01, 0.1, 0.5, 0.9} {
		prev := make([]float64, len(gridP))
		for i := range prev {
			prev[i] = math.Inf(-1)
		}
		for i := 0; i <= 600; i++ {
			n := int(math.Round(10 * math.Pow(1e6, float64(i)/600)))
			for j, p := range gridP {
				q, err := exactBinomialQuantile(theta, n, p)
				if err != nil {
					t.Fatalf("θ = %v, n = %d, p = %v: %v", theta, n, p, err)
				}
				if q < prev[j]-1e-9*math.Abs(prev[j]) {
					t.Errorf("θ = %v, p = %v: r − α fell from %v to %v at n = %d", theta, p, prev[j], q, n)
				}
				if j > 0 && q < prev[j-1] {
					t.Errorf("θ = %v, n = %d: limits out of order in p", theta, n)
				}
				prev[j] = q
				if float64(n)*theta >= 0.1 && ((p > 0.5 && q/float64(n) < theta) || (p < 0.5 && q/float64(n) > theta)) {
					t.Errorf("θ = %v, n = %d, p = %v: limit %v on the wrong side of θ", theta, n, p, q/float64(n))
				}
			}
		}
	}
}
