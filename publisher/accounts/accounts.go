// Package accounts owns who may sign in to Candour's workspace and what
// they may do there: users with roles (publisher, reviewer, provider
// checker, administrator) and an organisation, passwords hashed with
// argon2id, sessions with anti-forgery tokens, API tokens for programmatic
// uploads, and login throttling.
//
// Secrets are never stored: passwords only as argon2id hashes (PHC
// strings), session and API tokens only as their SHA-256. Every change to
// an account is written to the audit log in the same transaction by the
// Store.
//
// It must not decide what a role may do to a release (package publisher's
// rule book does), and it never serves anything.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Role is what an account may do.
type Role string

// Roles.
const (
	RolePublisher       Role = "publisher"
	RoleReviewer        Role = "reviewer"
	RoleProviderChecker Role = "provider-checker"
	RoleAdministrator   Role = "administrator"
)

// Roles lists every role.
var Roles = []Role{RolePublisher, RoleReviewer, RoleProviderChecker, RoleAdministrator}

// User is an account.
type User struct {
	ID           int64
	Username     string
	Name         string // shown publicly, e.g. as an approver
	Roles        []Role
	Organisation string // publisher slug, or a provider checker's ODS code
	CreatedAt    time.Time
	Disabled     bool
}

// Has reports whether the user holds role r.
func (u User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// Errors. Test with errors.Is.
var (
	ErrInvalidCredentials = errors.New("the username or password is not right")
	ErrInvalid            = errors.New("invalid")
	ErrConflict           = errors.New("already exists")
	ErrNotFound           = errors.New("not found")
	ErrNoSession          = errors.New("no such session, or it has ended")
)

// ThrottledError refuses a login after too many failures.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-in attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9._@-]{3,64}$`)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// Validate checks a new user; the error names the field.
func (u User) Validate() error {
	if !usernamePattern.MatchString(u.Username) {
		return fmt.Errorf("%w: username: %q must be 3–64 characters of a-z 0-9 . _ @ -", ErrInvalid, u.Username)
	}
	if strings.TrimSpace(u.Name) == "" {
		return fmt.Errorf("%w: name: required (it is shown when the user approves a release)", ErrInvalid)
	}
	if len(u.Roles) == 0 {
		return fmt.Errorf("%w: roles: at least one of publisher, reviewer, provider-checker, administrator", ErrInvalid)
	}
	for _, r := range u.Roles {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("%w: roles: %q is not a role", ErrInvalid, r)
		}
	}
	if (u.Has(RolePublisher) || u.Has(RoleProviderChecker)) && strings.TrimSpace(u.Organisation) == "" {
		return fmt.Errorf("%w: organisation: publishers and provider checkers act for an organisation", ErrInvalid)
	}
	return nil
}

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams follow RFC 9106's second recommended option (64 MiB).
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 4}

const saltBytes, keyBytes = 16, 32

// HashPassword returns an argon2id PHC string for password.
func HashPassword(password string, p Params) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyBytes)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a PHC string, comparing
// in constant time.
func CheckPassword(phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, fmt.Errorf("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Time == 0 || p.Threads == 0 {
		return false, fmt.Errorf("password hash: bad parameters %q", parts[3])
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("password hash: bad salt: %w", err)
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("password hash: bad key")
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Session is a signed-in user.
type Session struct {
	User      User
	CSRF      string // anti-forgery token for the session's forms
	CreatedAt time.Time
	LastSeen  time.Time
}

// StoredSession is a session as stored: keyed by the SHA-256 of its token.
type StoredSession struct {
	TokenHash string
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	LastSeen  time.Time
}

// APIToken is a token for programmatic uploads (its secret is shown once).
type APIToken struct {
	ID        int64
	UserID    int64
	Label     string
	CreatedAt time.Time
	Revoked   bool
}

// Store keeps accounts. Writes that change an account also append an
// audit entry, by actor, in the same transaction.
type Store interface {
	CreateUser(ctx context.Context, actor string, u User, passwordHash string) (User, error) // ErrConflict if taken
	UserByUsername(ctx context.Context, username string) (User, string, error)               // with password hash; ErrNotFound
	UserByID(ctx context.Context, id int64) (User, error)
	SetDisabled(ctx context.Context, actor string, userID int64, disabled bool) error // also ends the user's sessions
	RecordAttempt(ctx context.Context, username, client string, at time.Time, ok bool) error
	// Failures counts failed attempts since an instant by the username and
	// client together and by the client alone.
	Failures(ctx context.Context, username, client string, since time.Time) (Failures, error)
	CreateSession(ctx context.Context, s StoredSession) error
	SessionByHash(ctx context.Context, tokenHash string) (StoredSession, error) // ErrNoSession
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	CreateToken(ctx context.Context, actor string, t APIToken, tokenHash string) (APIToken, error)
	TokenByHash(ctx context.Context, tokenHash string) (APIToken, error) // ErrNoSession
	RevokeToken(ctx context.Context, actor string, id int64) error
	// ListUsers returns every account, by username.
	ListUsers(ctx context.Context) ([]User, error)
	// SetRoles sets an account's roles and organisation.
	SetRoles(ctx context.Context, actor string, userID int64, roles []Role, organisation string) error
	// ListTokens returns a user's API tokens (every user's for 0), newest
	// first, never their secrets.
	ListTokens(ctx context.Context, userID int64) ([]APIToken, error)
	// SetPassword replaces an account's password hash and ends its
	// sessions other than the one whose token hash is keep.
	SetPassword(ctx context.Context, actor string, userID int64, hash, keep string) error
}

// Service signs people in and manages accounts.
type Service struct {
	store Store
	now   func() time.Time
	// Params are the argon2id costs for new passwords.
	params Params
	// IdleTimeout and Lifetime bound a session.
	idle, lifetime time.Duration
	dummy          string // a hash to check against for unknown users
}

// Options configure a Service.
type Options struct {
	Now         func() time.Time
	Params      Params        // default DefaultParams
	IdleTimeout time.Duration // default 2 hours
	Lifetime    time.Duration // default 12 hours
}

// Failures is what throttling knows of recent failed sign-ins.
type Failures struct {
	Pair       int       // by this username from this client address
	PairOldest time.Time // the oldest of those (zero when none)
	Client     int       // from this client address, any username
	ClientLast time.Time // the newest attempt from the address, failed or not (zero when none)
}

// Throttling limits, within ThrottleWindow. Failures are counted per
// username and client address together, so nobody can lock another
// person out by failing to sign in as them from elsewhere: a pair is
// refused for the rest of the window after MaxFailuresPerPair. An address
// with MaxFailuresPerClient failures (password spraying across usernames)
// is slowed, not locked: it may try once every ClientSlowdown, so people
// who share the address (an office behind one gateway) still get in.
const (
	MaxFailuresPerPair   = 5
	MaxFailuresPerClient = 20
	ThrottleWindow       = 15 * time.Minute
	ClientSlowdown       = 30 * time.Second
)

// New returns a Service over store.
func New(store Store, o Options) *Service {
	s := &Service{store: store, now: o.Now, params: o.Params, idle: o.IdleTimeout, lifetime: o.Lifetime}
	if s.now == nil {
		s.now = time.Now
	}
	if s.params == (Params{}) {
		s.params = DefaultParams
	}
	if s.idle == 0 {
		s.idle = 2 * time.Hour
	}
	if s.lifetime == 0 {
		s.lifetime = 12 * time.Hour
	}
	s.dummy, _ = HashPassword("not a password of anyone's", s.params)
	return s
}

// AddUser creates an account; actor is who creates it (for the audit log).
func (s *Service) AddUser(ctx context.Context, actor string, u User, password string) (User, error) {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	if err := u.Validate(); err != nil {
		return u, err
	}
	if len([]rune(password)) < MinPasswordLength {
		return u, fmt.Errorf("%w: password: at least %d characters", ErrInvalid, MinPasswordLength)
	}
	hash, err := HashPassword(password, s.params)
	if err != nil {
		return u, err
	}
	u.CreatedAt = s.now().UTC()
	return s.store.CreateUser(ctx, actor, u, hash)
}

// SetDisabled disables or re-enables an account; disabling ends its
// sessions.
func (s *Service) SetDisabled(ctx context.Context, actor, username string, disabled bool) error {
	u, _, err := s.store.UserByUsername(ctx, strings.ToLower(username))
	if err != nil {
		return err
	}
	return s.store.SetDisabled(ctx, actor, u.ID, disabled)
}

func randomToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Login checks a password and starts a session, returning its token. After
// too many failures (see MaxFailuresPerPair and MaxFailuresPerClient) it
// refuses with a *ThrottledError without checking the password.
func (s *Service) Login(ctx context.Context, username, password, client string) (string, Session, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	now := s.now().UTC()
	f, err := s.store.Failures(ctx, username, client, now.Add(-ThrottleWindow))
	if err != nil {
		return "", Session{}, err
	}
	if wait := throttledFor(f, now); wait > 0 {
		return "", Session{}, &ThrottledError{RetryAfter: wait}
	}
	u, hash, err := s.store.UserByUsername(ctx, username)
	if errors.Is(err, ErrNotFound) {
		CheckPassword(s.dummy, password) // the same work as for a real user
		hash = ""
	} else if err != nil {
		return "", Session{}, err
	}
	ok := false
	if hash != "" {
		if ok, err = CheckPassword(hash, password); err != nil {
			return "", Session{}, err
		}
	}
	if ok && u.Disabled {
		ok = false
	}
	if err := s.store.RecordAttempt(ctx, username, client, now, ok); err != nil {
		return "", Session{}, err
	}
	if !ok {
		return "", Session{}, ErrInvalidCredentials
	}
	token := randomToken("")
	st := StoredSession{TokenHash: hashToken(token), UserID: u.ID, CSRF: randomToken(""), CreatedAt: now, LastSeen: now}
	if err := s.store.CreateSession(ctx, st); err != nil {
		return "", Session{}, err
	}
	return token, Session{User: u, CSRF: st.CSRF, CreatedAt: now, LastSeen: now}, nil
}

// throttledFor is how long a sign-in with these recent failures must wait
// (0: it may go ahead).
func throttledFor(f Failures, now time.Time) time.Duration {
	var wait time.Duration
	if f.Pair >= MaxFailuresPerPair {
		wait = f.PairOldest.Add(ThrottleWindow).Sub(now)
	}
	if f.Client >= MaxFailuresPerClient {
		wait = max(wait, f.ClientLast.Add(ClientSlowdown).Sub(now))
	}
	return max(wait, 0)
}

// Session returns the live session a token names, extending its idle
// timeout, or ErrNoSession.
func (s *Service) Session(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, ErrNoSession
	}
	h := hashToken(token)
	st, err := s.store.SessionByHash(ctx, h)
	if err != nil {
		return Session{}, err
	}
	now := s.now().UTC()
	if now.Sub(st.LastSeen) > s.idle || now.Sub(st.CreatedAt) > s.lifetime {
		s.store.DeleteSession(ctx, h)
		return Session{}, ErrNoSession
	}
	u, err := s.store.UserByID(ctx, st.UserID)
	if err != nil {
		return Session{}, err
	}
	if u.Disabled {
		s.store.DeleteSession(ctx, h)
		return Session{}, ErrNoSession
	}
	if now.Sub(st.LastSeen) > time.Minute {
		if err := s.store.TouchSession(ctx, h, now); err != nil {
			return Session{}, err
		}
	}
	return Session{User: u, CSRF: st.CSRF, CreatedAt: st.CreatedAt, LastSeen: now}, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.DeleteSession(ctx, hashToken(token))
}

// APITokenPrefix starts every API token, so a leaked one is recognisable.
const APITokenPrefix = "cnd_"

// CreateAPIToken makes an API token for a user and returns its secret,
// which is shown once and stored only as a hash.
func (s *Service) CreateAPIToken(ctx context.Context, actor string, userID int64, label string) (string, APIToken, error) {
	if strings.TrimSpace(label) == "" {
		return "", APIToken{}, fmt.Errorf("%w: label: say what the token is for", ErrInvalid)
	}
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return "", APIToken{}, err
	}
	secret := randomToken(APITokenPrefix)
	t, err := s.store.CreateToken(ctx, actor, APIToken{UserID: userID, Label: label, CreatedAt: s.now().UTC()}, hashToken(secret))
	return secret, t, err
}

// AuthenticateToken returns the user an API token belongs to, or
// ErrNoSession for an unknown or revoked token or a disabled user.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (User, error) {
	if !strings.HasPrefix(token, APITokenPrefix) {
		return User{}, ErrNoSession
	}
	t, err := s.store.TokenByHash(ctx, hashToken(token))
	if err != nil {
		return User{}, err
	}
	if t.Revoked {
		return User{}, ErrNoSession
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return User{}, err
	}
	if u.Disabled {
		return User{}, ErrNoSession
	}
	return u, nil
}

// Users lists every account, by username.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.ListUsers(ctx) }

// SetRoles changes an account's roles and organisation, checked as for a
// new account; the change applies to its sessions at once.
func (s *Service) SetRoles(ctx context.Context, actor, username string, roles []Role, organisation string) error {
	u, _, err := s.store.UserByUsername(ctx, strings.ToLower(username))
	if err != nil {
		return err
	}
	u.Roles, u.Organisation = roles, strings.TrimSpace(organisation)
	if err := u.Validate(); err != nil {
		return err
	}
	return s.store.SetRoles(ctx, actor, u.ID, u.Roles, u.Organisation)
}

// Tokens lists a user's API tokens (every user's for 0).
func (s *Service) Tokens(ctx context.Context, userID int64) ([]APIToken, error) {
	return s.store.ListTokens(ctx, userID)
}

// RevokeUserToken revokes API token id, which must belong to userID
// (any user's when userID is 0: an administrator's revocation).
func (s *Service) RevokeUserToken(ctx context.Context, actor string, userID, id int64) error {
	tokens, err := s.store.ListTokens(ctx, userID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(tokens, func(t APIToken) bool { return t.ID == id }) {
		return fmt.Errorf("API token %d: %w", id, ErrNotFound)
	}
	return s.store.RevokeToken(ctx, actor, id)
}

// ChangePassword sets a new password for username, who must give the
// current one; every other session of theirs ends (keepToken, the
// session making the change, stays).
func (s *Service) ChangePassword(ctx context.Context, username, current, next, keepToken string) error {
	u, hash, err := s.store.UserByUsername(ctx, strings.ToLower(username))
	if err != nil {
		return err
	}
	if ok, err := CheckPassword(hash, current); err != nil || !ok {
		return fmt.Errorf("%w: current-password: that is not your current password", ErrInvalid)
	}
	if len([]rune(next)) < MinPasswordLength {
		return fmt.Errorf("%w: new-password: at least %d characters", ErrInvalid, MinPasswordLength)
	}
	if next == current {
		return fmt.Errorf("%w: new-password: choose a password other than the current one", ErrInvalid)
	}
	newHash, err := HashPassword(next, s.params)
	if err != nil {
		return err
	}
	return s.store.SetPassword(ctx, u.Username, u.ID, newHash, hashToken(keepToken))
}

// RevokeAPIToken revokes a token.
func (s *Service) RevokeAPIToken(ctx context.Context, actor string, id int64) error {
	return s.store.RevokeToken(ctx, actor, id)
}

// UserByUsername returns an account.
func (s *Service) UserByUsername(ctx context.Context, username string) (User, error) {
	u, _, err := s.store.UserByUsername(ctx, strings.ToLower(username))
	return u, err
}
