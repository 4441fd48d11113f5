package disclosure

import (
	"cmp"
	"fmt"
	"io"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/candour/candour/datasets"
)

// File is one file of a release, already parsed and validated by
// datasets.Reader.
type File struct {
	Name     string            // file name, e.g. "shmi-2025-09.csv"
	Resource datasets.Resource // its schema and dialect
	Header   []string          // header cells as in the file (the field names when it has none)
	Rows     []datasets.Row    // every data row, Values typed
	// Scan, for a file read without keeping its rows (Rows nil), is what
	// was found as it was read: see Streamable.
	Scan *Scan
}

// Earlier is an earlier release of the same dataset.
type Earlier struct {
	Version int    // the earlier release's version number
	Files   []File // its PUBLIC files, parsed (never an original)
	// Linked says that the new release declares its cells unchanged since
	// this release, except in the rows listed in UnchangedExcept (as a
	// correction's change notes do). An unchanged cell is the same unknown
	// in both releases. Releases that are not linked take no part.
	Linked bool
	// UnchangedExcept are the row keys (primary-key values joined by "|")
	// of the rows that changed.
	UnchangedExcept []string
	// Originals are the earlier release's ORIGINAL files, given when the
	// new release corrects it (Linked must be set too). The link is then
	// cell by cell and decided by the originals: a cell is the same
	// unknown in both releases exactly when its original value is
	// unchanged, and UnchangedExcept is not used. Like the current
	// release's originals, they are input only.
	Originals []File
}

// Input is a release to check.
type Input struct {
	Files   []File
	Earlier []Earlier
	// Texts are the release's published words (title, change notes,
	// correction notice, quality statements): a number in them that,
	// read as the value of a cell it mentions, narrows a suppressed cell
	// below the protection blocks the release.
	Texts []Text
	// Directory gives each organisation's parent by link ("icb",
	// "region"), for fields whose candour:parent names the directory:
	// Directory["icb"]["A81001"] = "QHM". See DirectoryLinks.
	Directory map[string]map[string]string
}

// Text is one published text of a release.
type Text struct {
	Field string // where it is given, e.g. "release.changeNotes"
	Text  string
}

// Result is the outcome of Check.
type Result struct {
	Public  []PublicFile // one per input file, in order
	Report  Report       // private to the publisher and reviewers: it names cells
	Blocked bool         // some finding is blocking
}

// PublicFile is the public version of one file.
type PublicFile struct {
	Name     string
	Resource datasets.Resource // the public schema (markers declared), UTF-8 comma-separated with a header
	Header   []string
	Rows     [][]string // cell text
	// Unchanged says every row is published as in the original. A
	// streamed file's (see Scan) has no Rows: its public CSV is the
	// original's rows, read again and written with WriteCSV's format.
	Unchanged bool
}

// WriteCSV writes the header and rows as CSV with datasets.Writer.
func (p PublicFile) WriteCSV(w io.Writer) error {
	_, err := p.WriteRows(w, slices.Values(p.Rows))
	return err
}

// WriteRows writes the header and rows as CSV with datasets.Writer, as
// WriteCSV does, from rows as they come (a streamed file's original rows,
// read again), and returns how many it wrote.
func (p PublicFile) WriteRows(w io.Writer, rows iter.Seq[[]string]) (int64, error) {
	cw, err := datasets.NewWriter(w, p.Header)
	if err != nil {
		return 0, fmt.Errorf("public file %q: %w", p.Name, err)
	}
	n := int64(0)
	for row := range rows {
		if err := cw.Write(row); err != nil {
			cw.Close()
			return n, fmt.Errorf("public file %q: %w", p.Name, err)
		}
		n++
	}
	if err := cw.Close(); err != nil {
		return n, fmt.Errorf("public file %q: %w", p.Name, err)
	}
	return n, nil
}

// Report is the private report of a check.
type Report struct {
	Files    []FileReport  `json:"files"`
	Findings []Finding     `json:"findings"`
	Audit    AuditReport   `json:"audit"`
	Summary  PublicSummary `json:"summary"`
}

// Finding is one thing the reviewers must see. Blocking findings stop the
// release until the publisher resubmits.
type Finding struct {
	Kind     string `json:"kind"`
	Blocking bool   `json:"blocking"`
	File     string `json:"file"`
	Row      int    `json:"row,omitempty"`    // record number as datasets.Row.Record (the header is 1); 0 for the whole file
	Column   int    `json:"column,omitempty"` // 1-based; 0 for the whole row or file
	Field    string `json:"field,omitempty"`
	Key      string `json:"key,omitempty"`   // the row's key and dimension values as written, e.g. "RR8, 15-24, M"
	Value    string `json:"value,omitempty"` // the cell as in the original, for reviewers
	Message  string `json:"message"`         // names the row (by number and key values) and column in words
	// Because names what gives a cell away: the margins, files, linked
	// releases or text whose publication narrows it.
	Because []string `json:"because,omitempty"`
}

// NeedsAcceptance reports whether reviewers must accept the finding
// explicitly before approving: a declaration that publishes something
// with less protection than Candour would give by default (no
// small-number control, a whole-number column declared not a count, a
// column declared already public).
func (f Finding) NeedsAcceptance() bool {
	return !f.Blocking && (f.Kind == KindRuleNone || f.Kind == KindNotACount || f.Kind == KindAlreadyPublished)
}

// AcceptanceKey names a finding needing acceptance in a review: its kind,
// file and column, stable from one reading of the report to the next.
func (f Finding) AcceptanceKey() string {
	return f.Kind + "|" + f.File + "|" + f.Field
}

// Kinds of finding.
const (
	KindNHSNumber        = "nhs-number"
	KindPostcode         = "postcode"
	KindDateOfBirth      = "date-of-birth"
	KindFullDate         = "full-date"
	KindDirectIdentifier = "direct-identifier"
	KindFreeText         = "free-text"
	KindKAnonymity       = "k-anonymity"
	KindLDiversity       = "l-diversity"
	KindRecoverable      = "recoverable"
	KindAuditIncomplete  = "audit-incomplete"
	KindNotAdditive      = "not-additive"
	KindInconsistent     = "inconsistent"
	KindNegativeCount    = "negative-count"
	KindRuleNone         = "rule-none"
	KindMagnitude        = "magnitude"
	KindDuplicateCell    = "duplicate-cell"
	KindNoQuasiIDs       = "no-quasi-identifiers"
)

// FileReport describes what was done to one file.
type FileReport struct {
	File              string             `json:"file"`
	Rule              string             `json:"rule"` // as declared; "" when the schema declares none (no counts)
	Reason            string             `json:"reason,omitempty"`
	Threshold         int                `json:"threshold,omitempty"`
	Protection        int                `json:"protection"`
	ProtectionPercent float64            `json:"protectionPercent,omitempty"`
	NationalRows      int                `json:"nationalRows"`
	Cells             CellCounts         `json:"cells"`
	MarkerAdded       []string           `json:"markerAdded,omitempty"`    // fields whose public schema gained a marker
	DroppedColumns    []string           `json:"droppedColumns,omitempty"` // columns left out of a magnitude table
	FreeTextColumns   []string           `json:"freeTextColumns,omitempty"`
	RecordLevel       *RecordLevelReport `json:"recordLevel,omitempty"`
	Magnitude         *MagnitudeReport   `json:"magnitude,omitempty"`
	BlockingFindings  int                `json:"blockingFindings"`
}

// CellCounts counts the controlled cells of a file (counts of individuals,
// totals, simple statistics and magnitudes) by what happened to them.
type CellCounts struct {
	Controlled          int `json:"controlled"`
	SuppressedPrimary   int `json:"suppressedPrimary"`   // small counts, statistics from few contributors, sensitive magnitude cells
	SuppressedSecondary int `json:"suppressedSecondary"` // suppressed so that others cannot be worked out
	SuppressedAtSource  int `json:"suppressedAtSource"`  // already suppressed in the original
	Rounded             int `json:"rounded"`
	Unchanged           int `json:"unchanged"`
	Missing             int `json:"missing"`
}

// Check runs disclosure control on a release. Its error is for misuse and
// declaration problems only (a file whose schema has counts of
// individuals but no rule, rows not parsed against the schema, a magnitude
// file with counts), and names the file and field; everything about the
// data is a finding in the report.
func Check(in Input) (Result, error) {
	if slices.ContainsFunc(in.Files, func(f File) bool { return f.Scan != nil }) {
		return checkStreamed(in)
	}
	c := &checker{}
	rule, from := releaseRule(in.Files)
	files := slices.Clone(in.Files)
	var current []*table
	for i := range files {
		f, err := c.inheritRule(files[i], rule, from)
		if err != nil {
			return Result{}, err
		}
		files[i] = f
		t, err := newCurrentTable(f, c)
		if err != nil {
			return Result{}, err
		}
		t.index = i
		current = append(current, t)
	}
	for i, f := range files {
		if r := current[i].rule; r.Rule == datasets.DisclosureNone {
			c.add(Finding{Kind: KindRuleNone, File: f.Name,
				Message: fmt.Sprintf("The schema declares no small-number control, for this reason: %q. Reviewers must accept the reason before approving.", r.Reason)})
		}
	}
	// Identifiers and record-level risk depend only on the files: they are
	// scanned while the audit runs, and their findings take the place they
	// would have had.
	scanned, scannedAt := &checker{}, len(c.findings)
	var scans sync.WaitGroup
	scans.Go(func() {
		for i, f := range files {
			scanned.scanIdentifiers(f, current[i])
			scanned.checkRecordLevel(f, current[i])
		}
	})
	defer scans.Wait()
	earlier, err := earlierTables(in.Earlier, current, rule)
	if err != nil {
		return Result{}, err
	}
	parents, err := resolveParents(files, in.Directory)
	if err != nil {
		return Result{}, err
	}
	c.unmappedFindings(current, parents)
	m := buildModel(current, earlier, parents, c)
	m.caching = slices.ContainsFunc(current, func(t *table) bool { return t.editable }) || hasFigures(in.Texts)
	added := m.secondary()
	final := m.audit()
	c.auditFindings(m, final)
	c.textFindings(m, final, in.Texts)
	scans.Wait()
	c.findings = slices.Insert(c.findings, scannedAt, scanned.findings...)

	var res Result
	res.Report.Audit = m.auditReport(final, added)
	for _, t := range current {
		res.Public = append(res.Public, t.publicFile())
	}
	c.attachKeys(m.tables)
	c.sortFindings(files)
	return c.result(res, current), nil
}

// result completes res with the findings, the current tables' reports and
// whether anything blocks.
func (c *checker) result(res Result, current []*table) Result {
	res.Report.Findings = c.findings
	if res.Report.Findings == nil {
		res.Report.Findings = []Finding{}
	}
	for _, t := range current {
		fr := t.fileReport()
		for _, f := range c.findings {
			if f.File == t.name && f.Blocking {
				fr.BlockingFindings++
			}
		}
		res.Report.Files = append(res.Report.Files, fr)
		res.Report.Summary.Files = append(res.Report.Summary.Files, t.fileSummary(fr.Cells))
	}
	for _, f := range c.findings {
		if f.Blocking {
			res.Blocked = true
		}
	}
	return res
}

// earlierTables prepares the public files of the linked earlier releases
// (and links a corrected release cell by cell through its originals).
// They are read with the current files' fail-safe declarations: defaults
// and detected totals of a file of the same name.
func earlierTables(in []Earlier, current []*table, rule datasets.DisclosureRule) ([]*table, error) {
	var earlier []*table
	for _, e := range in {
		if !e.Linked {
			continue
		}
		except := map[string]bool{}
		for _, k := range e.UnchangedExcept {
			except[k] = true
		}
		var links map[string]bool
		if len(e.Originals) > 0 {
			before, err := originalTables(e.Originals, e.Version, rule, current)
			if err != nil {
				return nil, err
			}
			links = correctionLinks(current, before, except)
		}
		for _, f := range e.Files {
			t, err := newEarlierTable(f, e.Version, except, rule, current)
			if err != nil {
				return nil, err
			}
			t.links = links
			earlier = append(earlier, t)
		}
	}
	return earlier, nil
}

// checker collects findings.
type checker struct {
	findings   []Finding
	textTrials int // figure-as-cell audits of the texts so far
}

func (c *checker) add(f Finding) {
	c.findings = append(c.findings, f)
}

// sortFindings puts blocking findings first, then in file, row and column
// order; the sort is stable so that findings of one cell keep their order.
func (c *checker) sortFindings(files []File) {
	order := map[string]int{}
	for i, f := range files {
		order[f.Name] = i
	}
	sort.SliceStable(c.findings, func(i, j int) bool {
		a, b := c.findings[i], c.findings[j]
		if a.Blocking != b.Blocking {
			return a.Blocking
		}
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		if a.Row != b.Row {
			return a.Row < b.Row
		}
		return a.Column < b.Column
	})
}

// attachKeys gives every finding about a row the row's key values, and
// puts them in its message beside the row number.
func (c *checker) attachKeys(tables []*table) {
	byLabel := map[string]*table{}
	for _, t := range tables {
		if _, ok := byLabel[t.label()]; !ok {
			byLabel[t.label()] = t
		}
	}
	rowOf := map[*table]func(int) (int, bool){}
	for i := range c.findings {
		f := &c.findings[i]
		t := byLabel[f.File]
		if f.Row == 0 || t == nil {
			continue
		}
		if t.scan != nil { // a streamed file's findings came with their keys
			if f.Key != "" {
				f.Message = withKey(f.Message, f.Row, f.Key)
			}
			continue
		}
		if rowOf[t] == nil {
			rowOf[t] = t.rowOfRecord()
		}
		r, ok := rowOf[t](f.Row)
		if !ok {
			continue
		}
		if f.Key == "" {
			f.Key = t.keyText(r)
		}
		f.Message = withKey(f.Message, f.Row, f.Key)
	}
}

// rowOfRecord returns what finds the row of a record number: a binary
// search when the record numbers rise row by row (as a parsed file's do),
// else a map.
func (t *table) rowOfRecord() func(int) (int, bool) {
	rising := slices.IsSortedFunc(t.rows, func(a, b datasets.Row) int { return cmp.Compare(a.Record, b.Record) })
	if rising {
		return func(rec int) (int, bool) {
			return slices.BinarySearchFunc(t.rows, rec, func(row datasets.Row, rec int) int { return cmp.Compare(row.Record, rec) })
		}
	}
	index := make(map[int]int, len(t.rows))
	for r := range t.rows {
		index[t.rows[r].Record] = r
	}
	return func(rec int) (int, bool) {
		r, ok := index[rec]
		return r, ok
	}
}

// withKey adds key after the first mention of row number row in msg
// ("Row 5" → "Row 5 (RR8, 15-24, M)"), unless msg already gives it.
func withKey(msg string, row int, key string) string {
	if strings.Contains(msg, "("+key+")") {
		return msg
	}
	num := strconv.Itoa(row)
	for _, word := range []string{"Row ", "row "} {
		needle := word + num
		for from := 0; ; {
			i := strings.Index(msg[from:], needle)
			if i < 0 {
				break
			}
			j := from + i + len(needle)
			if j == len(msg) || !isDigit(msg[j]) {
				return msg[:j] + " (" + key + ")" + msg[j:]
			}
			from = j
		}
	}
	return msg
}
