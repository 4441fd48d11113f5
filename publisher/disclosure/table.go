package disclosure

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/candour/candour/datasets"
)

// treatment is what disclosure control did to a cell of a current file.
type treatment uint8

const (
	tOther     treatment = iota // not a controlled cell
	tMissing                    // controlled field, missing value
	tUnchanged                  // published as in the original
	tRounded                    // rounded to base 5
	tPrimary                    // suppressed: small count, statistic from few, sensitive magnitude
	tSecondary                  // suppressed to protect other cells
	tSource                     // suppressed in the original
)

func (t treatment) suppressed() bool { return t == tPrimary || t == tSecondary || t == tSource }

// identNumbers are a table's identity columns' values numbered: ids[i][r]
// is the number of row r's value of the i-th identity column, values[i]
// the values by number, numbered as first met in row order.
type identNumbers struct {
	ids    [][]uint32
	values [][]string
}

// treatments are the treatment of every cell of a current table, row
// after row in one slab (a table of millions of rows needs no slice a
// row). An earlier release's table has none: known is false.
type treatments struct {
	width int
	all   []treatment
}

func newTreatments(rows, width int) treatments {
	return treatments{width: width, all: make([]treatment, rows*width)}
}

func (ts treatments) known() bool { return ts.all != nil }

func (ts treatments) at(r, c int) treatment { return ts.all[r*ts.width+c] }

func (ts treatments) set(r, c int, tr treatment) { ts.all[r*ts.width+c] = tr }

// row is row r's treatments, which the caller may set.
func (ts treatments) row(r int) []treatment {
	return ts.all[r*ts.width : (r+1)*ts.width : (r+1)*ts.width]
}

// rows gives each row's number and treatments.
func (ts treatments) rows() iter.Seq2[int, []treatment] {
	return func(yield func(int, []treatment) bool) {
		for r, at := 0, 0; at < len(ts.all); r, at = r+1, at+ts.width {
			if !yield(r, ts.all[at:at+ts.width:at+ts.width]) {
				return
			}
		}
	}
}

// tally counts each column's cells by treatment.
func (ts treatments) tally() [][tSource + 1]int {
	out := make([][tSource + 1]int, ts.width)
	for at := 0; at < len(ts.all); at += ts.width {
		for c, tr := range ts.all[at : at+ts.width] {
			out[c][tr]++
		}
	}
	return out
}

// appendRow adds a row of width treatments.
func (ts *treatments) appendRow(row []treatment) { ts.all = append(ts.all, row...) }

// fieldInfo is what disclosure control needs to know about a field.
type fieldInfo struct {
	count        bool    // a count of individuals (or a total of such counts)
	statistic    bool    // a simple statistic with a contributors field
	contributors int     // index of the contributors field
	magnitude    bool    // magnitude contributions (original) or cell totals (public)
	total        bool    // the sum of parts in the same row
	parts        []int   // a total's parts
	extraParts   [][]int // further sets of parts it is found to be the sum of (undeclared totals)
	additive     bool    // takes part in sums: counts, totals, parts, magnitudes
	identity     bool    // part of a cell's identity
	number       bool    // type number (values may be non-integer)
	exact        bool    // declared already published elsewhere: published and audited exactly
}

func (f fieldInfo) controlled() bool { return f.count || f.statistic || f.magnitude || f.total }

// table is one file as disclosure control sees it: the original values and
// the public text of a current file, or the public file of an earlier
// release.
type table struct {
	name    string
	index   int // position in Input.Files (current files)
	version int // 0 for the current release, else the earlier release's version
	res     datasets.Resource
	schema  datasets.Schema
	rule    datasets.DisclosureRule // Rule "" when none is declared
	fields  []fieldInfo
	header  []string
	// rows are the file's rows as read (the caller's, not a copy): each
	// row's record number and typed values (current: the original
	// values; earlier: the parsed public values).
	rows  []datasets.Row
	cells [][]string // public text
	treat treatments // current files only
	// identNumbers are the identity columns' values numbered when totals
	// were looked for, kept for the audit model (see internRows), which
	// takes them.
	identNumbers identNumbers

	national  []bool
	identCols []int
	markers   []string // marker written when suppressing, per field
	addMarker []bool   // the public schema must declare markers[i]
	keysOnce  sync.Once
	rowKeys   []string        // primary-key values joined by "|" (see rowKey)
	editable  bool            // the heuristic may add secondary suppressions
	ambig     int8            // ambiguousCached: 0 unknown, 1 no, 2 yes
	except    map[string]bool // earlier: row keys that changed
	links     map[string]bool // earlier, corrected: the cells (field NUL identity) that are unchanged; nil when linked by rows

	aggregated  bool     // a magnitude table built from contributions
	dropped     []string // columns left out of an aggregated table
	magnitude   *MagnitudeReport
	recordLevel *RecordLevelReport
	freeText    []string
	scan        *Scan // a streamed file: its counts and findings, no rows
}

// rowKey is row r's primary-key values joined by "|", as a release's
// change notes list them; worked out for every row when first asked.
func (t *table) rowKey(r int) string {
	t.keysOnce.Do(func() { t.rowKeys = rowKeys(t.schema, t.identCols, t.cells) })
	return t.rowKeys[r]
}

// keyText gives row r's identity values as written, for people to find
// the row: "RR8, 15-24, M" (the row number when it has none).
func (t *table) keyText(r int) string { return keyText(t.identCols, t.cells[r], t.rows[r].Record) }

// where names a cell in words: "row 5 (RR8, 15-24, M), column 3 (deaths)".
func (t *table) where(r, c int) string {
	return fmt.Sprintf("row %d (%s), column %d (%s)", t.rows[r].Record, t.keyText(r), c+1, t.schema.Fields[c].Name)
}

// label names the file in messages and the audit.
func (t *table) label() string {
	if t.version == 0 {
		return t.name
	}
	return fmt.Sprintf("%s (version %d)", t.name, t.version)
}

// classify works out the fieldInfo of every field of s.
func classify(s datasets.Schema) []fieldInfo {
	infos := make([]fieldInfo, len(s.Fields))
	for i, f := range s.Fields {
		infos[i] = fieldInfo{
			count:        f.CountOfIndividuals,
			statistic:    f.Contributors != "",
			contributors: s.FieldIndex(f.Contributors),
			magnitude:    f.Magnitude,
			total:        f.Total,
			identity:     f.Role == datasets.RoleKey || f.Role == datasets.RoleDimension,
			number:       f.Type == datasets.TypeNumber,
			exact:        f.AlreadyPublished != nil,
		}
	}
	for i, f := range s.Fields {
		if !f.Total {
			continue
		}
		var parts []int
		if len(f.TotalOf) > 0 {
			for _, name := range f.TotalOf {
				parts = append(parts, s.FieldIndex(name))
			}
		} else {
			for j, g := range s.Fields {
				if j != i && g.CountOfIndividuals && !g.Total {
					parts = append(parts, j)
				}
			}
		}
		infos[i].parts = parts
		for _, j := range parts {
			infos[j].additive = true
			if infos[j].count {
				infos[i].count = true
			}
		}
	}
	for i := range infos {
		fi := &infos[i]
		fi.additive = fi.additive || fi.count || fi.magnitude || fi.total
		if fi.count || fi.magnitude {
			fi.statistic = false
		}
	}
	return infos
}

// identityColumns returns the fields that identify a cell: key and
// dimension fields, else the primary key.
func identityColumns(s datasets.Schema, infos []fieldInfo) []int {
	var cols []int
	for i, fi := range infos {
		if fi.identity {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		for _, name := range s.PrimaryKey {
			cols = append(cols, s.FieldIndex(name))
		}
	}
	return cols
}

// nationalRows reports which rows are national-level.
func nationalRows(s datasets.Schema, rows []datasets.Row) []bool {
	national := make([]bool, len(rows))
	isNational := nationalTest(s)
	for r := range rows {
		national[r] = isNational(rows[r].Values)
	}
	return national
}

// nationalTest returns what tells whether a row of schema s is
// national-level: every row when every declared geography level is
// national, else a row with one of a field's national values.
func nationalTest(s datasets.Schema) func(row []datasets.Value) bool {
	declared, allNational := false, true
	for _, f := range s.Fields {
		if f.GeographyLevel != "" {
			declared = true
			allNational = allNational && f.GeographyLevel == "national"
		}
	}
	if declared && allNational {
		return func([]datasets.Value) bool { return true }
	}
	return func(row []datasets.Value) bool {
		for c, f := range s.Fields {
			if len(f.NationalValues) > 0 && row[c].Kind != datasets.KindMissing && slices.Contains(f.NationalValues, row[c].Text) {
				return true
			}
		}
		return false
	}
}

// rowKeys joins each row's primary-key values (else its identity fields)
// with "|".
func rowKeys(s datasets.Schema, identCols []int, cells [][]string) []string {
	var cols []int
	for _, name := range s.PrimaryKey {
		cols = append(cols, s.FieldIndex(name))
	}
	if len(cols) == 0 {
		cols = identCols
	}
	keys := make([]string, len(cells))
	for r, row := range cells {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = row[c]
		}
		keys[r] = strings.Join(parts, "|")
	}
	return keys
}

// chooseMarker returns the marker to write for field f and whether the
// public schema must gain it.
func chooseMarker(f datasets.Field, missing []string) (string, bool) {
	if len(f.Suppressed) > 0 {
		return f.Suppressed[0], false
	}
	for _, m := range []string{"*", "c", "[c]", "[x]"} {
		if !slices.Contains(missing, m) {
			return m, true
		}
	}
	return "[suppressed]", true
}

// checkRows checks that the file's header and rows agree with its schema.
func checkRows(f File) error {
	n := len(f.Resource.Schema.Fields)
	if f.Header != nil && len(f.Header) != n {
		return fmt.Errorf("disclosure: file %q: the header has %d cells, the schema declares %d fields", f.Name, len(f.Header), n)
	}
	for _, row := range f.Rows {
		if len(row.Values) != n || len(row.Cells) != n {
			return fmt.Errorf("disclosure: file %q: row %d has %d values, the schema declares %d fields (read and validate the file with datasets.Reader first)", f.Name, row.Record, len(row.Values), n)
		}
	}
	return nil
}

// newCurrentTable prepares a file of the release and applies its rule.
func newCurrentTable(f File, c *checker) (*table, error) {
	s := f.Resource.Schema
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("disclosure: file %q: schema: %w", f.Name, err)
	}
	if err := checkRows(f); err != nil {
		return nil, err
	}
	t, err := newTableShell(f, c)
	if err != nil {
		return nil, err
	}
	infos := t.fields
	t.rows = f.Rows
	if slices.ContainsFunc(infos, func(fi fieldInfo) bool { return fi.magnitude }) {
		if err := t.aggregate(f, c); err != nil {
			return nil, err
		}
	} else {
		t.applyRule(c)
		t.editable = t.rule.Rule == datasets.DisclosureThreshold
	}
	t.identCols = identityColumns(t.schema, t.fields)
	if smallNumberRule(t.rule.Rule) && !t.aggregated {
		t.detectTotals(c)
	}
	c.preSuppressed(t)
	return t, nil
}

// newTableShell prepares a current file's schema, rule and markers, with
// no rows yet: the fail-safe schema's findings go to c.
func newTableShell(f File, c *checker) (*table, error) {
	s := c.failSafeSchema(f.Name, f.Resource.Schema)
	t := &table{name: f.Name, res: f.Resource, schema: s, fields: classify(s), header: f.Header}
	if t.header == nil {
		t.header = s.FieldNames()
	}
	if s.Disclosure != nil {
		t.rule = *s.Disclosure
	} else {
		for i, fl := range s.Fields {
			if fl.CountOfIndividuals {
				return nil, fmt.Errorf("disclosure: file %q: field %q is a count of individuals, but the schema declares no candour:disclosure rule (declare nhs-digital, threshold, or none with a reason)", f.Name, s.Fields[i].Name)
			}
		}
	}
	for _, fl := range s.Fields {
		m, add := chooseMarker(fl, s.MissingValues)
		t.markers = append(t.markers, m)
		t.addMarker = append(t.addMarker, add)
	}
	t.identCols = identityColumns(t.schema, t.fields)
	return t, nil
}

// roundCount turns a count into whole individuals: halves round up, and a
// positive count below one half counts as one.
func roundCount(x float64) float64 {
	if x <= 0 {
		return x
	}
	return math.Max(1, math.Floor(x+0.5))
}

// nhsDigital applies the NHS Digital rule to a sub-national count x:
// 0 stays as it is, 1–7 become the marker, others are rounded to the
// nearest 5 (5*round(v/5)).
func nhsDigital(x float64, text, marker string) (string, treatment) {
	u := roundCount(x)
	switch {
	case u == 0:
		return text, tUnchanged
	case u <= 7:
		return marker, tPrimary
	}
	return roundedText(nhsRounded(x)), tRounded
}

// nhsRounded is what the NHS Digital rule publishes for a count x it
// rounds: worked out again from the original where the audit needs it,
// which is cheaper than reading the published text back.
func nhsRounded(x float64) float64 { return 5 * math.Round(roundCount(x)/5) }

// roundedTexts are the texts of the smaller rounded counts (0, 5, 10, …),
// made once: most published counts are among them, and a text made for
// each of millions of cells is an allocation each.
var roundedTexts = func() []string {
	texts := make([]string, 4096)
	for i := range texts {
		texts[i] = strconv.Itoa(5 * i)
	}
	return texts
}()

// roundedText writes a rounded count (a multiple of 5).
func roundedText(x float64) string {
	if x >= 0 && x < float64(5*len(roundedTexts)) {
		return roundedTexts[int(x)/5]
	}
	return strconv.FormatFloat(x, 'f', 0, 64)
}

// applyRule applies the table's rule to every cell, rows in parallel.
func (t *table) applyRule(c *checker) {
	isNational := nationalTest(t.schema)
	t.national = make([]bool, len(t.rows))
	width := len(t.fields)
	t.cells = make([][]string, len(t.rows))
	t.treat = newTreatments(len(t.rows), width)
	var mu sync.Mutex
	var found []Finding
	inChunks(len(t.rows), func(from, to int) {
		// Each chunk's cells in slabs of its own: a release of millions
		// of rows needs hundreds of megabytes of them, which the runtime
		// clears as it allocates, so the chunks clear theirs in parallel.
		cellSlab := make([]string, (to-from)*width)
		var fs []Finding
		for r := from; r < to; r++ {
			row := t.rows[r].Values
			at := (r - from) * width
			t.cells[r] = cellSlab[at : at+len(row) : at+len(row)]
			t.national[r] = isNational(row)
			fs = t.applyRuleToRow(r, fs)
		}
		mu.Lock()
		found = append(found, fs...)
		mu.Unlock()
	})
	slices.SortStableFunc(found, func(a, b Finding) int { return cmp.Compare(a.Row, b.Row) })
	for _, f := range found {
		c.add(f)
	}
}

// applyRuleToRow applies the table's rule to row r's cells, appending any
// finding to fs.
func (t *table) applyRuleToRow(r int, fs []Finding) []Finding {
	rule := t.rule.Rule
	row, cells, treats := t.rows[r].Values, t.cells[r], t.treat.row(r)
	for col, v := range row {
		cells[col] = v.Text
		fi := t.fields[col]
		if !fi.controlled() {
			continue
		}
		switch v.Kind {
		case datasets.KindMissing:
			treats[col] = tMissing
			continue
		case datasets.KindSuppressed:
			treats[col] = tSource
			continue
		}
		treats[col] = tUnchanged
		x := v.Float
		switch {
		case fi.exact:
		case fi.count && x < 0:
			fs = append(fs, Finding{Kind: KindNegativeCount, Blocking: true, File: t.name, Row: t.rows[r].Record, Column: col + 1,
				Field: t.schema.Fields[col].Name, Value: v.Text,
				Message: fmt.Sprintf("Row %d, column %d (%s) is a negative count of individuals (%s); it was left unchanged, but a count cannot be negative.", t.rows[r].Record, col+1, t.schema.Fields[col].Name, v.Text)})
		case fi.count && rule == datasets.DisclosureNHSDigital && !t.national[r]:
			cells[col], treats[col] = nhsDigital(x, v.Text, t.markers[col])
		case fi.count && rule == datasets.DisclosureThreshold:
			if x > 0 && x <= float64(t.rule.Threshold) {
				cells[col], treats[col] = t.markers[col], tPrimary
			}
		case fi.statistic && (rule == datasets.DisclosureThreshold || rule == datasets.DisclosureNHSDigital && !t.national[r]):
			if t.fewContributors(row[fi.contributors]) {
				cells[col], treats[col] = t.markers[col], tPrimary
			}
		}
	}
	return fs
}

// fewContributors reports whether a statistic from cv contributors (a
// count, else unknown: suppress) is from too few under the table's rule.
func (t *table) fewContributors(cv datasets.Value) bool {
	limit := float64(t.rule.Threshold)
	if t.rule.Rule == datasets.DisclosureNHSDigital {
		limit = 7
	}
	if cv.Kind != datasets.KindInteger && cv.Kind != datasets.KindNumber {
		return true
	}
	n := cv.Float
	if t.rule.Rule == datasets.DisclosureNHSDigital {
		n = roundCount(n)
	}
	return n > 0 && n <= limit
}

// newEarlierTable prepares the public file of a linked earlier release
// (or, for a correction, an original of the release corrected). A file
// with no rule is read under the release's rule; its fields take the
// fail-safe defaults, and the margins found in the current file of the
// same name (see adopt).
func newEarlierTable(f File, version int, except map[string]bool, rule datasets.DisclosureRule, current []*table) (*table, error) {
	s := f.Resource.Schema
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("disclosure: earlier version %d, file %q: schema: %w", version, f.Name, err)
	}
	if err := checkRows(f); err != nil {
		return nil, fmt.Errorf("earlier version %d: %w", version, err)
	}
	switch {
	case s.Disclosure != nil:
	case rule.Rule != "":
		s.Disclosure = &rule
	default:
		s.Disclosure = &datasets.DisclosureRule{Rule: datasets.DisclosureNone}
	}
	s = (&checker{}).failSafeSchema(f.Name, s)
	t := &table{name: f.Name, version: version, res: f.Resource, schema: s, fields: classify(s), header: f.Header, except: except}
	t.rule = *s.Disclosure
	t.rows = f.Rows
	for _, row := range f.Rows {
		t.cells = append(t.cells, row.Cells)
	}
	t.national = nationalRows(s, t.rows)
	t.identCols = identityColumns(s, t.fields)
	for _, cur := range current {
		if cur.name == f.Name {
			t.adopt(cur)
		}
	}
	return t, nil
}

// adopt takes the margins found in a current table (undeclared totals)
// for the same fields of an earlier version of the file.
func (t *table) adopt(cur *table) {
	for i, f := range cur.schema.Fields {
		j := t.schema.FieldIndex(f.Name)
		if j < 0 {
			continue
		}
		if len(t.schema.Fields[j].TotalValues) == 0 && len(f.TotalValues) > 0 {
			t.schema.Fields[j].TotalValues = f.TotalValues
		}
		for _, set := range cur.fields[i].extraParts {
			var mine []int
			for _, p := range set {
				if k := t.schema.FieldIndex(cur.schema.Fields[p].Name); k >= 0 {
					mine = append(mine, k)
				}
			}
			if len(mine) == len(set) {
				t.fields[j].total = true
				t.fields[j].additive = true
				t.fields[j].extraParts = append(t.fields[j].extraParts, mine)
				for _, k := range mine {
					t.fields[k].additive = true
				}
			}
		}
	}
}

// cellState returns the published value of a cell: its number, or that it
// is suppressed or missing.
func (t *table) cellState(r, c int) (x float64, suppressed, missing bool) {
	if t.treat.known() {
		switch tr := t.treat.at(r, c); {
		case tr.suppressed():
			return 0, true, false
		case tr == tMissing:
			return 0, false, true
		case tr == tRounded:
			return nhsRounded(t.rows[r].Values[c].Float), false, false
		}
	}
	v := t.rows[r].Values[c]
	switch v.Kind {
	case datasets.KindSuppressed:
		return 0, true, false
	case datasets.KindInteger, datasets.KindNumber:
		return v.Float, false, false
	}
	return 0, false, true
}

// ambiguous reports whether a marker in a count field may hide a cell that
// is not a primary threshold cell, so that it discloses only "0 up to its
// margins": in a current file, when it holds secondary or source
// suppressions; in an earlier public file, always.
func (t *table) ambiguous() bool {
	if !t.treat.known() {
		return true
	}
	for _, row := range t.treat.rows() {
		for c, tr := range row {
			if (tr == tSecondary || tr == tSource) && t.fields[c].count {
				return true
			}
		}
	}
	return false
}

// publicFile returns the public version of a current table.
func (t *table) publicFile() PublicFile {
	res := t.res
	res.Schema = t.publicSchema()
	res.Dialect = datasets.DefaultDialect()
	res.Encoding = "utf-8"
	if res.Format != "" {
		res.Format = "csv"
	}
	if res.MediaType != "" {
		res.MediaType = "text/csv"
	}
	// The rows are the table's cells, not a copy (a copy was a tenth of a
	// second a million rows, in memory touched for the first time):
	// nothing changes them once the public file is made (Check makes it
	// last).
	if t.scan != nil {
		return PublicFile{Name: t.name, Resource: res, Header: slices.Clone(t.header), Unchanged: true}
	}
	return PublicFile{Name: t.name, Resource: res, Header: slices.Clone(t.header), Rows: t.cells}
}

// publicSchema returns the declared schema with the markers written
// declared (never what the audit assumed: defaults and detected totals).
func (t *table) publicSchema() datasets.Schema {
	s := t.res.Schema
	s.Fields = slices.Clone(s.Fields)
	tally := t.treat.tally()
	for i := range s.Fields {
		used := i < len(tally) && tally[i][tPrimary]+tally[i][tSecondary] > 0
		if used && t.addMarker[i] && !slices.Contains(s.Fields[i].Suppressed, t.markers[i]) {
			s.Fields[i].Suppressed = append(slices.Clone(s.Fields[i].Suppressed), t.markers[i])
		}
	}
	return s
}

// counts counts the controlled cells by treatment.
func (t *table) counts() CellCounts {
	if t.scan != nil {
		return t.scan.counts
	}
	var n CellCounts
	for c, cells := range t.treat.tally() {
		if t.fields[c].controlled() {
			for tr, k := range cells {
				n.add(treatment(tr), k)
			}
		}
	}
	return n
}

// add counts k controlled cells treated tr.
func (n *CellCounts) add(tr treatment, k int) {
	n.Controlled += k
	switch tr {
	case tMissing:
		n.Missing += k
	case tUnchanged:
		n.Unchanged += k
	case tRounded:
		n.Rounded += k
	case tPrimary:
		n.SuppressedPrimary += k
	case tSecondary:
		n.SuppressedSecondary += k
	case tSource:
		n.SuppressedAtSource += k
	}
}

// fileReport describes what was done to a current table.
func (t *table) fileReport() FileReport {
	fr := FileReport{
		File: t.name, Rule: t.rule.Rule, Reason: t.rule.Reason, Threshold: t.rule.Threshold,
		Protection: t.rule.ProtectionValues(), ProtectionPercent: t.rule.ProtectionPercent,
		Cells: t.counts(), DroppedColumns: t.dropped, FreeTextColumns: t.freeText, Magnitude: t.magnitude,
		RecordLevel: t.recordLevel,
	}
	for _, n := range t.national {
		if n {
			fr.NationalRows++
		}
	}
	if t.scan != nil {
		fr.NationalRows = t.scan.national
	}
	s := t.publicSchema()
	for i, f := range s.Fields {
		if len(f.Suppressed) > len(t.schema.Fields[i].Suppressed) {
			fr.MarkerAdded = append(fr.MarkerAdded, f.Name)
		}
	}
	return fr
}
