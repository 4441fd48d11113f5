package disclosure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/candour/candour/datasets"
)

// Fail-safe defaults: what a publisher leaves undeclared makes the release
// safer. Under a small-number rule every integer measure is a count of
// individuals unless the schema says why not (candour:notACount); a file
// of the release that declares no rule takes the release's rule; rows and
// columns that add up to others are audited as margins whether declared
// or not; and cells submitted already suppressed are flagged, since
// Candour needs the true values to apply the rule and audit the result.

// Kinds of finding the defaults raise. None blocks on its own: each tells
// the publisher and the reviewers what Candour assumed.
const (
	KindDefaultCount     = "undeclared-count"
	KindNotACount        = "not-a-count"
	KindAlreadyPublished = "already-published"
	KindInheritedRule    = "inherited-rule"
	KindUndeclaredTotal  = "undeclared-total"
	KindPreSuppressed    = "pre-suppressed"
	KindTextDisclosure   = "text-discloses"
	KindUnmapped         = "no-parent"
)

// smallNumberRule reports whether rule controls small counts.
func smallNumberRule(rule string) bool {
	return rule == datasets.DisclosureNHSDigital || rule == datasets.DisclosureThreshold
}

// maybeCount reports whether field f could hold counts of individuals
// without saying so: an integer measure (or a field with no role) that is
// not declared a count, a magnitude, a statistic, already published or
// not a count.
func maybeCount(f datasets.Field) bool {
	if f.Type != datasets.TypeInteger || f.CountOfIndividuals || f.Magnitude || f.Contributors != "" ||
		f.NotACount != "" || f.AlreadyPublished != nil {
		return false
	}
	return f.Role == "" || f.Role == datasets.RoleMeasure
}

// releaseRule returns the first small-number rule a file of the release
// declares, and that file's name; Rule is "" when none does.
func releaseRule(files []File) (datasets.DisclosureRule, string) {
	for _, f := range files {
		if d := f.Resource.Schema.Disclosure; d != nil && smallNumberRule(d.Rule) {
			return *d, f.Name
		}
	}
	return datasets.DisclosureRule{}, ""
}

// inheritRule gives a file that declares no rule, but holds counts (or
// integer measures that may be counts), the release's small-number rule.
// With no rule in the release such a file is a declaration error.
func (c *checker) inheritRule(f File, rule datasets.DisclosureRule, from string) (File, error) {
	s := f.Resource.Schema
	if s.Disclosure != nil {
		return f, nil
	}
	var counts []string
	for _, fl := range s.Fields {
		if fl.CountOfIndividuals || maybeCount(fl) {
			counts = append(counts, fmt.Sprintf("%q", fl.Name))
		}
	}
	if len(counts) == 0 {
		return f, nil
	}
	if rule.Rule == "" {
		return f, fmt.Errorf("disclosure: file %q: field %s may hold counts of individuals, but the schema declares no candour:disclosure rule (declare nhs-digital, threshold, or none with a reason; a field that is not a count says so with candour:notACount and the reason)", f.Name, counts[0])
	}
	s.Disclosure = &rule
	f.Resource.Schema = s
	c.add(Finding{Kind: KindInheritedRule, File: f.Name,
		Message: fmt.Sprintf("The schema declares no candour:disclosure rule, but %s may hold counts of individuals; the file was controlled under the release's rule (%s, declared by %s). Declare the rule in the schema to say so.",
			strings.Join(counts, ", "), rule.Rule, from)})
	return f, nil
}

// failSafeSchema returns the schema the audit works with: the declared one
// with, under a small-number rule, every integer measure not declared
// otherwise made a count of individuals. It reports the declarations the
// reviewers must see.
func (c *checker) failSafeSchema(name string, s datasets.Schema) datasets.Schema {
	s.Fields = slices.Clone(s.Fields)
	rule := ""
	if s.Disclosure != nil {
		rule = s.Disclosure.Rule
	}
	var defaulted []string
	for i, f := range s.Fields {
		switch {
		case f.NotACount != "":
			if !smallNumberRule(rule) {
				continue
			}
			c.add(Finding{Kind: KindNotACount, File: name, Column: i + 1, Field: f.Name, Value: f.NotACount,
				Message: fmt.Sprintf("Column %d (%s) is declared not a count of individuals, for this reason: %q. It was published unchanged; reviewers must agree with the reason.", i+1, f.Name, f.NotACount)})
		case f.AlreadyPublished != nil:
			p := f.AlreadyPublished
			c.add(Finding{Kind: KindAlreadyPublished, File: name, Column: i + 1, Field: f.Name, Value: p.URL,
				Message: fmt.Sprintf("Column %d (%s) is declared already published by %s (%s): it is published exactly and audited as exact. Reviewers must check that the figures there are the same.", i+1, f.Name, p.Source, p.URL)})
			s.Fields[i].CountOfIndividuals = true
		case smallNumberRule(rule) && maybeCount(f):
			s.Fields[i].CountOfIndividuals = true
			defaulted = append(defaulted, fmt.Sprintf("%s (column %d)", f.Name, i+1))
		}
	}
	if len(defaulted) > 0 {
		c.add(Finding{Kind: KindDefaultCount, File: name,
			Message: fmt.Sprintf("%s %s not declared candour:countOfIndividuals, so under the %s rule %s controlled and audited as counts of individuals. A field that is not a count of people says so with candour:notACount and the reason.",
				joinWords(defaulted), pluralInt(len(defaulted), "is", "are"), rule, pluralInt(len(defaulted), "it was", "they were"))})
	}
	return s
}

// preSuppressed reports the count cells a file arrives with already
// suppressed, under a small-number rule.
func (c *checker) preSuppressed(t *table) {
	if !smallNumberRule(t.rule.Rule) {
		return
	}
	n, first := 0, -1
	firstCol := 0
	for r, row := range t.treat.rows() {
		for col, tr := range row {
			if tr == tSource && t.fields[col].count {
				if n == 0 {
					first, firstCol = r, col
				}
				n++
			}
		}
	}
	if n == 0 {
		return
	}
	c.add(Finding{Kind: KindPreSuppressed, File: t.name, Row: t.rows[first].Record, Column: firstCol + 1,
		Field: t.schema.Fields[firstCol].Name, Key: t.keyText(first),
		Message: fmt.Sprintf("%d %s already suppressed in the submitted file (the first is %s). Candour needs the true values: it applies the %s rule itself, chooses any further suppression and audits the result. A cell suppressed before submission can only be audited as unknown and, in a correction, is taken as unchanged from the version corrected unless the revision lists its row as changed.",
			n, pluralInt(n, "count is", "counts are"), t.where(first, firstCol), t.rule.Rule)})
}
