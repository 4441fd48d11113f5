package accountsqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/accounts"
	"github.com/candour/candour/publisher/accounts/accountsqlite"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// cheap argon2id costs keep the tests fast; production uses DefaultParams.
var cheap = accounts.Params{Memory: 64, Time: 1, Threads: 1}

func newService(t *testing.T) (*accounts.Service, *clock, *auditsqlite.Log) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, auditsqlite.Migrations(),
		accountsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	return accounts.New(accountsqlite.New(db), accounts.Options{Now: c.Now, Params: cheap}), c, auditsqlite.New(db)
}

const pw = "correct horse battery"

func TestPasswordHashing(t *testing.T) {
	phc, err := accounts.HashPassword(pw, cheap)
	if err != nil || !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("PHC string %q (%v)", phc, err)
	}
	if ok, err := accounts.CheckPassword(phc, pw); !ok || err != nil {
		t.Errorf("right password refused: %v", err)
	}
	if ok, _ := accounts.CheckPassword(phc, pw+"!"); ok {
		t.Error("wrong password accepted")
	}
	other, _ := accounts.HashPassword(pw, cheap)
	if other == phc {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x$AAAA$AAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA"} {
		if _, err := accounts.CheckPassword(bad, pw); err == nil {
			t.Errorf("CheckPassword(%q) accepted a malformed hash", bad)
		}
	}
}

func TestUsersSessionsAndTokens(t *testing.T) {
	ctx := context.Background()
	svc, c, log := newService(t)
	for _, bad := range []struct {
		u    accounts.User
		pw   string
		want string
	}{
		{accounts.User{Username: "A B", Name: "x", Roles: []accounts.Role{accounts.RoleReviewer}}, pw, "username"},
		{accounts.User{Username: "ann", Roles: []accounts.Role{accounts.RoleReviewer}}, pw, "name"},
		{accounts.User{Username: "ann", Name: "Ann", Roles: []accounts.Role{"king"}}, pw, "roles"},
		{accounts.User{Username: "ann", Name: "Ann", Roles: []accounts.Role{accounts.RolePublisher}}, pw, "organisation"},
		{accounts.User{Username: "ann", Name: "Ann", Roles: []accounts.Role{accounts.RoleReviewer}}, "short", "password"},
	} {
		if _, err := svc.AddUser(ctx, "test", bad.u, bad.pw); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("AddUser(%+v): %v, want an error naming %s", bad.u, err, bad.want)
		}
	}
	u, err := svc.AddUser(ctx, "test", accounts.User{Username: "Ann", Name: "Ann Reviewer", Roles: []accounts.Role{accounts.RoleReviewer}}, pw)
	if err != nil || u.Username != "ann" {
		t.Fatalf("AddUser: %+v %v", u, err)
	}
	if _, err := svc.AddUser(ctx, "test", accounts.User{Username: "ann", Name: "Other", Roles: []accounts.Role{accounts.RoleReviewer}}, pw); !errors.Is(err, accounts.ErrConflict) {
		t.Errorf("duplicate username: %v", err)
	}

	if _, _, err := svc.Login(ctx, "ann", "wrong password", "10.0.0.1"); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	token, sess, err := svc.Login(ctx, "ANN", pw, "10.0.0.1")
	if err != nil || sess.CSRF == "" || token == "" {
		t.Fatalf("login: %v", err)
	}
	token2, sess2, _ := svc.Login(ctx, "ann", pw, "10.0.0.1")
	if sess2.CSRF == sess.CSRF || token2 == token {
		t.Error("two sessions share a token or anti-forgery token")
	}
	got, err := svc.Session(ctx, token)
	if err != nil || got.User.Username != "ann" || got.CSRF != sess.CSRF {
		t.Fatalf("session: %+v %v", got, err)
	}
	// Idle timeout: two hours without a request ends the session.
	c.Advance(2*time.Hour + time.Minute)
	if _, err := svc.Session(ctx, token); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("idle session still valid: %v", err)
	}
	// Lifetime: twelve hours even when busy.
	token, _, _ = svc.Login(ctx, "ann", pw, "10.0.0.1")
	for i := 0; i < 13; i++ {
		c.Advance(time.Hour)
		_, err = svc.Session(ctx, token)
	}
	if !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("session older than its lifetime still valid: %v", err)
	}
	token, _, _ = svc.Login(ctx, "ann", pw, "10.0.0.1")
	if err := svc.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Session(ctx, token); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("session valid after logout: %v", err)
	}

	// API tokens: shown once, stored hashed, revocable.
	secret, tok, err := svc.CreateAPIToken(ctx, "test", u.ID, "nightly upload")
	if err != nil || !strings.HasPrefix(secret, accounts.APITokenPrefix) {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if who, err := svc.AuthenticateToken(ctx, secret); err != nil || who.ID != u.ID {
		t.Errorf("AuthenticateToken: %+v %v", who, err)
	}
	if _, err := svc.AuthenticateToken(ctx, secret+"x"); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("a wrong token authenticated: %v", err)
	}
	if err := svc.RevokeAPIToken(ctx, "test", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateToken(ctx, secret); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("a revoked token authenticated: %v", err)
	}

	// Disabling ends sessions and refuses logins.
	token, _, _ = svc.Login(ctx, "ann", pw, "10.0.0.1")
	if err := svc.SetDisabled(ctx, "test", "ann", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Session(ctx, token); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("a disabled user's session is valid: %v", err)
	}
	if _, _, err := svc.Login(ctx, "ann", pw, "10.0.0.1"); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Errorf("a disabled user logged in: %v", err)
	}

	// Every account change is in the audit log, which verifies.
	head, err := log.Verify(ctx)
	if err != nil || head.Seq != 4 { // added, token created, token revoked, disabled; logins are not audited
		t.Errorf("audit log: %+v %v", head, err)
	}
}

func TestLoginThrottling(t *testing.T) {
	ctx := context.Background()
	svc, c, _ := newService(t)
	if _, err := svc.AddUser(ctx, "test", accounts.User{Username: "pat", Name: "Pat", Roles: []accounts.Role{accounts.RoleAdministrator}}, pw); err != nil {
		t.Fatal(err)
	}
	var th *accounts.ThrottledError
	for i := 0; i < accounts.MaxFailuresPerPair; i++ {
		if _, _, err := svc.Login(ctx, "pat", "guess number one", "10.0.0.2"); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		c.Advance(time.Minute)
	}
	// From that address, even the right password is refused now, without
	// being checked.
	_, _, err := svc.Login(ctx, "pat", pw, "10.0.0.2")
	if !errors.As(err, &th) || th.RetryAfter <= 0 || th.RetryAfter > accounts.ThrottleWindow {
		t.Fatalf("sixth attempt from the same address: %v, want throttled", err)
	}
	// Failing as pat from one address does not lock pat out elsewhere.
	if _, _, err := svc.Login(ctx, "pat", pw, "10.0.0.3"); err != nil {
		t.Errorf("pat from another address after someone else's failures: %v", err)
	}
	c.Advance(th.RetryAfter + time.Second)
	if _, _, err := svc.Login(ctx, "pat", pw, "10.0.0.2"); err != nil {
		t.Errorf("after the window: %v", err)
	}

	// Spraying from one address (twenty failures for any usernames) slows
	// the address: one attempt per ClientSlowdown, not a lockout.
	for i := 0; i < accounts.MaxFailuresPerClient; i++ {
		svc.Login(ctx, "nobody"+string(rune('a'+i)), "guess", "10.9.9.9")
	}
	if _, _, err := svc.Login(ctx, "pat", pw, "10.9.9.9"); !errors.As(err, &th) || th.RetryAfter > accounts.ClientSlowdown {
		t.Fatalf("right after 20 failures from one address: %v, want a wait of at most %s", err, accounts.ClientSlowdown)
	}
	c.Advance(accounts.ClientSlowdown)
	if _, _, err := svc.Login(ctx, "pat", pw, "10.9.9.9"); err != nil {
		t.Errorf("a known user behind the spraying address, %s later: %v (slowed, not locked)", accounts.ClientSlowdown, err)
	}
	if _, _, err := svc.Login(ctx, "nobodyz", "guess", "10.9.9.9"); !errors.As(err, &th) {
		t.Errorf("the next attempt at once: %v, want throttled", err)
	}
	if _, _, err := svc.Login(ctx, "pat", pw, "10.0.0.4"); err != nil {
		t.Errorf("another address is throttled too: %v", err)
	}
}

// Administration: roles change at once for live sessions, tokens are
// listed without secrets and revoked only by their owner (or for anyone
// by an administrator), a password change needs the current password and
// ends the other sessions, and each change is audited.
func TestAccountAdministration(t *testing.T) {
	ctx := context.Background()
	svc, _, log := newService(t)
	pam, err := svc.AddUser(ctx, "root", accounts.User{Username: "pam", Name: "Pam Publisher", Roles: []accounts.Role{accounts.RolePublisher}, Organisation: "nhs-x"}, pw)
	if err != nil {
		t.Fatal(err)
	}
	rob, err := svc.AddUser(ctx, "root", accounts.User{Username: "rob", Name: "Rob Reviewer", Roles: []accounts.Role{accounts.RoleReviewer}}, pw)
	if err != nil {
		t.Fatal(err)
	}
	users, err := svc.Users(ctx)
	if err != nil || len(users) != 2 || users[0].Username != "pam" || users[1].Username != "rob" {
		t.Fatalf("Users: %+v %v", users, err)
	}

	keep, _, err := svc.Login(ctx, "pam", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := svc.Login(ctx, "pam", pw, "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetRoles(ctx, "root", "pam", []accounts.Role{accounts.RoleReviewer}, ""); err != nil {
		t.Fatal(err)
	}
	if s, err := svc.Session(ctx, keep); err != nil || !s.User.Has(accounts.RoleReviewer) || s.User.Has(accounts.RolePublisher) {
		t.Errorf("a live session after the roles changed: %+v %v", s.User, err)
	}
	if err := svc.SetRoles(ctx, "root", "pam", []accounts.Role{accounts.RoleProviderChecker}, ""); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "organisation") {
		t.Errorf("a provider checker without an organisation: %v", err)
	}

	_, pamToken, err := svc.CreateAPIToken(ctx, "pam", pam.ID, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateAPIToken(ctx, "rob", rob.ID, "robs"); err != nil {
		t.Fatal(err)
	}
	if mine, err := svc.Tokens(ctx, pam.ID); err != nil || len(mine) != 1 || mine[0].Label != "nightly" {
		t.Errorf("pam's tokens: %+v %v", mine, err)
	}
	if all, err := svc.Tokens(ctx, 0); err != nil || len(all) != 2 {
		t.Errorf("every token: %+v %v", all, err)
	}
	if err := svc.RevokeUserToken(ctx, "rob", rob.ID, pamToken.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("rob revoking pam's token: %v, want ErrNotFound", err)
	}
	if err := svc.RevokeUserToken(ctx, "pam", pam.ID, pamToken.ID); err != nil {
		t.Fatal(err)
	}
	if mine, _ := svc.Tokens(ctx, pam.ID); len(mine) != 1 || !mine[0].Revoked {
		t.Errorf("after revoking: %+v", mine)
	}

	const next = "another horse battery staple"
	if err := svc.ChangePassword(ctx, "pam", "not the password", next, keep); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "current-password") {
		t.Errorf("a wrong current password: %v", err)
	}
	if err := svc.ChangePassword(ctx, "pam", pw, "short", keep); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "new-password") {
		t.Errorf("a short new password: %v", err)
	}
	if err := svc.ChangePassword(ctx, "pam", pw, next, keep); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Session(ctx, keep); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
	if _, err := svc.Session(ctx, other); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("another session survived the password change: %v", err)
	}
	if _, _, err := svc.Login(ctx, "pam", next, "10.0.0.1"); err != nil {
		t.Errorf("signing in with the new password: %v", err)
	}

	var actions []string
	for e, err := range log.Entries(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"user.roles-changed", "token.revoked", "user.password-changed"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s audit entry in %v", want, actions)
		}
	}
}
