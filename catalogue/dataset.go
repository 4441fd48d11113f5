package catalogue

import (
	"regexp"
	"strings"
	"time"
)

// Publisher is an organisation that publishes datasets on the portal.
type Publisher struct {
	ID   int64
	Slug string // stable identifier in URLs, e.g. "nhs-england"
	Name string
	URL  string // its own website, optional
}

// Validate checks a publisher before it is stored.
func (p Publisher) Validate() error {
	if !slugPattern.MatchString(p.Slug) {
		return invalid("publisher.slug", "%q is not a slug (lower-case letters, digits and hyphens)", p.Slug)
	}
	if strings.TrimSpace(p.Name) == "" {
		return invalid("publisher.name", "required")
	}
	return nil
}

// Licence is a licence data may be published under.
type Licence struct {
	ID    string // SPDX-like identifier, e.g. "OGL-UK-3.0"
	Title string
	URL   string
	Open  bool // an open licence in the sense of the Open Definition
	// Statement is the attribution statement the licence asks re-users to
	// include.
	Statement string
}

// DefaultLicence is the Open Government Licence v3.0, the default for
// public sector information in the UK.
const DefaultLicence = "OGL-UK-3.0"

// LicenceNotStated is for catalogue entries whose licence the publisher has
// not decided or not said.
const LicenceNotStated = "not-stated"

var licences = map[string]Licence{
	"OGL-UK-3.0": {
		ID: "OGL-UK-3.0", Title: "Open Government Licence v3.0", Open: true,
		URL:       "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
		Statement: "Contains public sector information licensed under the Open Government Licence v3.0.",
	},
	"CC-BY-4.0": {
		ID: "CC-BY-4.0", Title: "Creative Commons Attribution 4.0 International", Open: true,
		URL:       "https://creativecommons.org/licenses/by/4.0/",
		Statement: "Licensed under the Creative Commons Attribution 4.0 International licence.",
	},
	"ODC-PDDL-1.0": {
		ID: "ODC-PDDL-1.0", Title: "Open Data Commons Public Domain Dedication and Licence 1.0", Open: true,
		URL:       "https://opendatacommons.org/licenses/pddl/1-0/",
		Statement: "Dedicated to the public domain under the Open Data Commons Public Domain Dedication and Licence 1.0.",
	},
	LicenceNotStated: {
		ID: LicenceNotStated, Title: "Licence not yet stated", Open: false,
		Statement: "The publisher has not yet stated the licence; see the dataset's description.",
	},
	"not-open": {
		ID: "not-open", Title: "Not openly licensed", Open: false,
		Statement: "Not available under an open licence; see the dataset's description for access.",
	},
}

// LookupLicence returns the licence with the identifier id.
func LookupLicence(id string) (Licence, bool) {
	l, ok := licences[id]
	return l, ok
}

// DatasetStatus is a dataset's place in the catalogue.
type DatasetStatus string

// Dataset statuses.
const (
	DatasetPlanned   DatasetStatus = "planned"   // promised, nothing published yet
	DatasetPublished DatasetStatus = "published" // at least one release is published
	DatasetNotOpen   DatasetStatus = "not-open"  // exists, but not released as open data
	DatasetWithdrawn DatasetStatus = "withdrawn" // no longer published; pages kept
)

// DatasetStatuses lists every status in display order.
var DatasetStatuses = []DatasetStatus{DatasetPublished, DatasetPlanned, DatasetNotOpen, DatasetWithdrawn}

// Valid reports whether s is a known status.
func (s DatasetStatus) Valid() bool {
	switch s {
	case DatasetPlanned, DatasetPublished, DatasetNotOpen, DatasetWithdrawn:
		return true
	}
	return false
}

// Label is the status in plain English.
func (s DatasetStatus) Label() string {
	switch s {
	case DatasetPlanned:
		return "Planned"
	case DatasetPublished:
		return "Published"
	case DatasetNotOpen:
		return "Not open"
	case DatasetWithdrawn:
		return "Withdrawn"
	}
	return string(s)
}

// Dataset is a series of releases on one subject from one publisher.
type Dataset struct {
	ID          int64
	Slug        string // stable identifier in URLs
	Title       string
	Summary     string // one or two plain sentences
	Description string // Markdown
	Publisher   Publisher
	Topics      []string
	Licence     string // licence identifier, see LookupLicence
	// Attribution is the statement re-users must include; when empty the
	// licence's statement is used, preceded by the publisher's name.
	Attribution string
	Frequency   string // e.g. "Monthly"
	Granularity string // e.g. "NHS trust"
	// Status is the publisher's declared status; views replace it with
	// DatasetPublished when a release is published.
	Status DatasetStatus
	// Announced datasets are public catalogue entries before any release
	// is published (inventory and calendar entries). Others stay private
	// until their first release is published.
	Announced bool
	Inventory *InventoryEntry // the original inventory text, when it came from one
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AttributionStatement is what re-users must state when using the data.
func (d Dataset) AttributionStatement() string {
	if d.Attribution != "" {
		return d.Attribution
	}
	l, _ := LookupLicence(d.Licence)
	if d.Publisher.Name == "" {
		return l.Statement
	}
	return "Source: " + d.Publisher.Name + ". " + l.Statement
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidSlug reports whether s can be used as a slug in URLs.
func ValidSlug(s string) bool { return len(s) <= 100 && slugPattern.MatchString(s) }

// Validate checks a dataset before it is stored.
func (d Dataset) Validate() error {
	if !ValidSlug(d.Slug) {
		return invalid("dataset.slug", "%q is not a slug (lower-case letters, digits and single hyphens, at most 100)", d.Slug)
	}
	if strings.TrimSpace(d.Title) == "" {
		return invalid("dataset.title", "required")
	}
	if _, ok := LookupLicence(d.Licence); !ok {
		return invalid("dataset.licence", "unknown licence %q", d.Licence)
	}
	if !d.Status.Valid() {
		return invalid("dataset.status", "unknown status %q", d.Status)
	}
	for i, t := range d.Topics {
		if strings.TrimSpace(t) == "" {
			return invalid("dataset.topics", "topic %d is empty", i+1)
		}
	}
	return nil
}

// InventoryEntry keeps an entry of a published inventory of promised
// datasets exactly as written, because its dates, frequencies and licence
// notes are free text that must not be guessed into typed fields.
type InventoryEntry struct {
	Source      string // the inventory's name, e.g. "Annex B, The Power of Information (2012)"
	Line        int    // line in the source file
	Name        string
	Description string
	ReleaseDate string
	Frequency   string
	OGL         string
	Granularity string
	Publisher   string
	// Expected is ReleaseDate read by the importer's documented rules:
	// "YYYY-MM-DD", "YYYY-MM", or "" when no rule applies.
	Expected string
}

// DatasetQuery selects datasets.
type DatasetQuery struct {
	Visibility Visibility
	Status     DatasetStatus // "" for all
	Offset     int
	Limit      int // 0 means 50
}

// DatasetSummary is a dataset with what lists show about its releases.
type DatasetSummary struct {
	Dataset
	Releases int      // releases visible to the query
	Latest   *Release // the most recently published visible release, nil if none
}

// DatasetPage is one page of datasets and the total matching.
type DatasetPage struct {
	Datasets []DatasetSummary
	Total    int
}
