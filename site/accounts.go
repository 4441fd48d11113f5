package site

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/publisher/accounts"
)

// Account pages in the workspace: everyone's own account (their API
// tokens, which they may revoke, and their password, which they may
// change), and for administrators every account (add, disable or enable,
// change roles) and every API token. Each change is recorded in the audit
// log by the account service, in the transaction that makes it.

// Accounts is account administration as the site uses it (*accounts.Service).
type Accounts interface {
	Users(ctx context.Context) ([]accounts.User, error)
	UserByUsername(ctx context.Context, username string) (accounts.User, error)
	AddUser(ctx context.Context, actor string, u accounts.User, password string) (accounts.User, error)
	SetDisabled(ctx context.Context, actor, username string, disabled bool) error
	SetRoles(ctx context.Context, actor, username string, roles []accounts.Role, organisation string) error
	Tokens(ctx context.Context, userID int64) ([]accounts.APIToken, error)
	CreateAPIToken(ctx context.Context, actor string, userID int64, label string) (string, accounts.APIToken, error)
	RevokeUserToken(ctx context.Context, actor string, userID, id int64) error
	ChangePassword(ctx context.Context, username, current, next, keepToken string) error
}

type accountPage struct {
	layout
	User   accounts.User
	Tokens []accounts.APIToken
	// NewToken is a token just created, shown once.
	NewToken string
	Notice   string
	Error    string
}

type accountsPage struct {
	layout
	Users  []accounts.User
	Tokens []accountToken
	Roles  []accounts.Role
	Notice string
	Error  string
	Form   map[string]string
}

// accountToken is a token with its owner's username.
type accountToken struct {
	accounts.APIToken
	Username string
}

// accountError turns an account service's refusal of what was sent into
// a message for the form; other errors are returned as they are.
func accountError(err error) (string, error) {
	if errors.Is(err, accounts.ErrInvalid) || errors.Is(err, accounts.ErrConflict) || errors.Is(err, accounts.ErrNotFound) {
		return sentence(err), nil
	}
	return "", err
}

func (s *Site) me(c *fiber.Ctx) (accounts.User, error) {
	return s.deps.Accounts.UserByUsername(c.UserContext(), session(c).Actor.Username)
}

func (s *Site) accountPage(c *fiber.Ctx, page accountPage) error {
	u, err := s.me(c)
	if err != nil {
		return err
	}
	page.layout, page.User = s.wsLayout(c, "Your account"), u
	if page.Notice == "" {
		page.Notice = c.Query("done")
	}
	if page.Tokens, err = s.deps.Accounts.Tokens(c.UserContext(), u.ID); err != nil {
		return err
	}
	if page.Error != "" {
		c.Status(http.StatusUnprocessableEntity)
	}
	return s.render(c, "workspace_account", page)
}

func (s *Site) account(c *fiber.Ctx) error { return s.accountPage(c, accountPage{}) }

func (s *Site) changePassword(c *fiber.Ctx) error {
	if c.FormValue("new-password") != c.FormValue("confirm-password") {
		return s.accountPage(c, accountPage{Error: "The new password and its confirmation differ; type it the same way twice."})
	}
	err := s.deps.Accounts.ChangePassword(c.UserContext(), session(c).Actor.Username, c.FormValue("current-password"),
		c.FormValue("new-password"), c.Cookies(sessionCookie))
	if msg, err := accountError(err); err != nil {
		return err
	} else if msg != "" {
		return s.accountPage(c, accountPage{Error: msg})
	}
	return c.Redirect("/workspace/account?done=password+changed", http.StatusSeeOther)
}

func (s *Site) createToken(c *fiber.Ctx) error {
	u, err := s.me(c)
	if err != nil {
		return err
	}
	if !u.Has(accounts.RolePublisher) {
		return &userError{status: http.StatusForbidden, message: "API tokens are for publishers, who upload through the submission API."}
	}
	secret, _, err := s.deps.Accounts.CreateAPIToken(c.UserContext(), u.Username, u.ID, c.FormValue("label"))
	if msg, err := accountError(err); err != nil {
		return err
	} else if msg != "" {
		return s.accountPage(c, accountPage{Error: msg})
	}
	return s.accountPage(c, accountPage{NewToken: secret, Notice: "token created"})
}

func tokenID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("token"), 10, 64)
	if err != nil || id < 1 {
		return 0, badParam("token", c.Params("token"), "it must be a token number")
	}
	return id, nil
}

func (s *Site) revokeOwnToken(c *fiber.Ctx) error {
	id, err := tokenID(c)
	if err != nil {
		return err
	}
	u, err := s.me(c)
	if err != nil {
		return err
	}
	if err := s.deps.Accounts.RevokeUserToken(c.UserContext(), u.Username, u.ID, id); errors.Is(err, accounts.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return c.Redirect("/workspace/account?done=token+revoked", http.StatusSeeOther)
}

// requireAdministrator lets only administrators through.
func (s *Site) requireAdministrator(c *fiber.Ctx) error {
	if !session(c).Actor.Has("administrator") {
		return errNotFound
	}
	return c.Next()
}

func (s *Site) accountsPage(c *fiber.Ctx, page accountsPage) error {
	ctx := c.UserContext()
	users, err := s.deps.Accounts.Users(ctx)
	if err != nil {
		return err
	}
	tokens, err := s.deps.Accounts.Tokens(ctx, 0)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, u := range users {
		names[u.ID] = u.Username
	}
	page.layout, page.Users, page.Roles = s.wsLayout(c, "Accounts"), users, accounts.Roles
	for _, t := range tokens {
		page.Tokens = append(page.Tokens, accountToken{APIToken: t, Username: names[t.UserID]})
	}
	if page.Notice == "" {
		page.Notice = c.Query("done")
	}
	if page.Form == nil {
		page.Form = map[string]string{}
	}
	if page.Error != "" {
		c.Status(http.StatusUnprocessableEntity)
	}
	return s.render(c, "workspace_accounts", page)
}

func (s *Site) accountList(c *fiber.Ctx) error { return s.accountsPage(c, accountsPage{}) }

// rolesFrom reads the roles ticked on a form.
func rolesFrom(c *fiber.Ctx) []accounts.Role {
	var roles []accounts.Role
	for _, r := range accounts.Roles {
		if c.FormValue("role-"+string(r)) != "" {
			roles = append(roles, r)
		}
	}
	return roles
}

func (s *Site) addAccount(c *fiber.Ctx) error {
	form := map[string]string{}
	for _, k := range []string{"username", "name", "organisation"} {
		form[k] = c.FormValue(k)
	}
	u := accounts.User{Username: form["username"], Name: form["name"], Organisation: strings.TrimSpace(form["organisation"]), Roles: rolesFrom(c)}
	_, err := s.deps.Accounts.AddUser(c.UserContext(), session(c).Actor.String(), u, c.FormValue("password"))
	if msg, err := accountError(err); err != nil {
		return err
	} else if msg != "" {
		return s.accountsPage(c, accountsPage{Error: msg, Form: form})
	}
	return c.Redirect("/workspace/accounts?done="+url.QueryEscape("added "+u.Username), http.StatusSeeOther)
}

func (s *Site) changeAccount(c *fiber.Ctx) error {
	ctx, actor, username := c.UserContext(), session(c).Actor, c.Params("username")
	var err error
	switch c.Params("action") {
	case "disable", "enable":
		if username == actor.Username {
			return s.accountsPage(c, accountsPage{Error: "You cannot disable your own account; ask another administrator."})
		}
		err = s.deps.Accounts.SetDisabled(ctx, actor.String(), username, c.Params("action") == "disable")
	case "roles":
		err = s.deps.Accounts.SetRoles(ctx, actor.String(), username, rolesFrom(c), c.FormValue("organisation"))
	default:
		return errNotFound
	}
	if msg, err := accountError(err); err != nil {
		return err
	} else if msg != "" {
		return s.accountsPage(c, accountsPage{Error: fmt.Sprintf("%s: %s", username, msg)})
	}
	return c.Redirect("/workspace/accounts?done="+url.QueryEscape(c.Params("action")+" "+username), http.StatusSeeOther)
}

func (s *Site) revokeAnyToken(c *fiber.Ctx) error {
	id, err := tokenID(c)
	if err != nil {
		return err
	}
	if err := s.deps.Accounts.RevokeUserToken(c.UserContext(), session(c).Actor.String(), 0, id); errors.Is(err, accounts.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return c.Redirect("/workspace/accounts?done=token+revoked", http.StatusSeeOther)
}
