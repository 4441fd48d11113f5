package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/faultpoint"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher/disclosure"
)

// prepared is a checked set of files, ready to record: the blobs are
// written (content-addressed, so an abandoned submission leaves only
// unreferenced bytes), nothing else is.
type prepared struct {
	files    []catalogue.File // public versions, then originals
	mentions []catalogue.Mention
	warnings []string
	report   json.RawMessage
	summary  string
	result   disclosure.Result
	scans    []scanned // each file as read, for storing it
}

// auditDetails is what the audit log records of a submission: file names
// and row counts and the public disclosure summary, never a cell.
func (p prepared) auditDetails(sub Submission) map[string]any {
	var files []map[string]any
	for _, f := range p.files {
		if f.Role == catalogue.RolePublic {
			files = append(files, map[string]any{"name": f.Name, "rows": f.Rows, "bytes": f.Bytes})
		}
	}
	return map[string]any{"title": sub.Release.Title, "period": sub.Release.PeriodLabel, "files": files,
		"disclosure": p.result.Report.Summary}
}

// prepare validates files, runs disclosure control on them (against the
// public files of the earlier releases given), and writes the original and
// public bytes to the blob store. Problems come back as a *Rejection.
//
// areas are codes the release's indicator definitions declare as areas
// (England, regions): their rows are benchmarks, not organisations.
func (s *Service) prepare(ctx context.Context, files []SubmittedFile, earlier []catalogue.Release, links earlierLinks, texts []disclosure.Text, areas map[string]bool, derived bool, progress Progress) (prepared, error) {
	p, err := s.assess(ctx, files, earlier, links, texts, areas, derived, progress)
	if err != nil {
		return p, err
	}
	var originals []catalogue.File
	for i, f := range files {
		orig, err := s.putOriginal(ctx, f, p.scans[i])
		if err != nil {
			return p, err
		}
		originals = append(originals, orig)
		pub, err := s.putPublic(ctx, f, p.scans[i], p.result.Public[i], orig)
		if err != nil {
			return p, err
		}
		p.files = append(p.files, pub)
	}
	p.files = append(p.files, originals...)
	return p, nil
}

// assess reads and checks files and runs disclosure control, storing
// nothing: prepare's checks, and the whole of a check-only submission.
// derived says that the release derives indicators or a clinical audit
// from its public files, which then need their rows.
//
// A release's files are read without keeping their rows (streamed, see
// disclosure.Streamable) when nothing needs them: no indicator or audit
// is derived, it corrects nothing, no file is under a small-number or
// magnitude rule or otherwise needs the audit, and no earlier release of
// the dataset has a suppressed cell. Its memory then does not grow with
// its size. If a streamed file turns out to have a cell suppressed at
// source, the files are read again with their rows.
func (s *Service) assess(ctx context.Context, files []SubmittedFile, earlier []catalogue.Release, links earlierLinks, texts []disclosure.Text, areas map[string]bool, derived bool, progress Progress) (prepared, error) {
	var p prepared
	stream, err := s.streamable(ctx, files, earlier, links, derived)
	if err != nil {
		return p, err
	}
	results, err := s.scanFiles(ctx, files, stream, progress)
	if err != nil {
		return p, err
	}
	if stream && slices.ContainsFunc(results, func(r scanned) bool { return r.scan == nil || r.scan.Suppressed() > 0 }) {
		stream = false
		if results, err = s.scanFiles(ctx, files, false, progress); err != nil {
			return p, err
		}
	}
	var problems datasets.Problems
	for _, r := range results {
		problems = append(problems, r.problems...)
	}
	if len(problems) > 0 {
		return p, &Rejection{Files: problems}
	}

	in := disclosure.Input{Texts: texts}
	for i, f := range files {
		in.Files = append(in.Files, disclosure.File{Name: f.Name(), Resource: f.Resource, Header: results[i].header, Rows: results[i].rows, Scan: results[i].scan})
	}
	if in.Directory, err = s.directoryParents(ctx, files, results); err != nil {
		return p, err
	}
	for _, r := range earlier {
		if stream {
			break // no earlier release has a suppressed cell (see streamable)
		}
		e, err := s.earlierInput(ctx, r, links)
		if err != nil {
			return p, err
		}
		in.Earlier = append(in.Earlier, e)
	}
	return s.control(ctx, in, results, areas, progress)
}

// scanFiles reads and checks every file (keeping its rows unless
// stream), refusing files over the upload limit together.
func (s *Service) scanFiles(ctx context.Context, files []SubmittedFile, stream bool, progress Progress) ([]scanned, error) {
	var total int64
	results := make([]scanned, len(files))
	for i, f := range files {
		if f.Size > 0 {
			total += f.Size
		}
		if s.maxUpload > 0 && total > s.maxUpload {
			return nil, &Rejection{Fields: []FieldProblem{{Field: "resources", Message: fmt.Sprintf(
				"the files come to more than the upload limit of %s (the limit is set with --max-upload)", ByteSize(s.maxUpload))}}}
		}
		res, err := scanFile(ctx, f, stream, progress)
		if err != nil {
			return nil, err
		}
		if f.Size <= 0 {
			total += res.summary.Bytes
			if s.maxUpload > 0 && total > s.maxUpload {
				return nil, &Rejection{Fields: []FieldProblem{{Field: "resources", Message: fmt.Sprintf(
					"the files come to more than the upload limit of %s (the limit is set with --max-upload)", ByteSize(s.maxUpload))}}}
			}
		}
		results[i] = res
	}
	return results, nil
}

// control runs disclosure control on what assess read.
func (s *Service) control(ctx context.Context, in disclosure.Input, results []scanned, areas map[string]bool, progress Progress) (prepared, error) {
	var p prepared
	progress(StageDisclosure, 0, 0)
	result, err := disclosure.Check(in)
	if err != nil {
		return p, &Rejection{Fields: []FieldProblem{{Field: "schema", Message: err.Error()}}}
	}
	p.result = result
	if p.report, err = json.Marshal(result.Report); err != nil {
		return p, err
	}
	if result.Blocked {
		s.stats.disclosureRefusals.Add(1)
		var blocking []disclosure.Finding
		for _, f := range result.Report.Findings {
			if f.Blocking {
				blocking = append(blocking, f)
			}
		}
		return p, &Rejection{Disclosure: blocking, Report: &result.Report}
	}
	p.summary = result.Report.Summary.Sentence()
	faultpoint.Hit("disclosure.checked")
	for _, f := range result.Report.Findings {
		if f.Kind == disclosure.KindPreSuppressed {
			p.warnings = append(p.warnings, f.File+": "+f.Message)
		}
	}

	mentions, warnings, err := s.mentions(ctx, results, areas)
	if err != nil {
		return p, err
	}
	p.mentions, p.warnings, p.scans = mentions, append(p.warnings, warnings...), results
	return p, nil
}

// putOriginal stores the submitted bytes, checking they are the bytes that
// were checked. The original is private: never served, never public.
func (s *Service) putOriginal(ctx context.Context, f SubmittedFile, res scanned) (catalogue.File, error) {
	rc, err := f.Open()
	if err != nil {
		return catalogue.File{}, fmt.Errorf("open %s: %w", f.Name(), err)
	}
	defer rc.Close()
	blob, err := s.blobs.Put(ctx, rc)
	if err != nil {
		return catalogue.File{}, fmt.Errorf("store %s: %w", f.Name(), err)
	}
	if blob.SHA256 != res.summary.SHA256 {
		return catalogue.File{}, fmt.Errorf("store %s: the file changed while it was being submitted (checked %s, stored %s)", f.Name(), res.summary.SHA256, blob.SHA256)
	}
	resource, err := json.Marshal(f.Resource)
	if err != nil {
		return catalogue.File{}, fmt.Errorf("file %s: %w", f.Name(), err)
	}
	return catalogue.File{Name: f.Name(), Title: f.Resource.Title, Role: catalogue.RoleOriginal,
		MediaType: "text/csv", Encoding: encodingOrDefault(f.Resource.Encoding),
		SHA256: blob.SHA256, Bytes: blob.Bytes, Rows: res.summary.Rows, Resource: resource}, nil
}

// putPublic stores the public version of a file. When disclosure control
// changed no cell, the public version is the submitted bytes themselves, so
// a file published unchanged keeps the hash its producer lists; otherwise
// it is the public cells written as UTF-8 CSV with a header.
func (s *Service) putPublic(ctx context.Context, f SubmittedFile, res scanned, pub disclosure.PublicFile, orig catalogue.File) (catalogue.File, error) {
	if unchanged(f, res, pub) {
		resource, err := json.Marshal(pub.Resource)
		if err != nil {
			return catalogue.File{}, err
		}
		out := orig
		out.Role, out.Resource = catalogue.RolePublic, resource
		return out, nil
	}
	var blob datasets.Blob
	rows := int64(len(pub.Rows))
	if pub.Unchanged && pub.Rows == nil { // streamed: its rows were not kept
		var err error
		if blob, rows, err = s.rewritePublic(ctx, f, pub); err != nil {
			return catalogue.File{}, err
		}
		if rows != res.summary.Rows {
			return catalogue.File{}, fmt.Errorf("file %s: the public version has %d rows, the file checked %d", f.Name(), rows, res.summary.Rows)
		}
	} else {
		var buf bytes.Buffer
		if err := pub.WriteCSV(&buf); err != nil {
			return catalogue.File{}, fmt.Errorf("file %s: public version: %w", f.Name(), err)
		}
		var err error
		if blob, err = s.blobs.Put(ctx, &buf); err != nil {
			return catalogue.File{}, fmt.Errorf("store public version of %s: %w", f.Name(), err)
		}
	}
	res2 := pub.Resource
	res2.Dialect = datasets.DefaultDialect()
	res2.Encoding = "utf-8"
	resource, err := json.Marshal(res2)
	if err != nil {
		return catalogue.File{}, err
	}
	return catalogue.File{Name: f.Name(), Title: f.Resource.Title, Role: catalogue.RolePublic,
		MediaType: "text/csv", Encoding: "utf-8", SHA256: blob.SHA256, Bytes: blob.Bytes,
		Rows: rows, Resource: resource}, nil
}

// unchanged reports whether the original's bytes can be the public
// version: it is in the public format (publicFormat) and the public
// version has exactly its header and cells (a streamed file's, by
// disclosure control's word, without rows to compare).
func unchanged(f SubmittedFile, res scanned, pub disclosure.PublicFile) bool {
	if !publicFormat(f.Resource) {
		return false
	}
	if pub.Unchanged && pub.Rows == nil {
		return res.rows == nil && (len(res.header) == 0 || slices.Equal(pub.Header, res.header))
	}
	if len(pub.Rows) != len(res.rows) {
		return false
	}
	if len(res.header) > 0 && !slices.Equal(pub.Header, res.header) {
		return false
	}
	for i, row := range res.rows {
		if !slices.Equal(row.Cells, pub.Rows[i]) {
			return false
		}
	}
	return true
}

// earlierReleases returns the releases of a dataset whose public files may
// be (or have been) public, other than except: everything not cancelled,
// rejected or still a draft.
func (s *Service) earlierReleases(ctx context.Context, datasetID, except int64) ([]catalogue.Release, error) {
	all, err := s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(), DatasetID: datasetID})
	if err != nil {
		return nil, err
	}
	var out []catalogue.Release
	for _, r := range all {
		switch r.State {
		case catalogue.StateCancelled, catalogue.StateRejected, catalogue.StateDraft:
			continue
		}
		if r.ID == except {
			continue
		}
		full, err := s.release(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// earlierLinks says how a release's files relate to earlier releases of
// its dataset, for the recoverability audit.
type earlierLinks struct {
	// revision, when set, declares the release unchanged since an earlier
	// version except in the rows it lists.
	revision *RevisionSpec
	// corrects is the version the release corrects (0 for none). It is
	// linked cell by cell, by comparing the two releases' originals: the
	// correction notice and the what-changed page make the difference
	// public, so the publisher's own row list is not relied on.
	corrects int
}

// earlierInput reads an earlier release's public files for the audit, and
// its originals when the new release corrects it.
func (s *Service) earlierInput(ctx context.Context, r catalogue.Release, links earlierLinks) (disclosure.Earlier, error) {
	e := disclosure.Earlier{Version: r.Version}
	corrected := links.corrects != 0 && links.corrects == r.Version
	switch {
	case corrected:
		e.Linked = true
		if links.revision != nil && links.revision.Of == r.Version {
			e.UnchangedExcept = links.revision.Changed // the rows a correction lists as changed
		}
	case links.revision != nil && links.revision.Of == r.Version:
		e.Linked, e.UnchangedExcept = true, links.revision.Changed
	}
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic && !(corrected && f.Role == catalogue.RoleOriginal) {
			continue
		}
		var res datasets.Resource
		if err := json.Unmarshal(f.Resource, &res); err != nil {
			return e, fmt.Errorf("release %d file %s: %w", r.ID, f.Name, err)
		}
		file, err := s.readStored(ctx, f, res)
		if err != nil {
			return e, fmt.Errorf("release %d: %w", r.ID, err)
		}
		if f.Role == catalogue.RoleOriginal {
			e.Originals = append(e.Originals, file)
		} else {
			e.Files = append(e.Files, file)
		}
	}
	return e, nil
}

// directoryParents looks up, in the organisation directory, the parents
// that the files' candour:parent declarations ask for: for each code of a
// field whose parent comes from the directory, its ICB or region.
func (s *Service) directoryParents(ctx context.Context, files []SubmittedFile, results []scanned) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for i, f := range files {
		for col, fl := range f.Resource.Schema.Fields {
			if fl.Parent == nil || fl.Parent.Directory == "" {
				continue
			}
			link := fl.Parent.Directory
			if out[link] == nil {
				out[link] = map[string]string{}
			}
			if err := s.lookUpParents(ctx, results[i].rows, col, link, out[link]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// lookUpParents adds the directory parent of each code in column col.
func (s *Service) lookUpParents(ctx context.Context, rows []datasets.Row, col int, link string, into map[string]string) error {
	tried := map[string]bool{}
	for _, row := range rows {
		code := row.Cells[col]
		if tried[code] {
			continue
		}
		tried[code] = true
		org, err := s.catalogue.GetOrganisation(ctx, code, catalogue.Internal())
		if errors.Is(err, catalogue.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		parent := org.ParentCode
		if link == datasets.DirectoryRegion {
			parent = org.RegionCode
		}
		if parent != "" {
			into[code] = parent
		}
	}
	return nil
}

// publishedTexts returns a release's texts that are published with it,
// for the disclosure audit.
func publishedTexts(title, summary, changeNotes, notice string, q catalogue.Quality) []disclosure.Text {
	var out []disclosure.Text
	for _, t := range []disclosure.Text{
		{Field: "release.title", Text: title}, {Field: "release.summary", Text: summary},
		{Field: "release.changeNotes", Text: changeNotes}, {Field: "release.correctionNotice", Text: notice},
		{Field: "release.quality.coverage", Text: q.Coverage}, {Field: "release.quality.completeness", Text: q.Completeness},
		{Field: "release.quality.knownIssues", Text: q.KnownIssues}, {Field: "release.quality.revisions", Text: q.Revisions},
	} {
		if strings.TrimSpace(t.Text) != "" {
			out = append(out, t)
		}
	}
	return out
}

// readStored parses a stored file of a release.
func (s *Service) readStored(ctx context.Context, f catalogue.File, res datasets.Resource) (disclosure.File, error) {
	blob, _, err := s.blobs.Open(ctx, f.SHA256)
	if err != nil {
		return disclosure.File{}, fmt.Errorf("file %s: %w", f.Name, err)
	}
	defer blob.Close()
	rd, err := datasets.NewReader(blob, f.Name, res)
	if err != nil {
		return disclosure.File{}, err
	}
	out := disclosure.File{Name: f.Name, Resource: res, Header: rd.Header()}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out.Rows = append(out.Rows, row)
	}
}

// Amend replaces the files of a release that is not yet approved (for
// example to make the change a reviewer's approval depends on). The files
// go through validation and disclosure control again; their new hashes
// void every earlier approval, so all reviewers approve afresh.
func (s *Service) Amend(ctx context.Context, actor Actor, releaseID int64, files []SubmittedFile, note string, progress Progress) (catalogue.Release, error) {
	if progress == nil {
		progress = noProgress
	}
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if err := permit(actor, ActionAmend, r); err != nil {
		return r, err
	}
	if err := s.ownsDataset(ctx, actor, r); err != nil {
		return r, err
	}
	if strings.TrimSpace(note) == "" {
		return r, invalid("note", "say what changed, for the reviewers")
	}
	var fields []FieldProblem
	if len(files) == 0 {
		fields = append(fields, FieldProblem{Field: "resources", Message: "an amendment needs the release's files"})
	}
	for i, f := range files {
		if !catalogue.ValidFileName(f.Name()) {
			fields = append(fields, FieldProblem{Field: fmt.Sprintf("resources[%d].path", i), Message: fmt.Sprintf("%q is not a safe file name", f.Name())})
		}
		if err := f.Resource.Validate(); err != nil {
			fields = append(fields, FieldProblem{Field: fmt.Sprintf("resources[%d]", i), Message: err.Error()})
		}
	}
	if len(fields) > 0 {
		return r, &Rejection{Fields: fields}
	}
	// An audit release's amended outcomes file passes the same checks.
	shipped, hasAudit, err := s.auditOf(ctx, r)
	if err != nil {
		return r, err
	}
	if hasAudit {
		if rej, err := checkAudit(&shipped.Definition, files); err != nil {
			return r, err
		} else if rej != nil {
			return r, rej
		}
	}
	earlier, err := s.earlierReleases(ctx, r.DatasetID, r.ID)
	if err != nil {
		return r, err
	}
	var older []catalogue.Release
	for _, e := range earlier {
		if e.Version < r.Version {
			older = append(older, e)
		}
	}
	// A correction stays linked to the release it corrects, and a declared
	// revision to the version it names.
	revision, err := s.workflow.Revision(ctx, r.ID)
	if err != nil {
		return r, err
	}
	var defs []indicators.Definition
	if s.observations != nil {
		released, err := s.observations.Definitions(ctx, datasets.NewVisible(r.ID))
		if err != nil {
			return r, err
		}
		for _, d := range released {
			defs = append(defs, d.Definition)
		}
	}
	texts := publishedTexts(r.Title, r.Summary, r.ChangeNotes, r.CorrectionNotice, r.Quality)
	// Rows are kept only when indicators or an audit derive from them, as
	// for a submission: an amended file of a release that derives nothing
	// is checked as it is read.
	derived := len(defs) > 0 || hasAudit
	prep, err := s.prepare(ctx, files, older, earlierLinks{revision: revision, corrects: r.Corrects.Version}, texts, declaredAreas(defs), derived, progress)
	if err != nil {
		return r, err
	}
	before := publicHashes(r)
	amended := r
	amended.Files = prep.files
	details := map[string]any{"note": note, "before": before, "disclosure": prep.result.Report.Summary}
	// The commit that replaces the files also marks the release
	// unfinished: until its rows, observations and outcomes are rewritten
	// they are the old files', and start-up recovery rewrites them if the
	// process dies first.
	faultpoint.Hit("amend.before-commit")
	if err := s.step(ctx, actor, ActionAmend, r, Change{
		Files:      &FileReplacement{Release: r.ID, Files: prep.files, DisclosureSummary: prep.summary},
		Report:     &Report{Release: r.ID, JSON: prep.report},
		Unfinished: &Unfinished{Release: r.ID, At: s.now()},
		Audit:      s.audit(actor, "release.amended", amended, details)}); err != nil {
		return r, err
	}
	faultpoint.Hit("amend.after-commit")
	amended, err = s.release(ctx, r.ID)
	if err != nil {
		return amended, err
	}
	var def *audit.Definition
	if hasAudit {
		def = &shipped.Definition
	}
	if err := s.rederive(ctx, amended, defs, def, prep.result.Public, progress); err != nil {
		return amended, fmt.Errorf("amended release %d: %w (amend it again to retry)", r.ID, err)
	}
	if err := s.workflow.Apply(ctx, Change{Unfinished: &Unfinished{Release: r.ID, Done: true}}); err != nil {
		return amended, fmt.Errorf("amended release %d: %w", r.ID, err)
	}
	faultpoint.Hit("amend.finished")
	return amended, nil
}

// rederive rewrites a release's derived data from its files: its rows
// (read back from the blob store), indicator observations and audit
// outcomes (from public, the public version of its files) and its search
// document.
func (s *Service) rederive(ctx context.Context, r catalogue.Release, defs []indicators.Definition, def *audit.Definition, public []disclosure.PublicFile, progress Progress) error {
	if err := s.storeRows(ctx, r, progress); err != nil {
		return fmt.Errorf("storing its rows: %w", err)
	}
	faultpoint.Hit("amend.rows-stored")
	if err := s.materialise(ctx, r, defs, public); err != nil {
		return fmt.Errorf("its indicators: %w", err)
	}
	if err := s.materialiseAudit(ctx, r, def, public); err != nil {
		return fmt.Errorf("its audit outcomes: %w", err)
	}
	if err := s.indexRelease(ctx, r); err != nil {
		return fmt.Errorf("its search document: %w", err)
	}
	faultpoint.Hit("amend.derived-stored")
	return nil
}

// ByteSize says a size in bytes in the binary unit that reads best, as
// limits such as --max-upload are given ("200 MiB").
func ByteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
