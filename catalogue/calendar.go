package catalogue

import (
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // release times are in Europe/London on any machine
)

// CalendarStatus is where a release calendar entry stands.
type CalendarStatus string

// Calendar statuses. An entry is "published" once its release's content is
// visible to the reader; until then it stays "announced", whatever the
// release's state, so the calendar never reveals the workflow behind an
// embargo.
const (
	CalendarAnnounced CalendarStatus = "announced"
	CalendarPublished CalendarStatus = "published"
	CalendarCancelled CalendarStatus = "cancelled"
)

// CalendarEntry announces a release: which dataset, which period, and when
// (a provisional month, or a confirmed instant). It is public catalogue
// metadata from AnnouncedAt; the release's content stays embargoed until
// publication (architecture.md §1).
type CalendarEntry struct {
	ID          int64
	DatasetID   int64
	Dataset     DatasetRef
	PeriodLabel string // e.g. "December 2025"
	// ProvisionalMonth is "YYYY-MM" while no date is confirmed.
	ProvisionalMonth string
	// ConfirmedAt is the confirmed publication instant; zero if none.
	ConfirmedAt time.Time
	AnnouncedAt time.Time
	Status      CalendarStatus
	// Release is the release the entry announces (0 before one exists).
	// Views show it only once the release's content is visible.
	Release ReleaseRef
	// Changes are the entry's changes of date, oldest first, each with its
	// reason.
	Changes []DateChange
}

// DateChange is one change of an announced date.
type DateChange struct {
	At     time.Time
	From   string // the date as it was announced, in words
	To     string
	Reason string
	Actor  string
}

var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// Validate checks an entry before it is stored.
func (e CalendarEntry) Validate() error {
	if e.DatasetID == 0 {
		return invalid("calendar.dataset", "required")
	}
	if strings.TrimSpace(e.PeriodLabel) == "" {
		return invalid("calendar.period", "required: the period the release covers, e.g. \"December 2025\"")
	}
	if e.ConfirmedAt.IsZero() && !monthPattern.MatchString(e.ProvisionalMonth) {
		return invalid("calendar.provisionalMonth", "%q: want a month as YYYY-MM, or a confirmed date", e.ProvisionalMonth)
	}
	return nil
}

// London is the zone release times are announced in.
var London = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded by package main
	}
	return loc
}

// When says when the release is due, in words: "9:30am on Thursday 14
// January 2027" once confirmed, "January 2027 (provisional)" before.
func (e CalendarEntry) When() string {
	if !e.ConfirmedAt.IsZero() {
		return FormatInstant(e.ConfirmedAt)
	}
	t, err := time.Parse("2006-01", e.ProvisionalMonth)
	if err != nil {
		return e.ProvisionalMonth
	}
	return t.Format("January 2006") + " (provisional)"
}

// FormatInstant writes an instant as UK readers expect it, in London time:
// "9:30am on Thursday 14 January 2027".
func FormatInstant(t time.Time) string {
	l := t.In(London)
	clock := l.Format("3:04pm")
	if l.Second() != 0 {
		clock = l.Format("3:04:05pm")
	}
	return clock + " on " + l.Format("Monday 2 January 2006")
}
