package catalogue

import (
	"context"
	"time"
)

// Visibility says which releases a read may see. Its zero value is
// unusable: stores refuse it, so a read that forgot to say who is asking
// fails instead of seeing drafts.
type Visibility struct {
	internal bool
	public   bool
	at       time.Time
}

// Internal is the visibility of the publisher's own work and the operator's
// commands: every release in every state. Public code never uses it; it
// only ever receives a [View].
func Internal() Visibility { return Visibility{internal: true} }

// publicAt is the visibility of the published view at instant t.
func publicAt(t time.Time) Visibility { return Visibility{public: true, at: t.UTC()} }

// IsInternal reports whether v sees everything.
func (v Visibility) IsInternal() bool { return v.internal }

// PublicAt returns the instant of a public visibility, and false for an
// internal or zero one.
func (v Visibility) PublicAt() (time.Time, bool) { return v.at, v.public }

// Set reports whether v was built by Internal or by a view.
func (v Visibility) Set() bool { return v.internal || v.public }

// Reader is the read side of a catalogue store. Every method honours the
// Visibility it is given (in the query, or as an argument) and fails on a
// zero Visibility.
type Reader interface {
	// ListDatasets returns one page of datasets, by title.
	ListDatasets(ctx context.Context, q DatasetQuery) (DatasetPage, error)
	// GetDataset returns the dataset with the slug, or ErrNotFound.
	GetDataset(ctx context.Context, slug string, v Visibility) (Dataset, error)
	// ListReleases returns releases, without their files.
	ListReleases(ctx context.Context, q ReleaseQuery) ([]Release, error)
	// GetRelease returns a dataset's release by version, with its files
	// when its content is visible, or ErrNotFound.
	GetRelease(ctx context.Context, datasetSlug string, version int, v Visibility) (Release, error)
	// ContentVisibleReleases returns the ids of releases whose content v
	// may see, in ascending order.
	ContentVisibleReleases(ctx context.Context, v Visibility) ([]int64, error)
	// ListPublishers returns publishers with a listed dataset, by name.
	ListPublishers(ctx context.Context, v Visibility) ([]Publisher, error)
	// GetOrganisation returns the organisation with the code, or
	// ErrNotFound. An organisation outside the directory is visible only
	// through a release whose content is visible, and takes its name and
	// type from the newest such release that gives them.
	GetOrganisation(ctx context.Context, code string, v Visibility) (Organisation, error)
	// GetOrganisations returns the visible organisations among codes, as
	// GetOrganisation returns each, in one read; codes it does not find
	// are left out.
	GetOrganisations(ctx context.Context, codes []string, v Visibility) ([]Organisation, error)
	// GetPlaces returns where the visible organisations among codes sit
	// (their region and parent), in one light read; codes it does not
	// find are left out.
	GetPlaces(ctx context.Context, codes []string, v Visibility) ([]Place, error)
	// ListOrganisations returns one page of organisations, by name.
	ListOrganisations(ctx context.Context, q OrganisationQuery) (OrganisationPage, error)
	// CountOrganisations counts visible organisations by type and status.
	CountOrganisations(ctx context.Context, v Visibility) ([]OrganisationCount, error)
	// Outcodes returns every postcode district centre, by outcode.
	Outcodes(ctx context.Context) (map[string]LatLon, error)
	// ListCalendar returns release calendar entries, soonest first.
	ListCalendar(ctx context.Context, q CalendarQuery) ([]CalendarEntry, error)
}

// CalendarQuery selects release calendar entries.
type CalendarQuery struct {
	Visibility Visibility
	DatasetID  int64 // 0 for all
	Release    int64 // 0 for any; internal reads only
}

// Store is a catalogue store: the Reader plus the writes the publisher and
// importers make. Writes are atomic: each method commits everything it was
// given or nothing.
type Store interface {
	Reader

	// PutPublisher creates or updates the publisher with p.Slug: for
	// administrators and importers, never for a submission.
	PutPublisher(ctx context.Context, p Publisher) (Publisher, error)
	// EnsurePublisher returns the publisher with p.Slug as stored,
	// unchanged whatever p's name and address say, creating it from p
	// only when there is none (ErrNotFound then when p has no name). A
	// submission uses it, so that no submission can rename an
	// organisation's public attribution.
	EnsurePublisher(ctx context.Context, p Publisher) (Publisher, error)
	// PutOrganisations creates or updates directory organisations by code,
	// all in one transaction (a nil Location keeps the one stored).
	PutOrganisations(ctx context.Context, orgs []Organisation) error
	// SetLocations sets directory organisations' locations by code, all in
	// one transaction, returning the codes that are not in the directory.
	SetLocations(ctx context.Context, locations map[string]LatLon, source string) ([]string, error)
	// PutOutcodes stores postcode district centres.
	PutOutcodes(ctx context.Context, outcodes map[string]LatLon) error
	// CreateDataset stores a new dataset; ErrConflict if the slug is taken.
	CreateDataset(ctx context.Context, d Dataset) (Dataset, error)
	// CreateRelease stores a new release in StateDraft with its files and
	// the organisation codes it uses, giving it the dataset's next
	// version. Codes not yet known become organisations outside the
	// directory, visible only through this release.
	CreateRelease(ctx context.Context, r Release, files []File, mentions []Mention) (Release, error)
	// TransitionRelease moves a release from t.From to t.To in one
	// transaction, records the event, and, when t.To is StatePublished,
	// records t.At as the publication instant. ErrConflict if the release
	// is not in t.From.
	TransitionRelease(ctx context.Context, t Transition) (Release, error)
	// ReleaseByID returns any release with its files (all roles).
	ReleaseByID(ctx context.Context, id int64) (Release, error)
	// ReleaseMentions returns the organisations a release's files name.
	ReleaseMentions(ctx context.Context, id int64) ([]Mention, error)
	// ReleaseEvents returns a release's transitions, oldest first.
	ReleaseEvents(ctx context.Context, id int64) ([]Event, error)
	// OrganisationsInDirectory returns which of the codes are directory
	// organisations.
	OrganisationsInDirectory(ctx context.Context, codes []string) (map[string]bool, error)
}
