package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/candour/candour/catalogue"
)

// transitions is the release state machine (architecture.md §1). The
// shortcut from checked straight to published is the foundation's stand-in
// for review, approval and scheduling; the workflow issue removes it.
var transitions = map[catalogue.ReleaseState][]catalogue.ReleaseState{
	catalogue.StateDraft:      {catalogue.StateChecked, catalogue.StateCancelled},
	catalogue.StateChecked:    {catalogue.StateInPreview, catalogue.StateInReview, catalogue.StatePublished, catalogue.StateCancelled},
	catalogue.StateInPreview:  {catalogue.StateInReview, catalogue.StateCancelled},
	catalogue.StateInReview:   {catalogue.StateApproved, catalogue.StateRejected, catalogue.StateCancelled},
	catalogue.StateApproved:   {catalogue.StateScheduled, catalogue.StateCancelled},
	catalogue.StateScheduled:  {catalogue.StatePublished, catalogue.StateApproved, catalogue.StateCancelled},
	catalogue.StatePublished:  {catalogue.StateSuperseded, catalogue.StateWithdrawn},
	catalogue.StateSuperseded: {catalogue.StateWithdrawn},
	// Rejected releases are resubmitted as a new version; withdrawn and
	// cancelled are final.
	catalogue.StateRejected:  nil,
	catalogue.StateWithdrawn: nil,
	catalogue.StateCancelled: nil,
}

// CanTransition reports whether the workflow allows a release to move from
// one state to another.
func CanTransition(from, to catalogue.ReleaseState) bool {
	return slices.Contains(transitions[from], to)
}

// ErrNotAllowed is returned for a transition the workflow forbids.
var ErrNotAllowed = errors.New("not allowed by the publishing workflow")

// move applies a transition after checking the workflow allows it.
func (s *Service) move(ctx context.Context, r catalogue.Release, to catalogue.ReleaseState, actor, note string) (catalogue.Release, error) {
	if !CanTransition(r.State, to) {
		return r, fmt.Errorf("release %d (%s version %d) is %s: moving it to %s is %w",
			r.ID, r.Dataset.Slug, r.Version, r.State, to, ErrNotAllowed)
	}
	return s.catalogue.TransitionRelease(ctx, catalogue.Transition{
		Release: r.ID, From: r.State, To: to, At: s.now(), Actor: actor, Note: note,
	})
}

// OperatorActor names the operator acting through the command line.
const OperatorActor = "operator (command line)"

// PublishChecked publishes a release that passed validation, at the current
// instant, in one catalogue transaction. It first checks that every file's
// bytes are in the blob store with the recorded hash. It is the
// foundation's only path to publication (see the package doc).
func (s *Service) PublishChecked(ctx context.Context, releaseID int64, actor string) (catalogue.Release, error) {
	r, err := s.catalogue.ReleaseByID(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if r.State != catalogue.StateChecked {
		return r, fmt.Errorf("release %d (%s version %d) is %s; only a checked release can be published: %w",
			r.ID, r.Dataset.Slug, r.Version, r.State, ErrNotAllowed)
	}
	for _, f := range r.Files {
		if err := s.verifyBlob(ctx, f); err != nil {
			return r, fmt.Errorf("release %d: %w", r.ID, err)
		}
	}
	published, err := s.move(ctx, r, catalogue.StatePublished, actor, "")
	if err != nil {
		return r, err
	}
	s.log.Info("release published", "release", published.ID, "dataset", published.Dataset.Slug,
		"version", published.Version, "at", published.PublishedAt, "actor", actor)
	return published, nil
}

// verifyBlob checks a file's bytes are stored and still hash to the
// recorded SHA-256, so what is published is exactly what was checked.
func (s *Service) verifyBlob(ctx context.Context, f catalogue.File) error {
	file, _, err := s.blobs.Open(ctx, f.SHA256)
	if err != nil {
		return fmt.Errorf("file %s: %w", f.Name, err)
	}
	defer file.Close()
	h := sha256.New()
	n, err := io.Copy(h, file)
	if err != nil {
		return fmt.Errorf("file %s: %w", f.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 || n != f.Bytes {
		return fmt.Errorf("file %s: stored bytes hash to %s (%d bytes), the release records %s (%d bytes)", f.Name, got, n, f.SHA256, f.Bytes)
	}
	return nil
}

// Cancel cancels a release that was never published, removing its rows.
func (s *Service) Cancel(ctx context.Context, releaseID int64, actor, reason string) (catalogue.Release, error) {
	r, err := s.catalogue.ReleaseByID(ctx, releaseID)
	if err != nil {
		return r, err
	}
	r, err = s.move(ctx, r, catalogue.StateCancelled, actor, reason)
	if err != nil {
		return r, err
	}
	if err := s.rows.DeleteRelease(ctx, r.ID); err != nil {
		return r, err
	}
	return r, nil
}

// Releases lists releases in every state, for the operator.
func (s *Service) Releases(ctx context.Context, state catalogue.ReleaseState) ([]catalogue.Release, error) {
	return s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(), State: state})
}

// FindRelease returns a dataset's release by version, in any state.
func (s *Service) FindRelease(ctx context.Context, datasetSlug string, version int) (catalogue.Release, error) {
	return s.catalogue.GetRelease(ctx, datasetSlug, version, catalogue.Internal())
}
