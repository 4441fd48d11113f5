package site

import (
	"html/template"
	"strings"
	"testing"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/indicators"
)

// templateIndicatorRows is the rows of the "indicatorrows" template as it
// wrote them before RowsHTML (its range over .Rows, unchanged).
const templateIndicatorRows = `{{define "rows"}}
    {{- range .Rows}}
    <tr class="nhsuk-table__row{{if and $.Highlight (eq .Organisation.Code $.Highlight)}} candour-highlight{{end}}" id="{{$.ID}}-{{.Organisation.Code}}">
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Organisation </span><div class="candour-cell">{{template "orglink" .Organisation}}{{if and $.Highlight (eq .Organisation.Code $.Highlight)}} <strong class="nhsuk-tag nhsuk-tag--blue">You asked for this one</strong>{{end}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Value </span><div class="candour-cell">{{value $.D .Observation.Value}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">95% CI </span><div class="candour-cell">{{template "ci" (dict "D" $.D "O" .Observation)}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Compared </span><div class="candour-cell">{{template "verdict" (dict "D" $.D "O" .Observation)}}{{if eq .Observation.Comparison "not-compared"}} {{.Observation.Reason}}{{end}}</div></td>
      <td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Quintile </span><div class="candour-cell">{{if .Observation.Quintile}}{{.Observation.Quintile}}{{end}}</div></td>
      {{- if $.HasFunnel}}<td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Funnel position </span><div class="candour-cell">{{.Observation.Funnel}}</div></td>{{end}}
      {{- if $.D.Verdict.AlsoShow}}<td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Beside the verdict </span><div class="candour-cell">{{if .Observation.Beside}}{{.Observation.Beside.Words}}{{end}}</div></td>{{end}}
    </tr>
    {{- end}}{{end}}`

// RowsHTML writes what the template wrote, byte for byte: highlighted and
// plain rows, organisations in and outside the directory, not compared,
// funnel and beside columns, and text that needs escaping.
func TestIndicatorRowsAreTheTemplates(t *testing.T) {
	tmpl, err := template.New("rows").Funcs(funcs).ParseFS(templateFiles, "templates/partials.html")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Parse(templateIndicatorRows); err != nil {
		t.Fatal(err)
	}
	v := func(x float64) *float64 { return &x }
	shmi := indicators.Definition{ID: "shmi", Title: "SHMI", Unit: indicators.UnitRatio, Polarity: indicators.LowerIsBetter, Method: indicators.MethodOERatio,
		Verdict: indicators.Verdict{Method: indicators.VerdictFunnel, Limits: "log-scale", AlsoShow: indicators.VerdictInterval, Why: "because"}}
	pct := indicators.Definition{ID: "waits", Title: "Waits", Unit: indicators.UnitPercentage, Polarity: indicators.HigherIsBetter, Method: indicators.MethodWilson}
	rows := []indicatorRow{
		{Organisation: catalogue.Organisation{Code: "RR8", Name: "LEEDS TEACHING HOSPITALS NHS TRUST", Type: catalogue.TypeNHSTrust},
			Observation: indicators.Observation{Value: v(1.12), Lower95: v(1.01), Upper95: v(1.2), Comparison: indicators.HigherThanExpected, Quintile: 5,
				Funnel: "above the 99.8% limit", Beside: indicators.Worse}},
		{Organisation: catalogue.Organisation{Code: "RX1", Type: catalogue.TypeNHSTrust},
			Observation: indicators.Observation{Value: v(0.9), Comparison: indicators.AsExpected}},
		{Organisation: catalogue.Organisation{Code: "ZZ9"},
			Observation: indicators.Observation{Value: v(1), Comparison: indicators.NotCompared, Reason: `fewer than 10 "expected" <deaths> & +more`}},
		{Organisation: catalogue.Organisation{Code: "A81001", Name: "THE DENSHAM SURGERY & <CO>", Type: catalogue.TypeGPPractice},
			Observation: indicators.Observation{Value: v(72.5), Lower95: v(70), Upper95: v(75), Comparison: indicators.Better}},
	}
	for _, tc := range []indicatorTable{
		{ID: "distribution", D: shmi, Rows: rows, HasFunnel: true, Highlight: "RX1"},
		{ID: "review-indicator-waits", D: pct, Rows: rows},
		{ID: "distribution", D: shmi, Rows: nil},
	} {
		var want strings.Builder
		if err := tmpl.ExecuteTemplate(&want, "rows", tc); err != nil {
			t.Fatal(err)
		}
		if got := string(tc.RowsHTML()); got != want.String() {
			t.Errorf("RowsHTML differs from the template (%s, highlight %q):\n got %s\nwant %s", tc.ID, tc.Highlight, got, want.String())
		}
	}
}
