package indicators

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

var ratioSchema = datasets.Schema{Fields: []datasets.Field{
	{Name: "ORG"}, {Name: "REGION"},
	{Name: "O", Type: datasets.TypeNumber}, {Name: "E", Type: datasets.TypeNumber},
}}

func ratioDefinition(v Verdict) Definition {
	one := 1.0
	return Definition{ID: "smr", Title: "SMR", Description: "d", File: "f.csv", Organisation: "ORG", Numerator: "O", Denominator: "E",
		Unit: UnitRatio, Polarity: LowerIsBetter, Method: MethodOERatio, Benchmark: Benchmark{Kind: "target", Value: &one},
		AuthoredBy: "a", CheckedBy: "b", Verdict: v}
}

// ratioRows are 60 organisations whose ratios spread more than chance
// allows (overdispersion), with a few far out.
func ratioRows() [][]string {
	var rows [][]string
	for i := range 60 {
		e := 200.0 + float64(i)*40
		ratio := 1 + 0.12*math.Sin(float64(i)*1.7)
		if i%15 == 0 {
			ratio = 1.35
		}
		rows = append(rows, []string{fmt.Sprintf("R%02d", i), "Y56", fmt.Sprint(math.Round(e * ratio)), fmt.Sprint(e)})
	}
	return rows
}

func TestOneVerdictFromTheFunnel(t *testing.T) {
	d := ratioDefinition(Verdict{Method: VerdictFunnel, Limits: "log-scale", Overdispersion: "additive", Trim: "truncate", AlsoShow: VerdictInterval,
		Why: "the funnel allows for variation the risk model cannot explain"})
	if err := d.Validate(ratioSchema.FieldNames()); err != nil {
		t.Fatal(err)
	}
	table := Table{Name: "f.csv", Schema: ratioSchema, Header: ratioSchema.FieldNames(), Rows: ratioRows()}
	obs, sums, err := Compute([]Definition{d}, []Table{table}, Period{Label: "2024"})
	if err != nil {
		t.Fatal(err)
	}
	fit := sums[0].Funnel
	if fit == nil || !fit.Applied || fit.Tau2 <= 0 || fit.Units != 60-2*6 {
		t.Fatalf("fit: %+v (truncating 10%% of 60 leaves 48)", fit)
	}
	counts := map[Comparison]int{}
	above, intervalWorse := 0, 0
	for _, o := range obs {
		counts[o.Comparison]++
		if *o.Value > *o.FunnelUpper95 {
			above++
		}
		if o.Beside == Worse {
			intervalWorse++
		}
		want := AsExpected
		if strings.HasPrefix(o.Funnel, "above") {
			want = HigherThanExpected
		} else if strings.HasPrefix(o.Funnel, "below") {
			want = LowerThanExpected
		}
		if o.Comparison != want {
			t.Errorf("%s: verdict %s but funnel position %q", o.Organisation, o.Comparison, o.Funnel)
		}
		if l, _ := fit.LimitsAt(d, *o.Denominator); *o.FunnelUpper95 != l.Upper95 {
			t.Errorf("%s: stored limit %v, the fit gives %v", o.Organisation, *o.FunnelUpper95, l.Upper95)
		}
	}
	if counts[HigherThanExpected] != above || above == 0 {
		t.Errorf("higher than expected %d, above the upper 95%% limit %d", counts[HigherThanExpected], above)
	}
	// The interval, shown beside, flags more than the funnel: that is why
	// it is not the verdict.
	if intervalWorse <= above {
		t.Errorf("the interval beside flags %d as worse, the funnel %d: expected more without overdispersion", intervalWorse, above)
	}
	if s := d.Sentence(obs[0]); !strings.HasPrefix(s, "Higher than expected: above the upper 95% control limit") {
		t.Errorf("sentence: %q", s)
	}
}

func TestIntervalVerdictAtItsLevel(t *testing.T) {
	d := ratioDefinition(Verdict{Level: 99.8})
	table := Table{Name: "f.csv", Schema: ratioSchema, Header: ratioSchema.FieldNames(), Rows: ratioRows()}
	obs, sums, _ := Compute([]Definition{d}, []Table{table}, Period{Label: "2024"})
	if sums[0].Funnel != nil {
		t.Error("an interval verdict without alsoShow has no funnel")
	}
	for _, o := range obs {
		want := compare(*o.Lower998, *o.Upper998, 1, LowerIsBetter)
		if o.Comparison != want || o.Funnel != "" || o.Beside != "" {
			t.Errorf("%s: %s (funnel %q, beside %q), want %s from the 99.8%% interval", o.Organisation, o.Comparison, o.Funnel, o.Beside, want)
		}
	}
}

func TestVerdictDeclarationsChecked(t *testing.T) {
	for _, c := range []struct {
		v     Verdict
		field string
	}{
		{Verdict{Method: "ranking"}, "verdict.method"},
		{Verdict{Method: VerdictFunnel, Limits: "arcsine"}, "verdict.limits"},
		{Verdict{Method: VerdictFunnel, Limits: "exact-poisson", Overdispersion: "additive"}, "verdict.overdispersion"},
		{Verdict{Method: VerdictFunnel, Limits: "log-scale", Trim: "clip"}, "verdict.trim"},
		{Verdict{Method: VerdictFunnel, Limits: "log-scale", AlsoShow: VerdictInterval}, "verdict.why"},
		{Verdict{Level: 90}, "verdict.level"},
		{Verdict{Limits: "log-scale"}, "verdict.limits"},
	} {
		err := ratioDefinition(c.v).Validate(nil)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: %v, want an error naming %s", c.v, err, c.field)
		}
	}
	mean := ratioDefinition(Verdict{Method: VerdictFunnel, Limits: "normal"})
	mean.Method, mean.Value, mean.Lower = MethodMeanSD, "O", "E"
	if err := mean.Validate(nil); err == nil || !strings.Contains(err.Error(), "verdict.method") {
		t.Errorf("a funnel of means: %v", err)
	}
}

func TestAreaRowsAreBenchmarks(t *testing.T) {
	schema := datasets.Schema{Fields: []datasets.Field{{Name: "ORG"}, {Name: "REGION"},
		{Name: "X", Type: datasets.TypeInteger}, {Name: "N", Type: datasets.TypeInteger}}}
	d := Definition{ID: "p", Title: "P", Description: "d", File: "f.csv", Organisation: "ORG", Numerator: "X", Denominator: "N",
		Unit: UnitPercentage, Polarity: HigherIsBetter, Method: MethodWilson, Benchmark: Benchmark{Kind: "england"},
		AuthoredBy: "a", CheckedBy: "b"}
	rows := [][]string{
		{"E92000001", "", "5000", "10000"}, // England: 50%
		{"E40000003", "", "600", "1000"},   // a region: 60%
		{"RR8", "E40000003", "700", "1000"},
		{"RX1", "E40000012", "550", "1000"},
	}
	table := Table{Name: "f.csv", Schema: schema, Header: schema.FieldNames(), Rows: rows}
	obs, sums, err := Compute([]Definition{d}, []Table{table}, Period{Label: "2024"})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 2 || obs[0].Organisation != "RR8" || obs[1].Organisation != "RX1" {
		t.Fatalf("area rows became organisations: %+v", obs)
	}
	if *obs[0].Benchmark != 50 || *obs[1].Benchmark != 50 {
		t.Errorf("the England row's 50%% is not the benchmark: %v %v", *obs[0].Benchmark, *obs[1].Benchmark)
	}
	areas := sums[0].Areas
	if len(areas) != 2 || areas[0].Code != "E40000003" || areas[0].Level != "region" || *areas[0].Value != 60 ||
		areas[1].Code != "E92000001" || areas[1].Level != "national" || *areas[1].Value != 50 || areas[1].Lower95 == nil {
		t.Errorf("areas: %+v", areas)
	}
	// By region: RR8 is compared with its region's row (60%); RX1's region
	// has no row, so with its region's organisations taken together.
	d.Benchmark = Benchmark{Kind: "region", Field: "REGION"}
	obs, _, _ = Compute([]Definition{d}, []Table{table}, Period{Label: "2024"})
	if *obs[0].Benchmark != 60 || math.Abs(*obs[1].Benchmark-55) > 1e-9 {
		t.Errorf("regional benchmarks: %v %v", *obs[0].Benchmark, *obs[1].Benchmark)
	}
	// A declared area ("Total") is a benchmark too.
	d.Benchmark = Benchmark{Kind: "england", EnglandValues: []string{"Total"}}
	table.Rows = append(rows[2:], []string{"Total", "", "100", "1000"})
	obs, sums, _ = Compute([]Definition{d}, []Table{table}, Period{Label: "2024"})
	if len(obs) != 2 || *obs[0].Benchmark != 10 || sums[0].Areas[0].Code != "Total" || sums[0].Areas[0].Level != "national" {
		t.Errorf("declared England row: %+v %+v", obs, sums[0].Areas)
	}
}

func TestAreaCodesRecognised(t *testing.T) {
	for code, want := range map[string]string{"E92000001": "national", "E40000003": "region", "E12000001": "region", "Y56": "region",
		"E54000050": "icb", "E06000047": "area", "W92000004": "national"} {
		if got, ok := datasets.AreaLevel(code); !ok || got != want {
			t.Errorf("AreaLevel(%s) = %q, %v; want %q", code, got, ok, want)
		}
	}
	for _, code := range []string{"RR8", "A81001", "Y5", "E9200000", "E920000011", "RX1", "Total", "5QT"} {
		if _, ok := datasets.AreaLevel(code); ok {
			t.Errorf("%s is taken for an area", code)
		}
	}
}

func TestSchemaTotalsAndMissingCodes(t *testing.T) {
	schema := datasets.Schema{MissingValues: []string{"", "NA"}, Fields: []datasets.Field{
		{Name: "ORG", Organisation: &datasets.OrganisationRef{NotOrganisations: []string{"Total"}}},
		{Name: "X", Type: datasets.TypeInteger}, {Name: "N", Type: datasets.TypeInteger}}}
	d := Definition{ID: "p", Title: "P", Description: "d", File: "f.csv", Organisation: "ORG", Numerator: "X", Denominator: "N",
		Unit: UnitPercentage, Polarity: HigherIsBetter, Method: MethodWilson, Benchmark: Benchmark{Kind: "england"}, AuthoredBy: "a", CheckedBy: "b"}
	table := Table{Name: "f.csv", Schema: schema, Header: schema.FieldNames(), Rows: [][]string{
		{"Total", "400", "1000"}, {"RR8", "50", "100"}, {"NA", "9", "10"}, {"NA", "8", "10"}}}
	obs, sums, err := Compute([]Definition{d}, []Table{table}, Period{Label: "2024"})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 1 || obs[0].Organisation != "RR8" || *obs[0].Benchmark != 40 {
		t.Errorf("observations: %+v", obs)
	}
	if sums[0].Unattributed != 2 || len(sums[0].Areas) != 1 || sums[0].Areas[0].Code != "Total" || sums[0].Areas[0].Level != "national" {
		t.Errorf("summary: %+v", sums[0])
	}
}

func TestTheVerdictIsExplained(t *testing.T) {
	both := ratioDefinition(Verdict{Method: VerdictFunnel, Limits: "log-scale", AlsoShow: VerdictInterval, Why: "The SHMI methodology bands trusts on the funnel."})
	got := both.VerdictExplained()
	for _, want := range []string{"The verdict is the position on the funnel plot", "95% control limits around 1", "overdispersion",
		"The comparison of the confidence interval with the benchmark is shown beside it for information only; it is not the verdict.",
		"The SHMI methodology bands trusts on the funnel."} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
	plain := ratioDefinition(Verdict{Level: 99.8}).VerdictExplained()
	if !strings.Contains(plain, "compares the 99.8% confidence interval with the benchmark") || strings.Contains(plain, "not the verdict") {
		t.Errorf("interval explanation: %s", plain)
	}
}

func TestTruncationAsNHSDigital(t *testing.T) {
	// ⌊147 × 10%⌋ = 14 left out at each end, as the SHMI's published
	// limits need (an interpolated 10th percentile would leave out 15).
	z, w := make([]float64, 147), make([]float64, 147)
	for i := range z {
		z[i], w[i] = float64((i*37)%147), 1
	}
	kept, weights := TrimScores(z, w, "truncate", 0.1)
	if len(kept) != 119 || len(weights) != 119 || slices.Min(kept) != 14 || slices.Max(kept) != 132 {
		t.Errorf("kept %d scores from %v to %v", len(kept), slices.Min(kept), slices.Max(kept))
	}
	wins, _ := TrimScores(z, w, "winsorise", 0.1)
	if len(wins) != 147 || slices.Min(wins) <= 14 || slices.Min(wins) >= 15 {
		t.Errorf("winsorised: %d scores, least %v", len(wins), slices.Min(wins))
	}
}
