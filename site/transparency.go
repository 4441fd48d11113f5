package site

import (
	"bufio"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
)

type calendarPage struct {
	layout
	Upcoming []catalogue.CalendarEntry
	Past     []catalogue.CalendarEntry
}

// calendar is the public release calendar: every announced release, with
// its date (provisional or confirmed), changes of date and their reasons.
// It shows no release content before publication.
func (s *Site) calendar(c *fiber.Ctx) error {
	v := s.deps.Catalogue.View()
	entries, err := v.Calendar(c.UserContext())
	if err != nil {
		return err
	}
	if format, err := twinFormat(c); err != nil {
		return err
	} else if format != "" {
		return calendarTwin(c, format, entries)
	}
	page := calendarPage{layout: s.layout(c, "Release calendar", crumb{"/", "Home"})}
	for _, e := range entries {
		if e.Status == catalogue.CalendarAnnounced {
			page.Upcoming = append(page.Upcoming, e)
		} else {
			page.Past = append(page.Past, e)
		}
	}
	return s.render(c, "calendar", page)
}

type transparencyPage struct {
	layout
	Records []publisher.PublicRecord
	Head    auditlog.Head
	// Published is the newest head recorded at a publication, and the
	// release that carries it in its manifest (zero before any).
	Published        catalogue.ChainHead
	PublishedRelease catalogue.Release
}

// transparency lists every published release with who approved it, when,
// and the audit chain head at its publication, and shows the audit log's
// chain head now and at the newest publication.
func (s *Site) transparency(c *fiber.Ctx) error {
	records, head, err := s.deps.Publisher.Transparency(c.UserContext(), s.deps.Catalogue.View())
	if err != nil {
		return err
	}
	page := transparencyPage{layout: s.layout(c, "Transparency", crumb{"/", "Home"}), Records: records, Head: head}
	for _, rec := range records {
		if h := rec.Release.AuditHead; h.Seq > page.Published.Seq {
			page.Published, page.PublishedRelease = h, rec.Release
		}
	}
	return s.render(c, "transparency", page)
}

// auditLogExport streams the audit log as JSON Lines, with entries about
// unpublished releases redacted to their hashes.
func (s *Site) auditLogExport(c *fiber.Ctx) error {
	view := s.deps.Catalogue.View()
	c.Set(fiber.HeaderContentType, "application/jsonl; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	ctx := c.UserContext()
	// Write to a buffer-backed stream; the log is small enough per request.
	w := bufio.NewWriter(c.Response().BodyWriter())
	if err := s.deps.Publisher.WriteAuditLog(ctx, view, w); err != nil {
		return err
	}
	return w.Flush()
}
