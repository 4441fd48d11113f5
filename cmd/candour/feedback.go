package main

import (
	"context"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/feedbackpoll"
	"github.com/candour/candour/publisher/feedbackpoll/moderationsqlite"
)

// Pooled patient feedback on the publishing node: the poller of the
// sources --feedback-sources lists runs beside the scheduler, and the
// administrators' moderation goes through feedbackpoll.Moderator (each
// decision committed with its audit log entry). Whatever changes what
// scorecards show — a poll that added or changed items, a moderator's
// decision — clears the page cache and writes a public snapshot, so read
// nodes show the same feedback within seconds. A read node polls nothing
// and moderates nothing: it reads the feedback its snapshot holds (visible
// items only; see snapshottables.go).

// notifyingFeedback is the feedback store as the poller writes it: an
// Upsert that added or changed an item calls changed.
type notifyingFeedback struct {
	feedback.Store
	changed func()
}

func (n notifyingFeedback) Upsert(ctx context.Context, items []feedback.Item) (feedback.Upserted, error) {
	u, err := n.Store.Upsert(ctx, items)
	if err == nil && u.Added+u.Updated > 0 {
		n.changed()
	}
	return u, err
}

// notifyingModeration commits a moderation, then calls changed.
type notifyingModeration struct {
	feedbackpoll.ModerationStore
	changed func()
}

func (n notifyingModeration) Moderate(ctx context.Context, m feedback.Moderation, e auditlog.Entry) (feedback.Item, error) {
	it, err := n.ModerationStore.Moderate(ctx, m, e)
	if err == nil {
		n.changed()
	}
	return it, err
}

// moderator returns the feedback moderator over the app's database;
// changed is called after each decision.
func (a *app) moderator(changed func()) *feedbackpoll.Moderator {
	return feedbackpoll.NewModerator(notifyingModeration{moderationsqlite.New(a.db, a.feedback), changed}, a.now)
}

// startFeedbackPoller polls the configured feedback sources until stop is
// called (which waits for a poll under way to end). With no sources it
// does nothing.
func startFeedbackPoller(a *app, changed func()) (stop func(), err error) {
	if len(a.cfg.Feedback) == 0 {
		return func() {}, nil
	}
	p, err := feedbackpoll.New(notifyingFeedback{a.feedback, changed}, a.catalogue, a.cfg.Feedback,
		feedbackpoll.Config{Now: a.now, Logger: a.log.With("component", "feedback-poller"), UserAgent: "Candour/" + version + " feedback poller"})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(ctx); err != nil {
			a.log.Error("the feedback poller stopped: its sources could not be recorded", "err", err)
		}
	}()
	a.log.Info("polling feedback sources", "sources", len(a.cfg.Feedback), "file", a.cfg.FeedbackSources)
	return func() { cancel(); <-done }, nil
}
