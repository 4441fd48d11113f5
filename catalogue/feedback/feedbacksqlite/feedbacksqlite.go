// Package feedbacksqlite implements feedback.Store in the embedded SQLite
// database: tables feedback_sources, feedback_items (keyed by source and
// the source's item id) and feedback_moderations (every moderator's
// decision, append-only in use).
//
// The rules — how a new item is screened, how a re-read item is merged
// with what is kept, what a moderation may do — are package feedback's
// (Screened, Merge, Moderation.Apply); this package applies them inside
// one transaction per call, so a feed's items are written all or none.
// [Store.InTx] lets another store make a moderation inside a transaction
// it owns, so that publisher can commit the decision together with its
// audit log entry.
//
// Like cataloguesqlite it imports nothing of Candour's but catalogue's
// packages (the import rule), so it hands its migrations over as an fs.FS
// and cmd applies them with sqlitedb.Migrate. It must not be imported by
// the public site; cmd wires it in.
package feedbacksqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/candour/candour/catalogue/feedback"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "feedback"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	return sub
}

// Store is the SQLite feedback store.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

var _ feedback.Store = (*Store)(nil)

// New returns a store over db, which must have had Migrations applied. now
// gives the instant recorded when items are first seen and changed.
func New(db *sql.DB, now func() time.Time) *Store { return &Store{db: db, now: now} }

// instantLayout is fixed-width so that text order is time order.
const instantLayout = "2006-01-02T15:04:05.000000Z"

func formatInstant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(instantLayout)
}

func parseInstant(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(instantLayout, s)
}

func (s *Store) withTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// PutSource implements feedback.Store.
func (s *Store) PutSource(ctx context.Context, src feedback.Source) error {
	if err := src.Validate(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO feedback_sources (name, title, feed_url, format, interval_secs, homepage)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET title = excluded.title, feed_url = excluded.feed_url, format = excluded.format,
			interval_secs = excluded.interval_secs, homepage = excluded.homepage`,
		src.Name, src.Title, src.FeedURL, string(src.Format), int64(src.Interval/time.Second), src.Homepage)
	if err != nil {
		return fmt.Errorf("put feedback source %s: %w", src.Name, err)
	}
	return nil
}

const sourceColumns = `name, title, feed_url, format, interval_secs, homepage`

func scanSource(sc interface{ Scan(...any) error }) (feedback.Source, error) {
	var src feedback.Source
	var format string
	var secs int64
	if err := sc.Scan(&src.Name, &src.Title, &src.FeedURL, &format, &secs, &src.Homepage); err != nil {
		return src, err
	}
	src.Format, src.Interval = feedback.Format(format), time.Duration(secs)*time.Second
	return src, nil
}

// Sources implements feedback.Store.
func (s *Store) Sources(ctx context.Context) ([]feedback.Source, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sourceColumns+` FROM feedback_sources ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("feedback sources: %w", err)
	}
	defer rows.Close()
	var out []feedback.Source
	for rows.Next() {
		src, err := scanSource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

// Upsert implements feedback.Store.
func (s *Store) Upsert(ctx context.Context, items []feedback.Item) (feedback.Upserted, error) {
	for _, it := range items {
		if err := it.Validate(); err != nil {
			return feedback.Upserted{}, err
		}
	}
	var n feedback.Upserted
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		known := map[string]bool{}
		for _, it := range items {
			if err := checkSource(ctx, tx, known, it.Source); err != nil {
				return err
			}
			if err := s.upsertOne(ctx, tx, it, &n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return feedback.Upserted{}, err
	}
	return n, nil
}

func checkSource(ctx context.Context, tx *sql.Tx, known map[string]bool, name string) error {
	if known[name] {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM feedback_sources WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("feedback source %s: %w", name, feedback.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("feedback source %s: %w", name, err)
	}
	known[name] = true
	return nil
}

func (s *Store) upsertOne(ctx context.Context, tx *sql.Tx, it feedback.Item, n *feedback.Upserted) error {
	existing, err := getItem(ctx, tx, it.Source, it.ID)
	now := formatInstant(s.now())
	switch {
	case errors.Is(err, feedback.ErrNotFound):
		it = feedback.Screened(it)
		n.Added++
		if it.State == feedback.StateHeld {
			n.Held++
		}
		return insertItem(ctx, tx, it, now)
	case err != nil:
		return err
	}
	merged := feedback.Merge(existing, it)
	if sameItem(existing, merged) {
		n.Unchanged++
		return nil
	}
	n.Updated++
	if merged.State == feedback.StateHeld && existing.State != feedback.StateHeld {
		n.Held++
	}
	return updateItem(ctx, tx, merged, now)
}

// sameItem reports whether nothing stored would change.
func sameItem(a, b feedback.Item) bool {
	return a.Organisation == b.Organisation && a.Link == b.Link && a.Published.Equal(b.Published) &&
		a.Rating == b.Rating && a.Title == b.Title && a.Comment == b.Comment &&
		a.Response.Text == b.Response.Text && a.Response.Published.Equal(b.Response.Published) &&
		a.State == b.State && a.Reason == b.Reason && a.ModeratedBy == b.ModeratedBy && a.ModeratedAt.Equal(b.ModeratedAt)
}

func insertItem(ctx context.Context, tx *sql.Tx, it feedback.Item, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO feedback_items (source, item_id, organisation, link, published, rating,
		title, comment, response, responded, state, reason, moderated_by, moderated_at, first_seen, last_changed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		it.Source, it.ID, it.Organisation, it.Link, formatInstant(it.Published), int(it.Rating), it.Title, it.Comment,
		it.Response.Text, formatInstant(it.Response.Published), string(it.State), it.Reason, it.ModeratedBy,
		formatInstant(it.ModeratedAt), now, now)
	if err != nil {
		return fmt.Errorf("add feedback item %s of %s: %w", it.ID, it.Source, err)
	}
	return nil
}

func updateItem(ctx context.Context, tx *sql.Tx, it feedback.Item, now string) error {
	_, err := tx.ExecContext(ctx, `UPDATE feedback_items SET organisation = ?, link = ?, published = ?, rating = ?,
		title = ?, comment = ?, response = ?, responded = ?, state = ?, reason = ?, moderated_by = ?, moderated_at = ?,
		last_changed = ? WHERE source = ? AND item_id = ?`,
		it.Organisation, it.Link, formatInstant(it.Published), int(it.Rating), it.Title, it.Comment, it.Response.Text,
		formatInstant(it.Response.Published), string(it.State), it.Reason, it.ModeratedBy, formatInstant(it.ModeratedAt),
		now, it.Source, it.ID)
	if err != nil {
		return fmt.Errorf("update feedback item %s of %s: %w", it.ID, it.Source, err)
	}
	return nil
}

const itemColumns = `source, item_id, organisation, link, published, rating, title, comment, response, responded,
	state, reason, moderated_by, moderated_at`

func scanItem(sc interface{ Scan(...any) error }) (feedback.Item, error) {
	var it feedback.Item
	var published, responded, state, moderated string
	var rating int
	if err := sc.Scan(&it.Source, &it.ID, &it.Organisation, &it.Link, &published, &rating, &it.Title, &it.Comment,
		&it.Response.Text, &responded, &state, &it.Reason, &it.ModeratedBy, &moderated); err != nil {
		return it, err
	}
	it.Rating, it.State = feedback.Rating(rating), feedback.State(state)
	var err error
	if it.Published, err = parseInstant(published); err != nil {
		return it, fmt.Errorf("feedback item %s of %s: %w", it.ID, it.Source, err)
	}
	if it.Response.Published, err = parseInstant(responded); err != nil {
		return it, fmt.Errorf("feedback item %s of %s: %w", it.ID, it.Source, err)
	}
	if it.ModeratedAt, err = parseInstant(moderated); err != nil {
		return it, fmt.Errorf("feedback item %s of %s: %w", it.ID, it.Source, err)
	}
	return it, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getItem(ctx context.Context, q queryRower, source, id string) (feedback.Item, error) {
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM feedback_items WHERE source = ? AND item_id = ?`, source, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("feedback item %s of %s: %w", id, source, feedback.ErrNotFound)
	}
	return it, err
}

// Item implements feedback.Store.
func (s *Store) Item(ctx context.Context, source, id string) (feedback.Item, error) {
	return getItem(ctx, s.db, source, id)
}

func (s *Store) items(ctx context.Context, query string, args ...any) ([]feedback.Item, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM feedback_items `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("feedback items: %w", err)
	}
	defer rows.Close()
	var out []feedback.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Visible implements feedback.Store.
func (s *Store) Visible(ctx context.Context, organisation string, limit int) ([]feedback.Item, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.items(ctx, `WHERE organisation = ? AND state = 'visible'
		ORDER BY published DESC, source, item_id LIMIT ?`, organisation, limit)
}

// Held implements feedback.Store.
func (s *Store) Held(ctx context.Context, limit int) ([]feedback.Item, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.items(ctx, `WHERE state = 'held' ORDER BY published, source, item_id LIMIT ?`, limit)
}

// Distributions implements feedback.Store.
func (s *Store) Distributions(ctx context.Context, organisation string) ([]feedback.Distribution, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+prefixed("s.", sourceColumns)+`, i.rating, COUNT(*)
		FROM feedback_items i JOIN feedback_sources s ON s.name = i.source
		WHERE i.organisation = ? AND i.state = 'visible'
		GROUP BY s.name, i.rating ORDER BY s.name, i.rating`, organisation)
	if err != nil {
		return nil, fmt.Errorf("feedback distributions of %s: %w", organisation, err)
	}
	defer rows.Close()
	var out []feedback.Distribution
	for rows.Next() {
		var rating, count int
		src, err := scanSource(scanner(func(dest ...any) error { return rows.Scan(append(dest, &rating, &count)...) }))
		if err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Source.Name != src.Name {
			out = append(out, feedback.Distribution{Source: src})
		}
		d := &out[len(out)-1]
		d.Items += count
		if rating >= 1 && rating <= 5 {
			d.Stars[rating-1] += count
			d.Ratings += count
		}
	}
	return out, rows.Err()
}

// scanner adapts a function to the Scan method scanSource wants.
type scanner func(dest ...any) error

func (f scanner) Scan(dest ...any) error { return f(dest...) }

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// Moderate implements feedback.Store, in its own transaction.
func (s *Store) Moderate(ctx context.Context, m feedback.Moderation) (feedback.Item, error) {
	var it feedback.Item
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		it, err = s.InTx(tx).Moderate(ctx, m)
		return err
	})
	return it, err
}

// Moderations implements feedback.Store.
func (s *Store) Moderations(ctx context.Context, source, id string) ([]feedback.Moderation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, item_id, action, reason, by_user, at FROM feedback_moderations
		WHERE source = ? AND item_id = ? ORDER BY id`, source, id)
	if err != nil {
		return nil, fmt.Errorf("moderations of feedback item %s of %s: %w", id, source, err)
	}
	defer rows.Close()
	var out []feedback.Moderation
	for rows.Next() {
		var m feedback.Moderation
		var action, at string
		if err := rows.Scan(&m.Source, &m.ID, &action, &m.Reason, &m.By, &at); err != nil {
			return nil, err
		}
		m.Action = feedback.Action(action)
		if m.At, err = parseInstant(at); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// TxWriter makes feedback writes inside a transaction someone else owns
// (publisher's moderation, which commits the decision with its audit
// entry). It never commits or rolls back.
type TxWriter struct {
	tx  *sql.Tx
	now func() time.Time
}

// InTx returns the store's writes within tx, which must be a transaction
// on the store's database.
func (s *Store) InTx(tx *sql.Tx) *TxWriter { return &TxWriter{tx: tx, now: s.now} }

// Moderate applies m to its item and records it, as Store.Moderate does.
func (w *TxWriter) Moderate(ctx context.Context, m feedback.Moderation) (feedback.Item, error) {
	if err := m.Validate(); err != nil {
		return feedback.Item{}, err
	}
	it, err := getItem(ctx, w.tx, m.Source, m.ID)
	if err != nil {
		return it, err
	}
	if it, err = m.Apply(it); err != nil {
		return it, err
	}
	if err := updateItem(ctx, w.tx, it, formatInstant(w.now())); err != nil {
		return it, err
	}
	if _, err := w.tx.ExecContext(ctx, `INSERT INTO feedback_moderations (source, item_id, action, reason, by_user, at)
		VALUES (?, ?, ?, ?, ?, ?)`, m.Source, m.ID, string(m.Action), m.Reason, m.By, formatInstant(m.At)); err != nil {
		return it, fmt.Errorf("record moderation of feedback item %s of %s: %w", m.ID, m.Source, err)
	}
	return it, nil
}
