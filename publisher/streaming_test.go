package publisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/disclosure"
)

// streamSubmission is a one-file submission of dataset "beds" with the
// given schema, dialect (JSON, or "") and CSV.
func streamSubmission(t *testing.T, schemaJSON, dialect, csv string) publisher.Submission {
	t.Helper()
	if dialect != "" {
		dialect = `, "dialect": ` + dialect
	}
	fsys := fstest.MapFS{
		"d.json": {Data: []byte(`{
			"dataset": {"slug": "beds", "title": "Beds", "publisher": {"slug": "nhs-england", "name": "NHS England"}, "topics": ["Capacity"]},
			"release": {"title": "Beds, January 2026", "periodLabel": "January 2026", "periodStart": "2026-01-01", "periodEnd": "2026-01-31"},
			"resources": [{"name": "beds", "path": "beds.csv", "schema": "beds.schema.json"` + dialect + `}]}`)},
		"beds.schema.json": {Data: []byte(schemaJSON)},
		"beds.csv":         {Data: []byte(csv)},
	}
	sub, err := publisher.ReadSubmission(fsys, "d.json")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

const bedsNone = `{"fields": [
	{"name": "Code", "type": "string", "candour:role": "key"},
	{"name": "Beds", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]},
	{"name": "Note", "type": "string"}],
	"candour:disclosure": {"rule": "none", "reason": "beds are not people"}}`

// auditOf is the audit section of a disclosure report.
func auditOf(t *testing.T, report json.RawMessage) disclosure.AuditReport {
	t.Helper()
	var rep disclosure.Report
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Audit
}

// storedCells reads a stored file's rows back.
func storedCells(t *testing.T, e env, r catalogue.Release, file string) [][]string {
	t.Helper()
	var cells [][]string
	for row, err := range e.rows.Rows(context.Background(), datasets.NewVisible(r.ID), datasets.RowQuery{File: datasets.FileRef{Release: r.ID, File: file}}) {
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, row.Cells)
	}
	return cells
}

func blobText(t *testing.T, e env, sha string) string {
	t.Helper()
	rc, _, err := e.blobs.Open(context.Background(), sha)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLargeFilesAreReadWithoutTheirRows: a release with nothing for the
// recoverability audit to protect is checked as it is read (the report
// says streamed), and stores exactly what a release checked from its rows
// would: the original bytes as the public version when they are already
// UTF-8 comma-separated CSV, else the rows rewritten as such, and every
// row. Anything the audit would have to protect — a cell suppressed at
// source, an earlier release under a small-number rule — brings the rows
// back.
func TestLargeFilesAreReadWithoutTheirRows(t *testing.T) {
	ctx := context.Background()
	t.Run("comma-separated: the original is the public version", func(t *testing.T) {
		e := newEnv(t)
		csv := "Code,Beds,Note\nRR8,120,\"Leeds, general\"\nRX1,4,\n"
		out, err := e.svc.Submit(ctx, pub, streamSubmission(t, bedsNone, "", csv), nil)
		if err != nil {
			t.Fatal(err)
		}
		if a := auditOf(t, out.Report); !a.Streamed || !a.Passed {
			t.Errorf("audit %+v: want streamed", a)
		}
		r := out.Release
		if len(r.Files) != 2 || r.Files[0].SHA256 != r.Files[1].SHA256 || r.Files[0].Rows != 2 {
			t.Fatalf("files %+v: want the public version to be the original, 2 rows", r.Files)
		}
		if got := fmt.Sprint(storedCells(t, e, r, "beds.csv")); got != `[[RR8 120 Leeds, general] [RX1 4 ]]` {
			t.Errorf("stored rows %s", got)
		}
	})
	t.Run("an amendment of a release that derives nothing streams too", func(t *testing.T) {
		e := newEnv(t)
		out, err := e.svc.Submit(ctx, pub, streamSubmission(t, bedsNone, "", "Code,Beds,Note\nRR8,120,\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		amended, err := e.svc.Amend(ctx, pub, out.Release.ID, streamSubmission(t, bedsNone, "", "Code,Beds,Note\nRR8,121,\nRX1,4,\n").Files, "RX1 added", nil)
		if err != nil {
			t.Fatal(err)
		}
		report, err := e.svc.DisclosureReport(ctx, amended.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a := auditOf(t, report); !a.Streamed || !a.Passed {
			t.Errorf("the amendment's audit %+v: want streamed", a)
		}
		if got := fmt.Sprint(storedCells(t, e, amended, "beds.csv")); got != `[[RR8 121 ] [RX1 4 ]]` {
			t.Errorf("stored rows after the amendment %s", got)
		}
	})
	t.Run("semicolon-separated: rewritten as it streams", func(t *testing.T) {
		e := newEnv(t)
		csv := "Code;Beds;Note\r\nRR8;120;Leeds, general\r\nRX1;4;\r\n"
		out, err := e.svc.Submit(ctx, pub, streamSubmission(t, bedsNone, `{"delimiter": ";"}`, csv), nil)
		if err != nil {
			t.Fatal(err)
		}
		if a := auditOf(t, out.Report); !a.Streamed {
			t.Errorf("audit %+v: want streamed", a)
		}
		r := out.Release
		if len(r.Files) != 2 || r.Files[0].SHA256 == r.Files[1].SHA256 || r.Files[0].Rows != 2 || r.Files[0].Encoding != "utf-8" {
			t.Fatalf("files %+v: want a rewritten public version of 2 rows", r.Files)
		}
		if got, want := blobText(t, e, r.Files[0].SHA256), "Code,Beds,Note\r\nRR8,120,\"Leeds, general\"\r\nRX1,4,\r\n"; got != want {
			t.Errorf("public version:\n%q\nwant\n%q", got, want)
		}
		if got := fmt.Sprint(storedCells(t, e, r, "beds.csv")); got != `[[RR8 120 Leeds, general] [RX1 4 ]]` {
			t.Errorf("stored rows %s", got)
		}
	})
	t.Run("semicolon-separated, held rows, nothing changed: rewritten too", func(t *testing.T) {
		// The public version is described as comma-separated UTF-8, so
		// the original's bytes can be it only when they are that.
		e := newEnv(t)
		csv := "Code;Beds;Note\nRR8;*;Leeds, general\nRX1;4;\n"
		out, err := e.svc.Submit(ctx, pub, streamSubmission(t, bedsNone, `{"delimiter": ";"}`, csv), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := out.Release
		if auditOf(t, out.Report).Streamed || len(r.Files) != 2 || r.Files[0].SHA256 == r.Files[1].SHA256 {
			t.Fatalf("files %+v: want a rewritten public version", r.Files)
		}
		if got := fmt.Sprint(storedCells(t, e, r, "beds.csv")); got != `[[RR8 * Leeds, general] [RX1 4 ]]` {
			t.Errorf("stored rows %s", got)
		}
	})
	t.Run("a cell suppressed at source: read again with the rows", func(t *testing.T) {
		e := newEnv(t)
		out, err := e.svc.Submit(ctx, pub, streamSubmission(t, bedsNone, "", "Code,Beds,Note\nRR8,*,\nRX1,4,\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if a := auditOf(t, out.Report); a.Streamed {
			t.Errorf("audit %+v: a release with a suppressed cell must be audited from its rows", a)
		}
		if got := fmt.Sprint(storedCells(t, e, out.Release, "beds.csv")); got != `[[RR8 * ] [RX1 4 ]]` {
			t.Errorf("stored rows %s", got)
		}
	})
	t.Run("an earlier release under a small-number rule: its rows are audited", func(t *testing.T) {
		e := newEnv(t)
		nhs := strings.Replace(bedsNone, `{"rule": "none", "reason": "beds are not people"}`, `{"rule": "nhs-digital"}`, 1)
		first, err := e.svc.Submit(ctx, pub, streamSubmission(t, nhs, "", "Code,Beds,Note\nRR8,120,\nRX1,4,\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if a := auditOf(t, first.Report); a.Streamed {
			t.Fatalf("an nhs-digital release was streamed: %+v", a)
		}
		mustBeChecked(t, first.Release)
		out, err := e.svc.Submit(ctx, pub, streamSubmission(t, bedsNone, "", "Code,Beds,Note\nRR8,121,\nRX1,5,\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if a := auditOf(t, out.Report); a.Streamed {
			t.Errorf("audit %+v: want the earlier release's suppressed cell audited", a)
		}
	})
	t.Run("earlier releases under rule none: streamed unless one has a suppressed cell", func(t *testing.T) {
		e := newEnv(t)
		for i, tc := range []struct {
			csv      string
			streamed bool
		}{
			{"Code,Beds,Note\nRR8,120,\n", true},  // no earlier release
			{"Code,Beds,Note\nRR8,121,\n", true},  // the first has nothing suppressed
			{"Code,Beds,Note\nRR8,*,\n", false},   // suppressed at source: audited from its rows
			{"Code,Beds,Note\nRR8,122,\n", false}, // an earlier release has a suppressed cell
		} {
			out, err := e.svc.Submit(ctx, pub, streamSubmission(t, bedsNone, "", tc.csv), nil)
			if err != nil {
				t.Fatal(err)
			}
			mustBeChecked(t, out.Release)
			if a := auditOf(t, out.Report); a.Streamed != tc.streamed {
				t.Errorf("release %d: streamed %v, want %v", i+1, a.Streamed, tc.streamed)
			}
		}
	})
}

// mustBeChecked fails unless release r is checked: a later submission of
// its dataset then treats it as an earlier release (drafts are not).
func mustBeChecked(t *testing.T, r catalogue.Release) {
	t.Helper()
	if r.State != catalogue.StateChecked {
		t.Fatalf("release %d is %s, want checked", r.ID, r.State)
	}
}
