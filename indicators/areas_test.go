package indicators

import (
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

var areaSchema = datasets.Schema{
	Fields: []datasets.Field{
		{Name: "Code"},
		{Name: "Events", Type: datasets.TypeNumber, Suppressed: []string{"*"}},
		{Name: "Size", Type: datasets.TypeNumber, Suppressed: []string{"*"}},
		{Name: "Rating"},
	},
	MissingValues: []string{""},
}

func areaDefinition(id string, m Method, u Unit, bench Benchmark, v Verdict) Definition {
	d := Definition{ID: id, Title: id, Description: "d", File: "f.csv", Organisation: "Code", Numerator: "Events",
		Denominator: "Size", Unit: u, Polarity: HigherIsBetter, Method: m, Benchmark: bench, Verdict: v, AuthoredBy: "a", CheckedBy: "b"}
	if u == UnitRate {
		d.PerN = 1000
	}
	if u == UnitRatio {
		d.Polarity = LowerIsBetter
	}
	return d
}

func computeTable(t *testing.T, d Definition, rows [][]string) ([]Observation, Summary) {
	t.Helper()
	if err := d.Validate(areaSchema.FieldNames()); err != nil {
		t.Fatal(err)
	}
	obs, sums, err := Compute([]Definition{d}, []Table{{Name: "f.csv", Schema: areaSchema, Header: areaSchema.FieldNames(), Rows: rows}},
		Period{Label: "2025/26", Start: "2025-04-01"})
	if err != nil {
		t.Fatal(err)
	}
	return obs, sums[0]
}

// An area's value made from its organisations' observations equals the
// value Compute gives the area's raw rows taken as one organisation: the
// same sums, interval and verdict.
func TestAreaValueEqualsValueFromRawRows(t *testing.T) {
	area := map[string]bool{"A": true, "B": true, "C": true}
	rows := [][]string{
		{"A", "40", "100", ""}, {"A", "35", "60", ""}, // two rows of one organisation: summed
		{"B", "7", "90", ""},
		{"C", "120.5", "150", ""}, // half-patients, as cancer waiting times have
		{"D", "300", "400", ""},   // outside the area
		{"E", "5", "20", ""},
	}
	withEngland := append([][]string{{datasets.EnglandCode, "560", "900", ""}}, rows...)
	for _, c := range []struct {
		name  string
		d     Definition
		rows  [][]string
		check bool // compare the verdict too (interval verdicts)
	}{
		{"proportion against the England row", areaDefinition("p1", MethodWilson, UnitPercentage, Benchmark{Kind: "england"}, Verdict{}), withEngland, true},
		{"proportion against pooled England", areaDefinition("p2", MethodWilson, UnitPercentage, Benchmark{Kind: "england"}, Verdict{}), rows, true},
		{"proportion at 99.8%", areaDefinition("p3", MethodWilson, UnitPercentage, Benchmark{Kind: "england"}, Verdict{Method: VerdictInterval, Level: 99.8}), rows, true},
		{"rate per 1,000", areaDefinition("r1", MethodPoisson, UnitRate, Benchmark{Kind: "england"}, Verdict{}), rows, true},
		{"observed over expected on a funnel", areaDefinition("o1", MethodOERatio, UnitRatio, Benchmark{Kind: "target", Value: fptr(1)},
			Verdict{Method: VerdictFunnel, Limits: "log-scale"}), rows, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs, sum := computeTable(t, c.d, c.rows)
			var members []Observation
			for _, o := range obs {
				if area[o.Organisation] {
					members = append(members, o)
				}
			}
			got := AggregateArea(c.d, members, EnglandValue(c.d, sum, obs), sum.Funnel)

			var merged [][]string
			for _, r := range c.rows {
				r = append([]string(nil), r...)
				if area[r[0]] {
					r[0] = "AREA"
				}
				merged = append(merged, r)
			}
			whole, _ := computeTable(t, c.d, merged)
			var want Observation
			for _, o := range whole {
				if o.Organisation == "AREA" {
					want = o
				}
			}
			if got.Organisations != 3 || got.Unavailable != 0 {
				t.Errorf("organisations %d, unavailable %d; want 3 and 0", got.Organisations, got.Unavailable)
			}
			for _, f := range []struct {
				name      string
				got, want *float64
			}{
				{"numerator", got.Numerator, want.Numerator}, {"denominator", got.Denominator, want.Denominator},
				{"value", got.Value, want.Value}, {"lower 95%", got.Lower95, want.Lower95}, {"upper 95%", got.Upper95, want.Upper95},
				{"lower 99.8%", got.Lower998, want.Lower998}, {"upper 99.8%", got.Upper998, want.Upper998},
			} {
				if f.want == nil {
					t.Fatalf("%s: the raw rows give none", f.name)
				}
				near(t, f.name, f.got, *f.want, 1e-12)
			}
			if c.check && (got.Comparison != want.Comparison || got.Comparison == NotCompared) {
				t.Errorf("verdict %s (%s), want %s as from the raw rows", got.Comparison, got.Reason, want.Comparison)
			}
			if !c.check {
				l, err := sum.Funnel.LimitsAt(c.d, *got.Denominator)
				if err != nil {
					t.Fatal(err)
				}
				if wantCmp := funnelComparison(*got.Value, l, sum.Funnel.Level); got.Comparison != wantCmp {
					t.Errorf("funnel verdict %s, want %s at the area's size", got.Comparison, wantCmp)
				}
			}
		})
	}
}

// The documented rule: an organisation's suppressed or missing figure
// makes the area's value not available; it is never counted as zero, and
// the others are not added up without it.
func TestAreaSuppressedNeverZero(t *testing.T) {
	d := areaDefinition("pp", MethodWilson, UnitPercentage, Benchmark{Kind: "england"}, Verdict{})
	for _, c := range []struct {
		name        string
		rows        [][]string
		unavailable int // 0: the area has a value
		value       float64
	}{
		{"every figure published", [][]string{{"A", "10", "100", ""}, {"B", "30", "100", ""}}, 0, 20},
		{"a suppressed numerator", [][]string{{"A", "10", "100", ""}, {"B", "*", "100", ""}}, 1, 0},
		{"a suppressed denominator", [][]string{{"A", "10", "100", ""}, {"B", "30", "*", ""}}, 1, 0},
		{"both suppressed", [][]string{{"A", "*", "*", ""}, {"B", "30", "100", ""}}, 1, 0},
		{"a missing figure", [][]string{{"A", "10", "100", ""}, {"B", "", "100", ""}}, 1, 0},
		{"one row of two suppressed", [][]string{{"A", "10", "100", ""}, {"A", "*", "5", ""}, {"B", "30", "100", ""}}, 1, 0},
		{"every organisation suppressed", [][]string{{"A", "*", "*", ""}, {"B", "*", "*", ""}}, 2, 0},
		{"suppressed outside the area only", [][]string{{"A", "10", "100", ""}, {"B", "30", "100", ""}, {"Z", "*", "*", ""}}, 0, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs, sum := computeTable(t, d, c.rows)
			var members []Observation
			for _, o := range obs {
				if o.Organisation == "A" || o.Organisation == "B" {
					members = append(members, o)
				}
			}
			got := AggregateArea(d, members, EnglandValue(d, sum, obs), nil)
			if got.Unavailable != c.unavailable {
				t.Errorf("unavailable %d, want %d", got.Unavailable, c.unavailable)
			}
			if c.unavailable == 0 {
				near(t, "value", got.Value, c.value, 1e-12)
				return
			}
			if got.Value != nil || got.Numerator != nil || got.Denominator != nil || got.Lower95 != nil || got.Comparison != NotCompared {
				t.Errorf("an area with a suppressed or missing figure has value %v, numerator %v, denominator %v, verdict %s; want none",
					got.Value, got.Numerator, got.Denominator, got.Comparison)
			}
			if !strings.Contains(got.Reason, "suppressed or missing") || !strings.Contains(got.Reason, "never counted as zero") {
				t.Errorf("reason %q does not state the rule", got.Reason)
			}
		})
	}
}

func TestAreaCategoriesAndMethodsNotAdded(t *testing.T) {
	cat := Definition{ID: "rr", Title: "r", Description: "d", File: "f.csv", Organisation: "Code", Value: "Rating", Unit: UnitCategory,
		Polarity: HigherIsBetter, Method: MethodCategory, Categories: []string{"Good", "Poor"}, Benchmark: Benchmark{Kind: "none"}, AuthoredBy: "a", CheckedBy: "b"}
	obs, _ := computeTable(t, cat, [][]string{{"A", "", "", "Good"}, {"B", "", "", "Poor"}, {"C", "", "", "Good"}, {"D", "", "", "Unrated"}})
	got := AggregateArea(cat, obs, nil, nil)
	want := []CategoryCount{{"Good", 2}, {"Poor", 1}, {"Unrated", 1}}
	if len(got.Categories) != len(want) {
		t.Fatalf("categories %v, want %v", got.Categories, want)
	}
	for i := range want {
		if got.Categories[i] != want[i] {
			t.Errorf("categories %v, want %v", got.Categories, want)
		}
	}
	for _, m := range []Method{MethodMeanSD, MethodDSR, MethodAsGiven} {
		d := Definition{Method: m, Numerator: "Events", Denominator: "Size", Benchmark: Benchmark{Kind: "england"}}
		one := 1.0
		if got := AggregateArea(d, []Observation{{Organisation: "A", Numerator: &one, Denominator: &one, Value: &one}}, &one, nil); got.Value != nil || got.Reason != AreaReasonNotAdditive {
			t.Errorf("%s: value %v, reason %q; want no value, %q", m, got.Value, got.Reason, AreaReasonNotAdditive)
		}
	}
	if got := AggregateArea(cat, nil, nil, nil); got.Reason != AreaReasonNone {
		t.Errorf("no members: reason %q", got.Reason)
	}
}
