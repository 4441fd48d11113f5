// Package register owns the data release register: data shared with named
// organisations under agreements rather than published openly — who
// received what, why, on what legal basis, when, and how identifiable it
// was. The register is public; every entry is written to the audit log in
// the same transaction by the Store.
//
// It must not hold the shared data itself, only the record of sharing.
package register

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// Classifications of shared data, from least to most identifiable.
var Classifications = []string{"anonymised", "pseudonymised", "identifiable"}

// Entry is one sharing of data under an agreement.
type Entry struct {
	ID             int64
	Recipient      string
	Data           string // what was shared
	Purpose        string
	LegalBasis     string
	SharedOn       catalogue.Date
	Classification string
	Agreement      string // the agreement's reference
	RecordedBy     string // the account that recorded it (shown publicly by name)
	RecordedAt     time.Time
}

// ErrInvalid marks a mistake in an entry; the message names the field.
var ErrInvalid = errors.New("invalid")

// FieldError names the field of an entry that is wrong.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Validate checks an entry; the error is a *FieldError.
func (e Entry) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"recipient", e.Recipient}, {"data", e.Data}, {"purpose", e.Purpose}, {"legal-basis", e.LegalBasis},
	} {
		if strings.TrimSpace(f.value) == "" {
			return &FieldError{Field: f.name, Message: "required"}
		}
	}
	if e.SharedOn.IsZero() {
		return &FieldError{Field: "shared-on", Message: "required, as YYYY-MM-DD"}
	}
	if !slices.Contains(Classifications, e.Classification) {
		return &FieldError{Field: "classification", Message: fmt.Sprintf("%q: choose %s", e.Classification, strings.Join(Classifications, ", "))}
	}
	return nil
}

// Store keeps the register.
type Store interface {
	// Add stores an entry and its audit entry (by actor) in one
	// transaction.
	Add(ctx context.Context, actor string, e Entry) (Entry, error)
	// List returns every entry, newest shared first.
	List(ctx context.Context) ([]Entry, error)
}

// Service maintains the register.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns a Service.
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// ParseDate reads the shared-on date of a form.
func ParseDate(s string) (catalogue.Date, error) {
	d, err := catalogue.ParseDate(strings.TrimSpace(s))
	if err != nil {
		return d, &FieldError{Field: "shared-on", Message: fmt.Sprintf("%q is not a date as YYYY-MM-DD", s)}
	}
	return d, nil
}

// Add validates and records an entry. actor is the account recording it;
// the caller checks that its role allows it.
func (s *Service) Add(ctx context.Context, actor string, e Entry) (Entry, error) {
	if err := e.Validate(); err != nil {
		return e, err
	}
	if e.SharedOn.Time().After(s.now()) {
		return e, &FieldError{Field: "shared-on", Message: "is in the future: record data once it has been shared"}
	}
	e.RecordedBy, e.RecordedAt = actor, s.now().UTC()
	return s.store.Add(ctx, actor, e)
}

// List returns the register, newest first.
func (s *Service) List(ctx context.Context) ([]Entry, error) { return s.store.List(ctx) }

// Header is the register's CSV header.
var Header = []string{"recipient", "data", "purpose", "legal_basis", "shared_on", "classification", "agreement", "recorded_by", "recorded_at"}

// WriteCSV writes entries as CSV (RFC 4180, UTF-8, ISO dates).
func WriteCSV(w io.Writer, entries []Entry) error {
	cw, err := datasets.NewWriter(w, Header)
	if err != nil {
		return err
	}
	cw.SpreadsheetSafe(nil) // server-built: a formula typed into the register must not run in a reader's spreadsheet
	for _, e := range entries {
		if err := cw.Write([]string{e.Recipient, e.Data, e.Purpose, e.LegalBasis, e.SharedOn.String(), e.Classification,
			e.Agreement, e.RecordedBy, e.RecordedAt.UTC().Format(time.RFC3339)}); err != nil {
			cw.Close()
			return err
		}
	}
	return cw.Close()
}
