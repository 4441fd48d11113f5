package site

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/indicators"
)

// Charts are built here with go-echarts and reach the page only as JSON
// options in a data attribute; static/charts.js draws them with the
// locally served ECharts. There is no inline script, every chart has a
// table beside it and a one-sentence summary, and without JavaScript the
// table is what the reader gets.

// chartJSON renders a chart's options as JSON.
func chartJSON(c interface {
	Validate()
	JSON() map[string]interface{}
}) string {
	c.Validate() // go-echarts fills in axis data here
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c.JSON()); err != nil {
		return ""
	}
	return strings.TrimSpace(buf.String())
}

const (
	nhsBlue  = "#005eb8"
	nhsGrey  = "#768692"
	nhsRed   = "#d5281b"
	nhsGreen = "#007f3b"
)

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// sparkline is a small line of an indicator's values over its periods.
// A scorecard has one per indicator, so its options are written here
// directly, holding only what differs from ECharts' defaults (a third of
// what go-echarts writes, and without its reflection): the same line,
// points, colour, tooltip and hidden axes.
func sparkline(l indicators.Line) string {
	n := 0
	for _, p := range l.Series {
		if p.Value != nil && !math.IsInf(*p.Value, 0) && !math.IsNaN(*p.Value) {
			n++
		}
	}
	if n < 2 {
		return ""
	}
	b := make([]byte, 0, 320+len(l.Definition.Title)+n*32)
	b = append(b, `{"animation":false,"grid":[{"left":2,"top":4,"right":2,"bottom":4}],"tooltip":{"trigger":"axis"},"xAxis":[{"show":false,"data":[`...)
	first := true
	for _, p := range l.Series {
		if p.Value == nil || math.IsInf(*p.Value, 0) || math.IsNaN(*p.Value) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, p.Period)
	}
	b = append(b, `]}],"yAxis":[{"show":false,"scale":true}],"series":[{"name":`...)
	b = appendJSONString(b, l.Definition.Title)
	b = append(b, `,"type":"line","symbolSize":4,"itemStyle":{"color":"`+nhsBlue+`"},"lineStyle":{"color":"`+nhsBlue+`","width":2},"data":[`...)
	first = true
	for _, p := range l.Series {
		if p.Value == nil || math.IsInf(*p.Value, 0) || math.IsNaN(*p.Value) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"value":`...)
		b = strconv.AppendFloat(b, round(*p.Value, 4), 'g', -1, 64)
		b = append(b, '}')
	}
	b = append(b, "]}]}"...)
	return string(b)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // a string always marshals
		panic(err)
	}
	return append(b, q...)
}

// caterpillar shows every organisation's value with its 95% interval,
// ordered, with the benchmark as a line.
func caterpillar(d indicators.Definition, rows []indicatorRow) string {
	if len(rows) == 0 {
		return ""
	}
	var labels []string
	var base, span []opts.BarData
	// One series of dots per verdict, so each verdict has its colour and
	// its name in the legend; "-" leaves a gap in the others.
	verdicts := []struct {
		name, tone, colour string
		points             []opts.LineData
	}{{"Better", "good", nhsGreen, nil}, {"Similar or not judged", "", nhsBlue, nil}, {"Worse", "bad", nhsRed, nil}}
	for _, r := range rows {
		o := r.Observation
		label := catalogue.TitleCase(r.Organisation.Name)
		if label == "" {
			label = r.Organisation.Code
		}
		labels = append(labels, label)
		tone := o.Comparison.Tone(d.Polarity)
		for i := range verdicts {
			v := opts.LineData{Value: "-"}
			if verdicts[i].tone == tone || verdicts[i].tone == "" && tone != "good" && tone != "bad" {
				v.Value = round(*o.Value, 4)
			}
			verdicts[i].points = append(verdicts[i].points, v)
		}
		if o.Lower95 != nil && o.Upper95 != nil {
			base = append(base, opts.BarData{Value: round(*o.Lower95, 4)})
			span = append(span, opts.BarData{Value: round(*o.Upper95-*o.Lower95, 4)})
		} else {
			base = append(base, opts.BarData{Value: round(*o.Value, 4)})
			span = append(span, opts.BarData{Value: 0})
		}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithAnimation(false),
		// The title is the page's heading above the chart, which wraps on
		// a phone as a title drawn inside the chart cannot.
		charts.WithGridOpts(opts.Grid{Top: "16", Left: "64", Right: "16", Bottom: "72"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Name: "Organisations, best first", NameLocation: "middle", NameGap: 12, AxisLabel: &opts.AxisLabel{Show: opts.Bool(false)}}),
		charts.WithYAxisOpts(opts.YAxis{Name: unitWords(d.Unit), NameLocation: "middle", NameGap: 40, Scale: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0", Data: []string{"Better", "Similar or not judged", "Worse"}}),
	)
	bar.SetXAxis(labels).
		AddSeries("lower limit", base, charts.WithBarChartOpts(opts.BarChart{Stack: "ci"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"})).
		AddSeries("95% confidence interval", span, charts.WithBarChartOpts(opts.BarChart{Stack: "ci", BarWidth: "40%"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: "#aeb7bd"}))
	values := charts.NewLine()
	values.SetXAxis(labels)
	for i, v := range verdicts {
		series := []charts.SeriesOpts{
			charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(true), SymbolSize: 5}),
			charts.WithLineStyleOpts(opts.LineStyle{Width: 0, Opacity: opts.Float(0)}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: v.colour})}
		// The benchmark is one dashed line (on the first series only),
		// labelled inside the chart so a narrow one does not cut it off.
		if b := rows[0].Observation.Benchmark; i == 0 && b != nil {
			series = append(series, charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: "benchmark", YAxis: *b}),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
					Label:     &opts.Label{Show: opts.Bool(true), Position: "insideEndTop", Formatter: "benchmark {c}"},
					LineStyle: &opts.LineStyle{Color: nhsRed, Type: "dashed"}}))
		}
		values.AddSeries(v.name, v.points, series...)
	}
	bar.Overlap(values)
	return chartJSON(bar)
}

// funnel plots each organisation on the indicator's funnel (observed ÷
// expected against expected events, or a percentage against cases), with
// the 95% and 99.8% control limits the release fitted, drawn by the same
// function that placed the organisations.
func funnel(d indicators.Definition, fit *indicators.FunnelFit, rows []indicatorRow) string {
	if fit == nil {
		return ""
	}
	var pts []opts.ScatterData
	minP, maxP := math.Inf(1), 0.0
	for _, r := range rows {
		o := r.Observation
		if o.Funnel == "" || o.Denominator == nil || o.Value == nil || *o.Denominator <= 0 {
			continue
		}
		pts = append(pts, opts.ScatterData{Name: r.Organisation.Code, Value: []float64{round(*o.Denominator, 2), round(*o.Value, 4)}, SymbolSize: 6})
		minP, maxP = math.Min(minP, *o.Denominator), math.Max(maxP, *o.Denominator)
	}
	if len(pts) < 3 {
		return ""
	}
	xName, yName := "expected events", "observed ÷ expected"
	if d.Method == indicators.MethodWilson {
		xName, yName = "cases", string(d.Unit)
	}
	sc := charts.NewScatter()
	sc.SetGlobalOptions(
		charts.WithAnimation(false),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		// Axis titles sit along the middle of their axes, inside the grid's
		// margins, so a phone-width chart does not clip them.
		charts.WithGridOpts(opts.Grid{Top: "16", Left: "64", Right: "16", Bottom: "88"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: xName, NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: yName, NameLocation: "middle", NameGap: 44, Scale: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
	)
	sc.AddSeries("organisations", pts, charts.WithItemStyleOpts(opts.ItemStyle{Color: nhsBlue}))
	limits := charts.NewLine()
	for k, lim := range []struct {
		name  string
		color string
	}{{"95% limits", nhsGrey}, {"95% limits", nhsGrey}, {"99.8% limits", nhsRed}, {"99.8% limits", nhsRed}} {
		var line []opts.LineData
		for i := 0; i <= 60; i++ {
			p := math.Max(minP*0.8, 1) + (maxP*1.05-math.Max(minP*0.8, 1))*float64(i)/60
			l, err := fit.LimitsAt(d, p)
			if err != nil {
				continue
			}
			y := []float64{l.Upper95, l.Lower95, l.Upper998, l.Lower998}[k]
			line = append(line, opts.LineData{Value: []float64{round(p, 2), round(y, 4)}})
		}
		// The item colour is the legend's marker: it matches the line.
		limits.AddSeries(lim.name, line, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}),
			charts.WithLineStyleOpts(opts.LineStyle{Color: lim.color, Type: "dashed", Width: 1}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: lim.color}))
	}
	sc.Overlap(limits)
	return chartJSON(sc)
}

// unitWords names an indicator's unit for an axis title.
func unitWords(u indicators.Unit) string {
	switch u {
	case indicators.UnitPercentage:
		return "Per cent"
	case indicators.UnitRate:
		return "Rate"
	case indicators.UnitRatio:
		return "Observed ÷ expected"
	case indicators.UnitScore:
		return "Score"
	}
	return string(u)
}

// ratingsChart is a small horizontal bar chart of a rating distribution,
// five stars at the top; the table beside it gives the same counts.
func ratingsChart(d feedback.Distribution) string {
	if d.Ratings == 0 {
		return ""
	}
	var labels []string
	var data []opts.BarData
	for stars := 1; stars <= 5; stars++ {
		label := strconv.Itoa(stars) + " stars"
		if stars == 1 {
			label = "1 star"
		}
		labels = append(labels, label)
		data = append(data, opts.BarData{Value: d.Stars[stars-1]})
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithAnimation(false),
		charts.WithGridOpts(opts.Grid{Top: "4", Left: "56", Right: "24", Bottom: "24"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", MinInterval: 1}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: labels}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	)
	bar.AddSeries("Ratings", data, charts.WithItemStyleOpts(opts.ItemStyle{Color: nhsBlue}),
		charts.WithBarChartOpts(opts.BarChart{BarWidth: "60%"}))
	return chartJSON(bar)
}
