package cataloguesqlite

import (
	"context"
	"database/sql"
	"slices"
	"sync"

	"github.com/candour/candour/catalogue"
)

// Every public page, API answer and search passes the set of releases
// whose content is public to the stores it reads, and a catalogue of tens
// of thousands of releases made reading that set the largest part of a
// search. The store therefore keeps the last set it read, with the window
// of instants it holds for and the release change counter it was read at
// (release_changes, which a trigger moves on every insert, update or
// delete of a release, by any process), and hands it out again while the
// counter has not moved and the view's instant is in the window:
//
//   - the window runs from the latest publication instant at or before the
//     instant read (of releases in a state whose content is public) to the
//     earliest one after it, so a scheduled release becomes visible at its
//     instant exactly, never a moment early or late, and a view at an
//     earlier instant is never given releases published after it;
//   - a release published, withdrawn, superseded or rescheduled, here or
//     by another process on the same file, moves the counter;
//   - a set read while the counter moved is not kept.
//
// When the counter cannot be read, the set is read every time.

// visibleCache is the last content-visible set read, and when it holds.
type visibleCache struct {
	mu          sync.Mutex
	ok          bool
	changes     int64
	from, until string // formatted instants; until "" when nothing is scheduled later
	ids         []int64
}

// lookup returns the cached set for a view at at (formatted) when the
// counter stands at changes.
func (c *visibleCache) lookup(changes int64, at string) ([]int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok || c.changes != changes || at < c.from || (c.until != "" && at >= c.until) {
		return nil, false
	}
	return slices.Clone(c.ids), true
}

func (c *visibleCache) keep(changes int64, from, until string, ids []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ok, c.changes, c.from, c.until, c.ids = true, changes, from, until, slices.Clone(ids)
}

// releaseChanges reads the release change counter.
func (s *Store) releaseChanges(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT n FROM release_changes WHERE id = 1`).Scan(&n)
	return n, err
}

// visibleWindow returns the publication instants of releases with public
// content next to at: the latest at or before it and the earliest after
// it ("" for none).
func (s *Store) visibleWindow(ctx context.Context, at string) (from, until string, err error) {
	var f, u sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT max(published_at) FROM releases WHERE state IN ('published', 'superseded') AND published_at IS NOT NULL AND published_at <= ?1),
		(SELECT min(published_at) FROM releases WHERE state IN ('published', 'superseded') AND published_at IS NOT NULL AND published_at > ?1)`, at).Scan(&f, &u)
	return f.String, u.String, err
}

// ContentVisibleReleases implements catalogue.Reader.
func (s *Store) ContentVisibleReleases(ctx context.Context, v catalogue.Visibility) ([]int64, error) {
	at, public := v.PublicAt()
	if !public {
		return s.readContentVisible(ctx, v)
	}
	when := formatInstant(at)
	changes, err := s.releaseChanges(ctx)
	if err != nil {
		return s.readContentVisible(ctx, v)
	}
	if ids, ok := s.visible.lookup(changes, when); ok {
		return ids, nil
	}
	ids, err := s.readContentVisible(ctx, v)
	if err != nil {
		return nil, err
	}
	from, until, err := s.visibleWindow(ctx, when)
	if err != nil {
		return ids, nil
	}
	if after, err := s.releaseChanges(ctx); err == nil && after == changes {
		s.visible.keep(changes, from, until, ids)
	}
	return ids, nil
}
