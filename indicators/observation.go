package indicators

import (
	"context"
	"iter"

	"github.com/candour/candour/datasets"
)

// Comparison is how a value compares with its benchmark.
type Comparison string

// Comparisons. An interval verdict (Fingertips): with a polarity,
// significant differences are better or worse; without one, higher or
// lower. A funnel verdict (the SHMI): higher than expected, as expected
// or lower than expected, whatever the polarity, which only colours it.
const (
	Better             Comparison = "better"
	Similar            Comparison = "similar"
	Worse              Comparison = "worse"
	Higher             Comparison = "higher"
	Lower              Comparison = "lower"
	HigherThanExpected Comparison = "higher-than-expected"
	AsExpected         Comparison = "as-expected"
	LowerThanExpected  Comparison = "lower-than-expected"
	NotCompared        Comparison = "not-compared"
)

// Words are a comparison in plain words, as every surface shows it.
func (c Comparison) Words() string {
	switch c {
	case Better:
		return "Better"
	case Similar:
		return "Similar"
	case Worse:
		return "Worse"
	case Higher:
		return "Higher"
	case Lower:
		return "Lower"
	case HigherThanExpected:
		return "Higher than expected"
	case AsExpected:
		return "As expected"
	case LowerThanExpected:
		return "Lower than expected"
	}
	return "Not compared"
}

// Tone is how a comparison is coloured through polarity: "good", "bad",
// "neutral" (a difference without a judgement) or "none".
func (c Comparison) Tone(p Polarity) string {
	high := c == Higher || c == HigherThanExpected || c == Better && p == HigherIsBetter || c == Worse && p == LowerIsBetter
	low := c == Lower || c == LowerThanExpected || c == Better && p == LowerIsBetter || c == Worse && p == HigherIsBetter
	switch {
	case !high && !low:
		return "none"
	case p == NoJudgement:
		return "neutral"
	case high == (p == HigherIsBetter):
		return "good"
	}
	return "bad"
}

// Observation is one indicator's value for one organisation and period,
// computed from the public version of one release.
type Observation struct {
	Release      int64
	Dataset      string // the release's dataset slug, for links
	Version      int    // the release's version
	Indicator    string
	Organisation string
	Period       string // the release's period label
	PeriodStart  string // YYYY-MM-DD, "" when not known
	Numerator    *float64
	Denominator  *float64
	Value        *float64 // nil when not shown
	Category     string   // for categorical indicators
	Lower95      *float64
	Upper95      *float64
	Lower998     *float64
	Upper998     *float64
	Benchmark    *float64
	Comparison   Comparison
	// Reason says why a value is not shown or not compared ("fewer than
	// 10 patients", "suppressed in the source").
	Reason   string
	Quintile int // 1–5, 0 when not assigned
	// Trend is the recent-trend marker over the series up to this
	// period; TrendReason says why it cannot be calculated.
	Trend       Trend
	TrendReason string
	// Funnel is the position on the release's funnel plot, when the
	// indicator has one (its verdict, or shown beside it): within the
	// limits, or above or below the 95% or 99.8% limit; FunnelLower95 …
	// FunnelUpper998 are the control limits at this organisation's size.
	Funnel         string
	FunnelLower95  *float64
	FunnelUpper95  *float64
	FunnelLower998 *float64
	FunnelUpper998 *float64
	// Beside is the comparison the definition shows beside the verdict
	// for information (verdict.alsoShow), "" when none.
	Beside Comparison
}

// Summary is what one release says of one indicator as a whole: its
// period, the funnel it fitted, and the benchmark rows (England, regions)
// it carried, which are areas, not organisations.
type Summary struct {
	Release     int64
	Indicator   string
	Period      string
	PeriodStart string
	// Organisations counts the organisations with an observation;
	// Unattributed the rows left out because their organisation code is
	// missing.
	Organisations int
	Unattributed  int         `json:",omitempty"`
	Funnel        *FunnelFit  `json:",omitempty"`
	Areas         []AreaValue `json:",omitempty"`
	// Breakdowns are the indicator's values by deprivation, age band or
	// sex, as its definition declares (breakdown.go).
	Breakdowns []BreakdownResult `json:",omitempty"`
}

// AreaValue is a benchmark row's value: England's, or a region's.
type AreaValue struct {
	Code    string
	Level   string // national, region, icb, area
	Value   *float64
	Lower95 *float64
	Upper95 *float64
	Reason  string `json:",omitempty"` // why no value
}

// FunnelFit is the funnel an indicator's organisations were placed on in
// one release: the limits, the target and the overdispersion estimate.
type FunnelFit struct {
	Limits         string
	Level          float64 // the level the verdict uses: 95 or 99.8
	Target         float64
	Overdispersion string // none, additive, multiplicative
	Trim           string
	TrimBy         float64
	Phi            float64
	Tau2           float64
	// Units is the number of organisations the estimate used, after
	// trimming; Applied says whether the limits were widened.
	Units   int
	Applied bool
}

// ObservationQuery selects observations. Every read takes the set of
// releases whose content is visible, from the caller.
type ObservationQuery struct {
	Visible      datasets.Visible
	Organisation string // "" for any
	Indicator    string // "" for any
	Release      int64  // 0 for any visible
	// Organisations, when not nil, keeps only these organisations (an
	// empty list keeps none): an indicator's table filtered to a region.
	Organisations []string
}

// Point is what a series needs of one observation: its place in period
// order, the value a sparkline draws, and the counts and interval a
// recent trend is computed from. Reading points instead of whole
// observations is how pages read a series they only draw or count.
type Point struct {
	Release      int64
	Indicator    string
	Organisation string
	Period       string
	PeriodStart  string
	Numerator    *float64
	Denominator  *float64
	Value        *float64
	Lower95      *float64
	Upper95      *float64
}

// ObservationsOf yields the observations of a slice, for
// ObservationStore.WriteObservations.
func ObservationsOf(obs []Observation) iter.Seq2[Observation, error] {
	return func(yield func(Observation, error) bool) {
		for _, o := range obs {
			if !yield(o, nil) {
				return
			}
		}
	}
}

// PointOf is an observation's point.
func PointOf(o Observation) Point {
	return Point{Release: o.Release, Indicator: o.Indicator, Organisation: o.Organisation, Period: o.Period, PeriodStart: o.PeriodStart,
		Numerator: o.Numerator, Denominator: o.Denominator, Value: o.Value, Lower95: o.Lower95, Upper95: o.Upper95}
}

// observation is a point as an observation with only the point's fields,
// for the trend computation.
func (p Point) observation() Observation {
	return Observation{Release: p.Release, Indicator: p.Indicator, Organisation: p.Organisation, Period: p.Period, PeriodStart: p.PeriodStart,
		Numerator: p.Numerator, Denominator: p.Denominator, Value: p.Value, Lower95: p.Lower95, Upper95: p.Upper95}
}

// ObservationStore holds observations, tagged with their release. Writing
// makes nothing public; reads filter by the visible set they are given.
// Implementations: observationsqlite, observationclickhouse.
type ObservationStore interface {
	// WriteObservations replaces a release's observations with those obs
	// yields, read once and in order. A store may write while obs is
	// still being read, so a release of millions needs no more memory
	// than a batch. An error obs yields, or one in writing, is returned
	// and keeps none of what obs yielded: the release is left with the
	// observations it had (a store with transactions) or none (one
	// without), and the caller writes it again.
	WriteObservations(ctx context.Context, release int64, obs iter.Seq2[Observation, error]) error
	// Observations streams the observations q selects, by indicator,
	// organisation and period.
	Observations(ctx context.Context, q ObservationQuery) iter.Seq2[Observation, error]
	// Points streams the points of the observations q selects, in the
	// same order: each exactly the PointOf what Observations reads.
	Points(ctx context.Context, q ObservationQuery) iter.Seq2[Point, error]
	// ObservedOrganisations returns the codes of the organisations with an
	// observation q selects, each once, in order.
	ObservedOrganisations(ctx context.Context, q ObservationQuery) ([]string, error)
	// WriteDefinitions replaces the indicator definitions a release ships.
	WriteDefinitions(ctx context.Context, release int64, defs []Definition) error
	// Definitions returns the definitions of the visible releases, the
	// newest release's for each indicator.
	Definitions(ctx context.Context, visible datasets.Visible) ([]ReleasedDefinition, error)
	// WriteSummaries replaces a release's indicator summaries.
	WriteSummaries(ctx context.Context, release int64, sums []Summary) error
	// Summaries returns the summaries of the visible releases for an
	// indicator ("" for every one), in period order: by period start,
	// then release.
	Summaries(ctx context.Context, visible datasets.Visible, indicator string) ([]Summary, error)
	// DeleteRelease removes a release's observations, definitions and
	// summaries.
	DeleteRelease(ctx context.Context, release int64) error
}

// ReleasedDefinition is a definition with the release that shipped it.
type ReleasedDefinition struct {
	Release int64
	Definition
}
