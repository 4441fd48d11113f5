package disclosure

import (
	"strings"
	"testing"
)

// TV-22.
func TestMagnitudeRulesTV22(t *testing.T) {
	tests := []struct {
		contributions []float64
		nk175, nk285  bool
		p10           bool
	}{
		{[]float64{80, 10, 5, 5}, true, true, false}, // remainder 10 ≥ 8
		{[]float64{90, 8, 2}, true, true, true},      // remainder 2 < 9
		{[]float64{50, 45, 5}, false, true, false},   // remainder 5 = 5.0: strict "<"
		{[]float64{40, 30, 20, 10}, false, false, false},
		{[]float64{5, 45, 50}, false, true, false}, // order does not matter
		{[]float64{}, false, false, false},
	}
	for _, tt := range tests {
		if got := Dominant(tt.contributions, 1, 75); got != tt.nk175 {
			t.Errorf("(1,75) %v: got %v, want %v", tt.contributions, got, tt.nk175)
		}
		if got := Dominant(tt.contributions, 2, 85); got != tt.nk285 {
			t.Errorf("(2,85) %v: got %v, want %v", tt.contributions, got, tt.nk285)
		}
		if got := PPercentSensitive(tt.contributions, 10); got != tt.p10 {
			t.Errorf("p%% 10 %v: got %v, want %v", tt.contributions, got, tt.p10)
		}
	}
}

const costSchema = `{
  "fields": [
    {"name": "Provider", "candour:role": "key"},
    {"name": "Region", "candour:role": "dimension"},
    {"name": "Specialty", "candour:role": "dimension", "candour:totalValues": ["All"]},
    {"name": "Cost", "type": "number", "candour:role": "measure", "candour:magnitude": true}
  ],
  "candour:disclosure": {"rule": "none", "reason": "costs of public bodies", "dominance": {"n": 1, "k": 75}, "pPercent": 10}
}`

func TestMagnitudeTable(t *testing.T) {
	csv := "Provider,Region,Specialty,Cost\n" +
		"RX1,North,Cardiology,80.50\nRX2,North,Cardiology,10.25\nRX3,North,Cardiology,5\nRX4,North,Cardiology,5\n" +
		"RX1,North,Urology,40\nRX2,North,Urology,30\nRX3,North,Urology,20\nRX4,North,Urology,10\n" +
		"RX1,North,All,120.50\nRX2,North,All,40.25\nRX3,North,All,25\nRX4,North,All,15\n" +
		"RY1,South,Cardiology,40\nRY2,South,Cardiology,30\nRY3,South,Cardiology,30\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "costs.csv", costSchema, csv)}})
	if res.Blocked {
		t.Fatalf("blocked: %+v", res.Report.Findings)
	}
	// Cardiology in the North is dominated by RX1 (80.50 of 100.75):
	// suppressed; the North total would give it away, so Urology goes too.
	want := "Region,Specialty,Cost\n" +
		"North,Cardiology,*\n" +
		"North,Urology,*\n" +
		"North,All,200.75\n" +
		"South,Cardiology,100\n"
	if got := publicText(res.Public[0]); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	fr := res.Report.Files[0]
	if fr.Magnitude == nil || fr.Magnitude.SensitiveDominance != 1 || fr.Magnitude.Contributions != 15 || fr.Magnitude.Cells != 4 {
		t.Errorf("magnitude report: %+v", fr.Magnitude)
	}
	if strings.Join(fr.DroppedColumns, ",") != "Provider" {
		t.Errorf("dropped: %v", fr.DroppedColumns)
	}
	if fr.Cells.SuppressedPrimary != 1 || fr.Cells.SuppressedSecondary != 1 {
		t.Errorf("counts: %+v", fr.Cells)
	}
	// The public table reads back against its schema.
	back := reparse(t, res.Public[0])
	if len(back.Rows) != 4 || strings.Join(back.Resource.Schema.PrimaryKey, ",") != "Region,Specialty" {
		t.Errorf("public table: %d rows, key %v", len(back.Rows), back.Resource.Schema.PrimaryKey)
	}
	if !strings.Contains(res.Report.Summary.Sentence(), "(1,75) dominance rule") {
		t.Errorf("summary: %s", res.Report.Summary.Sentence())
	}
}

func TestMagnitudeFileWithCounts(t *testing.T) {
	schema := strings.Replace(costSchema, `{"name": "Provider", "candour:role": "key"},`,
		`{"name": "Provider", "candour:role": "key"}, {"name": "Patients", "type": "integer", "candour:countOfIndividuals": true},`, 1)
	_, err := Check(Input{Files: []File{parseFile(t, "costs.csv", schema, "Provider,Patients,Region,Specialty,Cost\nRX1,3,North,All,1\n")}})
	if err == nil || !strings.Contains(err.Error(), `"Patients"`) {
		t.Errorf("got %v", err)
	}
	// Magnitudes without a dominance or p% rule: aggregated, and reported.
	schema = `{"fields": [{"name": "Region", "candour:role": "dimension"}, {"name": "Cost", "type": "integer", "candour:magnitude": true}]}`
	res := mustCheck(t, Input{Files: []File{parseFile(t, "c.csv", schema, "Region,Cost\nNorth,5\nNorth,7\nSouth,1\n")}})
	if got := publicText(res.Public[0]); got != "Region,Cost\nNorth,12\nSouth,1\n" {
		t.Errorf("got\n%s", got)
	}
	if f := findings(res, KindMagnitude); len(f) != 1 || f[0].Blocking {
		t.Errorf("findings: %+v", res.Report.Findings)
	}
}
