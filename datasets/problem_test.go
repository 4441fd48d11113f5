package datasets

import (
	"fmt"
	"strings"
	"testing"
)

func TestProblemError(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"cell", Problem{File: "cwt.csv", Row: 12, Line: 12, Column: 8, Field: "Total", Value: "12x", Offset: -1, Message: `"12x" is not a number`},
			`cwt.csv: row 12, column 8 (Total): "12x" is not a number`},
		{"encoding", Problem{File: "data.csv", Row: 40, Line: 40, Offset: 4821, Message: "invalid UTF-8 in a file declared utf-8"},
			`data.csv: byte 4821 (row 40, line 40): invalid UTF-8 in a file declared utf-8`},
		{"encoding at the start", Problem{File: "data.csv", Offset: 0, Message: "wrong declared encoding"},
			`data.csv: byte 0: wrong declared encoding`},
		{"row after a multi-line cell", Problem{File: "a.csv", Row: 3, Line: 5, Column: 2, Offset: -1, Message: "m"},
			`a.csv: row 3 (line 5), column 2: m`},
		{"row only", Problem{File: "a.csv", Row: 7, Line: 7, Offset: -1, Message: "the row has 3 cells, the schema declares 4 fields"},
			`a.csv: row 7: the row has 3 cells, the schema declares 4 fields`},
		{"file", Problem{File: "a.csv", Offset: -1, Message: "file is empty"}, `a.csv: file is empty`},
		{"no file name", Problem{Row: 2, Column: 1, Field: "code", Offset: -1, Message: "m"}, `row 2, column 1 (code): m`},
		{"field without a column", Problem{Field: "code", Offset: -1, Message: "m"}, `field code: m`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProblemsError(t *testing.T) {
	many := func(n int) Problems {
		ps := make(Problems, n)
		for i := range ps {
			ps[i] = Problem{File: "f.csv", Row: i + 2, Column: 1, Offset: -1, Message: fmt.Sprintf("problem %d", i+1)}
		}
		return ps
	}
	tests := []struct {
		name      string
		ps        Problems
		wantLines int
		wantLast  string
	}{
		{"one", many(1), 1, "f.csv: row 2, column 1: problem 1"},
		{"ten", many(10), 10, "f.csv: row 11, column 1: problem 10"},
		{"twelve", many(12), 11, "and 2 more"},
		{"a thousand", many(1000), 11, "and 990 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.Split(tt.ps.Error(), "\n")
			if len(lines) != tt.wantLines {
				t.Errorf("got %d lines, want %d", len(lines), tt.wantLines)
			}
			if got := lines[len(lines)-1]; got != tt.wantLast {
				t.Errorf("last line: got %q, want %q", got, tt.wantLast)
			}
		})
	}
	if err := Problems(nil).err(); err != nil {
		t.Errorf("no problems as an error: got %v, want nil", err)
	}
}
