package indicators

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/candour/candour/datasets"
)

// Line is one indicator on a scorecard: its definition, its latest
// observation and the series of earlier ones, oldest first.
type Line struct {
	Definition Definition
	Latest     Observation
	Series     []Observation
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
// releases and arranges them by indicator.
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
	series := map[string][]Observation{}
	for o, err := range store.Observations(ctx, ObservationQuery{Visible: visible, Organisation: org}) {
		if err != nil {
			return sc, err
		}
		series[o.Indicator] = append(series[o.Indicator], o)
	}
	for id, obs := range series {
		d, ok := byID[id]
		if !ok {
			continue
		}
		sort.SliceStable(obs, func(i, j int) bool {
			if obs[i].PeriodStart != obs[j].PeriodStart {
				return obs[i].PeriodStart < obs[j].PeriodStart
			}
			return obs[i].Release < obs[j].Release
		})
		sc.Lines = append(sc.Lines, Line{Definition: d, Latest: obs[len(obs)-1], Series: obs})
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
	bench := d.Benchmark.Label
	if bench == "" && o.Benchmark != nil {
		bench = d.FormatValue(o.Benchmark)
	}
	switch o.Comparison {
	case Better:
		return fmt.Sprintf("Better than the benchmark (%s)", bench)
	case Worse:
		return fmt.Sprintf("Worse than the benchmark (%s)", bench)
	case Similar:
		return fmt.Sprintf("Similar to the benchmark (%s): the difference could be chance", bench)
	case Higher:
		return fmt.Sprintf("Higher than the benchmark (%s)", bench)
	case Lower:
		return fmt.Sprintf("Lower than the benchmark (%s)", bench)
	}
	return "Not compared: " + o.Reason
}
