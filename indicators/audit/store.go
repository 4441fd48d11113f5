package audit

import (
	"context"

	"github.com/candour/candour/datasets"
)

// Released is an audit as one release ships it.
type Released struct {
	Release    int64
	Dataset    string // the dataset's slug
	Version    int
	Definition Definition
	Funnels    []Funnel
}

// Query selects outcomes. Every read is limited to the releases in
// Visible; the other fields narrow it ("" or 0 for any).
type Query struct {
	Visible  datasets.Visible
	Release  int64
	Audit    string
	Measure  string
	Period   string
	Level    Level
	Code     string // the unit's code at its level
	Provider string // the provider where the cases were treated
	Flagged  bool   // only units at alert or alarm
}

// Store keeps audit definitions, funnels and outcomes, tagged with their
// release. Writing makes nothing public; reads filter by the visible set
// they are given. Implementations: outcomesqlite.
type Store interface {
	// WriteAudit replaces what a release ships.
	WriteAudit(ctx context.Context, a Released, outcomes []Outcome) error
	// Audits returns the audits of the visible releases (Visible alone in
	// q is used), oldest release first.
	Audits(ctx context.Context, visible datasets.Visible) ([]Released, error)
	// Outcomes returns the outcomes q selects, by measure, period, level,
	// provider and code.
	Outcomes(ctx context.Context, q Query) ([]Outcome, error)
	// DeleteRelease removes what a release ships (a submission abandoned
	// half-way).
	DeleteRelease(ctx context.Context, release int64) error
}
