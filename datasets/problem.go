package datasets

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a file, located so that a publisher can
// find and fix it.
type Problem struct {
	File    string
	Row     int    // record number in the file counting a header as row 1 (what a spreadsheet shows); 0 if not about a row
	Line    int    // physical line where the record starts (for encoding problems, the line of the byte); 0 if unknown
	Column  int    // 1-based column number; 0 if not about a column
	Field   string // field name for the column, "" if none
	Value   string // offending cell text (shortened to at most 80 characters)
	Offset  int64  // byte offset in the file for encoding problems; -1 otherwise
	Message string
}

// Error formats p, for example
//
//	cwt.csv: row 12, column 8 (Total): "12x" is not a number
//	data.csv: byte 4821 (row 40, line 40): invalid UTF-8 in a file declared utf-8
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if loc := p.location(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

func (p Problem) location() string {
	if p.Offset >= 0 {
		var within []string
		if p.Row > 0 {
			within = append(within, fmt.Sprintf("row %d", p.Row))
		}
		if p.Line > 0 {
			within = append(within, fmt.Sprintf("line %d", p.Line))
		}
		if len(within) == 0 {
			return fmt.Sprintf("byte %d", p.Offset)
		}
		return fmt.Sprintf("byte %d (%s)", p.Offset, strings.Join(within, ", "))
	}
	var parts []string
	switch {
	case p.Row > 0 && p.Line > 0 && p.Line != p.Row:
		parts = append(parts, fmt.Sprintf("row %d (line %d)", p.Row, p.Line))
	case p.Row > 0:
		parts = append(parts, fmt.Sprintf("row %d", p.Row))
	case p.Line > 0:
		parts = append(parts, fmt.Sprintf("line %d", p.Line))
	}
	switch {
	case p.Column > 0 && p.Field != "":
		parts = append(parts, fmt.Sprintf("column %d (%s)", p.Column, p.Field))
	case p.Column > 0:
		parts = append(parts, fmt.Sprintf("column %d", p.Column))
	case p.Field != "":
		parts = append(parts, "field "+p.Field)
	}
	return strings.Join(parts, ", ")
}

// Problems is a list of problems; it is an error when not empty.
type Problems []Problem

// maxListed is how many problems Problems.Error lists.
const maxListed = 10

// Error lists the first ten problems, one a line, then says how many more
// there are.
func (ps Problems) Error() string {
	if len(ps) == 0 {
		return "no problems"
	}
	lines := make([]string, 0, min(len(ps), maxListed)+1)
	for i, p := range ps {
		if i == maxListed {
			lines = append(lines, fmt.Sprintf("and %d more", len(ps)-maxListed))
			break
		}
		lines = append(lines, p.Error())
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, or nil when ps is empty.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}
