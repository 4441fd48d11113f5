package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/faultpoint"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher/disclosure"
)

// RecoveryActor is the actor of start-up recovery's audit entries.
var RecoveryActor = Actor{Username: "system:recovery", Name: "Candour start-up recovery"}

// Recovery is what Recover found and did.
type Recovery struct {
	// Finished are the releases whose amendment (or cancellation) was
	// committed but whose rows, observations and outcomes were not yet
	// rewritten (or removed): done now.
	Finished []int64
	// Removed are the drafts of submissions that stopped before they were
	// checked: removed with their rows and records.
	Removed []RemovedDraft
	// Blobs are stored files no release records (the files of removed
	// drafts, of amended releases' earlier versions, of submissions that
	// stopped before their record was stored): removed. Temporary counts
	// the temporary files of blob writes that never finished.
	Blobs     []datasets.Blob
	Temporary int
}

// RemovedDraft is a draft Recover removed.
type RemovedDraft struct {
	Release int64
	Dataset string // slug
	Version int
	// DatasetRemoved is set when the submission had created the dataset,
	// which went with it.
	DatasetRemoved bool
}

// Empty reports whether recovery found nothing to do.
func (r Recovery) Empty() bool {
	return len(r.Finished) == 0 && len(r.Removed) == 0 && len(r.Blobs) == 0 && r.Temporary == 0
}

// Recover finishes or removes whatever a crash left half-stored (see
// "Crash safety" in the package documentation): it rewrites the derived
// data of releases marked unfinished (or removes it, for a release
// cancelled), removes drafts and their rows, and removes stored files no
// release records. Each removed draft is logged and gets an audit entry.
//
// Recover must run alone: before this process takes submissions, and
// while no other process uses the same stores (a running submission's
// draft and blobs are exactly what Recover removes). cmd calls it when it
// opens the data folder and holds it alone.
func (s *Service) Recover(ctx context.Context) (Recovery, error) {
	var out Recovery
	unfinished, err := s.workflow.UnfinishedReleases(ctx)
	if err != nil {
		return out, err
	}
	for _, id := range unfinished {
		if err := s.finish(ctx, id); err != nil {
			return out, fmt.Errorf("recovery: release %d: %w", id, err)
		}
		out.Finished = append(out.Finished, id)
	}

	drafts, err := s.Releases(ctx, catalogue.StateDraft)
	if err != nil {
		return out, err
	}
	for _, r := range drafts {
		d, err := s.removeDraft(ctx, r, "the submission stopped before it was checked (the process ended while storing it)",
			"recovery.draft-content-removed")
		if err != nil {
			return out, fmt.Errorf("recovery: %w", err)
		}
		faultpoint.Hit("recovery.draft-removed")
		out.Removed = append(out.Removed, d)
		s.log.Warn("recovery removed a submission that never finished", "release", r.ID, "dataset", r.Dataset.Slug,
			"version", r.Version, "submitted_by", r.SubmittedBy, "created_at", r.CreatedAt, "dataset_removed", d.DatasetRemoved)
	}

	keep, err := s.recordedBlobs(ctx)
	if err != nil {
		return out, err
	}
	faultpoint.Hit("recovery.before-sweep")
	swept, err := s.blobs.Sweep(ctx, func(sum string) bool { return keep[sum] })
	if err != nil {
		return out, fmt.Errorf("recovery: %w", err)
	}
	out.Blobs, out.Temporary = swept.Blobs, swept.Temporary
	if len(out.Blobs) > 0 || out.Temporary > 0 {
		var bytes int64
		for _, b := range out.Blobs {
			bytes += b.Bytes
		}
		s.log.Info("recovery removed files no release records", "blobs", len(out.Blobs), "bytes", bytes, "temporary", out.Temporary)
	}
	return out, nil
}

// finish rewrites the derived data of a release marked unfinished, from
// the public version of its files as stored (or removes it, when the
// release was cancelled), and clears the mark.
func (s *Service) finish(ctx context.Context, id int64) error {
	r, err := s.release(ctx, id)
	if err != nil {
		return err
	}
	if r.State == catalogue.StateCancelled {
		if err := s.discardContent(ctx, r.ID); err != nil {
			return err
		}
	} else {
		public, err := s.storedPublic(ctx, r)
		if err != nil {
			return err
		}
		defs, err := s.releasedDefinitions(ctx, r)
		if err != nil {
			return err
		}
		shipped, hasAudit, err := s.auditOf(ctx, r)
		if err != nil {
			return err
		}
		var def *audit.Definition
		if hasAudit {
			def = &shipped.Definition
		}
		if err := s.rederive(ctx, r, defs, def, public, nil); err != nil {
			return err
		}
	}
	if err := s.workflow.Apply(ctx, Change{Unfinished: &Unfinished{Release: r.ID, Done: true}}); err != nil {
		return err
	}
	s.log.Warn("recovery finished storing what a release's files or state need", "release", r.ID, "dataset", r.Dataset.Slug,
		"version", r.Version, "state", r.State)
	return nil
}

// storedPublic reads the public version of each of a release's files back
// from the blob store.
func (s *Service) storedPublic(ctx context.Context, r catalogue.Release) ([]disclosure.PublicFile, error) {
	var out []disclosure.PublicFile
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		var res datasets.Resource
		if err := json.Unmarshal(f.Resource, &res); err != nil {
			return nil, fmt.Errorf("file %s: resource: %w", f.Name, err)
		}
		stored, err := s.readStored(ctx, f, res)
		if err != nil {
			return nil, err
		}
		p := disclosure.PublicFile{Name: f.Name, Resource: res, Header: stored.Header}
		for _, row := range stored.Rows {
			p.Rows = append(p.Rows, row.Cells)
		}
		out = append(out, p)
	}
	return out, nil
}

// releasedDefinitions returns the indicator definitions a release ships.
func (s *Service) releasedDefinitions(ctx context.Context, r catalogue.Release) ([]indicators.Definition, error) {
	if s.observations == nil {
		return nil, nil
	}
	released, err := s.observations.Definitions(ctx, datasets.NewVisible(r.ID))
	if err != nil {
		return nil, err
	}
	var out []indicators.Definition
	for _, d := range released {
		out = append(out, d.Definition)
	}
	return out, nil
}

// removeDraft removes a draft: its rows, observations and audit outcomes,
// then (in one commit with an audit entry saying why) its record, and its
// dataset when the submission created it. Its version number is free
// again: a draft is always its dataset's newest version (lockDrafts). A
// fault point, when given, is hit between the two.
func (s *Service) removeDraft(ctx context.Context, r catalogue.Release, reason, point string) (RemovedDraft, error) {
	out := RemovedDraft{Release: r.ID, Dataset: r.Dataset.Slug, Version: r.Version}
	if err := s.discardContent(ctx, r.ID); err != nil {
		return out, err
	}
	// Its search document goes too when the index is open (at start-up it
	// is not: a document left behind is never shown, as the draft is never
	// visible, and is overwritten before any release that takes the id
	// is published — publish writes the release's document first).
	if s.search != nil {
		if err := s.search.Delete(ctx, []string{releaseDocumentID(r.ID)}); err != nil {
			return out, err
		}
	}
	faultpoint.Hit(point)
	full, err := s.release(ctx, r.ID)
	if err != nil {
		return out, err
	}
	var files []map[string]any
	for _, f := range full.Files {
		files = append(files, map[string]any{"name": f.Name, "role": f.Role, "rows": f.Rows, "bytes": f.Bytes})
	}
	// The entry is about no release (0): the id is free again, and may be
	// a later release's; the details say which draft it was. Not being a
	// release's, its payload stays out of the public export.
	entry := s.audit(RecoveryActor, "release.draft-removed", catalogue.Release{}, map[string]any{
		"release": r.ID, "dataset": r.Dataset.Slug, "version": r.Version, "submittedBy": r.SubmittedBy,
		"createdAt": r.CreatedAt, "files": files, "reason": reason})
	removal := &DraftRemoval{Release: r.ID}
	if err := s.workflow.Apply(ctx, Change{RemoveDraft: removal, Audit: entry}); err != nil {
		return out, fmt.Errorf("removing draft release %d (%s version %d): %w", r.ID, r.Dataset.Slug, r.Version, err)
	}
	out.DatasetRemoved = removal.DatasetRemoved
	return out, nil
}

// recordedBlobs is the SHA-256 of every file of every release, in any
// state: the blobs Recover keeps.
func (s *Service) recordedBlobs(ctx context.Context) (map[string]bool, error) {
	all, err := s.Releases(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, r := range all {
		full, err := s.release(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		for _, f := range full.Files {
			keep[f.SHA256] = true
		}
	}
	return keep, nil
}

// unfinished reports whether a release is marked unfinished.
func (s *Service) unfinished(ctx context.Context, id int64) (bool, error) {
	ids, err := s.workflow.UnfinishedReleases(ctx)
	return slices.Contains(ids, id), err
}
