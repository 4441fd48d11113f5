package site

import (
	"strconv"

	"github.com/candour/candour/indicators"
)

// One shape for an observation wherever it leaves the site as data: the
// indicator download, the CSV and JSON twins of the indicator and
// scorecard pages, and the API's observations carry the same figures under
// the same names — every figure the pages show (both intervals, the
// quintile, the verdict and its words, what is shown beside it, the funnel
// position and its limits, the recent trend).

// observationColumns are the names, in order.
var observationColumns = []string{"organisation_code", "indicator_id", "period", "period_start", "numerator", "denominator",
	"value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "benchmark", "verdict", "verdict_words", "verdict_sentence",
	"beside_verdict", "funnel_position", "funnel_lower_95", "funnel_upper_95", "funnel_lower_99_8", "funnel_upper_99_8",
	"quintile", "trend", "trend_reason", "category", "reason", "dataset", "version"}

// observationValues are an observation's values in column order: numbers
// as float64 (nil when absent), the rest as strings.
func observationValues(d indicators.Definition, o indicators.Observation) []any {
	num := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	var quintile, version any
	if o.Quintile > 0 {
		quintile = float64(o.Quintile)
	}
	if o.Version > 0 {
		version = float64(o.Version)
	}
	beside := ""
	if o.Beside != "" {
		beside = o.Beside.Words()
	}
	return []any{o.Organisation, o.Indicator, o.Period, o.PeriodStart, num(o.Numerator), num(o.Denominator),
		num(o.Value), num(o.Lower95), num(o.Upper95), num(o.Lower998), num(o.Upper998), num(o.Benchmark),
		string(o.Comparison), o.Comparison.Words(), d.Sentence(o), beside, o.Funnel,
		num(o.FunnelLower95), num(o.FunnelUpper95), num(o.FunnelLower998), num(o.FunnelUpper998),
		quintile, string(o.Trend), o.TrendReason, o.Category, o.Reason, o.Dataset, version}
}

// observationCells are the values as CSV cells.
func observationCells(d indicators.Definition, o indicators.Observation) []string {
	vals := observationValues(d, o)
	out := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case float64:
			out[i] = strconv.FormatFloat(x, 'g', -1, 64)
		case string:
			out[i] = x
		}
	}
	return out
}

// observationJSON is the values as a JSON object keyed by the columns.
func observationJSON(d indicators.Definition, o indicators.Observation) map[string]any {
	vals := observationValues(d, o)
	out := make(map[string]any, len(vals))
	for i, c := range observationColumns {
		out[c] = vals[i]
	}
	return out
}
