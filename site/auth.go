package site

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/publisher"
)

// Auth is account authentication as the site uses it; cmd adapts package
// accounts to it. The site never sees a password hash or stores a secret.
type Auth interface {
	// Login checks a username and password from a client address and
	// returns a new session token. Errors: ErrBadLogin, *ThrottledError.
	Login(ctx context.Context, username, password, client string) (token string, err error)
	// Session returns the session a token names, or ErrNoSession.
	Session(ctx context.Context, token string) (Session, error)
	// Logout ends a session.
	Logout(ctx context.Context, token string) error
	// APIToken returns the actor an API token belongs to, or ErrNoSession.
	APIToken(ctx context.Context, token string) (publisher.Actor, error)
}

// Session is a signed-in person.
type Session struct {
	Actor publisher.Actor
	CSRF  string // the session's anti-forgery token
}

// Errors of Auth.
var (
	ErrBadLogin  = errors.New("the username or password is not right")
	ErrNoSession = errors.New("not signed in")
)

// ThrottledError says sign-in is refused for a while after failed attempts.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-in attempts; try again in %s", roundUp(e.RetryAfter))
}

func roundUp(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

const (
	sessionCookie    = "candour_session"
	loginCSRFCookie  = "candour_login_csrf"
	localSession     = "session"
	csrfField        = "csrf"
	csrfHeader       = "X-CSRF-Token"
	sessionCookieAge = 12 * time.Hour
)

func setCookie(c *fiber.Ctx, name, value string, maxAge time.Duration) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
}

func clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

var errForbiddenForm = &userError{status: http.StatusForbidden,
	message: "The form could not be accepted: it has expired or did not come from this site. Go back, reload the page and try again."}

// requireSession lets a request through only with a valid session, and a
// state-changing request only with the session's anti-forgery token.
// Pages behind it are never cached.
func (s *Site) requireSession(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	token := c.Cookies(sessionCookie)
	sess, err := s.deps.Auth.Session(c.UserContext(), token)
	if errors.Is(err, ErrNoSession) || token == "" {
		if c.Method() == fiber.MethodGet {
			return c.Redirect("/account/login?next="+url.QueryEscape(c.OriginalURL()), http.StatusSeeOther)
		}
		return &userError{status: http.StatusForbidden, message: "You are not signed in, or your session has ended. Sign in and try again."}
	}
	if err != nil {
		return err
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		if !sameToken(sess.CSRF, c.FormValue(csrfField)) && !sameToken(sess.CSRF, c.Get(csrfHeader)) {
			return errForbiddenForm
		}
	}
	c.Locals(localSession, sess)
	return c.Next()
}

func session(c *fiber.Ctx) Session {
	sess, _ := c.Locals(localSession).(Session)
	return sess
}

// requireAPIToken authenticates API requests by bearer token. Tokens are
// not cookies, so a browser never sends one on its own and no anti-forgery
// token is needed.
func (s *Site) requireAPIToken(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	auth := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="candour"`)
		return apiError(c, http.StatusUnauthorized, "an API token is required: send it as Authorization: Bearer <token>", nil)
	}
	actor, err := s.deps.Auth.APIToken(c.UserContext(), token)
	if errors.Is(err, ErrNoSession) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="candour", error="invalid_token"`)
		return apiError(c, http.StatusUnauthorized, "the API token is not valid, or has been revoked", nil)
	}
	if err != nil {
		return err
	}
	c.Locals(localSession, Session{Actor: actor})
	return c.Next()
}

type loginPage struct {
	layout
	CSRF     string
	Next     string
	Username string
	Error    string
}

func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/workspace"
	}
	return next
}

func (s *Site) loginForm(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	token := randomToken()
	setCookie(c, loginCSRFCookie, token, time.Hour)
	return s.render(c, "login", loginPage{layout: s.layout(c, "Sign in"), CSRF: token, Next: safeNext(c.Query("next"))})
}

func (s *Site) login(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	// Login forgery is refused with a double-submitted token: the form's
	// hidden field must match the cookie set with the form.
	if !sameToken(c.Cookies(loginCSRFCookie), c.FormValue(csrfField)) {
		return errForbiddenForm
	}
	username := strings.TrimSpace(c.FormValue("username"))
	next := safeNext(c.FormValue("next"))
	token, err := s.deps.Auth.Login(c.UserContext(), username, c.FormValue("password"), s.clientAddress(c))
	var throttled *ThrottledError
	switch {
	case err == nil:
		clearCookie(c, loginCSRFCookie)
		setCookie(c, sessionCookie, token, sessionCookieAge)
		return c.Redirect(next, http.StatusSeeOther)
	case errors.Is(err, ErrBadLogin), errors.As(err, &throttled):
		status := http.StatusUnauthorized
		if throttled != nil {
			status = http.StatusTooManyRequests
			c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(throttled.RetryAfter.Seconds())+1))
		}
		c.Status(status)
		msg := "The username or password is not right."
		if throttled != nil {
			msg = "Too many failed sign-in attempts. Try again in " + roundUp(throttled.RetryAfter) + "."
		}
		csrf := randomToken()
		setCookie(c, loginCSRFCookie, csrf, time.Hour)
		return s.render(c, "login", loginPage{layout: s.layout(c, "Sign in"), CSRF: csrf, Next: next, Username: username, Error: msg})
	}
	return err
}

func (s *Site) logout(c *fiber.Ctx) error {
	if err := s.deps.Auth.Logout(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return err
	}
	clearCookie(c, sessionCookie)
	return c.Redirect("/", http.StatusSeeOther)
}
