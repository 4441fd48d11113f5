package site

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/candour/candour/indicators"
)

// periodAge says how old a figure is, in words, when its period began
// more than a year before now: "from January 2014, 12 years old". The
// period's start is its YYYY-MM-DD start or, when the release gave none,
// the last month its label names ("Rolling twelve months, published
// January 2014"). It is "" for a figure less than a year old or with no
// date at all, so a page shows an age only where a reader could be misled
// by putting it beside this year's figures.
var monthInLabel = regexp.MustCompile(`\b(January|February|March|April|May|June|July|August|September|October|November|December) [12][0-9]{3}\b`)

func periodAge(start, label string, now time.Time) string {
	began, err := time.Parse(time.DateOnly, start)
	if err != nil {
		m := monthInLabel.FindAllString(label, -1)
		if len(m) == 0 {
			return ""
		}
		if began, err = time.Parse("January 2006", m[len(m)-1]); err != nil {
			return ""
		}
	}
	years := now.Year() - began.Year()
	if now.YearDay() < began.YearDay() {
		years--
	}
	if years < 1 {
		return ""
	}
	unit := "years"
	if years == 1 {
		unit = "year"
	}
	return fmt.Sprintf("from %s, %d %s old", began.Format("January 2006"), years, unit)
}

// directionWords says which way is better for an indicator and what it is
// compared with: "Lower is better. Compared with the average of all
// providers shown."
func directionWords(d indicators.Definition) string {
	var out string
	switch d.Polarity {
	case indicators.HigherIsBetter:
		out = "Higher is better."
	case indicators.LowerIsBetter:
		out = "Lower is better."
	default:
		out = "Neither higher nor lower is better: shown for context."
	}
	if d.Verdict.Decides() == indicators.VerdictFunnel {
		return out + " Judged against what is expected for an organisation of its size (a funnel plot)."
	}
	switch {
	case d.Benchmark.Label != "":
		out += " Compared with the " + lowerFirst(d.Benchmark.Label) + "."
	case d.Benchmark.Kind == "england":
		out += " Compared with England."
	case d.Benchmark.Kind == "region":
		out += " Compared with its region."
	case d.Benchmark.Kind == "peer-group":
		out += " Compared with similar organisations."
	}
	return out
}

func lowerFirst(s string) string {
	if s == "" || strings.ToUpper(s[:1]) != s[:1] || (len(s) > 1 && strings.ToUpper(s[1:2]) == s[1:2]) {
		return s // an initialism or already lower case
	}
	return strings.ToLower(s[:1]) + s[1:]
}
