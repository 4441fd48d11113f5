package indicators

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/candour/candour/datasets"
)

// Local areas (an NHS England region, an integrated care board) get the
// value of each indicator for the area as a whole, computed here once:
// the area page, its JSON twin and its local pack all read ReadArea's
// answer.
//
// How an area value is made:
//
//   - From numerators and denominators, never by averaging rates: the
//     area's value is Σ numerators / Σ denominators of its organisations'
//     observations in the indicator's latest visible period (summed in
//     code order, so the same published state gives the same digits), and
//     its interval is the indicator's own method (Wilson, exact Poisson or
//     Byar's, O/E) applied to those sums, exactly as if the area's rows
//     had been one organisation's (tested against Compute over the raw
//     rows). The indicator's smallest numbers to show and compare apply.
//   - Which organisations: those the caller names (the directory's
//     current hierarchy: an ICB's organisations are those whose parent it
//     is, a region's those in it). An organisation without an observation
//     in the period adds nothing.
//   - Suppression (the rule): if any of the area's organisations has its
//     numerator or denominator suppressed or missing in the published data,
//     the area has no value, with the reason and the number of such
//     organisations. A suppressed figure is never counted as zero, and the
//     others are not added up without it: the total would understate the
//     area, and beside the published area value could give the suppressed
//     figure away.
//   - Comparison with England: the area is compared with England's value
//     (the release's England row, else the pooled value of every
//     organisation, as Compute does) by the indicator's own verdict
//     method: the 95% (or 99.8%) interval against England's value, or a
//     place on the indicator's funnel plot at the area's size. Indicators
//     whose benchmark is "none" are not compared. The verdict of an area
//     is the area's, not any organisation's.
//   - Not added up: directly standardised rates (the observations do not
//     keep the age bands), means with a standard deviation (nor the
//     standard deviations) and values as published (a published score is
//     not a sum). These say why. Categorical indicators (ratings) give
//     the number of organisations in each category instead.

// AreaIndicator is one indicator's value for an area in its latest
// visible period.
type AreaIndicator struct {
	Definition  ReleasedDefinition
	Release     int64
	Dataset     string // the release's dataset slug
	Version     int
	Period      string
	PeriodStart string
	// Organisations is how many of the area's organisations have an
	// observation in the period; Unavailable how many of them have a
	// numerator or denominator suppressed or missing.
	Organisations int
	Unavailable   int
	Numerator     *float64
	Denominator   *float64
	Value         *float64
	Lower95       *float64
	Upper95       *float64
	Lower998      *float64
	Upper998      *float64
	// England is England's value in the same period, the benchmark the
	// area is compared with; nil when there is none.
	England    *float64
	Comparison Comparison
	// Reason says why there is no value, or why it is not compared.
	Reason string
	// Categories counts the area's organisations by category, in the
	// definition's order, for categorical indicators.
	Categories []CategoryCount
}

// CategoryCount is how many of an area's organisations are in a category.
type CategoryCount struct {
	Category string
	Count    int
}

// Reasons an area has no value.
const (
	AreaReasonNone        = "no organisation in this area has a figure for this period"
	AreaReasonNotAdditive = "an area value cannot be made from the organisations' published figures for this kind of indicator"
)

// AggregateArea computes an area's value of indicator d from its
// organisations' observations in one period: members are those
// observations, england England's value (EnglandValue), fit the funnel
// the period's organisations were placed on (nil when none). It is pure:
// ReadArea gathers its inputs.
func AggregateArea(d Definition, members []Observation, england *float64, fit *FunnelFit) AreaIndicator {
	a := AreaIndicator{Organisations: len(members), Comparison: NotCompared}
	if d.Benchmark.Kind != "none" {
		a.England = england
	}
	if len(members) == 0 {
		a.Reason = AreaReasonNone
		return a
	}
	members = slices.Clone(members)
	slices.SortFunc(members, func(x, y Observation) int { return strings.Compare(x.Organisation, y.Organisation) })
	if d.Method == MethodCategory {
		counts := map[string]int{}
		for _, o := range members {
			if o.Category != "" {
				counts[o.Category]++
			}
		}
		for _, c := range d.Categories {
			if counts[c] > 0 {
				a.Categories = append(a.Categories, CategoryCount{c, counts[c]})
				delete(counts, c)
			}
		}
		for _, c := range slices.Sorted(maps.Keys(counts)) {
			a.Categories = append(a.Categories, CategoryCount{c, counts[c]})
		}
		return a
	}
	if !additive(d) {
		a.Reason = AreaReasonNotAdditive
		return a
	}
	g := &group{hasValue: true}
	for _, o := range members {
		if unavailable(o) {
			a.Unavailable++
			continue
		}
		g.num += *o.Numerator
		g.den += *o.Denominator
	}
	if a.Unavailable > 0 {
		a.Reason = fmt.Sprintf("not available: the figures of %d of the area's %d organisations are suppressed or missing in the published data, "+
			"and an area total without them would understate the area (a suppressed figure is never counted as zero)", a.Unavailable, len(members))
		return a
	}
	bench := a.England
	o := observe(d, g, bench)
	a.Numerator, a.Denominator = o.Numerator, o.Denominator
	a.Value, a.Lower95, a.Upper95, a.Lower998, a.Upper998 = o.Value, o.Lower95, o.Upper95, o.Lower998, o.Upper998
	a.Comparison, a.Reason = o.Comparison, o.Reason
	if bench == nil && o.Value != nil {
		a.Reason = "no England value to compare with"
	}
	if d.Verdict.Decides() == VerdictFunnel && o.Value != nil {
		a.Comparison, a.Reason = NotCompared, "not placed on the funnel plot"
		if fit != nil && g.den > 0 && (d.MinimumToCompare == 0 || g.den >= d.MinimumToCompare) {
			if l, err := fit.LimitsAt(d, g.den); err == nil {
				a.Comparison, a.Reason = funnelComparison(*o.Value, l, fit.Level), ""
			}
		}
	}
	return a
}

// additive reports whether an indicator's area value can be made by
// adding up its organisations' numerators and denominators.
func additive(d Definition) bool {
	switch d.Method {
	case MethodWilson, MethodPoisson, MethodOERatio:
		return d.Numerator != "" && d.Denominator != ""
	}
	return false
}

// unavailable reports whether an observation's numerator or denominator
// is suppressed or missing in the published data.
func unavailable(o Observation) bool {
	return o.Numerator == nil || o.Denominator == nil || o.Reason == ReasonSuppressed || o.Reason == ReasonMissing
}

// EnglandValue is England's value of d in one period: the release's
// England row (sum.Areas, level national) when it has a value, else the
// pooled value of every organisation whose figures are published (Σ
// numerators / Σ denominators, in code order), nil when neither exists.
func EnglandValue(d Definition, sum Summary, all []Observation) *float64 {
	for _, a := range sum.Areas {
		if a.Level == "national" && a.Value != nil {
			v := *a.Value
			return &v
		}
	}
	if !additive(d) {
		return nil
	}
	all = slices.Clone(all)
	slices.SortFunc(all, func(x, y Observation) int { return strings.Compare(x.Organisation, y.Organisation) })
	pooled := &group{hasValue: true}
	for _, o := range all {
		if !unavailable(o) {
			pooled.num += *o.Numerator
			pooled.den += *o.Denominator
		}
	}
	if v, ok := pointValue(d, pooled); ok {
		return &v
	}
	return nil
}

// ReadArea computes every visible indicator's value for the area whose
// organisations are members, in each indicator's latest visible period
// (see the rules above). Indicators none of the members has an
// observation for are left out.
func ReadArea(ctx context.Context, store ObservationStore, visible datasets.Visible, members func(code string) bool) ([]AreaIndicator, error) {
	defs, err := store.Definitions(ctx, visible)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(defs, func(a, b ReleasedDefinition) int { return strings.Compare(a.Title, b.Title) })
	var out []AreaIndicator
	for _, def := range defs {
		sums, err := store.Summaries(ctx, visible, def.ID)
		if err != nil {
			return nil, err
		}
		periods := PeriodsInOrder(sums)
		if len(periods) == 0 {
			continue
		}
		latest := periods[len(periods)-1]
		var all, in []Observation
		for o, err := range store.Observations(ctx, ObservationQuery{Visible: visible, Indicator: def.ID, Release: latest.Release}) {
			if err != nil {
				return nil, err
			}
			all = append(all, o)
			if members(o.Organisation) {
				in = append(in, o)
			}
		}
		if len(in) == 0 {
			continue
		}
		a := AggregateArea(def.Definition, in, EnglandValue(def.Definition, latest, all), latest.Funnel)
		a.Definition, a.Release, a.Period, a.PeriodStart = def, latest.Release, latest.Period, latest.PeriodStart
		a.Dataset, a.Version = in[0].Dataset, in[0].Version
		out = append(out, a)
	}
	return out, nil
}
