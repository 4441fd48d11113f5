package site

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/indicators"
)

// templateRows is the scorecard's rows as organisation.html wrote them
// before ScorecardRows (its range over .Scorecard.Lines, unchanged).
const templateRows = `{{define "rows"}}{{with .Scorecard.Lines}}
    {{- range $line := .}}
    <tr class="nhsuk-table__row">
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Indicator </span><div class="candour-cell"><a href="/indicators/{{.Definition.ID}}">{{.Definition.Title}}</a></div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Value </span><div class="candour-cell">{{if .Latest.Category}}{{.Latest.Category}}{{else if .Latest.Value}}{{value .Definition .Latest.Value}}{{else}}Not shown{{end}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">95% confidence interval </span><div class="candour-cell">{{template "ci" (dict "D" .Definition "O" .Latest)}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Compared </span><div class="candour-cell">{{if eq .Definition.Polarity "no-judgement"}}Context: not compared{{else}}{{if not .Latest.Category}}{{template "verdict" (dict "D" .Definition "O" .Latest)}} {{end}}{{verdict .Definition .Latest}}{{end}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Period </span><div class="candour-cell">{{if .Latest.Dataset}}<a href="{{releaseURL .Latest.Dataset .Latest.Version}}">{{.Latest.Period}}</a>{{else}}{{.Latest.Period}}{{end}}{{if gt (len .Series) 1}} <span class="nhsuk-body-s">({{len .Series}} periods)</span>{{end}}
        {{- with age .Latest}}<br><strong class="candour-age">{{.}}</strong>{{end}}
        {{- with index $.Published .Latest.Release}}<br><span class="nhsuk-body-s">Published {{instant .}}</span>{{end}}
        {{- if and .Latest.Funnel (ne .Definition.Verdict.Decides "funnel")}}<br><span class="nhsuk-body-s">Funnel plot (shown beside the verdict, not the verdict): {{.Latest.Funnel}}</span>{{end}}
        {{- if and .Latest.Beside (ne .Definition.Verdict.AlsoShow "funnel")}}<br><span class="nhsuk-body-s">Shown beside the verdict, not the verdict: {{.Latest.Beside.Words}}</span>{{end}}
        {{- with index $.Sparklines .Definition.ID}}<div class="candour-chart candour-chart--small" data-chart="{{.}}" role="img" aria-label="{{template "sparkwords" $line}}"></div>{{end}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Recent trend </span><div class="candour-cell">{{if .Latest.Trend}}{{if eq .Latest.Trend "cannot be calculated"}}Cannot be calculated{{if .Latest.TrendReason}}: {{.Latest.TrendReason}}{{end}}{{else}}{{.Latest.Trend}}{{end}}{{end}}</div></td>
    </tr>
    {{- end}}{{end}}{{end}}`

// ScorecardRows writes what the template wrote, byte for byte, for
// lines of every kind: values, categories, nothing shown, context
// indicators, funnel and beside comparisons, trends and their reasons,
// missing publication instants, and text that needs escaping.
func TestScorecardRowsAreTheTemplates(t *testing.T) {
	tmpl, err := template.New("rows").Funcs(funcs).ParseFS(templateFiles, "templates/partials.html")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Parse(templateRows); err != nil {
		t.Fatal(err)
	}
	v := func(x float64) *float64 { return &x }
	pct := indicators.Definition{ID: "waits-4h", Title: `Seen within "4 hours" <A&E> + 'more'`, Unit: indicators.UnitPercentage,
		Polarity: indicators.HigherIsBetter, Method: indicators.MethodWilson, Benchmark: indicators.Benchmark{Kind: "target", Value: v(95), Label: "Target 95%"}}
	shmi := indicators.Definition{ID: "shmi", Title: "SHMI", Unit: indicators.UnitRatio, Polarity: indicators.LowerIsBetter, Method: indicators.MethodOERatio,
		Verdict: indicators.Verdict{Method: indicators.VerdictFunnel, Limits: "log-scale", AlsoShow: indicators.VerdictInterval, Why: "because"}}
	ctxDef := indicators.Definition{ID: "list-size", Title: "List size", Unit: indicators.UnitScore, Polarity: indicators.NoJudgement, Method: indicators.MethodAsGiven}
	cqc := indicators.Definition{ID: "cqc", Title: "CQC rating", Polarity: indicators.HigherIsBetter, Method: indicators.MethodCategory}
	interval := indicators.Definition{ID: "proms", Title: "PROMs", Unit: indicators.UnitScore, Polarity: indicators.HigherIsBetter, Method: indicators.MethodMeanSD,
		Verdict: indicators.Verdict{AlsoShow: indicators.VerdictFunnel, Why: "why"}}
	published := time.Date(2025, 3, 13, 9, 30, 0, 0, time.UTC)
	pts := func(vals ...*float64) []indicators.Point {
		var out []indicators.Point
		for i, x := range vals {
			out = append(out, indicators.Point{Period: []string{"2019/20", "2020/21", "2021/22"}[i%3], Value: x})
		}
		return out
	}
	lines := []indicators.Line{
		{Definition: pct, Latest: indicators.Observation{Release: 7, Dataset: "waits", Version: 3, Period: "2021/22", PeriodStart: "2021-04-01",
			Value: v(72.34), Lower95: v(70.1), Upper95: v(74.9), Benchmark: v(95), Comparison: indicators.Worse, Trend: indicators.TrendIncreasing},
			Series: pts(v(70), nil, v(72.34))},
		{Definition: shmi, Latest: indicators.Observation{Release: 8, Period: "January 2026", Value: v(1.12), Lower95: v(1.01), Upper95: v(1.2),
			Comparison: indicators.HigherThanExpected, Beside: indicators.Worse, Funnel: "above the 99.8% limit", Trend: indicators.TrendNotComputed,
			TrendReason: "fewer than five periods (2)"}, Series: pts(v(1.1), v(1.12))},
		{Definition: interval, Latest: indicators.Observation{Release: 7, Dataset: "proms", Version: 1, Period: "2024", Value: v(21.5), Lower95: v(20), Upper95: v(23),
			Comparison: indicators.Similar, Funnel: "within the limits", Beside: indicators.AsExpected, Trend: indicators.TrendNotComputed}, Series: pts(v(21.5))},
		{Definition: ctxDef, Latest: indicators.Observation{Release: 9, Period: "2025", Value: v(12345)}, Series: pts(v(12000), v(12345))},
		{Definition: cqc, Latest: indicators.Observation{Release: 7, Period: "2023", Category: "Requires <improvement>", Comparison: indicators.NotCompared}, Series: pts(nil)},
		{Definition: pct, Latest: indicators.Observation{Release: 7, Period: "2022/23", Reason: "fewer than 10 patients", Comparison: indicators.NotCompared},
			Series: pts(nil, nil)},
	}
	for _, now := range []bool{true, false} {
		page := organisationPage{Scorecard: indicators.Scorecard{Lines: lines}, Published: map[int64]time.Time{7: published},
			Sparklines: map[string]string{}}
		if now {
			for _, l := range lines {
				if s := sparkline(l); s != "" {
					page.Sparklines[l.Definition.ID] = s
				}
			}
		}
		var want strings.Builder
		if err := tmpl.ExecuteTemplate(&want, "rows", page); err != nil {
			t.Fatal(err)
		}
		if got := string(page.ScorecardRows()); got != want.String() {
			t.Errorf("ScorecardRows differs from the template (sparklines %v):\n got %s\nwant %s", now, got, want.String())
		}
	}
}
