package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/publisher"
)

// rowCount counts the rows the row store holds for a release's file.
func rowCount(t *testing.T, e env, release int64, file string) int {
	t.Helper()
	n := 0
	for _, err := range e.rows.Rows(context.Background(), datasets.NewVisible(release), datasets.RowQuery{File: datasets.FileRef{Release: release, File: file}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// stuckDraft stores what a submission has stored when its process dies
// after writing its rows: blob, draft record and rows, nothing more.
func stuckDraft(t *testing.T, e env, datasetID int64, csv string) catalogue.Release {
	t.Helper()
	ctx := context.Background()
	blob, err := e.blobs.Put(ctx, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.cat.CreateRelease(ctx, catalogue.Release{DatasetID: datasetID, Title: "Waits, February 2026", PeriodLabel: "February 2026", SubmittedBy: "pat"},
		[]catalogue.File{{Name: "waits.csv", Role: catalogue.RolePublic, MediaType: "text/csv", Encoding: "utf-8", SHA256: blob.SHA256,
			Bytes: blob.Bytes, Rows: 1, Resource: []byte(`{}`)}}, []catalogue.Mention{{Code: "RX9"}})
	if err != nil {
		t.Fatal(err)
	}
	rows := func(yield func([]string, error) bool) { yield([]string{"RX9", "X", "Provider", "5"}, nil) }
	if _, err := e.rows.WriteRows(ctx, datasets.FileRef{Release: r.ID, File: "waits.csv"}, rows); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecoveryRemovesAStuckDraftAndReusesItsVersion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v1 := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release
	draft := stuckDraft(t, e, v1.DatasetID, "Code,Name,Kind,Patients\r\nRX9,X,Provider,5\r\n")
	if draft.Version != 2 {
		t.Fatalf("the stuck draft is version %d, want 2", draft.Version)
	}
	// A blob no release records, and a temporary file of a put that died.
	orphan := ok(e.blobs.Put(ctx, strings.NewReader("orphan bytes")))(t)
	if err := os.WriteFile(filepath.Join(e.blobsDir, "tmp", "put-123"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := e.svc.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Removed) != 1 || got.Removed[0].Release != draft.ID || got.Removed[0].Version != 2 || got.Removed[0].DatasetRemoved {
		t.Errorf("removed %+v, want the draft only", got.Removed)
	}
	if got.Temporary != 1 || len(got.Blobs) != 2 || !slices.ContainsFunc(got.Blobs, func(b datasets.Blob) bool { return b.SHA256 == orphan.SHA256 }) {
		t.Errorf("swept %d blobs %+v and %d temporary files; want the draft's and the orphan, and one", len(got.Blobs), got.Blobs, got.Temporary)
	}
	if _, err := e.svc.ReleaseByID(ctx, draft.ID); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("the draft is still recorded: %v", err)
	}
	if n := rowCount(t, e, draft.ID, "waits.csv"); n != 0 {
		t.Errorf("%d rows of the draft remain", n)
	}
	// The checked release keeps its file.
	for _, f := range v1.Files {
		if has, err := e.blobs.Has(ctx, f.SHA256); err != nil || !has {
			t.Errorf("recovery removed %s of version 1 (err %v)", f.Name, err)
		}
	}
	// The removal is in the audit log, about no release, and the chain verifies.
	var found bool
	for entry, err := range e.work.AuditLog().Entries(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if entry.Action == "release.draft-removed" {
			found = entry.Release == 0 && strings.Contains(string(entry.Details), `"version":2`) && entry.Actor == publisher.RecoveryActor.String()
		}
	}
	if !found {
		t.Error("no audit entry release.draft-removed about no release naming version 2")
	}
	if _, err := e.svc.VerifyAuditLog(ctx); err != nil {
		t.Error(err)
	}
	// The next submission is version 2: no gap.
	next := ok(e.svc.Submit(ctx, pub, submission(t, strings.Replace(goodCSV, "12.5", "13.5", 1)), nil))(t).Release
	if next.Version != 2 {
		t.Errorf("the next submission is version %d, want 2", next.Version)
	}
	// Recovery with nothing to do does nothing.
	if again, err := e.svc.Recover(ctx); err != nil || !again.Empty() {
		t.Errorf("a second recovery: %+v, %v", again, err)
	}
}

func TestRecoveryRemovesTheDatasetAStuckSubmissionCreated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.cat.PutPublisher(ctx, catalogue.Publisher{Slug: "nhs-england", Name: "NHS England"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.cat.CreateDataset(ctx, catalogue.Dataset{Slug: "fresh", Title: "Fresh", Publisher: p, Licence: catalogue.DefaultLicence, Status: catalogue.DatasetPlanned})
	if err != nil {
		t.Fatal(err)
	}
	stuckDraft(t, e, d.ID, "Code,Name,Kind,Patients\r\nRX9,X,Provider,5\r\n")
	got, err := e.svc.Recover(ctx)
	if err != nil || len(got.Removed) != 1 || !got.Removed[0].DatasetRemoved {
		t.Fatalf("recovery: %+v, %v; want the draft and its dataset removed", got, err)
	}
	if _, err := e.cat.GetDataset(ctx, "fresh", catalogue.Internal()); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("the dataset remains: %v", err)
	}
	assertNoBlobs(t, e.blobsDir)
}

func TestRecoveryFinishesAnAmendment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const csv = "Code,Day cases\r\nRR8,40\r\nRX1,3\r\nRX2,27\r\n"
	r := ok(e.svc.Submit(ctx, pub, thresholdSubmission(t, csv, 2, "Day cases"), nil))(t).Release
	amended := ok(e.svc.Amend(ctx, pub, r.ID, thresholdSubmission(t, csv+"RX3,55\r\n", 2, "Day cases").Files, "RX3 added", nil))(t)
	if n := rowCount(t, e, r.ID, "waits.csv"); n != 4 {
		t.Fatalf("%d rows after the amendment, want 4", n)
	}
	// Approved and scheduled; then, as if the process had died after an
	// amendment's commit, the mark is set and the rows are missing (an
	// unfinished release cannot be approved, so the mark comes last here).
	ok(e.svc.SendToReview(ctx, pub, r.ID))(t)
	ok(approve(t, e, revA, r.ID))(t)
	ok(approve(t, e, revB, r.ID))(t)
	ok(e.svc.Schedule(ctx, pub, r.ID, e.clock.Now().Add(time.Hour), ""))(t)
	if err := e.work.Apply(ctx, publisher.Change{Unfinished: &publisher.Unfinished{Release: r.ID, At: now}}); err != nil {
		t.Fatal(err)
	}
	if err := e.rows.DeleteRelease(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	// Publication waits for the rows.
	e.clock.Advance(time.Hour)
	if got, err := e.svc.PublishDue(ctx); len(got) != 0 || !strings.Contains(fmt.Sprint(err), "still being rewritten") {
		t.Errorf("publication of an unfinished release: %d published, %v", len(got), err)
	}

	got, err := e.svc.Recover(ctx)
	if err != nil || !slices.Equal(got.Finished, []int64{r.ID}) {
		t.Fatalf("recovery: %+v, %v; want release %d finished", got, err, r.ID)
	}
	if n := rowCount(t, e, r.ID, "waits.csv"); n != int(amended.Files[0].Rows) || n != 4 {
		t.Errorf("%d rows after recovery, want %d", n, amended.Files[0].Rows)
	}
	if ids, err := e.work.UnfinishedReleases(ctx); err != nil || len(ids) != 0 {
		t.Errorf("still marked: %v, %v", ids, err)
	}
	if published := ok(e.svc.PublishDue(ctx))(t); len(published) != 1 {
		t.Errorf("published %d releases after recovery, want 1", len(published))
	}
	// The files the amendment replaced are recorded by no release, and go.
	for _, f := range r.Files {
		if slices.ContainsFunc(amended.Files, func(g catalogue.File) bool { return g.SHA256 == f.SHA256 }) {
			continue
		}
		if !slices.ContainsFunc(got.Blobs, func(b datasets.Blob) bool { return b.SHA256 == f.SHA256 }) {
			t.Errorf("the replaced file %s (%s) was not swept", f.Name, f.Role)
		}
	}
}
