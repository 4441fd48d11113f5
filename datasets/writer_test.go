package datasets

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestWriterGolden(t *testing.T) {
	rows := [][]string{
		{"A81001", "Plain Surgery", "12"},
		{"00C", "Smith, Jones & Partners", "0.5"},
		{"B82002", `The "Old" Surgery`, ""},
		{"C83003", "two\nlines", "*"},
		{"D84004", "carriage\r\nreturn", "-"},
		{"E85005", " leading space", "trailing space "},
		{"F86006", "Caf\u00e9 \u2019quoted\u2019", "\u00a3"},
		{"", "", ""},
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []string{"code", "name", "total"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write(%q): %v", r, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "writer.golden.csv")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
	// Independent of the golden file: RFC 4180 line ends, no BOM, quotes
	// only where needed.
	out := buf.String()
	if strings.HasPrefix(out, "\xEF\xBB\xBF") {
		t.Error("output starts with a byte order mark")
	}
	for _, line := range []string{
		"code,name,total\r\n",
		"A81001,Plain Surgery,12\r\n",
		"00C,\"Smith, Jones & Partners\",0.5\r\n",
		"B82002,\"The \"\"Old\"\" Surgery\",\r\n",
		"C83003,\"two\nlines\",*\r\n",
		"D84004,\"carriage\r\nreturn\",-\r\n",
		"E85005,\" leading space\",\"trailing space \"\r\n",
		",,\r\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
	}

	// What the Writer writes, the Reader reads back (encoding/csv turns a
	// CRLF inside a quoted cell into LF).
	fields := []Field{{Name: "code"}, {Name: "name"}, {Name: "total"}}
	res := Resource{Name: "w", Dialect: DefaultDialect(), Schema: Schema{Fields: fields}}
	rd, err := NewReader(bytes.NewReader(buf.Bytes()), "w.csv", res)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range rows {
		row, err := rd.Read()
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		want = slices.Clone(want)
		want[1] = strings.ReplaceAll(want[1], "\r\n", "\n")
		if !slices.Equal(row.Cells, want) {
			t.Errorf("row %d: got %q, want %q", i+1, row.Cells, want)
		}
	}
	if _, err := rd.Read(); err != io.EOF {
		t.Errorf("after the last row: got %v, want io.EOF", err)
	}
}

func TestWriterSingleEmptyCell(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []string{"note"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"", "x", ""} {
		if err := w.Write([]string{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A bare empty line would be skipped by readers; the cell is quoted.
	if got, want := buf.String(), "note\r\n\"\"\r\nx\r\n\"\"\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriterErrors(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *Writer) error
		want  string
	}{
		{"too few cells", func(w *Writer) error { return w.Write([]string{"a"}) }, "csv writer: row 1 has 1 cells, want 2"},
		{"too many cells", func(w *Writer) error { return w.Write([]string{"a", "b", "c"}) }, "csv writer: row 1 has 3 cells, want 2"},
		{"invalid UTF-8", func(w *Writer) error { return w.Write([]string{"a", "Caf\xe9"}) }, "csv writer: row 1: cell 2 is not valid UTF-8"},
		{"write after close", func(w *Writer) error { w.Close(); return w.Write([]string{"a", "b"}) }, "csv writer: write after Close"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(io.Discard, []string{"x", "y"})
			if err != nil {
				t.Fatal(err)
			}
			err = tt.write(w)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := NewWriter(io.Discard, nil); err == nil {
		t.Error("NewWriter with no columns: got no error")
	}
}

type failingWriter struct{ after int }

var errFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errFull
	}
	f.after--
	return len(p), nil
}

func TestWriterReportsUnderlyingErrors(t *testing.T) {
	w, err := NewWriter(&failingWriter{after: 1}, []string{"code", "name"})
	if err != nil {
		t.Fatal(err)
	}
	row := []string{"A81001", strings.Repeat("x", 1000)}
	var first error
	for range 1000 {
		if err := w.Write(row); err != nil {
			first = err
			break
		}
	}
	if !errors.Is(first, errFull) {
		t.Fatalf("Write: got %v, want the underlying error", first)
	}
	if err := w.Write(row); err != first {
		t.Errorf("Write after an error: got %v, want the first error %v", err, first)
	}
	if err := w.Close(); !errors.Is(err, errFull) {
		t.Errorf("Close: got %v, want the underlying error", err)
	}
}

// countingWriter counts what it is given without keeping it.
type countingWriter struct {
	n, calls, largest int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	c.calls++
	c.largest = max(c.largest, len(p))
	return len(p), nil
}

func TestWriterStreams(t *testing.T) {
	const rows = 200_000
	cw := &countingWriter{}
	w, err := NewWriter(cw, []string{"code", "name", "total"})
	if err != nil {
		t.Fatal(err)
	}
	want := len("code,name,total\r\n")
	for i := range rows {
		cells := []string{"A" + strconv.Itoa(i), "Surgery, " + strconv.Itoa(i), strconv.Itoa(i * 7)}
		want += len(cells[0]) + len(cells[1]) + 2 + len(cells[2]) + 2 + 2
		if err := w.Write(cells); err != nil {
			t.Fatal(err)
		}
		if i == rows/2 && cw.n == 0 {
			t.Fatal("nothing written halfway: the writer is holding rows")
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if cw.n != want {
		t.Errorf("wrote %d bytes, want %d", cw.n, want)
	}
	if cw.largest > 64<<10 {
		t.Errorf("largest write was %d bytes, want at most the 64 KiB buffer", cw.largest)
	}
	if cw.calls < want/(64<<10) {
		t.Errorf("got %d writes for %d bytes, want the output streamed in buffer-sized pieces", cw.calls, want)
	}
}

func TestWriterSpreadsheetSafe(t *testing.T) {
	cases := []struct{ in, want string }{
		{"=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"+44 20 7946 0000", "'+44 20 7946 0000"},
		{"-2+3", "'-2+3"},
		{"\tcmd", "'\tcmd"},
		{"\r=1", "'\r=1"},
		{"-3", "-3"},
		{"+1.5e3", "+1.5e3"},
		{"Leeds", "Leeds"},
		{"", ""},
		{"a=b", "a=b"},
		{"-", "-"},
	}
	for _, c := range cases {
		if got := NeutraliseFormula(c.in); got != c.want {
			t.Errorf("NeutraliseFormula(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []string{"name", "count"})
	if err != nil {
		t.Fatal(err)
	}
	w.SpreadsheetSafe([]bool{false, true})
	row := []string{"=1+1", "-1"}
	if err := w.Write(row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "name,count\r\n'=1+1,-1\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if row[0] != "=1+1" {
		t.Errorf("the caller's row was changed: %q", row[0])
	}
}
