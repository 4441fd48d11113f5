package site

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/candour/candour/indicators"
)

// The scorecard's table rows are written here rather than by the
// template: a scorecard has a row per indicator (150 on a large one), and
// html/template calls each of a row's forty-odd actions and escapers
// through reflection, which made the rows most of the page's cost. The
// output is the template's, byte for byte (organisation.html had the row
// as a range; the end-to-end golden pages hold it), and every value is
// escaped as html/template escapes it in text and in quoted attributes.

// htmlEscaper escapes text and quoted attribute values as html/template
// does (its htmlReplacementTable: NUL, quotes, &, +, < and >).
var htmlEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// ScorecardRows writes the scorecard table's rows.
func (p organisationPage) ScorecardRows() template.HTML {
	var b strings.Builder
	b.Grow(len(p.Scorecard.Lines) * 2048)
	esc := func(s string) { htmlEscaper.WriteString(&b, s) }
	now := time.Now()
	for _, l := range p.Scorecard.Lines {
		d, o := l.Definition, l.Latest
		b.WriteString("\n    <tr class=\"nhsuk-table__row\">\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Indicator </span><div class=\"candour-cell\"><a href=\"/indicators/")
		esc(url.PathEscape(d.ID))
		b.WriteString(`">`)
		esc(d.Title)
		b.WriteString("</a></div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Value </span><div class=\"candour-cell\">")
		switch {
		case o.Category != "":
			esc(o.Category)
		case o.Value != nil:
			esc(d.FormatValue(o.Value))
		default:
			b.WriteString("Not shown")
		}
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">95% confidence interval </span><div class=\"candour-cell\">")
		if o.Lower95 != nil {
			esc(d.FormatValue(o.Lower95))
			b.WriteString(" to ")
			esc(d.FormatValue(o.Upper95))
		}
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Compared </span><div class=\"candour-cell\">")
		if d.Polarity == indicators.NoJudgement {
			b.WriteString("Context: not compared")
		} else {
			if o.Category == "" {
				verdictTag(&b, esc, d, o)
				b.WriteString(" ")
			}
			esc(d.Sentence(o))
		}
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Period </span><div class=\"candour-cell\">")
		if o.Dataset != "" {
			b.WriteString(`<a href="`)
			esc("/datasets/" + url.PathEscape(o.Dataset) + "/releases/" + strconv.Itoa(o.Version))
			b.WriteString(`">`)
			esc(o.Period)
			b.WriteString("</a>")
		} else {
			esc(o.Period)
		}
		if len(l.Series) > 1 {
			b.WriteString(` <span class="nhsuk-body-s">(` + strconv.Itoa(len(l.Series)) + ` periods)</span>`)
		}
		if age := periodAge(o.PeriodStart, o.Period, now); age != "" {
			b.WriteString(`<br><strong class="candour-age">`)
			esc(age)
			b.WriteString("</strong>")
		}
		// The template's {{with index $.Published …}} was always true (a
		// time.Time is a struct), so the line is written even when empty.
		b.WriteString(`<br><span class="nhsuk-body-s">Published `)
		if t := p.Published[o.Release]; !t.IsZero() {
			esc(t.In(london).Format("2 January 2006, 3:04pm"))
		}
		b.WriteString("</span>")
		if o.Funnel != "" && d.Verdict.Decides() != indicators.VerdictFunnel {
			b.WriteString(`<br><span class="nhsuk-body-s">Funnel plot (shown beside the verdict, not the verdict): `)
			esc(o.Funnel)
			b.WriteString("</span>")
		}
		if o.Beside != "" && d.Verdict.AlsoShow != indicators.VerdictFunnel {
			b.WriteString(`<br><span class="nhsuk-body-s">Shown beside the verdict, not the verdict: `)
			esc(o.Beside.Words())
			b.WriteString("</span>")
		}
		if chart := p.Sparklines[d.ID]; chart != "" {
			b.WriteString(`<div class="candour-chart candour-chart--small" data-chart="`)
			esc(chart)
			b.WriteString(`" role="img" aria-label="`)
			sparkWords(&b, esc, l)
			b.WriteString(`"></div>`)
		}
		b.WriteString("</div></td>\n      <td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" aria-hidden=\"true\">Recent trend </span><div class=\"candour-cell\">")
		if o.Trend != "" {
			if o.Trend == indicators.TrendNotComputed {
				b.WriteString("Cannot be calculated")
				if o.TrendReason != "" {
					b.WriteString(": ")
					esc(o.TrendReason)
				}
			} else {
				esc(string(o.Trend))
			}
		}
		b.WriteString("</div></td>\n    </tr>")
	}
	return template.HTML(b.String())
}

// sparkWords is a sparkline in words, for those who cannot see it (the
// "sparkwords" template).
func sparkWords(b *strings.Builder, esc func(string), l indicators.Line) {
	d, first := l.Definition, l.Series[0]
	b.WriteString("Trend over " + strconv.Itoa(len(l.Series)) + " periods: from ")
	if first.Value != nil {
		esc(d.FormatValue(first.Value))
	} else {
		b.WriteString("not shown")
	}
	b.WriteString(" (")
	esc(first.Period)
	b.WriteString(") to ")
	if l.Latest.Value != nil {
		esc(d.FormatValue(l.Latest.Value))
	} else {
		b.WriteString("not shown")
	}
	b.WriteString(" (")
	esc(l.Latest.Period)
	b.WriteString(")")
}
