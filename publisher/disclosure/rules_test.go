package disclosure

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TV-18.
func TestNHSDigitalTV18(t *testing.T) {
	tests := []struct {
		in   float64
		want string
		tr   treatment
	}{
		{0, "0", tUnchanged},
		{1, "*", tPrimary}, {5, "*", tPrimary}, {7, "*", tPrimary},
		{8, "10", tRounded}, {9, "10", tRounded}, {12, "10", tRounded},
		{13, "15", tRounded}, {17, "15", tRounded},
		{18, "20", tRounded}, {22, "20", tRounded},
		{23, "25", tRounded}, {24, "25", tRounded},
		{1234, "1235", tRounded}, {1237, "1235", tRounded}, {1238, "1240", tRounded},
		// Either side of the texts made once (multiples of 5 below 20,480).
		{20474, "20475", tRounded}, {20478, "20480", tRounded}, {1e9 + 3, "1000000005", tRounded}, {4e20, "400000000000000000000", tRounded},
		// Half-patients: whole individuals first, halves up; a positive
		// value below a half is still someone.
		{0.5, "*", tPrimary}, {0.2, "*", tPrimary}, {7.4, "*", tPrimary},
		{7.5, "10", tRounded}, {12.5, "15", tRounded}, {22.5, "25", tRounded},
	}
	for _, tt := range tests {
		text := strconv.FormatFloat(tt.in, 'f', -1, 64)
		got, tr := nhsDigital(tt.in, text, "*")
		if got != tt.want || tr != tt.tr {
			t.Errorf("nhsDigital(%v) = %q (%d), want %q (%d)", tt.in, got, tr, tt.want, tt.tr)
		}
	}
}

const tv18Schema = `{
  "fields": [
    {"name": "Area", "candour:role": "key", "candour:nationalValues": ["England"]},
    {"name": "Patients", "type": "integer", "candour:countOfIndividuals": true},
    {"name": "Mean age", "type": "number", "candour:contributors": "Patients"},
    {"name": "Standardised rate", "type": "number"},
    {"name": "Providers", "type": "integer", "candour:notACount": "a count of providers, not of people"}
  ],
  "primaryKey": "Area",
  "candour:disclosure": {"rule": "nhs-digital"}
}`

func TestNHSDigitalRule(t *testing.T) {
	csv := "Area,Patients,Mean age,Standardised rate,Providers\n" +
		"England,7,52.1,1.02,3\n" + // national: no control
		"North,7,48.3,0.97,1\n" + // mean from 7: *
		"South,8,61.2,1.10,2\n" + // mean from 8: shown
		"East,0,,0,0\n" +
		"West,1234,55.5,0.99,4\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "tv18.csv", tv18Schema, csv)}})
	want := "Area,Patients,Mean age,Standardised rate,Providers\n" +
		"England,7,52.1,1.02,3\n" +
		"North,*,*,0.97,1\n" +
		"South,10,61.2,1.10,2\n" +
		"East,0,,0,0\n" +
		"West,1235,55.5,0.99,4\n"
	if got := publicText(res.Public[0]); got != want {
		t.Errorf("public file:\ngot\n%s\nwant\n%s", got, want)
	}
	if res.Blocked {
		t.Errorf("blocked: %+v", res.Report.Findings)
	}
	// The public schema declares the marker it did not have.
	pub := res.Public[0].Resource.Schema
	for _, name := range []string{"Patients", "Mean age"} {
		if f := pub.Fields[pub.FieldIndex(name)]; !slices.Equal(f.Suppressed, []string{"*"}) {
			t.Errorf("%s: public markers %q, want [*]", name, f.Suppressed)
		}
	}
	fr := res.Report.Files[0]
	if fr.NationalRows != 1 || !slices.Equal(fr.MarkerAdded, []string{"Patients", "Mean age"}) {
		t.Errorf("file report: %+v", fr)
	}
	wantCounts := CellCounts{Controlled: 10, SuppressedPrimary: 2, Rounded: 2, Unchanged: 5, Missing: 1}
	if fr.Cells != wantCounts {
		t.Errorf("counts: got %+v, want %+v", fr.Cells, wantCounts)
	}
	// The public file reads back against the public schema.
	back := reparse(t, res.Public[0])
	if len(back.Rows) != 5 {
		t.Errorf("public file reads back %d rows", len(back.Rows))
	}
}

func TestCountsNeedARule(t *testing.T) {
	schema := `{"fields": [{"name": "Area", "candour:role": "key"}, {"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true}]}`
	_, err := Check(Input{Files: []File{parseFile(t, "deaths.csv", schema, "Area,Deaths\nNorth,3\n")}})
	if err == nil || !strings.Contains(err.Error(), `"deaths.csv"`) || !strings.Contains(err.Error(), `"Deaths"`) {
		t.Errorf("got %v, want an error naming the file and the field", err)
	}
	f := parseFile(t, "ok.csv", `{"fields": [{"name": "a"}]}`, "a\nx\n")
	f.Rows[0].Values = nil
	if _, err := Check(Input{Files: []File{f}}); err == nil || !strings.Contains(err.Error(), `"ok.csv"`) {
		t.Errorf("ragged row: got %v", err)
	}
}

func TestRuleNone(t *testing.T) {
	schema := `{"fields": [{"name": "Org Code", "candour:role": "key"}, {"name": "Waiting", "type": "integer", "candour:countOfIndividuals": true}],
		"candour:disclosure": {"rule": "none", "reason": "provider-level operational statistics, published unsuppressed by NHS England"}}`
	csv := "Org Code,Waiting\nRX1,3\nRX2,0\nRX3,1234\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "wait.csv", schema, csv)}})
	if res.Blocked {
		t.Fatalf("rule none must pass: %+v", res.Report.Findings)
	}
	if got := publicText(res.Public[0]); got != strings.ReplaceAll(csv, "\n", "\n") {
		t.Errorf("public file changed:\n%s", got)
	}
	fr := res.Report.Files[0]
	if fr.Rule != "none" || !strings.HasPrefix(fr.Reason, "provider-level operational") || fr.Cells.Unchanged != 3 {
		t.Errorf("file report: %+v", fr)
	}
	rn := findings(res, KindRuleNone)
	if len(rn) != 1 || rn[0].Blocking || !strings.Contains(rn[0].Message, "published unsuppressed by NHS England") {
		t.Errorf("rule-none finding: %+v", rn)
	}
	if s := res.Report.Summary.Sentence(); !strings.Contains(s, "reason given: provider-level operational statistics") {
		t.Errorf("summary: %s", s)
	}
}

func TestThresholdRulePrimary(t *testing.T) {
	schema := `{"fields": [
		{"name": "Area", "candour:role": "key"},
		{"name": "Cases", "type": "number", "candour:countOfIndividuals": true, "candour:suppressed": ["c"]},
		{"name": "Mean stay", "type": "number", "candour:contributors": "Cases"}],
		"candour:disclosure": {"rule": "threshold", "threshold": 4}}`
	csv := "Area,Cases,Mean stay\nA,0,\nB,2.5,3.1\nC,4,2.0\nD,5,4.5\nE,120,3.3\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "t.csv", schema, csv)}})
	want := "Area,Cases,Mean stay\nA,0,\nB,c,*\nC,c,*\nD,5,4.5\nE,120,3.3\n"
	if got := publicText(res.Public[0]); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Primary-only markers disclose 1..4 (here 0.5..4 on a lattice of
	// halves): 8 possible values, enough.
	if res.Blocked {
		t.Errorf("blocked: %+v", res.Report.Findings)
	}
	c := auditCell(t, res, "t.csv", 3, "Cases")
	if c.Min != 0.5 || maxOf(c) != 4 || c.Values != 8 || c.Method != MethodMarker {
		t.Errorf("audit of B: %+v", c)
	}
}

// Half-patients under nhs-digital: the audit works on a lattice of halves.
func TestHalfPatientsAudit(t *testing.T) {
	schema := `{"fields": [
		{"name": "Org Code", "candour:role": "key", "candour:totalValues": ["Total"], "candour:nationalValues": ["Total"]},
		{"name": "Treated", "type": "number", "candour:countOfIndividuals": true}],
		"candour:disclosure": {"rule": "nhs-digital"}}`
	csv := "Org Code,Treated\nRX1,2.5\nRX2,40.5\nTotal,43\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "cwt.csv", schema, csv)}})
	if got, want := publicText(res.Public[0]), "Org Code,Treated\nRX1,*\nRX2,40\nTotal,43\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// RX2 published 40 means 37.5 ≤ x < 42.5; the national 43 is exact:
	// RX1 ∈ (0, 7.5) ∩ [0.5, 5.5] = 1 … 5.5 in halves, 10 values.
	c := auditCell(t, res, "cwt.csv", 2, "Treated")
	if res.Blocked || c.Min != 1 || maxOf(c) != 5.5 || c.Values != 10 || c.Method != MethodExact {
		t.Errorf("blocked %v, RX1 %+v", res.Blocked, c)
	}
}

// The rule is applied to a table of several of the chunks rows are
// worked on in (in parallel, each with cells of its own): every row gets
// its own published values, and a row's finding names that row.
func TestRuleAppliedAcrossChunks(t *testing.T) {
	const rows = 150_001 // three chunks, the last of one row
	const negativeRow = 140_000
	schema := `{"fields": [
	    {"name": "Area", "candour:role": "key"},
	    {"name": "Patients", "type": "integer", "candour:countOfIndividuals": true}],
	  "primaryKey": "Area", "candour:disclosure": {"rule": "nhs-digital"}}`
	patients := func(r int) int {
		if r == negativeRow {
			return -4
		}
		return (r * 7) % 41
	}
	var csv strings.Builder
	csv.WriteString("Area,Patients\n")
	for r := range rows {
		csv.WriteString("A" + strconv.Itoa(r) + "," + strconv.Itoa(patients(r)) + "\n")
	}
	res := mustCheck(t, Input{Files: []File{parseFile(t, "chunks.csv", schema, csv.String())}})
	public := res.Public[0].Rows
	if len(public) != rows {
		t.Fatalf("%d public rows, want %d", len(public), rows)
	}
	for r, row := range public {
		want := strconv.Itoa(patients(r))
		if r != negativeRow {
			want, _ = nhsDigital(float64(patients(r)), want, "*")
		}
		if row[0] != "A"+strconv.Itoa(r) || row[1] != want {
			t.Fatalf("public row %d is %v, want [A%d %s]", r, row, r, want)
		}
	}
	// The audit lists every suppressed cell once, in row order, with its
	// own row's key (the cells are named in parallel, in parts).
	var suppressedRows []int
	for r := range rows {
		if p := patients(r); p >= 1 && p <= 7 {
			suppressedRows = append(suppressedRows, r)
		}
	}
	audited := res.Report.Audit.Cells
	if len(audited) != len(suppressedRows) {
		t.Fatalf("%d cells audited, want the %d suppressed", len(audited), len(suppressedRows))
	}
	for i, c := range audited {
		r := suppressedRows[i]
		if c.Row != r+2 || c.Key != "A"+strconv.Itoa(r) || c.Published != "*" {
			t.Fatalf("audited cell %d is row %d (%s, %q), want row %d (A%d, \"*\")", i, c.Row, c.Key, c.Published, r+2, r)
		}
	}
	negative := findings(res, KindNegativeCount)
	if len(negative) != 1 || negative[0].Row != negativeRow+2 {
		t.Errorf("negative-count findings %+v, want one, on row %d of the file", negative, negativeRow+2)
	}
}
