package disclosure

import (
	"errors"
	"fmt"
	"strings"

	"github.com/candour/candour/datasets"
)

// Streamed files: checked as they are read, their rows never held.
//
// Holding a parsed file costs about a kilobyte a row, so a file of tens of
// millions of rows cannot be held whole. It does not need to be when
// there is nothing for the recoverability audit to protect: no file of
// the release is under a small-number or magnitude rule, none describes
// single people or declares a hierarchy (Streamable), no cell of them is
// suppressed at source (Scan.Suppressed), and no earlier release of the
// dataset has a suppressed cell (the caller's part: it then gives Check
// no earlier releases). Such a file is read once with a Scan, which runs
// what Check runs on each row — the rule's per-cell checks (negative
// counts), the cell counts and the identifier scan — and keeps only
// counts and the cells its findings name. Check then gives the same
// findings and file reports as from the rows, an audit report that says
// no sum was audited because nothing is suppressed, and a public file
// that is the original's rows unchanged (PublicFile.Unchanged, Rows nil):
// the caller writes it by reading the original again.
//
// Anything less certain fails safe: Check refuses a streamed file in a
// release where any of that does not hold, and the caller reads the rows.

// Streamable reports whether files of these schemas can be checked as
// they are read (see Scan): none is under a small-number or magnitude
// rule, holds magnitudes, describes single people or declares a parent
// (hierarchy). Give it the schemas of every file of the release.
func Streamable(schemas ...datasets.Schema) bool {
	for _, s := range schemas {
		if reason := notStreamable(s); reason != "" {
			return false
		}
	}
	return true
}

// notStreamable says why a file of schema s needs its rows held, or "".
func notStreamable(s datasets.Schema) string {
	if d := s.Disclosure; d != nil {
		switch {
		case smallNumberRule(d.Rule):
			return "it is under the " + d.Rule + " rule"
		case d.Dominance != nil || d.PPercent > 0:
			return "it is under a magnitude rule"
		}
	}
	if recordLevel(s) {
		return "it describes single people"
	}
	for _, f := range s.Fields {
		switch {
		case f.Magnitude:
			return "field " + f.Name + " holds magnitudes"
		case f.Parent != nil:
			return "field " + f.Name + " declares a parent"
		}
	}
	return ""
}

// Scan is a file checked as it is read (see Streamable). Make it with
// NewScan, give it every row in order with Add, then pass it to Check as
// File.Scan with File.Rows nil.
type Scan struct {
	t          *table // the file's table, holding the row being read
	isNational func([]datasets.Value) bool
	ids        *identifierScan
	counts     CellCounts
	national   int
	rows       int
	suppressed int
	findings   []Finding // the rule's findings, with their rows' keys
	err        error     // the file's declaration error, for Check
}

// NewScan starts the scan of file name, of resource res with header
// cells header (nil for a file without a header). Its error is for a
// schema Streamable refuses; a declaration error (a count of individuals
// with no rule, say) is kept for Check to report as it would from rows,
// and the rows are not looked at.
func NewScan(name string, res datasets.Resource, header []string) (*Scan, error) {
	s := res.Schema
	if reason := notStreamable(s); reason != "" {
		return nil, fmt.Errorf("disclosure: file %q cannot be checked as it is read: %s", name, reason)
	}
	f := File{Name: name, Resource: res, Header: header}
	if err := s.Validate(); err != nil {
		return &Scan{err: fmt.Errorf("disclosure: file %q: schema: %w", name, err)}, nil
	}
	if err := checkRows(f); err != nil {
		return &Scan{err: err}, nil
	}
	t, err := newTableShell(f, &checker{})
	if err != nil {
		return &Scan{err: err}, nil
	}
	width := len(s.Fields)
	t.rows = make([]datasets.Row, 1)
	t.cells, t.treat = [][]string{make([]string, width)}, newTreatments(1, width)
	t.national = make([]bool, 1)
	ids := newIdentifierScan(name, s)
	ids.keyOf = func(row datasets.Row) string { return keyText(t.identCols, row.Cells, row.Record) }
	return &Scan{t: t, ids: ids, isNational: nationalTest(t.schema)}, nil
}

// Add checks one row, read and validated by datasets.Reader.
func (sc *Scan) Add(row datasets.Row) {
	sc.rows++
	if sc.err != nil {
		return
	}
	t := sc.t
	t.rows[0].Record, t.rows[0].Values = row.Record, row.Values
	t.national[0] = sc.isNational(row.Values)
	if t.national[0] {
		sc.national++
	}
	clear(t.treat.all)
	before := len(sc.findings)
	sc.findings = t.applyRuleToRow(0, sc.findings)
	for i := before; i < len(sc.findings); i++ {
		sc.findings[i].Key = keyText(t.identCols, row.Cells, row.Record)
	}
	for c, tr := range t.treat.row(0) {
		if tr == tSource {
			sc.suppressed++
		}
		if t.fields[c].controlled() {
			sc.counts.add(tr, 1)
		}
	}
	for c, v := range row.Values {
		if v.Kind == datasets.KindSuppressed && !t.fields[c].controlled() {
			sc.suppressed++
		}
	}
	sc.ids.add(row)
}

// Rows is the number of rows added.
func (sc *Scan) Rows() int { return sc.rows }

// Suppressed is the number of cells the file arrived with suppressed:
// with any, the recoverability audit has cells to protect, and Check
// needs the file's rows instead.
func (sc *Scan) Suppressed() int { return sc.suppressed }

// errStreamed is wrapped by Check's refusal of streamed files it cannot
// check without their rows.
var errStreamed = errors.New("needs the rows")

// checkStreamable refuses a release of streamed files that Check cannot
// check without their rows.
func checkStreamable(in Input) error {
	for _, f := range in.Files {
		switch {
		case f.Scan == nil:
			return fmt.Errorf("disclosure: file %q was given with its rows and other files without: give every file's rows (%w)", f.Name, errStreamed)
		case f.Rows != nil:
			return fmt.Errorf("disclosure: file %q was given both its rows and a Scan", f.Name)
		case f.Scan.suppressed > 0:
			return fmt.Errorf("disclosure: file %q has %d cells suppressed at source, which the audit must protect (%w)", f.Name, f.Scan.suppressed, errStreamed)
		}
		if reason := notStreamable(f.Resource.Schema); reason != "" {
			return fmt.Errorf("disclosure: file %q cannot be checked as it is read: %s (%w)", f.Name, reason, errStreamed)
		}
	}
	if len(in.Earlier) > 0 {
		return fmt.Errorf("disclosure: streamed files are checked with no earlier releases: the caller gives none once it knows none has a suppressed cell (%w)", errStreamed)
	}
	return nil
}

// checkStreamed is Check for a release of streamed files (see the top of
// this file).
func checkStreamed(in Input) (Result, error) {
	if err := checkStreamable(in); err != nil {
		return Result{}, err
	}
	c := &checker{}
	var tables []*table
	for _, f := range in.Files {
		if err := f.Resource.Schema.Validate(); err != nil {
			return Result{}, fmt.Errorf("disclosure: file %q: schema: %w", f.Name, err)
		}
		f, err := c.inheritRule(f, datasets.DisclosureRule{}, "")
		if err != nil {
			return Result{}, err
		}
		t, err := newTableShell(f, c)
		if err != nil {
			return Result{}, err
		}
		if f.Scan.err != nil {
			return Result{}, f.Scan.err
		}
		t.scan = f.Scan
		for _, fd := range f.Scan.findings {
			c.add(fd)
		}
		tables = append(tables, t)
	}
	for i, f := range in.Files {
		if r := tables[i].rule; r.Rule == datasets.DisclosureNone {
			c.add(Finding{Kind: KindRuleNone, File: f.Name,
				Message: fmt.Sprintf("The schema declares no small-number control, for this reason: %q. Reviewers must accept the reason before approving.", r.Reason)})
		}
	}
	for i, f := range in.Files {
		f.Scan.ids.finish(c, tables[i])
	}
	var res Result
	res.Report.Audit = AuditReport{Passed: true, CellsByMethod: map[string]int{}, Cells: []AuditCell{}, Criterion: criterion,
		Streamed: true, Notes: []string{"No cell of the release or of its dataset's earlier releases is suppressed, so no sum was audited; the files were checked as they were read."}}
	for _, t := range tables {
		res.Public = append(res.Public, t.publicFile())
	}
	c.attachKeys(tables)
	c.sortFindings(in.Files)
	return c.result(res, tables), nil
}

// keyText gives a row's identity values as written (identCols of cells),
// for people to find the row: "RR8, 15-24, M" (the row number when it has
// none).
func keyText(identCols []int, cells []string, record int) string {
	if len(identCols) == 0 {
		return fmt.Sprintf("row %d", record)
	}
	parts := make([]string, len(identCols))
	for i, c := range identCols {
		parts[i] = cells[c]
	}
	return strings.Join(parts, ", ")
}
