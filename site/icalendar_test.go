package site

import (
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/candour/candour/catalogue"
)

func TestICalendarIsGoldenAndParses(t *testing.T) {
	announced := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	confirmed := time.Date(2026, 3, 12, 9, 30, 0, 0, time.UTC)
	published := time.Date(2026, 2, 12, 9, 30, 0, 0, time.UTC)
	shmi := catalogue.DatasetRef{Slug: "shmi", Title: "SHMI"}
	events := []calendarEvent{
		{Entry: catalogue.CalendarEntry{ID: 1, Dataset: shmi, PeriodLabel: "Year to June 2026", ConfirmedAt: confirmed, AnnouncedAt: announced,
			Status: catalogue.CalendarAnnounced, Changes: []catalogue.DateChange{{From: "February 2026 (provisional)", To: "9:30am on Thursday 12 March 2026",
				Reason: "Data supplier delay; the figures, were late."}}}},
		{Entry: catalogue.CalendarEntry{ID: 2, Dataset: shmi, PeriodLabel: "Year to September 2026", ProvisionalMonth: "2026-06", AnnouncedAt: announced,
			Status: catalogue.CalendarAnnounced}},
		{Entry: catalogue.CalendarEntry{ID: 3, Dataset: shmi, PeriodLabel: "Year to March 2026", Status: catalogue.CalendarPublished, AnnouncedAt: announced},
			Published: published, ReleaseURL: "/datasets/shmi/releases/4"},
	}
	out := writeICalendar("https://data.example.org", "data.example.org", events, time.Date(2026, 2, 20, 8, 0, 0, 0, time.UTC))
	golden(t, "release-calendar.ics", []byte(out))

	cal, err := goical.NewDecoder(strings.NewReader(out)).Decode()
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, out)
	}
	evs := cal.Events()
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	text := func(e goical.Event, name string) string {
		t.Helper()
		p := e.Props.Get(name)
		if p == nil {
			return ""
		}
		v, err := p.Text()
		if err != nil {
			return p.Value
		}
		return v
	}
	start, err := evs[0].DateTimeStart(time.UTC)
	if err != nil || !start.Equal(confirmed) || text(evs[0], "STATUS") != "CONFIRMED" ||
		!strings.Contains(text(evs[0], "DESCRIPTION"), "Data supplier delay; the figures, were late.") || text(evs[0], "SEQUENCE") != "1" {
		t.Errorf("confirmed entry: %v %v %q %q", start, err, text(evs[0], "STATUS"), text(evs[0], "DESCRIPTION"))
	}
	prov := evs[1]
	if text(prov, "STATUS") != "TENTATIVE" || prov.Props.Get("DTSTART").Value != "20260601" || !strings.HasPrefix(text(prov, "SUMMARY"), "Provisional: ") {
		t.Errorf("provisional entry: %q %q", prov.Props.Get("DTSTART").Value, text(prov, "SUMMARY"))
	}
	if text(evs[2], "URL") != "https://data.example.org/datasets/shmi/releases/4" || !strings.HasPrefix(text(evs[2], "SUMMARY"), "Published: ") {
		t.Errorf("published entry: %q %q", text(evs[2], "URL"), text(evs[2], "SUMMARY"))
	}
	if uid := text(evs[0], "UID"); uid != "calendar-1@data.example.org" {
		t.Errorf("uid %q", uid)
	}
}
