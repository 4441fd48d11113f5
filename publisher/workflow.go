package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets/faultpoint"
	"github.com/candour/candour/publisher/auditlog"
)

// transitions is the release state machine (architecture.md §1). There is
// no path to published except through approval and scheduling.
var transitions = map[catalogue.ReleaseState][]catalogue.ReleaseState{
	catalogue.StateDraft:      {catalogue.StateChecked, catalogue.StateCancelled},
	catalogue.StateChecked:    {catalogue.StateInPreview, catalogue.StateInReview, catalogue.StateCancelled},
	catalogue.StateInPreview:  {catalogue.StateInReview, catalogue.StateCancelled},
	catalogue.StateInReview:   {catalogue.StateApproved, catalogue.StateRejected, catalogue.StateCancelled},
	catalogue.StateApproved:   {catalogue.StateScheduled, catalogue.StateCancelled},
	catalogue.StateScheduled:  {catalogue.StatePublished, catalogue.StateApproved, catalogue.StateCancelled},
	catalogue.StatePublished:  {catalogue.StateSuperseded, catalogue.StateWithdrawn},
	catalogue.StateSuperseded: {catalogue.StateWithdrawn},
	// A rejected release is resubmitted as a new version; withdrawn and
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

// Errors of the workflow. Test with errors.Is.
var (
	// ErrNotAllowed: the release's state does not allow the step.
	ErrNotAllowed = errors.New("not allowed by the publishing workflow")
	// ErrForbidden: the actor's role or organisation does not allow it.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: the request itself is wrong (a past schedule, a missing
	// reason); the message names the field.
	ErrInvalid = errors.New("invalid")
)

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// transition builds a checked transition of r to state to.
func (s *Service) transition(r catalogue.Release, to catalogue.ReleaseState, actor Actor, note string) (catalogue.Transition, error) {
	if !CanTransition(r.State, to) {
		return catalogue.Transition{}, fmt.Errorf("%w: release %d (%s version %d) is %s: moving it to %s is not a step of the workflow",
			ErrNotAllowed, r.ID, r.Dataset.Slug, r.Version, r.State, to)
	}
	return catalogue.Transition{Release: r.ID, From: r.State, To: to, At: s.now(), Actor: actor.String(), Note: note}, nil
}

// audit returns the audit entry for an action on release r: the actor, the
// SHA-256 of every public file (never an original's: a hash of a private
// file would let anyone confirm a guess of its suppressed cells), and
// details.
func (s *Service) audit(actor Actor, action string, r catalogue.Release, details any) auditlog.Entry {
	e := auditlog.Entry{At: s.now(), Actor: actor.String(), Action: action, Release: r.ID, Files: publicHashes(r)}
	if details != nil {
		raw, err := json.Marshal(details)
		if err == nil {
			e.Details = raw
		}
	}
	return e
}

// publicHashes lists the SHA-256 of every public file of r, by name.
func publicHashes(r catalogue.Release) []auditlog.FileHash {
	var out []auditlog.FileHash
	for _, f := range r.Files {
		if f.Role == catalogue.RolePublic {
			out = append(out, auditlog.FileHash{Name: f.Name, SHA256: f.SHA256})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// sameHashes reports whether two lists of file hashes hold the same
// files, in whatever order each was listed (a form lists them in the
// order submitted).
func sameHashes(a, b []auditlog.FileHash) bool {
	byName := func(x, y auditlog.FileHash) int { return strings.Compare(x.Name, y.Name) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, byName)
	slices.SortFunc(b, byName)
	return slices.Equal(a, b)
}

// release loads a release with its files, for the workflow.
func (s *Service) release(ctx context.Context, id int64) (catalogue.Release, error) {
	return s.catalogue.ReleaseByID(ctx, id)
}

// ownsDataset checks a publisher acts for the release's publisher.
func (s *Service) ownsDataset(ctx context.Context, actor Actor, r catalogue.Release) error {
	if actor.Has(RoleAdministrator) || actor.Has(RoleSystem) {
		return nil
	}
	d, err := s.catalogue.GetDataset(ctx, r.Dataset.Slug, catalogue.Internal())
	if err != nil {
		return err
	}
	if actor.Organisation != d.Publisher.Slug {
		if err := hiddenFrom(r); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s publishes for %q, and %s is published by %s", ErrForbidden, actor, actor.Organisation, d.Title, d.Publisher.Name)
	}
	return nil
}

// hiddenFrom is the error for someone who may not see release r: while r
// has no public page, the same not-found error as for a release that does
// not exist, naming nothing (a 403, or a title in the message, would tell
// a signed-in stranger what is being prepared); nil once r is listed
// publicly, when the caller's own refusal may say what it is.
func hiddenFrom(r catalogue.Release) error {
	if r.State.Listed() {
		return nil
	}
	return fmt.Errorf("%w: no release %d", catalogue.ErrNotFound, r.ID)
}

// step runs one workflow action on a release: permission, the publisher's
// own organisation where the action is the publisher's, then c.
func (s *Service) step(ctx context.Context, actor Actor, action Action, r catalogue.Release, c Change) error {
	if err := permit(actor, action, r); err != nil {
		return err
	}
	if err := s.workflow.Apply(ctx, c); err != nil {
		return fmt.Errorf("%s %s version %d: %w", action, r.Dataset.Slug, r.Version, err)
	}
	committed, notified := stepPoints(action, r)
	faultpoint.Hit(committed)
	if publicChange(c) {
		s.notifyPublicChange()
	}
	faultpoint.Hit(notified)
	s.log.Info("workflow", "action", action, "release", r.ID, "dataset", r.Dataset.Slug, "version", r.Version, "actor", actor.String())
	return nil
}

// stepPoints names the fault points (package faultpoint) of a step after
// its commit and after listeners are told; "" for none.
func stepPoints(action Action, r catalogue.Release) (committed, notified string) {
	if action != ActionPublish {
		return "", ""
	}
	if r.Corrects.IsZero() {
		return "publish.after-commit", "publish.notified"
	}
	return "publish-correction.after-commit", "publish-correction.notified"
}

// verifyBlob checks a file's bytes are stored and still hash to the
// recorded SHA-256, so what is published is exactly what was approved.
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

// Cancel abandons a release that was never published, removing its rows.
func (s *Service) Cancel(ctx context.Context, actor Actor, releaseID int64, reason string) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if strings.TrimSpace(reason) == "" {
		return r, invalid("reason", "say why the release is cancelled")
	}
	if err := s.ownsDataset(ctx, actor, r); err != nil {
		return r, err
	}
	t, err := s.transition(r, catalogue.StateCancelled, actor, reason)
	if err != nil {
		return r, err
	}
	// The commit marks the release unfinished until its rows are gone: a
	// crash before that leaves the mark, and start-up recovery removes
	// them (recovery.go).
	if err := s.step(ctx, actor, ActionCancel, r, Change{Transitions: []catalogue.Transition{t},
		Unfinished: &Unfinished{Release: r.ID, At: s.now()},
		Audit:      s.audit(actor, "release.cancelled", r, map[string]string{"reason": reason})}); err != nil {
		return r, err
	}
	faultpoint.Hit("cancel.after-commit")
	if err := s.discardContent(ctx, r.ID); err != nil {
		return r, err
	}
	if err := s.workflow.Apply(ctx, Change{Unfinished: &Unfinished{Release: r.ID, Done: true}}); err != nil {
		return r, err
	}
	return s.release(ctx, r.ID)
}

// discardContent removes what a cancelled release stored besides its
// catalogue record: its rows, indicator observations and audit outcomes.
func (s *Service) discardContent(ctx context.Context, release int64) error {
	if err := s.rows.DeleteRelease(ctx, release); err != nil {
		return fmt.Errorf("removing the rows of release %d: %w", release, err)
	}
	if s.observations != nil {
		if err := s.observations.DeleteRelease(ctx, release); err != nil {
			return fmt.Errorf("removing the indicator observations of release %d: %w", release, err)
		}
	}
	if s.audits != nil {
		if err := s.audits.DeleteRelease(ctx, release); err != nil {
			return fmt.Errorf("removing the audit outcomes of release %d: %w", release, err)
		}
	}
	return nil
}

// Withdraw takes a published release's content down, keeping its page with
// the reason and, when given, a link to its replacement (a version of the
// same dataset).
func (s *Service) Withdraw(ctx context.Context, actor Actor, releaseID int64, reason string, replacementVersion int) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if strings.TrimSpace(reason) == "" {
		return r, invalid("reason", "a withdrawal must say why; the release page shows it")
	}
	t, err := s.transition(r, catalogue.StateWithdrawn, actor, reason)
	if err != nil {
		return r, err
	}
	if replacementVersion != 0 {
		rep, err := s.catalogue.GetRelease(ctx, r.Dataset.Slug, replacementVersion, catalogue.Internal())
		if err != nil {
			return r, invalid("replacement", "%s has no version %d", r.Dataset.Slug, replacementVersion)
		}
		t.ReplacedBy = rep.ID
	}
	if err := s.step(ctx, actor, ActionWithdraw, r, Change{Transitions: []catalogue.Transition{t},
		Audit: s.audit(actor, "release.withdrawn", r, map[string]any{"reason": reason, "replacementVersion": replacementVersion})}); err != nil {
		return r, err
	}
	return s.release(ctx, r.ID)
}

// Releases lists releases in every state, for the operator and workspace.
func (s *Service) Releases(ctx context.Context, states ...catalogue.ReleaseState) ([]catalogue.Release, error) {
	return s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(), States: states})
}

// FindRelease returns a dataset's release by version, in any state.
func (s *Service) FindRelease(ctx context.Context, datasetSlug string, version int) (catalogue.Release, error) {
	return s.catalogue.GetRelease(ctx, datasetSlug, version, catalogue.Internal())
}

// DisclosureReport returns a release's disclosure-control report, for the
// operator's command line (nil when the release has none). It names cells
// and quotes original values: never for the public.
func (s *Service) DisclosureReport(ctx context.Context, releaseID int64) (json.RawMessage, error) {
	return s.workflow.Report(ctx, releaseID)
}

// ReleaseByID returns a release in any state with all its files.
func (s *Service) ReleaseByID(ctx context.Context, id int64) (catalogue.Release, error) {
	return s.release(ctx, id)
}

// formatWhen is an instant for messages.
func formatWhen(t time.Time) string { return catalogue.FormatInstant(t) }

// publicChange reports whether a change alters what the public may see: a
// release entering or leaving a listed state, or any change to the
// release calendar (announcements, schedules, new dates).
func publicChange(c Change) bool {
	if c.Calendar != nil {
		return true
	}
	for _, t := range c.Transitions {
		if t.To.Listed() || t.From.Listed() {
			return true
		}
	}
	return false
}

// OnPublicChange registers fn to be called whenever what the public may
// see changes (a publication, supersession, withdrawal, announcement or
// schedule), so caches of public pages can be dropped.
func (s *Service) OnPublicChange(fn func()) {
	s.listenersMu.Lock()
	s.listeners = append(s.listeners, fn)
	s.listenersMu.Unlock()
}

func (s *Service) notifyPublicChange() {
	s.listenersMu.Lock()
	fns := slices.Clone(s.listeners)
	s.listenersMu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
