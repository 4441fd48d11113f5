package site

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/publisher"
)

// Register is the data release register as the site uses it: data shared
// under agreements rather than published. cmd adapts package register to
// it.
type Register interface {
	// Entries returns every entry, newest first.
	Entries(ctx context.Context) ([]RegisterEntry, error)
	// Add records an entry for actor, who must be a publisher or an
	// administrator. A mistake in the entry is a *FieldError.
	Add(ctx context.Context, actor publisher.Actor, e RegisterEntry) error
	// WriteCSV writes every entry as CSV.
	WriteCSV(ctx context.Context, w io.Writer) error
	// Classifications lists the allowed classifications.
	Classifications() []string
}

// RegisterEntry is one sharing of data under an agreement.
type RegisterEntry struct {
	Recipient      string
	Purpose        string
	LegalBasis     string
	SharedOn       string // YYYY-MM-DD
	Classification string
	Data           string // what was shared
	Agreement      string // agreement reference
	RecordedBy     string
	RecordedAt     time.Time
}

// FieldError names the field of a form that is wrong.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

type registerPage struct {
	layout
	Entries []RegisterEntry
}

var sampleRegister = []RegisterEntry{{Recipient: "University of Leeds", Purpose: "Service evaluation of cancer waits",
	LegalBasis: "UK GDPR Article 6(1)(e); section 251 support", SharedOn: "2026-01-15", Classification: "pseudonymised",
	Data: "Cancer waiting times, record level, 2024", Agreement: "DSA-2026-001", RecordedBy: "Ada Admin"}}

func registerClassifications() []string {
	return []string{"anonymised", "pseudonymised", "identifiable"}
}

func (s *Site) register(c *fiber.Ctx) error {
	entries, err := s.deps.Register.Entries(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "register", registerPage{layout: s.layout(c, "Data release register", crumb{"/", "Home"}), Entries: entries})
}

func (s *Site) registerCSV(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="data-release-register.csv"`)
	return s.deps.Register.WriteCSV(c.UserContext(), c.Response().BodyWriter())
}

type registerFormPage struct {
	layout
	Error           string
	Form            RegisterEntry
	Classifications []string
}

func (s *Site) registerForm(c *fiber.Ctx) error {
	return s.render(c, "register_form", registerFormPage{layout: s.wsLayout(c, "Add to the data release register"),
		Classifications: s.deps.Register.Classifications()})
}

func (s *Site) registerAdd(c *fiber.Ctx) error {
	e := RegisterEntry{Recipient: c.FormValue("recipient"), Purpose: c.FormValue("purpose"), LegalBasis: c.FormValue("legal-basis"),
		SharedOn: c.FormValue("shared-on"), Classification: c.FormValue("classification"), Data: c.FormValue("data"),
		Agreement: c.FormValue("agreement")}
	err := s.deps.Register.Add(c.UserContext(), session(c).Actor, e)
	var fe *FieldError
	if errors.As(err, &fe) {
		c.Status(http.StatusBadRequest)
		return s.render(c, "register_form", registerFormPage{layout: s.wsLayout(c, "Add to the data release register"),
			Error: fe.Error(), Form: e, Classifications: s.deps.Register.Classifications()})
	}
	if err != nil {
		return err
	}
	return c.Redirect("/register", http.StatusSeeOther)
}
