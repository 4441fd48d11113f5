package site

import (
	"fmt"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/indicators"
)

// Headlines answer a reader's first question about a page in two or
// three short sentences: how an organisation compares, how organisations
// side by side compare, how an audit's units fared. They are built from
// verdicts already computed (never a verdict of their own), in plain,
// short words: the site's plain-language test holds them to a Flesch
// reading ease of at least 60.

// tally counts the verdicts of a set of lines.
type tally struct{ better, same, worse, compared, old int }

func tallyLines(lines []indicators.Line, now time.Time) tally {
	var t tally
	for _, l := range lines {
		if periodAge(l.Latest.PeriodStart, l.Latest.Period, now) != "" {
			t.old++
		}
		if l.Definition.Polarity == indicators.NoJudgement || l.Latest.Category != "" {
			continue
		}
		switch l.Latest.Comparison {
		case indicators.Similar, indicators.AsExpected:
			t.same++
		default:
			switch l.Latest.Comparison.Tone(l.Definition.Polarity) {
			case "good":
				t.better++
			case "bad":
				t.worse++
			default:
				continue
			}
		}
		t.compared++
	}
	return t
}

// phrase says "better than the benchmark on 1, about the same on 2 and
// worse on 1": the first part names the benchmark, the rest need not.
func (t tally) phrase() string {
	var parts []string
	add := func(n int, first, later string) {
		switch {
		case n == 0:
		case len(parts) == 0:
			parts = append(parts, fmt.Sprintf(first, n))
		default:
			parts = append(parts, fmt.Sprintf(later, n))
		}
	}
	add(t.better, "better than the benchmark on %d", "better on %d")
	add(t.same, "about the same as the benchmark on %d", "about the same on %d")
	add(t.worse, "worse than the benchmark on %d", "worse on %d")
	return joinAnd(parts)
}

// scorecardHeadline: how many measures an organisation does better,
// about the same and worse on, and how many figures are over a year old.
func scorecardHeadline(sc indicators.Scorecard, now time.Time) string {
	t := tallyLines(sc.Lines, now)
	var out []string
	switch {
	case len(sc.Lines) == 0:
		out = append(out, "We have no figures for it yet.")
	case t.compared == 0:
		out = append(out, fmt.Sprintf("We show %s for it, but none is compared with a benchmark.", plural(len(sc.Lines), "figure")))
	default:
		out = append(out, fmt.Sprintf("We compare it on %s.", plural(t.compared, "measure")), "It does "+t.phrase()+".")
	}
	switch {
	case t.old == 1 && len(sc.Lines) == 1:
		out = append(out, "This figure is more than a year old.")
	case t.old == 1:
		out = append(out, "One of the figures is more than a year old.")
	case t.old > 1:
		out = append(out, fmt.Sprintf("%d of the figures are more than a year old.", t.old))
	}
	return strings.Join(out, " ")
}

// compareHeadline: for each organisation, how it does on the measures
// the comparison shows.
func compareHeadline(p comparePage, now time.Time) string {
	if len(p.Rows) == 0 {
		return ""
	}
	out := []string{fmt.Sprintf("They share %s.", plural(len(p.Rows), "measure"))}
	var old int
	for i, col := range p.Columns {
		var lines []indicators.Line
		for _, r := range p.Rows {
			if o := r.Cells[i]; o != nil {
				lines = append(lines, indicators.Line{Definition: r.Definition, Latest: *o})
			}
		}
		t := tallyLines(lines, now)
		old = max(old, t.old)
		name := catalogue.TitleCase(col.Organisation.Name)
		if name == "" {
			name = col.Organisation.Code
		}
		if t.compared == 0 {
			out = append(out, name+" has no figures we can compare.")
			continue
		}
		out = append(out, name+" does "+t.phrase()+".")
	}
	if old > 0 {
		out = append(out, "Some figures are more than a year old, so take care.")
	}
	return strings.Join(out, " ")
}

// auditHeadline: how many of an audit's units were within the expected
// range, at alarm, at alert, and too small to judge.
func auditHeadline(units, within, alerts, alarms, unclassified int, level string) string {
	if units == 0 {
		return ""
	}
	level = strings.ToLower(level)
	out := []string{fmt.Sprintf("%d of %s had results in the expected range.", within, plural(units, level))}
	switch {
	case alarms > 0 && alerts > 0:
		out = append(out, fmt.Sprintf("%d were far outside it (alarm) and %d were outside it (alert).", alarms, alerts))
	case alarms > 0:
		out = append(out, fmt.Sprintf("%d were far outside it (alarm).", alarms))
	case alerts > 0:
		out = append(out, fmt.Sprintf("%d were outside it (alert).", alerts))
	}
	if unclassified > 0 {
		out = append(out, fmt.Sprintf("%d had too few cases to judge.", unclassified))
	}
	return strings.Join(out, " ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// joinAnd writes "a, b and c".
func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
