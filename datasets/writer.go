package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Writer writes CSV as RFC 4180 describes it: UTF-8 without a byte order
// mark, comma-separated, CRLF line ends, a cell quoted only when it holds a
// comma, a quote, a CR or LF, or starts or ends with a space or tab (a
// lone empty cell is quoted too, so that its line is not blank). Cell text
// is written exactly, line breaks inside cells included. It streams: only a
// fixed buffer is held.
type Writer struct {
	w       *bufio.Writer
	columns int
	rows    int // data rows written
	err     error
	closed  bool
	safe    bool   // neutralise formula-like cells (SpreadsheetSafe)
	numeric []bool // by column: values are numbers, left alone when safe
	// quoteBuf is writeRecord's record of which cells need quotes, reused.
	quoteBuf []bool
}

// SpreadsheetSafe makes every later row neutralise cells a spreadsheet
// would run as a formula, by OWASP's rule for CSV injection: a cell that
// starts with "=", "+", "-", "@", a tab or a carriage return gets a single
// quote in front ("=HYPERLINK(…)" becomes "'=HYPERLINK(…)"). Numbers stay
// numbers: a cell in a column numeric marks true, or one that reads as a
// number ("-3", "+1.5e3"), is written as it is. Candour's server-built
// exports and twins are written this way; release files are the
// producer's exact bytes and never pass through it. numeric may be nil.
func (w *Writer) SpreadsheetSafe(numeric []bool) {
	w.safe, w.numeric = true, numeric
}

// NeutraliseFormula is a cell as SpreadsheetSafe writes it when its
// column is not numeric.
func NeutraliseFormula(c string) string {
	if c == "" || c == "-" || c == "+" || !strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return c // a lone "-" (not applicable, in many NHS tables) is text to every spreadsheet
	}
	if _, err := strconv.ParseFloat(c, 64); err == nil && !strings.ContainsAny(c, "\t\r") {
		return c
	}
	return "'" + c
}

// NewWriter returns a Writer to w, and writes the header row.
func NewWriter(w io.Writer, header []string) (*Writer, error) {
	if len(header) == 0 {
		return nil, errors.New("csv writer: the header has no columns")
	}
	cw := &Writer{w: bufio.NewWriterSize(w, 64<<10), columns: len(header)}
	if err := cw.writeRecord(header); err != nil {
		return nil, fmt.Errorf("csv writer: header: %w", err)
	}
	return cw, nil
}

// Write writes one row; it must have as many cells as the header. After an
// error, every later Write returns the same error.
func (w *Writer) Write(cells []string) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("csv writer: write after Close")
	}
	n := w.rows + 1
	if len(cells) != w.columns {
		return fmt.Errorf("csv writer: row %d has %d cells, want %d", n, len(cells), w.columns)
	}
	if w.safe {
		cells = w.neutralised(cells)
	}
	if err := w.writeRecord(cells); err != nil {
		w.err = fmt.Errorf("csv writer: row %d: %w", n, err)
		return w.err
	}
	w.rows = n
	return nil
}

// Close flushes the buffer and returns the first error of the Writer. It
// does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("csv writer: %w", err)
	}
	return w.err
}

func (w *Writer) writeRecord(cells []string) error {
	quote := w.quoteBuf[:0]
	for i, c := range cells {
		special, ascii := scanCell(c)
		if !ascii && !utf8.ValidString(c) {
			return fmt.Errorf("cell %d is not valid UTF-8", i+1)
		}
		quote = append(quote, special || edgeSpace(c))
	}
	w.quoteBuf = quote
	for i, c := range cells {
		if i > 0 {
			w.w.WriteByte(',')
		}
		if !quote[i] && !(len(cells) == 1 && c == "") {
			w.w.WriteString(c)
			continue
		}
		w.w.WriteByte('"')
		for {
			j := strings.IndexByte(c, '"')
			if j < 0 {
				break
			}
			w.w.WriteString(c[:j+1])
			w.w.WriteByte('"')
			c = c[j+1:]
		}
		w.w.WriteString(c)
		w.w.WriteByte('"')
	}
	_, err := w.w.WriteString("\r\n")
	return err
}

// neutralised is cells with every formula-like text cell neutralised; it
// copies only when a cell changes.
func (w *Writer) neutralised(cells []string) []string {
	out := cells
	for i, c := range cells {
		if i < len(w.numeric) && w.numeric[i] {
			continue
		}
		if n := NeutraliseFormula(c); n != c {
			if &out[0] == &cells[0] {
				out = slices.Clone(cells)
			}
			out[i] = n
		}
	}
	return out
}

// needsQuotes reports whether a cell must be quoted.
func needsQuotes(c string) bool {
	special, _ := scanCell(c)
	return special || edgeSpace(c)
}

// scanCell reads a cell once, reporting whether it holds a character that
// must be quoted (a comma, a double quote, a carriage return or a line
// feed) and whether every byte is ASCII (so it need not be checked for
// valid UTF-8).
func scanCell(c string) (special, ascii bool) {
	ascii = true
	for i := 0; i < len(c); i++ {
		switch b := c[i]; {
		case b == ',' || b == '"' || b == '\r' || b == '\n':
			special = true
		case b >= utf8.RuneSelf:
			ascii = false
		}
	}
	return special, ascii
}

// edgeSpace reports whether a cell starts or ends with a space or a tab,
// which readers would trim unless the cell is quoted.
func edgeSpace(c string) bool {
	if c == "" {
		return false
	}
	first, last := c[0], c[len(c)-1]
	return first == ' ' || first == '\t' || last == ' ' || last == '\t'
}
