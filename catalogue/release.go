package catalogue

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// ReleaseState is where a release is in the publishing workflow. The rules
// for moving between states belong to package publisher.
type ReleaseState string

// Release states (architecture.md §1).
const (
	StateDraft      ReleaseState = "draft"      // uploaded
	StateChecked    ReleaseState = "checked"    // validation and disclosure control passed
	StateInPreview  ReleaseState = "in-preview" // provider checkers see their own rows
	StateInReview   ReleaseState = "in-review"  // the panel records the seven considerations
	StateApproved   ReleaseState = "approved"   // enough approvals, bound to the files' hashes
	StateScheduled  ReleaseState = "scheduled"  // embargo instant set
	StatePublished  ReleaseState = "published"
	StateSuperseded ReleaseState = "superseded" // replaced by a correction; still public
	StateWithdrawn  ReleaseState = "withdrawn"  // content removed; page kept with the reason
	StateRejected   ReleaseState = "rejected"   // sent back; resubmitted as a new version
	StateCancelled  ReleaseState = "cancelled"  // never published
)

// ReleaseStates lists every state in workflow order.
var ReleaseStates = []ReleaseState{
	StateDraft, StateChecked, StateInPreview, StateInReview, StateApproved, StateScheduled,
	StatePublished, StateSuperseded, StateWithdrawn, StateRejected, StateCancelled,
}

// Valid reports whether s is a known state.
func (s ReleaseState) Valid() bool {
	for _, k := range ReleaseStates {
		if s == k {
			return true
		}
	}
	return false
}

// ContentPublic reports whether a release in state s shows its content to
// the public (once its publication instant has passed).
func (s ReleaseState) ContentPublic() bool {
	return s == StatePublished || s == StateSuperseded
}

// Listed reports whether a release in state s has a public page (once its
// publication instant has passed): published, superseded or withdrawn.
func (s ReleaseState) Listed() bool {
	return s.ContentPublic() || s == StateWithdrawn
}

// Label is the state in plain English.
func (s ReleaseState) Label() string {
	switch s {
	case StateInPreview:
		return "In provider preview"
	case StateInReview:
		return "In panel review"
	}
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + strings.ReplaceAll(string(s[1:]), "-", " ")
}

// Quality is a release's data quality statement.
type Quality struct {
	Coverage     string `json:"coverage,omitempty"`     // who and what the data covers
	Completeness string `json:"completeness,omitempty"` // what is missing
	KnownIssues  string `json:"knownIssues,omitempty"`  // caveats users must know
	Revisions    string `json:"revisions,omitempty"`    // the revisions policy
}

// IsZero reports whether no part of the statement was given.
func (q Quality) IsZero() bool { return q == Quality{} }

// Release is one publication of a dataset: a version with its files.
type Release struct {
	ID        int64
	DatasetID int64
	// Dataset is filled by reads for display (slug and title).
	Dataset     DatasetRef
	Version     int // 1, 2, … within the dataset, assigned when created
	Title       string
	Summary     string
	PeriodLabel string // e.g. "January 2026", "April 2018 to March 2019"
	PeriodStart Date   // zero when the source does not say
	PeriodEnd   Date
	State       ReleaseState
	CreatedAt   time.Time
	// StateChangedAt is when the release entered its current state.
	StateChangedAt time.Time
	// PublishedAt is the publication instant; zero until published.
	PublishedAt time.Time
	// WithdrawnReason is shown on a withdrawn release's page.
	WithdrawnReason string
	// EmbargoAt is the scheduled publication instant; zero unless the
	// release has been scheduled. It is embargoed content: views show it
	// only through the release calendar.
	EmbargoAt time.Time
	// SubmittedBy is the account that submitted the release.
	SubmittedBy string
	// Corrects is the release this one corrects (0 if none); on
	// publication that release becomes superseded. CorrectionNotice is the
	// public notice shown on both.
	Corrects         ReleaseRef
	CorrectionNotice string
	// ReplacedBy is the release that superseded this one, or the
	// replacement named when it was withdrawn.
	ReplacedBy ReleaseRef
	// DisclosureSummary says in plain English what disclosure control did
	// (how many cells were suppressed or rounded, under which rule) without
	// revealing any cell.
	DisclosureSummary string
	ChangeNotes       string // what changed since the previous release (Markdown)
	Quality           Quality
	// Files are the release's files. Views include only public files and
	// only while the content is visible.
	Files []File
	// ContentVisible is set by views: false for a withdrawn release.
	ContentVisible bool
	// AuditHead is the audit log's chain head as of the release's own
	// publication entry, recorded in the publication's transaction and
	// never changed; zero until published (and for releases published
	// before heads were recorded, unless the upgrade could fill it in).
	// Manifests carry it so that anyone can later check the log was not
	// cut short (package auditlog explains).
	AuditHead ChainHead
}

// ChainHead is a position in the publisher's hash-chained audit log: an
// entry's sequence number and hash. The zero value is no head.
type ChainHead struct {
	Seq  int64
	Hash string
}

// IsZero reports whether no head is recorded.
func (h ChainHead) IsZero() bool { return h.Seq == 0 }

// ReleaseRef points at another release of the same dataset; the zero
// value points nowhere.
type ReleaseRef struct {
	ID      int64
	Version int
}

// IsZero reports whether r points nowhere.
func (r ReleaseRef) IsZero() bool { return r.ID == 0 }

// DatasetRef names a release's dataset.
type DatasetRef struct {
	Slug  string
	Title string
}

// Validate checks a new release before it is stored.
func (r Release) Validate() error {
	if r.DatasetID == 0 {
		return invalid("release.dataset", "required")
	}
	if strings.TrimSpace(r.Title) == "" {
		return invalid("release.title", "required")
	}
	if !r.PeriodStart.IsZero() && !r.PeriodEnd.IsZero() && r.PeriodStart.After(r.PeriodEnd) {
		return invalid("release.periodEnd", "%s is before the period start %s", r.PeriodEnd, r.PeriodStart)
	}
	return nil
}

// FileRole says whether a file may ever be public.
type FileRole string

// File roles. An original (before disclosure control) is never served and
// never feeds anything public.
const (
	RolePublic   FileRole = "public"
	RoleOriginal FileRole = "original"
)

// File is one file of a release, stored in the blob store under its SHA-256.
type File struct {
	ID        int64
	ReleaseID int64
	Name      string // file name, unique within the release and role
	Title     string
	Role      FileRole
	MediaType string // e.g. "text/csv"
	Encoding  string // character encoding of the bytes, e.g. "utf-8"
	SHA256    string // hex
	Bytes     int64
	Rows      int64 // data rows
	// Resource is the file's Frictionless Data Resource descriptor (with
	// its Table Schema), as JSON; catalogue stores it without reading it.
	Resource json.RawMessage
}

var fileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// ValidFileName reports whether s is safe as a file name in URLs and
// Content-Disposition headers.
func ValidFileName(s string) bool {
	return fileNamePattern.MatchString(s) && !strings.Contains(s, "..")
}

// Validate checks a file record before it is stored.
func (f File) Validate() error {
	if !ValidFileName(f.Name) {
		return invalid("file.name", "%q is not a safe file name (letters, digits, dot, hyphen, underscore)", f.Name)
	}
	if f.Role != RolePublic && f.Role != RoleOriginal {
		return invalid("file.role", "unknown role %q", f.Role)
	}
	if len(f.SHA256) != 64 {
		return invalid("file.sha256", "want 64 hex digits")
	}
	if f.Bytes < 0 || f.Rows < 0 {
		return invalid("file.bytes", "negative size")
	}
	return nil
}

// Transition moves a release from one state to another.
type Transition struct {
	Release int64
	From    ReleaseState // the state the caller believes the release is in
	To      ReleaseState
	At      time.Time // when; for publication, the publication instant
	Actor   string    // who (an account, or "operator (command line)")
	Note    string    // why, e.g. a withdrawal reason
	// EmbargoAt is the publication instant, when To is StateScheduled.
	EmbargoAt time.Time
	// ReplacedBy is the release that replaces this one, when To is
	// StateSuperseded or StateWithdrawn (optional for a withdrawal).
	ReplacedBy int64
}

// Event is one recorded transition of a release.
type Event struct {
	Release int64
	From    ReleaseState
	To      ReleaseState
	At      time.Time
	Actor   string
	Note    string
}

// ReleaseQuery selects releases.
type ReleaseQuery struct {
	Visibility Visibility
	DatasetID  int64          // 0 for all datasets
	State      ReleaseState   // "" for any (visibility still applies)
	States     []ReleaseState // any of these; nil for any
	Mentions   string         // organisation code the release uses; "" for any
	Newest     bool           // newest publication first (else by version)
	Limit      int            // 0 means no limit
}
