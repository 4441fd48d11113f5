package publisher

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets/faultpoint"
)

// DefaultEmbargoClock is the time of day releases are published when only a
// date is given: 09:30 in London.
const DefaultEmbargoClock = "09:30"

// EmbargoOn returns the default embargo instant on a civil date: 09:30
// Europe/London, in UTC.
func EmbargoOn(d catalogue.Date) time.Time {
	t := d.Time()
	return time.Date(t.Year(), t.Month(), t.Day(), 9, 30, 0, 0, catalogue.London).UTC()
}

// Announce puts a release on the public calendar before it exists: the
// dataset, the period it will cover and a provisional month.
func (s *Service) Announce(ctx context.Context, actor Actor, datasetSlug, period, provisionalMonth string) (catalogue.CalendarEntry, error) {
	if !actor.Has(RolePublisher) && !actor.Has(RoleAdministrator) {
		return catalogue.CalendarEntry{}, fmt.Errorf("%w: announcing a release needs the role publisher or administrator", ErrForbidden)
	}
	d, err := s.catalogue.GetDataset(ctx, datasetSlug, catalogue.Internal())
	if err != nil {
		return catalogue.CalendarEntry{}, err
	}
	if !actor.Has(RoleAdministrator) && actor.Organisation != d.Publisher.Slug {
		return catalogue.CalendarEntry{}, fmt.Errorf("%w: %s does not publish %s", ErrForbidden, actor, d.Title)
	}
	e := catalogue.CalendarEntry{DatasetID: d.ID, Dataset: catalogue.DatasetRef{Slug: d.Slug, Title: d.Title},
		PeriodLabel: period, ProvisionalMonth: provisionalMonth}
	if err := e.Validate(); err != nil {
		return e, err
	}
	audit := s.audit(actor, "calendar.announced", catalogue.Release{}, map[string]string{
		"dataset": d.Slug, "period": period, "provisionalMonth": provisionalMonth})
	if err := s.workflow.Apply(ctx, Change{Calendar: &CalendarChange{Entry: e, Actor: actor.String()}, Audit: audit}); err != nil {
		return e, err
	}
	s.notifyPublicChange()
	entries, err := s.catalogue.ListCalendar(ctx, catalogue.CalendarQuery{Visibility: catalogue.Internal(), DatasetID: d.ID})
	if err != nil || len(entries) == 0 {
		return e, err
	}
	return entries[len(entries)-1], nil
}

// calendarEntry returns the release's calendar entry, or a new one.
func (s *Service) calendarEntry(ctx context.Context, r catalogue.Release) (catalogue.CalendarEntry, bool, error) {
	entries, err := s.catalogue.ListCalendar(ctx, catalogue.CalendarQuery{Visibility: catalogue.Internal(), Release: r.ID})
	if err != nil {
		return catalogue.CalendarEntry{}, false, err
	}
	if len(entries) > 0 {
		return entries[0], true, nil
	}
	// An announced entry for the same period, not yet tied to a release.
	all, err := s.catalogue.ListCalendar(ctx, catalogue.CalendarQuery{Visibility: catalogue.Internal(), DatasetID: r.DatasetID})
	if err != nil {
		return catalogue.CalendarEntry{}, false, err
	}
	for _, e := range all {
		if e.Release.IsZero() && e.Status == catalogue.CalendarAnnounced && strings.EqualFold(e.PeriodLabel, r.PeriodLabel) {
			return e, true, nil
		}
	}
	return catalogue.CalendarEntry{DatasetID: r.DatasetID, Dataset: r.Dataset, PeriodLabel: r.PeriodLabel}, false, nil
}

// Schedule sets an approved release's embargo instant, which must be in the
// future, and confirms the date on the public calendar. A date announced
// earlier can change only with a reason, which the calendar shows.
func (s *Service) Schedule(ctx context.Context, actor Actor, releaseID int64, at time.Time, reason string) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if err := s.ownsDataset(ctx, actor, r); err != nil {
		return r, err
	}
	if err := permit(actor, ActionSchedule, r); err != nil {
		return r, err
	}
	if !at.After(s.now()) {
		return r, invalid("embargo", "%s is in the past; a release is scheduled for a future instant", formatWhen(at))
	}
	approvers, err := s.Approvals(ctx, r)
	if err != nil {
		return r, err
	}
	if len(approvers) < s.approvals {
		return r, fmt.Errorf("%w: %s version %d has %d current approvals of the %d it needs", ErrNotAllowed, r.Dataset.Slug, r.Version, len(approvers), s.approvals)
	}
	// Separation of duties: whoever approved a release does not also
	// choose when it is published.
	if slices.ContainsFunc(approvers, func(v Review) bool { return v.Reviewer == actor.String() }) {
		return r, fmt.Errorf("%w: %s approved %s version %d, so another account must schedule it", ErrForbidden, actor, r.Dataset.Slug, r.Version)
	}
	t, err := s.transition(r, catalogue.StateScheduled, actor, "embargoed until "+formatWhen(at))
	if err != nil {
		return r, err
	}
	t.EmbargoAt = at.UTC()
	entry, existed, err := s.calendarEntry(ctx, r)
	if err != nil {
		return r, err
	}
	entry.Release = catalogue.ReleaseRef{ID: r.ID, Version: r.Version}
	entry.ConfirmedAt = at.UTC()
	if entry.PeriodLabel == "" {
		entry.PeriodLabel = r.Title
	}
	if !existed {
		reason = ""
	}
	if err := s.step(ctx, actor, ActionSchedule, r, Change{Transitions: []catalogue.Transition{t},
		Calendar: &CalendarChange{Entry: entry, Reason: reason, Actor: actor.String()},
		Audit:    s.audit(actor, "release.scheduled", r, map[string]string{"embargo": at.UTC().Format(time.RFC3339)})}); err != nil {
		return r, err
	}
	s.wakeScheduler()
	return s.release(ctx, r.ID)
}

// Reschedule moves a scheduled release's embargo to another future
// instant; the reason is shown on the calendar.
func (s *Service) Reschedule(ctx context.Context, actor Actor, releaseID int64, at time.Time, reason string) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if err := s.ownsDataset(ctx, actor, r); err != nil {
		return r, err
	}
	if err := permit(actor, ActionReschedule, r); err != nil {
		return r, err
	}
	if !at.After(s.now()) {
		return r, invalid("embargo", "%s is in the past; a release is scheduled for a future instant", formatWhen(at))
	}
	if strings.TrimSpace(reason) == "" {
		return r, invalid("reason", "a change of an announced date needs a reason, which the calendar shows")
	}
	entry, _, err := s.calendarEntry(ctx, r)
	if err != nil {
		return r, err
	}
	entry.ConfirmedAt = at.UTC()
	t := catalogue.Transition{Release: r.ID, From: r.State, To: catalogue.StateScheduled, At: s.now(), Actor: actor.String(),
		Note: "rescheduled to " + formatWhen(at) + ": " + reason, EmbargoAt: at.UTC()}
	if err := s.step(ctx, actor, ActionReschedule, r, Change{Transitions: []catalogue.Transition{t},
		Calendar: &CalendarChange{Entry: entry, Reason: reason, Actor: actor.String()},
		Audit: s.audit(actor, "release.rescheduled", r, map[string]string{
			"embargo": at.UTC().Format(time.RFC3339), "reason": reason})}); err != nil {
		return r, err
	}
	s.wakeScheduler()
	return s.release(ctx, r.ID)
}

// PublishDue publishes every scheduled release whose embargo instant has
// passed, each in one transaction, after checking that its files are the
// approved bytes and it still has its approvals. It returns the releases
// it published. A correction supersedes the release it corrects in the same
// transaction.
func (s *Service) PublishDue(ctx context.Context) ([]catalogue.Release, error) {
	scheduled, err := s.Releases(ctx, catalogue.StateScheduled)
	if err != nil {
		return nil, err
	}
	var out []catalogue.Release
	var errs []string
	for _, r := range scheduled {
		if r.EmbargoAt.IsZero() || r.EmbargoAt.After(s.now()) {
			continue
		}
		p, err := s.publish(ctx, r.ID)
		if err != nil {
			s.log.Error("publication failed", "release", r.ID, "dataset", r.Dataset.Slug, "version", r.Version, "err", err)
			errs = append(errs, err.Error())
			continue
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("publication failed: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

func (s *Service) publish(ctx context.Context, releaseID int64) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	actor := SchedulerActor
	if err := permit(actor, ActionPublish, r); err != nil {
		return r, err
	}
	approvals, err := s.Approvals(ctx, r)
	if err != nil {
		return r, err
	}
	if len(approvals) < s.approvals {
		return r, fmt.Errorf("%w: %s version %d has %d current approvals of the %d it needs", ErrNotAllowed, r.Dataset.Slug, r.Version, len(approvals), s.approvals)
	}
	// All or nothing: a release whose amendment's rows are still being
	// rewritten waits (the scheduler tries again on its next round).
	if pending, err := s.unfinished(ctx, r.ID); err != nil {
		return r, err
	} else if pending {
		return r, fmt.Errorf("%w: %s version %d: its rows and observations are still being rewritten after an amendment; it is published once they are (start-up recovery finishes them if the process amending it stopped)",
			ErrNotAllowed, r.Dataset.Slug, r.Version)
	}
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		if err := s.verifyBlob(ctx, f); err != nil {
			return r, fmt.Errorf("release %d: %w", r.ID, err)
		}
	}
	// The release's search document is written again before the commit,
	// so the document that becomes visible with it is its own (one written
	// under the same id by a draft that was later removed, or none, for a
	// release imported by a command without the index, would otherwise
	// show until the next sync).
	if err := s.indexRelease(ctx, r); err != nil {
		return r, fmt.Errorf("release %d: its search document: %w", r.ID, err)
	}
	note := ""
	if late := s.now().Sub(r.EmbargoAt); late > time.Minute {
		note = fmt.Sprintf("due at %s, published %s late (the server was not running)", formatWhen(r.EmbargoAt), late.Round(time.Second))
	}
	t, err := s.transition(r, catalogue.StatePublished, actor, note)
	if err != nil {
		return r, err
	}
	c := Change{Transitions: []catalogue.Transition{t}}
	names := make([]string, 0, len(approvals))
	for _, a := range approvals {
		names = append(names, a.Reviewer)
	}
	if !r.Corrects.IsZero() {
		old, err := s.release(ctx, r.Corrects.ID)
		if err != nil {
			return r, err
		}
		if old.State == catalogue.StatePublished {
			st := catalogue.Transition{Release: old.ID, From: old.State, To: catalogue.StateSuperseded, At: t.At,
				Actor: actor.String(), Note: fmt.Sprintf("corrected by version %d: %s", r.Version, r.CorrectionNotice), ReplacedBy: r.ID}
			c.Transitions = append(c.Transitions, st)
		}
	}
	c.Audit = s.audit(actor, "release.published", r, map[string]any{"approvedBy": names, "embargo": r.EmbargoAt.UTC().Format(time.RFC3339)})
	// The release keeps the chain head its publication entry makes, for its
	// manifest: the log can then never be cut back past it unseen.
	c.RecordHeadFor = r.ID
	if r.Corrects.IsZero() {
		faultpoint.Hit("publish.before-commit")
	} else {
		faultpoint.Hit("publish-correction.before-commit")
	}
	if err := s.step(ctx, actor, ActionPublish, r, c); err != nil {
		return r, err
	}
	s.countPublication(s.now().Sub(r.EmbargoAt))
	published, err := s.release(ctx, r.ID)
	if err == nil {
		s.log.Info("release published", "release", published.ID, "dataset", published.Dataset.Slug,
			"version", published.Version, "at", published.PublishedAt)
	}
	return published, err
}

// wakeScheduler tells a running scheduler that the calendar changed.
func (s *Service) wakeScheduler() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxSchedulerSleep bounds how long the scheduler sleeps. Scheduling in
// this process wakes it at once; a release scheduled by another process on
// the same data folder, or a clock change, costs at most this much delay.
const maxSchedulerSleep = 5 * time.Second

// RunScheduler publishes releases at their embargo instants until ctx ends.
// It first catches up on anything that fell due while the server was down,
// then sleeps until the next embargo (or a change to the schedule). The
// schedule lives in the database, so it survives restarts.
func (s *Service) RunScheduler(ctx context.Context) error {
	for {
		if _, err := s.PublishDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduler", "err", err)
		}
		wait := maxSchedulerSleep
		if next, ok, err := s.nextEmbargo(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("scheduler", "err", err)
		} else if ok {
			if d := next.Sub(s.now()); d < wait {
				wait = max(d, 0)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

func (s *Service) nextEmbargo(ctx context.Context) (time.Time, bool, error) {
	scheduled, err := s.Releases(ctx, catalogue.StateScheduled)
	if err != nil {
		return time.Time{}, false, err
	}
	var next time.Time
	for _, r := range scheduled {
		if !r.EmbargoAt.IsZero() && (next.IsZero() || r.EmbargoAt.Before(next)) {
			next = r.EmbargoAt
		}
	}
	return next, !next.IsZero(), nil
}

// Unschedule takes a scheduled release off its confirmed date, back to
// approved; the calendar shows the reason and a provisional month again.
func (s *Service) Unschedule(ctx context.Context, actor Actor, releaseID int64, reason string) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if err := s.ownsDataset(ctx, actor, r); err != nil {
		return r, err
	}
	if strings.TrimSpace(reason) == "" {
		return r, invalid("reason", "taking a release off its announced date needs a reason, which the calendar shows")
	}
	t, err := s.transition(r, catalogue.StateApproved, actor, "unscheduled: "+reason)
	if err != nil {
		return r, err
	}
	entry, _, err := s.calendarEntry(ctx, r)
	if err != nil {
		return r, err
	}
	entry.ProvisionalMonth = r.EmbargoAt.In(catalogue.London).Format("2006-01")
	entry.ConfirmedAt = time.Time{}
	if err := s.step(ctx, actor, ActionUnschedule, r, Change{Transitions: []catalogue.Transition{t},
		Calendar: &CalendarChange{Entry: entry, Reason: reason, Actor: actor.String()},
		Audit:    s.audit(actor, "release.unscheduled", r, map[string]string{"reason": reason})}); err != nil {
		return r, err
	}
	return s.release(ctx, r.ID)
}
