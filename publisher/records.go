package publisher

import (
	"context"
	"encoding/json"
	"iter"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher/auditlog"
)

// Considerations are the seven questions every reviewer answers for every
// release (product.md).
var Considerations = [7]string{
	"Purpose and benefits of the data",
	"Data protection issues, and whether the Information Commissioner was consulted",
	"Confidentiality and the potential for jigsaw identification",
	"The format and level of detail released",
	"The costs of collecting, releasing or linking the data, and who pays",
	"Commercial implications or impacts on existing information providers",
	"The impact on the wider transparency agenda (will it support a market of intermediaries?)",
}

// ConsiderationGuidance is a short guide to each consideration, shown
// beside it on the review form: what a lay panel member should look at on
// the release page before answering.
var ConsiderationGuidance = [7]string{
	"Who will use these figures and for what: choosing a hospital or practice, holding services to account, research. Say what the public gains, or why there is little benefit.",
	"Could any row be about a living person? Look at the disclosure report and the first rows below: counts of people must be suppressed or rounded. Say whether the Information Commissioner's Office was consulted, and if not, why not.",
	"Could someone combine this release with others, or with what they already know, to learn about an individual? The report shows each suppressed cell's range of possible values; note any finding you must accept.",
	"Is the level of detail (organisation, area, age band) right for the purpose, and is the file open and machine-readable (CSV with its schema)? Say if a coarser or finer level would be better.",
	"What it costs to collect, check and publish these data, and who pays. Publishing what is already collected usually costs little; say so if that is the case.",
	"Would publishing harm a company's legitimate interests or undercut someone who already provides these data? Say who is affected, or that nobody is.",
	"Will intermediaries (journalists, charities, apps) be able to reuse it: open licence, stable addresses, documented fields? Say how it adds to what is already open.",
}

// Decision is a reviewer's decision on a release.
type Decision string

// Decisions. Only DecisionApprove counts towards the approvals a release
// needs; DecisionApproveWithChange asks the publisher for a stated change,
// after which the files' hashes change and everyone approves afresh.
const (
	DecisionApprove           Decision = "approve"
	DecisionApproveWithChange Decision = "approve-with-change"
	DecisionReject            Decision = "reject"
)

// Label is the decision in words.
func (d Decision) Label() string {
	switch d {
	case DecisionApprove:
		return "Approved"
	case DecisionApproveWithChange:
		return "Approved subject to a change"
	case DecisionReject:
		return "Rejected"
	}
	return string(d)
}

// Review is one reviewer's record of one release: an answer to each of the
// seven considerations and a decision, bound to the SHA-256 of every
// public file as it was when they decided.
type Review struct {
	ID           int64
	Release      int64
	Reviewer     string // username
	ReviewerName string // shown publicly
	Answers      [7]string
	Decision     Decision
	Change       string // the change asked for, with DecisionApproveWithChange
	Reasons      string // why, required to reject
	Files        []auditlog.FileHash
	At           time.Time
	// Accepted are the findings needing acceptance that the reviewer
	// accepted (disclosure.Finding.AcceptanceKey).
	Accepted []string
}

// Query is a provider checker's question about their organisation's
// figures, which reviewers must resolve before the release can be approved.
type Query struct {
	ID           int64
	Release      int64
	Organisation string // the checker's organisation code
	RaisedBy     string
	Text         string
	RaisedAt     time.Time
	Resolution   string // "" while open
	ResolvedBy   string
	ResolvedAt   time.Time
}

// Open reports whether the query awaits a resolution.
func (q Query) Open() bool { return q.ResolvedAt.IsZero() }

// Access is one person who saw a release's content before publication: the
// pre-release access list.
type Access struct {
	Release  int64
	Username string
	Name     string
	Role     Role
	First    time.Time
	Last     time.Time
}

// Preview is a release's provider preview window.
type Preview struct {
	Release  int64
	OpenedAt time.Time
	Until    time.Time
	OpenedBy string
}

// Change is everything one workflow step writes. The store commits it in
// one transaction: the release's change of state, the workflow's records
// and the audit entry, or none of them.
type Change struct {
	Transitions []catalogue.Transition
	Files       *FileReplacement
	Calendar    *CalendarChange
	Review      *Review
	Query       *Query // ID 0 creates; otherwise records the resolution
	Preview     *Preview
	Report      *Report
	// OutlierResponse records a provider's answer to an outlier
	// notification (its ID is set when stored).
	OutlierResponse *OutlierResponse
	Audit           auditlog.Entry // Action "" for none
	// RecordHeadFor, when not 0, is the release (being published by this
	// change) whose record keeps the chain head that Audit makes: its
	// sequence number and hash, carried in the release's manifest.
	RecordHeadFor int64
	// Unfinished marks a release whose derived data must be rewritten
	// from its files, or clears the mark.
	Unfinished *Unfinished
	// RemoveDraft removes a draft that never became checked.
	RemoveDraft *DraftRemoval
	// Publisher sets an existing publisher's name and address (an
	// administrator's correction; see Service.RenamePublisher).
	Publisher *catalogue.Publisher
}

// Unfinished marks a release whose derived data (rows, indicator
// observations, audit outcomes) no longer match its files or state: set
// in the commit that replaces its files (an amendment) or cancels it,
// cleared (Done) once they are rewritten or removed. Start-up recovery
// finishes whatever a crash left marked.
type Unfinished struct {
	Release int64
	At      time.Time // when marked
	Done    bool
}

// DraftRemoval removes a release still in state draft — a submission that
// stopped between storing its record and being checked — with its files'
// records, and its dataset when the submission created it. The store sets
// DatasetRemoved.
type DraftRemoval struct {
	Release        int64
	DatasetRemoved bool
}

// FileReplacement replaces a release's files (an amendment).
type FileReplacement struct {
	Release           int64
	Files             []catalogue.File
	DisclosureSummary string
}

// CalendarChange creates or updates a release calendar entry.
type CalendarChange struct {
	Entry  catalogue.CalendarEntry
	Reason string // required when an announced date changes
	Actor  string
}

// Report is a release's disclosure-control report, private to the
// publisher and reviewers (it names cells).
type Report struct {
	Release int64
	JSON    json.RawMessage
	// Revision is what the submission declared about an earlier version,
	// kept so that amendments are audited against it too (nil for none).
	Revision *RevisionSpec
}

// WorkflowStore keeps the workflow's records. Implementations:
// workflowsqlite (which commits catalogue transitions in the same SQLite
// transaction). It never decides visibility.
type WorkflowStore interface {
	// Apply commits c atomically. A transition whose release is not in
	// its From state fails with catalogue.ErrConflict and nothing is
	// written.
	Apply(ctx context.Context, c Change) error
	// Reviews returns a release's reviews, oldest first.
	Reviews(ctx context.Context, release int64) ([]Review, error)
	// Queries returns a release's provider queries, oldest first.
	Queries(ctx context.Context, release int64) ([]Query, error)
	// OutlierResponses returns the answers to a release's outlier
	// notifications, oldest first.
	OutlierResponses(ctx context.Context, release int64) ([]OutlierResponse, error)
	// Preview returns a release's preview window, or ok false.
	Preview(ctx context.Context, release int64) (Preview, bool, error)
	// Report returns a release's disclosure report (nil if none).
	Report(ctx context.Context, release int64) (json.RawMessage, error)
	// Revision returns the revision a release's submission declared (nil
	// for none).
	Revision(ctx context.Context, release int64) (*RevisionSpec, error)
	// RecordAccess adds a person to a release's pre-release access list,
	// or updates when they last looked.
	RecordAccess(ctx context.Context, a Access) error
	// AccessList returns a release's pre-release access list.
	AccessList(ctx context.Context, release int64) ([]Access, error)
	// AuditLog is the hash-chained audit log the store appends to.
	AuditLog() AuditLog
	// UnfinishedReleases returns the releases marked Unfinished, oldest
	// mark first.
	UnfinishedReleases(ctx context.Context) ([]int64, error)
}

// AuditLog is the read side of the hash-chained audit log.
type AuditLog interface {
	Head(ctx context.Context) (auditlog.Head, error)
	Entries(ctx context.Context, afterSeq int64) iter.Seq2[auditlog.Entry, error]
	EntriesForRelease(ctx context.Context, release int64) ([]auditlog.Entry, error)
	Verify(ctx context.Context) (auditlog.Head, error)
}
