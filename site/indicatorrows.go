package site

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/indicators"
)

// RowsHTML writes the rows of an indicator's table, as ScorecardRows
// writes a scorecard's and for the same reason: an indicator page filtered
// to a region has a thousand rows here, and html/template's reflective
// calls of each row's actions were most of its cost. The output is the
// "indicatorrows" template's range, byte for byte (tested).
func (t indicatorTable) RowsHTML() template.HTML {
	var b strings.Builder
	b.Grow(len(t.Rows) * 1024)
	esc := func(s string) { htmlEscaper.WriteString(&b, s) }
	for _, r := range t.Rows {
		o, org := r.Observation, r.Organisation
		highlight := t.Highlight != "" && org.Code == t.Highlight
		b.WriteString("\n    <tr class=\"nhsuk-table__row")
		if highlight {
			b.WriteString(" candour-highlight")
		}
		b.WriteString(`" id="`)
		esc(t.ID)
		b.WriteString("-")
		esc(org.Code)
		b.WriteString("\">\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Organisation </span><div class=\"candour-cell\">")
		orgLink(&b, esc, org)
		if highlight {
			b.WriteString(` <strong class="nhsuk-tag nhsuk-tag--blue">You asked for this one</strong>`)
		}
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Value </span><div class=\"candour-cell\">")
		esc(t.D.FormatValue(o.Value))
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">95% CI </span><div class=\"candour-cell\">")
		if o.Lower95 != nil {
			esc(t.D.FormatValue(o.Lower95))
			b.WriteString(" to ")
			esc(t.D.FormatValue(o.Upper95))
		}
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Compared </span><div class=\"candour-cell\">")
		verdictTag(&b, esc, t.D, o)
		if o.Comparison == indicators.NotCompared {
			b.WriteString(" ")
			esc(o.Reason)
		}
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Quintile </span><div class=\"candour-cell\">")
		if o.Quintile != 0 {
			b.WriteString(strconv.Itoa(o.Quintile))
		}
		b.WriteString("</div></td>")
		if t.HasFunnel {
			b.WriteString(`<td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Funnel position </span><div class="candour-cell">`)
			esc(o.Funnel)
			b.WriteString("</div></td>")
		}
		if t.D.Verdict.AlsoShow != "" {
			b.WriteString(`<td class="nhsuk-table__cell"><span class="nhsuk-table-responsive__heading" aria-hidden="true">Beside the verdict </span><div class="candour-cell">`)
			if o.Beside != "" {
				esc(o.Beside.Words())
			}
			b.WriteString("</div></td>")
		}
		b.WriteString("\n    </tr>")
	}
	return template.HTML(b.String())
}

// orgLink is the "orglink" template: a link to an organisation's page,
// named in normal capitals, or its code alone when its type is unknown.
func orgLink(b *strings.Builder, esc func(string), o catalogue.Organisation) {
	if o.Type == "" {
		esc(o.Code)
		return
	}
	b.WriteString(`<a href="/organisations/`)
	esc(url.PathEscape(o.Code))
	b.WriteString(`">`)
	if o.Name != "" {
		esc(catalogue.TitleCase(o.Name))
	} else {
		esc(o.Type.Label() + " " + o.Code)
	}
	b.WriteString("</a>")
}

// verdictTag is the "verdict" template: a verdict as a tag, words first,
// colour (through polarity) second.
func verdictTag(b *strings.Builder, esc func(string), d indicators.Definition, o indicators.Observation) {
	colour := "grey"
	switch o.Comparison.Tone(d.Polarity) {
	case "good":
		colour = "green"
	case "bad":
		colour = "red"
	case "neutral":
		colour = "blue"
	default:
		if o.Comparison == indicators.NotCompared {
			colour = "white"
		}
	}
	b.WriteString(`<strong class="nhsuk-tag nhsuk-tag--` + colour + `">`)
	esc(o.Comparison.Words())
	b.WriteString("</strong>")
}
