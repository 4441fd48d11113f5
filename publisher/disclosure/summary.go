package disclosure

import (
	"fmt"
	"strings"

	"github.com/candour/candour/datasets"
)

// PublicSummary says what disclosure control did to each file of a
// release: counts of cells by what happened to them, with the rule and its
// reason. It never names a cell or gives a value, so it may be published
// with the release.
type PublicSummary struct {
	Files []FileSummary `json:"files"`
}

// FileSummary is the public summary of one file.
type FileSummary struct {
	File   string           `json:"file"`
	Rule   string           `json:"rule"`             // nhs-digital, threshold, none, or "" when no control applies
	About  string           `json:"about"`            // the rule in words
	Reason string           `json:"reason,omitempty"` // the publisher's reason for the rule
	Cells  PublicCellCounts `json:"cells"`
}

// PublicCellCounts are the counts the public may see. Cells suppressed as
// small numbers and cells suppressed to protect them are one number:
// telling them apart would tell a reader that the secondary ones are above
// the threshold, which can narrow them (a pair of suppressed cells adding
// to 7 under a threshold of 5, one of each kind, could only be 1 and 6).
type PublicCellCounts struct {
	Controlled         int `json:"controlled"`
	Suppressed         int `json:"suppressed"`
	SuppressedAtSource int `json:"suppressedAtSource"`
	Rounded            int `json:"rounded"`
	Unchanged          int `json:"unchanged"`
	Missing            int `json:"missing"`
}

// fileSummary describes a current table for the public, its cells counted
// n (see counts).
func (t *table) fileSummary(n CellCounts) FileSummary {
	return FileSummary{File: t.name, Rule: t.rule.Rule, About: ruleWords(t.rule, t.aggregated), Reason: t.rule.Reason,
		Cells: PublicCellCounts{Controlled: n.Controlled, Suppressed: n.SuppressedPrimary + n.SuppressedSecondary,
			SuppressedAtSource: n.SuppressedAtSource, Rounded: n.Rounded, Unchanged: n.Unchanged, Missing: n.Missing}}
}

// ruleWords describes a rule in plain English.
func ruleWords(r datasets.DisclosureRule, magnitude bool) string {
	var s string
	switch r.Rule {
	case datasets.DisclosureNHSDigital:
		s = "NHS Digital's small-number rule: below national level, counts of 1 to 7 are shown as a marker and other counts are rounded to the nearest 5; simple statistics from 1 to 7 people are not shown"
	case datasets.DisclosureThreshold:
		s = fmt.Sprintf("the threshold rule: counts from 1 to %d are suppressed, and further cells are suppressed where totals would let a suppressed count be worked out", r.Threshold)
	case datasets.DisclosureNone:
		s = "no small-number control"
	default:
		s = "no counts of individuals, so no small-number control"
	}
	if magnitude {
		var rules []string
		if d := r.Dominance; d != nil {
			rules = append(rules, fmt.Sprintf("the (%d,%s) dominance rule", d.N, formatNumber(d.K)))
		}
		if r.PPercent > 0 {
			rules = append(rules, fmt.Sprintf("the p%% rule with p = %s", formatNumber(r.PPercent)))
		}
		if len(rules) > 0 {
			s += "; totals dominated by a few contributors are suppressed under " + strings.Join(rules, " and ")
		}
	}
	return s
}

// Sentence describes the summary in plain English, one sentence per file.
func (s PublicSummary) Sentence() string {
	var out []string
	for _, f := range s.Files {
		out = append(out, f.Sentence())
	}
	return strings.Join(out, " ")
}

// Sentence describes one file's summary in plain English.
func (f FileSummary) Sentence() string {
	n := f.Cells
	var parts []string
	add := func(k int, one, many string) {
		if k > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k, pluralInt(k, one, many)))
		}
	}
	if f.Rule == datasets.DisclosureNHSDigital && !strings.Contains(f.About, "dominated") {
		add(n.Suppressed, "was suppressed as a small number", "were suppressed as small numbers")
	} else {
		add(n.Suppressed, "was suppressed (a small number, or a cell that would let one be worked out)", "were suppressed (small numbers, and cells that would let them be worked out)")
	}
	add(n.SuppressedAtSource, "was already suppressed at source", "were already suppressed at source")
	add(n.Rounded, "was rounded to the nearest 5", "were rounded to the nearest 5")
	add(n.Unchanged, "was published unchanged", "were published unchanged")
	add(n.Missing, "had no value", "had no value")
	var b strings.Builder
	fmt.Fprintf(&b, "%s was checked under %s", f.File, f.About)
	if f.Reason != "" {
		fmt.Fprintf(&b, " (reason given: %s)", strings.TrimRight(f.Reason, "."))
	}
	switch {
	case n.Controlled == 0:
		b.WriteString("; it has no counts, statistics or magnitudes to control.")
	default:
		fmt.Fprintf(&b, ": of %d controlled %s, %s.", n.Controlled, pluralInt(n.Controlled, "cell", "cells"), joinWords(parts))
	}
	return b.String()
}

func pluralInt(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// joinWords joins with commas and a final "and".
func joinWords(parts []string) string {
	switch len(parts) {
	case 0:
		return "none changed"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
