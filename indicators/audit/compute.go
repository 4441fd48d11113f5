package audit

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/candour/candour/indicators"
)

// Status is a unit's place on its funnel.
type Status string

// Statuses. NotClassified units are shown with the reason.
const (
	Within        Status = "within"
	Alert         Status = "alert" // beyond the 95% limit
	Alarm         Status = "alarm" // beyond the 99.8% limit
	NotClassified Status = ""
)

// Flagged reports whether the status is alert or alarm.
func (s Status) Flagged() bool { return s == Alert || s == Alarm }

// Limits are a unit's funnel limits on the plotted scale.
type Limits struct{ Lower95, Upper95, Lower998, Upper998 float64 }

// Dispersion is the overdispersion estimated for one funnel.
type Dispersion struct {
	Phi   float64 // mean squared (trimmed) z-score
	Tau2  float64 // DerSimonian–Laird between-unit variance
	Units int     // units the estimate used
	// Applied is true when the measure declares an adjustment and the
	// units are overdispersed (I·φ > I − 1).
	Applied bool
}

// Outcome is one unit's result for one measure and period.
type Outcome struct {
	Release int64
	Audit   string
	Measure string
	Period  string
	Level   Level
	// Code and Name identify the unit at its level: a provider, a team,
	// or a consultant (registration number and name).
	Code, Name             string
	Provider, ProviderName string
	Team, TeamName         string
	// Cases and Observed are nil when disclosure control suppressed them;
	// Expected is nil without a risk model.
	Cases, Observed *int
	Expected        *float64
	// CrudeRate is observed ÷ cases; Ratio observed ÷ expected;
	// AdjustedRate the ratio times the national crude rate. Each is nil
	// when not shown (Reason says why).
	CrudeRate, Ratio, AdjustedRate *float64
	// Value is what the funnel plots (the crude rate or the ratio) against
	// Precision (cases or expected events), with Limits around Target.
	Value     *float64
	Precision float64
	Target    float64
	Limits    *Limits
	Status    Status
	High      bool // beyond an upper limit
	Reason    string
}

// Flagged reports whether the unit is at alert or alarm.
func (o Outcome) Flagged() bool { return o.Status.Flagged() }

// Funnel summarises one funnel: a measure's units at one level in one
// period.
type Funnel struct {
	Release                 int64
	Measure                 string
	Period                  string
	Level                   Level
	Target                  float64 // the national rate (proportions) or 1 (ratios)
	NationalRate            float64 // Σ observed ÷ Σ cases over units with counts shown
	Units, Classified       int
	Alerts, Alarms          int
	Dispersion              Dispersion
	MinCases                int
	MaxPrecision            float64
	CasesTotal, EventsTotal int
}

// z-values of the two limits (statistics.md B1).
var (
	z95  = indicators.Z(0.95)
	z998 = indicators.Z(0.998)
)

// UnitLimits are the funnel limits of measure m around target at a
// unit's precision (cases for proportions, expected events for ratios),
// with the funnel's dispersion. A limit that cannot be computed is NaN;
// UnitLimitsChecked says why.
func UnitLimits(m Measure, target, precision float64, d Dispersion) Limits {
	l, err := UnitLimitsChecked(m, target, precision, d)
	if errors.Is(err, errUnvalidated) {
		panic(err.Error())
	}
	return l
}

// errUnvalidated marks a limit method that Definition.Validate would have
// refused for the measure's statistic.
var errUnvalidated = errors.New("audit: limit method was not validated")

// UnitLimitsChecked is UnitLimits with an error when a limit cannot be
// computed: an input the method cannot use (indicators.ErrInput), a search
// that reached its iteration cap (indicators.ErrNotConverged), or any
// other NaN limit. The exact methods never loop without bound (see
// indicators/distributions.go), so it always returns.
func UnitLimitsChecked(m Measure, target, precision float64, d Dispersion) (Limits, error) {
	l, err := unitLimits(m, target, precision, d)
	if err != nil {
		return l, err
	}
	for _, v := range []float64{l.Lower95, l.Upper95, l.Lower998, l.Upper998} {
		if math.IsNaN(v) {
			return l, fmt.Errorf("%w: a %s limit is not a number at precision %v", indicators.ErrInput, m.Limits, precision)
		}
	}
	return l, nil
}

// unitLimits computes the four limits of UnitLimits by the measure's method.
func unitLimits(m Measure, target, precision float64, d Dispersion) (Limits, error) {
	phi, tau2 := 1.0, 0.0
	if d.Applied {
		phi, tau2 = math.Max(d.Phi, 1), d.Tau2
	}
	plus := func(l float64) float64 {
		if m.Interp == InterpolatedUpperPlus {
			return l + 1/precision
		}
		return l
	}
	lo := func(x float64) float64 { return math.Max(x, 0) }
	switch {
	case m.Statistic == Proportion && m.Limits == LimitNormal:
		s := math.Sqrt(phi * target * (1 - target) / precision)
		return Limits{lo(target - z95*s), math.Min(target+z95*s, 1), lo(target - z998*s), math.Min(target+z998*s, 1)}, nil
	case m.Limits == LimitExactBinomial:
		if !(precision >= 1 && precision <= 1<<53) {
			return nanLimits(), fmt.Errorf("%w: %v cases", indicators.ErrInput, precision)
		}
		n := int(math.Round(precision))
		var l [4]float64
		for i, p := range []float64{0.025, 0.975, 0.001, 0.999} {
			v, err := indicators.ExactProportionLimitChecked(target, n, p)
			if err != nil {
				return nanLimits(), err
			}
			l[i] = v
		}
		return Limits{l[0], math.Min(plus(l[1]), 1), l[2], math.Min(plus(l[3]), 1)}, nil
	case m.Limits == LimitArcsine:
		l := indicators.ArcsineProportionLimits(target, precision, tau2)
		return Limits{l.Lower95, l.Upper95, l.Lower998, l.Upper998}, nil
	case m.Statistic == Ratio && m.Limits == LimitNormal:
		s := math.Sqrt(phi / precision)
		return Limits{lo(1 - z95*s), 1 + z95*s, lo(1 - z998*s), 1 + z998*s}, nil
	case m.Limits == LimitExactPoisson:
		// At small E the interpolated lower limit falls below zero (r = 0,
		// α > 0): a ratio cannot, so it is clipped, as proportions are.
		var l [4]float64
		for i, p := range []float64{0.025, 0.975, 0.001, 0.999} {
			v, err := indicators.ExactRatioLimitChecked(precision, p)
			if err != nil {
				return nanLimits(), err
			}
			l[i] = v
		}
		return Limits{lo(l[0]), plus(l[1]), lo(l[2]), plus(l[3])}, nil
	case m.Limits == LimitLogScale:
		l := indicators.LogRatioLimits(precision, tau2)
		return Limits{l.Lower95, l.Upper95, l.Lower998, l.Upper998}, nil
	case m.Limits == LimitChiSquare:
		l, err := indicators.ChiSquareRatioLimitsChecked(precision)
		return Limits{l.Lower95, l.Upper95, l.Lower998, l.Upper998}, err
	}
	return nanLimits(), fmt.Errorf("%w: %q for %q", errUnvalidated, m.Limits, m.Statistic)
}

func nanLimits() Limits {
	nan := math.NaN()
	return Limits{nan, nan, nan, nan}
}

// limitTimeout is the longest one unit's limit computation may take in
// Compute and ComputeChecked before the unit is reported as not computable
// (ErrLimitTimeout). The computations are bounded and take microseconds;
// this is a second guard so that a submission fails with a clear error
// rather than hanging the publisher.
var limitTimeout = 5 * time.Second

// ErrLimitTimeout is the error of a limit computation that took longer
// than limitTimeout (5 s).
var ErrLimitTimeout = errors.New("the limit computation took longer than its time limit")

// limitsFunc computes a unit's limits; tests replace it.
var limitsFunc = UnitLimitsChecked

// limitsWithin runs limitsFunc in a goroutine and waits for at most
// limitTimeout. A panic in the computation becomes an error. (A
// computation that overran would be left to finish on its own: Go cannot
// stop a goroutine.)
func limitsWithin(m Measure, target, precision float64, d Dispersion) (Limits, error) {
	type result struct {
		l   Limits
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{nanLimits(), fmt.Errorf("the limit computation failed: %v", r)}
			}
		}()
		l, err := limitsFunc(m, target, precision, d)
		done <- result{l, err}
	}()
	timer := time.NewTimer(limitTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.l, r.err
	case <-timer.C:
		return nanLimits(), fmt.Errorf("%w (%v)", ErrLimitTimeout, limitTimeout)
	}
}

// LimitError reports a unit whose funnel limits could not be computed,
// naming the measure, level, period, unit and precision.
type LimitError struct {
	Measure, Period string
	Level           Level
	Unit            string  // the unit's code at its level
	Precision       float64 // cases (proportions) or expected events (ratios)
	Err             error
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("audit: measure %q, %s level, period %q, unit %s: the funnel limits at precision %v cannot be computed: %v",
		e.Measure, e.Level, e.Period, e.Unit, e.Precision, e.Err)
}

func (e *LimitError) Unwrap() error { return e.Err }

// Classify places a value against its limits under the measure's
// on-limit convention: strict comparisons put a unit exactly on a limit
// within it; "outside" puts it beyond.
func Classify(value float64, l Limits, on OnLimit) (Status, bool) {
	beyondHigh := func(limit float64) bool { return value > limit || (on == OnLimitOutside && value == limit) }
	beyondLow := func(limit float64) bool { return value < limit || (on == OnLimitOutside && value == limit) }
	switch {
	case beyondHigh(l.Upper998):
		return Alarm, true
	case beyondLow(l.Lower998):
		return Alarm, false
	case beyondHigh(l.Upper95):
		return Alert, true
	case beyondLow(l.Lower95):
		return Alert, false
	}
	return Within, false
}

// unitZ is a unit's z-score and weight on the scale the measure's
// adjustment uses; ok is false when it has none (a log of zero events).
func unitZ(m Measure, target float64, o, n, e float64) (z, w float64, ok bool) {
	switch m.Overdisp.Adjustment {
	case AdjustMultiplicative:
		if m.Statistic == Proportion {
			s := math.Sqrt(target * (1 - target) / n)
			return (o/n - target) / s, 1 / (s * s), s > 0
		}
		return (o/e - 1) * math.Sqrt(e), e, true
	case AdjustAdditive:
		if m.Statistic == Proportion {
			return (math.Asin(math.Sqrt(o/n)) - math.Asin(math.Sqrt(target))) * 2 * math.Sqrt(n), 4 * n, true
		}
		if o <= 0 {
			return 0, 0, false
		}
		return math.Sqrt(e) * math.Log(o/e), e, true
	}
	return 0, 0, false
}

// EstimateDispersion estimates φ and τ² from z-scores and weights
// (statistics.md B1, steps 2–5): trimmed by the measure's rule with
// indicators.TrimScores (truncation as NHS Digital does it), φ the
// mean squared z, τ² = (I·φ − (I − 1)) / (Σw − Σw²/Σw) when positive.
func EstimateDispersion(spec OverdispersionSpec, z, w []float64) Dispersion {
	z, w = indicators.TrimScores(z, w, string(spec.Trim), spec.TrimBy)
	d := Dispersion{Units: len(z)}
	var over bool
	d.Phi, d.Tau2, over = indicators.DispersionOf(z, w)
	d.Applied = over && spec.Adjustment != AdjustNone
	return d
}

// Compute places every row of an audit release on its funnel: one funnel
// per measure, period and level. Units whose counts were suppressed, or
// with fewer than the audit's minimum cases, are shown without a rate and
// never classified; the reason says why. A unit whose limits cannot be
// computed is not classified either; ComputeChecked reports it as an
// error, which a publisher should prefer.
func Compute(def Definition, rows []Row) ([]Outcome, []Funnel) {
	outcomes, funnels, _ := ComputeChecked(def, rows)
	return outcomes, funnels
}

// ComputeChecked is Compute with an error for every unit whose funnel
// limits could not be computed (a NaN limit, an iteration cap reached, or
// a computation longer than 5 s): each is a *LimitError naming
// the measure, level, period, unit and precision, joined with errors.Join.
// The outcomes and funnels are returned as Compute returns them.
func ComputeChecked(def Definition, rows []Row) ([]Outcome, []Funnel, error) {
	type group struct {
		measure, period string
		level           Level
	}
	byGroup := map[group][]Row{}
	var order []group
	for _, r := range rows {
		g := group{r.Measure, r.Period, r.Level}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], r)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.measure != b.measure {
			return a.measure < b.measure
		}
		if a.period != b.period {
			return a.period < b.period
		}
		return levelRank(a.level) < levelRank(b.level)
	})
	var outcomes []Outcome
	var funnels []Funnel
	var errs []error
	for _, g := range order {
		m, _ := def.Measure(g.measure)
		o, f, e := computeFunnel(def, m, g.period, g.level, byGroup[g])
		outcomes = append(outcomes, o...)
		funnels = append(funnels, f)
		errs = append(errs, e...)
	}
	return outcomes, funnels, errors.Join(errs...)
}

func levelRank(l Level) int {
	switch l {
	case Hospital:
		return 0
	case Team:
		return 1
	}
	return 2
}

// Levels lists the unit levels, largest first.
var Levels = []Level{Hospital, Team, Consultant}

// computeFunnel computes one funnel; the errors are the units whose limits
// could not be computed.
func computeFunnel(def Definition, m Measure, period string, level Level, rows []Row) ([]Outcome, Funnel, []error) {
	f := Funnel{Measure: m.ID, Period: period, Level: level, Units: len(rows), MinCases: def.MinCases}
	var sumO, sumN float64
	for _, r := range rows {
		if r.Cases != nil && r.Observed != nil {
			sumO += float64(*r.Observed)
			sumN += float64(*r.Cases)
			f.CasesTotal += *r.Cases
			f.EventsTotal += *r.Observed
		}
	}
	if sumN > 0 {
		f.NationalRate = sumO / sumN
	}
	f.Target = 1
	if m.Statistic == Proportion {
		f.Target = f.NationalRate
	}
	classifiable := func(r Row) (string, bool) {
		switch {
		case r.Cases == nil || r.Observed == nil:
			return "The counts are suppressed under the dataset's disclosure rule, so no rate is shown.", false
		case *r.Cases < def.MinCases:
			return fmt.Sprintf("Fewer than %d cases (%d): %s", def.MinCases, *r.Cases, def.MinCasesReason), false
		case m.Statistic == Ratio && (r.Expected == nil || *r.Expected <= 0):
			return "No expected events from the risk model, so no ratio can be computed.", false
		case m.Statistic == Proportion && (f.Target <= 0 || f.Target >= 1):
			return "The national rate is 0% or 100%, so no funnel can be drawn.", false
		}
		return "", true
	}
	precision := func(r Row) float64 {
		if m.Statistic == Ratio {
			return *r.Expected
		}
		return float64(*r.Cases)
	}
	var zs, ws []float64
	for _, r := range rows {
		if _, ok := classifiable(r); !ok {
			continue
		}
		e := 0.0
		if r.Expected != nil {
			e = *r.Expected
		}
		if z, w, ok := unitZ(m, f.Target, float64(*r.Observed), float64(*r.Cases), e); ok {
			zs, ws = append(zs, z), append(ws, w)
		}
	}
	f.Dispersion = EstimateDispersion(m.Overdisp, zs, ws)
	out := make([]Outcome, 0, len(rows))
	var errs []error
	for _, r := range rows {
		o := Outcome{Audit: def.ID, Measure: m.ID, Period: period, Level: level, Code: r.Code(), Name: r.Name(),
			Provider: r.Provider, ProviderName: r.ProviderName, Team: r.Team, TeamName: r.TeamName,
			Cases: r.Cases, Observed: r.Observed, Expected: r.Expected, Target: f.Target}
		reason, ok := classifiable(r)
		if !ok {
			o.Reason = reason
			if r.Cases == nil || r.Observed == nil {
				o.Expected = nil // with the ratio's E, a shown expected count would narrow a suppressed one
			}
			out = append(out, o)
			continue
		}
		crude := float64(*r.Observed) / float64(*r.Cases)
		o.CrudeRate = &crude
		o.Precision = precision(r)
		f.MaxPrecision = math.Max(f.MaxPrecision, o.Precision)
		value := crude
		if m.Statistic == Ratio {
			ratio := float64(*r.Observed) / *r.Expected
			adjusted := ratio * f.NationalRate
			o.Ratio, o.AdjustedRate = &ratio, &adjusted
			value = ratio
		}
		o.Value = &value
		l, err := limitsWithin(m, f.Target, o.Precision, f.Dispersion)
		if err != nil {
			errs = append(errs, &LimitError{Measure: m.ID, Period: period, Level: level, Unit: o.Code, Precision: o.Precision, Err: err})
			o.Reason = "The funnel limits cannot be computed at this unit's precision, so it is not classified."
			out = append(out, o)
			continue
		}
		o.Limits = &l
		o.Status, o.High = Classify(value, l, m.OnLimit)
		f.Classified++
		switch o.Status {
		case Alert:
			f.Alerts++
		case Alarm:
			f.Alarms++
		}
		out = append(out, o)
	}
	return out, f, errs
}

// Position says in words where a unit lies on its funnel.
func (o Outcome) Position(m Measure) string {
	if o.Status == NotClassified {
		return "Not classified. " + o.Reason
	}
	if o.Status == Within {
		return "Within the expected range: inside the 95% limits."
	}
	side, limit := "below", "95%"
	if o.High {
		side = "above"
	}
	if o.Status == Alarm {
		limit = "99.8%"
	}
	what := "the rate of " + m.Outcome
	if m.Statistic == Ratio {
		what = "observed ÷ expected " + m.Outcome
	}
	judgement := ""
	switch {
	case m.Polarity == indicators.LowerIsBetter && o.High, m.Polarity == indicators.HigherIsBetter && !o.High:
		judgement = " (worse than expected)"
	case m.Polarity == indicators.LowerIsBetter, m.Polarity == indicators.HigherIsBetter:
		judgement = " (better than expected)"
	}
	word := map[Status]string{Alert: "Alert", Alarm: "Alarm"}[o.Status]
	return fmt.Sprintf("%s: %s is %s the %s limit%s.", word, what, side, limit, judgement)
}
