// Package publisher owns how data becomes public: submissions, the release
// state machine, publication, and the importers that feed the catalogue.
//
// # The model
//
// A release is the unit of publishing (architecture.md §1). A submission
// (CSV files, each with its Table Schema, plus dataset and release metadata
// and a data quality statement) is validated completely and passed through
// disclosure control (package disclosure) before anything is written: every
// problem is reported with its file, row and column, and a submission with
// any problem or blocking finding stores nothing. A good submission's
// original files (private: never served, never feeding anything public) and
// the public version of each go to the blob store, the public rows to the
// row store and its record to the catalogue, all tagged with the new
// release's id and invisible to the public; the release is then checked.
//
// From there only the workflow moves it: provider preview (optional),
// review by the transparency panel (the seven considerations and a
// decision, N approvals from distinct reviewers bound to the SHA-256 of
// every public file), scheduling (the embargo instant, on the public
// calendar) and publication by the in-process scheduler at that instant.
// Each step is allowed only to its roles ([Permitted] is the rule book) and
// is written by the [WorkflowStore] in one transaction together with the
// release's change of state and an entry in the hash-chained audit log.
// Publication is that same kind of transaction: everything the release
// needs was written before it, so a crash before leaves nothing public and
// a crash after leaves everything public. No command or API publishes
// around the workflow; the demo drives it with demo accounts.
//
// # Submissions of real size
//
// A submission's files arrive spooled to disk and are read from there,
// never held whole. A file is kept as parsed rows (about a kilobyte a
// row) only when disclosure control needs them: when a small-number or
// magnitude rule, person-level data or a hierarchy is declared, when a
// cell is suppressed at source, when an earlier release of the dataset
// has a suppressed cell, or when indicators or a clinical audit are
// derived from the files. Otherwise (a release of figures published in
// full, the usual case for the largest files) every check runs on each
// row as it is read (disclosure.Scan, assess in prepare.go), the public
// version is the original bytes or, for another dialect or encoding, the
// rows read again and rewritten as they stream (streaming.go), and the
// rows go to the row store from the blob store: memory does not grow with
// the file. An amendment still reads its files with their rows.
//
// Directory importers (ODS practices and trusts, hospital sites, trust
// headquarters and postcode district positions) and the inventory importer
// load reference data that is public on arrival: national directories are
// already public, and inventory entries are announcements.
// ImportAreaNames (areanames.go) names the regions and integrated care
// boards the ODS files give by code only, from already-public NHS files
// that name them, choosing by a fixed rule and reporting every conflict
// between sources.
//
// The publisher also produces the catalogue's search documents (search.go):
// a release's when it is submitted, and those of everything public, kept in
// step with the published view by difference after every change of it.
//
// # Crash safety
//
// A process may die at any instant (SIGKILL, a power cut). What is public
// changes only by commits of the one SQLite database (WAL, synchronous
// FULL), so a release is fully published or not at all: publication is
// one commit, made after every file it names is verified in the blob store
// (which renames a synced file into place and syncs its folder, so a blob
// is whole or absent). The other steps write in several stores, and a crash
// between them leaves work half-stored but never public; start-up recovery
// ([Service.Recover], run by cmd when it opens the data folder alone)
// finishes or removes it:
//
//   - A submission writes its blobs, then its release record as a draft,
//     then rows, observations, audit outcomes and its search document,
//     then one commit that stores the disclosure report, moves it to
//     checked and appends the audit entry. A release still in draft at
//     start-up never completed: recovery removes its rows, observations and
//     outcomes, then in one commit its record (and its dataset, when the
//     submission created it) with an audit entry release.draft-removed
//     (about no release, since the id is free again; its details name the
//     draft), and logs it. A submission that fails without a crash is
//     removed the same way ("abandon").
//   - An amendment's commit replaces the files and marks the release
//     unfinished ([Unfinished]) until its rows, observations and outcomes
//     are rewritten; recovery rewrites them from the stored public files
//     and clears the mark, and publication refuses a marked release.
//   - A cancellation's commit marks the release unfinished the same way
//     until its rows, observations and outcomes are removed; recovery
//     removes them.
//   - Blobs no release records (from a submission that stopped before its
//     record, a removed draft, an amended release's earlier files) and the
//     temporary files of unfinished blob writes are removed. A file is
//     served only through a published release's record, so such a file was
//     never reachable; removing it keeps it so.
//
// Version numbers are given when a release is created, as the dataset's
// highest version plus one, and are not renumbered at publication: a
// version is a release's identity in reviews, approvals, corrections, the
// calendar and the audit log long before it is public, so numbering public
// versions only at publication would give one release two numbers. Instead
// a draft is always its dataset's newest version — a submission holds its
// dataset's draft lock (lockDrafts) from creating the draft until it is
// checked or removed — so removing a draft frees exactly the highest
// number, which the next submission reuses, and a crash leaves no gap.
// (Two processes submitting to the same dataset at once are not
// serialised; recovery runs only when a process holds the data folder
// alone.) Cancelled and rejected releases keep their numbers, as the
// workflow records decisions about them.
//
// The fault points of package faultpoint mark each of these steps; the
// crash harness (cmd/candour/crash_e2e_test.go) kills a real process at
// each of them and at random instants, and checks all of the above.
//
// # What it must not do
//
// It never serves anything. It never lets an original file, or the hash of
// one, reach anything public. It depends on the interfaces declared here,
// satisfied by the stores cmd wires in.
package publisher

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/content"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
)

// Blobs is the blob store as the publisher uses it. Sweep is for start-up
// recovery only (recovery.go).
type Blobs interface {
	Put(ctx context.Context, r io.Reader) (datasets.Blob, error)
	Open(ctx context.Context, sha256 string) (*os.File, datasets.Blob, error)
	Sweep(ctx context.Context, keep func(sha256 string) bool) (datasets.Swept, error)
}

// Service runs submissions, the workflow, publication and imports.
type Service struct {
	catalogue catalogue.Store
	rows      datasets.RowStore
	blobs     Blobs
	workflow  WorkflowStore
	// observations holds indicator observations (optional until a
	// release ships indicators).
	observations indicators.ObservationStore
	// audits holds clinical audit outcomes (optional until a release
	// ships an audit).
	audits audit.Store
	// search is the catalogue's search index (nil until UseSearch);
	// content supplies the editorial pages it indexes.
	search       catalogue.SearchIndex
	content      *content.Library
	searchMu     sync.Mutex
	searchSynced map[int64]bool // releases whose documents carry their publication
	now          func() time.Time
	log          *slog.Logger
	approvals    int
	maxUpload    int64
	wake         chan struct{}

	listenersMu sync.Mutex
	listeners   []func() // told when what the public sees changes

	stats stats // for operators (stats.go)

	draftsMu sync.Mutex
	drafting map[int64]*sync.Mutex // by dataset: one draft at a time (submission.go)
	// leftDrafts are drafts of failed submissions that could not be
	// removed when they failed (a store was not answering); the next
	// submission removes them first (removeLeftDrafts).
	leftDrafts []catalogue.Release
}

// Options configure a Service. Catalogue, Rows, Blobs and Workflow are
// required.
type Options struct {
	Catalogue catalogue.Store
	Rows      datasets.RowStore
	Blobs     Blobs
	Workflow  WorkflowStore
	// Observations stores indicator definitions and observations.
	Observations indicators.ObservationStore
	// Audits stores clinical audit definitions and outcomes.
	Audits audit.Store
	// Content is the editorial pages, for the search index.
	Content *content.Library
	// Now gives the current instant (injectable for tests); default
	// time.Now in UTC.
	Now func() time.Time
	Log *slog.Logger
	// Approvals is how many distinct reviewers must approve a release
	// (default 2).
	Approvals int
	// MaxUploadBytes bounds a submission's files together (default 200
	// MiB; negative for no limit).
	MaxUploadBytes int64
}

// DefaultApprovals and DefaultMaxUpload are the defaults of Options.
const (
	DefaultApprovals       = 2
	DefaultMaxUpload int64 = 200 << 20
)

// New returns a publisher over the given stores.
func New(o Options) *Service {
	s := &Service{catalogue: o.Catalogue, rows: o.Rows, blobs: o.Blobs, workflow: o.Workflow, observations: o.Observations, audits: o.Audits, content: o.Content, now: o.Now, log: o.Log,
		approvals: o.Approvals, maxUpload: o.MaxUploadBytes, wake: make(chan struct{}, 1)}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.approvals <= 0 {
		s.approvals = DefaultApprovals
	}
	if s.maxUpload == 0 {
		s.maxUpload = DefaultMaxUpload
	}
	return s
}

// Progress receives progress through a long step: what is being done, and
// how many of how many bytes are done (total -1 when unknown).
type Progress func(step string, done, total int64)

// Steps a submission reports beside "checking FILE" (every cell against
// its schema) and "storing rows of FILE", each once as it starts.
const (
	StageDisclosure = "disclosure control"
	StageIndicators = "computing indicators and audit outcomes"
)

// noProgress is used when the caller passes nil.
func noProgress(string, int64, int64) {}
