package indicators

import (
	"fmt"
	"math"
	"sort"
)

// One verdict per indicator. A definition declares how its organisations
// are compared (Definition.Verdict): the 95% (or 99.8%) interval against
// the benchmark value, as Fingertips does, or a funnel plot's control
// limits around the target, as NHS Digital's SHMI banding does. The
// verdict is settled here, once, at submission, and stored in
// Observation.Comparison; every page, API answer, twin and feed reads it
// from there. The other method, when the definition asks to show it too
// (verdict.alsoShow), goes in Observation.Beside and is always labelled as
// not the verdict.
//
// A funnel's overdispersion, when not declared, is allowed for wherever
// the limits can be widened (additive τ² for log-scale and arcsine limits,
// multiplicative φ for normal limits): a funnel that ignores variation
// between organisations the risk model cannot explain flags too many of
// them, which is the unsafe error for a published comparison of named
// hospitals. It is applied only when I·φ > I − 1 (statistics.md B1).
// Trimming defaults to Spiegelhalter's 10% winsorising; "truncate" leaves
// out ⌊I × share⌋ organisations at each end of the sorted z-scores, which
// is NHS Digital's SHMI method: with it Candour reproduces every published
// SHMI banding and overdispersion limit of the demo's eleven publications
// (tested in cmd/candour).

// funnelSpec is a definition's funnel with its defaults filled in.
type funnelSpec struct {
	limits, overdispersion, trim string
	trimBy                       float64
	proportion                   bool
	scale                        float64
}

func specOf(d Definition) funnelSpec {
	v := d.Verdict
	s := funnelSpec{limits: v.Limits, overdispersion: v.Overdispersion, trim: v.Trim, trimBy: v.TrimBy,
		proportion: d.Method == MethodWilson, scale: 1}
	if s.proportion {
		s.scale = scaleOf(d)
	}
	if s.overdispersion == "" {
		s.overdispersion = overdispersionFor[s.limits]
		if s.overdispersion == "" {
			s.overdispersion = "none"
		}
	}
	if s.trim == "" {
		s.trim = "winsorise"
	}
	if s.trimBy == 0 {
		s.trimBy = 0.1
	}
	return s
}

// funnelUnit is one organisation placed on the funnel.
type funnelUnit struct {
	index     int
	o, n      float64 // events and cases (proportions) or observed and expected (ratios)
	value     float64 // in the indicator's unit
	precision float64 // cases, or expected events
}

// applyVerdict settles each observation's verdict and, when the
// definition has a funnel, places every eligible organisation on it. It
// returns the funnel fitted, nil when there is none.
func applyVerdict(d Definition, obs []Observation) (*FunnelFit, error) {
	v := d.Verdict
	if !v.HasFunnel() {
		return nil, nil
	}
	spec := specOf(d)
	units, target := funnelUnits(d, obs, spec)
	var fit *FunnelFit
	if !math.IsNaN(target) {
		f := fitFunnel(spec, target, units)
		f.Level = 95
		if v.Conf() == 0.998 {
			f.Level = 99.8
		}
		fit = &f
	}
	onFunnel := map[int]Comparison{}
	for _, u := range units {
		if fit == nil {
			break
		}
		l, err := fit.limitsAt(spec, u.precision)
		if err != nil {
			return nil, fmt.Errorf("indicator %s: %s: %w", d.ID, obs[u.index].Organisation, err)
		}
		o := &obs[u.index]
		o.FunnelLower95, o.FunnelUpper95, o.FunnelLower998, o.FunnelUpper998 = fptr(l.Lower95), fptr(l.Upper95), fptr(l.Lower998), fptr(l.Upper998)
		o.Funnel = FunnelPosition(u.value, l)
		onFunnel[u.index] = funnelComparison(u.value, l, fit.Level)
	}
	for i := range obs {
		o := &obs[i]
		interval := o.Comparison
		cmp, placed := onFunnel[i]
		if !placed {
			cmp = NotCompared
		}
		if v.Decides() == VerdictInterval {
			o.Beside = cmp
			continue
		}
		o.Comparison, o.Beside = cmp, ""
		if v.AlsoShow == VerdictInterval {
			o.Beside = interval
		}
		if placed {
			if o.Reason == "no benchmark to compare with" {
				o.Reason = ""
			}
		} else if o.Value != nil && o.Reason == "" {
			o.Reason = "not placed on the funnel plot"
		}
	}
	return fit, nil
}

// funnelComparison is the funnel verdict at a level: beyond the 95% (or
// 99.8%) control limits, strictly, is higher or lower than expected.
func funnelComparison(value float64, l RatioLimits, level float64) Comparison {
	lo, hi := l.Lower95, l.Upper95
	if level == 99.8 {
		lo, hi = l.Lower998, l.Upper998
	}
	switch {
	case value > hi:
		return HigherThanExpected
	case value < lo:
		return LowerThanExpected
	}
	return AsExpected
}

// funnelUnits are the organisations a funnel places: shown, with counts,
// and at least the minimum to compare. target is the funnel's centre in
// the statistic's own scale (a proportion, or a ratio), NaN when there is
// none.
func funnelUnits(d Definition, obs []Observation, spec funnelSpec) ([]funnelUnit, float64) {
	target := 1.0
	if d.Benchmark.Kind == "target" && d.Benchmark.Value != nil {
		target = *d.Benchmark.Value / spec.scale
	} else if spec.proportion {
		target = math.NaN()
		for _, o := range obs {
			if o.Benchmark != nil {
				target = *o.Benchmark / spec.scale
				break
			}
		}
	}
	var units []funnelUnit
	for i, o := range obs {
		if o.Value == nil || o.Numerator == nil || o.Denominator == nil || *o.Denominator <= 0 || *o.Numerator < 0 {
			continue
		}
		if d.MinimumToCompare > 0 && *o.Denominator < d.MinimumToCompare {
			continue
		}
		if spec.limits == "exact-binomial" && math.Round(*o.Denominator) < 1 {
			continue
		}
		units = append(units, funnelUnit{index: i, o: *o.Numerator, n: *o.Denominator, value: *o.Value, precision: *o.Denominator})
	}
	return units, target
}

// fitFunnel estimates the funnel's overdispersion from the units'
// z-scores on the scale its limits use.
func fitFunnel(spec funnelSpec, target float64, units []funnelUnit) FunnelFit {
	fit := FunnelFit{Limits: spec.limits, Target: target * spec.scale, Overdispersion: spec.overdispersion, Trim: spec.trim, TrimBy: spec.trimBy, Phi: 1}
	if spec.overdispersion == "none" {
		fit.Units = len(units)
		return fit
	}
	var z, w []float64
	for _, u := range units {
		if zi, wi, ok := unitScore(spec, target, u); ok {
			z, w = append(z, zi), append(w, wi)
		}
	}
	z, w = TrimScores(z, w, spec.trim, spec.trimBy)
	fit.Units = len(z)
	var over bool
	fit.Phi, fit.Tau2, over = DispersionOf(z, w)
	fit.Applied = over
	if spec.overdispersion != "additive" {
		fit.Tau2 = 0
	}
	return fit
}

// DispersionOf is the overdispersion of (trimmed) z-scores with their
// weights (statistics.md B1, steps 3–5): φ the mean squared z; over
// whether I·φ exceeds its expectation I − 1; τ² = (I·φ − (I − 1)) /
// (Σw − Σw²/Σw) when it does, else 0 (DerSimonian–Laird). Indicator
// funnels and clinical audit funnels both estimate with it.
func DispersionOf(z, w []float64) (phi, tau2 float64, over bool) {
	if len(z) < 2 {
		return 0, 0, false
	}
	var ss, sw, sw2 float64
	for i := range z {
		ss += z[i] * z[i]
		sw += w[i]
		sw2 += w[i] * w[i]
	}
	k := float64(len(z))
	phi = ss / k
	if k*phi <= k-1 {
		return phi, 0, false
	}
	if den := sw - sw2/sw; den > 0 {
		tau2 = (k*phi - (k - 1)) / den
	}
	return phi, tau2, true
}

// unitScore is a unit's z-score and weight (statistics.md B1, step 1):
// √E·ln(O/E) for log-scale ratios, (O/E − 1)·√E for normal ratios,
// 2√n·(asin√p − asin√θ) for arcsine proportions, (p − θ)/√(θ(1 − θ)/n)
// for normal proportions.
func unitScore(spec funnelSpec, target float64, u funnelUnit) (float64, float64, bool) {
	switch {
	case spec.proportion && spec.limits == "arcsine":
		p := u.o / u.n
		return 2 * math.Sqrt(u.n) * (math.Asin(math.Sqrt(p)) - math.Asin(math.Sqrt(target))), 4 * u.n, true
	case spec.proportion:
		s := math.Sqrt(target * (1 - target) / u.n)
		return (u.o/u.n - target) / s, 1 / (s * s), s > 0
	case spec.limits == "log-scale":
		if u.o <= 0 {
			return 0, 0, false
		}
		return math.Sqrt(u.n) * math.Log(u.o/u.n/target), u.n, true
	}
	return (u.o/u.n/target - 1) * math.Sqrt(u.n), u.n, true
}

// TrimScores keeps outlying z-scores from inflating an overdispersion
// estimate: "truncate" leaves out ⌊I × share⌋ at each end of the sorted
// scores, with their weights (NHS Digital's SHMI); "winsorise" pulls
// scores beyond the share's percentiles in to them (Spiegelhalter);
// "none", or fewer than three scores, keeps them as they are. Indicator
// funnels and clinical audit funnels both trim with it.
func TrimScores(z, w []float64, trim string, share float64) ([]float64, []float64) {
	if len(z) < 3 || trim == "none" || share <= 0 {
		return z, w
	}
	order := make([]int, len(z))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return z[order[a]] < z[order[b]] })
	if trim == "truncate" {
		k := int(math.Floor(float64(len(z)) * share))
		var zs, ws []float64
		for _, i := range order[k : len(order)-k] {
			zs, ws = append(zs, z[i]), append(ws, w[i])
		}
		return zs, ws
	}
	sorted := make([]float64, len(z))
	for pos, i := range order {
		sorted[pos] = z[i]
	}
	lo, hi := percentile(sorted, share), percentile(sorted, 1-share)
	out := make([]float64, len(z))
	for i := range z {
		out[i] = math.Min(math.Max(z[i], lo), hi)
	}
	return out, w
}

// limitsAt are the funnel's control limits at a unit's precision, in the
// indicator's unit. An error means a limit could not be computed.
func (f FunnelFit) limitsAt(spec funnelSpec, precision float64) (RatioLimits, error) {
	target := f.Target / spec.scale
	phi, tau2 := 1.0, 0.0
	if f.Applied {
		phi, tau2 = math.Max(f.Phi, 1), f.Tau2
	}
	var l RatioLimits
	switch {
	case spec.proportion && spec.limits == "normal":
		p := NormalProportionLimits(target, precision/phi)
		l = RatioLimits(p)
	case spec.proportion && spec.limits == "exact-binomial":
		n := int(math.Round(precision))
		l = RatioLimits{ExactProportionLimit(target, n, 0.025), ExactProportionLimit(target, n, 0.975),
			ExactProportionLimit(target, n, 0.001), ExactProportionLimit(target, n, 0.999)}
	case spec.proportion:
		l = RatioLimits(ArcsineProportionLimits(target, precision, tau2))
	case spec.limits == "log-scale":
		l = LogRatioLimits(precision, tau2)
	case spec.limits == "normal":
		l = NormalRatioLimits(precision / phi)
		l.Lower95, l.Lower998 = math.Max(l.Lower95, 0), math.Max(l.Lower998, 0)
	case spec.limits == "exact-poisson":
		l = RatioLimits{math.Max(ExactRatioLimit(precision, 0.025), 0), ExactRatioLimit(precision, 0.975),
			math.Max(ExactRatioLimit(precision, 0.001), 0), ExactRatioLimit(precision, 0.999)}
	default:
		l = ChiSquareRatioLimits(precision)
	}
	scale := spec.scale
	if !spec.proportion {
		scale = target
	}
	for _, x := range []*float64{&l.Lower95, &l.Upper95, &l.Lower998, &l.Upper998} {
		if math.IsNaN(*x) || math.IsInf(*x, 0) {
			return l, fmt.Errorf("the %s funnel limit at %s could not be computed", spec.limits, trim(precision))
		}
		*x *= scale
	}
	return l, nil
}

// LimitsAt are the control limits of the funnel fitted for d at a
// precision (expected events for ratios, cases for proportions), in the
// indicator's unit: the function that placed the organisations also
// draws the funnel's lines.
func (f FunnelFit) LimitsAt(d Definition, precision float64) (RatioLimits, error) {
	return f.limitsAt(specOf(d), precision)
}
