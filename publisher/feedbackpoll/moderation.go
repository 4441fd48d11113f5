package feedbackpoll

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
)

// ModerationStore commits a moderation and its audit entry together, or
// neither. Implementations: moderationsqlite. Its errors are
// feedback.Store.Moderate's.
type ModerationStore interface {
	Moderate(ctx context.Context, m feedback.Moderation, audit auditlog.Entry) (feedback.Item, error)
}

// Audit log actions of moderation.
const (
	AuditHidden   = "feedback.hidden"
	AuditReleased = "feedback.released"
)

// Moderator applies administrators' moderation decisions.
type Moderator struct {
	store ModerationStore
	now   func() time.Time
}

// NewModerator returns a moderator over store; now gives each decision's
// instant.
func NewModerator(store ModerationStore, now func() time.Time) *Moderator {
	return &Moderator{store: store, now: now}
}

// Hide hides an item, in whatever state, for reason. Only an
// administrator may (publisher.ErrForbidden otherwise).
func (m *Moderator) Hide(ctx context.Context, actor publisher.Actor, source, id, reason string) (feedback.Item, error) {
	return m.moderate(ctx, actor, feedback.ActionHide, source, id, reason)
}

// Release makes a held item visible; reason says why its text may be
// shown. Only an administrator may (publisher.ErrForbidden otherwise);
// releasing an item that is not held is feedback.ErrInvalid.
func (m *Moderator) Release(ctx context.Context, actor publisher.Actor, source, id, reason string) (feedback.Item, error) {
	return m.moderate(ctx, actor, feedback.ActionRelease, source, id, reason)
}

func (m *Moderator) moderate(ctx context.Context, actor publisher.Actor, action feedback.Action, source, id, reason string) (feedback.Item, error) {
	if !actor.Has(publisher.RoleAdministrator) {
		return feedback.Item{}, fmt.Errorf("%w: moderating feedback needs the role administrator; %s has not got it", publisher.ErrForbidden, actor)
	}
	mod := feedback.Moderation{Source: source, ID: id, Action: action, Reason: reason, By: actor.String(), At: m.now()}
	if err := mod.Validate(); err != nil {
		return feedback.Item{}, err
	}
	return m.store.Moderate(ctx, mod, auditEntry(mod))
}

// auditEntry is the audit log's record of a moderation: no release, the
// item and reason as details.
func auditEntry(m feedback.Moderation) auditlog.Entry {
	action := AuditHidden
	if m.Action == feedback.ActionRelease {
		action = AuditReleased
	}
	details, err := json.Marshal(map[string]string{"source": m.Source, "item": m.ID, "reason": m.Reason})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return auditlog.Entry{At: m.At, Actor: m.By, Action: action, Details: details}
}
