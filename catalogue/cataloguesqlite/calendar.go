package cataloguesqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/candour/candour/catalogue"
)

const calendarColumns = `c.id, c.dataset_id, d.slug, d.title, c.period_label, c.provisional_month, c.confirmed_at,
	c.announced_at, c.status, COALESCE(c.release_id, 0), COALESCE(r.version, 0)`

const calendarFrom = ` FROM calendar_entries c JOIN datasets d ON d.id = c.dataset_id LEFT JOIN releases r ON r.id = c.release_id`

func scanCalendar(sc interface{ Scan(...any) error }) (catalogue.CalendarEntry, error) {
	var e catalogue.CalendarEntry
	var confirmed sql.NullString
	var announced, status string
	if err := sc.Scan(&e.ID, &e.DatasetID, &e.Dataset.Slug, &e.Dataset.Title, &e.PeriodLabel, &e.ProvisionalMonth,
		&confirmed, &announced, &status, &e.Release.ID, &e.Release.Version); err != nil {
		return e, err
	}
	e.Status = catalogue.CalendarStatus(status)
	var err error
	if e.ConfirmedAt, err = parseNullInstant(confirmed); err != nil {
		return e, err
	}
	e.AnnouncedAt, err = parseInstant(announced)
	return e, err
}

// ListCalendar implements catalogue.Reader. The public sees entries once
// announced; an entry's status is "published" and its release named only
// when the release's content is visible, so the calendar reveals nothing
// of the workflow behind an embargo.
func (s *Store) ListCalendar(ctx context.Context, q catalogue.CalendarQuery) ([]catalogue.CalendarEntry, error) {
	if !q.Visibility.Set() {
		return nil, errNoVisibility
	}
	content, args, err := releaseContent(q.Visibility, "r")
	if err != nil {
		return nil, err
	}
	where := []string{"1 = 1"}
	var wargs []any
	if at, public := q.Visibility.PublicAt(); public {
		where = append(where, "c.announced_at <= ?")
		wargs = append(wargs, formatInstant(at))
	}
	if q.DatasetID != 0 {
		where = append(where, "c.dataset_id = ?")
		wargs = append(wargs, q.DatasetID)
	}
	if q.Release != 0 {
		where = append(where, "c.release_id = ?")
		wargs = append(wargs, q.Release)
	}
	query := `SELECT ` + calendarColumns + `, CASE WHEN r.id IS NOT NULL AND ` + content + ` THEN 1 ELSE 0 END` +
		calendarFrom + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY COALESCE(c.confirmed_at, c.provisional_month), d.title, c.id`
	rows, err := s.db.QueryContext(ctx, query, append(args, wargs...)...)
	if err != nil {
		return nil, fmt.Errorf("list calendar: %w", err)
	}
	defer rows.Close()
	var out []catalogue.CalendarEntry
	for rows.Next() {
		var e catalogue.CalendarEntry
		var confirmed sql.NullString
		var announced, status string
		var visible bool
		if err := rows.Scan(&e.ID, &e.DatasetID, &e.Dataset.Slug, &e.Dataset.Title, &e.PeriodLabel, &e.ProvisionalMonth,
			&confirmed, &announced, &status, &e.Release.ID, &e.Release.Version, &visible); err != nil {
			return nil, err
		}
		if e.ConfirmedAt, err = parseNullInstant(confirmed); err != nil {
			return nil, err
		}
		if e.AnnouncedAt, err = parseInstant(announced); err != nil {
			return nil, err
		}
		e.Status = catalogue.CalendarStatus(status)
		if !q.Visibility.IsInternal() {
			if visible {
				e.Status = catalogue.CalendarPublished
			} else {
				e.Release = catalogue.ReleaseRef{}
				if e.Status == catalogue.CalendarPublished {
					e.Status = catalogue.CalendarAnnounced
				}
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Changes, err = s.calendarChanges(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) calendarChanges(ctx context.Context, entry int64) ([]catalogue.DateChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, from_text, to_text, reason, actor FROM calendar_changes WHERE entry_id = ? ORDER BY id`, entry)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalogue.DateChange
	for rows.Next() {
		var c catalogue.DateChange
		var at string
		if err := rows.Scan(&at, &c.From, &c.To, &c.Reason, &c.Actor); err != nil {
			return nil, err
		}
		if c.At, err = parseInstant(at); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
