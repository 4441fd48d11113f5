package indicators

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

// A practice file with a deprivation quintile (5 the most deprived) and
// sex, as the breakdowns read it.
var quintileSchema = datasets.Schema{
	Fields: []datasets.Field{
		{Name: "Code"}, {Name: "Quintile", Type: datasets.TypeInteger}, {Name: "Sex"},
		{Name: "Screened", Type: datasets.TypeInteger, Suppressed: []string{"*"}},
		{Name: "Invited", Type: datasets.TypeInteger, Suppressed: []string{"*"}},
		{Name: "Rating"},
	},
	MissingValues: []string{"", "NA"},
}

var quintileRows = [][]string{
	{"E92000001", "NA", "All", "1000", "2000", ""}, // England: a benchmark, in no group
	{"P1", "1", "F", "80", "100", "Outstanding"},
	{"P1", "1", "M", "70", "100", "Outstanding"},
	{"P2", "1", "F", "45", "50", "Good"},
	{"P3", "5", "F", "30", "100", "Inadequate"},
	{"P4", "5", "M", "*", "*", "Good"},                    // suppressed: left out, never zero
	{"P5", "5", "F", "20", "40", ""},                      // no rating
	{"P6", "NA", "M", "10", "10", "Requires improvement"}, // quintile not known
	{"P7", "3", "F", "60", "100", "Good"},
}

func quintileDefinition() Definition {
	return Definition{ID: "screening", Title: "Screened", Description: "d", File: "p.csv", Organisation: "Code",
		Numerator: "Screened", Denominator: "Invited", Unit: UnitPercentage, Polarity: HigherIsBetter, Method: MethodWilson,
		Benchmark: Benchmark{Kind: "england"}, AuthoredBy: "a", CheckedBy: "b",
		Breakdowns: []Breakdown{
			{ID: "deprivation", Kind: BreakdownDeprivation, Field: "Quintile", Label: "Deprivation quintile",
				Groups: []string{"1", "2", "3", "4", "5"}, MostDeprived: "5", LeastDeprived: "1"},
			{ID: "sex", Kind: BreakdownSex, Field: "Sex", Label: "Sex", Groups: []string{"F", "M", "All"}},
		}}
}

func breakdownOf(t *testing.T, d Definition, rows [][]string, id string) BreakdownResult {
	t.Helper()
	if err := d.Validate(quintileSchema.FieldNames()); err != nil {
		t.Fatal(err)
	}
	table := Table{Name: "p.csv", Schema: quintileSchema, Header: quintileSchema.FieldNames(), Rows: rows}
	_, sums, err := Compute([]Definition{d}, []Table{table}, Period{Label: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range sums[0].Breakdowns {
		if b.ID == id {
			return b
		}
	}
	t.Fatalf("no breakdown %s in %+v", id, sums[0].Breakdowns)
	return BreakdownResult{}
}

// Each group's value is what the raw rows give, pooled, with the
// indicator's own interval; a suppressed organisation is left out and
// counted, never taken as zero; England is the benchmark.
func TestBreakdownEqualsTheRawRows(t *testing.T) {
	d := quintileDefinition()
	type want struct {
		num, den      float64
		orgs, exclude int
	}
	for _, c := range []struct {
		name   string
		by     string
		groups map[string]want
		none   []string // groups with no value
	}{
		{"deprivation quintile", "deprivation", map[string]want{
			"1": {80 + 70 + 45, 100 + 100 + 50, 2, 0},
			"3": {60, 100, 1, 0},
			"5": {30 + 20, 100 + 40, 2, 1}, // P4 suppressed: out, not zero
		}, []string{"2", "4"}},
		{"sex, summing an organisation's rows of each sex", "sex", map[string]want{
			"F": {80 + 45 + 30 + 20 + 60, 100 + 50 + 100 + 40 + 100, 5, 0},
			"M": {70 + 10, 100 + 10, 2, 1},
		}, []string{"All"}}, // England's row is a benchmark
	} {
		t.Run(c.name, func(t *testing.T) {
			b := breakdownOf(t, d, quintileRows, c.by)
			if b.Benchmark == nil || *b.Benchmark != 50 {
				t.Errorf("benchmark %v, want England's row, 50%%", b.Benchmark)
			}
			for _, g := range b.Groups {
				w, ok := c.groups[g.Group]
				if !ok {
					if g.Value != nil || g.Reason == "" {
						t.Errorf("group %s: value %v, reason %q; want none, with a reason", g.Group, g.Value, g.Reason)
					}
					continue
				}
				wilson, _ := Wilson(w.num, w.den, 0.95)
				near(t, "group "+g.Group+" value", g.Value, w.num/w.den*100, 1e-12)
				near(t, "group "+g.Group+" lower 95%", g.Lower95, wilson.Lower*100, 1e-12)
				near(t, "group "+g.Group+" upper 95%", g.Upper95, wilson.Upper*100, 1e-12)
				near(t, "group "+g.Group+" numerator", g.Numerator, w.num, 0)
				if g.Organisations != w.orgs || g.Excluded != w.exclude {
					t.Errorf("group %s: %d organisations, %d left out; want %d and %d", g.Group, g.Organisations, g.Excluded, w.orgs, w.exclude)
				}
				if want := compare(*g.Lower95, *g.Upper95, 50, HigherIsBetter); g.Comparison != want {
					t.Errorf("group %s: %s, want %s", g.Group, g.Comparison, want)
				}
			}
		})
	}
	if b := breakdownOf(t, d, quintileRows, "deprivation"); b.NotKnown != 1 {
		t.Errorf("organisations whose quintile is not known: %d, want 1 (P6)", b.NotKnown)
	}
}

// A group whose every organisation is suppressed has no value, and says
// why: it is not 0%.
func TestBreakdownSuppressedGroupIsNotZero(t *testing.T) {
	rows := [][]string{{"P1", "1", "F", "50", "100", "Good"}, {"P2", "5", "F", "*", "*", "Good"}, {"P3", "5", "M", "*", "100", "Good"}}
	b := breakdownOf(t, quintileDefinition(), rows, "deprivation")
	g := b.Groups[4]
	if g.Value != nil || g.Numerator != nil || g.Excluded != 2 || !strings.Contains(g.Reason, "suppressed") {
		t.Errorf("quintile 5, every figure suppressed: %+v", g)
	}
	if b.Gap == nil || b.Gap.Absolute != nil || b.Gap.Reason == "" {
		t.Errorf("a gap to a group without a value: %+v", b.Gap)
	}
}

// The gap between most and least deprived, absolute and relative, with
// Newcombe's interval for the difference of two proportions.
func TestDeprivationGap(t *testing.T) {
	// Newcombe (1998), example (a): 56/70 − 48/80 = 0.2, method 10
	// 0.0524 to 0.3339.
	lo1, hi1 := wilson(56, 70, z95)
	lo2, hi2 := wilson(48, 80, z95)
	lo, hi := newcombe(0.8, lo1, hi1, 0.6, lo2, hi2)
	if math.Abs(lo-0.0524) > 5e-5 || math.Abs(hi-0.3339) > 5e-5 {
		t.Errorf("Newcombe 56/70 − 48/80: (%.5f, %.5f), want (0.0524, 0.3339)", lo, hi)
	}
	for _, c := range []struct {
		name            string
		most, least     [2]int
		abs, rel        float64
		mostID, leastID string
		lowerAbs, upper float64
		groups          []string
	}{
		{"most deprived lower", [2]int{48, 80}, [2]int{56, 70}, -20, 0.75, "5", "1", -33.39, -5.24, []string{"1", "5"}},
		{"quintiles numbered the other way", [2]int{56, 70}, [2]int{48, 80}, 20, 0.8 / 0.6, "1", "5", 5.24, 33.39, []string{"1", "5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := quintileDefinition()
			d.Breakdowns = []Breakdown{{ID: "deprivation", Kind: BreakdownDeprivation, Field: "Quintile", Label: "Deprivation quintile",
				Groups: c.groups, MostDeprived: c.mostID, LeastDeprived: c.leastID}}
			rows := [][]string{
				{"A", c.mostID, "F", strconv.Itoa(c.most[0]), strconv.Itoa(c.most[1]), "Good"},
				{"B", c.leastID, "F", strconv.Itoa(c.least[0]), strconv.Itoa(c.least[1]), "Good"},
			}
			gap := breakdownOf(t, d, rows, "deprivation").Gap
			if gap == nil {
				t.Fatal("no gap")
			}
			near(t, "absolute gap", gap.Absolute, c.abs, 1e-9)
			near(t, "relative gap", gap.Relative, c.rel, 1e-9)
			if gap.AbsoluteLower95 == nil || math.Abs(*gap.AbsoluteLower95-c.lowerAbs) > 0.005 || math.Abs(*gap.AbsoluteUpper95-c.upper) > 0.005 {
				t.Errorf("interval of the gap (%v, %v), want (%v, %v)", gap.AbsoluteLower95, gap.AbsoluteUpper95, c.lowerAbs, c.upper)
			}
			if gap.MostDeprived != c.mostID || !strings.Contains(gap.Method, "percentage points") || !strings.Contains(gap.Method, "divided") {
				t.Errorf("gap says %+v", gap)
			}
		})
	}
}

// A rating is broken down as the share rated in its best categories, a
// proportion with a Wilson interval, against the same share in England.
func TestBreakdownOfARating(t *testing.T) {
	d := Definition{ID: "rating", Title: "Rating", Description: "d", File: "p.csv", Organisation: "Code", Value: "Rating",
		Unit: UnitCategory, Polarity: HigherIsBetter, Method: MethodCategory,
		Categories: []string{"Outstanding", "Good", "Requires improvement", "Inadequate"},
		Benchmark:  Benchmark{Kind: "none"}, AuthoredBy: "a", CheckedBy: "b",
		Breakdowns: []Breakdown{{ID: "deprivation", Kind: BreakdownDeprivation, Field: "Quintile", Label: "Deprivation quintile",
			Groups: []string{"1", "2", "3", "4", "5"}, MostDeprived: "5", LeastDeprived: "1", Share: []string{"Outstanding", "Good"}}}}
	b := breakdownOf(t, d, quintileRows, "deprivation")
	// Rated organisations: P1 O, P2 G, P3 I, P4 G, P6 RI, P7 G (P5 none).
	near(t, "England share", b.Benchmark, 4.0/6*100, 1e-12)
	if !strings.Contains(b.Measure, "Outstanding or Good") {
		t.Errorf("measure %q", b.Measure)
	}
	q1, q5 := b.Groups[0], b.Groups[4]
	near(t, "quintile 1 share", q1.Value, 100, 1e-12) // P1 (two rows, one organisation) and P2
	near(t, "quintile 1 rated", q1.Denominator, 2, 0)
	near(t, "quintile 5 share", q5.Value, 50, 1e-12) // P3 inadequate, P4 good; P5 unrated is left out
	if q5.Excluded != 1 || q5.Organisations != 2 {
		t.Errorf("quintile 5: %d in, %d left out; want 2 and 1 (P5 has no rating)", q5.Organisations, q5.Excluded)
	}
	w, _ := Wilson(1, 2, 0.95)
	near(t, "quintile 5 lower", q5.Lower95, w.Lower*100, 1e-12)
	near(t, "gap", b.Gap.Absolute, -50, 1e-12)

	for _, c := range []struct {
		edit  func(*Breakdown)
		field string
	}{
		{func(b *Breakdown) { b.Share = nil }, "share"},
		{func(b *Breakdown) { b.Share = []string{"Inadequate"} }, "share"},
		{func(b *Breakdown) { b.MostDeprived = "9" }, "mostDeprived"},
		{func(b *Breakdown) { b.Kind = "income" }, "kind"},
		{func(b *Breakdown) { b.Field = "IMD" }, "field"},
		{func(b *Breakdown) { b.Groups = []string{"1"} }, "groups"},
	} {
		bad := d
		bad.Breakdowns = []Breakdown{d.Breakdowns[0]}
		c.edit(&bad.Breakdowns[0])
		if err := bad.Validate(quintileSchema.FieldNames()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("breakdown with a bad %s: %v", c.field, err)
		}
	}
}

// A directly standardised rate is not broken down by age, which it
// adjusts for.
func TestNoAgeBreakdownOfAStandardisedRate(t *testing.T) {
	bands := make([]string, len(ESP2013))
	for i := range bands {
		bands[i] = strconv.Itoa(i)
	}
	d := Definition{ID: "dsr", Title: "T", Description: "d", File: "f.csv", Organisation: "Code", Numerator: "Deaths", Denominator: "Population",
		AgeBand: "Age", AgeBands: bands, Unit: UnitRate, PerN: 100000, Polarity: LowerIsBetter, Method: MethodDSR,
		Benchmark: Benchmark{Kind: "none"}, AuthoredBy: "a", CheckedBy: "b",
		Breakdowns: []Breakdown{{ID: "age", Kind: BreakdownAge, Field: "Age", Label: "Age band", Groups: bands}}}
	if err := d.Validate(nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "breakdowns.age.kind") {
		t.Errorf("a DSR broken down by age: %v", err)
	}
	d.Breakdowns[0].Kind = BreakdownSex
	if err := d.Validate(nil); err != nil {
		t.Errorf("a DSR broken down by sex: %v", err)
	}
}

// A value the breakdown does not list is refused, naming the row.
func TestBreakdownUnknownGroupNamesTheRow(t *testing.T) {
	d := quintileDefinition()
	table := Table{Name: "p.csv", Schema: quintileSchema, Header: quintileSchema.FieldNames(), Rows: [][]string{
		{"P1", "1", "F", "1", "2", ""}, {"P2", "6", "F", "1", "2", ""}}}
	_, _, err := Compute([]Definition{d}, []Table{table}, Period{Label: "2025"})
	if err == nil || !strings.Contains(err.Error(), "row 3") || !strings.Contains(err.Error(), `"6"`) {
		t.Errorf("quintile 6: %v", err)
	}
}
