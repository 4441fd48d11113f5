package audit

import (
	"slices"
	"strings"
	"testing"
)

func TestSyntheticAuditIsDeterministicAndShaped(t *testing.T) {
	a, b := GenerateSynthetic(7), GenerateSynthetic(7)
	if !slices.Equal(a.Planted, b.Planted) || a.Hospitals[3] != b.Hospitals[3] || a.Consultants[500] != b.Consultants[500] {
		t.Fatal("the same seed gave different audits")
	}
	if string(a.CSV()) != string(b.CSV()) {
		t.Fatal("the same seed gave different files")
	}
	if len(a.Hospitals) != 150 || len(a.Teams) != 400 || len(a.Consultants) != 900+nSecondPosts || len(a.Planted) != 5 {
		t.Fatalf("sizes: %d hospitals, %d teams, %d consultant appointments, %d planted", len(a.Hospitals), len(a.Teams), len(a.Consultants), len(a.Planted))
	}
	var cases []int
	hospitalsOf := map[string]map[string]bool{}
	for _, c := range a.Consultants {
		cases = append(cases, c.Cases)
		if !strings.HasPrefix(c.Code, "SYN-") || !strings.Contains(c.Name, "Synthetic") {
			t.Fatalf("consultant %+v is not labelled synthetic", c)
		}
		if hospitalsOf[c.Code] == nil {
			hospitalsOf[c.Code] = map[string]bool{}
		}
		hospitalsOf[c.Code][c.Hospital] = true
	}
	twoProviders := 0
	for _, hs := range hospitalsOf {
		if len(hs) == 2 {
			twoProviders++
		}
	}
	if twoProviders != nSecondPosts {
		t.Errorf("%d consultants work at two hospitals, want %d", twoProviders, nSecondPosts)
	}
	slices.Sort(cases)
	if median := cases[len(cases)/2]; median < 25 || median > 60 {
		t.Errorf("median cases per consultant %d, want about 40", median)
	}
	if cases[len(cases)-1] < 3*cases[len(cases)/2] {
		t.Errorf("no long tail: largest %d, median %d", cases[len(cases)-1], cases[len(cases)/2])
	}
	for _, h := range a.Hospitals {
		if slices.Contains(a.Planted, h.Code) && h.Cases != 200 {
			t.Errorf("planted %s has %d cases, want 200", h.Code, h.Cases)
		}
	}
	next := GenerateSyntheticPeriod(7, 1, "2025/26")
	if !slices.Equal(next.Planted, a.Planted) || next.Teams[10].Hospital != a.Teams[10].Hospital {
		t.Error("a later period changed the audit's structure")
	}
	if next.Consultants[0].Cases == a.Consultants[0].Cases && next.Consultants[1].Cases == a.Consultants[1].Cases && next.Consultants[2].Cases == a.Consultants[2].Cases {
		t.Error("a later period has the same volumes")
	}
	// Every row of the file passes the outcomes file checks.
	def := testDefinition()
	rows := checkCSV(t, def, a.CSV())
	if len(rows) != 2*(150+400+900+nSecondPosts) {
		t.Errorf("%d rows, want one per unit and measure", len(rows))
	}
}

// Over 20 seeds: the planted hospitals are found, the other units rarely
// reach alarm, and small units are never classified.
func TestSyntheticOutliersAreFound(t *testing.T) {
	def := testDefinition()
	found, falseAlarms, others := 0, 0, 0
	for seed := int64(1); seed <= 20; seed++ {
		s := GenerateSynthetic(seed)
		outcomes, _ := Compute(def, s.Rows())
		hits := 0
		for _, o := range outcomes {
			if o.Cases != nil && *o.Cases < def.MinCases && o.Status != NotClassified {
				t.Fatalf("seed %d: %s %s with %d cases was classified %q", seed, o.Level, o.Code, *o.Cases, o.Status)
			}
			if o.Measure != SyntheticMortality {
				continue
			}
			planted := slices.Contains(s.Planted, o.Provider) // the hospital, or a team or consultant in it
			if o.Level == Hospital && planted && o.Status == Alarm && o.High {
				hits++
			}
			if !planted && o.Status != NotClassified {
				others++
				if o.Status == Alarm {
					falseAlarms++
				}
			}
		}
		if hits >= 4 {
			found++
		}
	}
	if found < 18 {
		t.Errorf("at least four of the five planted hospitals reached alarm in %d of 20 seeds, want at least 18", found)
	}
	if float64(falseAlarms) > 0.01*float64(others) {
		t.Errorf("%d of %d other units reached alarm, want at most 1%%", falseAlarms, others)
	}
	t.Logf("planted found in %d of 20 seeds; %d alarms among %d other classified units", found, falseAlarms, others)
}
