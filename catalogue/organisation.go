package catalogue

import (
	"regexp"
	"strings"
)

// OrganisationType classifies an organisation.
type OrganisationType string

// Organisation types. TypeUnknown is for codes a dataset uses that the
// national directory lacks and whose type the dataset does not state.
const (
	TypeGPPractice            OrganisationType = "gp-practice"
	TypePrescribingCostCentre OrganisationType = "prescribing-cost-centre"
	TypeNHSTrust              OrganisationType = "nhs-trust"
	TypeHospitalSite          OrganisationType = "hospital-site"
	TypeICB                   OrganisationType = "icb"
	TypeRegion                OrganisationType = "region"
	TypeCCG                   OrganisationType = "ccg"
	TypeClinicalTeam          OrganisationType = "clinical-team"
	TypeConsultant            OrganisationType = "consultant"
	TypeUnknown               OrganisationType = "unknown"
)

// OrganisationTypes lists every type, in the order pages show them.
var OrganisationTypes = []OrganisationType{
	TypeNHSTrust, TypeHospitalSite, TypeGPPractice, TypePrescribingCostCentre,
	TypeICB, TypeRegion, TypeCCG, TypeClinicalTeam, TypeConsultant, TypeUnknown,
}

var typeLabels = map[OrganisationType][2]string{
	TypeGPPractice:            {"GP practice", "GP practices"},
	TypePrescribingCostCentre: {"Other prescribing cost centre", "Other prescribing cost centres"},
	TypeNHSTrust:              {"NHS trust", "NHS trusts"},
	TypeHospitalSite:          {"Hospital site", "Hospital sites"},
	TypeICB:                   {"Integrated care board", "Integrated care boards"},
	TypeRegion:                {"NHS England region", "NHS England regions"},
	TypeCCG:                   {"Clinical commissioning group (abolished 2022)", "Clinical commissioning groups (abolished 2022)"},
	TypeClinicalTeam:          {"Clinical team", "Clinical teams"},
	TypeConsultant:            {"Consultant", "Consultants"},
	TypeUnknown:               {"Organisation of unknown type", "Organisations of unknown type"},
}

// Valid reports whether t is one of the known types.
func (t OrganisationType) Valid() bool {
	_, ok := typeLabels[t]
	return ok
}

// Label is the type's name in plain English, singular.
func (t OrganisationType) Label() string {
	if l, ok := typeLabels[t]; ok {
		return l[0]
	}
	return string(t)
}

// Plural is the type's name in plain English, plural.
func (t OrganisationType) Plural() string {
	if l, ok := typeLabels[t]; ok {
		return l[1]
	}
	return string(t)
}

// OrganisationStatus is an organisation's state in its directory.
type OrganisationStatus string

// Statuses, as the national directory (ODS) records them. StatusUnknown is
// for organisations outside the directory.
const (
	StatusActive   OrganisationStatus = "active"
	StatusClosed   OrganisationStatus = "closed"
	StatusDormant  OrganisationStatus = "dormant"
	StatusProposed OrganisationStatus = "proposed"
	StatusUnknown  OrganisationStatus = "unknown"
)

// Label is the status in plain English.
func (s OrganisationStatus) Label() string {
	switch s {
	case StatusActive:
		return "Open"
	case StatusClosed:
		return "Closed"
	case StatusDormant:
		return "Dormant"
	case StatusProposed:
		return "Proposed (not yet open)"
	}
	return "Not known"
}

// Valid reports whether s is a known status.
func (s OrganisationStatus) Valid() bool {
	switch s {
	case StatusActive, StatusClosed, StatusDormant, StatusProposed, StatusUnknown:
		return true
	}
	return false
}

// Organisation is a provider, commissioner, site, team or person that data
// is published about, identified by its code.
type Organisation struct {
	Code     string // ODS code, or the code the dataset uses
	Name     string // "" when no visible source names it
	Type     OrganisationType
	Address  []string // address lines, town and county, without the postcode
	Postcode string
	Phone    string
	Status   OrganisationStatus
	Opened   Date
	Closed   Date
	// ParentCode is the organisation it belongs to: for GP practices and
	// NHS trusts, their integrated care board.
	ParentCode string
	// RegionCode is its NHS England region.
	RegionCode string
	// SuccessorCode is set only when a source says which organisation took
	// over; it is never inferred.
	SuccessorCode string
	// InDirectory is true for organisations loaded from a national
	// directory (ODS); false for codes only datasets use.
	InDirectory bool
	// Source names where the record came from, e.g. "ODS epraccur".
	Source string
	// Details are further facts from the source, shown as written,
	// e.g. {"Prescribing setting (ODS)", "4"}.
	Details []Detail
	// Location is where it is, when a source says: a hospital site's own
	// position, a trust's headquarters (LocationSource says which).
	Location       *LatLon
	LocationSource string
}

// Place is where an organisation sits: its NHS England region and the
// organisation it belongs to (an ICB), as Organisation gives them.
type Place struct {
	Code       string
	RegionCode string
	ParentCode string
}

// Detail is one labelled fact about an organisation.
type Detail struct {
	Label string
	Value string
}

var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,31}$`)

// Validate checks the fields a store relies on.
func (o Organisation) Validate() error {
	if !codePattern.MatchString(o.Code) {
		return invalid("code", "%q is not a code (letters, digits and hyphens, at most 32)", o.Code)
	}
	if !o.Type.Valid() {
		return invalid("type", "unknown organisation type %q", o.Type)
	}
	if !o.Status.Valid() {
		return invalid("status", "unknown status %q", o.Status)
	}
	if o.InDirectory && strings.TrimSpace(o.Name) == "" && o.Type != TypeICB && o.Type != TypeRegion {
		return invalid("name", "organisation %s from a directory has no name", o.Code)
	}
	if !o.Closed.IsZero() && !o.Opened.IsZero() && o.Opened.After(o.Closed) {
		return invalid("closed", "organisation %s closed (%s) before it opened (%s)", o.Code, o.Closed, o.Opened)
	}
	return nil
}

// Mention records that a release uses an organisation code, with the name
// and type the release gives it (either may be empty).
type Mention struct {
	Code string
	Name string
	Type OrganisationType // "" or TypeUnknown when the release does not say
}

// OrganisationQuery selects organisations.
type OrganisationQuery struct {
	Visibility Visibility
	Type       OrganisationType   // "" for all
	Status     OrganisationStatus // "" for all
	Parent     string             // "" for all
	Region     string             // NHS England region code; "" for all
	// Search matches codes starting with it or names containing it,
	// ignoring case; "" for all.
	Search string
	Offset int
	Limit  int // 0 means 50
}

// OrganisationPage is one page of organisations and the total matching.
type OrganisationPage struct {
	Organisations []Organisation
	Total         int
}

// OrganisationCount is how many organisations have a type and status.
type OrganisationCount struct {
	Type   OrganisationType
	Status OrganisationStatus
	Count  int
}
