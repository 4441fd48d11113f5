package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// Detail is everything the workspace shows about a release to someone
// entitled to see it before publication.
type Detail struct {
	Release         catalogue.Release
	Dataset         catalogue.Dataset
	Report          json.RawMessage
	Reviews         []Review
	Approvals       []Review
	ApprovalsNeeded int
	Queries         []Query
	Preview         Preview
	HasPreview      bool
	AccessList      []Access
	Events          []catalogue.Event
	Calendar        *catalogue.CalendarEntry
	// Can lists the actions the viewer may take now.
	Can map[Action]bool
	// AnswersVisible says whether the viewer may read the reviewers'
	// answers to the seven considerations (see Detail).
	AnswersVisible bool
}

// names reports whether release r names the organisation code.
func (s *Service) names(ctx context.Context, r catalogue.Release, code string) (bool, error) {
	if code == "" {
		return false, nil
	}
	rs, err := s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(), DatasetID: r.DatasetID, Mentions: code})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(rs, func(x catalogue.Release) bool { return x.ID == r.ID }), nil
}

// mayKnowOf is hiddenFrom for an actor with no part in release r: not a
// reviewer or administrator, nor a publisher of its dataset. It records
// nothing.
func (s *Service) mayKnowOf(ctx context.Context, actor Actor, r catalogue.Release) error {
	if actor.Has(RoleAdministrator) || actor.Has(RoleReviewer) || actor.Has(RolePublisher) && s.ownsDataset(ctx, actor, r) == nil {
		return nil
	}
	return hiddenFrom(r)
}

// canSee checks an actor may see a release's unpublished content, and
// records them on its pre-release access list. Publishers see their own
// organisation's releases; reviewers and administrators see every release
// in the workflow; provider checkers see only their rows, through
// [Service.PreviewRows].
func (s *Service) canSee(ctx context.Context, actor Actor, r catalogue.Release) error {
	var role Role
	switch {
	case actor.Has(RoleAdministrator):
		role = RoleAdministrator
	case actor.Has(RoleReviewer):
		role = RoleReviewer
	case actor.Has(RolePublisher):
		if err := s.ownsDataset(ctx, actor, r); err != nil {
			return err
		}
		role = RolePublisher
	default:
		if err := hiddenFrom(r); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s may not see releases before publication", ErrForbidden, actor)
	}
	return s.recordAccess(ctx, actor, role, r)
}

func (s *Service) recordAccess(ctx context.Context, actor Actor, role Role, r catalogue.Release) error {
	if r.State.ContentPublic() || r.State == catalogue.StateWithdrawn {
		return nil // published: not pre-release access
	}
	now := s.now()
	return s.workflow.RecordAccess(ctx, Access{Release: r.ID, Username: actor.String(), Name: actor.Name, Role: role, First: now, Last: now})
}

// Detail returns a release as the workspace shows it to actor.
func (s *Service) Detail(ctx context.Context, actor Actor, releaseID int64) (Detail, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return Detail{}, err
	}
	if err := s.canSee(ctx, actor, r); err != nil {
		return Detail{}, err
	}
	d := Detail{Release: r, ApprovalsNeeded: s.approvals, Can: map[Action]bool{}}
	if d.Dataset, err = s.catalogue.GetDataset(ctx, r.Dataset.Slug, catalogue.Internal()); err != nil {
		return d, err
	}
	if d.Report, err = s.workflow.Report(ctx, r.ID); err != nil {
		return d, err
	}
	if d.Reviews, err = s.workflow.Reviews(ctx, r.ID); err != nil {
		return d, err
	}
	if d.Approvals, err = s.Approvals(ctx, r); err != nil {
		return d, err
	}
	if d.Queries, err = s.workflow.Queries(ctx, r.ID); err != nil {
		return d, err
	}
	if d.Preview, d.HasPreview, err = s.workflow.Preview(ctx, r.ID); err != nil {
		return d, err
	}
	if d.AccessList, err = s.workflow.AccessList(ctx, r.ID); err != nil {
		return d, err
	}
	if d.Events, err = s.catalogue.ReleaseEvents(ctx, r.ID); err != nil {
		return d, err
	}
	if entries, err := s.catalogue.ListCalendar(ctx, catalogue.CalendarQuery{Visibility: catalogue.Internal(), Release: r.ID}); err != nil {
		return d, err
	} else if len(entries) > 0 {
		d.Calendar = &entries[0]
	}
	owns := s.ownsDataset(ctx, actor, r) == nil
	reviewer := actor.Has(RoleReviewer) && s.checkReviewer(ctx, actor, r) == nil
	for _, a := range Actions {
		if permit(actor, a, r) != nil {
			continue
		}
		switch a {
		case ActionReview, ActionResolveQuery:
			d.Can[a] = reviewer
		case ActionAmend, ActionOpenPreview, ActionSendToReview, ActionSchedule, ActionReschedule, ActionUnschedule, ActionCancel, ActionCorrect:
			d.Can[a] = owns
		default:
			d.Can[a] = true
		}
	}
	// Panel members answer independently: a reviewer reads the others'
	// answers to the seven considerations once they have recorded their
	// own; the publisher and administrators read them all along.
	d.AnswersVisible = !actor.Has(RoleReviewer) || slices.ContainsFunc(d.Reviews, func(v Review) bool { return v.Reviewer == actor.String() })
	return d, nil
}

// AwaitingReview lists the releases in review that actor may review and
// has not yet reviewed as their files now stand, oldest first: a
// reviewer's workspace starts with them.
func (s *Service) AwaitingReview(ctx context.Context, actor Actor) ([]catalogue.Release, error) {
	if !actor.Has(RoleReviewer) {
		return nil, nil
	}
	all, err := s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(), States: []catalogue.ReleaseState{catalogue.StateInReview}})
	if err != nil {
		return nil, err
	}
	var out []catalogue.Release
	for _, listed := range all {
		r, err := s.release(ctx, listed.ID)
		if err != nil {
			return nil, err
		}
		if s.checkReviewer(ctx, actor, r) != nil {
			continue
		}
		reviews, err := s.workflow.Reviews(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		current := publicHashes(r)
		if slices.ContainsFunc(reviews, func(v Review) bool { return v.Reviewer == actor.String() && sameHashes(v.Files, current) }) {
			continue
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b catalogue.Release) int { return a.StateChangedAt.Compare(b.StateChangedAt) })
	return out, nil
}

// Workspace lists the releases an actor works on: a publisher's own
// organisation's, every release in the workflow for reviewers and
// administrators, and releases in preview naming a provider checker's
// organisation.
func (s *Service) Workspace(ctx context.Context, actor Actor) ([]catalogue.Release, error) {
	all, err := s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(), Newest: false})
	if err != nil {
		return nil, err
	}
	var out []catalogue.Release
	for _, r := range all {
		switch {
		case actor.Has(RoleAdministrator), actor.Has(RoleReviewer):
			out = append(out, r)
		case actor.Has(RolePublisher) && s.ownsDataset(ctx, actor, r) == nil:
			out = append(out, r)
		case actor.Has(RoleProviderChecker) && r.State == catalogue.StateInPreview:
			if ok, err := s.names(ctx, r, actor.Organisation); err != nil {
				return nil, err
			} else if ok {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// PreviewTable is one public file's rows for one organisation.
type PreviewTable struct {
	File   string
	Header []string
	Rows   [][]string
}

// PreviewRows returns a provider checker's own organisation's rows of each
// public file of a release in preview (the public version: what will be
// published), and records them on the pre-release access list.
func (s *Service) PreviewRows(ctx context.Context, actor Actor, releaseID int64) (catalogue.Release, []PreviewTable, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, nil, err
	}
	if !actor.Has(RoleProviderChecker) {
		if err := s.mayKnowOf(ctx, actor, r); err != nil {
			return r, nil, err
		}
		return r, nil, fmt.Errorf("%w: the provider preview is for provider checkers", ErrForbidden)
	}
	if err := s.checkPreviewer(ctx, actor, r); err != nil {
		return r, nil, err
	}
	if err := s.recordAccess(ctx, actor, RoleProviderChecker, r); err != nil {
		return r, nil, err
	}
	var out []PreviewTable
	visible := datasets.NewVisible(r.ID)
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		var res datasets.Resource
		if err := json.Unmarshal(f.Resource, &res); err != nil {
			return r, nil, err
		}
		var codeCols []int
		for i, fld := range res.Schema.Fields {
			if fld.Organisation != nil {
				codeCols = append(codeCols, i)
			}
		}
		t := PreviewTable{File: f.Name, Header: res.Schema.FieldNames()}
		for row, err := range s.rows.Rows(ctx, visible, datasets.RowQuery{File: datasets.FileRef{Release: r.ID, File: f.Name}}) {
			if err != nil {
				return r, nil, err
			}
			for _, c := range codeCols {
				if c < len(row.Cells) && row.Cells[c] == actor.Organisation {
					t.Rows = append(t.Rows, row.Cells)
					break
				}
			}
		}
		out = append(out, t)
	}
	return r, out, nil
}

// OpenFile opens a file of a release in the workflow (public version or
// original) for someone entitled to see it before publication, recording
// them on the pre-release access list. The caller closes the file.
func (s *Service) OpenFile(ctx context.Context, actor Actor, releaseID int64, name string, role catalogue.FileRole) (*os.File, catalogue.File, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return nil, catalogue.File{}, err
	}
	if role == catalogue.RoleOriginal {
		if err := permit(actor, ActionViewOriginal, r); err != nil {
			return nil, catalogue.File{}, err
		}
	}
	if err := s.canSee(ctx, actor, r); err != nil {
		return nil, catalogue.File{}, err
	}
	for _, f := range r.Files {
		if f.Name == name && f.Role == role {
			file, _, err := s.blobs.Open(ctx, f.SHA256)
			return file, f, err
		}
	}
	return nil, catalogue.File{}, fmt.Errorf("%w: release %d has no %s file %q", catalogue.ErrNotFound, r.ID, role, name)
}
