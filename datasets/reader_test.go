package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// practiceResource describes a small synthetic file:
//
//	code,name,opened,total
func practiceResource() Resource {
	return Resource{
		Name:    "practices",
		Path:    "practices.csv",
		Dialect: DefaultDialect(),
		Schema: Schema{
			Fields: []Field{
				{Name: "code", Type: TypeString, Constraints: Constraints{Required: true, Pattern: `[A-Z]\d{5}`}},
				{Name: "name", Type: TypeString},
				{Name: "opened", Type: TypeDate, Format: "%Y%m%d"},
				{Name: "total", Type: TypeNumber, Suppressed: []string{"*"}},
			},
			MissingValues: []string{""},
		},
	}
}

const practiceHeader = "code,name,opened,total\r\n"

// wantProblem is what a test expects of a Problem: every location field
// exactly, and a substring of the message.
type wantProblem struct {
	Row, Line, Column int
	Field, Value      string
	Offset            int64
	Message           string
}

func checkProblems(t *testing.T, err error, file string, want []wantProblem) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got error %v (%T), want Problems", err, err)
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		p := ps[i]
		got := wantProblem{p.Row, p.Line, p.Column, p.Field, p.Value, p.Offset, p.Message}
		w.Message = ""
		got.Message = ""
		if got != w || p.File != file {
			t.Errorf("problem %d: got %+v in %q, want %+v in %q", i, got, p.File, w, file)
		}
		if !strings.Contains(p.Message, want[i].Message) {
			t.Errorf("problem %d: got message %q, want it to contain %q", i, p.Message, want[i].Message)
		}
	}
}

func TestValidateMalformed(t *testing.T) {
	utf8Res := practiceResource()
	cp1252Res := practiceResource()
	cp1252Res.Encoding = "windows-1252"
	headerless := practiceResource()
	headerless.Dialect.Header = false
	tilde := practiceResource()
	tilde.Dialect.Delimiter = "~"
	spaced := practiceResource()
	spaced.Dialect.SkipInitialSpace = true
	semicolon := practiceResource()
	semicolon.Dialect.Delimiter = ";"

	rowA := "A81001,Surgery,20240131,12.5\r\n"
	tests := []struct {
		name  string
		res   Resource
		input string
		rows  int64
		want  []wantProblem
	}{
		{"valid, mixed line ends", utf8Res,
			practiceHeader + rowA + "B82002,\"Smith, J\",20230101,*\n" + "C83003,,20230101,0.5", 3, nil},
		{"valid, quoted line break", utf8Res,
			practiceHeader + "A81001,\"two\nlines\",20240131,1\r\n", 1, nil},
		{"valid with BOM", utf8Res, "\xEF\xBB\xBF" + practiceHeader + rowA, 1, nil},
		{"valid headerless", headerless, rowA + rowA, 2, nil},
		{"valid, spaces after delimiters skipped", spaced, "code, name,  opened, total\r\nA81001, x, 20240131,   12.5\r\n", 1, nil},
		{"spaces after delimiters not skipped", utf8Res, practiceHeader + "A81001,x,20240131, 12.5\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 4, Field: "total", Value: " 12.5", Offset: -1, Message: "leading or trailing spaces"}}},
		{"valid tilde-delimited", tilde, "code~name~opened~total\nA81001~Smith, J~20240131~1\n", 1, nil},

		{"ragged row, too few", utf8Res, practiceHeader + rowA + "B82002,x,20240101\r\n", 2,
			[]wantProblem{{Row: 3, Line: 3, Offset: -1, Message: "the row has 3 cells, the schema declares 4 fields"}}},
		{"ragged row, too many", utf8Res, practiceHeader + "B82002,x,20240101,1,2\r\n" + rowA, 2,
			[]wantProblem{{Row: 2, Line: 2, Offset: -1, Message: "the row has 5 cells, the schema declares 4 fields"}}},
		{"bad date", utf8Res, practiceHeader + rowA + rowA + "B82002,x,20250231,1\r\n", 3,
			[]wantProblem{{Row: 4, Line: 4, Column: 3, Field: "opened", Value: "20250231", Offset: -1, Message: `"20250231" is not a real date`}}},
		{"code failing its pattern", utf8Res, practiceHeader + "A810012,x,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 1, Field: "code", Value: "A810012", Offset: -1, Message: `does not match the pattern`}}},
		{"required code missing", utf8Res, practiceHeader + ",x,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 1, Field: "code", Value: "", Offset: -1, Message: `the field is required`}}},
		{"several bad cells in several rows", utf8Res, practiceHeader + "A81001,x,2024,12x\r\n" + rowA + "B1,x,20240101,1\r\n", 3,
			[]wantProblem{
				{Row: 2, Line: 2, Column: 3, Field: "opened", Value: "2024", Offset: -1, Message: "is not a date"},
				{Row: 2, Line: 2, Column: 4, Field: "total", Value: "12x", Offset: -1, Message: `"12x" is not a number`},
				{Row: 4, Line: 4, Column: 1, Field: "code", Value: "B1", Offset: -1, Message: "does not match"},
			}},
		{"row after a multi-line cell", utf8Res, practiceHeader + "A81001,\"two\r\nlines\",20240131,1\r\n" + "B82002,x,2024013,1\r\n", 2,
			[]wantProblem{{Row: 3, Line: 4, Column: 3, Field: "opened", Value: "2024013", Offset: -1, Message: "is not a date"}}},
		{"headerless row numbers", headerless, rowA + "B82002,x,20240101,1x\r\n", 2,
			[]wantProblem{{Row: 2, Line: 2, Column: 4, Field: "total", Value: "1x", Offset: -1, Message: "is not a number"}}},

		{"invalid UTF-8", utf8Res, practiceHeader + rowA + "B82002,Caf\xE9,20240101,1\r\n", 1,
			[]wantProblem{{Row: 3, Line: 3, Offset: int64(len(practiceHeader+rowA) + len("B82002,Caf")), Message: "invalid UTF-8 in a file declared utf-8"}}},
		{"windows-1252 byte in a file declared utf-8", utf8Res, practiceHeader + "B82002,Fees \xA3,20240101,1\r\n", 0,
			[]wantProblem{{Row: 2, Line: 2, Offset: int64(len(practiceHeader) + len("B82002,Fees ")),
				Message: `byte 0xA3 is '£' in windows-1252; a file saved as "CSV" rather than "CSV UTF-8" (as Excel does) is windows-1252: declare "encoding": "windows-1252"`}}},
		{"invalid UTF-8 after a BOM counts the BOM", utf8Res, "\xEF\xBB\xBF" + practiceHeader + "B82002,Caf\xE9,20240101,1\r\n", 0,
			[]wantProblem{{Row: 2, Line: 2, Offset: int64(3 + len(practiceHeader) + len("B82002,Caf")), Message: "invalid UTF-8"}}},
		{"invalid UTF-8 in the header", utf8Res, "code,n\xFFame,opened,total\r\n" + rowA, 0,
			[]wantProblem{{Row: 1, Line: 1, Offset: 6, Message: "invalid UTF-8"}}},
		{"truncated sequence at the end", utf8Res, practiceHeader + rowA + "B82002,Caf\xC3", 1,
			[]wantProblem{{Row: 3, Line: 3, Offset: int64(len(practiceHeader+rowA) + len("B82002,Caf")), Message: "invalid UTF-8"}}},
		{"surrogate encoded in UTF-8", utf8Res, practiceHeader + "B82002,\xED\xA0\x80,20240101,1\r\n", 0,
			[]wantProblem{{Row: 2, Line: 2, Offset: int64(len(practiceHeader) + len("B82002,")), Message: "invalid UTF-8"}}},
		{"invalid UTF-8 inside a multi-line cell", utf8Res, practiceHeader + "B82002,\"two\nlin\xE9s\",20240101,1\r\n", 0,
			[]wantProblem{{Row: 2, Line: 3, Offset: int64(len(practiceHeader) + len("B82002,\"two\nlin")), Message: "invalid UTF-8"}}},
		{"UTF-16 file", utf8Res, "\xFF\xFEc\x00o\x00", 0,
			[]wantProblem{{Offset: 0, Row: 1, Line: 1, Message: "UTF-16 byte order mark"}}},
		{"BOM in a file declared windows-1252", cp1252Res, "\xEF\xBB\xBF" + practiceHeader + rowA, 0,
			[]wantProblem{{Row: 1, Line: 1, Offset: 0, Message: "wrong declared encoding"}}},
		{"undefined windows-1252 byte", cp1252Res, practiceHeader + rowA + "B82002,Caf\x81,20240101,1\r\n", 1,
			[]wantProblem{{Row: 3, Line: 3, Offset: int64(len(practiceHeader+rowA) + len("B82002,Caf")), Message: "byte 0x81 is not defined in windows-1252"}}},
		{"valid windows-1252", cp1252Res, practiceHeader + "B82002,St Bartholomew\x92s,20240101,1\r\n", 1, nil},

		{"empty", utf8Res, "", 0, []wantProblem{{Offset: -1, Message: "file is empty"}}},
		{"only a BOM", utf8Res, "\xEF\xBB\xBF", 0, []wantProblem{{Offset: -1, Message: "file is empty"}}},
		{"only blank lines", utf8Res, "\r\n\n  \n\t\r\n", 0, []wantProblem{{Offset: -1, Message: "file is empty"}}},
		{"empty headerless", headerless, "\n", 0, []wantProblem{{Offset: -1, Message: "file is empty"}}},
		{"empty windows-1252", cp1252Res, "", 0, []wantProblem{{Offset: -1, Message: "file is empty"}}},

		{"header reordered", utf8Res, "name,code,opened,total\r\n" + rowA, 0,
			[]wantProblem{
				{Row: 1, Line: 1, Column: 1, Field: "code", Value: "name", Offset: -1, Message: `the header is "name", the schema expects "code" (the schema has "name" in column 2)`},
				{Row: 1, Line: 1, Column: 2, Field: "name", Value: "code", Offset: -1, Message: `the header is "code", the schema expects "name"`},
			}},
		{"header missing a column", utf8Res, "code,name,opened\r\n" + rowA, 0,
			[]wantProblem{{Row: 1, Line: 1, Column: 4, Field: "total", Offset: -1, Message: `missing column: the schema expects "total", but the header has 3 columns`}}},
		{"header with an extra column", utf8Res, "code,name,opened,total,notes\r\n" + rowA, 0,
			[]wantProblem{{Row: 1, Line: 1, Column: 5, Value: "notes", Offset: -1, Message: `extra column "notes": the schema declares 4 fields`}}},
		{"semicolon-separated file", utf8Res, "code;name;opened;total\r\nA81001;x;20240131;1\r\n", 0,
			[]wantProblem{{Row: 1, Line: 1, Column: 1, Value: "code;name;opened;total", Offset: -1,
				Message: `the file seems to be separated by semicolons (;), not commas (,) (its header splits into the schema's field names that way): declare "dialect": {"delimiter": ";"}`}}},
		{"tab-separated file with other names", utf8Res, "Code\tPractice\tOpened\tTotal\r\n", 0,
			[]wantProblem{{Row: 1, Line: 1, Column: 1, Offset: -1, Value: "Code\tPractice\tOpened\tTotal",
				Message: `separated by tabs, not commas (,) (its header splits into the schema's 4 columns that way)`}}},
		{"comma-separated file declared semicolon", semicolon, practiceHeader, 0,
			[]wantProblem{{Row: 1, Line: 1, Column: 1, Offset: -1, Value: "code,name,opened,total",
				Message: `separated by commas (,), not semicolons (;)`}}},
		{"header differing in case", utf8Res, "code,Name,opened,total\r\n", 0,
			[]wantProblem{{Row: 1, Line: 1, Column: 2, Field: "name", Value: "Name", Offset: -1, Message: "differ only in letter case or spaces"}}},
		{"header after blank lines", utf8Res, "\r\n\r\ncode,name,opened,totals\r\n", 0,
			[]wantProblem{{Row: 1, Line: 3, Column: 4, Field: "total", Value: "totals", Offset: -1, Message: `the header is "totals"`}}},

		{"quote in an unquoted cell", utf8Res, practiceHeader + rowA + "B82002,Smith \"J\",20240101,1\r\n" + rowA, 1,
			[]wantProblem{{Row: 3, Line: 3, Column: 2, Field: "name", Offset: -1, Message: `a quote (") inside a cell that does not start with a quote (line 3, byte 14 of the line)`}}},
		{"text after a closing quote", utf8Res, practiceHeader + "B82002,\"Smith\" J,20240101,1\r\n" + rowA, 0,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Offset: -1, Message: `closing quote (") is followed by something other than the delimiter`}}},
		{"quoted cell never closed", utf8Res, practiceHeader + rowA + "B82002,x,\"20240101,1\r\n" + rowA + rowA, 1,
			[]wantProblem{{Row: 3, Line: 3, Column: 3, Field: "opened", Offset: -1, Message: "a quoted cell is not closed, or its closing quote (\") is followed by something other than the delimiter or the end of the line (line 5, byte 30 of the line)"}}},
		{"bad quoting in the header", utf8Res, "code,na\"me,opened,total\r\n", 0,
			[]wantProblem{{Row: 1, Line: 1, Column: 2, Field: "name", Offset: -1, Message: `a quote (")`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := Validate(strings.NewReader(tt.input), "practices.csv", tt.res, 0)
			checkProblems(t, err, "practices.csv", tt.want)
			if sum.Rows != tt.rows {
				t.Errorf("Rows: got %d, want %d", sum.Rows, tt.rows)
			}
			if sum.Bytes != int64(len(tt.input)) {
				t.Errorf("Bytes: got %d, want %d", sum.Bytes, len(tt.input))
			}
			h := sha256.Sum256([]byte(tt.input))
			if want := hex.EncodeToString(h[:]); sum.SHA256 != want {
				t.Errorf("SHA256: got %s, want %s", sum.SHA256, want)
			}

			// The same file read a byte at a time, so that every multi-byte
			// sequence is split across reads, gives the same problems.
			_, err = Validate(iotest.OneByteReader(strings.NewReader(tt.input)), "practices.csv", tt.res, 0)
			checkProblems(t, err, "practices.csv", tt.want)
		})
	}
}

func TestWindows1252Decoding(t *testing.T) {
	// Every character windows-1252 has in 0x80-0x9F, and some above, as a
	// Unicode string typed independently of the decoder's table.
	var raw []byte
	for b := 0x80; b <= 0x9F; b++ {
		if !undefinedCP1252(byte(b)) {
			raw = append(raw, byte(b))
		}
	}
	raw = append(raw, 0xA0, 0xA3, 0xE9, 0xFF)
	want := "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ\u00a0£éÿ"
	res := Resource{Name: "w", Encoding: "cp1252", Dialect: DefaultDialect(), Schema: Schema{Fields: []Field{{Name: "text"}}}}
	input := append([]byte("text\r\n"), raw...)
	rd, err := NewReader(iotest.OneByteReader(bytes.NewReader(input)), "w.csv", res)
	if err != nil {
		t.Fatal(err)
	}
	row, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	if row.Cells[0] != want {
		t.Errorf("got %q, want %q", row.Cells[0], want)
	}
}

func TestValidateEncodingOffsetFarIntoFile(t *testing.T) {
	// Many rows of multi-byte characters so the bad byte lies beyond the
	// decoder's and csv's buffers.
	var b strings.Builder
	b.WriteString(practiceHeader)
	row := "A81001,Café Ærø “quoted” ünïcödé,20240131,1\r\n"
	for range 5000 {
		b.WriteString(row)
	}
	offset := int64(b.Len() + len("A81001,Caf"))
	b.WriteString("A81001,Caf\xE9,20240131,1\r\n")
	b.WriteString(row)
	input := b.String()
	for _, tt := range []struct {
		name string
		r    io.Reader
	}{
		{"whole reads", strings.NewReader(input)},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(input))},
		{"half reads", iotest.HalfReader(strings.NewReader(input))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := Validate(tt.r, "big.csv", practiceResource(), 0)
			checkProblems(t, err, "big.csv", []wantProblem{{Row: 5002, Line: 5002, Offset: offset, Message: "invalid UTF-8"}})
			if sum.Rows != 5000 || sum.Bytes != int64(len(input)) {
				t.Errorf("Summary: got %+v, want 5000 rows and %d bytes", sum, len(input))
			}
		})
	}
}

func TestValidateMaxProblems(t *testing.T) {
	input := practiceHeader + strings.Repeat("A81001,x,20240131,bad\r\n", 5) + "A81001,x,2024,bad\r\n"
	tests := []struct {
		name string
		max  int
		want int
	}{
		{"no limit", 0, 7},
		{"limit of two", 2, 2},
		{"limit within a row", 6, 6},
		{"limit above the count", 100, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := Validate(strings.NewReader(input), "p.csv", practiceResource(), tt.max)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("got error %v, want Problems", err)
			}
			if len(ps) != tt.want {
				t.Errorf("got %d problems, want %d", len(ps), tt.want)
			}
			// The whole input is hashed even when checking stops early.
			h := sha256.Sum256([]byte(input))
			if sum.Bytes != int64(len(input)) || sum.SHA256 != hex.EncodeToString(h[:]) {
				t.Errorf("Summary: got %+v, want the whole input's size and hash", sum)
			}
		})
	}
}

func TestReaderContinuesAfterValueProblems(t *testing.T) {
	input := practiceHeader + "A81001,x,20240131,12x\r\nB82002,y,20240101,*\r\nshort,row\r\nC83003,z,20240101,-3.5\r\n"
	rd, err := NewReader(strings.NewReader(input), "p.csv", practiceResource())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rd.Header(), []string{"code", "name", "opened", "total"}; !slices.Equal(got, want) {
		t.Errorf("Header: got %q, want %q", got, want)
	}
	var rows []Row
	var problems int
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Read: %v", err)
			}
			problems += len(ps)
		}
		rows = append(rows, row)
	}
	if len(rows) != 4 || problems != 2 {
		t.Fatalf("got %d rows and %d problems, want 4 and 2", len(rows), problems)
	}
	if r := rows[1]; r.Number != 2 || r.Record != 3 || r.Line != 3 || r.Values[3].Kind != KindSuppressed || r.Values[0].Text != "B82002" {
		t.Errorf("row 2: got %+v", r)
	}
	if r := rows[2]; r.Values != nil || !slices.Equal(r.Cells, []string{"short", "row"}) {
		t.Errorf("ragged row: got %+v, want its cells and no values", r)
	}
	if r := rows[3]; r.Values[3].Float != -3.5 || !r.Values[2].Time.Equal(date(2024, 1, 1)) {
		t.Errorf("row 4: got %+v", r)
	}
	// Rows are not overwritten by later reads.
	if rows[0].Cells[0] != "A81001" || rows[0].Values[3].Text != "12x" {
		t.Errorf("row 1 changed after later reads: %+v", rows[0])
	}
	if _, err := rd.Read(); err != io.EOF {
		t.Errorf("Read after the end: got %v, want io.EOF", err)
	}
}

func TestReaderFatalProblemsAreSticky(t *testing.T) {
	input := practiceHeader + "A81001,x,20240131,1\r\nB82002,Caf\xE9,20240101,1\r\nC83003,z,20240101,1\r\n"
	rd, err := NewReader(strings.NewReader(input), "p.csv", practiceResource())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Read(); err != nil {
		t.Fatalf("first row: %v", err)
	}
	_, err1 := rd.Read()
	_, err2 := rd.Read()
	var ps Problems
	if !errors.As(err1, &ps) || ps[0].Offset < 0 {
		t.Fatalf("second row: got %v, want an encoding problem", err1)
	}
	if err2 == nil || err2.Error() != err1.Error() {
		t.Errorf("later Read: got %v, want the same error %v", err2, err1)
	}
}

func TestReaderRefusesControlCharacters(t *testing.T) {
	utf8Res := practiceResource()
	cp1252Res := practiceResource()
	cp1252Res.Encoding = "windows-1252"
	headerless := practiceResource()
	headerless.Dialect.Header = false

	rowA := "A81001,Surgery,20240131,12.5\r\n"
	tests := []struct {
		name  string
		res   Resource
		input string
		rows  int64
		want  []wantProblem
	}{
		{"NUL", utf8Res, practiceHeader + rowA + "B82002,Sm\x00ith,20240101,1\r\n", 2,
			[]wantProblem{{Row: 3, Line: 3, Column: 2, Field: "name", Value: "Sm\x00ith", Offset: -1,
				Message: "contains the control character U+0000 (NUL); remove it"}}},
		{"NUL alone", utf8Res, practiceHeader + "B82002,\x00,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "\x00", Offset: -1, Message: "U+0000 (NUL)"}}},
		{"SOH", utf8Res, practiceHeader + "B82002,x\x01,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "x\x01", Offset: -1, Message: "contains the control character U+0001 (SOH); remove it"}}},
		{"ESC", utf8Res, practiceHeader + "B82002,\x1B[31mred,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "\x1B[31mred", Offset: -1, Message: "U+001B (ESC)"}}},
		{"DEL", utf8Res, practiceHeader + "B82002,x\x7F,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "x\x7F", Offset: -1, Message: "contains the control character U+007F (DEL); remove it"}}},
		{"US, the last C0 control", utf8Res, practiceHeader + "B82002,a\x1Fb,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "a\x1Fb", Offset: -1, Message: "U+001F (US)"}}},
		{"NUL in a number is reported as a control character, not as a bad number", utf8Res, practiceHeader + "B82002,x,20240101,1\x00\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 4, Field: "total", Value: "1\x00", Offset: -1, Message: "U+0000 (NUL)"}}},
		{"NUL in a quoted cell", utf8Res, practiceHeader + "B82002,\"a,\x00\",20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "a,\x00", Offset: -1, Message: "U+0000 (NUL)"}}},
		{"NUL after a multi-line cell", utf8Res, practiceHeader + "A81001,\"two\r\nlines\",20240131,1\r\n" + "B82002,x,20240101,\x00\r\n", 2,
			[]wantProblem{{Row: 3, Line: 4, Column: 4, Field: "total", Value: "\x00", Offset: -1, Message: "U+0000 (NUL)"}}},
		{"several cells and rows, reading goes on", utf8Res, practiceHeader + "A\x0081001,x\x02,20240131,1\r\n" + rowA + "B82002,x,20240101,\x7F\r\n", 3,
			[]wantProblem{
				{Row: 2, Line: 2, Column: 1, Field: "code", Value: "A\x0081001", Offset: -1, Message: "U+0000 (NUL)"},
				{Row: 2, Line: 2, Column: 2, Field: "name", Value: "x\x02", Offset: -1, Message: "U+0002 (STX)"},
				{Row: 4, Line: 4, Column: 4, Field: "total", Value: "\x7F", Offset: -1, Message: "U+007F (DEL)"},
			}},
		{"headerless row numbers", headerless, rowA + "B82002,\x00,20240101,1\r\n", 2,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "\x00", Offset: -1, Message: "U+0000 (NUL)"}}},
		{"windows-1252", cp1252Res, practiceHeader + "B82002,Caf\xE9\x00,20240101,1\r\n", 1,
			[]wantProblem{{Row: 2, Line: 2, Column: 2, Field: "name", Value: "Café\x00", Offset: -1, Message: "U+0000 (NUL)"}}},

		{"TAB allowed", utf8Res, practiceHeader + "B82002,a\tb,20240101,1\r\n", 1, nil},
		{"TAB allowed in a quoted cell", utf8Res, practiceHeader + "B82002,\"a\tb\",20240101,1\r\n", 1, nil},
		{"line feed in a quoted cell allowed", utf8Res, practiceHeader + "B82002,\"two\nlines\",20240101,1\r\n", 1, nil},
		{"CRLF in a quoted cell allowed", utf8Res, practiceHeader + "B82002,\"two\r\nlines\",20240101,1\r\n", 1, nil},
		{"lone CR in a quoted cell allowed", utf8Res, practiceHeader + "B82002,\"two\rlines\",20240101,1\r\n", 1, nil},
		{"C1 range from windows-1252 allowed", cp1252Res, practiceHeader + "B82002,\x80 \x9F,20240101,1\r\n", 1, nil},
		{"U+0080 in UTF-8 not checked", utf8Res, practiceHeader + "B82002,\u0080,20240101,1\r\n", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := Validate(strings.NewReader(tt.input), "practices.csv", tt.res, 0)
			checkProblems(t, err, "practices.csv", tt.want)
			if sum.Rows != tt.rows {
				t.Errorf("Rows: got %d, want %d", sum.Rows, tt.rows)
			}
			_, err = Validate(iotest.OneByteReader(strings.NewReader(tt.input)), "practices.csv", tt.res, 0)
			checkProblems(t, err, "practices.csv", tt.want)
		})
	}
}

func TestControlCharacterProblemMessage(t *testing.T) {
	res := practiceResource()
	res.Schema.Fields[2].Name = "age_band"
	res.Schema.Fields[2].Type = TypeString
	res.Schema.Fields[2].Format = ""
	input := "code,name,age_band,total\n" + strings.Repeat("A81001,x,0-4,1\n", 10) + "A81001,x,0-4\x00,1\n"
	_, err := Validate(strings.NewReader(input), "practice-patients.csv", res, 0)
	want := "practice-patients.csv: row 12, column 3 (age_band): contains the control character U+0000 (NUL); remove it"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

var errDisk = errors.New("disk on fire")

func TestReaderPassesOnReadErrors(t *testing.T) {
	input := practiceHeader + "A81001,x,20240131,1\r\n"
	r := io.MultiReader(strings.NewReader(input), iotest.ErrReader(errDisk))
	_, err := Validate(r, "p.csv", practiceResource(), 0)
	if !errors.Is(err, errDisk) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	var ps Problems
	if errors.As(err, &ps) {
		t.Errorf("got Problems %v, want a plain error", ps)
	}
}

func TestNewReaderRejectsInvalidResource(t *testing.T) {
	res := practiceResource()
	res.Encoding = "latin-1"
	_, err := NewReader(strings.NewReader(practiceHeader), "p.csv", res)
	var ps Problems
	if err == nil || errors.As(err, &ps) || !strings.Contains(err.Error(), `encoding: "latin-1" is not supported`) {
		t.Errorf("got %v, want an error about the encoding", err)
	}
}

// rowSource generates rows of a practices file without holding them, and
// counts the bytes taken from it.
type rowSource struct {
	rows, next int
	pending    []byte
	taken      int64
}

func (s *rowSource) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.next == s.rows {
			return 0, io.EOF
		}
		if s.next == 0 {
			s.pending = []byte(practiceHeader)
		} else {
			s.pending = []byte("A81001,Surgery " + strconv.Itoa(s.next) + ",20240131,12.5\r\n")
		}
		s.next++
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	s.taken += int64(n)
	return n, nil
}

func TestReaderStreams(t *testing.T) {
	src := &rowSource{rows: 200_000}
	rd, err := NewReader(src, "big.csv", practiceResource())
	if err != nil {
		t.Fatal(err)
	}
	// The reader holds no more than its buffers: what it has taken from
	// the source never runs far ahead of the rows it has returned.
	const buffers = 256 << 10
	consumed := int64(len(practiceHeader))
	n := 0
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		consumed += int64(len(strings.Join(row.Cells, ",")) + 2)
		if ahead := src.taken - consumed; n%1000 == 1 && ahead > buffers {
			t.Fatalf("at row %d the reader has taken %d bytes more than it has returned", n, ahead)
		}
	}
	if n != src.rows-1 {
		t.Errorf("read %d rows, want %d", n, src.rows-1)
	}
}

func TestNewReaderNeedsNoName(t *testing.T) {
	res := practiceResource()
	res.Name, res.Path = "", ""
	if _, err := NewReader(strings.NewReader(practiceHeader), "p.csv", res); err != nil {
		t.Errorf("got %v, want a reader: only encoding, dialect and schema matter for reading", err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func numbered(prefix string, from, to int) []Field {
	var fs []Field
	for i := from; i <= to; i++ {
		fs = append(fs, Field{Name: prefix + " " + string(rune('0'+i/10)) + string(rune('0'+i%10)), Type: TypeString})
	}
	return fs
}

// etrResource declares the 27 columns of ODS etr.csv, which has no header.
func etrResource() Resource {
	fields := []Field{
		{Name: "Organisation Code", Type: TypeString, Constraints: Constraints{Required: true, Pattern: `[A-Z0-9]{3}|[A-Z0-9]{5}`},
			Role: RoleKey, GeographyLevel: "provider", Organisation: &OrganisationRef{NameField: "Name"}},
		{Name: "Name", Type: TypeString, Constraints: Constraints{Required: true}},
		{Name: "National Grouping", Type: TypeString, Constraints: Constraints{Pattern: `Y\d{2}`}},
		{Name: "High Level Health Geography", Type: TypeString, Constraints: Constraints{Pattern: `[A-Z0-9]{3,5}`}},
		{Name: "Address Line 1"}, {Name: "Address Line 2"}, {Name: "Address Line 3"}, {Name: "Address Line 4"}, {Name: "Address Line 5"},
		{Name: "Postcode", Constraints: Constraints{Pattern: `[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}`}},
		{Name: "Open Date", Type: TypeDate, Format: "%Y%m%d", Constraints: Constraints{Required: true}},
		{Name: "Close Date", Type: TypeDate, Format: "%Y%m%d"},
	}
	fields = append(fields, numbered("Column", 13, 17)...)
	fields = append(fields, Field{Name: "Contact Telephone Number"})
	fields = append(fields, numbered("Column", 19, 27)...)
	return Resource{
		Name: "etr", Path: "etr.csv", Format: "csv", MediaType: "text/csv", Encoding: "utf-8",
		Dialect: Dialect{Delimiter: ",", Header: false, QuoteChar: `"`},
		Schema:  Schema{Fields: fields, PrimaryKey: []string{"Organisation Code"}, MissingValues: []string{""}},
	}
}

func TestRealFileETR(t *testing.T) {
	data := readFile(t, "etr.csv")
	res := etrResource()
	if len(res.Schema.Fields) != 27 {
		t.Fatalf("declared %d fields, want 27", len(res.Schema.Fields))
	}
	sum, err := Validate(bytes.NewReader(data), "etr.csv", res, 0)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Summary{Rows: 274, Bytes: 57439, SHA256: "ee157f251284605a7390af3d2a412419e4758b2fda63441773923616c027a911"}
	if sum != want {
		t.Errorf("Summary: got %+v, want %+v (the copy must stay identical to the shared etr.csv)", sum, want)
	}

	rd, err := NewReader(bytes.NewReader(data), "etr.csv", res)
	if err != nil {
		t.Fatal(err)
	}
	if got := rd.Header(); !slices.Equal(got, res.Schema.FieldNames()) {
		t.Errorf("Header: got %q, want the declared names", got)
	}
	open := 0
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if row.Number == 1 {
			if row.Record != 1 || row.Line != 1 || row.Cells[0] != "G6V2S" || !row.Values[10].Time.Equal(date(2024, 11, 1)) {
				t.Errorf("first row: got %+v", row)
			}
		}
		if row.Values[11].Kind == KindMissing {
			open++
		}
	}
	if open != 203 {
		t.Errorf("got %d trusts without a close date, want 203", open)
	}
}

// hospitalSitesResource declares hospital-sites.csv: "~"-delimited,
// windows-1252, with a header.
func hospitalSitesResource() Resource {
	names := strings.Split("OrganisationID~OrganisationCode~OrganisationType~SubType~Sector~OrganisationStatus~IsPimsManaged~OrganisationName~Address1~Address2~Address3~City~County~Postcode~Latitude~Longitude~ParentODSCode~ParentName~Phone~Email~Website~Fax", "~")
	fields := make([]Field, len(names))
	for i, n := range names {
		fields[i] = Field{Name: n, Type: TypeString}
	}
	fields[0].Type = TypeInteger
	fields[1].Constraints.Pattern = `[A-Z0-9]{3,6}`
	fields[4].Constraints.Enum = []string{"NHS Sector", "Independent Sector"}
	fields[6].Type, fields[6].TrueValues, fields[6].FalseValues = TypeBoolean, []string{"True"}, []string{"False"}
	fields[14].Type, fields[14].Constraints.Minimum, fields[14].Constraints.Maximum = TypeNumber, "49", "61"
	fields[15].Type = TypeNumber
	return Resource{
		Name: "hospital-sites", Path: "hospital-sites.csv", Encoding: "windows-1252",
		Dialect: Dialect{Delimiter: "~", Header: true},
		Schema:  Schema{Fields: fields, MissingValues: []string{""}},
	}
}

func TestRealFileHospitalSites(t *testing.T) {
	data := readFile(t, "hospital-sites.csv")
	res := hospitalSitesResource()
	sum, err := Validate(bytes.NewReader(data), "hospital-sites.csv", res, 0)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Summary{Rows: 1216, Bytes: 333017, SHA256: "dd47f4845bad3b1fec8c321f0f5f1e04ef35e2381be5dfcec03cf8e70993a2a1"}
	if sum != want {
		t.Errorf("Summary: got %+v, want %+v (the copy must stay identical to the shared hospital-sites.csv)", sum, want)
	}

	rd, err := NewReader(bytes.NewReader(data), "hospital-sites.csv", res)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]Row{}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c := row.Cells[1]; c == "R1HM0" || c == "NVC21" {
			found[c] = row
		}
	}
	// Byte 0x92 is a right single quotation mark in windows-1252.
	barts := found["R1HM0"]
	if got, want := barts.Cells[8], "St Bartholomew\u2019s Hospital"; got != want {
		t.Errorf("R1HM0 Address1: got %q, want %q", got, want)
	}
	if barts.Record != 196 || barts.Line != 196 || !barts.Values[6].Bool || barts.Values[14].Float != 51.517749786376953 {
		t.Errorf("R1HM0: got %+v", barts)
	}
	// Byte 0xA0 is a no-break space.
	if got, want := found["NVC21"].Cells[21], "01384 411103\u00A0 "; got != want {
		t.Errorf("NVC21 Fax: got %q, want %q", got, want)
	}

	// Declared with the wrong encoding, the first non-ASCII byte is reported
	// where it is.
	res.Encoding = "utf-8"
	_, err = Validate(bytes.NewReader(data), "hospital-sites.csv", res, 0)
	checkProblems(t, err, "hospital-sites.csv", []wantProblem{{Row: 170, Line: 170, Offset: 51862, Message: "invalid UTF-8 in a file declared utf-8"}})
}

// promsResource declares the PROMs hip and knee file, whose header
// misspells "Organsation Name".
func promsResource() Resource {
	score := func(name string) Field {
		return Field{Name: name, Type: TypeNumber, Role: RoleMeasure}
	}
	adjusted := func(name string) Field {
		f := score(name)
		f.Suppressed = []string{"*"}
		return f
	}
	count := func(name string) Field {
		return Field{Name: name, Type: TypeInteger, Role: RoleMeasure, CountOfIndividuals: true, Constraints: Constraints{Minimum: "0"}}
	}
	return Resource{
		Name: "proms-hip-knee-2018-19", Path: "proms-head.csv",
		Dialect: DefaultDialect(),
		Schema: Schema{
			Fields: []Field{
				{Name: "Procedure", Role: RoleDimension, Constraints: Constraints{Required: true}},
				{Name: "Organisation Type", Role: RoleDimension},
				{Name: "Organisation Code", Role: RoleKey, Constraints: Constraints{Required: true, Pattern: `[A-Z0-9]{3,6}`},
					Organisation: &OrganisationRef{NameField: "Organsation Name", TypeField: "Organisation Type", Types: map[string]string{"CCG of GP Practice": "ccg", "Provider": ""}}},
				{Name: "Organsation Name", Title: "Organisation Name"},
				{Name: "Measure", Role: RoleDimension, Constraints: Constraints{Enum: []string{"EQ VAS", "EQ-5D Index", "Oxford Hip Score", "Oxford Knee Score"}}},
				count("Modelled Records"),
				score("Average Pre-Op Q Score"), score("Average Post-Op Q Score"), score("Health Gain"),
				count("Improved"), count("Same"), count("Worse"),
				adjusted("Adjusted Post-Op Q Score"), adjusted("Adjusted Average Health Gain"), adjusted("Standard Deviation"),
			},
			MissingValues: []string{"", "-"},
			Disclosure:    &DisclosureRule{Rule: DisclosureNHSDigital},
		},
	}
}

func TestRealFilePROMs(t *testing.T) {
	data := readFile(t, "proms-head.csv")
	res := promsResource()
	sum, err := Validate(bytes.NewReader(data), "proms-head.csv", res, 0)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Summary{Rows: 639, Bytes: 86975, SHA256: "4c579346c98ebf792f51ccaf7ef2e6394c08840f49162890109beb1f785e7154"}
	if sum != want {
		t.Errorf("Summary: got %+v, want %+v (head -640 of the shared file)", sum, want)
	}

	rd, err := NewReader(bytes.NewReader(data), "proms-head.csv", res)
	if err != nil {
		t.Fatal(err)
	}
	if got := rd.Header()[3]; got != "Organsation Name" {
		t.Errorf("Header()[3]: got %q, want the file's spelling", got)
	}
	kinds := map[Kind]int{}
	var missingRows []int
	var first Row
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if row.Number == 1 {
			first = row
		}
		kinds[row.Values[12].Kind]++
		if row.Values[5].Kind == KindMissing {
			missingRows = append(missingRows, row.Record)
		}
	}
	if first.Values[2].Text != "00C" || first.Values[5].Int != 54 || first.Values[6].Float != 63.6111 {
		t.Errorf("first row: got %+v", first.Values)
	}
	if kinds[KindSuppressed] != 209 || kinds[KindMissing] != 2 || kinds[KindNumber] != 428 {
		t.Errorf("Adjusted Post-Op Q Score kinds: got %v, want 209 suppressed, 2 missing, 428 numbers", kinds)
	}
	if !slices.Equal(missingRows, []int{632, 638}) {
		t.Errorf("rows with missing Modelled Records: got %v, want [632 638]", missingRows)
	}

	// Declaring the correct spelling is a header problem, not a guess.
	res.Schema.Fields[3].Name = "Organisation Name"
	res.Schema.Fields[2].Organisation.NameField = "Organisation Name"
	_, err = Validate(bytes.NewReader(data), "proms-head.csv", res, 0)
	checkProblems(t, err, "proms-head.csv", []wantProblem{{Row: 1, Line: 1, Column: 4, Field: "Organisation Name", Value: "Organsation Name", Offset: -1, Message: `the header is "Organsation Name"`}})

	// Without the suppression marker, "*" is not a number.
	res = promsResource()
	res.Schema.Fields[12].Suppressed = nil
	_, err = Validate(bytes.NewReader(data), "proms-head.csv", res, 1)
	checkProblems(t, err, "proms-head.csv", []wantProblem{{Row: 3, Line: 3, Column: 13, Field: "Adjusted Post-Op Q Score", Value: "*", Offset: -1, Message: `"*" is not a number`}})
}
