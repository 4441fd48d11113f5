package disclosure

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

// streamed gives the file to Check as a streamed file: its rows through a
// Scan, then dropped.
func streamed(t *testing.T, f File) File {
	t.Helper()
	sc, err := NewScan(f.Name, f.Resource, f.Header)
	if err != nil {
		t.Fatalf("NewScan(%s): %v", f.Name, err)
	}
	for _, row := range f.Rows {
		sc.Add(row)
	}
	if sc.Rows() != len(f.Rows) {
		t.Fatalf("Scan counted %d rows, want %d", sc.Rows(), len(f.Rows))
	}
	f.Rows, f.Scan = nil, sc
	return f
}

const streamCountsSchema = `{
  "fields": [
    {"name": "Org Code", "candour:role": "key", "candour:nationalValues": ["ENG"]},
    {"name": "Sex", "candour:role": "dimension"},
    {"name": "Admissions", "type": "integer", "candour:countOfIndividuals": true},
    {"name": "Beds", "type": "number", "candour:role": "measure"},
    {"name": "Comments", "candour:role": "note"},
    {"name": "Contact", "type": "string"}
  ],
  "missingValues": ["", ":"],
  "candour:disclosure": {"rule": "none", "reason": "admissions are published in full by agreement"}
}`

const streamPlainSchema = `{
  "fields": [
    {"name": "Site", "candour:role": "key"},
    {"name": "NHS No", "type": "string"},
    {"name": "Date of birth", "type": "date"},
    {"name": "Score", "type": "number"}
  ]
}`

// TestStreamedCheckMatchesRows: a release checked as it is read gives the
// same findings (with the same key values in the messages), file reports,
// summary and public schema as the same files checked from their rows.
func TestStreamedCheckMatchesRows(t *testing.T) {
	var long strings.Builder
	long.WriteString("Site,NHS No,Date of birth,Score\n")
	for i := range 30 {
		fmt.Fprintf(&long, "S%02d,%s,1950-01-%02d,%d.5\n", i, []string{"9434765919", "4010232137", "6541003238"}[i%3], i%28+1, i)
	}
	var postcodes strings.Builder
	postcodes.WriteString("Org Code,Sex,Admissions,Beds,Comments,Contact\n")
	for i := range 25 {
		fmt.Fprintf(&postcodes, "R%02d,F,%d,%d,Seen at LS1 4AB on the ward,call 943 476 5919\n", i, i, i)
	}
	cases := []struct {
		name    string
		files   []File
		wantCap bool // a column has more findings of a kind than are listed
	}{
		{"counts under rule none: a negative count, national row, missing values, free text with an NHS number", []File{
			parseFile(t, "admissions.csv", streamCountsSchema, "Org Code,Sex,Admissions,Beds,Comments,Contact\n"+
				"RX1,F,120,10.5,No issues this quarter,01234 567890\n"+
				"RX1,M,-3,:,,\n"+
				"RX2,F,4,2,Delayed discharge for patient NHS no 943 476 5919 escalated,LS1 4AB\n"+
				"RX2,M,:,3,The patient at 12 Park Row LS1 4AB was seen twice and discharged home again safely,\n"+
				"ENG,F,124,12.5,,\n"),
		}, false},
		{"no rule and no counts: NHS numbers, dates of birth, over the cap", []File{
			parseFile(t, "sites.csv", streamPlainSchema, long.String()),
		}, true},
		{"postcodes in free text over the cap, two files", []File{
			parseFile(t, "notes.csv", streamCountsSchema, postcodes.String()),
			parseFile(t, "sites.csv", streamPlainSchema, "Site,NHS No,Date of birth,Score\nA,,,1\n"),
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fromRows := mustCheck(t, Input{Files: tc.files})
			var in Input
			for _, f := range tc.files {
				in.Files = append(in.Files, streamed(t, f))
			}
			fromScan := mustCheck(t, in)
			capped := slices.ContainsFunc(fromRows.Report.Findings, func(f Finding) bool { return strings.Contains(f.Message, "more cells like") })
			if len(fromRows.Report.Findings) == 0 || capped != tc.wantCap {
				t.Fatalf("the case does not test what it says (capped %v): %+v", capped, fromRows.Report.Findings)
			}
			same := func(what string, a, b any) {
				t.Helper()
				ja, _ := json.MarshalIndent(a, "", " ")
				jb, _ := json.MarshalIndent(b, "", " ")
				if string(ja) != string(jb) {
					t.Errorf("%s differ:\nfrom rows %s\nstreamed  %s", what, ja, jb)
				}
			}
			same("findings", fromRows.Report.Findings, fromScan.Report.Findings)
			same("file reports", fromRows.Report.Files, fromScan.Report.Files)
			same("summaries", fromRows.Report.Summary, fromScan.Report.Summary)
			if fromRows.Blocked != fromScan.Blocked {
				t.Errorf("blocked: from rows %v, streamed %v", fromRows.Blocked, fromScan.Blocked)
			}
			for i, p := range fromScan.Public {
				want := fromRows.Public[i]
				if !p.Unchanged || p.Rows != nil || !reflect.DeepEqual(p.Resource, want.Resource) || !reflect.DeepEqual(p.Header, want.Header) {
					t.Errorf("public file %s: got %+v, want the rows' resource and header, Unchanged and no rows", p.Name, p)
				}
				if got := publicText(want); got != publicText(PublicFile{Header: want.Header, Rows: cellsOf(tc.files[i])}) {
					t.Errorf("public file %s from rows is not the original: the streamed file's Unchanged would be wrong:\n%s", p.Name, got)
				}
			}
			if a := fromScan.Report.Audit; !a.Passed || !a.Streamed || len(a.Cells) != 0 || len(a.Notes) != 1 {
				t.Errorf("streamed audit report: %+v", a)
			}
		})
	}
}

func cellsOf(f File) [][]string {
	var out [][]string
	for _, r := range f.Rows {
		out = append(out, r.Cells)
	}
	return out
}

// TestStreamedFindingsNameKeys: a streamed file's findings give the row's
// key values, as from rows.
func TestStreamedFindingsNameKeys(t *testing.T) {
	f := parseFile(t, "admissions.csv", streamCountsSchema, "Org Code,Sex,Admissions,Beds,Comments,Contact\nRX1,F,-2,1,,\n")
	res := mustCheck(t, Input{Files: []File{streamed(t, f)}})
	neg := findings(res, KindNegativeCount)
	if len(neg) != 1 || neg[0].Key != "RX1, F" || !strings.Contains(neg[0].Message, "Row 2 (RX1, F)") || !res.Blocked {
		t.Errorf("negative count: got %+v (blocked %v)", neg, res.Blocked)
	}
}

// TestStreamedCheckFailsSafe: whatever the audit would have to protect
// makes Check refuse the streamed files, so the caller reads the rows.
func TestStreamedCheckFailsSafe(t *testing.T) {
	ok := parseFile(t, "sites.csv", streamPlainSchema, "Site,NHS No,Date of birth,Score\nA,,,1\n")
	suppressed := parseFile(t, "admissions.csv", `{"fields": [{"name": "Org", "candour:role": "key"}, {"name": "n", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}],
		"candour:disclosure": {"rule": "none", "reason": "test"}}`, "Org,n\nA,*\nB,4\n")
	earlier := Earlier{Version: 1, Files: []File{ok}}
	for _, tc := range []struct {
		name string
		in   Input
	}{
		{"a cell suppressed at source", Input{Files: []File{streamed(t, suppressed)}}},
		{"one file with rows, one without", Input{Files: []File{streamed(t, ok), suppressed}}},
		{"earlier releases given", Input{Files: []File{streamed(t, ok)}, Earlier: []Earlier{earlier}}},
	} {
		if _, err := Check(tc.in); !errors.Is(err, errStreamed) {
			t.Errorf("%s: got %v, want a refusal that needs the rows", tc.name, err)
		}
	}
	for _, schema := range []string{
		`{"fields": [{"name": "n", "type": "integer", "candour:countOfIndividuals": true}], "candour:disclosure": {"rule": "nhs-digital"}}`,
		`{"fields": [{"name": "n", "type": "integer", "candour:countOfIndividuals": true}], "candour:disclosure": {"rule": "threshold", "threshold": 5}}`,
		`{"fields": [{"name": "Sex", "candour:role": "quasi-identifier"}], "candour:disclosure": {"rule": "none", "reason": "x"}}`,
		`{"fields": [{"name": "Practice", "candour:role": "key", "candour:parent": {"field": "ICB", "directory": "icb"}}, {"name": "x", "type": "number"}]}`,
	} {
		s, err := datasets.ParseSchema([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		if Streamable(s) {
			t.Errorf("Streamable(%s) = true", schema)
		}
		if _, err := NewScan("x.csv", datasets.Resource{Path: "x.csv", Schema: s}, nil); err == nil {
			t.Errorf("NewScan(%s) accepted it", schema)
		}
	}
	// A declaration error is the same either way.
	undeclared := parseFile(t, "n.csv", `{"fields": [{"name": "Org", "candour:role": "key"}, {"name": "n", "type": "integer", "candour:countOfIndividuals": true}]}`, "Org,n\nA,4\n")
	_, fromRows := Check(Input{Files: []File{undeclared}})
	_, fromScan := Check(Input{Files: []File{streamed(t, undeclared)}})
	if fromRows == nil || fromScan == nil || fromRows.Error() != fromScan.Error() {
		t.Errorf("a count with no rule: from rows %v, streamed %v; want the same error", fromRows, fromScan)
	}
	if !Streamable(ok.Resource.Schema, suppressed.Resource.Schema) {
		t.Error("rule none and no rule: want streamable")
	}
}
