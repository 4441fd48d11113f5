package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzDelimiters are the delimiters FuzzReader tries, chosen by two bits
// of its options.
var fuzzDelimiters = [4]string{",", ";", "\t", "~"}

// fuzzResource is the practices schema (code, name, opened, total) in the
// dialect and encoding that options choose: bit 0 no header, bit 1
// windows-1252, bits 2–3 the delimiter, bit 4 skip initial spaces.
func fuzzResource(options byte) Resource {
	res := practiceResource()
	res.Dialect.Header = options&1 == 0
	if options&2 != 0 {
		res.Encoding = "windows-1252"
	}
	res.Dialect.Delimiter = fuzzDelimiters[options>>2&3]
	res.Dialect.SkipInitialSpace = options&16 != 0
	return res
}

// FuzzReader reads arbitrary bytes as a file of a small fixed schema. The
// reader must not panic; every row it returns has a cell and a value per
// field, or is a ragged row reported as such; no row it accepts holds a
// control character or invalid UTF-8; and every error is Problems that
// locate themselves in the file by row (except "file is empty", which has
// no rows to name).
func FuzzReader(f *testing.F) {
	f.Add([]byte(practiceHeader+"A81001,THE DENSHAM SURGERY,19740401,12.5\r\n"), byte(0))
	f.Fuzz(func(t *testing.T, data []byte, options byte) {
		res := fuzzResource(options)
		const name = "fuzz.csv"
		fields := res.Schema.Fields

		rd, err := NewReader(bytes.NewReader(data), name, res)
		if err != nil {
			checkFuzzProblems(t, err, data, res)
			checkFuzzValidate(t, data, res, err)
			return
		}
		if got := len(rd.Header()); res.Dialect.Header && got != len(fields) {
			t.Fatalf("the header has %d names but was accepted for %d fields", got, len(fields))
		}
		var problems Problems
		for n := 1; ; n++ {
			row, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkFuzzProblems(t, err, data, res)
				var ps Problems
				errors.As(err, &ps)
				problems = append(problems, ps...)
			}
			if row.Number == 0 { // fatal: the same error from now on
				if err == nil {
					t.Fatalf("row %d: an empty row without an error", n)
				}
				if _, again := rd.Read(); again == nil || again.Error() != err.Error() {
					t.Fatalf("after a fatal problem (%v) Read returned %v", err, again)
				}
				break
			}
			if row.Number != n {
				t.Fatalf("got row number %d, want %d", row.Number, n)
			}
			wantRecord := n
			if res.Dialect.Header {
				wantRecord++
			}
			if row.Record != wantRecord {
				t.Fatalf("row %d: got record %d, want %d", n, row.Record, wantRecord)
			}
			if row.Values == nil {
				if err == nil || len(row.Cells) == len(fields) {
					t.Fatalf("row %d: no values, %d cells, error %v: only a ragged row, reported, has no values", n, len(row.Cells), err)
				}
				continue
			}
			if len(row.Values) != len(fields) || len(row.Cells) != len(fields) {
				t.Fatalf("row %d: %d values and %d cells for %d fields", n, len(row.Values), len(row.Cells), len(fields))
			}
			if err != nil {
				continue
			}
			for i, cell := range row.Cells {
				if c, bad := controlCharacter(cell); bad {
					t.Fatalf("row %d column %d: accepted %q, which holds control character %#x", n, i+1, cell, c)
				}
				if !utf8.ValidString(cell) {
					t.Fatalf("row %d column %d: accepted %q, which is not UTF-8", n, i+1, cell)
				}
			}
		}
		checkFuzzValidate(t, data, res, problems.err())
	})
}

// checkFuzzProblems checks that err is Problems, each naming the file and
// a row, with a column's field name matching the schema.
func checkFuzzProblems(t *testing.T, err error, data []byte, res Resource) {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v (%T), want Problems", err, err)
	}
	if len(ps) == 0 {
		t.Fatal("an empty Problems was returned as an error")
	}
	for _, p := range ps {
		if p.File != "fuzz.csv" || p.Message == "" {
			t.Fatalf("problem %+v: want the file named and a message", p)
		}
		if p.Row <= 0 {
			if !fuzzBlank(data, res) {
				t.Fatalf("problem %q names no row, but the file is not empty", p.Error())
			}
			continue
		}
		if !strings.Contains(p.Error(), fmt.Sprintf("row %d", p.Row)) {
			t.Fatalf("problem %q does not say its row %d", p.Error(), p.Row)
		}
		if p.Column < 0 {
			t.Fatalf("problem %q: column %d", p.Error(), p.Column)
		}
		if p.Field != "" && (p.Column < 1 || p.Column > len(res.Schema.Fields) || res.Schema.Fields[p.Column-1].Name != p.Field) {
			t.Fatalf("problem %q: field %q is not the schema's column %d", p.Error(), p.Field, p.Column)
		}
	}
}

// fuzzBlank reports whether data is a file with nothing in it: only line
// ends, spaces and tabs after a UTF-8 byte order mark.
func fuzzBlank(data []byte, res Resource) bool {
	if res.Encoding == "" {
		data = bytes.TrimPrefix(data, utf8BOM)
	}
	return len(bytes.Trim(data, " \t\r\n")) == 0
}

// checkFuzzValidate checks that Validate agrees with reading row by row
// and summarises the raw bytes.
func checkFuzzValidate(t *testing.T, data []byte, res Resource, want error) {
	t.Helper()
	sum, err := Validate(bytes.NewReader(data), "fuzz.csv", res, 0)
	if (err == nil) != (want == nil) || err != nil && err.Error() != want.Error() {
		t.Fatalf("Validate: got %v, want %v", err, want)
	}
	h := sha256.Sum256(data)
	if sum.Bytes != int64(len(data)) || sum.SHA256 != hex.EncodeToString(h[:]) {
		t.Fatalf("Validate: summary %+v of %d bytes", sum, len(data))
	}
}
