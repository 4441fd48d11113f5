package audit

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

func testDefinition() Definition {
	d := Definition{ID: "synthetic-surgery", Name: "Synthetic surgical audit", ClinicalArea: "Surgery", AuditBody: "Demo audit body",
		Period: "April 2024 to March 2025", Coverage: "All fictional hospitals", Methodology: "# Method\n\nA risk model.",
		File: "outcomes.csv", MinCases: 20, MinCasesReason: "too few for a stable rate", Synthetic: true,
		Measures: []Measure{
			{ID: SyntheticMortality, Title: "Death within 30 days", Outcome: "death within 30 days", Statistic: Ratio,
				Polarity: indicators.LowerIsBetter, Limits: LimitExactPoisson, RiskModel: "logistic"},
			{ID: SyntheticReturns, Title: "Return to theatre", Outcome: "unplanned return to theatre", Statistic: Proportion,
				Polarity: indicators.LowerIsBetter, Limits: LimitExactBinomial},
		}}
	if err := d.Validate(); err != nil {
		panic(err)
	}
	return d
}

// schemaFor is a Table Schema for an outcomes file: counts as integers
// (with "*" as a suppression marker) so the checker sees typed values.
func schemaFor(header []string) datasets.Resource {
	var fields []datasets.Field
	for _, h := range header {
		f := datasets.Field{Name: h, Type: "string"}
		switch h {
		case ColCases, ColObserved:
			f.Type = "integer"
			f.Suppressed = []string{"*"}
		case ColExpected:
			f.Type = "number"
		}
		fields = append(fields, f)
	}
	return datasets.Resource{Name: "outcomes", Path: "outcomes.csv", Dialect: datasets.DefaultDialect(), Schema: datasets.Schema{Fields: fields, MissingValues: []string{""}}}
}

// checkCSV reads a file through the checker, failing on any problem.
func checkCSV(t *testing.T, def Definition, data []byte) []Row {
	t.Helper()
	rows, problems := readCSV(t, def, data)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	return rows
}

func readCSV(t *testing.T, def Definition, data []byte) ([]Row, datasets.Problems) {
	t.Helper()
	header := strings.Split(strings.SplitN(string(data), "\n", 2)[0], ",")
	rd, err := datasets.NewReader(bytes.NewReader(data), "outcomes.csv", schemaFor(header))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewChecker(def, "outcomes.csv", rd.Header())
	if err != nil {
		var ps datasets.Problems
		if errors.As(err, &ps) {
			return nil, ps
		}
		t.Fatal(err)
	}
	var rows []Row
	for {
		r, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reader: %v", err)
		}
		if row, ok := c.Check(r); ok {
			rows = append(rows, row)
		}
	}
	return rows, c.Problems()
}

func near(a, b float64) bool { return math.Abs(a-b) < 5e-6 }

// Each limit method against the reference vectors (statistics.md TV-10,
// TV-12, TV-13, TV-14).
func TestLimitMethodsAgainstReferenceVectors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		m         Measure
		target, p float64
		d         Dispersion
		want      Limits
	}{
		{"TV-10 normal", Measure{Statistic: Proportion, Limits: LimitNormal}, 0.1, 50, Dispersion{}, Limits{0.0168458, 0.1831542, 0, 0.2311074}},
		{"TV-10 exact binomial, interpolated", Measure{Statistic: Proportion, Limits: LimitExactBinomial, Interp: Interpolated}, 0.1, 50, Dispersion{},
			Limits{0.0138629, 0.1797227, 0, 0.2401284}},
		{"TV-10 exact binomial, funnel4 upper", Measure{Statistic: Proportion, Limits: LimitExactBinomial, Interp: InterpolatedUpperPlus}, 0.1, 50, Dispersion{},
			Limits{0.0138629, 0.1997227, 0, 0.2601284}},
		{"TV-10 arcsine", Measure{Statistic: Proportion, Limits: LimitArcsine}, 0.1, 50, Dispersion{}, Limits{0.0331742, 0.1973612, 0.0106203, 0.2645678}},
		{"TV-13 normal ratio", Measure{Statistic: Ratio, Limits: LimitNormal}, 1, 20, Dispersion{}, Limits{0.561739, 1.438261, 0.309003, 1.690997}},
		{"TV-13 log scale", Measure{Statistic: Ratio, Limits: LimitLogScale}, 1, 20, Dispersion{}, Limits{0.645157, 1.550010, 0.501076, 1.995704}},
		{"TV-13 exact Poisson", Measure{Statistic: Ratio, Limits: LimitExactPoisson, Interp: Interpolated}, 1, 20, Dispersion{},
			Limits{0.560250, 1.437288, 0.358459, 1.735676}},
		{"TV-12 chi-square", Measure{Statistic: Ratio, Limits: LimitChiSquare}, 1, 20, Dispersion{}, Limits{0.6108260, 1.544419, 0.4479107, 1.902094}},
		{"TV-14 log scale with τ²", Measure{Statistic: Ratio, Limits: LimitLogScale}, 1, 100, Dispersion{Phi: 2.948033, Tau2: 0.0194775, Applied: true},
			Limits{0.714261, 1.400048, 0.588274, 1.699888}},
		{"TV-14 normal with φ", Measure{Statistic: Ratio, Limits: LimitNormal}, 1, 100, Dispersion{Phi: 2.948033, Tau2: 0.0194775, Applied: true},
			Limits{0.663477, 1.336523, 0.469412, 1.530588}},
		{"dispersion not applied leaves limits alone", Measure{Statistic: Ratio, Limits: LimitNormal}, 1, 20, Dispersion{Phi: 2.9, Applied: false},
			Limits{0.561739, 1.438261, 0.309003, 1.690997}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := UnitLimits(tc.m, tc.target, tc.p, tc.d)
			if !near(got.Lower95, tc.want.Lower95) || !near(got.Upper95, tc.want.Upper95) || !near(got.Lower998, tc.want.Lower998) || !near(got.Upper998, tc.want.Upper998) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TV-14: φ and τ² from the SHMI log-scale z-scores, untrimmed.
func TestDispersionMatchesTV14(t *testing.T) {
	o := []float64{100, 150, 180, 80, 120, 225}
	e := []float64{108, 112, 165, 95, 100, 220}
	m := Measure{Statistic: Ratio, Limits: LimitLogScale, Overdisp: OverdispersionSpec{Adjustment: AdjustAdditive, Trim: TrimNone}}
	var zs, ws []float64
	for i := range o {
		z, w, ok := unitZ(m, 1, o[i], 0, e[i])
		if !ok {
			t.Fatal("no z")
		}
		zs, ws = append(zs, z), append(ws, w)
	}
	d := EstimateDispersion(m.Overdisp, zs, ws)
	if !near(d.Phi, 2.948033) || math.Abs(d.Tau2-0.0194775) > 1e-6 || !d.Applied || d.Units != 6 {
		t.Errorf("got %+v, want φ 2.948033, τ² 0.0194775, applied", d)
	}
	// Truncation drops the extremes; winsorising keeps six units.
	tr := EstimateDispersion(OverdispersionSpec{Adjustment: AdjustAdditive, Trim: TrimTruncate, TrimBy: 0.2}, zs, ws)
	wi := EstimateDispersion(OverdispersionSpec{Adjustment: AdjustAdditive, Trim: TrimWinsorise, TrimBy: 0.2}, zs, ws)
	if tr.Units != 4 || wi.Units != 6 || wi.Phi >= d.Phi {
		t.Errorf("truncated %+v, winsorised %+v", tr, wi)
	}
	// Not overdispersed: I·φ ≤ I − 1 leaves the limits alone.
	if nd := EstimateDispersion(m.Overdisp, []float64{0.1, -0.2, 0.3}, []float64{10, 20, 30}); nd.Applied || nd.Tau2 != 0 {
		t.Errorf("under-dispersed units adjusted: %+v", nd)
	}
}

// A unit exactly on a limit, under each documented convention.
func TestUnitExactlyOnALimit(t *testing.T) {
	l := UnitLimits(Measure{Statistic: Proportion, Limits: LimitNormal}, 0.1, 50, Dispersion{})
	for _, tc := range []struct {
		value  float64
		on     OnLimit
		status Status
		high   bool
	}{
		{l.Upper95, OnLimitWithin, Within, false},
		{l.Upper95, OnLimitOutside, Alert, true},
		{l.Lower95, OnLimitWithin, Within, false},
		{l.Lower95, OnLimitOutside, Alert, false},
		{l.Upper998, OnLimitWithin, Alert, true},
		{l.Upper998, OnLimitOutside, Alarm, true},
		{l.Upper998 + 1e-9, OnLimitWithin, Alarm, true},
		{0.1, OnLimitOutside, Within, false},
	} {
		if s, high := Classify(tc.value, l, tc.on); s != tc.status || high != tc.high {
			t.Errorf("value %v on %s: got %s high=%v, want %s high=%v", tc.value, tc.on, s, high, tc.status, tc.high)
		}
	}
	// With real counts: 9 events in 50 cases at a national 10% (0.18) is
	// just above the exact upper 95% limit (0.1797…), 8 is within.
	m := Measure{Statistic: Proportion, Limits: LimitExactBinomial, Interp: Interpolated, OnLimit: OnLimitWithin}
	el := UnitLimits(m, 0.1, 50, Dispersion{})
	if s, _ := Classify(9.0/50, el, m.OnLimit); s != Alert {
		t.Errorf("9/50: %s", s)
	}
	if s, _ := Classify(8.0/50, el, m.OnLimit); s != Within {
		t.Errorf("8/50: %s", s)
	}
}

func TestComputeRulesAndSummaries(t *testing.T) {
	def := testDefinition()
	file := "period,level,provider_code,provider_name,team_code,team_name,consultant_code,consultant_name,measure,cases,observed,expected\n" +
		"2024/25,hospital,H1,One,,,,,mortality-30-day,400,40,40\n" +
		"2024/25,hospital,H2,Two,,,,,mortality-30-day,400,90,40\n" +
		"2024/25,hospital,H3,Three,,,,,mortality-30-day,10,5,1\n" +
		"2024/25,hospital,H4,Four,,,,,mortality-30-day,*,*,3.5\n" +
		"2024/25,hospital,H5,Five,,,,,mortality-30-day,300,28,30\n" +
		"2024/25,hospital,H1,One,,,,,return-to-theatre,400,20,\n"
	rows := checkCSV(t, def, []byte(file))
	outcomes, funnels := Compute(def, rows)
	by := map[string]Outcome{}
	for _, o := range outcomes {
		by[o.Measure+"/"+o.Code] = o
	}
	if o := by["mortality-30-day/H2"]; o.Status != Alarm || !o.High || o.Ratio == nil || *o.Ratio != 90.0/40 || o.AdjustedRate == nil {
		t.Errorf("H2: %+v", o)
	}
	if o := by["mortality-30-day/H2"]; !strings.HasPrefix(o.Position(def.Measures[0]), "Alarm: observed ÷ expected death within 30 days is above the 99.8% limit (worse than expected)") {
		t.Errorf("H2 position: %s", o.Position(def.Measures[0]))
	}
	if o := by["mortality-30-day/H1"]; o.Status != Within || o.Value == nil || *o.Value != 1 {
		t.Errorf("H1: %+v", o)
	}
	if o := by["mortality-30-day/H3"]; o.Status != NotClassified || o.Value != nil || o.CrudeRate != nil || !strings.Contains(o.Reason, "Fewer than 20 cases") {
		t.Errorf("H3 below the minimum: %+v", o)
	}
	if o := by["mortality-30-day/H4"]; o.Status != NotClassified || o.Expected != nil || !strings.Contains(o.Reason, "suppressed") {
		t.Errorf("H4 suppressed: %+v", o)
	}
	var f Funnel
	for _, x := range funnels {
		if x.Measure == SyntheticMortality && x.Level == Hospital {
			f = x
		}
	}
	if f.Units != 5 || f.Classified != 3 || f.Alarms != 1 || f.Target != 1 || !near(f.NationalRate, (40+90+5+28)/1110.0) {
		t.Errorf("funnel: %+v", f)
	}
	if o := by["return-to-theatre/H1"]; o.Status == NotClassified && !strings.Contains(o.Reason, "national rate") {
		t.Errorf("a proportion with one unit: %+v", o)
	}
}

// Bad rows are rejected at validation, naming the row and column.
func TestCheckerRejectsBadRows(t *testing.T) {
	def := testDefinition()
	const header = "period,level,provider_code,provider_name,team_code,team_name,consultant_code,consultant_name,measure,cases,observed,expected\n"
	good := "2024/25,consultant,H1,One,T1,Team one,C1,Dr One,mortality-30-day,40,4,3.5\n"
	for _, tc := range []struct {
		name, row string
		column    int
		field     string
		message   string
	}{
		{"expected events of zero", "2024/25,hospital,H1,One,,,,,mortality-30-day,40,4,0\n", 12, ColExpected, "expected events of zero"},
		{"negative cases", "2024/25,hospital,H1,One,,,,,mortality-30-day,-3,0,1.5\n", 10, ColCases, "negative"},
		{"negative events", "2024/25,hospital,H1,One,,,,,return-to-theatre,30,-1,\n", 11, ColObserved, "negative"},
		{"events greater than cases", "2024/25,hospital,H1,One,,,,,mortality-30-day,10,12,2\n", 11, ColObserved, "more than the cases"},
		{"consultant twice in the same team and period", good, 7, ColConsultant, "listed twice"},
		{"expected events missing for a ratio", "2024/25,hospital,H1,One,,,,,mortality-30-day,10,1,\n", 12, ColExpected, "required"},
		{"unknown measure", "2024/25,hospital,H1,One,,,,,deaths,10,1,2\n", 9, ColMeasure, "not defined"},
		{"unknown level", "2024/25,ward,H1,One,,,,,deaths,10,1,2\n", 2, ColLevel, "not one of"},
		{"consultant without a team", "2024/25,consultant,H1,One,,,C9,Dr Nine,mortality-30-day,10,1,2\n", 5, ColTeam, "needs the consultant's team"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := readCSV(t, def, []byte(header+good+tc.row))
			if len(problems) == 0 {
				t.Fatal("accepted")
			}
			p := problems[0]
			if p.Row != 3 || p.Column != tc.column || p.Field != tc.field || !strings.Contains(p.Message, tc.message) {
				t.Errorf("got %v (row %d, column %d, field %s), want row 3, column %d (%s) saying %q", p, p.Row, p.Column, p.Field, tc.column, tc.field, tc.message)
			}
		})
	}
	// The same consultant in another team (at another provider) is fine.
	other := "2024/25,consultant,H2,Two,T7,Team seven,C1,Dr One,mortality-30-day,12,1,1.1\n"
	if _, problems := readCSV(t, def, []byte(header+good+other)); len(problems) != 0 {
		t.Errorf("a consultant at two providers was rejected: %v", problems)
	}
	// A missing column is named.
	_, problems := readCSV(t, def, []byte("period,level\n2024/25,hospital\n"))
	if len(problems) == 0 || problems[0].Field != ColProvider {
		t.Errorf("missing columns: %v", problems)
	}
}

func TestDefinitionValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Definition)
	}{
		{"id", func(d *Definition) { d.ID = "Bad ID" }},
		{"methodology", func(d *Definition) { d.Methodology = " " }},
		{"minCases", func(d *Definition) { d.MinCases = 0 }},
		{"minCasesReason", func(d *Definition) { d.MinCasesReason = "" }},
		{"measures", func(d *Definition) { d.Measures = nil }},
		{"measures[0].limits", func(d *Definition) { d.Measures[0].Limits = LimitExactBinomial }},
		{"measures[1].statistic", func(d *Definition) { d.Measures[1].Statistic = "mean" }},
		{"measures[0].riskModel", func(d *Definition) { d.Measures[0].RiskModel = "" }},
		{"measures[0].overdispersion.adjustment", func(d *Definition) { d.Measures[0].Overdisp.Adjustment = AdjustAdditive }},
		{"measures[1].overdispersion.adjustment", func(d *Definition) {
			d.Measures[1].Limits, d.Measures[1].Overdisp.Adjustment = LimitNormal, AdjustAdditive
		}},
		{"measures[1].interpolation", func(d *Definition) { d.Measures[1].Limits, d.Measures[1].Interp = LimitArcsine, InterpolatedUpperPlus }},
		{"measures[0].onLimit", func(d *Definition) { d.Measures[0].OnLimit = "inclusive" }},
		{"measures[1].id", func(d *Definition) { d.Measures[1].ID = d.Measures[0].ID }},
	} {
		d := testDefinition()
		d.Measures = append([]Measure(nil), d.Measures...)
		tc.edit(&d)
		err := d.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
	if _, err := ParseDefinition([]byte(`{"id": "x1", "surprise": 1}`)); err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Errorf("unknown field: %v", err)
	}
	m := testDefinition().Measures[0]
	if s := m.Describe(); !strings.Contains(s, "Exact Poisson") || !strings.Contains(s, "counts as within") {
		t.Errorf("describe: %s", s)
	}
}

// Lower limits never fall below zero, even where the interpolated exact
// limit would (r = 0 at a small expected count).
func TestLowerLimitsAreClipped(t *testing.T) {
	for _, m := range []Measure{{Statistic: Ratio, Limits: LimitExactPoisson}, {Statistic: Ratio, Limits: LimitNormal},
		{Statistic: Proportion, Limits: LimitExactBinomial}, {Statistic: Proportion, Limits: LimitNormal}} {
		for _, p := range []float64{0.5, 1, 2, 5} {
			l := UnitLimits(m, 0.1, p, Dispersion{})
			if l.Lower95 < 0 || l.Lower998 < 0 {
				t.Errorf("%s %s at %v: %+v", m.Statistic, m.Limits, p, l)
			}
		}
	}
}
