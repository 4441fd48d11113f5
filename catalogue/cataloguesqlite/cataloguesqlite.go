// Package cataloguesqlite implements catalogue.Store in the embedded SQLite
// database.
//
// Visibility is applied in SQL from the catalogue.Visibility each read is
// given (see visibility.go): a public read at instant t sees a release's
// content when the release is published or superseded with a publication
// instant not after t. The rules are catalogue's; this package only
// expresses them as predicates, and its tests check they agree.
//
// It must not be imported by the public site; cmd wires it in.
package cataloguesqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "catalogue"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	return sub
}

// Store is the SQLite catalogue store.
type Store struct {
	db      *sql.DB
	now     func() time.Time
	visible *visibleCache // see visiblecache.go
}

// New returns a store over db, which must have had Migrations applied. now
// gives the instant recorded on creations and updates.
func New(db *sql.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now, visible: &visibleCache{}}
}

var _ catalogue.Store = (*Store)(nil)

// instantLayout is fixed-width so that text order is time order.
const instantLayout = "2006-01-02T15:04:05.000000Z"

func formatInstant(t time.Time) string { return t.UTC().Format(instantLayout) }

func parseInstant(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(instantLayout, s)
}

func parseNullInstant(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseInstant(s.String)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain slices and structs of strings are marshalled here
	}
	return string(b)
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// withTx runs fn in a transaction, committing if it returns nil.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
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

// PutPublisher implements catalogue.Store.
func (s *Store) PutPublisher(ctx context.Context, p catalogue.Publisher) (catalogue.Publisher, error) {
	if err := p.Validate(); err != nil {
		return catalogue.Publisher{}, err
	}
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO publishers (slug, name, url) VALUES (?, ?, ?)
		ON CONFLICT (slug) DO UPDATE SET name = excluded.name, url = excluded.url
		RETURNING id`, p.Slug, p.Name, p.URL).Scan(&p.ID)
	if err != nil {
		return catalogue.Publisher{}, fmt.Errorf("put publisher %s: %w", p.Slug, err)
	}
	return p, nil
}

// EnsurePublisher implements catalogue.Store.
func (s *Store) EnsurePublisher(ctx context.Context, p catalogue.Publisher) (catalogue.Publisher, error) {
	if !catalogue.ValidSlug(p.Slug) {
		return catalogue.Publisher{}, p.Validate()
	}
	if strings.TrimSpace(p.Name) != "" {
		if err := p.Validate(); err != nil {
			return catalogue.Publisher{}, err
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO publishers (slug, name, url) VALUES (?, ?, ?) ON CONFLICT (slug) DO NOTHING`,
			p.Slug, p.Name, p.URL); err != nil {
			return catalogue.Publisher{}, fmt.Errorf("ensure publisher %s: %w", p.Slug, err)
		}
	}
	var stored catalogue.Publisher
	err := s.db.QueryRowContext(ctx, `SELECT id, slug, name, url FROM publishers WHERE slug = ?`, p.Slug).
		Scan(&stored.ID, &stored.Slug, &stored.Name, &stored.URL)
	if errors.Is(err, sql.ErrNoRows) {
		return catalogue.Publisher{}, fmt.Errorf("publisher %s: %w", p.Slug, catalogue.ErrNotFound)
	}
	if err != nil {
		return catalogue.Publisher{}, fmt.Errorf("ensure publisher %s: %w", p.Slug, err)
	}
	return stored, nil
}

// ListPublishers implements catalogue.Reader.
func (s *Store) ListPublishers(ctx context.Context, v catalogue.Visibility) ([]catalogue.Publisher, error) {
	listed, args, err := datasetListed(v, "d")
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT p.id, p.slug, p.name, p.url FROM publishers p
		WHERE EXISTS (SELECT 1 FROM datasets d WHERE d.publisher_id = p.id AND `+listed+`)
		ORDER BY p.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list publishers: %w", err)
	}
	defer rows.Close()
	var out []catalogue.Publisher
	for rows.Next() {
		var p catalogue.Publisher
		if err := rows.Scan(&p.ID, &p.Slug, &p.Name, &p.URL); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// errNoVisibility is returned for reads with a zero catalogue.Visibility.
var errNoVisibility = errors.New("catalogue read without a visibility (use catalogue.Internal or a published view)")
