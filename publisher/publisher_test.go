package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators/audit/outcomesqlite"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/workflowsqlite"
)

var now = time.Date(2026, 2, 12, 9, 30, 0, 0, time.UTC)

type env struct {
	svc      *publisher.Service
	cat      *cataloguesqlite.Store
	rows     *rowsqlite.Store
	blobs    *datasets.BlobStore
	work     *workflowsqlite.Store
	audits   *outcomesqlite.Store
	blobsDir string
	clock    *clock
}

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Actors of the tests.
var (
	pub      = publisher.Actor{Username: "pat", Name: "Pat Publisher", Roles: []publisher.Role{publisher.RolePublisher}, Organisation: "nhs-england"}
	revA     = publisher.Actor{Username: "ann", Name: "Ann Reviewer", Roles: []publisher.Role{publisher.RoleReviewer}}
	revB     = publisher.Actor{Username: "bob", Name: "Bob Reviewer", Roles: []publisher.Role{publisher.RoleReviewer}, Organisation: "nhs-digital"}
	revOwn   = publisher.Actor{Username: "cat", Name: "Cat Insider", Roles: []publisher.Role{publisher.RoleReviewer}, Organisation: "nhs-england"}
	checker  = publisher.Actor{Username: "chk", Name: "Chris Checker", Roles: []publisher.Role{publisher.RoleProviderChecker}, Organisation: "RR8"}
	admin    = publisher.Actor{Username: "root", Name: "Ada Admin", Roles: []publisher.Role{publisher.RoleAdministrator}}
	outsider = publisher.Actor{Username: "eve", Name: "Eve Elsewhere", Roles: []publisher.Role{publisher.RolePublisher}, Organisation: "cqc"}
)

func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db,
		sqlitedb.Set{Component: cataloguesqlite.Component, Files: cataloguesqlite.Migrations()},
		rowsqlite.Migrations(),
		auditsqlite.Migrations(),
		workflowsqlite.Migrations(),
		outcomesqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	blobsDir := filepath.Join(dir, "blobs")
	blobs, err := datasets.OpenBlobStore(blobsDir)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: now}
	e := env{cat: cataloguesqlite.New(db, c.Now), rows: rowsqlite.New(db), blobs: blobs, blobsDir: blobsDir, clock: c}
	e.work = workflowsqlite.New(db, e.cat)
	e.audits = outcomesqlite.New(db)
	e.svc = publisher.New(publisher.Options{Catalogue: e.cat, Rows: e.rows, Blobs: e.blobs, Workflow: e.work, Audits: e.audits,
		Now: c.Now, Log: slog.New(slog.DiscardHandler), MaxUploadBytes: 1 << 20})
	return e
}

const schema = `{"fields": [
	{"name": "Code", "type": "string", "constraints": {"required": true, "pattern": "[A-Z0-9]{3,6}|England"},
	 "candour:organisation": {"nameField": "Name", "typeField": "Kind", "types": {"Provider": "", "CCG": "ccg"}, "notOrganisations": ["England"]}},
	{"name": "Name", "type": "string"},
	{"name": "Kind", "type": "string"},
	{"name": "Patients", "type": "number", "candour:suppressed": ["*"]}]}`

// submission builds a one-file submission from CSV text.
func submission(t *testing.T, csv string) publisher.Submission {
	t.Helper()
	fsys := fstest.MapFS{
		"d.json": {Data: []byte(`{
			"dataset": {"slug": "waits", "title": "Waits", "publisher": {"slug": "nhs-england", "name": "NHS England"}, "topics": ["Cancer"]},
			"release": {"title": "Waits, January 2026", "periodLabel": "January 2026", "periodStart": "2026-01-01", "periodEnd": "2026-01-31",
				"quality": {"coverage": "England"}},
			"resources": [{"name": "waits", "path": "waits.csv", "schema": "waits.schema.json"}]}`)},
		"waits.schema.json": {Data: []byte(schema)},
		"waits.csv":         {Data: []byte(csv)},
	}
	sub, err := publisher.ReadSubmission(fsys, "d.json")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

const goodCSV = "Code,Name,Kind,Patients\r\nRR8,LEEDS TEACHING HOSPITALS NHS TRUST,Provider,12.5\r\nNV1,INHEALTH LIMITED,Provider,*\r\n00C,NHS DARLINGTON CCG,CCG,3\r\nEngland,England,Provider,100\r\n"

func TestSubmitStoresACheckedRelease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.cat.PutOrganisations(ctx, []catalogue.Organisation{{Code: "RR8", Name: "LEEDS TEACHING HOSPITALS NHS TRUST",
		Type: catalogue.TypeNHSTrust, Status: catalogue.StatusActive, InDirectory: true, Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Submit(ctx, pub, submission(t, goodCSV), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := out.Release
	if r.State != catalogue.StateChecked || r.Version != 1 || r.PeriodStart.String() != "2026-01-01" || r.Quality.Coverage != "England" {
		t.Errorf("release %+v", r)
	}
	// No cell changed, so the public version is the submitted bytes
	// (same hash), beside the private original.
	if len(r.Files) != 2 || r.Files[0].Rows != 4 || r.Files[0].Bytes != int64(len(goodCSV)) || r.Files[0].Role != catalogue.RolePublic ||
		r.Files[1].Role != catalogue.RoleOriginal || r.Files[1].SHA256 != r.Files[0].SHA256 || r.SubmittedBy != "pat" {
		t.Fatalf("files %+v", r.Files)
	}
	if len(out.Report) == 0 || r.DisclosureSummary == "" {
		t.Errorf("no disclosure report (%q) or summary (%q)", out.Report, r.DisclosureSummary)
	}
	// Codes outside the directory are warned about, with the dataset's names and types; England is not an organisation.
	warnings := strings.Join(out.Warnings, "\n")
	if len(out.Warnings) != 2 || !strings.Contains(warnings, "NV1 (INHEALTH LIMITED)") || !strings.Contains(warnings, "00C (NHS DARLINGTON CCG)") ||
		!strings.Contains(warnings, "clinical commissioning group") || strings.Contains(warnings, "RR8") || strings.Contains(warnings, "England") {
		t.Errorf("warnings:\n%s", warnings)
	}
	ccg, err := e.cat.GetOrganisation(ctx, "00C", catalogue.Internal())
	if err != nil || ccg.Type != catalogue.TypeCCG || ccg.InDirectory {
		t.Errorf("00C: %+v (err %v), want a CCG outside the directory", ccg, err)
	}
	// Nothing is public yet.
	if _, err := catalogue.Published(e.cat, now.Add(time.Hour)).Release(ctx, "waits", 1); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("a checked release is visible: %v", err)
	}
	// Rows are the file's cells, suppression markers kept as written.
	var cells [][]string
	for row, err := range e.rows.Rows(ctx, datasets.NewVisible(r.ID), datasets.RowQuery{File: datasets.FileRef{Release: r.ID, File: "waits.csv"}}) {
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, row.Cells)
	}
	if len(cells) != 4 || cells[1][3] != "*" || cells[0][3] != "12.5" {
		t.Errorf("rows %q", cells)
	}

	head, err := e.svc.VerifyAuditLog(ctx)
	if err != nil || head.Seq != 1 {
		t.Errorf("audit log after one submission: head %+v, err %v", head, err)
	}
}

func TestRejectedSubmissionStoresNothing(t *testing.T) {
	cases := []struct {
		name string
		edit func(*publisher.Submission)
		csv  string
		want []string
	}{
		{"bad number", nil, "Code,Name,Kind,Patients\nRR8,X,Provider,12x\n", []string{"row 2", "column 4", "Patients", "12x"}},
		{"type without mapping", nil, "Code,Name,Kind,Patients\nRR8,X,Provider,1\nAB1,Y,Hospice,2\n", []string{"row 3", "column 3", "Kind", `"Hospice" has no mapping`}},
		{"bad pattern", nil, "Code,Name,Kind,Patients\nrr8,X,Provider,1\n", []string{"row 2", "column 1", "Code"}},
		{"missing title", func(s *publisher.Submission) { s.Release.Title = " " }, goodCSV, []string{"release.title: required"}},
		{"bad period", func(s *publisher.Submission) { s.Release.PeriodEnd = "2025-12-31" }, goodCSV, []string{"release.periodEnd", "before the period start"}},
		{"bad slug", func(s *publisher.Submission) { s.Dataset.Slug = "Waits Data" }, goodCSV, []string{"dataset.slug"}},
		{"unknown licence", func(s *publisher.Submission) { s.Dataset.Licence = "MIT" }, goodCSV, []string{"dataset.licence", `"MIT"`}},
		{"no files", func(s *publisher.Submission) { s.Files = nil }, goodCSV, []string{"at least one file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			sub := submission(t, c.csv)
			if c.edit != nil {
				c.edit(&sub)
			}
			_, err := e.svc.Submit(ctx, pub, sub, nil)
			var rej *publisher.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("got %v, want a *Rejection", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("rejection does not mention %q:\n%v", w, err)
				}
			}
			page, err := e.cat.ListDatasets(ctx, catalogue.DatasetQuery{Visibility: catalogue.Internal()})
			if err != nil || page.Total != 0 {
				t.Errorf("%d datasets stored (err %v)", page.Total, err)
			}
			if rs, _ := e.svc.Releases(ctx, ""); len(rs) != 0 {
				t.Errorf("%d releases stored", len(rs))
			}
			if _, err := e.cat.GetOrganisation(ctx, "NV1", catalogue.Internal()); !errors.Is(err, catalogue.ErrNotFound) {
				t.Errorf("an organisation was stored: %v", err)
			}
			assertNoBlobs(t, e.blobsDir)
		})
	}
}

func assertNoBlobs(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("blob stored: %s", p)
		}
		return nil
	})
}

func TestStateMachine(t *testing.T) {
	allowed := []struct{ from, to catalogue.ReleaseState }{
		{catalogue.StateDraft, catalogue.StateChecked},
		{catalogue.StateChecked, catalogue.StateInReview},
		{catalogue.StateInReview, catalogue.StateApproved},
		{catalogue.StateInReview, catalogue.StateRejected},
		{catalogue.StateApproved, catalogue.StateScheduled},
		{catalogue.StateScheduled, catalogue.StatePublished},
		{catalogue.StatePublished, catalogue.StateSuperseded},
		{catalogue.StatePublished, catalogue.StateWithdrawn},
		{catalogue.StateDraft, catalogue.StateCancelled},
	}
	refused := []struct{ from, to catalogue.ReleaseState }{
		{catalogue.StateDraft, catalogue.StatePublished},
		{catalogue.StateInReview, catalogue.StatePublished},
		{catalogue.StatePublished, catalogue.StateDraft},
		{catalogue.StatePublished, catalogue.StateCancelled},
		{catalogue.StateWithdrawn, catalogue.StatePublished},
		{catalogue.StateCancelled, catalogue.StateDraft},
		{catalogue.StateRejected, catalogue.StatePublished},
		{catalogue.StateChecked, catalogue.StatePublished}, // the foundation's shortcut is gone
		{catalogue.StateApproved, catalogue.StatePublished},
	}
	for _, c := range allowed {
		if !publisher.CanTransition(c.from, c.to) {
			t.Errorf("%s → %s refused, want allowed", c.from, c.to)
		}
	}
	for _, c := range refused {
		if publisher.CanTransition(c.from, c.to) {
			t.Errorf("%s → %s allowed, want refused", c.from, c.to)
		}
	}
	// Only a scheduled release can become published.
	for _, from := range catalogue.ReleaseStates {
		leads := publisher.CanTransition(from, catalogue.StatePublished)
		want := from == catalogue.StateScheduled
		if leads != want {
			t.Errorf("%s → published: %v, want %v", from, leads, want)
		}
	}
}

func TestCancelRemovesRows(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.svc.Submit(ctx, pub, submission(t, goodCSV), nil)
	if err != nil {
		t.Fatal(err)
	}
	// An unpublished release is not found for another organisation, and
	// the error names nothing of it.
	if _, err := e.svc.Cancel(ctx, outsider, out.Release.ID, "mistake"); !errors.Is(err, catalogue.ErrNotFound) ||
		strings.Contains(err.Error(), out.Release.Dataset.Title) || strings.Contains(err.Error(), out.Release.Dataset.Slug) {
		t.Errorf("another organisation's publisher cancelling a release: %v, want not found naming nothing", err)
	}
	if _, err := e.svc.Cancel(ctx, pub, out.Release.ID, "mistake"); err != nil {
		t.Fatal(err)
	}
	for _, err := range e.rows.Rows(ctx, datasets.NewVisible(out.Release.ID), datasets.RowQuery{File: datasets.FileRef{Release: out.Release.ID, File: "waits.csv"}}) {
		t.Fatalf("rows remain after cancelling (err %v)", err)
	}
	if _, err := e.svc.SendToReview(ctx, pub, out.Release.ID); !errors.Is(err, publisher.ErrNotAllowed) {
		t.Errorf("reviewing a cancelled release: got %v, want ErrNotAllowed", err)
	}
}

func TestImportPractices(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	row := func(code, name, status, setting, closed string) string {
		cells := make([]string, 27)
		cells[0], cells[1], cells[2], cells[3] = code, name, "Y63", "QHM"
		cells[4], cells[6], cells[9] = "THE HEALTH CENTRE", "STOCKTON ON TEES", "TS18 1HU"
		cells[10], cells[11], cells[12], cells[25] = "19740401", closed, status, setting
		return `"` + strings.Join(cells, `","`) + `"` + "\n"
	}
	file := row("A81001", "THE DENSHAM SURGERY", "A", "4", "") + row("A81003", "VICTORIA MEDICAL PRACTICE", "C", "4", "20171031") +
		row("Y04105", "EXTENDED ACCESS HUB", "A", "26", "")
	report, err := e.svc.ImportPractices(ctx, strings.NewReader(file), "epraccur.csv", int64(len(file)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if report.Rows != 3 {
		t.Errorf("report %+v", report)
	}
	for _, c := range []struct {
		code   string
		typ    catalogue.OrganisationType
		status catalogue.OrganisationStatus
		closed string
	}{
		{"A81001", catalogue.TypeGPPractice, catalogue.StatusActive, ""},
		{"A81003", catalogue.TypeGPPractice, catalogue.StatusClosed, "2017-10-31"},
		{"Y04105", catalogue.TypePrescribingCostCentre, catalogue.StatusActive, ""},
		{"QHM", catalogue.TypeICB, catalogue.StatusUnknown, ""},
		{"Y63", catalogue.TypeRegion, catalogue.StatusUnknown, ""},
	} {
		o, err := e.cat.GetOrganisation(ctx, c.code, catalogue.Internal())
		if err != nil {
			t.Fatalf("%s: %v", c.code, err)
		}
		if o.Type != c.typ || o.Status != c.status || o.Closed.String() != c.closed {
			t.Errorf("%s: %s %s closed %q, want %s %s closed %q", c.code, o.Type, o.Status, o.Closed, c.typ, c.status, c.closed)
		}
	}
	densham, _ := e.cat.GetOrganisation(ctx, "A81001", catalogue.Internal())
	if densham.ParentCode != "QHM" || densham.RegionCode != "Y63" || densham.Postcode != "TS18 1HU" ||
		strings.Join(densham.Address, "|") != "THE HEALTH CENTRE|STOCKTON ON TEES" || densham.Opened.String() != "1974-04-01" {
		t.Errorf("A81001 read as %+v", densham)
	}

	// A bad row stores nothing.
	bad := row("A81009", "NEW PRACTICE", "A", "4", "") + row("A8100", "SHORT CODE", "A", "4", "")
	_, err = e.svc.ImportPractices(ctx, strings.NewReader(bad), "epraccur.csv", int64(len(bad)), nil)
	if err == nil || !strings.Contains(err.Error(), "row 2, column 1") {
		t.Fatalf("got %v, want a problem at row 2, column 1", err)
	}
	if _, err := e.cat.GetOrganisation(ctx, "A81009", catalogue.Internal()); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("A81009 stored although the file was refused: %v", err)
	}
}

func TestImportTrustsStatusFromDates(t *testing.T) {
	e := newEnv(t) // now is 12 February 2026
	ctx := context.Background()
	row := func(code, opened, closed string) string {
		cells := make([]string, 27)
		cells[0], cells[1], cells[2], cells[3], cells[10], cells[11] = code, "TRUST "+code, "Y56", "QMF", opened, closed
		return `"` + strings.Join(cells, `","`) + `"` + "\r\n"
	}
	file := row("R0A", "20171001", "") + row("R0C", "20200301", "20200326") + row("K0N6A", "20260601", "") + row("R1C", "20110401", "20260930")
	if _, err := e.svc.ImportTrusts(ctx, strings.NewReader(file), "etr.csv", int64(len(file)), nil); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]catalogue.OrganisationStatus{
		"R0A": catalogue.StatusActive, "R0C": catalogue.StatusClosed, "K0N6A": catalogue.StatusProposed, "R1C": catalogue.StatusActive,
	} {
		o, err := e.cat.GetOrganisation(ctx, code, catalogue.Internal())
		if err != nil || o.Status != want || o.Type != catalogue.TypeNHSTrust {
			t.Errorf("%s: %s %s (err %v), want an NHS trust, %s", code, o.Type, o.Status, err, want)
		}
	}
}

func TestImportInventory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tsv := "name\tdescription\trelease_date\tfrequency\togl\tgranularity\tpublisher\n" +
		"Prescribing data\tFlat file\tData 14 December 2011\tUpdated monthly\tyes (released under terms of OGL)\tGP practice\tHSCIC\n" +
		"Staff survey\tReport\tApril\tannually\tno\tNHS provider\tDH\n" +
		"Profiles\tSoon\t2013\ttbc\ttbc\tprovider\tCQC\n" +
		"Profiles\tAgain\t2014\tn/a\tn/a\tprovider\tCQC\n"
	report, err := e.svc.ImportInventory(ctx, strings.NewReader(tsv), "inventory.tsv", "a test inventory")
	if err != nil {
		t.Fatal(err)
	}
	if report.Entries != 4 {
		t.Fatalf("report %+v", report)
	}
	for slug, want := range map[string]struct {
		licence string
		status  catalogue.DatasetStatus
	}{
		"prescribing-data": {catalogue.DefaultLicence, catalogue.DatasetPlanned},
		"staff-survey":     {"not-open", catalogue.DatasetNotOpen},
		"profiles":         {catalogue.LicenceNotStated, catalogue.DatasetPlanned},
		"profiles-2":       {catalogue.LicenceNotStated, catalogue.DatasetPlanned},
	} {
		d, err := catalogue.Published(e.cat, now).Dataset(ctx, slug)
		if err != nil {
			t.Fatalf("%s: %v (announced entries are public)", slug, err)
		}
		if d.Licence != want.licence || d.Status != want.status || d.Inventory == nil {
			t.Errorf("%s: licence %s status %s, want %s %s", slug, d.Licence, d.Status, want.licence, want.status)
		}
	}
	d, _ := e.cat.GetDataset(ctx, "prescribing-data", catalogue.Internal())
	if d.Inventory.ReleaseDate != "Data 14 December 2011" || d.Inventory.OGL != "yes (released under terms of OGL)" || d.Inventory.Line != 2 {
		t.Errorf("original text not kept: %+v", d.Inventory)
	}
	// The documented table types dates and frequencies; what it cannot
	// read is reported with its line and column, not guessed.
	if d.Inventory.Expected != "2011-12-14" || d.Frequency != "Monthly" || d.Inventory.Frequency != "Updated monthly" {
		t.Errorf("typed fields: expected %q, frequency %q", d.Inventory.Expected, d.Frequency)
	}
	if d, _ := e.cat.GetDataset(ctx, "staff-survey", catalogue.Internal()); d.Frequency != "Annually" || d.Inventory.Expected != "" {
		t.Errorf("staff survey: %q %q", d.Frequency, d.Inventory.Expected)
	}
	var unmapped []string
	for _, p := range report.Unmapped {
		unmapped = append(unmapped, fmt.Sprintf("%d:%d:%s=%s", p.Row, p.Column, p.Field, p.Value))
	}
	if got := strings.Join(unmapped, " "); got != "3:3:release_date=April 4:3:release_date=2013 5:3:release_date=2014" {
		t.Errorf("unmapped cells: %s", got)
	}
	for _, tc := range []struct{ in, want string }{
		{"Service available from September 2012", "2012-09"}, {"Pre-release of format 29 November 2011; data 14 December 2011", "2011-12-14"},
		{"31 March 2012", "2012-03-31"}, {"tbc", ""}, {"Spring", ""},
	} {
		if got := publisher.InventoryExpected(tc.in); got != tc.want {
			t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"NEW PROMs (patient reported outcome measures)": "new-proms-patient-reported-outcome-measures",
		"  ":                        "dataset",
		"A/B – C's":                 "a-b-c-s",
		strings.Repeat("word ", 30): strings.TrimSuffix(strings.Repeat("word-", 16), "-"),
	} {
		if got := publisher.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
		if !catalogue.ValidSlug(publisher.Slugify(in)) {
			t.Errorf("Slugify(%q) is not a valid slug", in)
		}
	}
}

func datasetsVisible(id int64) datasets.Visible { return datasets.NewVisible(id) }

func rowQuery(id int64) datasets.RowQuery {
	return datasets.RowQuery{File: datasets.FileRef{Release: id, File: "waits.csv"}}
}

func datasetsParseSchema(s string) (datasets.Schema, error) { return datasets.ParseSchema([]byte(s)) }

func chmodWrite(path, content string) error {
	os.Chmod(path, 0o644)
	return os.WriteFile(path, []byte(content), 0o644)
}
