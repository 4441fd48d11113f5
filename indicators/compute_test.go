package indicators

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

func near(t *testing.T, name string, got *float64, want, rel float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil, want %v", name, want)
		return
	}
	if math.Abs(*got-want) > rel*math.Max(1e-12, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", name, *got, want)
	}
}

// TV-1, TV-3 and TV-6 of statistics.md through the indicator methods.
func TestMethodsAgainstVectors(t *testing.T) {
	for _, c := range []struct {
		name                     string
		x, n                     float64
		lo95, hi95, lo998, hi998 float64
	}{
		{"TV-1", 65, 100, 0.5525444329688797, 0.7363575175690247, 0.4954946574070431, 0.7783540614089697},
		{"TV-3", 10, 100, 0.0552291371, 0.1743656615, 0.0396781027, 0.2300586471},
	} {
		d := Definition{Method: MethodWilson, Unit: UnitRatio}
		l, err := limits(d, &group{num: c.x, den: c.n})
		if err != nil {
			t.Fatal(err)
		}
		near(t, c.name+" lower 95%", l[0], c.lo95, 1e-9)
		near(t, c.name+" upper 95%", l[1], c.hi95, 1e-9)
		near(t, c.name+" lower 99.8%", l[2], c.lo998, 1e-9)
		near(t, c.name+" upper 99.8%", l[3], c.hi998, 1e-9)
	}
	lo, hi := wilson(0, 100, z95)
	if lo != 0 || math.Abs(hi-0.0369934982) > 1e-9 {
		t.Errorf("TV-3 x = 0: (%v, %v)", lo, hi)
	}
}

func TestCompareThroughPolarity(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		p      Polarity
		want   Comparison
	}{
		{0.8, 0.9, HigherIsBetter, Better}, {0.8, 0.9, LowerIsBetter, Worse}, {0.8, 0.9, NoJudgement, Higher},
		{0.6, 0.7, HigherIsBetter, Worse}, {0.6, 0.7, LowerIsBetter, Better}, {0.6, 0.7, NoJudgement, Lower},
		{0.7, 0.8, HigherIsBetter, Similar}, {0.75, 0.8, HigherIsBetter, Similar},
	} {
		if got := compare(c.lo, c.hi, 0.75, c.p); got != c.want {
			t.Errorf("compare(%v, %v, 0.75, %s) = %s, want %s", c.lo, c.hi, c.p, got, c.want)
		}
	}
}

func TestQuintiles(t *testing.T) {
	got := Quantiles([]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5, true)
	want := []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("quintiles = %v, want %v", got, want)
		}
	}
	if got := Quantiles([]float64{3, 3, 3, 3, 3}, 5, true); got[0] != got[4] {
		t.Errorf("ties split across quintiles: %v", got)
	}
}

var fdsSchema = datasets.Schema{
	Fields: []datasets.Field{
		{Name: "Org Code"}, {Name: "Standard"},
		{Name: "Total", Type: datasets.TypeNumber, Suppressed: []string{"*"}},
		{Name: "Within", Type: datasets.TypeNumber, Suppressed: []string{"*"}},
	},
	MissingValues: []string{""},
}

func TestComputeFromPublicRows(t *testing.T) {
	target := 75.0
	d := Definition{ID: "fds", Title: "FDS", Description: "d", File: "cwt.csv", Organisation: "Org Code",
		Filter: map[string]string{"Standard": "FDS"}, Numerator: "Within", Denominator: "Total",
		Unit: UnitPercentage, Polarity: HigherIsBetter, Method: MethodWilson,
		Benchmark: Benchmark{Kind: "target", Value: &target}, MinimumToShow: 20, AuthoredBy: "a", CheckedBy: "b"}
	if err := d.Validate(fdsSchema.FieldNames()); err != nil {
		t.Fatal(err)
	}
	table := Table{Name: "cwt.csv", Schema: fdsSchema, Header: fdsSchema.FieldNames(), Rows: [][]string{
		{"RR8", "FDS", "1000", "900"}, {"RR8", "FDS", "100", "50"}, // two breakdowns: summed
		{"RX1", "FDS", "1000", "600"},
		{"RA2", "FDS", "10", "9"},  // too few
		{"RJ1", "FDS", "*", "*"},   // suppressed
		{"RR8", "31D", "500", "1"}, // another standard: filtered out
	}}
	obs, _, err := Compute([]Definition{d}, []Table{table}, Period{Label: "January 2026", Start: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Observation{}
	for _, o := range obs {
		by[o.Organisation] = o
	}
	if rr8 := by["RR8"]; rr8.Value == nil || math.Abs(*rr8.Value-950.0/1100*100) > 1e-9 || rr8.Comparison != Better || rr8.Period != "January 2026" {
		t.Errorf("RR8: %+v", rr8)
	}
	if rx1 := by["RX1"]; rx1.Comparison != Worse {
		t.Errorf("RX1 60%% against 75%%: %s", rx1.Comparison)
	}
	if ra2 := by["RA2"]; ra2.Value != nil || !strings.Contains(ra2.Reason, "too few") {
		t.Errorf("RA2 (10 patients): %+v", ra2)
	}
	if rj1 := by["RJ1"]; rj1.Value != nil || !strings.Contains(rj1.Reason, "suppressed") || rj1.Numerator != nil {
		t.Errorf("RJ1 (suppressed): %+v", rj1)
	}
	// Definitions are checked against the file, naming the field.
	bad := d
	bad.Numerator = "Seen"
	if err := bad.Validate(fdsSchema.FieldNames()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "numerator") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestParseDefinitionsNamesTheField(t *testing.T) {
	base := `{"id": "x1", "title": "T", "description": "D", "file": "f.csv", "organisation": "Code", "numerator": "A",
		"denominator": "B", "unit": "percentage", "polarity": "higher-is-better", "method": "wilson",
		"benchmark": {"kind": "none"}, "authoredBy": "a", "checkedBy": "b"}`
	if _, err := ParseDefinitions([]byte("[" + base + "]")); err != nil {
		t.Fatalf("a good definition: %v", err)
	}
	for edit, field := range map[[2]string]string{
		{`"method": "wilson"`, `"method": "magic"`}:                          "method",
		{`"polarity": "higher-is-better", `, ``}:                             "polarity",
		{`"unit": "percentage"`, `"unit": "furlongs"`}:                       "unit",
		{`"id": "x1"`, `"id": "X 1"`}:                                        "id",
		{`"authoredBy": "a"`, `"authoredBy": ""`}:                            "authoredBy",
		{`"benchmark": {"kind": "none"}`, `"benchmark": {"kind": "target"}`}: "benchmark.value",
	} {
		_, err := ParseDefinitions([]byte("[" + strings.Replace(base, edit[0], edit[1], 1) + "]"))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v, want an error naming %s", edit[1], err, field)
		}
	}
	if _, err := ParseDefinitions([]byte(`[{"id": "x1", "colour": "red"}]`)); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown property: %v", err)
	}
}

func TestComputeDSRAndPeerGroups(t *testing.T) {
	schema := datasets.Schema{Fields: []datasets.Field{{Name: "Code"}, {Name: "Age"}, {Name: "Type"},
		{Name: "Deaths", Type: datasets.TypeInteger}, {Name: "Population", Type: datasets.TypeInteger}}}
	bands := []string{"0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54", "55-59",
		"60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"}
	big := []int{127, 25, 18, 21, 12, 27, 48, 27, 29, 32, 32, 34, 45, 65, 38, 68, 74, 82, 91}
	small := []int{12, 4, 3, 2, 3, 4, 8, 2, 2, 3, 4, 5, 6, 8, 5, 6, 5, 5, 4}
	var rows [][]string
	for i, b := range bands {
		pop := strconv.Itoa(int(tv8Pops[i]))
		rows = append(rows, []string{"BIG", b, "teaching", strconv.Itoa(big[i]), pop},
			[]string{"SMALL", b, "teaching", strconv.Itoa(small[i]), pop},
			[]string{"TINY", b, "district", map[bool]string{true: "3", false: "0"}[i < 3], pop})
	}
	table := Table{Name: "deaths.csv", Schema: schema, Header: schema.FieldNames(), Rows: rows}
	dsr := Definition{ID: "dsr", Title: "Deaths", Description: "d", File: "deaths.csv", Organisation: "Code", Numerator: "Deaths",
		Denominator: "Population", AgeBand: "Age", AgeBands: bands, Unit: UnitRate, PerN: 100000, Polarity: LowerIsBetter,
		Method: MethodDSR, Benchmark: Benchmark{Kind: "none"}, AuthoredBy: "a", CheckedBy: "b"}
	if err := dsr.Validate(table.Header); err != nil {
		t.Fatal(err)
	}
	obs, _, err := Compute([]Definition{dsr}, []Table{table}, Period{Label: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Observation{}
	for _, o := range obs {
		by[o.Organisation] = o
	}
	within(t, "TV-8 through Compute: big DSR", *by["BIG"].Value, "10430.2480")
	within(t, "TV-8 through Compute: big lower", *by["BIG"].Lower95, "9717.7091")
	within(t, "TV-8 through Compute: big upper 99.8%", *by["BIG"].Upper998, "11620.5960")
	within(t, "TV-8 through Compute: small DSR", *by["SMALL"].Value, "1103.2120")
	if tiny := by["TINY"]; tiny.Value != nil || !strings.Contains(tiny.Reason, "fewer than 10 events") {
		t.Errorf("TV-8 tiny (O = 9): %+v", tiny)
	}
	bad := dsr
	bad.AgeBands = bands[:5]
	if err := bad.Validate(nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ageBands") {
		t.Errorf("DSR with five age bands: %v", err)
	}

	// Peer groups: each organisation against the pooled value of its type.
	peer := Definition{ID: "p", Title: "P", Description: "d", File: "deaths.csv", Organisation: "Code", Numerator: "Deaths",
		Denominator: "Population", Unit: UnitPercentage, Polarity: LowerIsBetter, Method: MethodWilson,
		Benchmark: Benchmark{Kind: "peer-group", Field: "Type"}, AuthoredBy: "a", CheckedBy: "b"}
	obs, _, err = Compute([]Definition{peer}, []Table{table}, Period{Label: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	var sumD, sumP float64
	for i := range bands {
		sumD += float64(big[i] + small[i])
		sumP += 2 * tv8Pops[i]
	}
	for _, o := range obs {
		switch o.Organisation {
		case "BIG", "SMALL":
			if o.Benchmark == nil || math.Abs(*o.Benchmark-sumD/sumP*100) > 1e-9 {
				t.Errorf("%s benchmark %v, want the teaching pool %v", o.Organisation, o.Benchmark, sumD/sumP*100)
			}
		case "TINY":
			if o.Benchmark == nil || *o.Benchmark != *o.Value {
				t.Errorf("TINY is its own peer group: benchmark %v, value %v", o.Benchmark, o.Value)
			}
		}
	}
}
