package disclosure

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TV-20.
func TestKAnonymityTV20(t *testing.T) {
	var keys [][]string
	for _, status := range []string{"single", "married", "married", "single", "widow"} {
		keys = append(keys, []string{"A", "5", status})
	}
	if got, want := ClassSizes(keys), []int{2, 2, 2, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("fk = %v, want %v", got, want)
	}
	if got := KAnonymityViolations(keys, 2); got != 1 {
		t.Errorf("violations of 2-anonymity = %d, want 1", got)
	}
	tests := []struct {
		tau, atRisk float64
	}{
		{0.2, 1.0},
		{0.5, 0.2}, // strict ">": the size-2 classes' risk 0.5 is not above 0.5
	}
	for _, tt := range tests {
		r := ProsecutorRisk(keys, tt.tau)
		if r.HighestRisk != 1.0 || r.SuccessRate != 0.6 || r.RecordsAtRisk != tt.atRisk {
			t.Errorf("tau %v: got %+v, want highest 1.0, success 0.6, at risk %v", tt.tau, r, tt.atRisk)
		}
	}
}

// TV-21.
func TestLDiversityTV21(t *testing.T) {
	keys := [][]string{
		{"F", missingKey, "other"}, {"F", missingKey, "other"}, {"F", missingKey, "other"},
		{"M", "teacher", "other"}, {"M", "teacher", "other"},
		{"F", "nurse", "majority"}, {"F", "nurse", "majority"},
	}
	sensitive := []string{"1", "0", "2", "1", "0", "0", "1"}
	if got, want := DistinctLPerRecord(keys, sensitive), []int{3, 3, 3, 2, 2, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("distinct l = %v, want %v", got, want)
	}
	class := []string{"A", "A", "B", "C"}
	if got := EntropyL(class); math.Abs(math.Log(got)-1.039721) > 5e-7 || math.Abs(got-2.828) > 5e-4 {
		t.Errorf("entropy l = %v (entropy %v), want 2.828 (1.039721)", got, math.Log(got))
	}
	if got := EntropyL(class); !(got >= 2 && got < 3) {
		t.Errorf("entropy l %v: satisfies 2, not 3", got)
	}
	if !RecursiveCL(class, 2, 2) {
		t.Error("recursive (2,2): 2 < 2·(1+1) should pass")
	}
	if RecursiveCL(class, 1, 2) {
		t.Error("recursive (1,2): 2 < 1·(1+1) should fail")
	}
	p := []float64{0.5, 0.5, 0}
	q := []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}
	if got := EMDEqual(p, q); math.Abs(got-1.0/3) > 1e-9 {
		t.Errorf("equal-distance EMD = %v, want 1/3", got)
	}
	if got := EMDOrdered(p, q); math.Abs(got-0.25) > 1e-9 {
		t.Errorf("ordered EMD = %v, want 1/4", got)
	}
}

const recordSchema = `{
  "fields": [
    {"name": "Sex", "candour:role": "quasi-identifier"},
    {"name": "Occupation", "candour:role": "quasi-identifier"},
    {"name": "Ethnicity", "candour:role": "quasi-identifier"},
    {"name": "Diagnosis", "candour:role": "sensitive"}
  ],
  "missingValues": ["", "NA"],
  "candour:disclosure": {"rule": "none", "reason": "record-level extract under agreement", "k": 3, "l": 3}
}`

func TestRecordLevelCheck(t *testing.T) {
	csv := "Sex,Occupation,Ethnicity,Diagnosis\n" +
		"F,NA,other,HIV\nF,NA,other,none\nF,NA,other,TB\n" +
		"M,teacher,other,HIV\nM,teacher,other,none\n" +
		"F,nurse,majority,none\nF,nurse,majority,HIV\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "extract.csv", recordSchema, csv)}})
	if !res.Blocked {
		t.Fatal("want blocked")
	}
	rl := res.Report.Files[0].RecordLevel
	if rl == nil {
		t.Fatal("no record-level report")
	}
	if rl.Records != 7 || rl.Classes != 3 || rl.SmallestClass != 2 || rl.RecordsAtRisk != 4 || rl.HighestRisk != 0.5 || math.Abs(rl.SuccessRate-3.0/7) > 1e-12 {
		t.Errorf("report: %+v", rl)
	}
	if len(rl.KViolations) != 2 || !slices.Equal(rl.KViolations[0].Values, []string{"M", "teacher", "other"}) || !slices.Equal(rl.KViolations[0].Rows, []int{5, 6}) {
		t.Errorf("k violations: %+v", rl.KViolations)
	}
	if len(rl.LViolations) != 2 || rl.LViolations[0].Distinct != 2 {
		t.Errorf("l violations: %+v", rl.LViolations)
	}
	k, l := findings(res, KindKAnonymity), findings(res, KindLDiversity)
	if len(k) != 1 || !k[0].Blocking || len(l) != 1 || !l[0].Blocking {
		t.Fatalf("findings: %+v", res.Report.Findings)
	}
	// Classes are listed by their quasi-identifiers; sensitive values never.
	if !strings.Contains(k[0].Message, "(M, teacher, other) ×2") {
		t.Errorf("k message: %s", k[0].Message)
	}
	for _, f := range append(k, l...) {
		if strings.Contains(f.Message, "HIV") || strings.Contains(f.Message, "TB") {
			t.Errorf("finding discloses a sensitive value: %s", f.Message)
		}
	}
	// Missing values form their own group: the NA class has 3 records.
	for _, v := range rl.KViolations {
		if slices.Contains(v.Values, "(missing)") {
			t.Errorf("the NA class (3 records) is not below k = 3: %+v", v)
		}
	}
}
