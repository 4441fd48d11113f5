package disclosure

import (
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

// tv19Schema is UKHSA's Table 1: treatment by age, with totals.
func tv19Schema(rule string) string {
	return `{"fields": [
		{"name": "Treatment", "candour:role": "dimension", "candour:totalValues": ["Total"]},
		{"name": "0-30", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["c"]},
		{"name": "Over 30", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["c"]},
		{"name": "Total", "type": "integer", "candour:countOfIndividuals": true, "candour:total": true, "candour:suppressed": ["c"]}],
		"primaryKey": "Treatment",
		"candour:disclosure": ` + rule + `}`
}

const ruleNone = `{"rule": "none", "reason": "a published pattern, audited as it stands"}`

// tv19Long is the same table in long form, margins as rows of both
// dimensions.
const tv19LongSchema = `{"fields": [
	{"name": "Treatment", "candour:role": "dimension", "candour:totalValues": ["Total"]},
	{"name": "Age", "candour:role": "dimension", "candour:totalValues": ["All ages"]},
	{"name": "Patients", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["c"]}],
	"candour:disclosure": {"rule": "none", "reason": "a published pattern, audited as it stands"}}`

func tv19LongCSV(cells map[string]string) string {
	var b strings.Builder
	b.WriteString("Treatment,Age,Patients\n")
	for _, tr := range []string{"A", "B", "C", "Total"} {
		for _, age := range []string{"0-30", "Over 30", "All ages"} {
			fmt.Fprintf(&b, "%s,%s,%s\n", tr, age, cells[tr+"/"+age])
		}
	}
	return b.String()
}

func TestTV19PublishedPatterns(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		blocked bool
		min     float64
		max     float64
	}{
		{"Table 1d as published: recoverable", "Treatment,0-30,Over 30,Total\nA,c,c,11\nB,c,111,124\nC,c,17,32\nTotal,38,129,167\n", true, 1, 1},
		{"rectangle {A,C} x both ages", "Treatment,0-30,Over 30,Total\nA,c,c,11\nB,13,111,124\nC,c,c,32\nTotal,38,129,167\n", false, 0, 11},
		{"rectangle {A,B} x both ages", "Treatment,0-30,Over 30,Total\nA,c,c,11\nB,c,c,124\nC,15,17,32\nTotal,38,129,167\n", false, 0, 11},
		{"A over 30 alone", "Treatment,0-30,Over 30,Total\nA,10,c,11\nB,13,111,124\nC,15,17,32\nTotal,38,129,167\n", true, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustCheck(t, Input{Files: []File{parseFile(t, "table1.csv", tv19Schema(ruleNone), tt.csv)}})
			if res.Blocked != tt.blocked {
				t.Errorf("blocked = %v, want %v; findings %+v", res.Blocked, tt.blocked, res.Report.Findings)
			}
			c := auditCell(t, res, "table1.csv", 2, "Over 30")
			if c.Min != tt.min || maxOf(c) != tt.max || c.Pass == tt.blocked || c.Method != MethodExact {
				t.Errorf("A/over-30: got %+v, want [%v, %v]", c, tt.min, tt.max)
			}
			if tt.blocked {
				rec := findings(res, KindRecoverable)
				found := false
				for _, f := range rec {
					if f.Row == 2 && f.Column == 3 && f.Field == "Over 30" && strings.Contains(f.Message, "between 1 and 1") {
						found = true
					}
				}
				if !found {
					t.Errorf("no recoverable finding for A/over-30: %+v", rec)
				}
			} else if c.Values != 12 {
				t.Errorf("A/over-30 has %d possible values, want 12", c.Values)
			}
		})
	}
}

func TestTV19LongForm(t *testing.T) {
	full := map[string]string{
		"A/0-30": "10", "A/Over 30": "1", "A/All ages": "11",
		"B/0-30": "13", "B/Over 30": "111", "B/All ages": "124",
		"C/0-30": "15", "C/Over 30": "17", "C/All ages": "32",
		"Total/0-30": "38", "Total/Over 30": "129", "Total/All ages": "167",
	}
	pattern := func(suppressed ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for _, k := range suppressed {
			m[k] = "c"
		}
		return m
	}
	published := tv19LongCSV(pattern("A/0-30", "A/Over 30", "B/0-30", "C/0-30"))
	res := mustCheck(t, Input{Files: []File{parseFile(t, "long.csv", tv19LongSchema, published)}})
	c := auditCell(t, res, "long.csv", 3, "Patients") // A, Over 30
	if !res.Blocked || c.Min != 1 || maxOf(c) != 1 {
		t.Errorf("Table 1d in long form: blocked %v, A/over-30 %+v", res.Blocked, c)
	}
	rect := tv19LongCSV(pattern("A/0-30", "A/Over 30", "C/0-30", "C/Over 30"))
	res = mustCheck(t, Input{Files: []File{parseFile(t, "long.csv", tv19LongSchema, rect)}})
	c = auditCell(t, res, "long.csv", 3, "Patients")
	if res.Blocked || c.Min != 0 || maxOf(c) != 11 {
		t.Errorf("rectangle in long form: blocked %v, A/over-30 %+v", res.Blocked, c)
	}
}

func TestTV19AutomaticSecondary(t *testing.T) {
	original := "Treatment,0-30,Over 30,Total\nA,10,1,11\nB,13,111,124\nC,15,17,32\nTotal,38,129,167\n"
	for _, threshold := range []int{2, 4, 7} {
		t.Run(fmt.Sprintf("threshold %d", threshold), func(t *testing.T) {
			schema := tv19Schema(fmt.Sprintf(`{"rule": "threshold", "threshold": %d}`, threshold))
			res := mustCheck(t, Input{Files: []File{parseFile(t, "table1.csv", schema, original)}})
			if res.Blocked {
				t.Fatalf("blocked: %+v\n%s", res.Report.Findings, publicText(res.Public[0]))
			}
			pub := res.Public[0]
			if pub.Rows[0][2] != "c" {
				t.Errorf("A/over-30 is not suppressed:\n%s", publicText(pub))
			}
			n := res.Report.Files[0].Cells
			if n.SuppressedPrimary != 1 || n.SuppressedSecondary < 3 || res.Report.Audit.SecondaryAdded != n.SuppressedSecondary {
				t.Errorf("counts %+v, audit %+v", n, res.Report.Audit)
			}
			for _, c := range res.Report.Audit.Cells {
				if !c.Pass || c.Values < 3 && c.Values != -1 {
					t.Errorf("cell %+v does not pass", c)
				}
			}
			// The totals are kept.
			if pub.Rows[3][3] != "167" || pub.Rows[0][3] != "11" {
				t.Errorf("totals suppressed:\n%s", publicText(pub))
			}
			// An independent re-audit of the public file, as published.
			back := reparse(t, pub)
			s := back.Resource.Schema
			s.Disclosure = &datasets.DisclosureRule{Rule: datasets.DisclosureNone, Reason: "re-audit"}
			back.Resource.Schema = s
			again := mustCheck(t, Input{Files: []File{back}})
			if again.Blocked {
				t.Errorf("re-audit of the public file fails: %+v\n%s", again.Report.Findings, publicText(pub))
			}
			t.Logf("pattern:\n%s", publicText(pub))
		})
	}
}

// A cell suppressed at source with its margins published is recoverable.
func TestRecoverableFromMargin(t *testing.T) {
	schema := `{"fields": [
		{"name": "Provider", "candour:role": "key", "candour:totalValues": ["Total"]},
		{"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}],
		"candour:disclosure": {"rule": "none", "reason": "as received"}}`
	csv := "Provider,Deaths\nRX1,*\nRX2,40\nRX3,25\nTotal,68\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "deaths.csv", schema, csv)}})
	if !res.Blocked {
		t.Fatal("want blocked")
	}
	c := auditCell(t, res, "deaths.csv", 2, "Deaths")
	if c.Min != 3 || maxOf(c) != 3 || c.Suppression != "source" {
		t.Errorf("RX1: %+v", c)
	}
	rec := findings(res, KindRecoverable)
	if len(rec) != 1 || rec[0].Row != 2 || rec[0].Column != 2 || rec[0].Value != "*" {
		t.Errorf("findings: %+v", rec)
	}
}

// Files released together share cells and margins.
func TestAcrossFilesOfOneRelease(t *testing.T) {
	byProvider := `{"fields": [
		{"name": "Region", "candour:role": "dimension"},
		{"name": "Provider", "candour:role": "dimension", "candour:totalValues": ["All providers"]},
		{"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true}],
		"candour:disclosure": {"rule": "threshold", "threshold": 4}}`
	byRegion := `{"fields": [
		{"name": "Region", "candour:role": "dimension"},
		{"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true}],
		"candour:disclosure": {"rule": "none", "reason": "regional totals"}}`
	providers := "Region,Provider,Deaths\nNorth,RX1,3\nNorth,RX2,40\nNorth,RX3,25\nSouth,RY1,50\nSouth,RY2,60\n"
	regions := "Region,Deaths\nNorth,68\nSouth,110\n"
	in := Input{Files: []File{parseFile(t, "providers.csv", byProvider, providers), parseFile(t, "regions.csv", byRegion, regions)}}
	res := mustCheck(t, in)
	// The regional total in the other file is the margin of the provider
	// rows: RX1 alone would be 68 − 40 − 25 = 3, so another cell goes.
	if res.Blocked {
		t.Fatalf("blocked: %+v", res.Report.Findings)
	}
	got := publicText(res.Public[0])
	want := "Region,Provider,Deaths\nNorth,RX1,*\nNorth,RX2,40\nNorth,RX3,*\nSouth,RY1,50\nSouth,RY2,60\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if res.Report.Audit.Relations != 2 { // North and South
		t.Errorf("relations: %d, want 2", res.Report.Audit.Relations)
	}

	// When the other file publishes the cell itself, nothing in the
	// threshold file can protect it.
	exact := "Region,Provider,Deaths\nNorth,RX1,3\n"
	in.Files[1] = parseFile(t, "rx1.csv", strings.Replace(byProvider, `"rule": "threshold", "threshold": 4`, `"rule": "none", "reason": "r"`, 1), exact)
	res = mustCheck(t, in)
	c := auditCell(t, res, "providers.csv", 2, "Deaths")
	if !res.Blocked || c.Method != MethodPinned || c.Values != 1 {
		t.Errorf("pinned by another file: blocked %v, %+v", res.Blocked, c)
	}
}

// An earlier release linked by "unchanged except" change notes.
func TestRecoverableViaEarlierRelease(t *testing.T) {
	schemaV1 := `{"fields": [
		{"name": "Provider", "candour:role": "key", "candour:totalValues": ["Total"]},
		{"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}],
		"primaryKey": "Provider",
		"candour:disclosure": {"rule": "none", "reason": "version 1 had no control"}}`
	threshold := strings.Replace(schemaV1, `"rule": "none", "reason": "version 1 had no control"`, `"rule": "threshold", "threshold": 4`, 1)
	asReceived := strings.Replace(schemaV1, `version 1 had no control`, `as received`, 1)
	const current = "Provider,Deaths\nRX1,3\nRX2,40\nRX3,27\n"
	const sourceSuppressed = "Provider,Deaths\nRX1,*\nRX2,40\nRX3,27\n"
	const cells = "Provider,Deaths\nRX1,3\nRX2,40\nRX3,25\n"
	const margin = "Provider,Deaths\nTotal,70\n"
	tests := []struct {
		name      string
		schema    string
		current   string
		earlier   string
		except    []string
		linked    bool
		blocked   bool
		method    string
		secondary int
	}{
		{"earlier published the cell, declared unchanged", threshold, current, cells, []string{"RX3"}, true, true, MethodPinned, 0},
		{"the cell's row is listed as changed", threshold, current, cells, []string{"RX1", "RX3"}, true, false, MethodMarker, 0},
		{"not linked", threshold, current, cells, nil, false, false, MethodMarker, 0},
		// The earlier margin pins RX1 to 70 − 40 − 27; under the threshold
		// rule a further cell is suppressed to protect it.
		{"earlier published the margin: secondary suppression", threshold, current, margin, nil, true, false, MethodExact, 1},
		// Under rule none nothing can be added: blocked.
		{"earlier published the margin: suppressed at source", asReceived, sourceSuppressed, margin, nil, true, true, MethodExact, 0},
		{"earlier margin, not linked", asReceived, sourceSuppressed, margin, nil, false, false, MethodMarker, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1 := parseFile(t, "deaths.csv", schemaV1, tt.earlier)
			in := Input{
				Files:   []File{parseFile(t, "deaths.csv", tt.schema, tt.current)},
				Earlier: []Earlier{{Version: 1, Files: []File{v1}, Linked: tt.linked, UnchangedExcept: tt.except}},
			}
			res := mustCheck(t, in)
			c := auditCell(t, res, "deaths.csv", 2, "Deaths")
			if res.Blocked != tt.blocked || c.Method != tt.method || res.Report.Audit.SecondaryAdded != tt.secondary {
				t.Errorf("blocked %v (want %v), secondary %d (want %d), RX1 %+v (want method %s); findings %+v",
					res.Blocked, tt.blocked, res.Report.Audit.SecondaryAdded, tt.secondary, c, tt.method, res.Report.Findings)
			}
			if tt.blocked {
				if c.Min != 3 || maxOf(c) != 3 {
					t.Errorf("RX1: got [%v, %v], want [3, 3]", c.Min, maxOf(c))
				}
				if rec := findings(res, KindRecoverable); len(rec) == 0 || rec[0].Row != 2 || rec[0].Column != 2 {
					t.Errorf("findings: %+v", rec)
				}
			}
			if tt.secondary > 0 {
				if got := publicText(res.Public[0]); got != "Provider,Deaths\nRX1,*\nRX2,40\nRX3,*\n" {
					t.Errorf("public file:\n%s", got)
				}
			}
			if tt.linked {
				if got := res.Report.Audit.LinkedReleases; len(got) != 1 || got[0] != 1 {
					t.Errorf("linked releases: %v", got)
				}
			}
		})
	}
}

// Cells declared unchanged whose value changed are reported, and kept
// apart in the audit.
func TestUnchangedButDifferent(t *testing.T) {
	schema := `{"fields": [{"name": "Provider", "candour:role": "key"}, {"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true}],
		"primaryKey": "Provider", "candour:disclosure": {"rule": "threshold", "threshold": 4}}`
	v1 := parseFile(t, "d.csv", schema, "Provider,Deaths\nRX1,9\n")
	res := mustCheck(t, Input{Files: []File{parseFile(t, "d.csv", schema, "Provider,Deaths\nRX1,3\n")},
		Earlier: []Earlier{{Version: 1, Files: []File{v1}, Linked: true}}})
	inc := findings(res, KindInconsistent)
	if len(inc) != 1 || inc[0].Blocking || !strings.Contains(inc[0].Message, `"RX1"`) {
		t.Errorf("got %+v", inc)
	}
	if res.Blocked {
		t.Errorf("blocked: %+v", res.Report.Findings)
	}
}

// Margins that do not add up in the original are reported.
func TestNotAdditive(t *testing.T) {
	schema := `{"fields": [
		{"name": "Provider", "candour:role": "key", "candour:totalValues": ["Total"]},
		{"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true}],
		"candour:disclosure": {"rule": "threshold", "threshold": 4}}`
	res := mustCheck(t, Input{Files: []File{parseFile(t, "d.csv", schema, "Provider,Deaths\nRX1,3\nRX2,40\nTotal,50\n")}})
	na := findings(res, KindNotAdditive)
	if len(na) != 1 || !na[0].Blocking || na[0].Row != 4 || !strings.Contains(na[0].Message, "parts sum to 43") {
		t.Errorf("got %+v", na)
	}
	res = mustCheck(t, Input{Files: []File{parseFile(t, "d.csv", schema, "Provider,Deaths\nRX1,30\nRX2,40\nTotal,50\n")}})
	if na := findings(res, KindNotAdditive); len(na) != 1 || na[0].Blocking || res.Blocked {
		t.Errorf("without suppression: %+v", na)
	}
}

// Rounding protects by design, but is still audited: interval relations.
func TestNHSDigitalAudited(t *testing.T) {
	schema := `{"fields": [
		{"name": "Provider", "candour:role": "key", "candour:totalValues": ["Total"]},
		{"name": "Improved", "type": "integer", "candour:countOfIndividuals": true},
		{"name": "Worse", "type": "integer", "candour:countOfIndividuals": true},
		{"name": "Records", "type": "integer", "candour:countOfIndividuals": true, "candour:total": true}],
		"candour:disclosure": {"rule": "nhs-digital"}}`
	csv := "Provider,Improved,Worse,Records\nRX1,9,1,10\nRX2,54,3,57\nTotal,63,4,67\n"
	res := mustCheck(t, Input{Files: []File{parseFile(t, "p.csv", schema, csv)}})
	if res.Blocked {
		t.Fatalf("blocked: %+v", res.Report.Findings)
	}
	want := "Provider,Improved,Worse,Records\nRX1,10,*,10\nRX2,55,*,55\nTotal,65,*,65\n"
	if got := publicText(res.Public[0]); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// RX1 Worse: Records 8–12 less Improved 8–12 → 0–4, with the marker's
	// 1–7: [1, 4] from its row alone; the Total row's Worse (1–7, of which
	// RX2 takes at least 1) and the rounded column totals narrow it to
	// [1, 3], as enumeration confirms.
	c := auditCell(t, res, "p.csv", 2, "Worse")
	if c.Min != 1 || maxOf(c) != 3 || c.Values != 3 || !c.Pass {
		t.Errorf("RX1 Worse: %+v", c)
	}
}

// The exact search and the LP bound agree on two-way tables (whose
// constraint matrices are totally unimodular), and the true value always
// lies within.
func TestExactAndLPAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 40; trial++ {
		rows, cols := 2+rng.Intn(3), 2+rng.Intn(3)
		x := make([][]int64, rows)
		for i := range x {
			x[i] = make([]int64, cols)
			for j := range x[i] {
				x[i][j] = int64(rng.Intn(20))
			}
		}
		// Unknowns: cells; equations: row and column sums (known).
		n := rows * cols
		var eqs []ieq
		for i := 0; i < rows; i++ {
			e := ieq{}
			for j := 0; j < cols; j++ {
				e.vars = append(e.vars, i*cols+j)
				e.coefs = append(e.coefs, 1)
				e.rhs += x[i][j]
			}
			eqs = append(eqs, e)
		}
		for j := 0; j < cols; j++ {
			e := ieq{}
			for i := 0; i < rows; i++ {
				e.vars = append(e.vars, i*cols+j)
				e.coefs = append(e.coefs, 1)
				e.rhs += x[i][j]
			}
			eqs = append(eqs, e)
		}
		lo := make([]int64, n)
		hi := make([]int64, n)
		flo := make([]float64, n)
		fhi := make([]float64, n)
		for k := 0; k < n; k++ {
			i, j := k/cols, k%cols
			if rng.Intn(2) == 0 { // published
				lo[k], hi[k] = x[i][j], x[i][j]
			} else if rng.Intn(2) == 0 { // rounded
				lo[k], hi[k] = max(0, x[i][j]-2), x[i][j]+2
			} else {
				lo[k], hi[k] = 0, unbounded
			}
			flo[k] = float64(lo[k])
			fhi[k] = 1e18
			if hi[k] != unbounded {
				fhi[k] = float64(hi[k])
			}
		}
		a := make([][]float64, len(eqs))
		b := make([]float64, len(eqs))
		for r, e := range eqs {
			a[r] = make([]float64, n)
			for i, v := range e.vars {
				a[r][v] = float64(e.coefs[i])
			}
			b[r] = float64(e.rhs)
		}
		sys := newISys(n, eqs, 1e6)
		sx, err := newSimplex(a, b, flo, fhi)
		if err != nil {
			t.Fatalf("trial %d: simplex: %v", trial, err)
		}
		for k := 0; k < n; k++ {
			mn, mx, unb, ok, err := sys.extremes(k, lo, hi)
			if err != nil || !ok || unb {
				t.Fatalf("trial %d cell %d: exact %v %v %v", trial, k, ok, unb, err)
			}
			truth := x[k/cols][k%cols]
			if truth < mn || truth > mx {
				t.Errorf("trial %d cell %d: truth %d outside [%d, %d]", trial, k, truth, mn, mx)
			}
			lmn, err1 := sx.extreme(k, false)
			lmx, err2 := sx.extreme(k, true)
			if err1 != nil || err2 != nil {
				t.Fatalf("trial %d cell %d: lp %v %v", trial, k, err1, err2)
			}
			if d1, d2 := lmn-float64(mn), lmx-float64(mx); d1*d1 > 1e-12 || d2*d2 > 1e-12 {
				t.Errorf("trial %d cell %d: exact [%d, %d], LP [%g, %g]", trial, k, mn, mx, lmn, lmx)
			}
		}
	}
}

// Large components use the LP bound and say so.
func TestLargeComponentUsesLP(t *testing.T) {
	schema := `{"fields": [
		{"name": "Provider", "candour:role": "key", "candour:totalValues": ["England"]},
		{"name": "Seen", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}],
		"candour:disclosure": {"rule": "none", "reason": "as received"}}`
	var b strings.Builder
	b.WriteString("Provider,Seen\n")
	total := 0
	for i := 0; i < 100; i++ {
		v := 20 + i
		total += v
		if i%2 == 0 {
			fmt.Fprintf(&b, "P%03d,*\n", i)
		} else {
			fmt.Fprintf(&b, "P%03d,%d\n", i, v)
		}
	}
	fmt.Fprintf(&b, "England,%d\n", total)
	res := mustCheck(t, Input{Files: []File{parseFile(t, "big.csv", schema, b.String())}})
	if res.Blocked || res.Report.Audit.CellsByMethod[MethodLP] != 50 { // more than exactLimit unknowns
		t.Errorf("blocked %v, methods %v", res.Blocked, res.Report.Audit.CellsByMethod)
	}
	// With one unknown left, the margin pins it, whatever the method.
	s := b.String()
	for i := 2; i < 100; i += 2 {
		s = strings.Replace(s, fmt.Sprintf("P%03d,*", i), fmt.Sprintf("P%03d,%d", i, 20+i), 1)
	}
	res = mustCheck(t, Input{Files: []File{parseFile(t, "big.csv", schema, s)}})
	if c := auditCell(t, res, "big.csv", 2, "Seen"); !res.Blocked || c.Values != 1 || c.Min != 20 {
		t.Errorf("single unknown: %+v", c)
	}
}

// A correction is linked to the release it corrects cell by cell, by the
// originals: a cell whose original value is unchanged is one unknown in
// both, whatever else changed in its row.
func TestCorrectionLinkedCellByCell(t *testing.T) {
	schema := func(threshold int) string {
		return fmt.Sprintf(`{"fields": [
		{"name": "Provider", "candour:role": "key", "candour:totalValues": ["Total"]},
		{"name": "Deaths", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]},
		{"name": "Admissions", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}],
		"primaryKey": "Provider",
		"candour:disclosure": {"rule": "threshold", "threshold": %d}}`, threshold)
	}
	const v1Cells = "Provider,Deaths,Admissions\nRX1,3,410\nRX2,40,380\nRX3,27,110\n"
	const v1Margin = "Provider,Deaths,Admissions\nTotal,70,900\n"
	tests := []struct {
		name               string
		v1Schema, v1, v2   string
		v2Threshold        int
		blocked            bool
		method             string
		secondary          int
		wantPublic         string
		declaredRowChanged bool // also check the row-level link would have missed it
	}{
		// Version 1 published RX1's deaths (3, above its threshold of 2);
		// the correction raises the threshold and fixes RX1's admissions.
		// Its deaths are unchanged, so the earlier publication pins them.
		{"unchanged cell published before, suppressed now", schema(2), v1Cells,
			"Provider,Deaths,Admissions\nRX1,3,412\nRX2,40,380\nRX3,27,110\n", 4, true, MethodPinned, 0, "", true},
		{"the cell itself was corrected", schema(2), v1Cells,
			"Provider,Deaths,Admissions\nRX1,4,412\nRX2,40,380\nRX3,27,110\n", 4, false, MethodMarker, 0, "", false},
		// Version 1 published only the totals. The correction fixes RX1's
		// admissions; the deaths still add up to version 1's total, which
		// would give RX1's 3 away: a second cell is suppressed.
		{"earlier margin, parts unchanged", schema(4), v1Margin,
			"Provider,Deaths,Admissions\nRX1,3,412\nRX2,40,380\nRX3,27,110\n", 4, false, MethodExact, 1,
			"Provider,Deaths,Admissions\nRX1,*,412\nRX2,40,380\nRX3,*,110\n", true},
		{"earlier margin, a part corrected", schema(4), v1Margin,
			"Provider,Deaths,Admissions\nRX1,3,412\nRX2,40,380\nRX3,28,110\n", 4, false, MethodMarker, 0,
			"Provider,Deaths,Admissions\nRX1,*,412\nRX2,40,380\nRX3,28,110\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1 := parseFile(t, "deaths.csv", tt.v1Schema, tt.v1)
			current := parseFile(t, "deaths.csv", schema(tt.v2Threshold), tt.v2)
			in := Input{Files: []File{current},
				Earlier: []Earlier{{Version: 1, Files: []File{v1}, Originals: []File{v1}, Linked: true}}}
			res := mustCheck(t, in)
			c := auditCell(t, res, "deaths.csv", 2, "Deaths")
			if res.Blocked != tt.blocked || c.Method != tt.method || res.Report.Audit.SecondaryAdded != tt.secondary {
				t.Fatalf("blocked %v (want %v), secondary %d (want %d), RX1 %+v (want method %s); findings %+v",
					res.Blocked, tt.blocked, res.Report.Audit.SecondaryAdded, tt.secondary, c, tt.method, res.Report.Findings)
			}
			if tt.blocked {
				rec := findings(res, KindRecoverable)
				if len(rec) == 0 || rec[0].Row != 2 || rec[0].Column != 2 || c.Min != 3 || maxOf(c) != 3 {
					t.Errorf("RX1 [%v, %v]; findings %+v", c.Min, maxOf(c), rec)
				}
			}
			if tt.wantPublic != "" {
				if got := publicText(res.Public[0]); got != tt.wantPublic {
					t.Errorf("public file:\n%s\nwant\n%s", got, tt.wantPublic)
				}
			}
			if tt.declaredRowChanged {
				// Linked by rows, with RX1's row declared changed (its
				// admissions did change), the audit would not see it.
				in.Earlier[0].Originals, in.Earlier[0].UnchangedExcept = nil, []string{"RX1"}
				if tt.v1 == v1Margin {
					in.Earlier[0].UnchangedExcept = []string{"Total"}
				}
				if res := mustCheck(t, in); res.Blocked || res.Report.Audit.SecondaryAdded != 0 {
					t.Errorf("linked by rows: blocked %v, secondary %d", res.Blocked, res.Report.Audit.SecondaryAdded)
				}
			}
		})
	}
}

func TestMultipleOfFiveAgreesWithMod(t *testing.T) {
	for _, x := range []float64{0, 5, -5, 10, 15, 1235, 1e15, 1e15 + 1, 9007199254740990, 1 << 60, 1e300, 4, 7.5, 12.5, 15.000001, -7, math.Inf(1), math.Inf(-1), math.NaN()} {
		if got, want := multipleOfFive(x), math.Mod(x, 5) == 0; got != want {
			t.Errorf("multipleOfFive(%v) = %v, math.Mod says %v", x, got, want)
		}
	}
}

// The tables read the caller's rows rather than copies of them, so Check
// must write nothing into them: suppression (primary and secondary) and
// the published text go to the public files only, and a second Check of
// the same input gives the same release.
func TestCheckLeavesTheCallersRowsAsTheyWere(t *testing.T) {
	original := "Treatment,0-30,Over 30,Total\nA,10,1,11\nB,13,111,124\nC,15,17,32\nTotal,38,129,167\n"
	f := parseFile(t, "table1.csv", tv19Schema(`{"rule": "threshold", "threshold": 4}`), original)
	before := make([]datasets.Row, len(f.Rows))
	for i, row := range f.Rows {
		before[i] = row
		before[i].Cells = slices.Clone(row.Cells)
		before[i].Values = slices.Clone(row.Values)
	}
	first := mustCheck(t, Input{Files: []File{f}})
	if n := first.Report.Files[0].Cells; n.SuppressedPrimary != 1 || n.SuppressedSecondary < 3 {
		t.Fatalf("the test needs primary and secondary suppression, got %+v", n)
	}
	if !reflect.DeepEqual(f.Rows, before) {
		t.Fatalf("Check changed the caller's rows:\ngot  %+v\nwant %+v", f.Rows, before)
	}
	if again := mustCheck(t, Input{Files: []File{f}}); publicText(again.Public[0]) != publicText(first.Public[0]) {
		t.Errorf("a second Check of the same rows publishes\n%s\nnot\n%s", publicText(again.Public[0]), publicText(first.Public[0]))
	}
}
