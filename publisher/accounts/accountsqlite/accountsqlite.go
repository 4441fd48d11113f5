// Package accountsqlite stores accounts (package accounts) in SQLite, and
// writes each change to an account to the audit log in the same
// transaction (auditsqlite.Append).
//
// It owns the tables of its migrations; it never sees a password or a
// token, only their hashes.
package accountsqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/accounts"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component names this store's migrations in the shared migrations table.
const Component = "accounts"

// Migrations returns the store's schema migrations, for sqlitedb.Migrate.;
// the audit log's must be applied too.
func Migrations() sqlitedb.Set { return sqlitedb.Embedded(Component, migrations) }

// Store implements accounts.Store.
type Store struct{ db *sql.DB }

var _ accounts.Store = (*Store)(nil)

// New returns the store over db.
func New(db *sql.DB) *Store { return &Store{db: db} }

func formatInstant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseInstant(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func (s *Store) withTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlitedb.WithTx(ctx, s.db, fn)
}

func audit(ctx context.Context, tx *sql.Tx, actor, action string, details any) error {
	raw, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = auditsqlite.Append(ctx, tx, auditlog.Entry{At: time.Now().UTC(), Actor: actor, Action: action, Details: raw})
	return err
}

func joinRoles(rs []accounts.Role) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return strings.Join(out, ",")
}

func splitRoles(s string) []accounts.Role {
	var out []accounts.Role
	for _, r := range strings.Split(s, ",") {
		if r != "" {
			out = append(out, accounts.Role(r))
		}
	}
	return out
}

// CreateUser implements accounts.Store.
func (s *Store) CreateUser(ctx context.Context, actor string, u accounts.User, hash string) (accounts.User, error) {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (username, name, roles, organisation, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, u.Username, u.Name, joinRoles(u.Roles), u.Organisation, hash,
			formatInstant(u.CreatedAt)).Scan(&u.ID)
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed") {
				return fmt.Errorf("%w: username: %q is taken", accounts.ErrConflict, u.Username)
			}
			return err
		}
		return audit(ctx, tx, actor, "user.added", map[string]any{"username": u.Username, "name": u.Name,
			"roles": joinRoles(u.Roles), "organisation": u.Organisation})
	})
	return u, err
}

const userColumns = `id, username, name, roles, organisation, created_at, disabled`

func scanUser(sc interface{ Scan(...any) error }, extra ...any) (accounts.User, error) {
	var u accounts.User
	var roles, created string
	dest := append([]any{&u.ID, &u.Username, &u.Name, &roles, &u.Organisation, &created, &u.Disabled}, extra...)
	if err := sc.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return u, accounts.ErrNotFound
		}
		return u, err
	}
	u.Roles, u.CreatedAt = splitRoles(roles), parseInstant(created)
	return u, nil
}

// UserByUsername implements accounts.Store.
func (s *Store) UserByUsername(ctx context.Context, username string) (accounts.User, string, error) {
	var hash string
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE username = ?`, username), &hash)
	if err != nil {
		return u, "", fmt.Errorf("user %q: %w", username, err)
	}
	return u, hash, nil
}

// UserByID implements accounts.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (accounts.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return u, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// SetDisabled implements accounts.Store.
func (s *Store) SetDisabled(ctx context.Context, actor string, id int64, disabled bool) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var username string
		if err := tx.QueryRowContext(ctx, `UPDATE users SET disabled = ? WHERE id = ? RETURNING username`, disabled, id).Scan(&username); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("user %d: %w", id, accounts.ErrNotFound)
			}
			return err
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		action := "user.enabled"
		if disabled {
			action = "user.disabled"
		}
		return audit(ctx, tx, actor, action, map[string]any{"username": username})
	})
}

// RecordAttempt implements accounts.Store.
func (s *Store) RecordAttempt(ctx context.Context, username, client string, at time.Time, ok bool) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO login_attempts (username, client, at, ok) VALUES (?, ?, ?, ?)`,
		username, client, formatInstant(at), ok)
	return err
}

// Failures implements accounts.Store.
func (s *Store) Failures(ctx context.Context, username, client string, since time.Time) (accounts.Failures, error) {
	var f accounts.Failures
	var pairOldest, clientLast sql.NullString
	at := formatInstant(since)
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM login_attempts WHERE username = ? AND client = ? AND ok = 0 AND at > ?`,
		username, client, at).Scan(&f.Pair, &pairOldest); err != nil {
		return f, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(ok = 0), 0), MAX(at) FROM login_attempts WHERE client = ? AND at > ?`,
		client, at).Scan(&f.Client, &clientLast); err != nil {
		return f, err
	}
	f.PairOldest, f.ClientLast = parseInstant(pairOldest.String), parseInstant(clientLast.String)
	return f, nil
}

// CreateSession implements accounts.Store.
func (s *Store) CreateSession(ctx context.Context, st accounts.StoredSession) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)`,
		st.TokenHash, st.UserID, st.CSRF, formatInstant(st.CreatedAt), formatInstant(st.LastSeen))
	return err
}

// SessionByHash implements accounts.Store.
func (s *Store) SessionByHash(ctx context.Context, hash string) (accounts.StoredSession, error) {
	st := accounts.StoredSession{TokenHash: hash}
	var created, seen string
	err := s.db.QueryRowContext(ctx, `SELECT user_id, csrf, created_at, last_seen FROM sessions WHERE token_hash = ?`, hash).
		Scan(&st.UserID, &st.CSRF, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return st, accounts.ErrNoSession
	}
	st.CreatedAt, st.LastSeen = parseInstant(created), parseInstant(seen)
	return st, err
}

// TouchSession implements accounts.Store.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE token_hash = ?`, formatInstant(at), hash)
	return err
}

// DeleteSession implements accounts.Store.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return err
}

// CreateToken implements accounts.Store.
func (s *Store) CreateToken(ctx context.Context, actor string, t accounts.APIToken, hash string) (accounts.APIToken, error) {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, label, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			t.UserID, t.Label, hash, formatInstant(t.CreatedAt)).Scan(&t.ID); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "token.created", map[string]any{"token": t.ID, "user": t.UserID, "label": t.Label})
	})
	return t, err
}

// TokenByHash implements accounts.Store.
func (s *Store) TokenByHash(ctx context.Context, hash string) (accounts.APIToken, error) {
	var t accounts.APIToken
	var created string
	err := s.db.QueryRowContext(ctx, `SELECT id, user_id, label, created_at, revoked FROM api_tokens WHERE token_hash = ?`, hash).
		Scan(&t.ID, &t.UserID, &t.Label, &created, &t.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, accounts.ErrNoSession
	}
	t.CreatedAt = parseInstant(created)
	return t, err
}

// RevokeToken implements accounts.Store.
func (s *Store) RevokeToken(ctx context.Context, actor string, id int64) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("API token %d: %w", id, accounts.ErrNotFound)
		}
		return audit(ctx, tx, actor, "token.revoked", map[string]any{"token": id})
	})
}

// ListUsers implements accounts.Store.
func (s *Store) ListUsers(ctx context.Context) ([]accounts.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []accounts.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetRoles implements accounts.Store.
func (s *Store) SetRoles(ctx context.Context, actor string, id int64, roles []accounts.Role, organisation string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var username, before, orgBefore string
		if err := tx.QueryRowContext(ctx, `SELECT username, roles, organisation FROM users WHERE id = ?`, id).Scan(&username, &before, &orgBefore); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("user %d: %w", id, accounts.ErrNotFound)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET roles = ?, organisation = ? WHERE id = ?`, joinRoles(roles), organisation, id); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "user.roles-changed", map[string]any{"username": username, "rolesBefore": before, "roles": joinRoles(roles),
			"organisationBefore": orgBefore, "organisation": organisation})
	})
}

// ListTokens implements accounts.Store.
func (s *Store) ListTokens(ctx context.Context, userID int64) ([]accounts.APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, label, created_at, revoked FROM api_tokens
		WHERE ? = 0 OR user_id = ? ORDER BY id DESC`, userID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []accounts.APIToken
	for rows.Next() {
		var t accounts.APIToken
		var created string
		if err := rows.Scan(&t.ID, &t.UserID, &t.Label, &created, &t.Revoked); err != nil {
			return nil, err
		}
		t.CreatedAt = parseInstant(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetPassword implements accounts.Store.
func (s *Store) SetPassword(ctx context.Context, actor string, id int64, hash, keep string) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		var username string
		if err := tx.QueryRowContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? RETURNING username`, hash, id).Scan(&username); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("user %d: %w", id, accounts.ErrNotFound)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, id, keep); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "user.password-changed", map[string]any{"username": username})
	})
}
