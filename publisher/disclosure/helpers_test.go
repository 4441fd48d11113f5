package disclosure

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

// parseFile reads csv against the schema as the publisher would.
func parseFile(t *testing.T, name, schemaJSON, csv string) File {
	t.Helper()
	s, err := datasets.ParseSchema([]byte(schemaJSON))
	if err != nil {
		t.Fatalf("%s: schema: %v", name, err)
	}
	res := datasets.Resource{Name: "test", Path: name, Dialect: datasets.DefaultDialect(), Schema: s}
	return readFile(t, name, res, strings.NewReader(csv))
}

func readFile(t *testing.T, name string, res datasets.Resource, r io.Reader) File {
	t.Helper()
	rd, err := datasets.NewReader(r, name, res)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	f := File{Name: name, Resource: res, Header: rd.Header()}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f.Rows = append(f.Rows, row)
	}
	return f
}

// reparse reads a public file back, as a later release would see it.
func reparse(t *testing.T, p PublicFile) File {
	t.Helper()
	var buf bytes.Buffer
	if err := p.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	return readFile(t, p.Name, p.Resource, &buf)
}

func mustCheck(t *testing.T, in Input) Result {
	t.Helper()
	res, err := Check(in)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	// The report must always serialise.
	if _, err := json.Marshal(res.Report); err != nil {
		t.Fatalf("report does not marshal: %v", err)
	}
	return res
}

// findings returns the findings of one kind.
func findings(r Result, kind string) []Finding {
	var out []Finding
	for _, f := range r.Report.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// auditCell returns the audit entry of a cell.
func auditCell(t *testing.T, r Result, file string, row int, field string) AuditCell {
	t.Helper()
	for _, c := range r.Report.Audit.Cells {
		if c.File == file && c.Row == row && c.Field == field && c.Version == 0 {
			return c
		}
	}
	t.Fatalf("no audit entry for %s row %d %s; have %+v", file, row, field, r.Report.Audit.Cells)
	return AuditCell{}
}

func maxOf(c AuditCell) float64 {
	if c.Max == nil {
		return -1
	}
	return *c.Max
}

// publicText returns the public cells as one string, rows on lines.
func publicText(p PublicFile) string {
	var b strings.Builder
	b.WriteString(strings.Join(p.Header, ",") + "\n")
	for _, r := range p.Rows {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	return b.String()
}

func containsNumber(s, n string) bool {
	return regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(n) + `([^0-9.]|$)`).MatchString(s)
}
