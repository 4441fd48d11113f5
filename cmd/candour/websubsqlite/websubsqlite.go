// Package websubsqlite stores the WebSub hub's subscriptions (package
// websub) in SQLite. It owns the websub_subscriptions table, which is
// private: subscribers' callbacks and secrets never reach a public
// snapshot.
//
// It lives under cmd, not beside package websub, because the import rule
// keeps storage out of the public site: only the command that wires the
// site to candour.db may hold both. Its tests run the hub itself against
// this store, the real one.
package websubsqlite

import (
	"context"
	"database/sql"
	"embed"
	"time"

	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/site/websub"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "websub"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() sqlitedb.Set { return sqlitedb.Embedded(Component, migrations) }

// timeLayout writes instants at one width, so that they compare as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Store implements websub.Store.
type Store struct{ db *sql.DB }

var _ websub.Store = (*Store)(nil)

// New returns the store over db.
func New(db *sql.DB) *Store { return &Store{db: db} }

// Put implements websub.Store.
func (s *Store) Put(ctx context.Context, sub websub.Subscription) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO websub_subscriptions (topic, callback, secret, expires, delivered) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (topic, callback) DO UPDATE SET secret = excluded.secret, expires = excluded.expires, delivered = excluded.delivered`,
		sub.Topic, sub.Callback, sub.Secret, sub.Expires.UTC().Format(timeLayout), sub.Delivered)
	return err
}

// Delete implements websub.Store.
func (s *Store) Delete(ctx context.Context, topic, callback string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM websub_subscriptions WHERE topic = ? AND callback = ?`, topic, callback)
	return err
}

// Active implements websub.Store.
func (s *Store) Active(ctx context.Context, now time.Time) ([]websub.Subscription, error) {
	// A read, and a write only when a lease has run out: the hub asks
	// every round, and a write each time would wait behind a long
	// submission's write transaction (and fail after the busy timeout).
	at := now.UTC().Format(timeLayout)
	var expired int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM websub_subscriptions WHERE expires <= ?`, at).Scan(&expired); err != nil {
		return nil, err
	}
	if expired > 0 {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM websub_subscriptions WHERE expires <= ?`, at); err != nil {
			return nil, err
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT topic, callback, secret, expires, delivered FROM websub_subscriptions WHERE expires > ? ORDER BY topic, callback`, at)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []websub.Subscription
	for rows.Next() {
		var sub websub.Subscription
		var expires string
		if err := rows.Scan(&sub.Topic, &sub.Callback, &sub.Secret, &expires, &sub.Delivered); err != nil {
			return nil, err
		}
		sub.Expires, _ = time.Parse(timeLayout, expires)
		out = append(out, sub)
	}
	return out, rows.Err()
}

// MarkDelivered implements websub.Store.
func (s *Store) MarkDelivered(ctx context.Context, topic, callback, digest string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE websub_subscriptions SET delivered = ? WHERE topic = ? AND callback = ?`, digest, topic, callback)
	return err
}
