package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/accounts"
	"github.com/candour/candour/publisher/accounts/accountsqlite"
	"github.com/candour/candour/publisher/register"
	"github.com/candour/candour/publisher/register/registersqlite"
	"github.com/candour/candour/site"
)

// openAccounts wires the account and register services over db.
func (a *app) openAccounts(db *sql.DB) error {
	a.accounts = accounts.New(accountsqlite.New(db), accounts.Options{Now: a.now})
	a.register = register.New(registersqlite.New(db), a.now)
	return nil
}

// actorOf is an account as the workflow sees it.
func actorOf(u accounts.User) publisher.Actor {
	act := publisher.Actor{Username: u.Username, Name: u.Name, Organisation: u.Organisation}
	for _, r := range u.Roles {
		act.Roles = append(act.Roles, publisher.Role(r))
	}
	return act
}

// addUser creates an account and returns it as an actor.
func (a *app) addUser(ctx context.Context, by, username, name, password string, roles []publisher.Role, org string) (publisher.Actor, error) {
	u := accounts.User{Username: username, Name: name, Organisation: org}
	for _, r := range roles {
		u.Roles = append(u.Roles, accounts.Role(r))
	}
	u, err := a.accounts.AddUser(ctx, by, u, password)
	if err != nil {
		return publisher.Actor{}, err
	}
	return actorOf(u), nil
}

// siteAuth adapts accounts to the site's Auth.
type siteAuth struct{ svc *accounts.Service }

func (s siteAuth) Login(ctx context.Context, username, password, client string) (string, error) {
	token, _, err := s.svc.Login(ctx, username, password, client)
	var th *accounts.ThrottledError
	switch {
	case errors.As(err, &th):
		return "", &site.ThrottledError{RetryAfter: th.RetryAfter}
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return "", site.ErrBadLogin
	}
	return token, err
}

func (s siteAuth) Session(ctx context.Context, token string) (site.Session, error) {
	sess, err := s.svc.Session(ctx, token)
	if errors.Is(err, accounts.ErrNoSession) || errors.Is(err, accounts.ErrNotFound) {
		return site.Session{}, site.ErrNoSession
	}
	if err != nil {
		return site.Session{}, err
	}
	return site.Session{Actor: actorOf(sess.User), CSRF: sess.CSRF}, nil
}

func (s siteAuth) Logout(ctx context.Context, token string) error { return s.svc.Logout(ctx, token) }

func (s siteAuth) APIToken(ctx context.Context, token string) (publisher.Actor, error) {
	u, err := s.svc.AuthenticateToken(ctx, token)
	if errors.Is(err, accounts.ErrNoSession) || errors.Is(err, accounts.ErrNotFound) {
		return publisher.Actor{}, site.ErrNoSession
	}
	if err != nil {
		return publisher.Actor{}, err
	}
	return actorOf(u), nil
}

// siteRegister adapts the register to the site.
type siteRegister struct{ svc *register.Service }

func (r siteRegister) Entries(ctx context.Context) ([]site.RegisterEntry, error) {
	entries, err := r.svc.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]site.RegisterEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, site.RegisterEntry{Recipient: e.Recipient, Purpose: e.Purpose, LegalBasis: e.LegalBasis,
			SharedOn: e.SharedOn.String(), Classification: e.Classification, Data: e.Data, Agreement: e.Agreement,
			RecordedBy: e.RecordedBy, RecordedAt: e.RecordedAt})
	}
	return out, nil
}

func (r siteRegister) Add(ctx context.Context, actor publisher.Actor, e site.RegisterEntry) error {
	if !actor.Has(publisher.RoleAdministrator) && !actor.Has(publisher.RolePublisher) {
		return fmt.Errorf("%w: the data release register is kept by publishers and administrators", publisher.ErrForbidden)
	}
	shared, err := register.ParseDate(e.SharedOn)
	if err == nil {
		_, err = r.svc.Add(ctx, actor.String(), register.Entry{Recipient: e.Recipient, Data: e.Data, Purpose: e.Purpose,
			LegalBasis: e.LegalBasis, SharedOn: shared, Classification: e.Classification, Agreement: e.Agreement})
	}
	var fe *register.FieldError
	if errors.As(err, &fe) {
		return &site.FieldError{Field: fe.Field, Message: fe.Message}
	}
	return err
}

func (r siteRegister) WriteCSV(ctx context.Context, w io.Writer) error {
	entries, err := r.svc.List(ctx)
	if err != nil {
		return err
	}
	return register.WriteCSV(w, entries)
}

func (r siteRegister) Classifications() []string { return slices.Clone(register.Classifications) }
