package indicators

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/candour/candour/datasets"
)

// Line is one indicator on a scorecard: its definition, its latest
// observation and the points of its series, oldest first (the last is
// the latest's).
type Line struct {
	Definition Definition
	Latest     Observation
	Series     []Point
}

// Scorecard is an organisation's indicators.
type Scorecard struct {
	Organisation string
	Lines        []Line // headline indicators first, then by title
}

// Headlines returns the scorecard's headline lines that have a value or
// category to report.
func (s Scorecard) Headlines() []Line {
	var out []Line
	for _, l := range s.Lines {
		if l.Definition.Headline && (l.Latest.Value != nil || l.Latest.Category != "") {
			out = append(out, l)
		}
	}
	return out
}

// BuildScorecard reads an organisation's observations of the visible
// releases and arranges them by indicator, each series in period order;
// the latest is the latest period's, with its recent trend.
//
// It reads what the page shows: the points of every series (for the
// sparkline, the count of periods and the trend), then the whole
// observation only of each indicator's latest period.
func BuildScorecard(ctx context.Context, store ObservationStore, visible datasets.Visible, org string) (Scorecard, error) {
	sc := Scorecard{Organisation: org}
	defs, err := store.Definitions(ctx, visible)
	if err != nil {
		return sc, err
	}
	byID := map[string]Definition{}
	for _, d := range defs {
		byID[d.ID] = d.Definition
	}
	bySeries, err := readPoints(ctx, store, ObservationQuery{Visible: visible, Organisation: org})
	if err != nil {
		return sc, err
	}
	type latest struct {
		line  int
		trend Trend
		why   string
	}
	want := map[[2]any]latest{} // (indicator, release) of each line's latest
	var releases []int64
	for _, series := range bySeries {
		d, ok := byID[series[0].Indicator]
		if !ok {
			continue
		}
		last := series[len(series)-1]
		trend, why := trendOf(d, series)
		want[[2]any{last.Indicator, last.Release}] = latest{len(sc.Lines), trend, why}
		if visible.Contains(last.Release) && !slices.Contains(releases, last.Release) {
			releases = append(releases, last.Release)
		}
		sc.Lines = append(sc.Lines, Line{Definition: d, Series: series})
	}
	if len(sc.Lines) > 0 {
		found := 0
		for o, err := range store.Observations(ctx, ObservationQuery{Visible: datasets.NewVisible(releases...), Organisation: org}) {
			if err != nil {
				return sc, err
			}
			if l, ok := want[[2]any{o.Indicator, o.Release}]; ok {
				o.Trend, o.TrendReason = l.trend, l.why
				sc.Lines[l.line].Latest = o
				found++
			}
		}
		if found != len(sc.Lines) {
			return sc, fmt.Errorf("scorecard of %s: %d latest observations read for %d indicators (written while read?)", org, found, len(sc.Lines))
		}
	}
	sort.Slice(sc.Lines, func(i, j int) bool {
		a, b := sc.Lines[i].Definition, sc.Lines[j].Definition
		if a.Headline != b.Headline {
			return a.Headline
		}
		return a.Title < b.Title
	})
	return sc, nil
}

// FormatValue writes a value in the indicator's unit: "72.8%", "1.02",
// "21.4 per 100,000", "18.3".
func (d Definition) FormatValue(v *float64) string {
	if v == nil {
		return ""
	}
	switch d.Unit {
	case UnitPercentage:
		return strconv.FormatFloat(*v, 'f', 1, 64) + "%"
	case UnitRatio:
		return strconv.FormatFloat(*v, 'f', 2, 64)
	case UnitRate:
		return strconv.FormatFloat(*v, 'f', 1, 64) + " per " + thousands(d.PerN)
	}
	if math.Abs(*v) >= 1000 {
		return thousands(*v)
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}

func thousands(x float64) string {
	s := strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Sentence says in plain words how an observation compares: "Better than
// the constitutional standard: 75%", "Not compared: too few to compare".
func (d Definition) Sentence(o Observation) string {
	if d.Method == MethodCategory {
		if o.Category == "" {
			return "No rating: " + o.Reason
		}
		if d.Polarity == NoJudgement {
			return "" // context, not a judgement
		}
		return "Rated " + o.Category
	}
	if o.Value == nil {
		return "Not shown: " + o.Reason
	}
	if d.Polarity == NoJudgement && (d.Benchmark.Kind == "" || d.Benchmark.Kind == "none") {
		return "" // context, not compared
	}
	switch o.Comparison {
	case HigherThanExpected, AsExpected, LowerThanExpected:
		return o.Comparison.Words() + ": " + d.FunnelWords(o.Comparison)
	}
	bench := d.Benchmark.Label
	if bench == "" && o.Benchmark != nil {
		bench = d.FormatValue(o.Benchmark)
	}
	switch o.Comparison {
	case Similar:
		return "Similar to the benchmark (" + bench + ")" + intervalTail(d, o.Comparison)
	case Better, Worse, Higher, Lower:
		return o.Comparison.Words() + " than the benchmark (" + bench + ")" + intervalTail(d, o.Comparison)
	}
	return "Not compared: " + o.Reason
}

func intervalTail(d Definition, c Comparison) string {
	if c == Similar {
		return ": the difference could be chance"
	}
	return fmt.Sprintf(": the %s confidence interval does not include it", levelWords(d.Verdict.Conf()))
}

func levelWords(conf float64) string {
	if conf == 0.998 {
		return "99.8%"
	}
	return "95%"
}

// FunnelWords says where a funnel verdict puts an organisation, in plain
// words: "above the upper 95% control limit, which allows for
// overdispersion".
func (d Definition) FunnelWords(c Comparison) string {
	where := "within the " + levelWords(d.Verdict.Conf()) + " control limits"
	switch c {
	case HigherThanExpected:
		where = "above the upper " + levelWords(d.Verdict.Conf()) + " control limit"
	case LowerThanExpected:
		where = "below the lower " + levelWords(d.Verdict.Conf()) + " control limit"
	}
	if specOf(d).overdispersion != "none" {
		where += " (widened for variation between organisations beyond chance)"
	}
	return where
}

// VerdictExplained says in a sentence how the indicator's verdict is
// reached, and, when another comparison is shown beside it, which one
// decides and why.
func (d Definition) VerdictExplained() string {
	var s string
	if d.Verdict.Decides() == VerdictFunnel {
		s = fmt.Sprintf(`The verdict is the position on the funnel plot: "higher than expected" or "lower than expected" means outside the %s control limits around %s`,
			levelWords(d.Verdict.Conf()), d.funnelCentre())
		if specOf(d).overdispersion != "none" {
			s += ", widened for the variation between organisations that chance alone does not explain (overdispersion)"
		}
		s += `; "as expected" means within them.`
	} else {
		s = fmt.Sprintf(`The verdict compares the %s confidence interval with the benchmark: "better" or "worse" (or "higher" or "lower") means the interval does not include the benchmark; "similar" means the difference could be chance.`,
			levelWords(d.Verdict.Conf()))
	}
	if d.Verdict.AlsoShow != "" {
		s += " " + d.besideExplained()
	}
	return s
}

func (d Definition) besideExplained() string {
	other := "the comparison of the confidence interval with the benchmark"
	if d.Verdict.AlsoShow == VerdictFunnel {
		other = "the funnel plot position"
	}
	return fmt.Sprintf("%s is shown beside it for information only; it is not the verdict. %s", capitalise(other), d.Verdict.Why)
}

func (d Definition) funnelCentre() string {
	if d.Method == MethodOERatio {
		return "1 (as many as expected)"
	}
	if d.Benchmark.Label != "" {
		return "the benchmark (" + d.Benchmark.Label + ")"
	}
	return "the benchmark"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
