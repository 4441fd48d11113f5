package catalogue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Search. The catalogue owns the search index (architecture.md §2) over
// documents the other packages produce: the publisher writes a release's
// document when the release is submitted, before publication, and keeps
// the documents of public things (datasets, organisations, indicators,
// audits, pages, calendar entries) in step with the published view. A
// document tagged with a release is found only while that release is in
// the visible set the caller passes: the catalogue's answer, not the
// index, decides what is public.

// Kinds of search document.
const (
	KindDataset      = "dataset"
	KindRelease      = "release"
	KindOrganisation = "organisation"
	KindIndicator    = "indicator"
	KindAudit        = "audit"
	KindPage         = "page"
	KindCalendar     = "calendar" // an announced release: public from announcement
)

// SearchKinds lists the kinds, in the order pages show them, with labels.
var SearchKinds = []struct{ Kind, Label string }{
	{KindDataset, "Datasets"}, {KindRelease, "Releases"}, {KindOrganisation, "Organisations"},
	{KindIndicator, "Indicators"}, {KindAudit, "Clinical audits"}, {KindPage, "Pages"}, {KindCalendar, "Upcoming releases"},
}

// LatLon is a point on the WGS84 ellipsoid.
type LatLon struct{ Lat, Lon float64 }

// Validate checks the point is on the globe.
func (l LatLon) Validate() error {
	if math.IsNaN(l.Lat) || math.IsNaN(l.Lon) || l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 {
		return fmt.Errorf("%w: latitude %v, longitude %v is not a place on Earth", ErrInvalid, l.Lat, l.Lon)
	}
	return nil
}

// SearchDocument is one entry of the search index.
type SearchDocument struct {
	ID   string // unique, e.g. "dataset:shmi", "release:12", "organisation:RR8"
	Kind string
	// Release is the release whose content the document shows; 0 for
	// documents that are public as they are (reference data, calendar
	// entries, pages, and documents rebuilt from the published view).
	Release int64
	URL     string
	Title   string
	// Text is prose (English stemming): descriptions, summaries, change
	// notes, the names a release's rows mention.
	Text string
	// Codes are identifiers matched exactly, case- and space-insensitively:
	// ODS codes, postcodes (with and without the space), outcodes, slugs.
	Codes []string
	// Places are town, county and address words (fuzzy-matched, so a
	// misspelt town is still found).
	Places []string
	// Facets.
	Publisher   string
	Topics      []string
	Licence     string
	Frequency   string
	Granularity string
	Status      string // a dataset's status: planned, published, not-open, withdrawn
	OrgType     string
	Region      string
	Updated     time.Time
	Location    *LatLon
	// Approximate says the location is a postcode district's centre, not
	// the organisation's own.
	Approximate bool
	// Closed marks an organisation that is not open (closed, dormant or
	// not yet opened): found by name, never listed as near a place unless
	// the query asks for every organisation (SearchQuery.NearAny).
	Closed bool
	// OrgStatus is an organisation's status (active, dormant, closed…),
	// shown beside it in results; stored, not indexed.
	OrgStatus string `json:",omitempty"`
}

// Facet names, as SearchQuery.Filters and SearchResults.Facets use them.
const (
	FacetKind        = "kind"
	FacetPublisher   = "publisher"
	FacetTopic       = "topic"
	FacetLicence     = "licence"
	FacetFrequency   = "frequency"
	FacetGranularity = "granularity"
	FacetStatus      = "status"
	FacetOrgType     = "type"
	FacetRegion      = "region"
)

// Facets lists the facets, in the order pages show them.
var Facets = []string{FacetKind, FacetPublisher, FacetTopic, FacetLicence, FacetFrequency, FacetGranularity, FacetStatus, FacetOrgType, FacetRegion}

// SearchQuery is one search.
type SearchQuery struct {
	Text string
	// Filters narrow by facet value: facet → values (any of them).
	Filters map[string][]string
	// Sort is "" (relevance) or "updated" (most recently updated first).
	Sort string
	From int
	Size int
	// Near, when set, sorts by distance from it and returns only documents
	// with a location within NearKM.
	Near   *LatLon
	NearKM float64
	// NearAny lists organisations that are not open as well, when Near is
	// set.
	NearAny bool
	// OpenCareOnly leaves out organisations that are not open and other
	// prescribing cost centres (prisons, drug services, out-of-hours):
	// for a postcode, whose results are for someone looking for care.
	OpenCareOnly bool
	// Visible are the releases whose content the caller may see; a
	// document tagged with any other release is never found or counted.
	Visible []int64
	// Highlight asks for snippets with the matched words marked.
	Highlight bool
}

// FacetCount is one value of a facet and how many results have it.
type FacetCount struct {
	Value string
	Count int
}

// SearchHit is one result.
type SearchHit struct {
	Document SearchDocument
	Score    float64
	// Snippet is plain text of the matching passage; Marks are the byte
	// ranges within it that matched (the site marks them up, escaped).
	Snippet string
	Marks   [][2]int
	// DistanceKM is set for a search near a place.
	DistanceKM float64
}

// SearchResults are one page of results with facet counts over all of
// them.
type SearchResults struct {
	Total  int
	Hits   []SearchHit
	Facets map[string][]FacetCount
	Took   time.Duration
}

// SearchDocumentHash is a document's content hash: equal hashes, equal
// documents.
func SearchDocumentHash(d SearchDocument) string {
	raw, _ := json.Marshal(d)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:12])
}

// SearchIndex is the search index. Implementations: searchbleve.
type SearchIndex interface {
	// Put adds or replaces documents, in one batch.
	Put(ctx context.Context, docs []SearchDocument) error
	// Delete removes documents by id.
	Delete(ctx context.Context, ids []string) error
	// Hashes returns a content hash of every indexed document not tagged
	// with a release, by id, so a caller can bring them up to date by
	// difference.
	Hashes(ctx context.Context) (map[string]string, error)
	// ReleaseHashes returns the content hash of every indexed document
	// tagged with a release, by id, so a caller can leave those that are
	// up to date alone.
	ReleaseHashes(ctx context.Context) (map[string]string, error)
	// Search runs a query.
	Search(ctx context.Context, q SearchQuery) (SearchResults, error)
}
