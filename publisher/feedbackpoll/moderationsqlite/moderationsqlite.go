// Package moderationsqlite commits a feedback moderation and its audit log
// entry in one SQLite transaction (feedbackpoll.ModerationStore): the
// item's new state and the decision through feedbacksqlite's transaction
// writer, the entry through auditsqlite. Both stores must be in the one
// database. It owns no tables and must not be imported by the public site;
// cmd wires it in.
package moderationsqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/catalogue/feedback/feedbacksqlite"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/feedbackpoll"
)

// Store implements feedbackpoll.ModerationStore.
type Store struct {
	db       *sql.DB
	feedback *feedbacksqlite.Store
}

var _ feedbackpoll.ModerationStore = (*Store)(nil)

// New returns the store over db, which must hold the feedback store's and
// the audit log's migrations; fb is the feedback store over the same db.
func New(db *sql.DB, fb *feedbacksqlite.Store) *Store { return &Store{db: db, feedback: fb} }

// Moderate implements feedbackpoll.ModerationStore.
func (s *Store) Moderate(ctx context.Context, m feedback.Moderation, e auditlog.Entry) (feedback.Item, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return feedback.Item{}, err
	}
	defer tx.Rollback()
	it, err := s.feedback.InTx(tx).Moderate(ctx, m)
	if err != nil {
		return it, err
	}
	if _, err := auditsqlite.Append(ctx, tx, e); err != nil {
		return it, fmt.Errorf("audit log: %w", err)
	}
	return it, tx.Commit()
}
