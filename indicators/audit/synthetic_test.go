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
	if len(a.Hospitals) != 150 || len(a.Teams) != 400 || len(a.Consultants) != 900 || len(a.Planted) != 5 {
		t.Fatalf("sizes: %d hospitals, %d teams, %d consultants, %d planted", len(a.Hospitals), len(a.Teams), len(a.Consultants), len(a.Planted))
	}
	var cases []int
	for _, c := range a.Consultants {
		cases = append(cases, c.Cases)
		if !strings.HasPrefix(c.Code, "SYN-") || !strings.Contains(c.Name, "Synthetic") {
			t.Fatalf("consultant %+v is not labelled synthetic", c)
		}
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
}

// Over 20 seeds: the planted hospitals are found, the others rarely flagged,
// and small units never classified.
func TestSyntheticOutliersAreFound(t *testing.T) {
	const minCases = 20
	found, falseAlarms, others := 0, 0, 0
	for seed := int64(1); seed <= 20; seed++ {
		s := GenerateSynthetic(seed)
		hits := 0
		for _, o := range Classify(s.Hospitals, minCases) {
			planted := slices.Contains(s.Planted, o.Code)
			if planted && o.Level == "alarm" && o.High {
				hits++
			}
			if !planted {
				others++
				if o.Level == "alarm" {
					falseAlarms++
				}
			}
		}
		if hits >= 4 {
			found++
		}
		for _, o := range Classify(s.Consultants, minCases) {
			if o.Cases < minCases && (o.Level != "" || o.Reason == "") {
				t.Fatalf("seed %d: %s with %d cases was classified %q", seed, o.Code, o.Cases, o.Level)
			}
		}
	}
	if found < 18 {
		t.Errorf("at least four of the five planted hospitals reached alarm in %d of 20 seeds, want at least 18", found)
	}
	if float64(falseAlarms) > 0.01*float64(others) {
		t.Errorf("%d of %d other hospitals reached alarm, want at most 1%%", falseAlarms, others)
	}
	t.Logf("planted found in %d of 20 seeds; %d false alarms among %d other hospitals", found, falseAlarms, others)
}
