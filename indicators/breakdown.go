package indicators

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Breakdowns: equality and deprivation. A definition may declare fields
// of its file that put each row in a group — the deprivation quintile or
// decile of an organisation's area, an age band, sex — and Compute then
// gives the indicator's value for each group, with the same interval
// method and the same benchmark, once, at submission, stored in the
// release's Summary (Summary.Breakdowns), so the page, its JSON and CSV
// twins read one result.
//
//   - A group's value pools its organisations as benchmarks do (Σ
//     numerators ÷ Σ denominators; for a directly standardised rate the
//     pooled age bands): an organisation whose figure is suppressed or
//     missing is left out of the sums and counted in Excluded, never
//     taken as zero. Rows whose group is not known (a missing value) are
//     left out and their organisations counted in NotKnown; a value the
//     breakdown does not list is an error naming the row.
//   - A categorical indicator (a rating) is broken down as the share of
//     rated organisations whose rating is one of Breakdown.Share (such as
//     Outstanding or Good), a proportion with a Wilson interval, compared
//     with the same share of every rated organisation in England.
//   - Groups are compared with the benchmark by their confidence interval
//     at the verdict's level, whatever the verdict's method: a funnel
//     places organisations of many sizes, not five groups.
//   - For a deprivation breakdown, the gap between the most and the least
//     deprived group, absolute (most − least, in the value's unit:
//     percentage points for a percentage) and relative (most ÷ least); for
//     a proportion, with Newcombe's hybrid score 95% interval for the
//     difference (Newcombe 1998, method 10). Gap.Method says so in words.
//
// Published values (method published) and means cannot be pooled from
// what a file gives, so they take no breakdown.

// Breakdown declares a field an indicator's values can be broken down by.
type Breakdown struct {
	// ID names the breakdown in addresses (?by=deprivation).
	ID string `json:"id"`
	// Kind is "deprivation", "age" or "sex".
	Kind string `json:"kind"`
	// Field is the file's field holding each row's group.
	Field string `json:"field"`
	// Label says what the groups are, in plain words: "Deprivation
	// quintile of the practice's area".
	Label string `json:"label"`
	// Groups are the field's values, in the order shown.
	Groups []string `json:"groups"`
	// MostDeprived and LeastDeprived are the groups at each end, for a
	// deprivation breakdown: declared, never guessed, since sources
	// number quintiles both ways.
	MostDeprived  string `json:"mostDeprived,omitempty"`
	LeastDeprived string `json:"leastDeprived,omitempty"`
	// Share lists the categories counted, for a categorical indicator:
	// the best ones, in order from the first of Categories. The value is
	// the share of rated organisations with one of them.
	Share []string `json:"share,omitempty"`
}

// Breakdown kinds.
const (
	BreakdownDeprivation = "deprivation"
	BreakdownAge         = "age"
	BreakdownSex         = "sex"
)

// validate checks a breakdown against its definition.
func (b Breakdown) validate(d Definition, seen map[string]bool) error {
	field := "breakdowns." + b.ID
	if !idPattern.MatchString(b.ID) {
		return invalid(d.ID, "breakdowns.id", "%q must be 2–63 lower-case letters, digits and hyphens", b.ID)
	}
	if seen[b.ID] {
		return invalid(d.ID, field, "appears twice")
	}
	seen[b.ID] = true
	switch b.Kind {
	case BreakdownDeprivation, BreakdownAge, BreakdownSex:
	default:
		return invalid(d.ID, field+".kind", "%q: choose deprivation, age or sex", b.Kind)
	}
	if b.Field == "" {
		return invalid(d.ID, field+".field", "required: the field holding each row's group")
	}
	if strings.TrimSpace(b.Label) == "" {
		return invalid(d.ID, field+".label", "required: say what the groups are in plain words")
	}
	if len(b.Groups) < 2 {
		return invalid(d.ID, field+".groups", "list the field's values, at least two, in the order to show them")
	}
	for i, g := range b.Groups {
		if strings.TrimSpace(g) == "" || slices.Contains(b.Groups[:i], g) {
			return invalid(d.ID, field+".groups", "%q is empty or listed twice", g)
		}
	}
	if b.Kind == BreakdownDeprivation {
		if !slices.Contains(b.Groups, b.MostDeprived) || !slices.Contains(b.Groups, b.LeastDeprived) || b.MostDeprived == b.LeastDeprived {
			return invalid(d.ID, field+".mostDeprived", "a deprivation breakdown names its most and least deprived groups, two of its groups (sources number quintiles both ways)")
		}
	} else if b.MostDeprived != "" || b.LeastDeprived != "" {
		return invalid(d.ID, field+".mostDeprived", "only a deprivation breakdown has most and least deprived groups")
	}
	if d.Method == MethodDSR && b.Kind == BreakdownAge {
		return invalid(d.ID, field+".kind", "a directly standardised rate already adjusts for age: break it down by deprivation or sex")
	}
	switch d.Method {
	case MethodWilson, MethodPoisson, MethodOERatio, MethodDSR:
		if len(b.Share) > 0 {
			return invalid(d.ID, field+".share", "only a categorical indicator is broken down as a share")
		}
	case MethodCategory:
		if len(b.Share) == 0 {
			return invalid(d.ID, field+".share", "required for a categorical indicator: the categories whose share is shown, such as the best two")
		}
		// The best categories, so that the share keeps the indicator's
		// polarity.
		if len(b.Share) > len(d.Categories) || !slices.Equal(b.Share, d.Categories[:len(b.Share)]) {
			return invalid(d.ID, field+".share", "%s: list the best categories, in order from the first (%s)", strings.Join(b.Share, ", "), d.Categories[0])
		}
	default:
		return invalid(d.ID, field, "the method %s gives values that cannot be pooled into groups: a breakdown needs numerators and denominators (wilson, poisson, oe-ratio, dsr) or categories", d.Method)
	}
	return nil
}

// BreakdownMeasure is the definition a breakdown's values are computed
// and written with: the indicator's own, or for a categorical indicator
// a proportion (the share with one of Share), in per cent, with a Wilson
// interval, compared with England.
func (d Definition) BreakdownMeasure(b Breakdown) Definition {
	if d.Method != MethodCategory {
		return d
	}
	m := d
	m.Method, m.Unit, m.Numerator, m.Denominator, m.Value = MethodWilson, UnitPercentage, "share", "rated", ""
	m.Categories, m.MinimumToShow, m.MinimumToCompare = nil, 0, 0
	m.Benchmark = Benchmark{Kind: "england", Label: "England (every rated organisation)"}
	m.Verdict = Verdict{Level: d.Verdict.Level}
	return m
}

// MeasureTitle says what a breakdown's values are: the indicator's
// title, or the share it counts.
func (d Definition) MeasureTitle(b Breakdown) string {
	if d.Method == MethodCategory {
		return "Share of rated organisations rated " + b.shareWords()
	}
	return d.Title
}

func (b Breakdown) shareWords() string {
	switch n := len(b.Share); n {
	case 0:
		return ""
	case 1:
		return b.Share[0]
	default:
		return strings.Join(b.Share[:n-1], ", ") + " or " + b.Share[n-1]
	}
}

// GroupLabel is a group in words: for a deprivation breakdown the ends
// say which is most and least deprived.
func (b Breakdown) GroupLabel(g string) string {
	switch {
	case b.Kind == BreakdownDeprivation && g == b.MostDeprived:
		return g + " (most deprived)"
	case b.Kind == BreakdownDeprivation && g == b.LeastDeprived:
		return g + " (least deprived)"
	}
	return g
}

// BreakdownResult is an indicator's values by group in one release.
type BreakdownResult struct {
	ID    string
	Kind  string
	Label string
	// Measure says what the values are (MeasureTitle).
	Measure string
	// Benchmark is what every group is compared with, and its label.
	Benchmark      *float64
	BenchmarkLabel string
	Groups         []GroupValue
	// NotKnown counts the organisations with a row whose group is not
	// known (missing in the published data): left out of every group.
	NotKnown int
	// Gap is the gap between the most and least deprived groups (a
	// deprivation breakdown only).
	Gap *Gap `json:",omitempty"`
}

// GroupValue is one group's value, with the indicator's interval method.
type GroupValue struct {
	Group string
	Label string // GroupLabel
	// Organisations counts those whose figures are in the value;
	// Excluded those in the group whose figure is suppressed or missing,
	// left out of it (never counted as zero).
	Organisations int
	Excluded      int
	Numerator     *float64
	Denominator   *float64
	Value         *float64
	Lower95       *float64
	Upper95       *float64
	Lower998      *float64
	Upper998      *float64
	Comparison    Comparison
	Reason        string `json:",omitempty"`
}

// Gap is the difference between the most and the least deprived groups.
type Gap struct {
	MostDeprived, LeastDeprived string
	// Absolute is most − least in the value's unit (percentage points
	// for a percentage); Relative is most ÷ least.
	Absolute *float64
	Relative *float64
	// AbsoluteLower95 and AbsoluteUpper95 are the 95% interval of the
	// absolute gap, for proportions (Newcombe's method 10).
	AbsoluteLower95 *float64
	AbsoluteUpper95 *float64
	// Method says how the gap is computed, in words; Reason why it is
	// not, when one group has no value.
	Method string
	Reason string `json:",omitempty"`
}

// breakdownGroups collects, for one breakdown, each group's rows by
// organisation as Compute reads them.
type breakdownGroups struct {
	b        Breakdown
	column   int
	groups   map[string]map[string]*group // group value → organisation → its rows
	notKnown map[string]bool
}

func (bg *breakdownGroups) into(value, code string) *group {
	byOrg := bg.groups[value]
	if byOrg == nil {
		byOrg = map[string]*group{}
		bg.groups[value] = byOrg
	}
	g := byOrg[code]
	if g == nil {
		g = &group{code: code}
		byOrg[code] = g
	}
	return g
}

// shareGroup turns an organisation's rating into a proportion's terms:
// one rated organisation, and one counted when its rating is in share.
// An organisation without a rating is missing, not zero.
func shareGroup(g *group, share []string) *group {
	out := &group{code: g.code, suppressed: g.suppressed, missing: g.missing || g.category == "", hasValue: true}
	if !out.missing {
		out.den = 1
		if slices.Contains(share, g.category) {
			out.num = 1
		}
	}
	return out
}

// pool adds up organisations' groups, leaving out those suppressed or
// missing: the pooled group and how many went in and were left out.
func pool(d Definition, orgs map[string]*group) (*group, int, int) {
	pooled := &group{hasValue: true}
	in, out := 0, 0
	for _, code := range slices.Sorted(maps.Keys(orgs)) {
		g := orgs[code]
		if g.suppressed || g.missing {
			out++
			continue
		}
		in++
		pooled.num += g.num
		pooled.den += g.den
		if d.Method == MethodDSR && g.bands != nil {
			if pooled.bands == nil {
				pooled.bands = make([][2]float64, len(g.bands))
			}
			for i, x := range g.bands {
				pooled.bands[i][0] += x[0]
				pooled.bands[i][1] += x[1]
			}
		}
	}
	return pooled, in, out
}

// breakdownResult computes one breakdown's groups, benchmark and gap.
// orgs are every organisation's groups (for the England share of a
// categorical indicator); bench is the indicator's England benchmark.
func breakdownResult(d Definition, bg *breakdownGroups, orgs map[string]*group, bench *float64) BreakdownResult {
	b := bg.b
	m := d.BreakdownMeasure(b)
	res := BreakdownResult{ID: b.ID, Kind: b.Kind, Label: b.Label, Measure: d.MeasureTitle(b), NotKnown: len(bg.notKnown)}
	asMeasure := func(byOrg map[string]*group) map[string]*group {
		if d.Method != MethodCategory {
			return byOrg
		}
		out := make(map[string]*group, len(byOrg))
		for code, g := range byOrg {
			out[code] = shareGroup(g, b.Share)
		}
		return out
	}
	switch {
	case d.Method == MethodCategory:
		all, _, _ := pool(m, asMeasure(orgs))
		if all.den > 0 {
			res.Benchmark = fptr(all.num / all.den * 100)
		}
		res.BenchmarkLabel = m.Benchmark.Label
	case d.Benchmark.Kind == "target":
		res.Benchmark, res.BenchmarkLabel = d.Benchmark.Value, d.Benchmark.Label
	case d.Benchmark.Kind == "none" || d.Benchmark.Kind == "":
	default:
		res.Benchmark, res.BenchmarkLabel = bench, "England"
	}
	if res.BenchmarkLabel == "" && res.Benchmark != nil {
		res.BenchmarkLabel = "England"
	}
	for _, name := range b.Groups {
		gv := GroupValue{Group: name, Label: b.GroupLabel(name), Comparison: NotCompared}
		pooled, in, out := pool(m, asMeasure(bg.groups[name]))
		gv.Organisations, gv.Excluded = in, out
		if in == 0 {
			gv.Reason = "no organisation in this group has a figure in the published data"
			if out > 0 {
				gv.Reason = "every organisation in this group has its figure suppressed or missing"
			}
			res.Groups = append(res.Groups, gv)
			continue
		}
		o := observe(m, pooled, res.Benchmark)
		gv.Numerator, gv.Denominator, gv.Value = o.Numerator, o.Denominator, o.Value
		gv.Lower95, gv.Upper95, gv.Lower998, gv.Upper998 = o.Lower95, o.Upper95, o.Lower998, o.Upper998
		gv.Comparison, gv.Reason = o.Comparison, o.Reason
		if gv.Value != nil && gv.Comparison != NotCompared {
			gv.Reason = ""
		}
		res.Groups = append(res.Groups, gv)
	}
	if b.Kind == BreakdownDeprivation {
		res.Gap = gapOf(m, b, res.Groups)
	}
	return res
}

// gapOf is the gap between a deprivation breakdown's ends.
func gapOf(m Definition, b Breakdown, groups []GroupValue) *Gap {
	gap := &Gap{MostDeprived: b.MostDeprived, LeastDeprived: b.LeastDeprived}
	unit := "in the indicator's unit"
	if m.Unit == UnitPercentage {
		unit = "in percentage points"
	}
	gap.Method = fmt.Sprintf("The absolute gap is the value of the most deprived group (%s) minus that of the least deprived (%s), %s; the relative gap is the first divided by the second.",
		b.MostDeprived, b.LeastDeprived, unit)
	if m.Method == MethodWilson {
		gap.Method += " The 95% confidence interval of the absolute gap is Newcombe's hybrid score interval, built from the two groups' Wilson intervals."
	}
	var most, least *GroupValue
	for i := range groups {
		switch groups[i].Group {
		case b.MostDeprived:
			most = &groups[i]
		case b.LeastDeprived:
			least = &groups[i]
		}
	}
	if most == nil || least == nil || most.Value == nil || least.Value == nil {
		gap.Reason = "one of the two groups has no value"
		return gap
	}
	gap.Absolute = fptr(*most.Value - *least.Value)
	if *least.Value != 0 {
		gap.Relative = fptr(*most.Value / *least.Value)
	}
	if m.Method == MethodWilson && most.Lower95 != nil && least.Lower95 != nil {
		lo, hi := newcombe(*most.Value, *most.Lower95, *most.Upper95, *least.Value, *least.Lower95, *least.Upper95)
		gap.AbsoluteLower95, gap.AbsoluteUpper95 = fptr(lo), fptr(hi)
	}
	return gap
}

// newcombe is the hybrid score interval for the difference p1 − p2 of two
// independent proportions from their Wilson intervals (l1, u1) and (l2,
// u2) (Newcombe 1998, method 10). It is linear in the scale, so values in
// per cent give the interval in percentage points.
func newcombe(p1, l1, u1, p2, l2, u2 float64) (float64, float64) {
	diff := p1 - p2
	return diff - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2)), diff + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
}
