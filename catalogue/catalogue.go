// Package catalogue owns Candour's public metadata and the answer to the one
// question every public surface asks: what is published at instant t?
//
// # What it owns
//
//   - Publishers, organisations (GP practices, NHS trusts, hospital sites,
//     ICBs, regions, and organisations a dataset names that the national
//     directory lacks), datasets with their status and licence, the
//     inventory of promised datasets with its original text, releases with
//     their state and files.
//   - The published view ([Published], [View]): the only way public code
//     reads the catalogue. A release's content (its files, rows, row counts,
//     hashes, change notes, and organisations only it names) is visible at
//     instant t when the release is published or superseded and its
//     publication instant is not after t. A withdrawn release keeps its page
//     (title, dates and the reason) but not its content. A dataset is listed
//     when it was announced (an inventory or calendar entry) or has a listed
//     release.
//
// Release state is recorded here but changed only by package publisher,
// which owns the workflow's rules; catalogue stores whatever transition it
// is told, atomically, checking only that the release was still in the
// state the caller expected.
//
// # What it must not do
//
// It imports no other Candour package, renders nothing, and never reads a
// file's bytes. Storage lives behind [Store]; the SQLite implementation is in
// subpackage cataloguesqlite and is wired in by cmd, never by the site.
package catalogue

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by stores and views. Test with errors.Is.
var (
	// ErrNotFound: no such entry, or not visible to the caller.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the entry changed or already exists (for example a
	// release no longer in the state a transition expected).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the caller's input breaks a rule; the error says which
	// field.
	ErrInvalid = errors.New("invalid")
)

// invalid returns an ErrInvalid naming the field.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// Date is a civil date (no time of day, no zone), as directories and
// periods use. The zero Date means "not known" or "none".
type Date struct {
	t time.Time
}

// NewDate returns the date y-m-d.
func NewDate(y int, m time.Month, d int) Date {
	return Date{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// ParseDate reads a date written YYYY-MM-DD; "" gives the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return Date{t: t}, nil
}

// IsZero reports whether the date is unknown.
func (d Date) IsZero() bool { return d.t.IsZero() }

// String formats the date as YYYY-MM-DD, or "" when unknown.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// Time returns midnight UTC at the start of the date.
func (d Date) Time() time.Time { return d.t }

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }
