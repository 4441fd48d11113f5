package disclosure

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/candour/candour/datasets"
)

// The identifier scan reads a file's rows one at a time and keeps, for
// each column, only what its findings need: the first value, counts, and
// the first findingsCap cells of each kind. Check runs it over the rows
// it is given, and a caller that reads a large file without keeping its
// rows (see Scan) runs the same scan as it reads, so the two give the
// same findings.

// identifierScan is the scan of one file.
type identifierScan struct {
	file   string
	schema datasets.Schema
	person bool // record-level: postcodes and full dates are findings
	cols   []columnScan
	// keyOf, when set, gives the key values of a row a finding names
	// (a streamed file's rows are gone when attachKeys runs).
	keyOf func(datasets.Row) string
}

// columnScan is what the scan keeps of one column.
type columnScan struct {
	name      string
	direct    bool // declared a direct identifier
	mayBeText bool // a string column that free text could be in
	freeText  bool // holds free text (role note, or a long value seen)
	nhsColumn bool // named as NHS numbers
	birth     bool // named as dates of birth
	first     *cellSeen
	tokens    int // ten-digit tokens
	passing   int // of which pass as NHS numbers
	nhsAll    cappedCells[nhsCandidate]
	nhsNamed  cappedCells[nhsCandidate] // beside the word "NHS"
	postcodes cappedCells[postcodeCell]
	dates     []*cappedCells[cellSeen] // by kind, in order of first finding
	dateKinds []string
}

// cellSeen is a cell a finding is about.
type cellSeen struct {
	record int
	text   string
	key    string // the row's key values, when keyOf is set
}

type nhsCandidate struct {
	cell  cellSeen
	token nhsToken
	named bool // "NHS" is in the cell
}

type postcodeCell struct {
	cell     cellSeen
	postcode string
}

// cappedCells keeps the first findingsCap items and counts them all.
type cappedCells[T any] struct {
	first []T
	n     int
}

// add counts one more item, made by x if it is kept.
func (c *cappedCells[T]) add(x func() T) {
	c.n++
	if len(c.first) < findingsCap {
		c.first = append(c.first, x())
	}
}

// newIdentifierScan starts the scan of file, whose schema is s.
func newIdentifierScan(file string, s datasets.Schema) *identifierScan {
	sc := &identifierScan{file: file, schema: s, person: recordLevel(s), cols: make([]columnScan, len(s.Fields))}
	for i, f := range s.Fields {
		sc.cols[i] = columnScan{
			name:      f.Name,
			direct:    f.Role == datasets.RoleDirectIdentifier,
			freeText:  f.Role == datasets.RoleNote,
			mayBeText: mayHoldFreeText(s, i),
			nhsColumn: nhsNoName.MatchString(f.Name) || nhsNoName.MatchString(f.Title),
			birth:     birthName.MatchString(f.Name) || birthName.MatchString(f.Title),
		}
	}
	return sc
}

// mayHoldFreeText reports whether field i is a string field with no role,
// enum, pattern or organisation reference, and not another field's
// organisation name: free text is found in such a field by a value of
// 100 characters or 12 words or more (long organisation names stay
// below).
func mayHoldFreeText(s datasets.Schema, i int) bool {
	f := s.Fields[i]
	if f.Role != "" || (f.Type != "" && f.Type != datasets.TypeString) || f.Constraints.Enum != nil ||
		f.Constraints.Pattern != "" || f.Organisation != nil {
		return false
	}
	for _, g := range s.Fields {
		if g.Organisation != nil && g.Organisation.NameField == f.Name {
			return false
		}
	}
	return true
}

// add scans one row (read and validated by datasets.Reader).
func (sc *identifierScan) add(row datasets.Row) {
	for col := range sc.cols {
		cs := &sc.cols[col]
		text, v := row.Cells[col], row.Values[col]
		seen := func() cellSeen { return sc.cell(row, text) }
		if cs.first == nil && v.Kind != datasets.KindMissing {
			first := seen()
			cs.first = &first
		}
		if cs.mayBeText && !cs.freeText && (utf8.RuneCountInString(text) >= 100 || len(strings.Fields(text)) >= 12) {
			cs.freeText = true
		}
		for _, tok := range nhsTokens(text) {
			cs.tokens++
			if !IsNHSNumber(tok.digits) {
				continue
			}
			cs.passing++
			named := strings.Contains(strings.ToLower(text), "nhs")
			cand := func() nhsCandidate { return nhsCandidate{cell: seen(), token: tok, named: named} }
			cs.nhsAll.add(cand)
			if named {
				cs.nhsNamed.add(cand)
			}
		}
		if sc.person || cs.freeText || cs.mayBeText {
			for _, pc := range Postcodes(text) {
				cs.postcodes.add(func() postcodeCell { return postcodeCell{seen(), pc} })
			}
		}
		if kind := sc.dateKind(cs, v); kind != "" {
			i := indexOf(cs.dateKinds, kind)
			if i < 0 {
				cs.dateKinds = append(cs.dateKinds, kind)
				cs.dates = append(cs.dates, &cappedCells[cellSeen]{})
				i = len(cs.dates) - 1
			}
			cs.dates[i].add(func() cellSeen { return sc.cell(row, v.Text) })
		}
	}
}

// cell is a cell of row a finding may name, with text as its value.
func (sc *identifierScan) cell(row datasets.Row, text string) cellSeen {
	c := cellSeen{record: row.Record, text: text}
	if sc.keyOf != nil {
		c.key = sc.keyOf(row)
	}
	return c
}

// dateKind is the finding a value is: a date of birth, a full date in a
// person-level file, or neither ("").
func (sc *identifierScan) dateKind(cs *columnScan, v datasets.Value) string {
	if v.Kind == datasets.KindMissing || v.Kind == datasets.KindSuppressed {
		return ""
	}
	if !cs.birth && !(sc.person && v.Kind == datasets.KindDate) {
		return ""
	}
	full := v.Kind == datasets.KindDate || v.Kind == datasets.KindString && fullDateRe.MatchString(v.Text)
	switch {
	case cs.birth && full:
		return KindDateOfBirth
	case sc.person && v.Kind == datasets.KindDate:
		return KindFullDate
	}
	return ""
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

// finish adds the scan's findings to c, column by column, and lists the
// free-text columns on t.
func (sc *identifierScan) finish(c *checker, t *table) {
	for col := range sc.cols {
		cs := &sc.cols[col]
		if cs.freeText && t != nil {
			t.freeText = append(t.freeText, cs.name)
		}
		sc.columnFindings(c, col, cs)
	}
}

// columnFindings adds one column's findings: a direct identifier, free
// text, NHS numbers, postcodes and dates, each kind capped at findingsCap
// cells with one more finding counting the rest.
func (sc *identifierScan) columnFindings(c *checker, col int, cs *columnScan) {
	name := cs.name
	cellFinding := func(kind string, blocking bool, cell cellSeen, value, what string) Finding {
		return Finding{Kind: kind, Blocking: blocking, File: sc.file, Row: cell.record, Column: col + 1, Field: name,
			Key: cell.key, Value: value, Message: fmt.Sprintf("Row %d, column %d (%s) %s.", cell.record, col+1, name, what)}
	}
	if cs.direct {
		fd := Finding{Kind: KindDirectIdentifier, Blocking: true, File: sc.file, Column: col + 1, Field: name,
			Message: fmt.Sprintf("Column %d (%s) is declared a direct identifier, which must never be published; remove it and resubmit.", col+1, name)}
		if cs.first != nil {
			fd.Row, fd.Value, fd.Key = cs.first.record, cs.first.text, cs.first.key
			fd.Message = fmt.Sprintf("Column %d (%s) is declared a direct identifier, which must never be published (first value in row %d); remove it and resubmit.", col+1, name, cs.first.record)
		}
		c.add(fd)
	}
	if cs.freeText {
		fd := Finding{Kind: KindFreeText, File: sc.file, Column: col + 1, Field: name,
			Message: fmt.Sprintf("Column %d (%s) holds free text: read it for anything that identifies a person before approving.", col+1, name)}
		if cs.first != nil {
			fd.Row, fd.Value, fd.Key = cs.first.record, shorten(cs.first.text, 80), cs.first.key
		}
		c.add(fd)
	}
	var capped []Finding // one per kind over the cap, in order of first finding
	capNote := func(kind string, blocking bool, n int) {
		if n > findingsCap {
			capped = append(capped, Finding{Kind: kind, Blocking: blocking, File: sc.file, Column: col + 1, Field: name,
				Message: fmt.Sprintf("Column %d (%s) has %d more cells like the %d reported (%s).", col+1, name, n-findingsCap, findingsCap, kind)})
		}
	}

	// NHS numbers: every token that passes, when the column holds them
	// (by name, or most of its ten-digit numbers pass); else those beside
	// the word "NHS".
	columnWide := cs.nhsColumn || cs.passing > 0 && 2*cs.passing > cs.tokens
	nhs := cs.nhsNamed
	if columnWide {
		nhs = cs.nhsAll
	}
	for _, cand := range nhs.first {
		why := "holds what passes as an NHS number (Modulus 11)"
		switch {
		case cand.named:
			why = fmt.Sprintf("holds an NHS number (%s, valid by Modulus 11) beside the word \"NHS\"", cand.token.text)
		case columnWide:
			why = fmt.Sprintf("holds an NHS number (%s): %d of the column's %d ten-digit numbers pass Modulus 11", cand.token.text, cs.passing, cs.tokens)
		}
		if strings.HasPrefix(cand.token.digits, "999") {
			why += " (in the test range 999, so the column holds NHS numbers)"
		}
		c.add(cellFinding(KindNHSNumber, true, cand.cell, cand.cell.text, why))
	}
	capNote(KindNHSNumber, true, nhs.n)

	// Postcodes: blocking in person-level files, for reviewers in free
	// text elsewhere.
	if sc.person || cs.freeText {
		for _, p := range cs.postcodes.first {
			if sc.person {
				c.add(cellFinding(KindPostcode, true, p.cell, p.cell.text,
					fmt.Sprintf("holds a full postcode (%s) in a person-level file: publish LSOA or a wider area instead", p.postcode)))
			} else {
				c.add(cellFinding(KindPostcode, false, p.cell, p.cell.text,
					fmt.Sprintf("holds a full postcode (%s) in free text: check that it is not a person's address", p.postcode)))
			}
		}
		capNote(KindPostcode, sc.person, cs.postcodes.n)
	}

	// Dates of birth, and full dates in person-level files.
	for i, kind := range cs.dateKinds {
		for _, d := range cs.dates[i].first {
			if kind == KindDateOfBirth {
				c.add(cellFinding(kind, true, d, d.text,
					"holds a full date of birth: publish an age band (5-year bands, 90+) or at most month and year instead"))
			} else {
				c.add(cellFinding(kind, false, d, d.text,
					"holds a full date in a person-level file: check that it cannot be linked with other data (a date of death with small-area geography must not be published)"))
			}
		}
		capNote(kind, kind == KindDateOfBirth, cs.dates[i].n)
	}
	for _, f := range capped {
		c.add(f)
	}
}

// scanIdentifiers reports direct identifiers in an original file whose
// rows Check was given.
func (c *checker) scanIdentifiers(f File, t *table) {
	sc := newIdentifierScan(f.Name, f.Resource.Schema)
	for _, row := range f.Rows {
		sc.add(row)
	}
	sc.finish(c, t)
}
