package disclosure

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Published text. A release's title, change notes, correction notice and
// quality statements are published beside its tables, and a figure in
// them can undo a safe pattern ("the total for A81001 is 23"). Each
// sentence's numbers are read as the possible value of every cell the
// sentence could be about — a cell one of whose key or dimension values it
// mentions, or a grand total (a cell with no key left) — whose published
// range holds the number and is not already a single value. When taking
// that number as the cell's value narrows some suppressed cell below its
// protection, the text is a blocking finding naming the text, the number
// and the cell.
//
// Numbers that are not figures are left out: years (1900–2100), dates,
// periods such as 2022/23, numbers glued to letters (codes such as Y56 or
// E38000001), ranges such as 15-24, percentages, and numbers after
// "version", "row", "column", "table", "page", "section", "quarter",
// "month", "week", "year" or "day" (and the like). Written
// numbers from "one" to "twenty" count.

var (
	sentenceEnd  = regexp.MustCompile(`[.!?;:\n]+(\s+|$)`)
	numberToken  = regexp.MustCompile(`\d[\d,]*(\.\d+)?`)
	datePattern  = regexp.MustCompile(`\b\d{1,4}[/-]\d{1,2}([/-]\d{1,4})?\b`)
	monthPattern = regexp.MustCompile(`(?i)\b\d{1,2}(st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b`)
	numberWords  = map[string]float64{
		"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
		"eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
		"eighteen": 18, "nineteen": 19, "twenty": 20,
	}
	notFigureBefore = []string{"version", "v", "row", "rows", "column", "columns", "table", "page", "section", "release", "wave", "phase",
		"quarter", "q", "month", "week", "year", "day", "days", "weeks", "months", "years", "annex", "appendix", "figure", "chart", "note", "step", "part", "edition"}
)

// textNumber is a figure found in a sentence.
type textNumber struct {
	value float64
	as    string // as written
}

// sentences splits text into sentences.
func sentences(text string) []string {
	var out []string
	for _, s := range sentenceEnd.Split(text, -1) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// figures returns the numbers of a sentence that may be figures.
func figures(s string) []textNumber {
	masked := datePattern.ReplaceAllStringFunc(s, blank)
	masked = monthPattern.ReplaceAllStringFunc(masked, blank)
	var out []textNumber
	for _, loc := range numberToken.FindAllStringIndex(masked, -1) {
		tok := masked[loc[0]:loc[1]]
		tok = strings.TrimRight(tok, ",")
		end := loc[0] + len(tok)
		if glued(masked, loc[0], end) || previousWordIn(masked[:loc[0]], notFigureBefore) {
			continue
		}
		x, err := strconv.ParseFloat(strings.ReplaceAll(tok, ",", ""), 64)
		if err != nil || x >= 1900 && x <= 2100 && x == math.Trunc(x) && !strings.Contains(tok, ",") {
			continue
		}
		out = append(out, textNumber{value: x, as: tok})
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if x, ok := numberWords[w]; ok {
			out = append(out, textNumber{value: x, as: w})
		}
	}
	return out
}

func blank(s string) string { return strings.Repeat(" ", len(s)) }

// glued reports whether s[i:j] touches a letter, a range hyphen or a
// percent sign.
func glued(s string, i, j int) bool {
	if i > 0 {
		c := s[i-1]
		if isLetter(c) || c == '-' && i > 1 && isDigit(s[i-2]) || c == '£' || c == '$' {
			return true
		}
	}
	if j < len(s) {
		c := s[j]
		if isLetter(c) || c == '%' || c == '-' && j+1 < len(s) && isDigit(s[j+1]) {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

// previousWordIn reports whether the word before the end of s is one of
// words.
func previousWordIn(s string, words []string) bool {
	fields := strings.Fields(strings.ToLower(s))
	if len(fields) == 0 {
		return false
	}
	last := strings.TrimFunc(fields[len(fields)-1], func(r rune) bool { return !unicode.IsLetter(r) })
	return slices.Contains(words, last)
}

// mentions reports whether sentence (lower case) holds value as a whole
// word or phrase.
func mentions(sentence, value string) bool {
	v := strings.ToLower(value)
	for from := 0; ; {
		i := strings.Index(sentence[from:], v)
		if i < 0 {
			return false
		}
		i += from
		j := i + len(v)
		before := i == 0 || !isWordByte(sentence[i-1])
		after := j == len(sentence) || !isWordByte(sentence[j])
		if before && after {
			return true
		}
		from = i + 1
	}
}

func isWordByte(c byte) bool { return isLetter(c) || isDigit(c) }

// textIndex finds the unknowns a sentence could be about.
type textIndex struct {
	byValue map[string][]int // identity value → current unknowns whose identity holds it
	grand   []int            // current unknowns with no identity value left (grand totals)
}

// buildTextIndex indexes the current unknowns that are not pinned, in
// components holding a suppressed cell, by their identity values.
func (m *model) buildTextIndex(targets map[int]bool) textIndex {
	idx := textIndex{byValue: map[string][]int{}}
	comps := map[int]bool{}
	m.staticComponents()
	for v := range targets {
		comps[m.compOf[v]] = true
	}
	for vi := range m.vars {
		v := &m.vars[vi]
		if !v.current || !comps[m.compOf[vi]] {
			continue
		}
		o := v.obs[0]
		t := m.tables[o.t]
		values := 0
		for _, c := range t.identCols {
			val := t.cells[o.r][c]
			if val == "" || isNumberText(val) {
				continue
			}
			if slices.Contains(t.schema.Fields[c].TotalValues, val) {
				continue
			}
			values++
			idx.byValue[val] = append(idx.byValue[val], vi)
		}
		if values == 0 {
			idx.grand = append(idx.grand, vi)
		}
	}
	return idx
}

func isNumberText(s string) bool {
	_, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	return err == nil
}

// candidates returns the unknowns a sentence could be about.
func (idx textIndex) candidates(sentence string) []int {
	lower := strings.ToLower(sentence)
	seen := map[int]bool{}
	out := append([]int(nil), idx.grand...)
	for _, v := range idx.grand {
		seen[v] = true
	}
	for value, vars := range idx.byValue {
		if !mentions(lower, value) {
			continue
		}
		for _, v := range vars {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Ints(out)
	return out
}

// varBounds returns what everything published says of unknown v.
func (m *model) varBounds(v int) interval {
	b := nonNegative
	for _, o := range m.vars[v].obs {
		if iv, _, ok := m.obsInterval(o); ok {
			b = b.intersect(iv)
		}
	}
	return b
}

// textFindings checks every figure of the release's texts.
func (c *checker) textFindings(m *model, final auditResult, texts []Text) {
	passing := map[int]bool{}
	for _, v := range final.targets {
		if final.pass[v] {
			passing[v] = true
		}
	}
	if len(passing) == 0 {
		return
	}
	var idx *textIndex
	for _, tx := range texts {
		for _, s := range sentences(tx.Text) {
			nums := figures(s)
			if len(nums) == 0 {
				continue
			}
			if idx == nil {
				built := m.buildTextIndex(passing)
				idx = &built
			}
			c.sentenceFindings(m, passing, tx, s, nums, idx.candidates(s))
		}
	}
}

// hasFigures reports whether some text holds a figure (which textFindings
// will try as the value of the cells it may be about).
func hasFigures(texts []Text) bool {
	for _, tx := range texts {
		for _, s := range sentences(tx.Text) {
			if len(figures(s)) > 0 {
				return true
			}
		}
	}
	return false
}

// maxTextTrials bounds the figure-as-cell audits of one release's texts;
// beyond it the text is refused as too much to check (failing safe).
const maxTextTrials = 5000

// sentenceFindings tries each figure of a sentence as the value of each
// cell the sentence could be about.
func (c *checker) sentenceFindings(m *model, passing map[int]bool, tx Text, s string, nums []textNumber, cands []int) {
	reported := map[int]bool{}
	for _, v := range cands {
		b := m.varBounds(v)
		if b.isPoint() {
			continue
		}
		for _, n := range nums {
			if !b.contains(n.value) || m.vars[v].integral && n.value != math.Trunc(n.value) {
				continue
			}
			if c.textTrials++; c.textTrials > maxTextTrials {
				if c.textTrials == maxTextTrials+1 {
					c.add(Finding{Kind: KindTextDisclosure, Blocking: true, File: m.tables[0].name,
						Because: []string{fmt.Sprintf("%s: %q", tx.Field, s)},
						Message: fmt.Sprintf("The release's texts hold more figures about suppressed cells than the audit can check (over %d figure-and-cell pairs, reached in the %s); remove figures from the text or give them in a file of the release.", maxTextTrials, textName(tx.Field))})
				}
				return
			}
			m.pins = map[int]interval{v: point(n.value)}
			ar := m.auditComponents(v)
			m.pins = nil
			for _, f := range ar.failing {
				if !passing[f] || reported[f] {
					continue
				}
				reported[f] = true
				c.add(m.textFinding(tx, s, n, v, f, ar.res[f], ar.prot[f]))
			}
		}
	}
}

// textFinding describes a figure in text that gives a suppressed cell away.
func (m *model) textFinding(tx Text, s string, n textNumber, about, cell int, vr varResult, prot int) Finding {
	o := m.firstSuppressed(cell)
	t := m.tables[o.t]
	range_ := "exactly"
	if vr.empty {
		range_ = "contradicted"
	} else if !vr.unbounded {
		range_ = fmt.Sprintf("between %s and %s (%d possible %s; at least %d needed)", formatNumber(vr.lo), formatNumber(vr.hi), vr.values, plural(vr.values, "value", "values"), prot)
	}
	return Finding{Kind: KindTextDisclosure, Blocking: true, File: t.label(), Row: t.rows[o.r].Record, Column: o.c + 1,
		Field: t.schema.Fields[o.c].Name, Key: t.keyText(o.r),
		Because: []string{fmt.Sprintf("%s: %q", tx.Field, s)},
		Message: fmt.Sprintf("Text in the %s states %q (%q). Read as the value of %s, that figure lets the suppressed %s of %s be worked out: %s. Remove the figure from the text, or give it in words that do not pin the cell.",
			textName(tx.Field), n.as, s, m.label(about), t.where(o.r, o.c), t.label(), range_)}
}

// firstSuppressed returns a suppressed publication of unknown v.
func (m *model) firstSuppressed(v int) obs {
	for _, o := range m.vars[v].obs {
		if _, supp, ok := m.obsInterval(o); ok && supp {
			return o
		}
	}
	return m.vars[v].obs[0]
}

// textName names a text field in words.
func textName(field string) string {
	switch field {
	case "release.title":
		return "release title"
	case "release.summary":
		return "release summary"
	case "release.changeNotes":
		return "change notes"
	case "release.correctionNotice":
		return "correction notice"
	}
	if strings.HasPrefix(field, "release.quality.") {
		return "quality statement (" + strings.TrimPrefix(field, "release.quality.") + ")"
	}
	return field
}
