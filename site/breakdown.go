package site

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/indicators"
)

// Equality and deprivation: an indicator's values by the groups its
// definition declares (deprivation quintile, age band, sex) at
// /indicators/{id}/breakdown?by={breakdown}, with the gap between the
// most and the least deprived. Everything shown is read from the latest
// period's summary, where indicators.Compute put it at submission: the
// page, its CSV and JSON twins and the chart read that one result and
// compute nothing.

type breakdownRow struct {
	Group indicators.GroupValue
	// Observation is the group's value as the verdict and interval
	// partials read one.
	Observation indicators.Observation
	// Counts are its numerator and denominator in words ("1,209 of
	// 1,275"), when it has them.
	Counts string
}

// breakdownTable is one breakdown's result as a table, its gap and a
// sentence: what the public page shows, and what the panel sees of a
// release under review (the "breakdowntable" partial renders both).
type breakdownTable struct {
	ID         string // the table's HTML id, and the prefix of the others
	Level      int    // the heading level of its gap section: 2 on its page
	Definition indicators.Definition
	Breakdown  indicators.Breakdown
	// Measure writes the values (for a rating: a percentage).
	Measure indicators.Definition
	Result  indicators.BreakdownResult
	Rows    []breakdownRow
	Period  string
	Summary string
	// GapAbsolute, GapRelative and GapInterval are the gap in words.
	GapAbsolute, GapRelative, GapInterval string
	// By is the breakdown's label as the end of a sentence ("by
	// deprivation quintile of …").
	By string
}

// newBreakdownTable sets out a breakdown's result for one period.
func newBreakdownTable(id string, level int, d indicators.Definition, b indicators.Breakdown, res indicators.BreakdownResult, period string) breakdownTable {
	t := breakdownTable{ID: id, Level: level, Definition: d, Breakdown: b, Measure: d.BreakdownMeasure(b), Result: res, Period: period,
		By: lowerFirst(b.Label)}
	for _, g := range res.Groups {
		t.Rows = append(t.Rows, breakdownRow{Group: g, Observation: indicators.Observation{Value: g.Value, Lower95: g.Lower95,
			Upper95: g.Upper95, Benchmark: res.Benchmark, Comparison: g.Comparison, Reason: g.Reason}, Counts: countsWords(g)})
	}
	if gap := res.Gap; gap != nil && gap.Absolute != nil {
		t.GapAbsolute = gapWords(t.Measure, *gap.Absolute)
		if gap.Relative != nil {
			t.GapRelative = strconv.FormatFloat(*gap.Relative, 'f', 2, 64)
		}
		if gap.AbsoluteLower95 != nil {
			t.GapInterval = gapWords(t.Measure, *gap.AbsoluteLower95) + " to " + gapWords(t.Measure, *gap.AbsoluteUpper95)
		}
	}
	t.Summary = breakdownSummary(t)
	return t
}

type breakdownPage struct {
	layout
	breakdownTable
	Chart string
	// Others are the indicator's other breakdowns, for links.
	Others []indicators.Breakdown
}

// Table is the page's table, for the partial.
func (p breakdownPage) Table() breakdownTable { return p.breakdownTable }

func (s *Site) indicatorBreakdown(c *fiber.Ctx) error {
	def, visible, err := s.publishedIndicator(c)
	if err != nil {
		return err
	}
	d := def.Definition
	if len(d.Breakdowns) == 0 {
		return &userError{status: http.StatusNotFound, message: fmt.Sprintf("The indicator %q is not broken down by deprivation, age or sex: its published data has no such field.", d.ID)}
	}
	by := c.Query("by")
	if by == "" && len(d.Breakdowns) == 1 {
		by = d.Breakdowns[0].ID
	}
	i := slices.IndexFunc(d.Breakdowns, func(b indicators.Breakdown) bool { return b.ID == by })
	if i < 0 {
		var ids []string
		for _, b := range d.Breakdowns {
			ids = append(ids, b.ID)
		}
		return badParam("by", by, "it must be one of this indicator's breakdowns: "+strings.Join(ids, ", "))
	}
	b := d.Breakdowns[i]
	sums, err := s.deps.Observations.Summaries(c.UserContext(), visible, d.ID)
	if err != nil {
		return err
	}
	periods := indicators.PeriodsInOrder(sums)
	var res indicators.BreakdownResult
	var period string
	if len(periods) > 0 {
		latest := periods[len(periods)-1]
		j := slices.IndexFunc(latest.Breakdowns, func(r indicators.BreakdownResult) bool { return r.ID == b.ID })
		if j < 0 {
			return &userError{status: http.StatusNotFound, message: fmt.Sprintf("The latest period of %q (%s) was published before this breakdown was declared: there is no breakdown by %s to show.", d.ID, latest.Period, b.ID)}
		}
		res, period = latest.Breakdowns[j], latest.Period
	}
	table := newBreakdownTable("breakdown", 2, d, b, res, period)
	page := breakdownPage{layout: s.layout(c, d.Title+": by "+table.By, crumb{"/", "Home"}, crumb{"/indicators", "Indicators"}, crumb{"/indicators/" + d.ID, d.Title}),
		breakdownTable: table, Chart: groupChart(table.Measure, res)}
	for _, o := range d.Breakdowns {
		if o.ID != b.ID {
			page.Others = append(page.Others, o)
		}
	}
	return s.render(c, "breakdown", page)
}

// countsWords writes a group's numerator and denominator: "1,209 of
// 1,275", "" without them.
func countsWords(g indicators.GroupValue) string {
	if g.Numerator == nil || g.Denominator == nil {
		return ""
	}
	w := func(x float64) string {
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return thousands(int64(x))
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return w(*g.Numerator) + " of " + w(*g.Denominator)
}

// gapWords writes a difference in the measure's unit: percentage points
// for a percentage.
func gapWords(m indicators.Definition, x float64) string {
	if m.Unit == indicators.UnitPercentage {
		return strconv.FormatFloat(x, 'f', 1, 64) + " percentage points"
	}
	return m.FormatValue(&x)
}

// breakdownSummary is a breakdown in one sentence.
func breakdownSummary(p breakdownTable) string {
	r, m := p.Result, p.Measure
	if len(r.Groups) == 0 {
		return "No period of this indicator has been published yet."
	}
	var shown []indicators.GroupValue
	for _, g := range r.Groups {
		if g.Value != nil {
			shown = append(shown, g)
		}
	}
	if len(shown) == 0 {
		return fmt.Sprintf("No group has a value for %s.", p.Period)
	}
	bench := ""
	if r.Benchmark != nil {
		bench = fmt.Sprintf("; %s: %s", benchmarkName(r), m.FormatValue(r.Benchmark))
	}
	if gap := r.Gap; gap != nil && gap.Absolute != nil {
		var most, least indicators.GroupValue
		for _, g := range r.Groups {
			switch g.Group {
			case gap.MostDeprived:
				most = g
			case gap.LeastDeprived:
				least = g
			}
		}
		return fmt.Sprintf("%s, %s: %s in the most deprived group (%s) against %s in the least deprived (%s), a gap of %s (ratio %s)%s.",
			r.Measure, p.Period, m.FormatValue(most.Value), most.Group, m.FormatValue(least.Value), least.Group, p.GapAbsolute, p.GapRelative, bench)
	}
	lo, hi := shown[0], shown[0]
	for _, g := range shown {
		if *g.Value < *lo.Value {
			lo = g
		}
		if *g.Value > *hi.Value {
			hi = g
		}
	}
	return fmt.Sprintf("%s, %s: from %s (%s) to %s (%s) across %d groups%s.", r.Measure, p.Period,
		m.FormatValue(lo.Value), lo.Label, m.FormatValue(hi.Value), hi.Label, len(shown), bench)
}

func benchmarkName(r indicators.BreakdownResult) string {
	if r.BenchmarkLabel != "" {
		return r.BenchmarkLabel
	}
	return "benchmark"
}

func (breakdownPage) Twins() bool { return true }

// twin is the table, then the gap as two rows (absolute and relative),
// with how it is computed in their reason.
func (p breakdownPage) twin() twinTable {
	t := twinTable{Name: p.Definition.ID + "-by-" + p.Breakdown.ID,
		Header: []string{"indicator_id", "breakdown", "period", "group", "group_label", "measure", "organisations", "left_out", "numerator", "denominator",
			"value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "benchmark", "verdict", "verdict_words", "reason"}}
	r := p.Result
	for _, g := range r.Groups {
		t.Rows = append(t.Rows, []string{p.Definition.ID, p.Breakdown.ID, p.Period, g.Group, g.Label, r.Measure, strconv.Itoa(g.Organisations),
			strconv.Itoa(g.Excluded), number(g.Numerator), number(g.Denominator), number(g.Value), number(g.Lower95), number(g.Upper95),
			number(g.Lower998), number(g.Upper998), number(r.Benchmark), string(g.Comparison), g.Comparison.Words(), g.Reason})
	}
	if gap := r.Gap; gap != nil {
		reason := gap.Method
		if gap.Reason != "" {
			reason = gap.Reason + ". " + reason
		}
		label := fmt.Sprintf("most deprived (%s) minus least deprived (%s)", gap.MostDeprived, gap.LeastDeprived)
		t.Rows = append(t.Rows,
			[]string{p.Definition.ID, p.Breakdown.ID, p.Period, "gap-absolute", label, r.Measure, "", "", "", "",
				number(gap.Absolute), number(gap.AbsoluteLower95), number(gap.AbsoluteUpper95), "", "", "", "", "", reason},
			[]string{p.Definition.ID, p.Breakdown.ID, p.Period, "gap-relative", fmt.Sprintf("most deprived (%s) divided by least deprived (%s)", gap.MostDeprived, gap.LeastDeprived),
				r.Measure, "", "", "", "", number(gap.Relative), "", "", "", "", "", "", "", reason})
	}
	return t
}

// groupChart shows each group's value with its 95% interval, in the
// groups' order, with the benchmark as a line.
func groupChart(m indicators.Definition, r indicators.BreakdownResult) string {
	var labels []string
	var base, span []opts.BarData
	var points []opts.LineData
	n := 0
	for _, g := range r.Groups {
		labels = append(labels, g.Label)
		if g.Value == nil {
			base, span, points = append(base, opts.BarData{Value: "-"}), append(span, opts.BarData{Value: "-"}), append(points, opts.LineData{Value: "-"})
			continue
		}
		n++
		points = append(points, opts.LineData{Value: round(*g.Value, 4)})
		if g.Lower95 != nil && g.Upper95 != nil {
			base = append(base, opts.BarData{Value: round(*g.Lower95, 4)})
			span = append(span, opts.BarData{Value: round(*g.Upper95-*g.Lower95, 4)})
		} else {
			base, span = append(base, opts.BarData{Value: round(*g.Value, 4)}), append(span, opts.BarData{Value: 0})
		}
	}
	if n == 0 {
		return ""
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithAnimation(false),
		charts.WithGridOpts(opts.Grid{Top: "16", Left: "64", Right: "16", Bottom: "72"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Name: r.Label, NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Name: unitWords(m.Unit), NameLocation: "middle", NameGap: 40, Scale: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0", Data: []string{"value", "95% confidence interval"}}),
	)
	bar.SetXAxis(labels).
		AddSeries("lower limit", base, charts.WithBarChartOpts(opts.BarChart{Stack: "ci"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"})).
		AddSeries("95% confidence interval", span, charts.WithBarChartOpts(opts.BarChart{Stack: "ci", BarWidth: "40%"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: "#aeb7bd"}))
	values := charts.NewLine()
	values.SetXAxis(labels)
	series := []charts.SeriesOpts{
		charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(true), SymbolSize: 8}),
		charts.WithLineStyleOpts(opts.LineStyle{Width: 0, Opacity: opts.Float(0)}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: nhsBlue})}
	if b := r.Benchmark; b != nil && !math.IsNaN(*b) {
		series = append(series, charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: "benchmark", YAxis: round(*b, 4)}),
			charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
				Label:     &opts.Label{Show: opts.Bool(true), Position: "insideEndTop", Formatter: "benchmark {c}"},
				LineStyle: &opts.LineStyle{Color: nhsRed, Type: "dashed"}}))
	}
	values.AddSeries("value", points, series...)
	bar.Overlap(values)
	return chartJSON(bar)
}
