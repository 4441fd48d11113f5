package disclosure

import (
	"slices"
	"strings"
	"testing"
)

// TV-17.
func TestNHSNumberTV17(t *testing.T) {
	tests := []struct {
		number    string
		checksum  bool // passes Modulus 11
		nhsNumber bool // treated as an NHS number (policy applied)
		comment   string
	}{
		{"9434765919", true, true, "S = 299, check digit 9"},
		{"9434765910", false, false, "last digit 0, want 9"},
		{"4010232137", true, true, "S = 92, check digit 7"},
		{"6541003238", true, true, ""},
		{"6716689966", true, true, ""},
		{"9991234560", false, false, "S = 320, check digit would be 10: never valid (docs.rs syntax example)"},
		{"0000000000", true, false, "checksum-valid, rejected by policy"},
		{"1111111111", true, false, "checksum-valid, rejected by policy"},
		{"943476591", false, false, "nine digits"},
		{"94347659190", false, false, "eleven digits"},
		{"943476591x", false, false, "not a digit"},
	}
	for d := '0'; d <= '9'; d++ {
		tests = append(tests, struct {
			number              string
			checksum, nhsNumber bool
			comment             string
		}{"943476596" + string(d), false, false, "S = 309, check digit would be 10"})
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			if got := NHSNumberValid(tt.number); got != tt.checksum {
				t.Errorf("NHSNumberValid(%s) = %v, want %v (%s)", tt.number, got, tt.checksum, tt.comment)
			}
			if got := IsNHSNumber(tt.number); got != tt.nhsNumber {
				t.Errorf("IsNHSNumber(%s) = %v, want %v (%s)", tt.number, got, tt.nhsNumber, tt.comment)
			}
		})
	}
}

func TestNHSTokens(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"9434765919", []string{"9434765919"}},
		{"NHS no 943 476 5919.", []string{"943 476 5919"}},
		{"nhs:943-476-5919", []string{"943-476-5919"}},
		{"ref 94347659190 is longer", nil},
		{"x9434765919y", []string{"9434765919"}},
		{"9434765919 4010232137", []string{"9434765919", "4010232137"}},
		{"943  476 5919", nil}, // two spaces: not the displayed form
		{"0161 496 0000", nil},
		{"123", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, tok := range nhsTokens(tt.text) {
			got = append(got, tok.text)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("nhsTokens(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestPostcodes(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"M1 1AA", []string{"M1 1AA"}},
		{"M60 1NW", []string{"M60 1NW"}},
		{"CR2 6XH", []string{"CR2 6XH"}},
		{"DN55 1PT", []string{"DN55 1PT"}},
		{"W1A 1HQ", []string{"W1A 1HQ"}},
		{"EC1A 1BB", []string{"EC1A 1BB"}},
		{"GIR 0AA", []string{"GIR 0AA"}},
		{"lives at ls1 4ab, Leeds", []string{"ls1 4ab"}},
		{"LS14AB", []string{"LS14AB"}},
		{"M1  1AA", []string{"M1  1AA"}}, // HES 8-character form
		{"ZZ99 3CZ", nil},                // NHS pseudo-postcode: not an address
		{"ZZ99 3VZ", nil},
		{"QA1 1AA", nil},  // Q never first
		{"AI1 1AA", nil},  // I never second
		{"W1I 1AA", nil},  // I not a third letter of ANA
		{"EC1C 1BB", nil}, // C not a fourth letter of AANA
		{"M1 1CA", nil},   // C never in the inward code
		{"LS1", nil},      // outward code only
	}
	for _, tt := range tests {
		if got := Postcodes(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Postcodes(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

const notesSchema = `{
  "fields": [
    {"name": "Org Code", "candour:role": "key"},
    {"name": "Admissions", "type": "integer", "candour:countOfIndividuals": true},
    {"name": "Reference", "type": "integer", "candour:notACount": "a reference number"},
    {"name": "Comments", "candour:role": "note"}
  ],
  "candour:disclosure": {"rule": "nhs-digital"}
}`

func TestNHSNumberInFreeText(t *testing.T) {
	csv := "Org Code,Admissions,Reference,Comments\n" +
		"RX1,120,1234567890,No issues this quarter; invoice 1234567890 paid\n" +
		"RX2,45,2345678901,Delayed discharge for patient NHS no 943 476 5919 escalated\n" +
		"RX3,60,3456789012,Contact 4010232137 about the audit\n" +
		"RX4,75,4567890123,Ticket 2345678901 closed\n"
	f := parseFile(t, "notes.csv", notesSchema, csv)
	res := mustCheck(t, Input{Files: []File{f}})
	if !res.Blocked {
		t.Fatal("a release with an NHS number in free text must be blocked")
	}
	got := findings(res, KindNHSNumber)
	if len(got) != 1 {
		t.Fatalf("NHS-number findings: got %+v, want exactly one (row 3, column 4)", got)
	}
	fd := got[0]
	if !fd.Blocking || fd.File != "notes.csv" || fd.Row != 3 || fd.Column != 4 || fd.Field != "Comments" || !strings.Contains(fd.Value, "943 476 5919") {
		t.Errorf("finding: got %+v", fd)
	}
	if !strings.Contains(fd.Message, "Row 3") || !strings.Contains(fd.Message, "column 4") {
		t.Errorf("message does not name row and column: %q", fd.Message)
	}
	// 4010232137 passes Modulus 11 but its cell says nothing of NHS and the
	// column is not mostly NHS numbers: chance, not evidence.
	// The Comments column is free text, listed for reviewers.
	ft := findings(res, KindFreeText)
	if len(ft) != 1 || ft[0].Blocking || ft[0].Field != "Comments" {
		t.Errorf("free-text findings: got %+v", ft)
	}
}

func TestNHSNumberColumn(t *testing.T) {
	schema := `{"fields": [{"name": "Ref", "type": "string"}, {"name": "n", "type": "integer", "candour:notACount": "a sequence number"}]}`
	// Most tokens pass: a column of NHS numbers, even without the word.
	csv := "Ref,n\n9434765919,1\n4010232137,2\n6541003238,3\n1234567890,4\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "refs.csv", schema, csv)}})
	got := findings(res, KindNHSNumber)
	if len(got) != 3 || !res.Blocked {
		t.Fatalf("got %d NHS-number findings (blocked %v), want 3: %+v", len(got), res.Blocked, got)
	}
	for i, row := range []int{2, 3, 4} {
		if got[i].Row != row || got[i].Column != 1 {
			t.Errorf("finding %d: got row %d column %d, want row %d column 1", i, got[i].Row, got[i].Column, row)
		}
	}
	// Random ten-digit numbers (mostly failing) are not a finding; nor are
	// the policy rejects.
	csv = "Ref,n\n1234567890,1\n2345678901,2\n4010232137,3\n0000000000,4\n3456789012,5\n"
	res = mustCheck(t, Input{Files: []File{parseFile(t, "refs.csv", schema, csv)}})
	if got := findings(res, KindNHSNumber); len(got) != 0 || res.Blocked {
		t.Errorf("got %+v, want no findings", got)
	}
	// A column named as NHS numbers: any passing token counts.
	schema = `{"fields": [{"name": "NHS No", "type": "string"}, {"name": "n", "type": "integer", "candour:notACount": "a sequence number"}]}`
	csv = "NHS No,n\n1234567890,1\n2345678901,2\n4010232137,3\n"
	res = mustCheck(t, Input{Files: []File{parseFile(t, "refs.csv", schema, csv)}})
	if got := findings(res, KindNHSNumber); len(got) != 1 || got[0].Row != 4 {
		t.Errorf("named column: got %+v, want row 4", got)
	}
}

const personSchema = `{
  "fields": [
    {"name": "Patient", "candour:role": "direct-identifier"},
    {"name": "Date of birth", "type": "date"},
    {"name": "DOB text"},
    {"name": "Admitted", "type": "date"},
    {"name": "Home", "candour:role": "quasi-identifier"},
    {"name": "Sex", "candour:role": "quasi-identifier"}
  ],
  "candour:disclosure": {"rule": "none", "reason": "test", "k": 1}
}`

func TestPersonLevelIdentifiers(t *testing.T) {
	csv := "Patient,Date of birth,DOB text,Admitted,Home,Sex\n" +
		"Ann,1950-03-02,02/03/1950,2024-01-05,LS1 4AB,F\n" +
		",1961-07-19,,2024-02-01,ZZ99 3VZ,M\n" +
		",,unknown,,LS1,F\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "people.csv", personSchema, csv)}})
	if !res.Blocked {
		t.Fatal("want blocked")
	}
	type key struct {
		kind     string
		row, col int
		blocking bool
	}
	var got []key
	for _, f := range res.Report.Findings {
		if f.Kind == KindRuleNone {
			continue
		}
		got = append(got, key{f.Kind, f.Row, f.Column, f.Blocking})
	}
	want := []key{
		{KindDirectIdentifier, 2, 1, true},
		{KindDateOfBirth, 2, 2, true},
		{KindDateOfBirth, 2, 3, true},
		{KindPostcode, 2, 5, true},
		{KindDateOfBirth, 3, 2, true},
		{KindFullDate, 2, 4, false},
		{KindFullDate, 3, 4, false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\ngot  %v\nwant %v", got, want)
	}
	for _, f := range res.Report.Findings {
		if f.Kind == KindPostcode && f.Value != "LS1 4AB" {
			t.Errorf("postcode finding value: got %q", f.Value)
		}
	}
	// The same postcode in an aggregate file's code column is not a finding.
	agg := `{"fields": [{"name": "Site postcode", "candour:role": "key"}, {"name": "Beds", "type": "integer", "candour:notACount": "beds, not people"}]}`
	res = mustCheck(t, Input{Files: []File{parseFile(t, "sites.csv", agg, "Site postcode,Beds\nLS1 4AB,300\n")}})
	if len(res.Report.Findings) != 0 || res.Blocked {
		t.Errorf("aggregate postcodes: got %+v", res.Report.Findings)
	}
}
