package site

import (
	"testing"
	"time"

	"github.com/candour/candour/indicators"
)

func TestScorecardHeadline(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	line := func(p indicators.Polarity, c indicators.Comparison, start string) indicators.Line {
		return indicators.Line{Definition: indicators.Definition{Polarity: p}, Latest: indicators.Observation{Comparison: c, PeriodStart: start}}
	}
	for _, c := range []struct {
		name  string
		lines []indicators.Line
		want  string
	}{
		{"mixed", []indicators.Line{
			line(indicators.HigherIsBetter, indicators.Better, "2026-01-01"),
			line(indicators.LowerIsBetter, indicators.Worse, "2026-01-01"),
			line(indicators.LowerIsBetter, indicators.AsExpected, "2014-01-01"),
			line(indicators.HigherIsBetter, indicators.Similar, "2018-04-01"),
			line(indicators.NoJudgement, indicators.Higher, "2026-01-01"),
			line(indicators.HigherIsBetter, indicators.NotCompared, "2026-01-01"),
		}, "We compare it on 4 measures. It does better than the benchmark on 1, about the same on 2 and worse on 1. 2 of the figures are more than a year old."},
		{"one old", []indicators.Line{line(indicators.LowerIsBetter, indicators.HigherThanExpected, "2014-01-01")},
			"We compare it on 1 measure. It does worse than the benchmark on 1. This figure is more than a year old."},
		{"none", nil, "We have no figures for it yet."},
		{"context only", []indicators.Line{line(indicators.NoJudgement, indicators.NotCompared, "2026-01-01")}, "We show 1 figure for it, but none is compared with a benchmark."},
	} {
		if got := scorecardHeadline(indicators.Scorecard{Lines: c.lines}, now); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestAuditHeadline(t *testing.T) {
	for _, c := range []struct {
		units, within, alerts, alarms, unclassified int
		want                                        string
	}{
		{150, 138, 3, 5, 4, "138 of 150 hospitals had results in the expected range. 5 were far outside it (alarm) and 3 were outside it (alert). 4 had too few cases to judge."},
		{10, 10, 0, 0, 0, "10 of 10 clinical teams had results in the expected range."},
		{0, 0, 0, 0, 0, ""},
	} {
		level := "Hospital"
		if c.units == 10 {
			level = "Clinical team"
		}
		if got := auditHeadline(c.units, c.within, c.alerts, c.alarms, c.unclassified, level); got != c.want {
			t.Errorf("got %q\nwant %q", got, c.want)
		}
	}
}
