package publisher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/faultpoint"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher/disclosure"
)

// PublisherSpec names the organisation publishing a dataset. Name and URL
// are read only for an organisation's first dataset, when it has no
// publisher record yet; an existing organisation's name and address are
// never changed by a submission (catalogue.Store's EnsurePublisher).
type PublisherSpec struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// DatasetSpec describes the dataset a submission belongs to. A dataset with
// the slug is created if it does not exist; an existing dataset's metadata
// is left as it is.
type DatasetSpec struct {
	Slug        string        `json:"slug"`
	Title       string        `json:"title"`
	Summary     string        `json:"summary"`
	Description string        `json:"description"` // Markdown
	Publisher   PublisherSpec `json:"publisher"`
	Topics      []string      `json:"topics"`
	Licence     string        `json:"licence"` // default OGL-UK-3.0
	Attribution string        `json:"attribution,omitempty"`
	Frequency   string        `json:"frequency"`
	Granularity string        `json:"granularity"`
}

// ReleaseSpec describes the release being submitted.
type ReleaseSpec struct {
	Title       string            `json:"title"`
	Summary     string            `json:"summary"`
	PeriodLabel string            `json:"periodLabel"`
	PeriodStart string            `json:"periodStart,omitempty"` // YYYY-MM-DD
	PeriodEnd   string            `json:"periodEnd,omitempty"`
	ChangeNotes string            `json:"changeNotes,omitempty"`
	Quality     catalogue.Quality `json:"quality"`
	// Corrects is the version of a published release this one corrects;
	// CorrectionNotice is the public notice shown on both.
	Corrects         int    `json:"corrects,omitempty"`
	CorrectionNotice string `json:"correctionNotice,omitempty"`
	// Revision declares, for the disclosure audit, that this release
	// repeats an earlier version's cells except in the rows listed: those
	// cells are linked to the earlier ones (a cell reported unchanged
	// keeps its earlier value). For a correction (of = the version
	// corrected) the rows listed are those whose cells the publisher
	// submitted already suppressed although they changed; any other cell
	// submitted suppressed is taken as unchanged.
	Revision *RevisionSpec `json:"revision,omitempty"`
}

// RevisionSpec says which rows changed since an earlier version.
type RevisionSpec struct {
	Of      int      `json:"of"`      // the earlier version
	Changed []string `json:"changed"` // primary-key values joined by "|"
}

// SubmittedFile is one file of a submission: its description and a way to
// read its bytes (opened once to check them and once to store them).
type SubmittedFile struct {
	Resource datasets.Resource
	Size     int64 // bytes, for progress; -1 when unknown
	Open     func() (io.ReadCloser, error)
}

// Name is the file's published name: the base of its path.
func (f SubmittedFile) Name() string { return path.Base(f.Resource.Path) }

// Submission is a release offered for publication.
type Submission struct {
	Dataset DatasetSpec
	Release ReleaseSpec
	Files   []SubmittedFile
	// Indicators are the indicator definitions the release ships, each
	// computed from one of its files at submission (from the public
	// version) and public with the release.
	Indicators []indicators.Definition
	// Audit is the clinical audit the release ships, if any: its
	// outcomes file is checked row by row and its units placed on their
	// funnels at submission (from the public version).
	Audit *audit.Definition
}

// FieldProblem is a problem with a submission's metadata.
type FieldProblem struct {
	Field   string // e.g. "release.periodStart"
	Message string
}

func (p FieldProblem) Error() string { return p.Field + ": " + p.Message }

// Rejection is returned when a submission has problems; nothing of it was
// stored.
type Rejection struct {
	Fields []FieldProblem
	Files  datasets.Problems
	// Disclosure are the blocking findings of disclosure control, each
	// naming its file, row and column; Report is the full report.
	Disclosure []disclosure.Finding
	Report     *disclosure.Report
}

func (r *Rejection) Error() string {
	var b strings.Builder
	n := len(r.Fields) + len(r.Files) + len(r.Disclosure)
	fmt.Fprintf(&b, "submission rejected with %d problem%s; nothing was stored", n, plural(n))
	for i, p := range r.Fields {
		if i == 10 {
			break
		}
		b.WriteString("\n  " + p.Error())
	}
	for i, p := range r.Files {
		if i+len(r.Fields) >= 10 {
			fmt.Fprintf(&b, "\n  … and %d more", n-10)
			break
		}
		b.WriteString("\n  " + p.Error())
	}
	for i, f := range r.Disclosure {
		if i+len(r.Fields)+len(r.Files) >= 10 {
			fmt.Fprintf(&b, "\n  … and %d more", n-10)
			break
		}
		b.WriteString("\n  disclosure control: " + f.Message)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// maxProblemsPerFile bounds the report for one file.
const maxProblemsPerFile = 100

// Outcome is what a successful submission produced.
type Outcome struct {
	Release catalogue.Release
	// Warnings are decisions the publisher should know about, such as codes
	// that are not in the national directory.
	Warnings []string
	// Report is the disclosure-control report (JSON), private to the
	// publisher and reviewers.
	Report json.RawMessage
}

// checkMetadata returns every problem with the submission's metadata.
func checkMetadata(sub Submission) []FieldProblem {
	var out []FieldProblem
	add := func(field, format string, args ...any) {
		out = append(out, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	d := sub.Dataset
	if !catalogue.ValidSlug(d.Slug) {
		add("dataset.slug", "%q is not a slug (lower-case letters, digits and single hyphens)", d.Slug)
	}
	if !catalogue.ValidSlug(d.Publisher.Slug) {
		add("dataset.publisher.slug", "%q is not a slug", d.Publisher.Slug)
	}
	if _, ok := catalogue.LookupLicence(licenceOrDefault(d.Licence)); !ok {
		add("dataset.licence", "unknown licence %q", d.Licence)
	}
	r := sub.Release
	if strings.TrimSpace(r.Title) == "" {
		add("release.title", "required")
	}
	start, err := catalogue.ParseDate(r.PeriodStart)
	if err != nil {
		add("release.periodStart", "%v", err)
	}
	end, err := catalogue.ParseDate(r.PeriodEnd)
	if err != nil {
		add("release.periodEnd", "%v", err)
	}
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		add("release.periodEnd", "%s is before the period start %s", end, start)
	}
	if len(sub.Files) == 0 {
		add("resources", "a submission needs at least one file")
	}
	names := map[string]bool{}
	for i, f := range sub.Files {
		field := fmt.Sprintf("resources[%d].path", i)
		name := f.Name()
		if !catalogue.ValidFileName(name) {
			add(field, "%q is not a safe file name (letters, digits, dot, hyphen, underscore)", name)
		}
		if names[name] {
			add(field, "two files are named %q", name)
		}
		names[name] = true
		if f.Open == nil {
			add(field, "no file to read")
		}
		if err := f.Resource.Validate(); err != nil {
			add(fmt.Sprintf("resources[%d]", i), "%v", err)
		}
	}
	return out
}

func licenceOrDefault(id string) string {
	if id == "" {
		return catalogue.DefaultLicence
	}
	return id
}

// scanned is what checking one file found.
type scanned struct {
	summary  datasets.Summary
	mentions map[string]catalogue.Mention
	problems datasets.Problems
	header   []string
	rows     []datasets.Row   // every row, for disclosure control (none when streamed)
	scan     *disclosure.Scan // a streamed file's checks, made as it was read
}

// vetted is what checking a submission's metadata and permissions found,
// before its files are read.
type vetted struct {
	existing catalogue.Dataset
	exists   bool
	corrects catalogue.Release
	earlier  []catalogue.Release
	links    earlierLinks
	texts    []disclosure.Text
}

// vet checks everything about a submission but its files: the actor's
// right to submit it, its metadata, the release it corrects, its indicator
// and audit definitions. It stores nothing.
func (s *Service) vet(ctx context.Context, actor Actor, sub Submission) (vetted, error) {
	var v vetted
	if !actor.Has(RolePublisher) {
		return v, fmt.Errorf("%w: submitting a release needs the role publisher; %s has %s", ErrForbidden, actor, roleList(actor.Roles))
	}
	if fields := checkMetadata(sub); len(fields) > 0 {
		return v, &Rejection{Fields: fields}
	}
	var err error
	v.existing, err = s.catalogue.GetDataset(ctx, sub.Dataset.Slug, catalogue.Internal())
	v.exists = err == nil
	if err != nil && !errors.Is(err, catalogue.ErrNotFound) {
		return v, err
	}
	if !v.exists && strings.TrimSpace(sub.Dataset.Title) == "" {
		return v, &Rejection{Fields: []FieldProblem{{Field: "dataset.title", Message: "required for a new dataset (an existing dataset keeps its title)"}}}
	}
	owner := sub.Dataset.Publisher.Slug
	if v.exists {
		owner = v.existing.Publisher.Slug
	}
	if actor.Organisation != owner {
		return v, fmt.Errorf("%w: %s submits for %q; the dataset %s is published by %q", ErrForbidden, actor, actor.Organisation, sub.Dataset.Slug, owner)
	}
	if !v.exists && strings.TrimSpace(sub.Dataset.Publisher.Name) == "" {
		if _, err := s.catalogue.EnsurePublisher(ctx, catalogue.Publisher{Slug: owner}); errors.Is(err, catalogue.ErrNotFound) {
			return v, &Rejection{Fields: []FieldProblem{{Field: "dataset.publisher.name", Message: "required: " + owner +
				" has not published with Candour before, so its name is needed once (a submission never changes the name of an organisation that has)"}}}
		} else if err != nil {
			return v, err
		}
	}
	if sub.Release.Corrects != 0 {
		if !v.exists {
			return v, &Rejection{Fields: []FieldProblem{{Field: "release.corrects", Message: "the dataset has no releases to correct"}}}
		}
		v.corrects, err = s.catalogue.GetRelease(ctx, sub.Dataset.Slug, sub.Release.Corrects, catalogue.Internal())
		if err != nil {
			return v, &Rejection{Fields: []FieldProblem{{Field: "release.corrects", Message: fmt.Sprintf("%s has no version %d", sub.Dataset.Slug, sub.Release.Corrects)}}}
		}
		if err := permit(actor, ActionCorrect, v.corrects); err != nil {
			return v, &Rejection{Fields: []FieldProblem{{Field: "release.corrects", Message: err.Error()}}}
		}
		if strings.TrimSpace(sub.Release.CorrectionNotice) == "" {
			return v, &Rejection{Fields: []FieldProblem{{Field: "release.correctionNotice", Message: "a correction needs a public notice saying what was wrong"}}}
		}
	}
	if v.exists {
		if v.earlier, err = s.earlierReleases(ctx, v.existing.ID, 0); err != nil {
			return v, err
		}
	}
	if fields := checkIndicators(sub.Indicators, sub.Files); len(fields) > 0 {
		return v, &Rejection{Fields: fields}
	}
	if rej, err := checkAudit(sub.Audit, sub.Files); err != nil {
		return v, err
	} else if rej != nil {
		return v, rej
	}
	r := sub.Release
	v.texts = publishedTexts(r.Title, r.Summary, r.ChangeNotes, r.CorrectionNotice, r.Quality)
	v.links = earlierLinks{revision: r.Revision, corrects: r.Corrects}
	return v, nil
}

// CheckOutcome is what a check-only submission found: the disclosure
// report and warnings a real submission would give. Nothing was stored.
type CheckOutcome struct {
	Warnings []string
	Summary  string
	Report   json.RawMessage
}

// Check runs every check of Submit — permissions, metadata, definitions,
// every cell against its schema, disclosure control — and stores nothing:
// no release, no file, no row, no audit entry. With any problem it returns
// the *Rejection Submit would.
func (s *Service) Check(ctx context.Context, actor Actor, sub Submission, progress Progress) (CheckOutcome, error) {
	v, err := s.vet(ctx, actor, sub)
	if err != nil {
		return CheckOutcome{}, err
	}
	a, err := s.assess(ctx, sub.Files, v.earlier, v.links, v.texts, declaredAreas(sub.Indicators), sub.derives(), orNoProgress(progress))
	if err != nil {
		return CheckOutcome{}, err
	}
	return CheckOutcome{Warnings: a.warnings, Summary: a.summary, Report: a.report}, nil
}

func orNoProgress(p Progress) Progress {
	if p == nil {
		return noProgress
	}
	return p
}

// Submit checks a submission completely — every cell against its schema,
// then disclosure control — and, if nothing blocks it, stores it as a new
// release in state checked: the original files (private), the public
// version of each, the public rows, the disclosure report and an audit
// entry. With any problem it returns a *Rejection and stores nothing.
func (s *Service) Submit(ctx context.Context, actor Actor, sub Submission, progress Progress) (Outcome, error) {
	progress = orNoProgress(progress)
	if err := s.removeLeftDrafts(ctx); err != nil {
		return Outcome{}, err
	}
	v, err := s.vet(ctx, actor, sub)
	if err != nil {
		return Outcome{}, err
	}
	existing, exists, corrects := v.existing, v.exists, v.corrects
	prep, err := s.prepare(ctx, sub.Files, v.earlier, v.links, v.texts, declaredAreas(sub.Indicators), sub.derives(), progress)
	if err != nil {
		return Outcome{}, err
	}
	points := submitPoints
	if sub.Release.Corrects != 0 {
		points = correctPoints
	}
	faultpoint.Hit(points.blobsStored)

	dataset := existing
	if !exists {
		if dataset, err = s.ensureDataset(ctx, sub.Dataset); err != nil {
			return Outcome{}, err
		}
	}
	// One draft per dataset at a time, so that a draft is always its
	// dataset's newest version and removing it (abandon, or recovery
	// after a crash) leaves no gap in the version numbers.
	defer s.lockDrafts(dataset.ID)()
	start, _ := catalogue.ParseDate(sub.Release.PeriodStart)
	end, _ := catalogue.ParseDate(sub.Release.PeriodEnd)
	release, err := s.catalogue.CreateRelease(ctx, catalogue.Release{
		DatasetID: dataset.ID, Title: sub.Release.Title, Summary: sub.Release.Summary,
		PeriodLabel: sub.Release.PeriodLabel, PeriodStart: start, PeriodEnd: end,
		ChangeNotes: sub.Release.ChangeNotes, Quality: sub.Release.Quality, SubmittedBy: actor.String(),
		Corrects: catalogue.ReleaseRef{ID: corrects.ID}, CorrectionNotice: sub.Release.CorrectionNotice,
		DisclosureSummary: prep.summary,
	}, prep.files, prep.mentions)
	if err != nil {
		return Outcome{}, err
	}
	faultpoint.Hit(points.draftCreated)
	if err := s.storeRows(ctx, release, progress); err != nil {
		return Outcome{}, s.abandon(ctx, release, err)
	}
	faultpoint.Hit(points.rowsStored)
	progress(StageIndicators, 0, 0)
	if err := s.materialise(ctx, release, sub.Indicators, prep.result.Public); err != nil {
		return Outcome{}, s.abandon(ctx, release, err)
	}
	if err := s.materialiseAudit(ctx, release, sub.Audit, prep.result.Public); err != nil {
		return Outcome{}, s.abandon(ctx, release, err)
	}
	if err := s.indexRelease(ctx, release); err != nil {
		return Outcome{}, s.abandon(ctx, release, err)
	}
	t, err := s.transition(release, catalogue.StateChecked, actor, "validation and disclosure control passed")
	if err != nil {
		return Outcome{}, s.abandon(ctx, release, err)
	}
	faultpoint.Hit(points.beforeCommit)
	if err := s.workflow.Apply(ctx, Change{Transitions: []catalogue.Transition{t},
		Report: &Report{Release: release.ID, JSON: prep.report, Revision: sub.Release.Revision},
		Audit:  s.audit(actor, "release.submitted", release, prep.auditDetails(sub))}); err != nil {
		return Outcome{}, s.abandon(ctx, release, err)
	}
	faultpoint.Hit(points.afterCommit)
	release, err = s.release(ctx, release.ID)
	if err != nil {
		return Outcome{}, err
	}
	s.log.Info("release checked", "release", release.ID, "dataset", release.Dataset.Slug, "version", release.Version,
		"files", len(sub.Files), "actor", actor.String())
	return Outcome{Release: release, Warnings: prep.warnings, Report: prep.report}, nil
}

// abandon removes a draft whose storing failed half-way — its rows,
// observations and record, as start-up recovery removes one a crash left
// (recovery.go) — so it can never be published and its version number is
// free again, and returns the original error.
//
// When the draft cannot be removed either (the store that failed is still
// not answering), it is remembered and the next submission removes it
// first (removeLeftDrafts), so that the draft never blocks a retry nor
// leaves a gap in the version numbers; start-up recovery removes it if
// the process ends first.
func (s *Service) abandon(ctx context.Context, r catalogue.Release, cause error) error {
	if _, err := s.removeDraft(ctx, r, "storing the submission failed: "+cause.Error(), ""); err != nil {
		s.draftsMu.Lock()
		s.leftDrafts = append(s.leftDrafts, r)
		s.draftsMu.Unlock()
		return fmt.Errorf("%w (and removing draft release %d failed: %v; the next submission removes it)", cause, r.ID, err)
	}
	return cause
}

// removeLeftDrafts removes the drafts abandon could not remove. While a
// store still does not answer it fails, and the submission calling it
// stores nothing.
func (s *Service) removeLeftDrafts(ctx context.Context) error {
	s.draftsMu.Lock()
	left := slices.Clone(s.leftDrafts)
	s.draftsMu.Unlock()
	for _, r := range left {
		if err := s.removeLeftDraft(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// removeLeftDraft removes one draft abandon could not remove, holding its
// dataset's draft lock, unless it has gone already.
func (s *Service) removeLeftDraft(ctx context.Context, r catalogue.Release) error {
	defer s.lockDrafts(r.DatasetID)()
	current, err := s.release(ctx, r.ID)
	switch {
	case errors.Is(err, catalogue.ErrNotFound):
	case err != nil:
		return err
	case current.State == catalogue.StateDraft && current.DatasetID == r.DatasetID && current.Version == r.Version:
		if _, err := s.removeDraft(ctx, current, "storing the submission failed, and its draft could only be removed once the stores answered again", ""); err != nil {
			return fmt.Errorf("removing draft release %d, left by a submission that failed: %w", r.ID, err)
		}
	}
	s.draftsMu.Lock()
	s.leftDrafts = slices.DeleteFunc(s.leftDrafts, func(d catalogue.Release) bool { return d.ID == r.ID })
	s.draftsMu.Unlock()
	return nil
}

// submissionPoints name a submission's fault points (package faultpoint).
type submissionPoints struct {
	blobsStored, draftCreated, rowsStored, beforeCommit, afterCommit string
}

var (
	submitPoints  = submissionPoints{"submit.blobs-stored", "submit.draft-created", "submit.rows-stored", "submit.before-commit", "submit.after-commit"}
	correctPoints = submissionPoints{"correct.blobs-stored", "correct.draft-created", "correct.rows-stored", "correct.before-commit", "correct.after-commit"}
)

// lockDrafts holds the dataset's draft lock until the returned function is
// called.
func (s *Service) lockDrafts(dataset int64) func() {
	s.draftsMu.Lock()
	if s.drafting == nil {
		s.drafting = map[int64]*sync.Mutex{}
	}
	m := s.drafting[dataset]
	if m == nil {
		m = &sync.Mutex{}
		s.drafting[dataset] = m
	}
	s.draftsMu.Unlock()
	m.Lock()
	return m.Unlock
}

func encodingOrDefault(e string) string {
	if e == "" {
		return "utf-8"
	}
	return e
}

func (s *Service) ensureDataset(ctx context.Context, spec DatasetSpec) (catalogue.Dataset, error) {
	d, err := s.catalogue.GetDataset(ctx, spec.Slug, catalogue.Internal())
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, catalogue.ErrNotFound) {
		return d, err
	}
	// The organisation's stored name and address stand: a submission only
	// names an organisation that has none yet (and that name becomes
	// public only with the release, after review).
	p, err := s.catalogue.EnsurePublisher(ctx, catalogue.Publisher{Slug: spec.Publisher.Slug, Name: spec.Publisher.Name, URL: spec.Publisher.URL})
	if err != nil {
		return d, err
	}
	return s.catalogue.CreateDataset(ctx, catalogue.Dataset{
		Slug: spec.Slug, Title: spec.Title, Summary: spec.Summary, Description: spec.Description,
		Publisher: p, Topics: spec.Topics, Licence: licenceOrDefault(spec.Licence), Attribution: spec.Attribution,
		Frequency: spec.Frequency, Granularity: spec.Granularity, Status: catalogue.DatasetPlanned,
	})
}

// mentions merges the organisation codes the files use and warns about
// those the national directory lacks. Area codes (England, regions: see
// datasets.AreaLevel, and those the indicator definitions declare) are
// benchmarks, not organisations: they are left out.
func (s *Service) mentions(ctx context.Context, results []scanned, areas map[string]bool) ([]catalogue.Mention, []string, error) {
	merged := map[string]catalogue.Mention{}
	for _, r := range results {
		for code, m := range r.mentions {
			if _, area := datasets.AreaLevel(code); area || areas[code] {
				continue
			}
			prev, ok := merged[code]
			if !ok {
				merged[code] = m
				continue
			}
			if prev.Name == "" {
				prev.Name = m.Name
			}
			if prev.Type == "" || prev.Type == catalogue.TypeUnknown {
				prev.Type = m.Type
			}
			merged[code] = prev
		}
	}
	codes := make([]string, 0, len(merged))
	for c := range merged {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	inDir, err := s.catalogue.OrganisationsInDirectory(ctx, codes)
	if err != nil {
		return nil, nil, err
	}
	var out []catalogue.Mention
	var warnings []string
	for _, c := range codes {
		m := merged[c]
		out = append(out, m)
		if inDir[c] {
			continue
		}
		name := m.Name
		if name == "" {
			name = "no name given in the data"
		}
		typ := "an organisation of unknown type"
		if m.Type != "" && m.Type != catalogue.TypeUnknown {
			typ = "a " + strings.ToLower(m.Type.Label())
		}
		warnings = append(warnings, fmt.Sprintf("organisation code %s (%s) is not in the national directory: listed as %s, marked \"not in the national directory\"", c, name, typ))
	}
	return out, warnings, nil
}

// scanFile reads a file once, checking every cell against its schema,
// hashing the bytes, and collecting the organisation codes it uses.
//
// With stream, the rows are not kept: disclosure control's checks run on
// each row as it is read (disclosure.Scan) instead.
func scanFile(ctx context.Context, f SubmittedFile, stream bool, progress Progress) (scanned, error) {
	res := scanned{mentions: map[string]catalogue.Mention{}}
	rc, err := f.Open()
	if err != nil {
		return res, fmt.Errorf("open %s: %w", f.Name(), err)
	}
	defer rc.Close()
	counter := &progressReader{r: rc, step: "checking " + f.Name(), total: f.Size, progress: progress}
	h := sha256.New()
	rd, err := datasets.NewReader(io.TeeReader(counter, h), f.Name(), f.Resource)
	if err != nil {
		res.problems = asProblems(err, f.Name())
		return res, nil
	}
	res.header = rd.Header()
	if stream {
		// Refused only for a schema the caller should not have streamed:
		// then the rows are kept, as for any other.
		res.scan, _ = disclosure.NewScan(f.Name(), f.Resource, res.header)
	}
	refs := organisationRefs(f.Resource.Schema)
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err == nil {
			res.summary.Rows++
			switch {
			case len(res.problems) > 0:
			case res.scan != nil:
				res.scan.Add(row)
			default:
				res.rows = append(res.rows, row)
			}
		}
		if err != nil {
			res.problems = append(res.problems, asProblems(err, f.Name())...)
			if row.Number == 0 || len(res.problems) >= maxProblemsPerFile { // Number 0: a fatal (encoding or quoting) problem
				break
			}
			continue
		}
		for _, ref := range refs {
			if p := ref.collect(f.Name(), row, res.mentions); p != nil {
				res.problems = append(res.problems, *p)
			}
		}
		if len(res.problems) >= maxProblemsPerFile {
			break
		}
	}
	if len(res.problems) > maxProblemsPerFile {
		res.problems = res.problems[:maxProblemsPerFile]
	}
	counter.finish()
	res.summary.Bytes = counter.done
	res.summary.SHA256 = hex.EncodeToString(h.Sum(nil))
	return res, nil
}

// asProblems turns a reader error into problems.
func asProblems(err error, file string) datasets.Problems {
	var ps datasets.Problems
	if errors.As(err, &ps) {
		return ps
	}
	var p datasets.Problem
	if errors.As(err, &p) {
		return datasets.Problems{p}
	}
	return datasets.Problems{{File: file, Offset: -1, Message: err.Error()}}
}

// orgRef is an organisation code field with its name and type fields.
type orgRef struct {
	code, name, typ int
	fieldName       string
	typeFieldName   string
	ref             datasets.OrganisationRef
}

func organisationRefs(s datasets.Schema) []orgRef {
	var out []orgRef
	for i, f := range s.Fields {
		if f.Organisation == nil {
			continue
		}
		r := orgRef{code: i, name: -1, typ: -1, fieldName: f.Name, ref: *f.Organisation}
		if f.Organisation.NameField != "" {
			r.name = s.FieldIndex(f.Organisation.NameField)
		}
		if f.Organisation.TypeField != "" {
			r.typ = s.FieldIndex(f.Organisation.TypeField)
			r.typeFieldName = f.Organisation.TypeField
		}
		out = append(out, r)
	}
	return out
}

// collect records the row's organisation code, or returns a problem when
// the row's type value has no declared mapping.
func (r orgRef) collect(file string, row datasets.Row, into map[string]catalogue.Mention) *datasets.Problem {
	v := row.Values[r.code]
	if v.Kind == datasets.KindMissing || v.Kind == datasets.KindSuppressed {
		return nil
	}
	code := v.Text
	for _, not := range r.ref.NotOrganisations {
		if code == not {
			return nil
		}
	}
	m := catalogue.Mention{Code: code}
	if r.name >= 0 {
		m.Name = strings.TrimSpace(row.Cells[r.name])
	}
	if r.typ < 0 && r.ref.Type != "" {
		m.Type = catalogue.OrganisationType(r.ref.Type)
		if !m.Type.Valid() {
			return &datasets.Problem{File: file, Row: row.Record, Line: row.Line, Column: r.code + 1, Field: r.fieldName,
				Value: code, Offset: -1, Message: fmt.Sprintf("the schema gives %q the organisation type %q, which is not one", r.fieldName, r.ref.Type)}
		}
	}
	if r.typ >= 0 {
		val := row.Cells[r.typ]
		t, ok := r.ref.Types[val]
		if !ok {
			return &datasets.Problem{File: file, Row: row.Record, Line: row.Line, Column: r.typ + 1, Field: r.typeFieldName,
				Value: val, Offset: -1, Message: fmt.Sprintf("organisation type %q has no mapping in the schema (candour:organisation.types of %q)", val, r.fieldName)}
		}
		m.Type = catalogue.OrganisationType(t)
		if m.Type != "" && !m.Type.Valid() {
			return &datasets.Problem{File: file, Row: row.Record, Line: row.Line, Column: r.typ + 1, Field: r.typeFieldName,
				Value: val, Offset: -1, Message: fmt.Sprintf("the schema maps %q to %q, which is not an organisation type", val, t)}
		}
	}
	prev, ok := into[code]
	if !ok {
		into[code] = m
		return nil
	}
	if prev.Name == "" && m.Name != "" {
		prev.Name = m.Name
	}
	if (prev.Type == "" || prev.Type == catalogue.TypeUnknown) && m.Type != "" {
		prev.Type = m.Type
	}
	into[code] = prev
	return nil
}

// storeRows writes the rows of every public file of a release, read back
// from the blob store so the rows are exactly the published bytes (never
// the original's).
func (s *Service) storeRows(ctx context.Context, r catalogue.Release, progress Progress) error {
	if err := s.rows.DeleteRelease(ctx, r.ID); err != nil {
		return err
	}
	for _, file := range r.Files {
		if file.Role != catalogue.RolePublic {
			continue
		}
		if err := s.storeFileRows(ctx, r.ID, file, progress); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) storeFileRows(ctx context.Context, release int64, file catalogue.File, progress Progress) error {
	var res datasets.Resource
	if err := json.Unmarshal(file.Resource, &res); err != nil {
		return fmt.Errorf("file %s: resource: %w", file.Name, err)
	}
	blob, _, err := s.blobs.Open(ctx, file.SHA256)
	if err != nil {
		return err
	}
	defer blob.Close()
	counter := &progressReader{r: blob, step: "storing rows of " + file.Name, total: file.Bytes, progress: progress}
	rd, err := datasets.NewReader(counter, file.Name, res)
	if err != nil {
		return err
	}
	rows := iter.Seq2[[]string, error](func(yield func([]string, error) bool) {
		for {
			row, err := rd.Read()
			if err == io.EOF {
				return
			}
			if !yield(row.Cells, err) || err != nil {
				return
			}
		}
	})
	n, err := s.rows.WriteRows(ctx, datasets.FileRef{Release: release, File: file.Name}, rows)
	if err != nil {
		return err
	}
	counter.finish()
	if n != file.Rows {
		return fmt.Errorf("file %s: stored %d rows, checked %d", file.Name, n, file.Rows)
	}
	return nil
}

// ReadSubmission reads a submission descriptor: a JSON object with
// "dataset", "release" and "resources", where each resource is a
// Frictionless Data Resource whose "path" (and "schema", when given as a
// string) are relative to the descriptor. Problems name the field.
func ReadSubmission(fsys fs.FS, name string) (Submission, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Submission{}, err
	}
	var raw struct {
		Dataset   DatasetSpec       `json:"dataset"`
		Release   ReleaseSpec       `json:"release"`
		Resources []json.RawMessage `json:"resources"`
		// Indicators is an indicator file: a JSON array of definitions,
		// or the path of a file holding one.
		Indicators json.RawMessage `json:"indicators"`
		// Audit is a clinical audit definition: a JSON object, or the
		// path of a file holding one.
		Audit json.RawMessage `json:"audit"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Submission{}, fmt.Errorf("%s: %w", name, err)
	}
	sub := Submission{Dataset: raw.Dataset, Release: raw.Release}
	dir := path.Dir(name)
	if len(raw.Indicators) > 0 && string(raw.Indicators) != "null" {
		defs := []byte(raw.Indicators)
		var p string
		if json.Unmarshal(raw.Indicators, &p) == nil {
			if defs, err = fs.ReadFile(fsys, path.Join(dir, p)); err != nil {
				return Submission{}, fmt.Errorf("%s: indicators: %w", name, err)
			}
		}
		if sub.Indicators, err = indicators.ParseDefinitions(defs); err != nil {
			return Submission{}, fmt.Errorf("%s: indicators: %w", name, err)
		}
	}
	if len(raw.Audit) > 0 && string(raw.Audit) != "null" {
		def := []byte(raw.Audit)
		var p string
		if json.Unmarshal(raw.Audit, &p) == nil {
			if def, err = fs.ReadFile(fsys, path.Join(dir, p)); err != nil {
				return Submission{}, fmt.Errorf("%s: audit: %w", name, err)
			}
		}
		a, err := audit.ParseDefinition(def)
		if err != nil {
			return Submission{}, fmt.Errorf("%s: audit: %w", name, err)
		}
		sub.Audit = &a
	}
	for i, rr := range raw.Resources {
		f, err := readResource(fsys, dir, rr)
		if err != nil {
			return Submission{}, fmt.Errorf("%s: resources[%d]: %w", name, i, err)
		}
		sub.Files = append(sub.Files, f)
	}
	return sub, nil
}

func readResource(fsys fs.FS, dir string, raw json.RawMessage) (SubmittedFile, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return SubmittedFile{}, err
	}
	var schemaPath string
	if s, ok := fields["schema"]; ok && len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(s, &schemaPath); err != nil {
			return SubmittedFile{}, err
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, schemaPath))
		if err != nil {
			return SubmittedFile{}, fmt.Errorf("schema: %w", err)
		}
		fields["schema"] = b
		if raw, err = json.Marshal(fields); err != nil {
			return SubmittedFile{}, err
		}
	}
	var res datasets.Resource
	if err := json.Unmarshal(raw, &res); err != nil {
		if schemaPath != "" {
			return SubmittedFile{}, fmt.Errorf("schema %s: %w", schemaPath, err)
		}
		return SubmittedFile{}, err
	}
	if res.Path == "" || path.IsAbs(res.Path) {
		return SubmittedFile{}, fmt.Errorf("path: %q must be a path relative to the descriptor", res.Path)
	}
	// fs.FS refuses paths that climb out of its root, so a descriptor can
	// only name files inside the folder it was opened from.
	file := path.Join(dir, res.Path)
	size := int64(-1)
	if info, err := fs.Stat(fsys, file); err == nil {
		size = info.Size()
	} else {
		return SubmittedFile{}, fmt.Errorf("path: %w", err)
	}
	return SubmittedFile{
		Resource: res,
		Size:     size,
		Open:     func() (io.ReadCloser, error) { return fsys.Open(file) },
	}, nil
}

// progressReader reports bytes read, at most once per MiB.
type progressReader struct {
	r        io.Reader
	step     string
	total    int64
	done     int64
	reported int64
	progress Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.progress != nil && p.done-p.reported >= 1<<20 {
		p.reported = p.done
		p.progress(p.step, p.done, p.total)
	}
	return n, err
}

func (p *progressReader) finish() {
	if p.progress != nil {
		p.progress(p.step, p.done, p.total)
	}
}
