package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/disclosure"
)

// TestPermissionTable checks every (state, action, role) against the rule
// book written out here independently: anything not listed is refused.
func TestPermissionTable(t *testing.T) {
	type key struct {
		state  catalogue.ReleaseState
		action publisher.Action
		role   publisher.Role
	}
	allowed := map[key]bool{}
	allow := func(action publisher.Action, states []catalogue.ReleaseState, roles ...publisher.Role) {
		for _, s := range states {
			for _, r := range roles {
				allowed[key{s, action, r}] = true
			}
		}
	}
	const (
		draft, checked, preview, review = catalogue.StateDraft, catalogue.StateChecked, catalogue.StateInPreview, catalogue.StateInReview
		approved, scheduled, published  = catalogue.StateApproved, catalogue.StateScheduled, catalogue.StatePublished
		superseded                      = catalogue.StateSuperseded
	)
	P, R, C, A, S := publisher.RolePublisher, publisher.RoleReviewer, publisher.RoleProviderChecker, publisher.RoleAdministrator, publisher.RoleSystem
	ss := func(s ...catalogue.ReleaseState) []catalogue.ReleaseState { return s }
	allow(publisher.ActionAmend, ss(checked, preview, review), P)
	allow(publisher.ActionOpenPreview, ss(checked), P)
	allow(publisher.ActionSendToReview, ss(checked, preview), P)
	allow(publisher.ActionRaiseQuery, ss(preview), C)
	allow(publisher.ActionResolveQuery, ss(preview, review), R)
	allow(publisher.ActionReview, ss(review), R)
	allow(publisher.ActionSchedule, ss(approved), P, A)
	allow(publisher.ActionReschedule, ss(scheduled), P, A)
	allow(publisher.ActionUnschedule, ss(scheduled), P, A)
	allow(publisher.ActionPublish, ss(scheduled), S)
	allow(publisher.ActionCancel, ss(draft, checked, preview, review, approved, scheduled), P, A)
	allow(publisher.ActionWithdraw, ss(published, superseded), A)
	allow(publisher.ActionCorrect, ss(published), P)
	allow(publisher.ActionViewOriginal, ss(draft, checked, preview, review, approved, scheduled), P, R, A)

	n := 0
	for _, state := range catalogue.ReleaseStates {
		for _, action := range publisher.Actions {
			for _, role := range publisher.Roles {
				n++
				want := allowed[key{state, action, role}]
				if got := publisher.Permitted(state, action, role); got != want {
					t.Errorf("(%s, %s, %s): permitted %v, want %v", state, action, role, got, want)
				}
			}
		}
	}
	if n != 11*14*5 {
		t.Errorf("checked %d combinations, want every one of 11 states × 14 actions × 5 roles", n)
	}
	// Only the system publishes, and only from scheduled.
	for _, role := range publisher.Roles {
		for _, state := range catalogue.ReleaseStates {
			if publisher.Permitted(state, publisher.ActionPublish, role) && (role != S || state != scheduled) {
				t.Errorf("%s may publish a %s release", role, state)
			}
		}
	}
}

var answers = [7]string{"Benefits patients choosing hospitals", "No personal data; ICO not consulted", "Counts rounded; no jigsaw risk found",
	"Provider level, CSV", "Collected already; no extra cost", "None", "Supports intermediaries"}

// approve records an approval of the release's current files.
func approve(t *testing.T, e env, who publisher.Actor, id int64) (catalogue.Release, error) {
	t.Helper()
	r, err := e.cat.ReleaseByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.svc.RecordReview(context.Background(), who, id, publisher.ReviewInput{Answers: answers,
		Decision: publisher.DecisionApprove, Files: hashes(r)})
}

func hashes(r catalogue.Release) []auditlog.FileHash {
	var out []auditlog.FileHash
	for _, f := range r.Files {
		if f.Role == catalogue.RolePublic {
			out = append(out, auditlog.FileHash{Name: f.Name, SHA256: f.SHA256})
		}
	}
	slices.SortFunc(out, func(a, b auditlog.FileHash) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ok fails the test on err, else gives v: ok(f())(t).
func ok[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestWorkflowToPublication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release.ID

	// Provider preview: the checker of RR8 sees only RR8's rows and queries them.
	ok(e.svc.OpenPreview(ctx, pub, id, now.Add(48*time.Hour)))(t)
	_, tables, err := e.svc.PreviewRows(ctx, checker, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || len(tables[0].Rows) != 1 || tables[0].Rows[0][0] != "RR8" {
		t.Fatalf("preview rows: %+v", tables)
	}
	other := checker
	other.Organisation = "RX1"
	// The release does not name RX1: to its checker it does not exist.
	if _, _, err := e.svc.PreviewRows(ctx, other, id); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("a checker of another organisation previewed: %v, want not found", err)
	}
	q := ok(e.svc.RaiseQuery(ctx, checker, id, "Our patients figure looks low"))(t)
	ok(e.svc.SendToReview(ctx, pub, id))(t)

	// Separation of duties.
	both := pub
	both.Roles = append(slices.Clone(pub.Roles), publisher.RoleReviewer)
	if _, err := approve(t, e, both, id); !errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("the submitter approved their own release: %v", err)
	}
	if _, err := approve(t, e, revOwn, id); !errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("a reviewer from the publishing organisation approved: %v", err)
	}
	if _, err := approve(t, e, checker, id); !errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("a provider checker approved: %v", err)
	}
	r := ok(approve(t, e, revA, id))(t)
	if _, err := approve(t, e, revA, id); !errors.Is(err, publisher.ErrNotAllowed) {
		t.Errorf("one reviewer approved twice: %v", err)
	}
	r = ok(approve(t, e, revB, id))(t)
	if r.State != catalogue.StateInReview {
		t.Errorf("approved with an open provider query: %s", r.State)
	}
	ok(e.svc.ResolveQuery(ctx, revA, id, q.ID, "Checked against the source: the figure is right"))(t)
	r = ok(e.cat.ReleaseByID(ctx, id))(t)
	if r.State != catalogue.StateApproved {
		t.Fatalf("after two approvals and the query resolved: %s, want approved", r.State)
	}

	// Scheduling: not in the past; the calendar shows the date, not the content.
	if _, err := e.svc.Schedule(ctx, pub, id, now.Add(-time.Minute), ""); !errors.Is(err, publisher.ErrInvalid) {
		t.Errorf("scheduling in the past: %v", err)
	}
	embargo := publisher.EmbargoOn(catalogue.NewDate(2026, 2, 19))
	ok(e.svc.Schedule(ctx, pub, id, embargo, ""))(t)
	cal := ok(catalogue.Published(e.cat, now).Calendar(ctx))(t)
	if len(cal) != 1 || !cal[0].ConfirmedAt.Equal(embargo) || cal[0].Status != catalogue.CalendarAnnounced || !cal[0].Release.IsZero() {
		t.Errorf("public calendar before publication: %+v", cal)
	}
	if !strings.Contains(cal[0].When(), "9:30am on Thursday 19 February 2026") {
		t.Errorf("calendar date %q", cal[0].When())
	}

	// Nothing is published before the embargo instant, everything at it.
	e.clock.Advance(embargo.Sub(now) - time.Second)
	if got := ok(e.svc.PublishDue(ctx))(t); len(got) != 0 {
		t.Errorf("published a second before the embargo: %v", got)
	}
	if _, err := catalogue.Published(e.cat, e.clock.Now()).Release(ctx, "waits", 1); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("visible before the embargo: %v", err)
	}
	e.clock.Advance(time.Second)
	got := ok(e.svc.PublishDue(ctx))(t)
	if len(got) != 1 || got[0].State != catalogue.StatePublished || !got[0].PublishedAt.Equal(embargo) {
		t.Fatalf("at the embargo: %+v", got)
	}
	view := catalogue.Published(e.cat, e.clock.Now())
	if _, err := view.Release(ctx, "waits", 1); err != nil {
		t.Errorf("not visible after publication: %v", err)
	}
	recs, head, err := e.svc.Transparency(ctx, view)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(recs[0].Approvals) != 2 || recs[0].Approvals[0].Name != "Ann Reviewer" {
		t.Errorf("transparency record: %+v", recs)
	}
	if head.Seq == 0 {
		t.Error("empty audit log")
	}
	names := map[string]bool{}
	for _, a := range recs[0].AccessList {
		names[a.Name] = true
	}
	if !names["Chris Checker"] {
		t.Errorf("pre-release access list lacks the provider checker: %+v", recs[0].AccessList)
	}
	if _, err := e.svc.VerifyAuditLog(ctx); err != nil {
		t.Errorf("audit log: %v", err)
	}
	// The release keeps the chain head its publication entry made, and
	// verification checks the log still holds it.
	if want := (catalogue.ChainHead{Seq: head.Seq, Hash: head.Hash}); recs[0].Release.AuditHead != want {
		t.Errorf("release's audit chain head %+v, want the publication entry's %+v", recs[0].Release.AuditHead, want)
	}
	if entries := ok(e.work.AuditLog().EntriesForRelease(ctx, got[0].ID))(t); len(entries) == 0 || entries[len(entries)-1].Action != "release.published" || entries[len(entries)-1].Hash != head.Hash {
		t.Errorf("the recorded head is not the release.published entry: %+v", entries)
	}
	heads := ok(e.svc.ReleaseAuditHeads(ctx))(t)
	if len(heads) != 1 || heads[0].Head != head || !strings.Contains(heads[0].Source, "waits version 1") {
		t.Errorf("release audit heads %+v, want the one publication's %+v", heads, head)
	}
	forged := auditlog.KnownHead{Head: auditlog.Head{Seq: head.Seq + 1, Hash: head.Hash}, Source: "a later manifest"}
	if _, err := e.svc.VerifyAuditLog(ctx, append(heads, forged)...); err == nil || !strings.Contains(err.Error(), "a later manifest") {
		t.Errorf("a head past the chain's end verified: %v", err)
	}
}

func TestChangedFilesVoidApprovals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release.ID
	ok(e.svc.SendToReview(ctx, pub, id))(t)
	before := ok(e.cat.ReleaseByID(ctx, id))(t)
	ok(e.svc.RecordReview(ctx, revA, id, publisher.ReviewInput{Answers: answers, Decision: publisher.DecisionApproveWithChange,
		Change: "Round Patients to whole numbers", Files: hashes(before)}))(t)
	ok(approve(t, e, revB, id))(t)
	if n := len(ok(e.svc.Approvals(ctx, before))(t)); n != 1 {
		t.Fatalf("%d approvals, want 1 (approve-with-change does not count)", n)
	}

	changed := strings.Replace(goodCSV, "12.5", "13", 1)
	after := ok(e.svc.Amend(ctx, pub, id, submission(t, changed).Files, "Rounded as the panel asked", nil))(t)
	if slices.Equal(hashes(after), hashes(before)) {
		t.Fatal("amending did not change the hashes")
	}
	if n := len(ok(e.svc.Approvals(ctx, after))(t)); n != 0 {
		t.Errorf("%d approvals survive a change of files, want 0", n)
	}
	// While an amendment's rows are being rewritten (marked unfinished),
	// nobody can approve; once they are, approvals count again.
	if err := e.work.Apply(ctx, publisher.Change{Unfinished: &publisher.Unfinished{Release: id, At: now}}); err != nil {
		t.Fatal(err)
	}
	if _, err := approve(t, e, revA, id); !errors.Is(err, publisher.ErrNotAllowed) || !strings.Contains(err.Error(), "rewritten") {
		t.Errorf("approving a release whose amendment is unfinished: %v, want ErrNotAllowed", err)
	}
	if err := e.work.Apply(ctx, publisher.Change{Unfinished: &publisher.Unfinished{Release: id, Done: true}}); err != nil {
		t.Fatal(err)
	}
	// A review of the old files is refused; fresh approvals count.
	if _, err := e.svc.RecordReview(ctx, revA, id, publisher.ReviewInput{Answers: answers, Decision: publisher.DecisionApprove, Files: hashes(before)}); !errors.Is(err, publisher.ErrNotAllowed) {
		t.Errorf("approving files that have changed: %v", err)
	}
	ok(approve(t, e, revA, id))(t)
	r := ok(approve(t, e, revB, id))(t)
	if r.State != catalogue.StateApproved {
		t.Errorf("state %s after fresh approvals, want approved", r.State)
	}
	// The public rows are the amended file's.
	for row, err := range e.rows.Rows(ctx, datasetsVisible(id), rowQuery(id)) {
		if err != nil {
			t.Fatal(err)
		}
		if row.Number == 1 && row.Cells[3] != "13" {
			t.Errorf("row 1 after amending: %q", row.Cells)
		}
	}
}

func TestRejectionAndCorrectionAndWithdrawal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A rejected release is final; it is resubmitted as a new version.
	id := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release.ID
	ok(e.svc.SendToReview(ctx, pub, id))(t)
	r := ok(e.cat.ReleaseByID(ctx, id))(t)
	if _, err := e.svc.RecordReview(ctx, revA, id, publisher.ReviewInput{Answers: answers, Decision: publisher.DecisionReject, Files: hashes(r)}); !errors.Is(err, publisher.ErrInvalid) {
		t.Errorf("a rejection without reasons: %v", err)
	}
	r = ok(e.svc.RecordReview(ctx, revA, id, publisher.ReviewInput{Answers: answers, Decision: publisher.DecisionReject,
		Reasons: "Counts of individuals with no disclosure rule", Files: hashes(r)}))(t)
	if r.State != catalogue.StateRejected {
		t.Fatalf("state %s, want rejected", r.State)
	}

	v2 := publishNow(t, e, submission(t, goodCSV))
	if v2.Version != 2 {
		t.Fatalf("resubmission is version %d, want 2", v2.Version)
	}
	sub := submission(t, strings.Replace(goodCSV, "12.5", "14.5", 1))
	sub.Release.Corrects = 2
	if _, err := e.svc.Submit(ctx, pub, sub, nil); err == nil || !strings.Contains(err.Error(), "correctionNotice") {
		t.Errorf("a correction without a notice: %v", err)
	}
	sub.Release.CorrectionNotice = "Leeds's figure was 14.5, not 12.5."
	v3 := publishNow(t, e, sub)
	old := ok(e.cat.ReleaseByID(ctx, v2.ID))(t)
	if old.State != catalogue.StateSuperseded || old.ReplacedBy.Version != 3 || v3.Corrects.Version != 2 {
		t.Errorf("after the correction: v2 %s replaced by %+v; v3 corrects %+v", old.State, old.ReplacedBy, v3.Corrects)
	}
	// Withdrawal: administrators only, with a reason; the page stays.
	if _, err := e.svc.Withdraw(ctx, pub, v3.ID, "Wrong data", 0); !errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("a publisher withdrew: %v", err)
	}
	if _, err := e.svc.Withdraw(ctx, admin, v3.ID, "", 0); !errors.Is(err, publisher.ErrInvalid) {
		t.Errorf("a withdrawal without a reason: %v", err)
	}
	w := ok(e.svc.Withdraw(ctx, admin, v3.ID, "The source data were withdrawn by the provider.", 2))(t)
	view := catalogue.Published(e.cat, e.clock.Now())
	page := ok(view.Release(ctx, "waits", 3))(t)
	if page.State != catalogue.StateWithdrawn || page.ContentVisible || len(page.Files) != 0 || page.ReplacedBy.Version != 2 || w.WithdrawnReason == "" {
		t.Errorf("withdrawn release as the public sees it: %+v", page)
	}
	if _, _, err := view.File(ctx, "waits", 3, "waits.csv"); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("a withdrawn file is downloadable: %v", err)
	}
}

// publishNow drives a submission through review and scheduling to
// publication, advancing the clock past its embargo.
func publishNow(t *testing.T, e env, sub publisher.Submission) catalogue.Release {
	t.Helper()
	ctx := context.Background()
	id := ok(e.svc.Submit(ctx, pub, sub, nil))(t).Release.ID
	ok(e.svc.SendToReview(ctx, pub, id))(t)
	ok(approve(t, e, revA, id))(t)
	ok(approve(t, e, revB, id))(t)
	ok(e.svc.Schedule(ctx, pub, id, e.clock.Now().Add(time.Hour), ""))(t)
	e.clock.Advance(time.Hour)
	got := ok(e.svc.PublishDue(ctx))(t)
	if len(got) != 1 {
		t.Fatalf("published %d releases, want 1", len(got))
	}
	return got[0]
}

func TestPublicationRefusesTamperedBytes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release.ID
	ok(e.svc.SendToReview(ctx, pub, id))(t)
	ok(approve(t, e, revA, id))(t)
	ok(approve(t, e, revB, id))(t)
	ok(e.svc.Schedule(ctx, pub, id, now.Add(time.Hour), ""))(t)
	r := ok(e.cat.ReleaseByID(ctx, id))(t)
	f, _, err := e.blobs.Open(ctx, r.Files[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	f.Close()
	if err := chmodWrite(path, strings.Replace(goodCSV, "12.5", "99.5", 1)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.svc.PublishDue(ctx); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Fatalf("publishing altered bytes: got %v, want a hash mismatch", err)
	}
	if r := ok(e.cat.ReleaseByID(ctx, id))(t); r.State != catalogue.StateScheduled {
		t.Errorf("state %s after a refused publication, want scheduled", r.State)
	}
}

func TestDisclosureAndLimitsRefuseSubmissions(t *testing.T) {
	noRule := `{"fields": [
		{"name": "Code", "type": "string", "candour:role": "key"},
		{"name": "Notes", "type": "string", "candour:role": "note"},
		{"name": "Patients", "type": "integer", "candour:countOfIndividuals": true, "candour:role": "measure"}]}`
	countSchema := strings.TrimSuffix(noRule, "}") + `, "candour:disclosure": {"rule": "nhs-digital"}}`
	cases := []struct {
		name, schema, csv string
		max               int64
		want              []string
	}{
		{"NHS number in free text", countSchema, "Code,Notes,Patients\r\nRR8,Patient NHS no 943 476 5919 asked,120\r\n", 0,
			[]string{"NHS number", "Row 2", "Notes"}},
		{"over the upload limit", schema, goodCSV + strings.Repeat("RR8,X,Provider,1\r\n", 40), 200,
			[]string{"upload limit"}},
		{"counts without a rule", noRule,
			"Code,Notes,Patients\r\nRR8,,120\r\n", 0, []string{"disclosure"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.max > 0 {
				e.svc = publisher.New(publisher.Options{Catalogue: e.cat, Rows: e.rows, Blobs: e.blobs, Workflow: e.work, Now: e.clock.Now, MaxUploadBytes: c.max})
			}
			ctx := context.Background()
			sub := submission(t, c.csv)
			res, err := datasetsParseSchema(c.schema)
			if err != nil {
				t.Fatal(err)
			}
			sub.Files[0].Resource.Schema = res
			_, err = e.svc.Submit(ctx, pub, sub, nil)
			var rej *publisher.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("got %v, want a *Rejection", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("rejection does not mention %q:\n%v", w, err)
				}
			}
			if rs, _ := e.svc.Releases(ctx); len(rs) != 0 {
				t.Errorf("%d releases stored", len(rs))
			}
			assertNoBlobs(t, e.blobsDir)
			if head, err := e.svc.VerifyAuditLog(ctx); err != nil || head.Seq != 0 {
				t.Errorf("audit log after a refused submission: %+v %v", head, err)
			}
		})
	}
}

func TestOnlyOwnOrganisationSubmits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Submit(ctx, outsider, submission(t, goodCSV), nil); !errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("a publisher of another organisation submitted: %v", err)
	}
	if _, err := e.svc.Submit(ctx, revA, submission(t, goodCSV), nil); !errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("a reviewer submitted: %v", err)
	}
	_ = fmt.Sprint()
}

func TestRecoverableCellRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The producer suppressed RR8's small count, but the exact total lets
	// anyone work it out: 12 − 5 = 7.
	schema := `{"fields": [
		{"name": "Code", "type": "string", "candour:role": "key"},
		{"name": "Day cases", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]},
		{"name": "Inpatients", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]},
		{"name": "All patients", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true, "candour:total": true}],
		"candour:disclosure": {"rule": "none", "reason": "provider-level operational statistics published unsuppressed by NHS England"}}`
	sub := submission(t, "Code,Day cases,Inpatients,All patients\r\nRR8,5,*,12\r\nRX1,40,52,92\r\n")
	s, err := datasetsParseSchema(schema)
	if err != nil {
		t.Fatal(err)
	}
	sub.Files[0].Resource.Schema = s
	_, err = e.svc.Submit(ctx, pub, sub, nil)
	var rej *publisher.Rejection
	if !errors.As(err, &rej) || len(rej.Disclosure) == 0 {
		t.Fatalf("got %v, want a disclosure rejection", err)
	}
	if !strings.Contains(err.Error(), "Inpatients") || !strings.Contains(strings.ToLower(err.Error()), "row 2") {
		t.Errorf("the rejection does not name the recoverable cell:\n%v", err)
	}
	assertNoBlobs(t, e.blobsDir)
}

func TestSchedulerCatchesUpAfterDowntime(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release.ID
	ok(e.svc.SendToReview(ctx, pub, id))(t)
	ok(approve(t, e, revA, id))(t)
	ok(approve(t, e, revB, id))(t)
	embargo := now.Add(time.Hour)
	ok(e.svc.Schedule(ctx, pub, id, embargo, ""))(t)
	// The server was down from before the embargo until three hours after.
	e.clock.Advance(4 * time.Hour)
	run, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.svc.RunScheduler(run) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := ok(e.cat.ReleaseByID(ctx, id))(t)
		if r.State == catalogue.StatePublished {
			events := ok(e.cat.ReleaseEvents(ctx, id))(t)
			if last := events[len(events)-1]; !strings.Contains(last.Note, "late") {
				t.Errorf("a late publication is not noted as late: %+v", last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("scheduler: %v", err)
	}
}

// A correction is linked to the release it corrects cell by cell, from the
// originals: the correction notice and the what-changed page tell anyone
// which cells changed. Version 1 was published with too low a threshold
// (RX1's 3 day cases appeared); the correction raises it and fixes RR8's
// emergency admissions. RX1's day cases are unchanged, so the correction's
// marker hides nothing: refused, nothing stored — even though the publisher
// declared RX1's row unchanged only by omission. A correction of a release
// that published only the total gets a second suppression instead.
func TestCorrectionThatPinsASuppressedCellRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	withSchema := func(csv string, threshold int) publisher.Submission {
		return thresholdSubmission(t, csv, threshold, "Day cases", "Emergency")
	}
	correction := func(of catalogue.Release, csv string) publisher.Submission {
		sub := withSchema(csv, 5)
		sub.Release.Corrects = of.Version
		sub.Release.CorrectionNotice = "RR8's emergency admissions were 491, not 490; counts of 5 or fewer are now suppressed."
		// What the publisher declares is not relied on: the cells are
		// compared.
		sub.Release.Revision = &publisher.RevisionSpec{Of: of.Version, Changed: []string{"RR8", "RX1"}}
		return sub
	}
	const v1CSV = "Code,Day cases,Emergency\r\nRR8,40,490\r\nRX1,3,300\r\nRX2,27,110\r\n"
	v1 := publishNow(t, e, withSchema(v1CSV, 2))
	corrected := strings.Replace(v1CSV, "490", "491", 1)
	_, err := e.svc.Submit(ctx, pub, correction(v1, corrected), nil)
	var rej *publisher.Rejection
	if !errors.As(err, &rej) || len(rej.Disclosure) == 0 {
		t.Fatalf("got %v, want a disclosure rejection", err)
	}
	if f := rej.Disclosure[0]; f.Kind != disclosure.KindRecoverable || f.Row != 3 || f.Field != "Day cases" {
		t.Errorf("first finding %+v, want RX1's day cases (row 3) recoverable", f)
	}
	if n := len(ok(e.cat.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal()}))(t)); n != 1 {
		t.Errorf("%d releases stored after the refusal, want 1", n)
	}
	// RX1's day cases corrected as well: a different unknown, accepted.
	accepted := ok(e.svc.Submit(ctx, pub, correction(v1, strings.Replace(corrected, "RX1,3,", "RX1,4,", 1)), nil))(t)
	// Amending it back to version 1's value is refused the same way: an
	// amendment of a correction stays linked to the release it corrects.
	_, err = e.svc.Amend(ctx, pub, accepted.Release.ID, correction(v1, corrected).Files, "RX1 was 3 after all", nil)
	if !errors.As(err, &rej) || len(rej.Disclosure) == 0 || rej.Disclosure[0].Kind != disclosure.KindRecoverable {
		t.Errorf("amending the correction to pin RX1: %v", err)
	}

	// A release that published only the total; its correction adds the
	// breakdown with RR8's emergency admissions fixed. The day cases still
	// add up to the earlier total, so a second one is suppressed.
	e = newEnv(t)
	total := publishNow(t, e, withSchema("Code,Day cases,Emergency\r\nEngland,70,900\r\n", 5))
	out := ok(e.svc.Submit(ctx, pub, correction(total, corrected), nil))(t)
	if got := publicText(t, e, out.Release); got != "Code,Day cases,Emergency\r\nRR8,40,491\r\nRX1,*,300\r\nRX2,*,110\r\n" &&
		got != "Code,Day cases,Emergency\nRR8,40,491\nRX1,*,300\nRX2,*,110\n" {
		t.Errorf("public file of the correction:\n%s", got)
	}
	// Not a correction: the earlier total is not linked.
	plain := ok(e.svc.Submit(ctx, pub, withSchema(corrected, 5), nil))(t)
	if got := publicText(t, e, plain.Release); !strings.Contains(got, "RX2,27,110") {
		t.Errorf("public file of a new release:\n%s", got)
	}
}

// publicText returns a stored release's public file.
func publicText(t *testing.T, e env, r catalogue.Release) string {
	t.Helper()
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		rc, _, err := e.blobs.Open(context.Background(), f.SHA256)
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
	t.Fatal("no public file")
	return ""
}

// A declared revision ("unchanged since version 1 except RR8's row") is
// kept with the release, so an amendment is audited against version 1 as
// the submission was: suppressing RX1's unchanged 3, which version 1
// published, is refused.
func TestAmendmentKeepsTheDeclaredRevision(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	withSchema := func(csv string, threshold int) publisher.Submission {
		return thresholdSubmission(t, csv, threshold, "Day cases")
	}
	const csv = "Code,Day cases\r\nRR8,40\r\nRX1,3\r\nRX2,27\r\n"
	v1 := publishNow(t, e, withSchema(csv, 2))
	sub := withSchema(strings.Replace(csv, "RR8,40", "RR8,41", 1), 2)
	sub.Release.Revision = &publisher.RevisionSpec{Of: v1.Version, Changed: []string{"RR8"}}
	v2 := ok(e.svc.Submit(ctx, pub, sub, nil))(t)
	if got := ok(e.work.Revision(ctx, v2.Release.ID))(t); got == nil || got.Of != v1.Version || !slices.Equal(got.Changed, []string{"RR8"}) {
		t.Fatalf("stored revision: %+v", got)
	}
	amended := withSchema(strings.Replace(csv, "RR8,40", "RR8,41", 1), 4)
	_, err := e.svc.Amend(ctx, pub, v2.Release.ID, amended.Files, "counts of 4 or fewer suppressed, as the panel asked", nil)
	var rej *publisher.Rejection
	if !errors.As(err, &rej) || len(rej.Disclosure) == 0 || rej.Disclosure[0].Kind != disclosure.KindRecoverable || rej.Disclosure[0].Row != 3 {
		t.Errorf("amendment suppressing RX1's unchanged 3: %v", err)
	}
	// The revision survives an amendment that is accepted.
	ok(e.svc.Amend(ctx, pub, v2.Release.ID, withSchema(strings.Replace(csv, "RR8,40", "RR8,42", 1), 2).Files, "RR8 was 42", nil))(t)
	if got := ok(e.work.Revision(ctx, v2.Release.ID))(t); got == nil || got.Of != v1.Version {
		t.Errorf("revision after an amendment: %+v", got)
	}
}

// thresholdSubmission is a one-file submission keyed by Code (with an
// "England" total row allowed) whose counts fall under the threshold rule.
func thresholdSubmission(t *testing.T, csv string, threshold int, counts ...string) publisher.Submission {
	t.Helper()
	fields := []string{`{"name": "Code", "type": "string", "candour:role": "key", "candour:totalValues": ["England"]}`}
	for _, name := range counts {
		fields = append(fields, fmt.Sprintf(`{"name": %q, "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}`, name))
	}
	schema, err := datasetsParseSchema(fmt.Sprintf(`{"fields": [%s], "primaryKey": "Code", "candour:disclosure": {"rule": "threshold", "threshold": %d}}`,
		strings.Join(fields, ", "), threshold))
	if err != nil {
		t.Fatal(err)
	}
	sub := submission(t, csv)
	sub.Files[0].Resource.Schema = schema
	return sub
}

// Separation of duties: an account that approved a release cannot also
// schedule it, even one whose roles allow both.
func TestApproverCannotSchedule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	both := publisher.Actor{Username: "dual", Name: "Dana Dual", Roles: []publisher.Role{publisher.RoleAdministrator, publisher.RoleReviewer}}
	id := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release.ID
	ok(e.svc.SendToReview(ctx, pub, id))(t)
	ok(approve(t, e, both, id))(t)
	ok(approve(t, e, revB, id))(t)
	at := now.Add(24 * time.Hour)
	if _, err := e.svc.Schedule(ctx, both, id, at, ""); !errors.Is(err, publisher.ErrForbidden) || !strings.Contains(err.Error(), "another account") {
		t.Fatalf("the approver scheduling: %v, want ErrForbidden", err)
	}
	if r := ok(e.svc.Schedule(ctx, pub, id, at, ""))(t); r.State != catalogue.StateScheduled {
		t.Errorf("the publisher scheduling: state %s", r.State)
	}
}
