package disclosure

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestWriteCSVGolden(t *testing.T) {
	tests := []struct {
		golden string
		file   File
	}{
		{"tv19-threshold.golden", parseFile(t, "table1.csv", tv19Schema(`{"rule": "threshold", "threshold": 4}`),
			"Treatment,0-30,Over 30,Total\nA,10,1,11\nB,13,111,124\nC,15,17,32\nTotal,38,129,167\n")},
		{"tv18-nhs-digital.golden", parseFile(t, "tv18.csv", tv18Schema,
			"Area,Patients,Mean age,Standardised rate,Providers\nEngland,7,52.1,1.02,3\nNorth,7,48.3,0.97,1\nSouth,8,61.2,1.10,2\n"+
				"East,0,,0,0\nWest,1234,\"55.5\",0.99,4\n")},
		{"notes-quoting.golden", parseFile(t, "notes.csv", notesSchema,
			"Org Code,Admissions,Reference,Comments\nRX1,3,1,\"Ward 3, \"\"east\"\"\"\nRX2,13,2, leading space\n")},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			res := mustCheck(t, Input{Files: []File{tt.file}})
			var buf bytes.Buffer
			if err := res.Public[0].WriteCSV(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("WriteCSV:\ngot\n%s\nwant\n%s", buf.Bytes(), want)
			}
			// What was written validates against the public schema.
			if _, err := datasets.Validate(bytes.NewReader(buf.Bytes()), tt.golden, res.Public[0].Resource, 0); err != nil {
				t.Errorf("public file does not validate against its schema: %v", err)
			}
		})
	}
}

func TestWriteCSVError(t *testing.T) {
	p := PublicFile{Name: "bad.csv", Header: []string{"a", "b"}, Rows: [][]string{{"1"}}}
	if err := p.WriteCSV(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "bad.csv") {
		t.Errorf("got %v", err)
	}
}

// The public summary counts; it never names a suppressed cell or gives
// its value, nor the values of cells suppressed to protect it.
func TestPublicSummaryDisclosesNothing(t *testing.T) {
	schema := `{"fields": [
		{"name": "Provider", "candour:role": "key", "candour:totalValues": ["Total"]},
		{"name": "Terminations", "type": "integer", "candour:countOfIndividuals": true}],
		"candour:disclosure": {"rule": "threshold", "threshold": 9}}`
	csv := "Provider,Terminations\nRXQ77,6\nRYB21,243\nRZC08,318\nTotal,567\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "terminations.csv", schema, csv)}})
	if res.Blocked {
		t.Fatalf("blocked: %+v", res.Report.Findings)
	}
	pub := publicText(res.Public[0])
	if strings.Contains(pub, "6\n") || strings.Contains(pub, "243") {
		t.Fatalf("public file discloses:\n%s", pub)
	}
	js, err := json.Marshal(res.Report.Summary)
	if err != nil {
		t.Fatal(err)
	}
	sentence := res.Report.Summary.Sentence()
	for _, text := range []string{string(js), sentence} {
		for _, secret := range []string{"6", "243"} {
			if containsNumber(text, secret) {
				t.Errorf("summary contains %s: %s", secret, text)
			}
		}
		for _, secret := range []string{"RXQ77", "RYB21"} {
			if strings.Contains(text, secret) {
				t.Errorf("summary names %s: %s", secret, text)
			}
		}
	}
	want := "terminations.csv was checked under the threshold rule: counts from 1 to 9 are suppressed, and further cells are suppressed where totals would let a suppressed count be worked out: of 4 controlled cells, 2 were suppressed (small numbers, and cells that would let them be worked out) and 2 were published unchanged."
	if sentence != want {
		t.Errorf("sentence:\ngot  %s\nwant %s", sentence, want)
	}
	// The private report does name the cell, for reviewers.
	if c := auditCell(t, res, "terminations.csv", 2, "Terminations"); !strings.Contains(c.Cell, "RXQ77") {
		t.Errorf("audit cell: %+v", c)
	}
}

// The real PROMs file (NHS Digital, 2018/19), which the source already
// suppressed in places. Declaring that Modelled Records is Improved + Same
// + Worse shows what the audit is for: under nhs-digital, rounding
// protects each cell on its own, but a rounded total less its rounded
// parts can pin a suppressed part to fewer than 3 values (blocked); under
// the threshold rule, secondary suppression protects every row.
func TestRealPROMs(t *testing.T) {
	path := filepath.Join("..", "..", "cmd", "candour", "demodata", "proms-hip-knee-2018-19.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("demo data not available: %v", err)
	}
	schema := `{"fields": [
		{"name": "Procedure", "candour:role": "dimension", "constraints": {"required": true}},
		{"name": "Organisation Type", "candour:role": "dimension", "candour:nationalValues": ["England"]},
		{"name": "Organisation Code", "candour:role": "key", "constraints": {"required": true}},
		{"name": "Organsation Name", "title": "Organisation Name"},
		{"name": "Measure", "candour:role": "dimension"},
		{"name": "Modelled Records", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true,
		 "candour:total": true, "candour:totalOf": ["Improved", "Same", "Worse"], "candour:suppressed": ["*"]},
		{"name": "Average Pre-Op Q Score", "type": "number", "candour:role": "measure", "candour:contributors": "Modelled Records", "candour:suppressed": ["*"]},
		{"name": "Average Post-Op Q Score", "type": "number", "candour:role": "measure", "candour:contributors": "Modelled Records", "candour:suppressed": ["*"]},
		{"name": "Health Gain", "type": "number", "candour:role": "measure", "candour:contributors": "Modelled Records", "candour:suppressed": ["*"]},
		{"name": "Improved", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]},
		{"name": "Same", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]},
		{"name": "Worse", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]},
		{"name": "Adjusted Post-Op Q Score", "type": "number", "candour:role": "measure", "candour:suppressed": ["*"]},
		{"name": "Adjusted Average Health Gain", "type": "number", "candour:role": "measure", "candour:suppressed": ["*"]},
		{"name": "Standard Deviation", "type": "number", "candour:role": "measure", "candour:suppressed": ["*"]}],
		"missingValues": ["", "-"],
		"candour:disclosure": {"rule": "nhs-digital"}}`
	var parsed File
	for _, variant := range []string{"nhs-digital", "threshold"} {
		js := schema
		if variant == "threshold" {
			js = strings.Replace(js, `{"rule": "nhs-digital"}`, `{"rule": "threshold", "threshold": 4}`, 1)
		}
		s, err := datasets.ParseSchema([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		// The variants type every cell alike, so the file is read once.
		if parsed.Rows == nil {
			parsed = readFile(t, "proms-hip-knee-2018-19.csv", datasets.Resource{Name: "proms", Dialect: datasets.DefaultDialect(), Schema: s}, bytes.NewReader(data))
		}
		f := parsed
		f.Resource.Schema = s
		out := mustCheck(t, Input{Files: []File{f}})
		fr := out.Report.Files[0]
		t.Logf("%s: cells %+v, national rows %d, %d relations, methods %v, blocked %v",
			variant, fr.Cells, fr.NationalRows, out.Report.Audit.Relations, out.Report.Audit.CellsByMethod, out.Blocked)
		if fr.NationalRows != 18 || fr.Cells.SuppressedPrimary == 0 || fr.Cells.SuppressedAtSource == 0 {
			t.Errorf("file report: %+v", fr)
		}
		if variant == "threshold" {
			// Secondary suppression protects every row; an independent
			// re-audit of the public file as published agrees.
			if out.Blocked || fr.Cells.SuppressedSecondary == 0 || fr.Cells.Rounded != 0 {
				t.Errorf("threshold: blocked %v, cells %+v", out.Blocked, fr.Cells)
			}
			back := reparse(t, out.Public[0])
			bs := back.Resource.Schema
			bs.Disclosure = &datasets.DisclosureRule{Rule: datasets.DisclosureNone, Reason: "re-audit"}
			back.Resource.Schema = bs
			if again := mustCheck(t, Input{Files: []File{back}}); again.Blocked {
				t.Errorf("re-audit fails: %d findings, first %+v", len(again.Report.Findings), again.Report.Findings[0])
			}
			continue
		}
		if fr.Cells.Rounded == 0 {
			t.Errorf("nothing rounded: %+v", fr.Cells)
		}
		// England rows are unchanged.
		for i, row := range out.Public[0].Rows {
			if row[1] == "England" && strings.Join(row, ",") != strings.Join(f.Rows[i].Cells, ",") {
				t.Errorf("national row %d changed: %v", f.Rows[i].Record, row)
				break
			}
		}
		if _, err := datasets.Validate(bytes.NewReader(mustCSV(t, out.Public[0])), "proms", out.Public[0].Resource, 1); err != nil {
			t.Errorf("public PROMs does not validate: %v", err)
		}
		rec := findings(out, KindRecoverable)
		// Row 484 (Stockport, total knee, Oxford score): 259 → 260, 252 →
		// 250, 0, 7 → *: Worse = 258..262 − 248..252 − 0 ∈ [6, 7].
		found := false
		for _, fd := range rec {
			if fd.Row == 484 && fd.Column == 12 && strings.Contains(fd.Message, "between 6 and 7") {
				found = true
			}
		}
		if !out.Blocked || !found {
			t.Errorf("with relations: blocked %v, row 484 found %v; %d recoverable", out.Blocked, found, len(rec))
		}
	}
}

func mustCSV(t *testing.T, p PublicFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := p.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
