package datasets

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Row is one data row of a file.
type Row struct {
	Number int      // data row number, first data row = 1
	Record int      // record number in the file, counting a header as 1 (as Problem.Row)
	Line   int      // physical line where the record starts
	Cells  []string // raw cell text, one per field (for a ragged row, as many as the row has)
	Values []Value  // typed, one per field; nil for a ragged row
}

// Reader reads the rows of a CSV file described by a Resource, checking
// every cell against the schema as it goes. It streams: memory use does not
// grow with the file.
type Reader struct {
	name    string
	fields  []Field
	parsers []*fieldParser
	missing []string
	dec     io.Reader
	csv     *csv.Reader
	header  []string
	records int // records read, header included
	rows    int // data rows read
	err     error
}

// readBufferSize is the buffer between the decoder and encoding/csv.
const readBufferSize = 64 << 10

// NewReader returns a Reader for the file called name (used in problems)
// described by res, and reads the header at once. A file that is empty (no
// bytes, or only a byte order mark and blank lines), a header that differs
// from the schema's field names, and an encoding or quoting error in the
// header are reported as Problems. An encoding, dialect or schema in res
// that is not valid is an ordinary error; res's name, path, format and
// media type are not used.
func NewReader(r io.Reader, name string, res Resource) (*Reader, error) {
	if err := res.validateForReading(); err != nil {
		return nil, fmt.Errorf("resource %q: %w", res.Name, err)
	}
	enc, _ := canonicalEncoding(res.Encoding)
	rd := &Reader{
		name:    name,
		fields:  res.Schema.Fields,
		missing: res.Schema.MissingValues,
	}
	for _, f := range res.Schema.Fields {
		p, err := newFieldParser(f)
		if err != nil { // not reached: Validate checked the fields
			return nil, fmt.Errorf("resource %q: field %q: %w", res.Name, f.Name, err)
		}
		rd.parsers = append(rd.parsers, p)
	}
	switch enc {
	case EncodingWindows1252:
		rd.dec = newCP1252Reader(r)
	default:
		rd.dec = newUTF8Reader(r)
	}
	br := bufio.NewReaderSize(rd.dec, readBufferSize)
	if isBlank(br) {
		return nil, Problems{rd.problem(Problem{Message: "file is empty"})}
	}
	rd.csv = csv.NewReader(br)
	rd.csv.Comma = res.Dialect.comma()
	rd.csv.ReuseRecord = true
	rd.csv.FieldsPerRecord = -1
	rd.csv.LazyQuotes = false
	rd.csv.TrimLeadingSpace = res.Dialect.SkipInitialSpace

	if !res.Dialect.Header {
		rd.header = res.Schema.FieldNames()
		return rd, nil
	}
	rec, err := rd.csv.Read()
	if err != nil {
		if err == io.EOF {
			return nil, Problems{rd.problem(Problem{Message: "file is empty"})}
		}
		return nil, rd.fatal(err, rec)
	}
	rd.records++
	rd.header = slices.Clone(rec)
	line, _ := rd.csv.FieldPos(0)
	if ps := compareHeader(rd.header, res.Schema.FieldNames()); len(ps) > 0 {
		if hint, ok := delimiterHint(rd.header, res.Schema.FieldNames(), rd.csv.Comma); ok {
			ps = Problems{hint}
		}
		for i := range ps {
			ps[i].File, ps[i].Row, ps[i].Line = name, 1, line
		}
		return nil, ps
	}
	return rd, nil
}

// isBlank reports whether the decoded input holds nothing but spaces,
// tabs and line ends, looking no further than the buffer holds. It reads
// nothing out of br.
func isBlank(br *bufio.Reader) bool {
	buf, err := br.Peek(br.Size())
	if err != io.EOF {
		return false // more to come, or an error that the first Read will report
	}
	return len(bytes.Trim(buf, " \t\r\n")) == 0
}

// compareHeader reports each column where header differs from names.
func compareHeader(header, names []string) Problems {
	var ps Problems
	for i := range max(len(header), len(names)) {
		p := Problem{Column: i + 1, Offset: -1}
		switch {
		case i >= len(names):
			p.Value = shorten(header[i], 80)
			p.Message = fmt.Sprintf("extra column %s: the schema declares %d fields", quote(header[i]), len(names))
		case i >= len(header):
			p.Field = names[i]
			p.Message = fmt.Sprintf("missing column: the schema expects %s, but the header has %d columns", quote(names[i]), len(header))
		case header[i] != names[i]:
			p.Field = names[i]
			p.Value = shorten(header[i], 80)
			p.Message = fmt.Sprintf("the header is %s, the schema expects %s", quote(header[i]), quote(names[i]))
			if j := slices.Index(names, header[i]); j >= 0 {
				p.Message += fmt.Sprintf(" (the schema has %s in column %d)", quote(header[i]), j+1)
			} else if strings.EqualFold(strings.TrimSpace(header[i]), strings.TrimSpace(names[i])) {
				p.Message += " (they differ only in letter case or spaces)"
			}
		default:
			continue
		}
		ps = append(ps, p)
	}
	return ps
}

// otherDelimiters are the delimiters a header read with the wrong one is
// tried with, in order.
var otherDelimiters = []rune{';', '\t', '|', ','}

// delimiterHint recognises a header read with the wrong delimiter: split
// by another, it has as many columns as the schema has fields (and the
// fields' names, but for letter case, spaces and quotes, or at least
// more than one column). It returns one problem saying which delimiter
// the file seems to use and how to declare it.
func delimiterHint(header, names []string, comma rune) (Problem, bool) {
	if len(header) == len(names) || len(names) < 2 {
		return Problem{}, false
	}
	raw := strings.Join(header, string(comma))
	for _, d := range otherDelimiters {
		if d == comma {
			continue
		}
		parts := strings.Split(raw, string(d))
		if len(parts) != len(names) {
			continue
		}
		same := true
		for i, p := range parts {
			same = same && strings.EqualFold(strings.Trim(p, " \"'"), strings.TrimSpace(names[i]))
		}
		how := "its header splits into the schema's " + strconv.Itoa(len(names)) + " columns that way"
		if same {
			how = "its header splits into the schema's field names that way"
		}
		return Problem{Column: 1, Offset: -1, Value: shorten(raw, 80), Message: fmt.Sprintf(
			"the file seems to be separated by %s, not %s (%s): declare \"dialect\": {\"delimiter\": %q} in the resource, or save the file with %s",
			delimiterName(d), delimiterName(comma), how, string(d), delimiterName(comma))}, true
	}
	return Problem{}, false
}

func delimiterName(d rune) string {
	switch d {
	case ',':
		return "commas (,)"
	case ';':
		return "semicolons (;)"
	case '\t':
		return "tabs"
	case '|':
		return "vertical bars (|)"
	}
	return fmt.Sprintf("%q", d)
}

// Header returns the header as in the file, or the declared field names
// when the dialect has no header.
func (r *Reader) Header() []string { return slices.Clone(r.header) }

// Read returns the next data row, and io.EOF after the last. Cells that do
// not parse, break a constraint or hold a control character (see
// controlCharacter), and a row with the wrong number of cells, are
// reported as Problems together with the row; the caller may go on
// reading. Encoding and quoting errors are fatal: Read returns them as
// Problems, and every later Read returns the same error. Errors from the
// underlying reader are returned wrapped, and are fatal too.
//
// Cells and Values are new slices on each call and may be kept.
func (r *Reader) Read() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	rec, err := r.csv.Read()
	if err != nil {
		if err == io.EOF {
			r.err = io.EOF
		} else {
			r.err = r.fatal(err, rec)
		}
		return Row{}, r.err
	}
	r.records++
	r.rows++
	line, _ := r.csv.FieldPos(0)
	row := Row{Number: r.rows, Record: r.records, Line: line, Cells: slices.Clone(rec)}
	if len(rec) != len(r.fields) {
		return row, Problems{r.problem(Problem{
			Row: r.records, Line: line,
			Message: fmt.Sprintf("the row has %d %s, the schema declares %d fields", len(rec), plural(len(rec), "cell", "cells"), len(r.fields)),
		})}
	}
	row.Values = make([]Value, len(rec))
	var ps Problems
	for i, cell := range row.Cells {
		var err error
		if c, ok := controlCharacter(cell); ok {
			err = controlCharacterError(c)
		} else {
			row.Values[i], err = r.parsers[i].parse(cell, r.missing)
		}
		if err != nil {
			ps = append(ps, r.problem(Problem{
				Row: r.records, Line: line, Column: i + 1, Field: r.fields[i].Name,
				Value: shorten(cell, 80), Message: err.Error(),
			}))
		}
	}
	return row, ps.err()
}

// controlNames are the abbreviations of the C0 control characters, as in
// ISO 6429 and the Unicode charts.
var controlNames = [32]string{
	"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL",
	"BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI",
	"DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB",
	"CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
}

// controlCharacter returns the first control character in cell that a
// cell may not hold: any C0 control (U+0000 to U+001F) but tab, line feed
// and carriage return (which a quoted cell may hold), and DEL (U+007F).
// They are refused because they are invisible in a spreadsheet, truncate
// text in C-based tools (NUL), and can drive terminals (ESC); no NHS
// dataset needs them. C1 controls (U+0080 to U+009F) are not refused (in
// a file declared windows-1252 the bytes 0x80 to 0x9F are printable
// characters, never C1 controls).
func controlCharacter(cell string) (byte, bool) {
	for i := 0; i < len(cell); i++ {
		c := cell[i]
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F {
			return c, true
		}
	}
	return 0, false
}

// controlCharacterError describes control character c in a cell.
func controlCharacterError(c byte) error {
	name := "DEL"
	if c < 0x20 {
		name = controlNames[c]
	}
	return fmt.Errorf("contains the control character U+%04X (%s); remove it", c, name)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// problem fills in the file name and an Offset of -1: it is for every
// problem but those of encoding.
func (r *Reader) problem(p Problem) Problem {
	p.File = r.name
	p.Offset = -1
	return p
}

// fatal turns an error from encoding/csv into a Problems error, or wraps an
// error from the underlying reader. rec is the partial record csv returned.
func (r *Reader) fatal(err error, rec []string) error {
	var ee *encodingError
	if errors.As(err, &ee) {
		return Problems{{
			File: r.name, Row: r.records + 1, Line: ee.line, Offset: ee.offset, Message: ee.msg,
		}}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		col := len(rec) + 1
		p := Problem{Row: r.records + 1, Line: pe.StartLine, Column: col}
		if col <= len(r.fields) {
			p.Field = r.fields[col-1].Name
		}
		switch {
		case errors.Is(pe.Err, csv.ErrBareQuote):
			p.Message = `a quote (") inside a cell that does not start with a quote`
		case errors.Is(pe.Err, csv.ErrQuote) && pe.Line != pe.StartLine:
			p.Message = `a quoted cell is not closed, or its closing quote (") is followed by something other than the delimiter or the end of the line`
		case errors.Is(pe.Err, csv.ErrQuote):
			p.Message = `a closing quote (") is followed by something other than the delimiter or the end of the line, or the quoted cell is not closed`
		default:
			p.Message = pe.Err.Error()
		}
		p.Message += fmt.Sprintf(" (line %d, byte %d of the line)", pe.Line, pe.Column)
		return Problems{r.problem(p)}
	}
	return fmt.Errorf("read %s: %w", r.name, err)
}

// Summary describes a file that Validate has read.
type Summary struct {
	Rows   int64  // data rows read (all of them, unless reading stopped at a fatal problem or at maxProblems)
	Bytes  int64  // size of the raw input
	SHA256 string // lower-case hex SHA-256 of the raw input
}

// Validate reads the file described by res from r to the end, checking
// every row, and returns a Summary of the raw bytes and the problems found
// as a Problems error (nil when the file is valid). It stops checking at
// maxProblems problems (no limit when maxProblems <= 0) or at a fatal
// problem, but still reads the rest of r so that Bytes and SHA256 cover the
// whole input. An error reading r is returned as it is, wrapped.
func Validate(r io.Reader, name string, res Resource, maxProblems int) (Summary, error) {
	h := sha256.New()
	raw := &hashingReader{r: r, h: h}
	var sum Summary
	finish := func(ps Problems) (Summary, error) {
		if _, err := io.Copy(io.Discard, raw); err != nil {
			return sum, fmt.Errorf("read %s: %w", name, err)
		}
		sum.Bytes = raw.n
		sum.SHA256 = hex.EncodeToString(h.Sum(nil))
		if maxProblems > 0 && len(ps) > maxProblems {
			ps = ps[:maxProblems]
		}
		return sum, ps.err()
	}
	var ps Problems
	full := func() bool { return maxProblems > 0 && len(ps) >= maxProblems }
	rd, err := NewReader(raw, name, res)
	if err != nil {
		var got Problems
		if !errors.As(err, &got) {
			return sum, err
		}
		return finish(got)
	}
	for !full() {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if row.Number > 0 {
			sum.Rows++
		}
		if err != nil {
			var got Problems
			if !errors.As(err, &got) {
				return sum, err
			}
			ps = append(ps, got...)
			if row.Number == 0 { // fatal
				break
			}
		}
	}
	return finish(ps)
}

// hashingReader hashes and counts the bytes read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	return n, err
}

// encodingError is a byte sequence that is not valid in the declared
// encoding.
type encodingError struct {
	offset int64 // of the first bad byte in the raw input
	line   int   // physical line of that byte
	msg    string
}

func (e *encodingError) Error() string {
	return fmt.Sprintf("byte %d (line %d): %s", e.offset, e.line, e.msg)
}

// maxEmptyReads is how many reads returning no data and no error a decoder
// tolerates from its source before giving up.
const maxEmptyReads = 100

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// utf8Reader passes UTF-8 through, dropping a leading byte order mark and
// stopping with an encodingError at the first invalid byte. Sequences split
// across reads from the source are handled. All bytes before the bad one
// are delivered before the error.
type utf8Reader struct {
	src     io.Reader
	buf     []byte
	r, v, w int   // buf[r:v] checked, not yet delivered; buf[v:w] read, not yet checked
	base    int64 // offset in the input of buf[0]
	line    int   // line of buf[v]
	started bool  // the byte order mark has been dealt with
	utf16   bool  // the input starts with a UTF-16 byte order mark
	err     error // returned once buf[r:v] is delivered
}

func newUTF8Reader(src io.Reader) *utf8Reader {
	return &utf8Reader{src: src, buf: make([]byte, 32<<10), line: 1}
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for empty := 0; u.r == u.v; empty++ {
		if u.err != nil {
			return 0, u.err
		}
		if empty == maxEmptyReads {
			return 0, io.ErrNoProgress
		}
		u.fill()
	}
	n := copy(p, u.buf[u.r:u.v])
	u.r += n
	return n, nil
}

// fill reads more from the source and checks it. It is called only when
// everything checked has been delivered.
func (u *utf8Reader) fill() {
	if u.v > 0 { // keep only the unchecked tail (part of a sequence)
		n := copy(u.buf, u.buf[u.v:u.w])
		u.base += int64(u.v)
		u.r, u.v, u.w = 0, 0, n
	}
	n, err := u.src.Read(u.buf[u.w:])
	u.w += n
	eof := err == io.EOF
	if !u.started {
		if u.w < len(utf8BOM) && err == nil {
			return // wait to see whether there is a byte order mark
		}
		u.started = true
		switch {
		case bytes.HasPrefix(u.buf[:u.w], utf8BOM):
			u.r, u.v = len(utf8BOM), len(utf8BOM)
		case bytes.HasPrefix(u.buf[:u.w], []byte{0xFF, 0xFE}), bytes.HasPrefix(u.buf[:u.w], []byte{0xFE, 0xFF}):
			u.utf16 = true
		}
	}
	u.check(eof)
	if err != nil && u.err == nil {
		u.err = err
	}
}

// check checks buf[v:w], advancing v. At the end of the input an
// incomplete sequence is invalid; otherwise it waits for more bytes.
func (u *utf8Reader) check(eof bool) {
	i := u.v
	for i < u.w {
		c := u.buf[i]
		if c < utf8.RuneSelf {
			if c == '\n' {
				u.line++
			}
			i++
			continue
		}
		if !eof && !utf8.FullRune(u.buf[i:u.w]) {
			break
		}
		r, size := utf8.DecodeRune(u.buf[i:u.w])
		if r == utf8.RuneError && size == 1 {
			msg := "invalid UTF-8 in a file declared utf-8"
			if u.utf16 && u.base+int64(i) == 0 {
				msg += " (the file starts with a UTF-16 byte order mark)"
			} else if b := u.buf[i]; !undefinedCP1252(b) {
				msg += fmt.Sprintf(`: byte 0x%02X is %q in windows-1252; a file saved as "CSV" rather than "CSV UTF-8" (as Excel does) is windows-1252: declare "encoding": "windows-1252", or save it as CSV UTF-8`,
					b, decodeCP1252(b))
			}
			u.err = &encodingError{offset: u.base + int64(i), line: u.line, msg: msg}
			u.w = i
			break
		}
		i += size
	}
	u.v = i
}

// cp1252Reader decodes windows-1252 to UTF-8, stopping with an
// encodingError at a byte that windows-1252 leaves undefined or at a UTF-8
// byte order mark.
type cp1252Reader struct {
	src     io.Reader
	in      []byte
	out     []byte
	r       int   // out[r:] not yet delivered
	off     int64 // offset in the input of the next byte to decode
	line    int
	start   []byte // the first bytes, held until there are enough to rule out a byte order mark
	started bool
	err     error // returned once out[r:] is delivered
}

func newCP1252Reader(src io.Reader) *cp1252Reader {
	return &cp1252Reader{src: src, in: make([]byte, 16<<10), line: 1}
}

func (c *cp1252Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for empty := 0; c.r == len(c.out); empty++ {
		if c.err != nil {
			return 0, c.err
		}
		if empty == maxEmptyReads {
			return 0, io.ErrNoProgress
		}
		c.fill()
	}
	n := copy(p, c.out[c.r:])
	c.r += n
	return n, nil
}

// undefinedCP1252 reports whether b has no character in windows-1252.
func undefinedCP1252(b byte) bool {
	return b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D
}

// cp1252High holds the characters of windows-1252 bytes 0x80 to 0x9F (0
// where undefined); bytes from 0xA0 are the same as in Latin-1. It agrees
// with golang.org/x/text/encoding/charmap.Windows1252, which this package
// does not import: x/text v0.43.0 needs "go 1.26.0" in go.mod.
var cp1252High = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// decodeCP1252 returns the character of a defined windows-1252 byte.
func decodeCP1252(b byte) rune {
	if b >= 0x80 && b < 0xA0 {
		return cp1252High[b-0x80]
	}
	return rune(b)
}

func (c *cp1252Reader) fill() {
	n, err := c.src.Read(c.in)
	chunk := c.in[:n]
	if !c.started {
		c.start = append(c.start, chunk...)
		if len(c.start) < len(utf8BOM) && err == nil {
			return
		}
		c.started = true
		if bytes.HasPrefix(c.start, utf8BOM) {
			c.err = &encodingError{offset: 0, line: 1,
				msg: "the file starts with a UTF-8 byte order mark but is declared windows-1252: wrong declared encoding"}
			return
		}
		chunk = c.start
	}
	c.out, c.r = c.out[:0], 0
	for i, b := range chunk {
		if b < utf8.RuneSelf {
			if b == '\n' {
				c.line++
			}
			c.out = append(c.out, b)
			continue
		}
		if undefinedCP1252(b) {
			c.err = &encodingError{offset: c.off + int64(i), line: c.line,
				msg: fmt.Sprintf("byte 0x%02X is not defined in windows-1252", b)}
			return
		}
		c.out = utf8.AppendRune(c.out, decodeCP1252(b))
	}
	c.off += int64(len(chunk))
	c.start = nil
	if err != nil {
		c.err = err
	}
}
