package disclosure

import (
	"fmt"
	"strings"
	"testing"
)

// The fail-safe defaults, each checked on the smallest table that shows
// the leak it closes.

const practiceSchema = `{"fields": [
  {"name": "practice", "candour:role": "key"%s},
  {"name": "patients", "type": "integer", "candour:role": "measure"}
 ], "primaryKey": "practice", "candour:disclosure": %s}`

func schemaOf(extra, rule string) string {
	return strings.NewReplacer("%s", "").Replace(strings.Replace(strings.Replace(practiceSchema, "%s", extra, 1), "%s", rule, 1))
}

const threshold5 = `{"rule": "threshold", "threshold": 5}`

func TestUndeclaredCountIsAudited(t *testing.T) {
	f := parseFile(t, "list.csv", schemaOf("", `{"rule": "nhs-digital"}`), "practice,patients\nA81001,3\nA81002,122\nA81003,47\n")
	res := mustCheck(t, Input{Files: []File{f}})
	if got, want := publicText(res.Public[0]), "practice,patients\nA81001,*\nA81002,120\nA81003,45\n"; got != want {
		t.Errorf("public file:\n%s\nwant\n%s", got, want)
	}
	fs := findings(res, KindDefaultCount)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "patients (column 2)") || fs[0].Blocking {
		t.Errorf("undeclared-count findings: %+v", fs)
	}
	// Declaring it not a count publishes it unchanged, with the reason for
	// the reviewers.
	f = parseFile(t, "list.csv", `{"fields": [{"name": "practice", "candour:role": "key"},
	  {"name": "patients", "type": "integer", "candour:notACount": "the number of sites, not of people"}],
	  "candour:disclosure": {"rule": "nhs-digital"}}`, "practice,patients\nA81001,3\n")
	res = mustCheck(t, Input{Files: []File{f}})
	if got := publicText(res.Public[0]); got != "practice,patients\nA81001,3\n" {
		t.Errorf("not a count: %s", got)
	}
	if fs := findings(res, KindNotACount); len(fs) != 1 || !strings.Contains(fs[0].Message, "the number of sites") {
		t.Errorf("not-a-count findings: %+v", fs)
	}
}

func TestCompanionTableInheritsTheRule(t *testing.T) {
	main := parseFile(t, "main.csv", schemaOf("", threshold5), "practice,patients\nA81001,30\n")
	companion := parseFile(t, "by-sex.csv", `{"fields": [{"name": "practice", "candour:role": "key"},
	  {"name": "female", "type": "integer"}, {"name": "male", "type": "integer"}]}`, "practice,female,male\nA81001,2,28\n")
	res := mustCheck(t, Input{Files: []File{main, companion}})
	if got := publicText(res.Public[1]); !strings.Contains(got, "A81001,*,28") {
		t.Errorf("companion table, public:\n%s", got)
	}
	if fs := findings(res, KindInheritedRule); len(fs) != 1 || !strings.Contains(fs[0].Message, "main.csv") {
		t.Errorf("inherited-rule findings: %+v", fs)
	}
	// With no rule anywhere, possible counts are a declaration error.
	if _, err := Check(Input{Files: []File{companion}}); err == nil || !strings.Contains(err.Error(), `"female"`) {
		t.Errorf("no rule anywhere: %v", err)
	}
}

func TestUndeclaredTotalRowIsAudited(t *testing.T) {
	schema := schemaOf(`, "candour:nationalValues": ["ENG"]`, threshold5)
	f := parseFile(t, "p.csv", schema, "practice,patients\nENG,100\nA81001,3\nA81002,40\nA81003,57\n")
	res := mustCheck(t, Input{Files: []File{f}})
	if res.Blocked {
		t.Fatalf("blocked: %+v", res.Report.Findings)
	}
	if got := publicText(res.Public[0]); got != "practice,patients\nENG,100\nA81001,*\nA81002,*\nA81003,57\n" {
		t.Errorf("public file (ENG − the others would give A81001):\n%s", got)
	}
	fs := findings(res, KindUndeclaredTotal)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, `"ENG"`) {
		t.Errorf("undeclared-total findings: %+v", fs)
	}
	sec := res.Report.Audit.Secondary
	if len(sec) != 1 || sec[0].Key != "A81002" || len(sec[0].Protects) != 1 || !strings.Contains(sec[0].Protects[0], "A81001") {
		t.Errorf("secondary cells: %+v", sec)
	}
	// Under nhs-digital Candour adds no suppression: a national row that
	// gives a cell away is refused, naming the practice.
	f = parseFile(t, "p.csv", schemaOf(`, "candour:nationalValues": ["ENG"]`, `{"rule": "nhs-digital"}`),
		"practice,patients\nENG,3\nA81001,2\nA81002,1\n")
	res = mustCheck(t, Input{Files: []File{f}})
	rec := findings(res, KindRecoverable)
	if !res.Blocked || len(rec) == 0 {
		t.Fatalf("not refused: %+v", res.Report.Findings)
	}
	for _, r := range rec {
		if !strings.Contains(r.Message, "(A81001)") && !strings.Contains(r.Message, "(A81002)") || len(r.Because) == 0 {
			t.Errorf("refusal does not name the practice or what gives it away: %+v", r)
		}
	}
}

func TestUndeclaredTotalColumnIsAudited(t *testing.T) {
	f := parseFile(t, "s.csv", `{"fields": [{"name": "practice", "candour:role": "key"},
	  {"name": "female", "type": "integer", "candour:countOfIndividuals": true},
	  {"name": "male", "type": "integer", "candour:countOfIndividuals": true},
	  {"name": "all", "type": "integer", "candour:countOfIndividuals": true}],
	  "candour:disclosure": {"rule": "threshold", "threshold": 5}}`,
		"practice,female,male,all\nA81001,3,40,43\nA81002,20,22,42\n")
	res := mustCheck(t, Input{Files: []File{f}})
	if got := publicText(res.Public[0]); !strings.Contains(got, "A81001,*,*,43") {
		t.Errorf("public file (all − male would give female):\n%s", got)
	}
	if fs := findings(res, KindUndeclaredTotal); len(fs) != 1 || !strings.Contains(fs[0].Message, "female and male") {
		t.Errorf("undeclared-total findings: %+v", fs)
	}
}

func TestAlreadyPublishedColumnStaysExact(t *testing.T) {
	f := parseFile(t, "l.csv", `{"fields": [{"name": "practice", "candour:role": "key"},
	  {"name": "list_size", "type": "integer", "candour:alreadyPublished": {"source": "NHS Digital, Patients Registered at a GP Practice", "url": "https://digital.nhs.uk/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"}},
	  {"name": "patients", "type": "integer", "candour:countOfIndividuals": true}],
	  "candour:disclosure": {"rule": "nhs-digital"}}`, "practice,list_size,patients\nA81001,5,3\nA81002,1234,122\n")
	res := mustCheck(t, Input{Files: []File{f}})
	if got, want := publicText(res.Public[0]), "practice,list_size,patients\nA81001,5,*\nA81002,1234,120\n"; got != want {
		t.Errorf("public file:\n%s\nwant\n%s", got, want)
	}
	if fs := findings(res, KindAlreadyPublished); len(fs) != 1 || !strings.Contains(fs[0].Message, "digital.nhs.uk") {
		t.Errorf("already-published findings: %+v", fs)
	}
}

func TestHierarchyByMappingFile(t *testing.T) {
	practices := parseFile(t, "practices.csv", `{"fields": [
	  {"name": "practice", "candour:role": "key", "candour:parent": {"field": "network", "mapping": "map.csv"}},
	  {"name": "patients", "type": "integer", "candour:countOfIndividuals": true}],
	  "candour:disclosure": {"rule": "threshold", "threshold": 5}}`, "practice,patients\nP1,3\nP2,40\nP3,25\nP4,30\n")
	networks := parseFile(t, "networks.csv", `{"fields": [{"name": "network", "candour:role": "key"},
	  {"name": "patients", "type": "integer", "candour:countOfIndividuals": true}],
	  "candour:disclosure": {"rule": "threshold", "threshold": 5}}`, "network,patients\nN1,43\nN2,55\n")
	mapping := parseFile(t, "map.csv", `{"fields": [{"name": "practice"}, {"name": "network"}]}`,
		"practice,network\nP1,N1\nP2,N1\nP3,N2\nP4,N2\n")
	res := mustCheck(t, Input{Files: []File{practices, networks, mapping}})
	if res.Blocked {
		t.Fatalf("blocked: %+v", res.Report.Findings)
	}
	if got := publicText(res.Public[0]); got != "practice,patients\nP1,*\nP2,*\nP3,25\nP4,30\n" {
		t.Errorf("practices (N1 − P2 would give P1):\n%s", got)
	}
	// The same through the directory's links.
	practices.Resource.Schema.Fields[0].Parent.Mapping = ""
	practices.Resource.Schema.Fields[0].Parent.Directory = "icb"
	res = mustCheck(t, Input{Files: []File{practices, networks},
		Directory: map[string]map[string]string{"icb": {"P1": "N1", "P2": "N1", "P3": "N2", "P4": "N2"}}})
	if got := publicText(res.Public[0]); got != "practice,patients\nP1,*\nP2,*\nP3,25\nP4,30\n" {
		t.Errorf("practices through the directory:\n%s", got)
	}
	// A practice the directory does not place is named.
	res = mustCheck(t, Input{Files: []File{practices, networks},
		Directory: map[string]map[string]string{"icb": {"P1": "N1", "P2": "N1", "P3": "N2"}}})
	if fs := findings(res, KindUnmapped); len(fs) != 1 || !strings.Contains(fs[0].Message, "(P4)") {
		t.Errorf("no-parent findings: %+v", fs)
	}
	// A mapping file that is not in the release is a declaration error.
	practices.Resource.Schema.Fields[0].Parent.Directory = ""
	practices.Resource.Schema.Fields[0].Parent.Mapping = "missing.csv"
	if _, err := Check(Input{Files: []File{practices, networks}}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing mapping: %v", err)
	}
}

func TestTextThatPinsASuppressedCell(t *testing.T) {
	schema := schemaOf(`, "candour:totalValues": ["Total"]`, threshold5)
	f := parseFile(t, "p.csv", schema, "practice,patients\nA81001,3\nA81002,40\nA81003,57\nTotal,100\n")
	for _, tt := range []struct {
		text    string
		blocked bool
	}{
		{"Practice A81002 had 40 patients this quarter.", true},
		{"The figures for 2025-26 were revised on 3 December 2026 (version 2).", false},
		{"Practice A81003 had 57 patients.", false}, // already published exactly
		{"Nothing else changed.", false},
		{"Quarter 3 of 2025/26: published 3 December 2026, revising table 2.", false},
	} {
		res := mustCheck(t, Input{Files: []File{f}, Texts: []Text{{Field: "release.changeNotes", Text: tt.text}}})
		fs := findings(res, KindTextDisclosure)
		if (len(fs) > 0) != tt.blocked || res.Blocked != tt.blocked {
			t.Errorf("%q: blocked %v, findings %+v", tt.text, res.Blocked, fs)
			continue
		}
		named := !tt.blocked
		for _, fd := range fs {
			if !strings.Contains(fd.Message, "change notes") || len(fd.Because) == 0 {
				t.Errorf("%q: the finding does not name the text: %s", tt.text, fd.Message)
			}
			named = named || fd.Key == "A81001" && strings.Contains(fd.Message, "(A81001)")
		}
		if !named {
			t.Errorf("%q: no finding names A81001, which the figure pins: %+v", tt.text, fs)
		}
	}
}

func TestCorrectionWithPreSuppressedCells(t *testing.T) {
	schema := `{"fields": [{"name": "practice", "candour:role": "key", "candour:totalValues": ["Total"]},
	  {"name": "patients", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}],
	  "primaryKey": "practice", "candour:disclosure": {"rule": "threshold", "threshold": 3}}`
	v1orig := parseFile(t, "p.csv", schema, "practice,patients\nA,2\nB,13\nC,20\nD,30\nTotal,65\n")
	v1 := mustCheck(t, Input{Files: []File{v1orig}})
	if v1.Blocked {
		t.Fatalf("version 1 blocked: %+v", v1.Report.Findings)
	}
	v1pub := reparse(t, v1.Public[0])
	// The correction changes D and the total; the publisher has put * in
	// C, which did not change (20, published in version 1). Reading the
	// notice, anyone takes C as unchanged: 20. Then A = 68 − B − 20 − 31.
	v2orig := parseFile(t, "p.csv", schema, "practice,patients\nA,2\nB,15\nC,*\nD,31\nTotal,68\n")
	in := Input{Files: []File{v2orig}, Earlier: []Earlier{{Version: 1, Files: []File{v1pub}, Originals: []File{v1orig}, Linked: true}}}
	res := mustCheck(t, in)
	if !res.Blocked {
		t.Fatalf("accepted:\n%s", publicText(res.Public[0]))
	}
	var named bool
	for _, fd := range res.Report.Findings {
		if fd.Blocking && fd.Key == "C" && strings.Contains(fd.Message, "(C)") && strings.Contains(fd.Message, "version 1") {
			named = true
		}
	}
	if !named {
		t.Errorf("no blocking finding names C and version 1: %+v", res.Report.Findings)
	}
	if fs := findings(res, KindPreSuppressed); len(fs) != 1 || fs[0].Key != "C" {
		t.Errorf("pre-suppressed findings: %+v", fs)
	}
	// Listing C's row as changed unlinks it: it is then a new unknown.
	in.Earlier[0].UnchangedExcept = []string{"C"}
	res = mustCheck(t, in)
	for _, fd := range res.Report.Findings {
		if fd.Blocking && fd.Key == "C" {
			t.Errorf("C listed as changed is still linked: %+v", fd)
		}
	}
}

// nationalRowTable is 100 practices' counts, P000's a 3 (row 2), and
// their sum as the national row ENG.
func nationalRowTable() string {
	var b strings.Builder
	b.WriteString("practice,patients\n")
	total := 3
	fmt.Fprintf(&b, "P000,3\n")
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&b, "P%03d,%d\n", i, 20+i)
		total += 20 + i
	}
	fmt.Fprintf(&b, "ENG,%d\n", total)
	return b.String()
}

// A national row over many practices makes one relation of a hundred
// rounded cells: it is solved with the suppressed cell's own block and a
// compensating block free and the rest held at their true values.
func TestNationalRowOverManyPractices(t *testing.T) {
	f := parseFile(t, "p.csv", schemaOf(`, "candour:nationalValues": ["ENG"], "candour:totalValues": ["ENG"]`, `{"rule": "nhs-digital"}`), nationalRowTable())
	res := mustCheck(t, Input{Files: []File{f}})
	if res.Blocked {
		t.Fatalf("blocked: %+v", res.Report.Findings)
	}
	c := auditCell(t, res, "p.csv", 2, "patients")
	if c.Method != MethodRestricted || !c.Pass || c.Values < 3 {
		t.Errorf("P000: %+v", c)
	}
}

// With a declared protection above three, a cell that one compensating
// block gives five values is solved again with several (which give it
// more), rather than failing on the default protection's threshold.
func TestNationalRowProtectionAboveThree(t *testing.T) {
	for _, tc := range []struct {
		protection int
		pass       bool
	}{
		{6, true},   // one compensator: five values; three: the full range
		{12, false}, // more than the suppressed range can ever give
	} {
		rule := fmt.Sprintf(`{"rule": "nhs-digital", "protection": %d}`, tc.protection)
		f := parseFile(t, "p.csv", schemaOf(`, "candour:nationalValues": ["ENG"], "candour:totalValues": ["ENG"]`, rule), nationalRowTable())
		res := mustCheck(t, Input{Files: []File{f}})
		c := auditCell(t, res, "p.csv", 2, "patients")
		if c.Pass != tc.pass || c.Method != MethodRestricted || c.Protection != tc.protection {
			t.Errorf("protection %d: P000 %+v, want pass %v", tc.protection, c, tc.pass)
		}
		if tc.pass && c.Values < int64(tc.protection) {
			t.Errorf("protection %d: passed with %d values: %+v", tc.protection, c.Values, c)
		}
	}
}

func TestFiguresInText(t *testing.T) {
	for _, tt := range []struct {
		text string
		want string
	}{
		{"A81002 had 40 patients, not 1,234.", "40 1,234"},
		{"Published 3 December 2026 for 2025/26 (version 2, table 4).", ""},
		{"Quarter 3: ages 15-24 rose by 12% in Y56 and E38000001.", ""},
		{"Three practices reported 7.5 cases.", "7.5 three"},
		{"Revised on 2026-12-03 and 03/12/2026.", ""},
	} {
		var got []string
		for _, n := range figures(tt.text) {
			got = append(got, n.as)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("figures(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
