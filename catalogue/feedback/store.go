package feedback

import (
	"context"
	"strings"
	"time"
)

// Action is a moderator's decision.
type Action string

// Moderation actions.
const (
	// ActionHide hides an item of any state, with a reason.
	ActionHide Action = "hide"
	// ActionRelease makes a held item visible; the reason says why its
	// text may be shown.
	ActionRelease Action = "release"
)

// Moderation is one moderator's decision about one item.
type Moderation struct {
	Source string
	ID     string
	Action Action
	Reason string
	By     string // the moderator's username
	At     time.Time
}

// Validate reports the first field of m that breaks a rule, as ErrInvalid.
func (m Moderation) Validate() error {
	switch {
	case m.Source == "" || m.ID == "":
		return invalid("moderation", "needs the item's source and id")
	case m.Action != ActionHide && m.Action != ActionRelease:
		return invalid("moderation action", "%q: want hide or release", m.Action)
	case strings.TrimSpace(m.Reason) == "":
		return invalid("moderation reason", "required: say why")
	case strings.TrimSpace(m.By) == "":
		return invalid("moderation", "needs the moderator's name")
	case m.At.IsZero():
		return invalid("moderation", "needs the instant")
	}
	return nil
}

// Apply returns it after m, or ErrConflict when m does not apply: only a
// held item can be released. m must be valid.
func (m Moderation) Apply(it Item) (Item, error) {
	switch {
	case m.Action == ActionRelease && it.State != StateHeld:
		return it, invalid("release", "item %s of %s is %s, not held", it.ID, it.Source, it.State)
	case m.Action == ActionRelease:
		it.State = StateVisible
	default:
		it.State = StateHidden
	}
	it.Reason, it.ModeratedBy, it.ModeratedAt = m.Reason, m.By, m.At
	return it, nil
}

// Upserted counts what an Upsert did.
type Upserted struct {
	Added     int // items new to the store
	Updated   int // items whose fields changed (a response added, say)
	Unchanged int
	Held      int // items (added or updated) now held for moderation
}

// Distribution is the rating distribution of one organisation's visible
// items from one source.
type Distribution struct {
	Source Source
	// Stars counts visible items by rating: Stars[0] has one star,
	// Stars[4] five.
	Stars [5]int
	// Ratings is the number of visible items with a rating; Items the
	// number of visible items, rated or not.
	Ratings int
	Items   int
}

// Mean is the mean rating, or 0 when there are no ratings.
func (d Distribution) Mean() float64 {
	if d.Ratings == 0 {
		return 0
	}
	sum := 0
	for i, n := range d.Stars {
		sum += (i + 1) * n
	}
	return float64(sum) / float64(d.Ratings)
}

// Store keeps sources and items. Implementations: feedbacksqlite. Every
// implementation passes the contract suite in feedbacktest.
type Store interface {
	// PutSource creates or updates a source by name. ErrInvalid when it
	// does not validate.
	PutSource(ctx context.Context, s Source) error
	// Sources returns every source, by name.
	Sources(ctx context.Context) ([]Source, error)
	// Upsert stores items keyed by (source, id): a new item is screened
	// (Screened), an item already held is merged (Merge), so a feed read
	// twice never duplicates. All items or none are written. ErrInvalid
	// when one does not validate; ErrNotFound when its source is unknown.
	Upsert(ctx context.Context, items []Item) (Upserted, error)
	// Item returns one item in whatever state, or ErrNotFound.
	Item(ctx context.Context, source, id string) (Item, error)
	// Visible returns an organisation's visible items, most recently
	// published first (then by source and id), at most limit of them.
	Visible(ctx context.Context, organisation string, limit int) ([]Item, error)
	// Distributions returns an organisation's rating distribution per
	// source that has visible items for it, by source name.
	Distributions(ctx context.Context, organisation string) ([]Distribution, error)
	// Held returns the items waiting for a moderator, oldest published
	// first, at most limit of them.
	Held(ctx context.Context, limit int) ([]Item, error)
	// Moderate applies m (Moderation.Apply) and records it, returning the
	// item as it now is. ErrInvalid when m does not validate or does not
	// apply (releasing an item that is not held); ErrNotFound when there
	// is no such item.
	Moderate(ctx context.Context, m Moderation) (Item, error)
	// Moderations returns the decisions recorded about an item, oldest
	// first.
	Moderations(ctx context.Context, source, id string) ([]Moderation, error)
}
