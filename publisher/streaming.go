package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/publisher/disclosure"
)

// Submissions of real size. A file is read without keeping its rows when
// disclosure control needs none of them (see assess and
// disclosure.Streamable); this file decides that, and writes the public
// version of a file whose rows were not kept by reading it again.

// derives reports whether the submission derives indicators or a clinical
// audit from its public files (which then need their rows).
func (sub Submission) derives() bool { return len(sub.Indicators) > 0 || sub.Audit != nil }

// streamable reports whether a release's files can be read without
// keeping their rows: nothing derives from them, the release corrects
// nothing, every file's schema is one disclosure control can check as it
// reads (disclosure.Streamable), and so is every public file of the
// dataset's earlier releases, none of which has a suppressed cell by its
// disclosure report. Anything unknown says no, and the rows are kept.
func (s *Service) streamable(ctx context.Context, files []SubmittedFile, earlier []catalogue.Release, links earlierLinks, derived bool) (bool, error) {
	if derived || links.corrects != 0 {
		return false, nil
	}
	for _, f := range files {
		if !disclosure.Streamable(f.Resource.Schema) {
			return false, nil
		}
	}
	for _, r := range earlier {
		ok, err := s.nothingSuppressed(ctx, r)
		if !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// nothingSuppressed reports whether release r's public files are all of
// schemas disclosure control reads as it goes and its disclosure report
// counts no suppressed cell in any of them.
func (s *Service) nothingSuppressed(ctx context.Context, r catalogue.Release) (bool, error) {
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		var res datasets.Resource
		if err := json.Unmarshal(f.Resource, &res); err != nil {
			return false, fmt.Errorf("release %d file %s: %w", r.ID, f.Name, err)
		}
		if !disclosure.Streamable(res.Schema) {
			return false, nil
		}
	}
	raw, err := s.workflow.Report(ctx, r.ID)
	if err != nil || len(raw) == 0 {
		return false, nil // no report to go by: read the files
	}
	var rep disclosure.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return false, nil
	}
	if len(rep.Summary.Files) == 0 || len(rep.Audit.Cells) > 0 {
		return false, nil
	}
	for _, fs := range rep.Summary.Files {
		if fs.Cells.Suppressed > 0 || fs.Cells.SuppressedAtSource > 0 {
			return false, nil
		}
	}
	return true, nil
}

// publicFormat reports whether a file in resource res is already in the
// public files' format (UTF-8, comma-separated, double quotes, a header),
// so that when no cell changes its own bytes are the public version.
func publicFormat(res datasets.Resource) bool {
	d := res.Dialect
	return encodingOrDefault(res.Encoding) == datasets.EncodingUTF8 && d.Header && !d.SkipInitialSpace &&
		(d.Delimiter == "" || d.Delimiter == ",") && (d.QuoteChar == "" || d.QuoteChar == `"`)
}

// rewritePublic stores the public version of a streamed file that is not
// in the public format: its rows read again and written as UTF-8 CSV, as
// they stream (never held).
func (s *Service) rewritePublic(ctx context.Context, f SubmittedFile, pub disclosure.PublicFile) (datasets.Blob, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return datasets.Blob{}, 0, fmt.Errorf("open %s: %w", f.Name(), err)
	}
	defer rc.Close()
	rd, err := datasets.NewReader(rc, f.Name(), f.Resource)
	if err != nil {
		return datasets.Blob{}, 0, fmt.Errorf("file %s: %w", f.Name(), err)
	}
	pr, pw := io.Pipe()
	var rows int64
	var readErr error
	go func() {
		var err error
		rows, err = pub.WriteRows(pw, func(yield func([]string) bool) {
			for {
				row, err := rd.Read()
				if err != nil {
					if err != io.EOF {
						readErr = fmt.Errorf("file %s changed since it was checked: %w", f.Name(), err)
					}
					return
				}
				if !yield(row.Cells) {
					return
				}
			}
		})
		pw.CloseWithError(errors.Join(err, readErr))
	}()
	blob, err := s.blobs.Put(ctx, pr)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if Put gave up
	if err != nil {
		return blob, 0, fmt.Errorf("store public version of %s: %w", f.Name(), err)
	}
	return blob, rows, nil
}
