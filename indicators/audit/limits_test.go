package audit

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/indicators"
)

func intPtr(v int) *int           { return &v }
func floatPtr(v float64) *float64 { return &v }
func hospitalRow(code, measure string, cases, observed int, expected *float64) Row {
	return Row{Period: "2024/25", Level: Hospital, Provider: code, ProviderName: "Hospital " + code, Measure: measure,
		Cases: intPtr(cases), Observed: intPtr(observed), Expected: expected}
}

// A unit whose limits cannot be computed is not classified, and
// ComputeChecked names the measure, level, period, unit and precision.
// (The checker refuses such rows; Compute may be given rows from
// elsewhere.)
func TestComputeCheckedNamesTheUnitWhoseLimitsFail(t *testing.T) {
	def := testDefinition()
	rows := []Row{
		hospitalRow("H1", SyntheticMortality, 400, 40, floatPtr(40)),
		hospitalRow("H2", SyntheticMortality, 400, 45, floatPtr(math.NaN())),
		hospitalRow("H3", SyntheticMortality, 300, 28, floatPtr(30)),
		hospitalRow("H1", SyntheticReturns, 400, 20, nil),
		hospitalRow("H2", SyntheticReturns, 1<<60, 30, nil),
	}
	outcomes, funnels, err := ComputeChecked(def, rows)
	if err == nil {
		t.Fatal("no error for limits that cannot be computed")
	}
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, indicators.ErrInput) {
		t.Fatalf("error %v is not a LimitError wrapping ErrInput", err)
	}
	for _, want := range []string{`measure "mortality-30-day", hospital level, period "2024/25", unit H2: the funnel limits at precision NaN`,
		`measure "return-to-theatre", hospital level, period "2024/25", unit H2: the funnel limits at precision 1.152921504606847e+18`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	for _, o := range outcomes {
		switch o.Code {
		case "H2":
			if o.Status != NotClassified || o.Limits != nil || !strings.Contains(o.Reason, "cannot be computed") {
				t.Errorf("%s/H2: %+v", o.Measure, o)
			}
		case "H1", "H3":
			if o.Status == NotClassified || o.Limits == nil {
				t.Errorf("%s/%s was not classified: %s", o.Measure, o.Code, o.Reason)
			}
		}
	}
	for _, f := range funnels {
		if f.Measure == SyntheticMortality && f.Classified != 2 {
			t.Errorf("mortality funnel classified %d units, want 2", f.Classified)
		}
	}
	// Compute gives the same outcomes without the error.
	plain, _ := Compute(def, rows)
	if len(plain) != len(outcomes) {
		t.Errorf("Compute gave %d outcomes, ComputeChecked %d", len(plain), len(outcomes))
	}
	if _, _, err := ComputeChecked(def, rows[:1]); err != nil {
		t.Errorf("a computable funnel: %v", err)
	}
}

// A computation that overruns its time limit, or panics, fails the unit
// with an error instead of hanging the funnel.
func TestComputeCheckedTimeLimit(t *testing.T) {
	release := make(chan struct{})
	savedFunc, savedTimeout := limitsFunc, limitTimeout
	t.Cleanup(func() { close(release); limitsFunc, limitTimeout = savedFunc, savedTimeout })
	limitTimeout = 50 * time.Millisecond
	limitsFunc = func(m Measure, target, precision float64, d Dispersion) (Limits, error) {
		if precision == 40 {
			<-release // hangs until the test ends
		}
		if precision == 30 {
			panic("boom")
		}
		return UnitLimitsChecked(m, target, precision, d)
	}
	def := testDefinition()
	rows := []Row{
		hospitalRow("H1", SyntheticMortality, 400, 40, floatPtr(40)),
		hospitalRow("H2", SyntheticMortality, 300, 28, floatPtr(30)),
		hospitalRow("H3", SyntheticMortality, 500, 50, floatPtr(50)),
	}
	start := time.Now()
	_, funnels, err := ComputeChecked(def, rows)
	if time.Since(start) > 2*time.Second {
		t.Errorf("ComputeChecked took %v", time.Since(start))
	}
	if !errors.Is(err, ErrLimitTimeout) || !strings.Contains(err.Error(), "unit H1: the funnel limits at precision 40") {
		t.Errorf("err = %v, want a time-out naming H1", err)
	}
	if err == nil || !strings.Contains(err.Error(), "unit H2") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v, want the panic of H2", err)
	}
	if len(funnels) != 1 || funnels[0].Classified != 1 {
		t.Errorf("funnels %+v, want H3 alone classified", funnels)
	}
}

// The exact methods at national volumes: the limits are finite, on the
// right side of the target, and returned promptly.
func TestUnitLimitsAtHospitalVolumes(t *testing.T) {
	for _, c := range []struct {
		m                 Measure
		target, precision float64
	}{
		{Measure{Statistic: Ratio, Limits: LimitExactPoisson}, 1, 800},
		{Measure{Statistic: Ratio, Limits: LimitExactPoisson}, 1, 1e6},
		{Measure{Statistic: Ratio, Limits: LimitChiSquare}, 1, 1e6},
		{Measure{Statistic: Proportion, Limits: LimitExactBinomial}, 0.1, 8000},
		{Measure{Statistic: Proportion, Limits: LimitExactBinomial}, 0.1, 1e7},
	} {
		start := time.Now()
		l, err := UnitLimitsChecked(c.m, c.target, c.precision, Dispersion{})
		if err != nil {
			t.Errorf("%s at %v: %v", c.m.Limits, c.precision, err)
			continue
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s at %v took %v", c.m.Limits, c.precision, time.Since(start))
		}
		if !(l.Lower998 < l.Lower95 && l.Lower95 < c.target && c.target < l.Upper95 && l.Upper95 < l.Upper998) {
			t.Errorf("%s at %v: limits %+v around %v", c.m.Limits, c.precision, l, c.target)
		}
	}
	// The case: exact binomial at 8,000 cases around 10% (R:
	// 0.106559238732181).
	l := UnitLimits(Measure{Statistic: Proportion, Limits: LimitExactBinomial}, 0.1, 8000, Dispersion{})
	if math.Abs(l.Upper95-0.106559238732181) > 1e-9 {
		t.Errorf("upper 95%% at n = 8000: %v", l.Upper95)
	}
}
