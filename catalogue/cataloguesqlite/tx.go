package cataloguesqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/candour/candour/catalogue"
)

// TxWriter makes catalogue writes inside a transaction someone else owns,
// so that the publisher's workflow store can commit a release's change of
// state together with its own records and an audit entry (all in the one
// SQLite database). It never commits or rolls back.
type TxWriter struct {
	tx  *sql.Tx
	now func() time.Time
}

// InTx returns the catalogue's writes within tx.
func (s *Store) InTx(tx *sql.Tx) *TxWriter { return &TxWriter{tx: tx, now: s.now} }

// TransitionRelease moves a release from t.From to t.To and records the
// event; for publication it records t.At as the publication instant, for
// scheduling t.EmbargoAt as the embargo, and for supersession and
// withdrawal t.ReplacedBy. ErrConflict if the release is not in t.From.
func (w *TxWriter) TransitionRelease(ctx context.Context, t catalogue.Transition) error {
	if !t.From.Valid() || !t.To.Valid() {
		return fmt.Errorf("%w: transition %q to %q", catalogue.ErrInvalid, t.From, t.To)
	}
	if t.At.IsZero() {
		return fmt.Errorf("%w: transition without an instant", catalogue.ErrInvalid)
	}
	at := formatInstant(t.At)
	set := `state = ?, state_changed_at = ?`
	args := []any{string(t.To), at}
	switch t.To {
	case catalogue.StatePublished:
		set += `, published_at = ?`
		args = append(args, at)
	case catalogue.StateScheduled:
		if t.EmbargoAt.IsZero() {
			return fmt.Errorf("%w: scheduling without an embargo instant", catalogue.ErrInvalid)
		}
		set += `, embargo_at = ?`
		args = append(args, formatInstant(t.EmbargoAt))
	case catalogue.StateApproved:
		set += `, embargo_at = NULL`
	case catalogue.StateWithdrawn:
		set += `, withdrawn_reason = ?, replaced_by = COALESCE(?, replaced_by)`
		args = append(args, t.Note, nullID(t.ReplacedBy))
	case catalogue.StateSuperseded:
		set += `, replaced_by = ?`
		args = append(args, nullID(t.ReplacedBy))
	}
	res, err := w.tx.ExecContext(ctx, `UPDATE releases SET `+set+` WHERE id = ? AND state = ?`,
		append(args, t.Release, string(t.From))...)
	if err != nil {
		return fmt.Errorf("move release %d from %s to %s: %w", t.Release, t.From, t.To, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		var state string
		err := w.tx.QueryRowContext(ctx, `SELECT state FROM releases WHERE id = ?`, t.Release).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: release %d", catalogue.ErrNotFound, t.Release)
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: release %d is %s, not %s", catalogue.ErrConflict, t.Release, state, t.From)
	}
	if _, err := w.tx.ExecContext(ctx, `UPDATE datasets SET updated_at = ? WHERE id = (SELECT dataset_id FROM releases WHERE id = ?)`,
		at, t.Release); err != nil {
		return err
	}
	if t.To == catalogue.StatePublished {
		if _, err := w.tx.ExecContext(ctx, `UPDATE calendar_entries SET status = 'published' WHERE release_id = ?`, t.Release); err != nil {
			return err
		}
	}
	if t.To == catalogue.StateCancelled {
		if _, err := w.tx.ExecContext(ctx, `UPDATE calendar_entries SET status = 'cancelled' WHERE release_id = ?`, t.Release); err != nil {
			return err
		}
	}
	return insertEvent(ctx, w.tx, catalogue.Event{Release: t.Release, From: t.From, To: t.To, At: t.At, Actor: t.Actor, Note: t.Note})
}

// RecordAuditHead records the audit log's chain head as of a release's
// publication entry, in the publication's own transaction. A head is
// written once: ErrConflict if the release is not published (or superseded
// or withdrawn since) or already has one.
func (w *TxWriter) RecordAuditHead(ctx context.Context, release int64, h catalogue.ChainHead) error {
	if h.Seq < 1 || h.Hash == "" {
		return fmt.Errorf("%w: audit chain head %d:%q", catalogue.ErrInvalid, h.Seq, h.Hash)
	}
	res, err := w.tx.ExecContext(ctx, `UPDATE releases SET audit_head_seq = ?, audit_head_hash = ?
		WHERE id = ? AND audit_head_seq = 0 AND state IN (?, ?, ?)`, h.Seq, h.Hash, release,
		string(catalogue.StatePublished), string(catalogue.StateSuperseded), string(catalogue.StateWithdrawn))
	if err != nil {
		return fmt.Errorf("record the audit chain head of release %d: %w", release, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: release %d is not published or already has an audit chain head", catalogue.ErrConflict, release)
	}
	return nil
}

// ReplaceFiles replaces every file of a release that is not yet public
// (an amendment made during review), and its disclosure summary.
func (w *TxWriter) ReplaceFiles(ctx context.Context, release int64, files []catalogue.File, disclosureSummary string) error {
	if err := checkFiles(files); err != nil {
		return err
	}
	var state string
	if err := w.tx.QueryRowContext(ctx, `SELECT state FROM releases WHERE id = ?`, release).Scan(&state); errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: release %d", catalogue.ErrNotFound, release)
	} else if err != nil {
		return err
	}
	if catalogue.ReleaseState(state).ContentPublic() || state == string(catalogue.StateWithdrawn) {
		return fmt.Errorf("%w: release %d is %s: its files can no longer change", catalogue.ErrConflict, release, state)
	}
	if _, err := w.tx.ExecContext(ctx, `DELETE FROM release_files WHERE release_id = ?`, release); err != nil {
		return err
	}
	if _, err := insertFiles(ctx, w.tx, release, files); err != nil {
		return err
	}
	_, err := w.tx.ExecContext(ctx, `UPDATE releases SET disclosure_summary = ? WHERE id = ?`, disclosureSummary, release)
	return err
}

// PutCalendarEntry creates an entry (e.ID == 0) or updates its date, period
// and release. Changing a date that was already announced needs a reason,
// recorded as a DateChange.
func (w *TxWriter) PutCalendarEntry(ctx context.Context, e catalogue.CalendarEntry, reason, actor string) (catalogue.CalendarEntry, error) {
	if err := e.Validate(); err != nil {
		return e, err
	}
	now := w.now()
	confirmed := any(nil)
	if !e.ConfirmedAt.IsZero() {
		confirmed = formatInstant(e.ConfirmedAt)
	}
	if e.ID == 0 {
		if e.AnnouncedAt.IsZero() {
			e.AnnouncedAt = now
		}
		err := w.tx.QueryRowContext(ctx, `INSERT INTO calendar_entries
			(dataset_id, release_id, period_label, provisional_month, confirmed_at, announced_at, status)
			VALUES (?, ?, ?, ?, ?, ?, 'announced') RETURNING id`,
			e.DatasetID, nullID(e.Release.ID), e.PeriodLabel, e.ProvisionalMonth, confirmed, formatInstant(e.AnnouncedAt)).Scan(&e.ID)
		if isUniqueViolation(err) {
			return e, fmt.Errorf("%w: release %d already has a calendar entry", catalogue.ErrConflict, e.Release.ID)
		}
		if err != nil {
			return e, fmt.Errorf("create calendar entry: %w", err)
		}
		e.Status = catalogue.CalendarAnnounced
		return e, nil
	}
	old, err := scanCalendar(w.tx.QueryRowContext(ctx, `SELECT `+calendarColumns+calendarFrom+` WHERE c.id = ?`, e.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("%w: calendar entry %d", catalogue.ErrNotFound, e.ID)
	}
	if err != nil {
		return e, err
	}
	if before, after := old.When(), e.When(); before != after {
		if reason == "" {
			return e, fmt.Errorf("%w: reason: changing the announced date (%s) to %s needs a reason, which the calendar shows", catalogue.ErrInvalid, before, after)
		}
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO calendar_changes (entry_id, at, from_text, to_text, reason, actor) VALUES (?, ?, ?, ?, ?, ?)`,
			e.ID, formatInstant(now), before, after, reason, actor); err != nil {
			return e, err
		}
	}
	if _, err := w.tx.ExecContext(ctx, `UPDATE calendar_entries SET release_id = COALESCE(?, release_id), period_label = ?,
		provisional_month = ?, confirmed_at = ? WHERE id = ?`,
		nullID(e.Release.ID), e.PeriodLabel, e.ProvisionalMonth, confirmed, e.ID); err != nil {
		return e, err
	}
	e.AnnouncedAt, e.Status = old.AnnouncedAt, old.Status
	return e, nil
}

// RemoveDraft deletes a release that is still a draft — a submission that
// stopped before it was checked — with its files, organisation mentions
// and events, and its dataset as well when the submission created it (the
// dataset then has no other release, no calendar entry, no inventory entry
// and was never announced). It reports whether the dataset went too.
// ErrConflict if the release is past draft: only a draft has never been
// seen by anyone but the submission that was storing it.
func (w *TxWriter) RemoveDraft(ctx context.Context, release int64) (datasetRemoved bool, err error) {
	var state string
	var dataset int64
	err = w.tx.QueryRowContext(ctx, `SELECT state, dataset_id FROM releases WHERE id = ?`, release).Scan(&state, &dataset)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%w: release %d", catalogue.ErrNotFound, release)
	}
	if err != nil {
		return false, err
	}
	if catalogue.ReleaseState(state) != catalogue.StateDraft {
		return false, fmt.Errorf("%w: release %d is %s, not a draft", catalogue.ErrConflict, release, state)
	}
	for _, q := range []string{
		`DELETE FROM organisation_mentions WHERE release_id = ?`,
		`DELETE FROM release_files WHERE release_id = ?`,
		`DELETE FROM release_events WHERE release_id = ?`,
		`DELETE FROM releases WHERE id = ?`,
	} {
		if _, err := w.tx.ExecContext(ctx, q, release); err != nil {
			return false, fmt.Errorf("remove draft release %d: %w", release, err)
		}
	}
	res, err := w.tx.ExecContext(ctx, `DELETE FROM datasets WHERE id = ? AND announced = 0
		AND NOT EXISTS (SELECT 1 FROM releases WHERE dataset_id = ?)
		AND NOT EXISTS (SELECT 1 FROM calendar_entries WHERE dataset_id = ?)
		AND NOT EXISTS (SELECT 1 FROM inventory_entries WHERE dataset_id = ?)`, dataset, dataset, dataset, dataset)
	if err != nil {
		return false, fmt.Errorf("remove the dataset of draft release %d: %w", release, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RenamePublisher sets an existing publisher's name and address;
// ErrNotFound when there is no publisher with p.Slug.
func (w *TxWriter) RenamePublisher(ctx context.Context, p catalogue.Publisher) error {
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := w.tx.ExecContext(ctx, `UPDATE publishers SET name = ?, url = ? WHERE slug = ?`, p.Name, p.URL, p.Slug)
	if err != nil {
		return fmt.Errorf("rename publisher %s: %w", p.Slug, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(fmt.Errorf("publisher %s: %w", p.Slug, catalogue.ErrNotFound), err)
	}
	return nil
}
