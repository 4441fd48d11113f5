package indicators

import (
	"context"
	"iter"

	"github.com/candour/candour/datasets"
)

// Comparison is how a value compares with its benchmark.
type Comparison string

// Comparisons. With a polarity, significant differences are better or
// worse; without one, higher or lower.
const (
	Better      Comparison = "better"
	Similar     Comparison = "similar"
	Worse       Comparison = "worse"
	Higher      Comparison = "higher"
	Lower       Comparison = "lower"
	NotCompared Comparison = "not-compared"
)

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
	// Funnel is, for observed/expected ratios, the position on the
	// release's funnel plot: within the limits, or above or below the 95%
	// or 99.8% limit (log scale, widened for overdispersion).
	Funnel string
}

// ObservationQuery selects observations. Every read takes the set of
// releases whose content is visible, from the caller.
type ObservationQuery struct {
	Visible      datasets.Visible
	Organisation string // "" for any
	Indicator    string // "" for any
	Release      int64  // 0 for any visible
}

// ObservationStore holds observations, tagged with their release. Writing
// makes nothing public; reads filter by the visible set they are given.
// Implementations: observationsqlite.
type ObservationStore interface {
	// WriteObservations replaces a release's observations.
	WriteObservations(ctx context.Context, release int64, obs []Observation) error
	// Observations streams the observations q selects, by indicator,
	// organisation and period.
	Observations(ctx context.Context, q ObservationQuery) iter.Seq2[Observation, error]
	// WriteDefinitions replaces the indicator definitions a release ships.
	WriteDefinitions(ctx context.Context, release int64, defs []Definition) error
	// Definitions returns the definitions of the visible releases, the
	// newest release's for each indicator.
	Definitions(ctx context.Context, visible datasets.Visible) ([]ReleasedDefinition, error)
	// DeleteRelease removes a release's observations and definitions.
	DeleteRelease(ctx context.Context, release int64) error
}

// ReleasedDefinition is a definition with the release that shipped it.
type ReleasedDefinition struct {
	Release int64
	Definition
}
