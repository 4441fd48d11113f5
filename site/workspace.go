package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/disclosure"
)

// The workspace is where publishers, reviewers, provider checkers and
// administrators work on releases before publication. Every page needs a
// session; every form carries the session's anti-forgery token.

type workspacePage struct {
	layout
	Session  Session
	Releases []catalogue.Release
	// Awaiting are the releases waiting for this reviewer's review.
	Awaiting []catalogue.Release
	// Announcement is the announcement form sent back with its problem.
	Announcement workspaceAnnouncement
	Datasets     []catalogue.Dataset // the publisher's own, for the submit form
}

func (s *Site) wsLayout(c *fiber.Ctx, title string, crumbs ...crumb) layout {
	l := s.layout(c, title, append([]crumb{{"/workspace", "Workspace"}}, crumbs...)...)
	l.Section = "workspace"
	sess := session(c)
	l.SignedIn = sess.Actor.Username != ""
	l.CSRF = sess.CSRF
	return l
}

func (s *Site) workspace(c *fiber.Ctx) error { return s.workspacePage(c, workspaceAnnouncement{}) }

func (s *Site) workspacePage(c *fiber.Ctx, announcement workspaceAnnouncement) error {
	sess := session(c)
	releases, err := s.deps.Publisher.Workspace(c.UserContext(), sess.Actor)
	if err != nil {
		return err
	}
	awaiting, err := s.deps.Publisher.AwaitingReview(c.UserContext(), sess.Actor)
	if err != nil {
		return err
	}
	return s.render(c, "workspace", workspacePage{layout: s.wsLayout(c, "Workspace"), Session: sess, Releases: releases, Awaiting: awaiting,
		Announcement: announcement})
}

func releaseID(c *fiber.Ctx) (int64, error) {
	v := c.Params("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, badParam("release", v, "it must be a release number")
	}
	return id, nil
}

type workspaceReleasePage struct {
	layout
	// Outliers are a clinical audit release's units at alert or alarm,
	// with the providers' responses.
	Outliers       *publisher.OutlierNotice
	Session        Session
	Detail         publisher.Detail
	Report         *disclosure.Report
	Considerations [7]string
	Guidance       [7]string
	// ReviewErrors are a review's problems (by form field), with what was
	// typed (Typed), when a review was sent incomplete.
	ReviewErrors []publisher.FieldProblem
	Typed        map[string]string
	// ActionError is the problem of an action's form (ActionField, the
	// id of its first field), shown in the error summary.
	ActionError, ActionField string
	// ToAccept are the report's findings a reviewer must accept to
	// approve; TypedAccepted those ticked when a review came back.
	ToAccept      []disclosure.Finding
	TypedAccepted []string
	Files         []auditlog.FileHash // public files, bound into the review form
	FilesJSON     string
	Notice        string
	Can           permissions
	// What the release will publish, as the public pages will show it.
	Indicators []reviewIndicator
	Samples    []publisher.FileSample
	Base       *catalogue.Release
	Changes    []fileChanges
}

// reviewIndicator is one indicator of a release under review: its latest
// period's table, built and rendered as on the public indicator page.
type reviewIndicator struct {
	Definition indicators.Definition
	Period     string
	Table      indicatorTable
	NotShown   []indicatorRow
	Summary    string
	// Breakdowns are its values by deprivation, age band or sex, as
	// their public page will show them.
	Breakdowns []breakdownTable
}

// fileChanges is a public file's cell-level difference from the release
// under review's base, or why there is none.
type fileChanges struct {
	File    string
	View    DiffView
	Problem string
}

// permissions are the actions the viewer may take, for the template.
type permissions struct {
	Amend, OpenPreview, SendToReview, ResolveQuery, Review, Schedule, Reschedule, Unschedule, Cancel, Withdraw, ViewOriginal bool
}

func permissionsOf(can map[publisher.Action]bool) permissions {
	return permissions{Amend: can[publisher.ActionAmend], OpenPreview: can[publisher.ActionOpenPreview],
		SendToReview: can[publisher.ActionSendToReview], ResolveQuery: can[publisher.ActionResolveQuery],
		Review: can[publisher.ActionReview], Schedule: can[publisher.ActionSchedule], Reschedule: can[publisher.ActionReschedule],
		Unschedule: can[publisher.ActionUnschedule], Cancel: can[publisher.ActionCancel], Withdraw: can[publisher.ActionWithdraw],
		ViewOriginal: can[publisher.ActionViewOriginal]}
}

func (s *Site) workspaceRelease(c *fiber.Ctx) error {
	id, err := releaseID(c)
	if err != nil {
		return err
	}
	page, err := s.releasePage(c, id)
	if err != nil {
		return err
	}
	return s.render(c, "workspace_release", page)
}

// acceptedIn reads the findings a review form accepts.
func acceptedIn(c *fiber.Ctx) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti("accept") {
		out = append(out, string(v))
	}
	return out
}

// Accepts reports whether the form came back with the finding ticked.
func (p workspaceReleasePage) Accepts(key string) bool { return slices.Contains(p.TypedAccepted, key) }

// reviewAgain shows the release page again with an incomplete review's
// problems beside its fields and what was typed kept.
func (s *Site) reviewAgain(c *fiber.Ctx, id int64, problems []publisher.FieldProblem) error {
	page, err := s.releasePage(c, id)
	if err != nil {
		return err
	}
	page.ReviewErrors = problems
	page.layout.Title = "Error: " + page.layout.Title
	for _, name := range []string{"decision", "change", "reasons"} {
		page.Typed[name] = c.FormValue(name)
	}
	for i := range page.Considerations {
		name := fmt.Sprintf("consideration-%d", i+1)
		page.Typed[name] = c.FormValue(name)
	}
	page.TypedAccepted = acceptedIn(c)
	c.Status(http.StatusUnprocessableEntity)
	return s.render(c, "workspace_release", page)
}

// releasePage builds a release's workspace page for the signed-in viewer.
func (s *Site) releasePage(c *fiber.Ctx, id int64) (workspaceReleasePage, error) {
	sess := session(c)
	d, err := s.deps.Publisher.Detail(c.UserContext(), sess.Actor, id)
	if err != nil {
		return workspaceReleasePage{}, err
	}
	page := workspaceReleasePage{layout: s.wsLayout(c, d.Release.Title), Session: sess, Detail: d,
		Considerations: publisher.Considerations, Guidance: publisher.ConsiderationGuidance, Notice: c.Query("done"),
		Can: permissionsOf(d.Can), Typed: map[string]string{}}
	if len(d.Report) > 0 {
		var rep disclosure.Report
		if err := json.Unmarshal(d.Report, &rep); err == nil {
			page.Report = &rep
			for _, f := range rep.Findings {
				if f.NeedsAcceptance() {
					page.ToAccept = append(page.ToAccept, f)
				}
			}
		}
	}
	for _, f := range d.Release.Files {
		if f.Role == catalogue.RolePublic {
			page.Files = append(page.Files, auditlog.FileHash{Name: f.Name, SHA256: f.SHA256})
		}
	}
	b, _ := json.Marshal(page.Files)
	page.FilesJSON = string(b)
	if n, ok, err := s.deps.Publisher.Outliers(c.UserContext(), sess.Actor, id); err != nil {
		return page, err
	} else if ok {
		page.Outliers = &n
	}
	if err := s.whatItPublishes(c, &page); err != nil {
		return page, err
	}
	return page, nil
}

// ReviewError is the problem of a review form's field, or "".
func (p workspaceReleasePage) ReviewError(field string) string {
	for _, e := range p.ReviewErrors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// whatItPublishes fills the page with what the release will publish: its
// indicators' values, intervals and verdicts, the first rows of its public
// files, and its difference, cell by cell, from the release it replaces.
func (s *Site) whatItPublishes(c *fiber.Ctx, page *workspaceReleasePage) error {
	ctx := c.UserContext()
	r := page.Detail.Release
	p, err := s.deps.Publisher.Publishes(ctx, page.Session.Actor, r.ID)
	if err != nil {
		return err
	}
	for _, view := range p.Indicators {
		def := view.Definition.Definition
		rows, err := s.indicatorRows(ctx, def, view.Observations, "", "")
		if err != nil {
			return err
		}
		page.Indicators = append(page.Indicators, reviewIndicator{Definition: def, Period: view.Latest.Period,
			Table:    indicatorTable{ID: "review-indicator-" + def.ID, D: def, Rows: rows.shown, HasFunnel: def.Verdict.HasFunnel()},
			NotShown: rows.notShown, Summary: verdictSummary(def, view.Latest.Period, len(rows.shown), len(rows.notShown), rows.counts)})
		for _, res := range view.Latest.Breakdowns {
			if i := slices.IndexFunc(def.Breakdowns, func(b indicators.Breakdown) bool { return b.ID == res.ID }); i >= 0 {
				ri := &page.Indicators[len(page.Indicators)-1]
				ri.Breakdowns = append(ri.Breakdowns, newBreakdownTable("review-breakdown-"+def.ID+"-"+res.ID, 4, def, def.Breakdowns[i], res, view.Latest.Period))
			}
		}
	}
	page.Samples, page.Base = p.Samples, p.Base
	if p.Base == nil {
		return nil
	}
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		if _, _, ok := publicFile(*p.Base, f.Name); !ok {
			page.Changes = append(page.Changes, fileChanges{File: f.Name, Problem: fmt.Sprintf("Version %d has no file of this name: all of it is new.", p.Base.Version)})
			continue
		}
		diff, err := diffReleases(ctx, p.Rows, *p.Base, r, f.Name)
		var ue *userError
		switch {
		case errors.As(err, &ue):
			page.Changes = append(page.Changes, fileChanges{File: f.Name, Problem: ue.message})
		case err != nil:
			return err
		default:
			view := newDiffView(diff)
			view.ID = "changes-" + f.Name
			page.Changes = append(page.Changes, fileChanges{File: f.Name, View: view})
		}
	}
	return nil
}

// back redirects to a release's workspace page after an action.
func back(c *fiber.Ctx, id int64, done string) error {
	return c.Redirect(fmt.Sprintf("/workspace/releases/%d?done=%s", id, done), http.StatusSeeOther)
}

// londonInstant reads a date (YYYY-MM-DD) and an optional time (HH:MM,
// default 09:30) in Europe/London.
func londonInstant(date, clock, field string) (time.Time, error) {
	if clock == "" {
		clock = publisher.DefaultEmbargoClock
	}
	text := strings.TrimSpace(date) + " " + strings.TrimSpace(clock)
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, text, catalogue.London); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &userError{status: http.StatusBadRequest, message: fmt.Sprintf(
		"The %s must be a date written year-month-day, such as 2026-03-31, and optionally a time on the 24-hour clock, such as 09:30; %q %q is not. Go back and enter it again.",
		field, date, clock)}
}

// actionFields are the fields of each action's form on the release page,
// the first one the error summary links to.
var actionFields = map[string][]string{
	"preview":    {"until-date", "until-time"},
	"schedule":   {"date", "time", "schedule-reason"},
	"reschedule": {"re-date", "re-time", "re-reason"},
	"unschedule": {"un-reason"},
	"cancel":     {"cancel-reason"},
	"withdraw":   {"withdraw-reason", "replacement"},
	"amend":      {"amend-csv-1", "amend-note"},
}

// formFieldNames are the form names behind the fields' ids.
var formFieldNames = map[string]string{"until-date": "until-date", "until-time": "until-time", "date": "date", "time": "time",
	"schedule-reason": "reason", "re-date": "date", "re-time": "time", "re-reason": "reason", "un-reason": "reason",
	"cancel-reason": "reason", "withdraw-reason": "reason", "replacement": "replacement", "amend-note": "note"}

// workspaceAction carries out an action on a release. A refusal of what
// the person sent (a date that is not one, a schedule in the past, a step
// the workflow does not allow now) shows the release page again with the
// problem in the error summary, linked to the action's form, and what was
// typed kept; anything else is an error page.
func (s *Site) workspaceAction(c *fiber.Ctx) error {
	err := s.performAction(c)
	fields, known := actionFields[c.Params("action")]
	if err == nil || !known {
		return err
	}
	status, message, ok := formRefusal(err)
	if !ok {
		return err
	}
	id, idErr := releaseID(c)
	if idErr != nil {
		return err
	}
	page, perr := s.releasePage(c, id)
	if perr != nil {
		return err
	}
	page.ActionError, page.ActionField = message, fields[0]
	for _, f := range fields {
		if name, ok := formFieldNames[f]; ok {
			page.Typed[f] = c.FormValue(name)
		}
	}
	page.layout.Title = "Error: " + page.layout.Title
	c.Status(status)
	return s.render(c, "workspace_release", page)
}

// formRefusal says whether err refuses what a form sent (and how to
// answer it), rather than the request itself.
func formRefusal(err error) (int, string, bool) {
	var ue *userError
	switch {
	case errors.As(err, &ue) && ue.status == http.StatusBadRequest:
		return ue.status, ue.message, true
	case errors.Is(err, publisher.ErrInvalid), errors.Is(err, catalogue.ErrInvalid):
		return http.StatusBadRequest, sentence(err), true
	case errors.Is(err, publisher.ErrNotAllowed), errors.Is(err, catalogue.ErrConflict):
		return http.StatusConflict, sentence(err), true
	}
	var rej *publisher.Rejection
	if errors.As(err, &rej) {
		return http.StatusUnprocessableEntity, sentence(err), true
	}
	return 0, "", false
}

func (s *Site) performAction(c *fiber.Ctx) error {
	id, err := releaseID(c)
	if err != nil {
		return err
	}
	ctx, actor := c.UserContext(), session(c).Actor
	p := s.deps.Publisher
	action := c.Params("action")
	switch action {
	case "preview":
		until, err := londonInstant(c.FormValue("until-date"), c.FormValue("until-time"), "preview end")
		if err != nil {
			return err
		}
		_, err = p.OpenPreview(ctx, actor, id, until)
		if err != nil {
			return err
		}
	case "send-to-review":
		if _, err := p.SendToReview(ctx, actor, id); err != nil {
			return err
		}
	case "query":
		if _, err := p.RaiseQuery(ctx, actor, id, c.FormValue("query")); err != nil {
			return err
		}
		return c.Redirect(fmt.Sprintf("/workspace/releases/%d/preview?done=query", id), http.StatusSeeOther)
	case "resolve":
		qid, err := strconv.ParseInt(c.FormValue("query"), 10, 64)
		if err != nil {
			return badParam("query", c.FormValue("query"), "it must be a query number")
		}
		if _, err := p.ResolveQuery(ctx, actor, id, qid, c.FormValue("resolution")); err != nil {
			return err
		}
	case "review":
		in := publisher.ReviewInput{Decision: publisher.Decision(c.FormValue("decision")),
			Change: c.FormValue("change"), Reasons: c.FormValue("reasons")}
		for i := range in.Answers {
			in.Answers[i] = c.FormValue(fmt.Sprintf("consideration-%d", i+1))
		}
		in.Accepted = acceptedIn(c)
		if err := json.Unmarshal([]byte(c.FormValue("files")), &in.Files); err != nil {
			return badParam("files", c.FormValue("files"), "the form's list of file hashes is damaged; reload the page")
		}
		var problems *publisher.ReviewProblems
		if _, err := p.RecordReview(ctx, actor, id, in); errors.As(err, &problems) {
			return s.reviewAgain(c, id, problems.Fields)
		} else if err != nil {
			return err
		}
	case "schedule", "reschedule":
		at, err := londonInstant(c.FormValue("date"), c.FormValue("time"), "embargo")
		if err != nil {
			return err
		}
		if action == "schedule" {
			_, err = p.Schedule(ctx, actor, id, at, c.FormValue("reason"))
		} else {
			_, err = p.Reschedule(ctx, actor, id, at, c.FormValue("reason"))
		}
		if err != nil {
			return err
		}
	case "unschedule":
		if _, err := p.Unschedule(ctx, actor, id, c.FormValue("reason")); err != nil {
			return err
		}
	case "cancel":
		if _, err := p.Cancel(ctx, actor, id, c.FormValue("reason")); err != nil {
			return err
		}
	case "withdraw":
		replacement := 0
		if v := c.FormValue("replacement"); v != "" {
			if replacement, err = strconv.Atoi(v); err != nil || replacement < 1 {
				return badParam("replacement", v, "it must be a version number")
			}
		}
		if _, err := p.Withdraw(ctx, actor, id, c.FormValue("reason"), replacement); err != nil {
			return err
		}
	case "amend":
		files, cleanup, err := s.uploadedFiles(c)
		defer cleanup()
		if err != nil {
			return err
		}
		if _, err := p.Amend(ctx, actor, id, files, c.FormValue("note"), nil); err != nil {
			return err
		}
	default:
		return errNotFound
	}
	return back(c, id, action)
}

type previewPage struct {
	layout
	Release catalogue.Release
	Tables  []publisher.PreviewTable
	Session Session
	Notice  string
	// Outliers are the audit units at the checker's provider at alert or
	// alarm, when the release ships a clinical audit.
	Outliers  *publisher.OutlierNotice
	Responses []publisher.ResponseKind
}

func (s *Site) workspacePreview(c *fiber.Ctx) error {
	id, err := releaseID(c)
	if err != nil {
		return err
	}
	sess := session(c)
	r, tables, err := s.deps.Publisher.PreviewRows(c.UserContext(), sess.Actor, id)
	if err != nil {
		return err
	}
	page := previewPage{layout: s.wsLayout(c, "Preview: "+r.Title), Release: r, Tables: tables,
		Session: sess, Notice: c.Query("done"), Responses: publisher.ResponseKinds}
	if n, ok, err := s.deps.Publisher.Outliers(c.UserContext(), sess.Actor, id); err != nil {
		return err
	} else if ok {
		page.Outliers = &n
	}
	return s.render(c, "workspace_preview", page)
}

// respondToOutlier records a provider checker's answer to an outlier
// notification.
func (s *Site) respondToOutlier(c *fiber.Ctx) error {
	id, err := releaseID(c)
	if err != nil {
		return err
	}
	_, err = s.deps.Publisher.RespondToOutlier(c.UserContext(), session(c).Actor, id, publisher.OutlierResponseInput{
		Measure: c.FormValue("measure"), Period: c.FormValue("period"), Level: audit.Level(c.FormValue("level")),
		Team: c.FormValue("team"), Code: c.FormValue("code"), Kind: publisher.ResponseKind(c.FormValue("kind")), Text: c.FormValue("text")})
	if err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/workspace/releases/%d/preview?done=response", id), http.StatusSeeOther)
}

// workspaceFile serves a file of a release in the workflow (public version
// or original) to someone entitled to see it before publication.
func (s *Site) workspaceFile(c *fiber.Ctx) error {
	id, err := releaseID(c)
	if err != nil {
		return err
	}
	role := catalogue.FileRole(c.Params("role"))
	if role != catalogue.RolePublic && role != catalogue.RoleOriginal {
		return errNotFound
	}
	f, meta, err := s.deps.Publisher.OpenFile(c.UserContext(), session(c).Actor, id, c.Params("name"), role)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset="+meta.Encoding)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s"`, role, meta.Name))
	c.Set("X-Robots-Tag", "noindex")
	return c.SendStream(f, int(meta.Bytes))
}

type submitPage struct {
	layout
	Session   Session
	Rejection *publisher.Rejection
	Error     string
	Form      map[string]string
	// Checked is a check-only submission's outcome: nothing was stored.
	Checked *publisher.CheckOutcome
	// Staged names the staging folder of the files kept from this attempt
	// (staging.go); StagedPairs and StagedDefinitions are what it holds.
	Staged            string
	StagedPairs       []stagedPair
	StagedDefinitions []string
}

// StagedIn returns the pair kept in slot i, if any.
func (p submitPage) StagedIn(i int) *stagedPair {
	for j := range p.StagedPairs {
		if p.StagedPairs[j].Slot == i {
			return &p.StagedPairs[j]
		}
	}
	return nil
}

// submitFields are the submission's fields as the form names them: the
// form field's id and its label in words.
var submitFields = map[string]struct{ ID, Label string }{
	"dataset.slug":             {"dataset", "Dataset identifier"},
	"dataset.title":            {"dataset-title", "Dataset title"},
	"dataset.publisher.name":   {"publisher-name", "Publisher name"},
	"dataset.licence":          {"licence", "Licence"},
	"release.title":            {"title", "Release title"},
	"release.periodStart":      {"period-start", "Period start"},
	"release.periodEnd":        {"period-end", "Period end"},
	"release.corrects":         {"corrects", "Version this release corrects"},
	"release.correctionNotice": {"correction-notice", "Public correction notice"},
	"resources":                {"csv-1", "Files"},
}

// formProblem is a rejected submission's field problem, linked to the
// form field it is about.
type formProblem struct{ ID, Label, Message string }

// FieldProblems are the rejection's field problems in words.
func (p submitPage) FieldProblems() []formProblem {
	if p.Rejection == nil {
		return nil
	}
	var out []formProblem
	for _, f := range p.Rejection.Fields {
		if known, ok := submitFields[f.Field]; ok {
			out = append(out, formProblem{ID: known.ID, Label: known.Label, Message: f.Message})
			continue
		}
		out = append(out, formProblem{Label: f.Field, Message: f.Message})
	}
	return out
}

// FieldError is the problem of the form field with this id, or "".
func (p submitPage) FieldError(id string) string {
	for _, f := range p.FieldProblems() {
		if f.ID == id {
			return f.Message
		}
	}
	return ""
}

func (s *Site) submitForm(c *fiber.Ctx) error {
	return s.render(c, "workspace_submit", submitPage{layout: s.wsLayout(c, "Submit a release"), Session: session(c), Form: map[string]string{}})
}

// maxDefinitionBytes bounds an uploaded indicator or audit definition file.
const maxDefinitionBytes = 4 << 20

// definitionsFromForm keeps the form's optional indicator definitions (a
// JSON array, as a descriptor's "indicators") and clinical audit
// definition (a JSON object, as its "audit") in dir, then reads whatever
// dir holds into sub; a file that does not parse is refused naming the
// file and the field at fault.
func definitionsFromForm(c *fiber.Ctx, dir string, sub *publisher.Submission) error {
	for _, field := range []string{"indicators", "audit"} {
		h, err := c.FormFile(field)
		if err != nil || h.Size == 0 && h.Filename == "" {
			continue
		}
		if h.Size > maxDefinitionBytes {
			return &userError{status: http.StatusBadRequest, message: fmt.Sprintf("The %s file %s is larger than %d MiB.", field, h.Filename, maxDefinitionBytes>>20)}
		}
		if err := c.SaveFile(h, stagedDefinition(dir, field)); err != nil {
			return err
		}
		if err := os.WriteFile(stagedDefinition(dir, field)+".name", []byte(filepath.Base(h.Filename)), 0o600); err != nil {
			return err
		}
	}
	nameOf := func(field string) string {
		raw, _ := os.ReadFile(stagedDefinition(dir, field) + ".name")
		return string(raw)
	}
	raw, err := readStaged(dir, "indicators")
	if err != nil {
		return err
	}
	if raw != nil {
		if sub.Indicators, err = indicators.ParseDefinitions(raw); err != nil {
			return &userError{status: http.StatusBadRequest, message: fmt.Sprintf("The indicator definitions file %s: %v.", nameOf("indicators"), err)}
		}
	}
	if raw, err = readStaged(dir, "audit"); err != nil {
		return err
	}
	if raw != nil {
		def, err := audit.ParseDefinition(raw)
		if err != nil {
			return &userError{status: http.StatusBadRequest, message: fmt.Sprintf("The clinical audit definition file %s: %v.", nameOf("audit"), err)}
		}
		sub.Audit = &def
	}
	return nil
}

// submissionFromForm builds a submission from the submit form.
func submissionFromForm(c *fiber.Ctx, files []publisher.SubmittedFile) publisher.Submission {
	f := c.FormValue
	sub := publisher.Submission{
		Dataset: publisher.DatasetSpec{Slug: strings.TrimSpace(f("dataset")), Title: f("dataset-title"), Summary: f("dataset-summary"),
			Description: f("dataset-description"), Licence: f("licence"), Frequency: f("frequency"), Granularity: f("granularity"),
			Publisher: publisher.PublisherSpec{Slug: session(c).Actor.Organisation, Name: f("publisher-name")}},
		Release: publisher.ReleaseSpec{Title: f("title"), Summary: f("summary"), PeriodLabel: f("period"),
			PeriodStart: f("period-start"), PeriodEnd: f("period-end"), ChangeNotes: f("change-notes"),
			Quality:          catalogue.Quality{Coverage: f("coverage"), Completeness: f("completeness"), KnownIssues: f("known-issues"), Revisions: f("revisions")},
			CorrectionNotice: f("correction-notice")},
		Files: files,
	}
	if topics := strings.TrimSpace(f("topics")); topics != "" {
		for _, t := range strings.Split(topics, ",") {
			sub.Dataset.Topics = append(sub.Dataset.Topics, strings.TrimSpace(t))
		}
	}
	if v, err := strconv.Atoi(f("corrects")); err == nil {
		sub.Release.Corrects = v
	}
	return sub
}

func (s *Site) submit(c *fiber.Ctx) error {
	page := submitPage{Session: session(c), Form: map[string]string{}}
	for _, k := range []string{"dataset", "dataset-title", "dataset-summary", "dataset-description", "licence", "frequency",
		"granularity", "publisher-name", "topics", "title", "summary", "period", "period-start", "period-end", "change-notes",
		"coverage", "completeness", "known-issues", "revisions", "corrects", "correction-notice"} {
		page.Form[k] = c.FormValue(k)
	}
	actor := session(c).Actor
	id, dir, err := openStage(c, actor.Username)
	if err != nil {
		return err
	}
	// again is the form to show with its problem, the staged files kept.
	again := func(p submitPage) (*submitPage, error) {
		p.Staged = id
		var err error
		if p.StagedPairs, err = pairsIn(dir); err != nil {
			return nil, err
		}
		for _, field := range []string{"indicators", "audit"} {
			if _, err := os.Stat(stagedDefinition(dir, field)); err == nil {
				p.StagedDefinitions = append(p.StagedDefinitions, field)
			}
		}
		return &p, nil
	}
	sub, err := s.formSubmission(c, dir)
	if err != nil {
		var ue *userError
		if !errors.As(err, &ue) {
			return err
		}
		page.Error = ue.message
		shown, err := again(page)
		if err != nil {
			return err
		}
		shown.layout = s.wsLayout(c, "Submit a release")
		c.Status(ue.status)
		return s.render(c, "workspace_submit", *shown)
	}
	checkOnly := c.FormValue("check-only") != ""
	return s.runSubmission(c, func(ctx context.Context, progress publisher.Progress) (int64, *submitPage, int, error) {
		var out publisher.Outcome
		var checked publisher.CheckOutcome
		var err error
		if checkOnly {
			checked, err = s.deps.Publisher.Check(ctx, actor, sub, progress)
		} else {
			out, err = s.deps.Publisher.Submit(ctx, actor, sub, progress)
		}
		var rej *publisher.Rejection
		switch {
		case errors.As(err, &rej):
			page.Rejection = rej
			shown, err := again(page)
			return 0, shown, http.StatusUnprocessableEntity, err
		case err != nil:
			return 0, nil, 0, err
		case checkOnly:
			page.Checked = &checked
			page.Form["check-only"] = "on"
			shown, err := again(page)
			return 0, shown, http.StatusOK, err
		}
		os.RemoveAll(dir)
		return out.Release.ID, nil, 0, nil
	})
}

// formSubmission keeps the form's files in the staging folder dir and
// builds the submission from the form and every file dir holds.
func (s *Site) formSubmission(c *fiber.Ctx, dir string) (publisher.Submission, error) {
	if err := saveUploads(c, dir); err != nil {
		return publisher.Submission{}, err
	}
	files, err := filesIn(dir)
	if err != nil {
		return publisher.Submission{}, err
	}
	sub := submissionFromForm(c, files)
	return sub, definitionsFromForm(c, dir, &sub)
}

// uploadedFiles saves the form's CSV files and their Table Schemas
// (fields csv-1 with schema-1, csv-2 with schema-2, …) to a temporary
// folder and describes each as a submitted file. cleanup removes the
// folder.
func (s *Site) uploadedFiles(c *fiber.Ctx) ([]publisher.SubmittedFile, func(), error) {
	dir, err := os.MkdirTemp("", "candour-upload-")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := saveUploads(c, dir); err != nil {
		return nil, cleanup, err
	}
	files, err := filesIn(dir)
	return files, cleanup, err
}

// saveUploads saves the form's CSV files and their schemas into dir, one
// folder a pair ("slot-N"), replacing what an earlier attempt left there.
func saveUploads(c *fiber.Ctx, dir string) error {
	for i := 1; i <= maxUploadPairs; i++ {
		csvHeader, err := c.FormFile(fmt.Sprintf("csv-%d", i))
		if err != nil || csvHeader.Size == 0 && csvHeader.Filename == "" {
			continue
		}
		schemaHeader, err := c.FormFile(fmt.Sprintf("schema-%d", i))
		if err != nil {
			return &userError{status: http.StatusBadRequest, message: fmt.Sprintf("File %d (%s) needs its Table Schema (a JSON file) in schema-%d.", i, csvHeader.Filename, i)}
		}
		schemaFile, err := schemaHeader.Open()
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(io.LimitReader(schemaFile, 4<<20))
		schemaFile.Close()
		if err != nil {
			return err
		}
		name := filepath.Base(csvHeader.Filename)
		if !catalogue.ValidFileName(name) {
			return &userError{status: http.StatusBadRequest, message: fmt.Sprintf("File %d: %q is not a safe file name (letters, digits, dot, hyphen, underscore).", i, csvHeader.Filename)}
		}
		if _, err := resourceFromUpload(name, raw); err != nil {
			return &userError{status: http.StatusBadRequest, message: fmt.Sprintf("The Table Schema for %s (%s): %v.", name, schemaHeader.Filename, err)}
		}
		slot := filepath.Join(dir, fmt.Sprintf("slot-%d", i))
		if err := os.RemoveAll(slot); err != nil {
			return err
		}
		if err := os.MkdirAll(slot, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(slot, "schema.json"), raw, 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(slot, "schema-name"), []byte(filepath.Base(schemaHeader.Filename)), 0o600); err != nil {
			return err
		}
		if err := c.SaveFile(csvHeader, filepath.Join(slot, name)); err != nil {
			return err
		}
	}
	return nil
}

// stagedPair is a CSV file and its schema kept in a slot.
type stagedPair struct {
	Slot             int
	Name, SchemaName string
	path             string
	schema           []byte
	size             int64
}

// pairsIn lists the pairs saved in dir, by slot.
func pairsIn(dir string) ([]stagedPair, error) {
	var out []stagedPair
	for i := 1; i <= maxUploadPairs; i++ {
		slot := filepath.Join(dir, fmt.Sprintf("slot-%d", i))
		entries, err := os.ReadDir(slot)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p := stagedPair{Slot: i}
		for _, e := range entries {
			switch e.Name() {
			case "schema.json":
				if p.schema, err = os.ReadFile(filepath.Join(slot, e.Name())); err != nil {
					return nil, err
				}
			case "schema-name":
				raw, err := os.ReadFile(filepath.Join(slot, e.Name()))
				if err != nil {
					return nil, err
				}
				p.SchemaName = string(raw)
			default:
				info, err := e.Info()
				if err != nil {
					return nil, err
				}
				p.Name, p.path, p.size = e.Name(), filepath.Join(slot, e.Name()), info.Size()
			}
		}
		if p.path != "" && p.schema != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// filesIn returns the files saved in dir as a submission's.
func filesIn(dir string) ([]publisher.SubmittedFile, error) {
	pairs, err := pairsIn(dir)
	if err != nil {
		return nil, err
	}
	var out []publisher.SubmittedFile
	for _, p := range pairs {
		res, err := resourceFromUpload(p.Name, p.schema)
		if err != nil {
			return nil, &userError{status: http.StatusBadRequest, message: fmt.Sprintf("The Table Schema for %s (%s): %v.", p.Name, p.SchemaName, err)}
		}
		path := p.path
		out = append(out, publisher.SubmittedFile{Resource: res, Size: p.size,
			Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	return out, nil
}

const maxUploadPairs = 5

// resourceFromUpload reads an uploaded descriptor: a Frictionless Data
// Resource (with "schema" inside) or a bare Table Schema (with "fields").
func resourceFromUpload(name string, raw []byte) (datasets.Resource, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return datasets.Resource{}, fmt.Errorf("not JSON: %v", err)
	}
	if _, isSchema := probe["fields"]; isSchema {
		schema, err := datasets.ParseSchema(raw)
		if err != nil {
			return datasets.Resource{}, err
		}
		return datasets.Resource{Name: strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name))), Path: name,
			Dialect: datasets.DefaultDialect(), Schema: schema}, nil
	}
	var res datasets.Resource
	if err := json.Unmarshal(raw, &res); err != nil {
		return res, err
	}
	res.Path = name
	return res, nil
}

// announce puts a future release on the public calendar with a provisional
// month.
func (s *Site) announce(c *fiber.Ctx) error {
	_, err := s.deps.Publisher.Announce(c.UserContext(), session(c).Actor, strings.TrimSpace(c.FormValue("dataset")),
		c.FormValue("period"), strings.TrimSpace(c.FormValue("month")))
	status, message, refused := formRefusal(err)
	if errors.Is(err, catalogue.ErrNotFound) {
		status, message, refused = http.StatusBadRequest, fmt.Sprintf("There is no dataset %q of yours to announce; give its identifier, as in its address /datasets/IDENTIFIER.", c.FormValue("dataset")), true
	}
	if err != nil && !refused {
		return err
	}
	if refused {
		c.Status(status)
		return s.workspacePage(c, workspaceAnnouncement{Error: message,
			Dataset: c.FormValue("dataset"), Period: c.FormValue("period"), Month: c.FormValue("month")})
	}
	return c.Redirect("/calendar", http.StatusSeeOther)
}

// workspaceAnnouncement is the announcement form as sent, with its problem.
type workspaceAnnouncement struct{ Error, Dataset, Period, Month string }
