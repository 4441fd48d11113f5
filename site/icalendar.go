package site

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
)

// The release calendar as iCalendar (/calendar.ics), for calendar apps:
// every announced release (a confirmed instant, or all of its provisional
// month, marked tentative), each change of date with its reason, and past
// releases at their actual publication instant with a link to them.
// Calendar entries are public from announcement; a release's content is
// not, so an upcoming entry carries only what the calendar shows.

// calendarEvent is one entry as the iCalendar feed writes it.
type calendarEvent struct {
	Entry catalogue.CalendarEntry
	// Published is when the entry's release was published, with its URL
	// (zero while it is not).
	Published  time.Time
	ReleaseURL string
}

// writeICalendar renders the events; stamp is the DTSTAMP of every event
// (when the calendar was produced).
func writeICalendar(base, host string, events []calendarEvent, stamp time.Time) string {
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//Candour//Release calendar//EN")
	cal.SetXWRCalName("Release calendar (" + host + ")")
	h, _, _ := strings.Cut(host, ":")
	for _, ev := range events {
		e := ev.Entry
		vev := cal.AddEvent(fmt.Sprintf("calendar-%d@%s", e.ID, h))
		vev.SetDtStampTime(stamp)
		summary := e.Dataset.Title + ", " + e.PeriodLabel
		var desc []string
		switch {
		case !ev.Published.IsZero():
			vev.SetStartAt(ev.Published)
			vev.SetEndAt(ev.Published.Add(15 * time.Minute))
			vev.SetStatus(ics.ObjectStatusConfirmed)
			vev.SetURL(base + ev.ReleaseURL)
			summary = "Published: " + summary
			desc = append(desc, "Published "+catalogue.FormatInstant(ev.Published)+".")
		case e.Status == catalogue.CalendarCancelled:
			vev.SetStatus(ics.ObjectStatusCancelled)
			if !e.ConfirmedAt.IsZero() {
				vev.SetStartAt(e.ConfirmedAt)
				vev.SetEndAt(e.ConfirmedAt.Add(15 * time.Minute))
			} else if m, err := time.Parse("2006-01", e.ProvisionalMonth); err == nil {
				vev.SetAllDayStartAt(m)
				vev.SetAllDayEndAt(m.AddDate(0, 1, 0))
			}
			summary = "Cancelled: " + summary
		case !e.ConfirmedAt.IsZero():
			vev.SetStartAt(e.ConfirmedAt)
			vev.SetEndAt(e.ConfirmedAt.Add(15 * time.Minute))
			vev.SetStatus(ics.ObjectStatusConfirmed)
			vev.SetURL(base + "/datasets/" + e.Dataset.Slug)
			desc = append(desc, "To be published "+catalogue.FormatInstant(e.ConfirmedAt)+".")
		default:
			m, err := time.Parse("2006-01", e.ProvisionalMonth)
			if err != nil {
				continue
			}
			vev.SetAllDayStartAt(m)
			vev.SetAllDayEndAt(m.AddDate(0, 1, 0))
			vev.SetStatus(ics.ObjectStatusTentative)
			vev.SetURL(base + "/datasets/" + e.Dataset.Slug)
			summary = "Provisional: " + summary
			desc = append(desc, "Provisionally "+m.Format("January 2006")+"; the date will be confirmed.")
		}
		for _, c := range e.Changes {
			desc = append(desc, fmt.Sprintf("Date changed from %s to %s: %s", c.From, c.To, c.Reason))
		}
		vev.SetSummary(summary)
		if len(desc) > 0 {
			vev.SetDescription(strings.Join(desc, "\n"))
		}
		if !e.AnnouncedAt.IsZero() {
			vev.SetCreatedTime(e.AnnouncedAt)
		}
		vev.SetSequence(len(e.Changes))
	}
	return cal.Serialize(ics.WithNewLine("\r\n")) // RFC 5545 lines end with CRLF
}

func (s *Site) calendarICS(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	entries, err := v.Calendar(ctx)
	if err != nil {
		return err
	}
	var events []calendarEvent
	for _, e := range entries {
		ev := calendarEvent{Entry: e}
		if !e.Release.IsZero() {
			if r, err := v.Release(ctx, e.Dataset.Slug, e.Release.Version); err == nil && !r.PublishedAt.IsZero() {
				ev.Published, ev.ReleaseURL = r.PublishedAt, fmt.Sprintf("/datasets/%s/releases/%d", e.Dataset.Slug, r.Version)
			}
		}
		events = append(events, ev)
	}
	c.Set(fiber.HeaderContentType, "text/calendar; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="release-calendar.ics"`)
	c.Set("Access-Control-Allow-Origin", "*")
	c.Status(http.StatusOK)
	return c.SendString(writeICalendar(c.BaseURL(), c.Hostname(), events, v.At().UTC().Truncate(time.Second)))
}
