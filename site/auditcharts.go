package site

import (
	"math"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/candour/candour/indicators/audit"
)

const nhsWarmYellow = "#ffb81c"

// auditFunnel is a measure's funnel plot: each classified unit's value
// against its precision (cases, or expected events), coloured by status,
// with the 95% and 99.8% limits drawn as the audit computed them (the same
// method, target and overdispersion), and the target line.
func auditFunnel(m audit.Measure, f audit.Funnel, rows []auditRow) string {
	if len(rows) < 3 || f.MaxPrecision <= 0 {
		return ""
	}
	scale := 1.0
	yName := "observed ÷ expected"
	xName := "expected events"
	if m.Statistic == audit.Proportion {
		scale, yName, xName = 100, "rate (%)", "cases"
	}
	series := map[audit.Status][]opts.ScatterData{}
	minP := math.Inf(1)
	for _, r := range rows {
		if r.Value == nil {
			continue
		}
		series[r.Status] = append(series[r.Status], opts.ScatterData{Name: r.Name,
			Value: []float64{round(r.Precision, 2), round(*r.Value*scale, 4)}, SymbolSize: 6})
		minP = math.Min(minP, r.Precision)
	}
	sc := charts.NewScatter()
	sc.SetGlobalOptions(
		charts.WithAnimation(false),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithGridOpts(opts.Grid{Top: "16", Left: "64", Right: "16", Bottom: "88"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: xName, NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: yName, NameLocation: "middle", NameGap: 44, Scale: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
	)
	for _, s := range []struct {
		status audit.Status
		name   string
		color  string
	}{{audit.Within, "within the limits", nhsBlue}, {audit.Alert, "alert (beyond 95%)", nhsWarmYellow}, {audit.Alarm, "alarm (beyond 99.8%)", nhsRed}} {
		if len(series[s.status]) > 0 {
			sc.AddSeries(s.name, series[s.status], charts.WithItemStyleOpts(opts.ItemStyle{Color: s.color}))
		}
	}
	lines := charts.NewLine()
	const steps = 80
	lo := math.Max(minP, 1)
	limits := make([]audit.Limits, 0, steps+1)
	xs := make([]float64, 0, steps+1)
	for i := 0; i <= steps; i++ {
		// Geometric steps: the funnel changes fastest at small sizes.
		x := lo * math.Pow(f.MaxPrecision/lo, float64(i)/steps)
		if m.Statistic == audit.Proportion {
			x = math.Round(x)
		}
		if len(xs) > 0 && x == xs[len(xs)-1] {
			continue
		}
		xs = append(xs, x)
		limits = append(limits, audit.UnitLimits(m, f.Target, x, f.Dispersion))
	}
	for k, lim := range []struct {
		name, color string
		pick        func(audit.Limits) float64
	}{
		{"95% limits", nhsGrey, func(l audit.Limits) float64 { return l.Upper95 }},
		{"95% limits", nhsGrey, func(l audit.Limits) float64 { return l.Lower95 }},
		{"99.8% limits", nhsRed, func(l audit.Limits) float64 { return l.Upper998 }},
		{"99.8% limits", nhsRed, func(l audit.Limits) float64 { return l.Lower998 }},
		{"target", nhsGreen, func(audit.Limits) float64 { return f.Target }},
	} {
		var data []opts.LineData
		for i, x := range xs {
			data = append(data, opts.LineData{Value: []float64{round(x, 2), round(lim.pick(limits[i])*scale, 4)}})
		}
		style := opts.LineStyle{Color: lim.color, Type: "dashed", Width: 1}
		if k == 4 {
			style.Type = "solid"
		}
		lines.AddSeries(lim.name, data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}), charts.WithLineStyleOpts(style),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: lim.color}))
	}
	sc.Overlap(lines)
	return chartJSON(sc)
}

// auditTrend is a unit's value across periods (one line per provider for
// a consultant working at several), with its 95% limits as a band.
func auditTrend(m audit.Measure, rows []auditRow) string {
	scale := 1.0
	if m.Statistic == audit.Proportion {
		scale = 100
	}
	var periods []string
	byProvider := map[string]map[string]float64{}
	var providers []string
	for _, r := range rows {
		if len(periods) == 0 || periods[len(periods)-1] != r.Period {
			periods = append(periods, r.Period)
		}
		if r.Value == nil {
			continue
		}
		if byProvider[r.Provider] == nil {
			byProvider[r.Provider] = map[string]float64{}
			providers = append(providers, r.Provider)
		}
		byProvider[r.Provider][r.Period] = *r.Value * scale
	}
	if len(periods) < 2 || len(providers) == 0 {
		return ""
	}
	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithAnimation(false),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Scale: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(providers) > 1), Bottom: "0"}),
	)
	line.SetXAxis(periods)
	for _, p := range providers {
		var data []opts.LineData
		for _, period := range periods {
			if v, ok := byProvider[p][period]; ok {
				data = append(data, opts.LineData{Value: round(v, 4)})
			} else {
				data = append(data, opts.LineData{Value: "-"})
			}
		}
		line.AddSeries(p, data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(true)}))
	}
	return chartJSON(line)
}
