package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Schema is a Frictionless Table Schema with Candour's extension
// properties. ParseSchema reads and checks one; MarshalJSON writes the
// canonical form that ParseSchema reads back to an equal Schema.
type Schema struct {
	// Fields are the columns of the table, in file order.
	Fields []Field

	// PrimaryKey names the fields that identify a row. JSON "primaryKey"
	// may be a string or an array; it is written as an array.
	PrimaryKey []string

	// MissingValues are the cell texts that mean "no value". ParseSchema
	// sets the Frictionless default [""] when the JSON property is absent
	// and nil for an explicit []. In a Schema built in Go, nil or empty
	// means that no text is a missing value.
	MissingValues []string

	// Disclosure is the disclosure-control rule in force for the table
	// (JSON "candour:disclosure"); nil when the schema does not say.
	Disclosure *DisclosureRule
}

// DisclosureRule says which statistical disclosure control applies to a
// table, or why none does (JSON "candour:disclosure"). The package
// publisher/disclosure applies it; the zero values of the optional
// properties mean the defaults documented on each.
type DisclosureRule struct {
	// Rule is "nhs-digital" (counts of individuals below national level:
	// 0 stays 0, 1–7 become a marker, others are rounded to the nearest 5),
	// "threshold" (counts from 1 to Threshold are suppressed, with
	// secondary suppression so that none can be recovered) or "none".
	Rule string `json:"rule"`
	// Reason says why the rule applies; required when Rule is "none"
	// (for example "provider-level operational statistics, published
	// unsuppressed by NHS England").
	Reason string `json:"reason"`
	// Threshold is the largest unsafe count under the threshold rule:
	// values 1..Threshold are suppressed. Required (positive) for that rule.
	Threshold int `json:"threshold,omitempty"`
	// Protection is the least number of possible values that a suppressed
	// cell's feasible interval must hold, given everything published (JSON
	// "protection"); 0 means the default, 3.
	Protection int `json:"protection,omitempty"`
	// ProtectionPercent, when positive, also requires a suppressed cell's
	// feasible interval to be at least this percentage of the cell's true
	// value wide (JSON "protectionPercent"), as tau-ARGUS safety ranges do.
	ProtectionPercent float64 `json:"protectionPercent,omitempty"`
	// K is the k of k-anonymity for record-level files: every combination
	// of quasi-identifier values must be shared by at least K records
	// (JSON "k"); 0 means the default, 5.
	K int `json:"k,omitempty"`
	// L is the ℓ of distinct ℓ-diversity: every class of records with the
	// same quasi-identifier values must hold at least L distinct values of
	// each field whose role is sensitive (JSON "l"); 0 means not checked.
	L int `json:"l,omitempty"`
	// Dominance is the (n,k) dominance rule for magnitude fields (JSON
	// "dominance", e.g. {"n": 1, "k": 75}); nil means not applied.
	Dominance *DominanceRule `json:"dominance,omitempty"`
	// PPercent is the p of the p% rule for magnitude fields (JSON
	// "pPercent"): a cell is sensitive when the total less its two largest
	// contributions is less than p% of the largest. 0 means not applied.
	PPercent float64 `json:"pPercent,omitempty"`
	// RecordLevel declares that the rows are about single people (JSON
	// "recordLevel"), so that person-level checks (postcodes,
	// k-anonymity) apply even when no field has a quasi-identifier or
	// sensitive role.
	RecordLevel bool `json:"recordLevel,omitempty"`
}

// DominanceRule is the (n,k) dominance rule: a cell is sensitive when its
// N largest contributions are more than K per cent of its total.
type DominanceRule struct {
	N int     `json:"n"`
	K float64 `json:"k"`
}

// Defaults of DisclosureRule's optional properties.
const (
	DefaultProtection = 3
	DefaultK          = 5
)

// ProtectionValues returns Protection, or DefaultProtection when it is 0.
func (d DisclosureRule) ProtectionValues() int {
	if d.Protection == 0 {
		return DefaultProtection
	}
	return d.Protection
}

// KAnonymity returns K, or DefaultK when it is 0.
func (d DisclosureRule) KAnonymity() int {
	if d.K == 0 {
		return DefaultK
	}
	return d.K
}

// Disclosure rules.
const (
	DisclosureNHSDigital = "nhs-digital"
	DisclosureThreshold  = "threshold"
	DisclosureNone       = "none"
)

// FieldType is the type of a field's values.
type FieldType string

// Field types: the Frictionless types Candour supports, plus Candour's
// period (a financial year such as 2022/23).
const (
	TypeString    FieldType = "string"
	TypeInteger   FieldType = "integer"
	TypeNumber    FieldType = "number"
	TypeDate      FieldType = "date"
	TypeYear      FieldType = "year"
	TypeYearMonth FieldType = "yearmonth"
	TypePeriod    FieldType = "period"
	TypeBoolean   FieldType = "boolean"
)

var fieldTypes = []FieldType{TypeString, TypeInteger, TypeNumber, TypeDate, TypeYear, TypeYearMonth, TypePeriod, TypeBoolean}

// Role says what a field is for (JSON "candour:role").
type Role string

// Field roles.
const (
	RoleKey              Role = "key"               // identifies the row: organisation code, period, breakdown
	RoleDimension        Role = "dimension"         // a category the measures are broken down by
	RoleMeasure          Role = "measure"           // a count, rate or other statistic
	RoleNote             Role = "note"              // free text about the row
	RoleDirectIdentifier Role = "direct-identifier" // identifies a person; must never be published
	RoleQuasiIdentifier  Role = "quasi-identifier"  // could identify a person in combination
	RoleSensitive        Role = "sensitive"         // sensitive personal information
)

var roles = []Role{RoleKey, RoleDimension, RoleMeasure, RoleNote, RoleDirectIdentifier, RoleQuasiIdentifier, RoleSensitive}

// geographyLevels are the values allowed for Field.GeographyLevel.
var geographyLevels = []string{"national", "region", "icb", "provider", "practice", "team", "consultant"}

// Period formats.
const (
	// PeriodDefault is the default period format, "2022/23".
	PeriodDefault = "default"
	// PeriodHyphen is the period format "2018-19".
	PeriodHyphen = "YYYY-YY"
)

// Field describes one column.
type Field struct {
	Name        string
	Title       string
	Description string

	// Type is the type of the values; ParseSchema sets "string" when the
	// JSON property is absent, and "" is treated as "string".
	Type FieldType

	// Format refines the type. For dates: "" or "default" (ISO
	// YYYY-MM-DD), or a pattern built from %Y %m %d %y %b %H %M %S, %% and
	// literal characters, such as "%Y%m%d" or "%d/%m/%Y"; numeric
	// directives take exactly their width in digits (%d is "05", not "5");
	// %y is 1969–2068. For periods: "" or "default" ("2022/23"), or
	// "YYYY-YY" ("2018-19"). Other types: "" or "default" only.
	Format string

	// Constraints restrict the values (JSON "constraints").
	Constraints Constraints

	// TrueValues and FalseValues are the texts of a boolean field; nil
	// means the Frictionless defaults (true, True, TRUE, 1 and false,
	// False, FALSE, 0).
	TrueValues  []string
	FalseValues []string

	// Role says what the field is for (JSON "candour:role").
	Role Role
	// CountOfIndividuals marks a count of people, subject to small-number
	// rules (JSON "candour:countOfIndividuals"); only integer and number
	// fields may have it.
	CountOfIndividuals bool
	// Total marks a field that is a margin of others (JSON "candour:total").
	Total bool
	// GeographyLevel is the level of the organisations or areas the field
	// holds (JSON "candour:geographyLevel"): national, region, icb,
	// provider, practice, team or consultant.
	GeographyLevel string
	// Suppressed are markers, such as "*", that mean the value was
	// suppressed (JSON "candour:suppressed"). They parse to a Value of
	// KindSuppressed, never to a number.
	Suppressed []string
	// Organisation says the field holds organisation codes (JSON
	// "candour:organisation"); only string fields may have it.
	Organisation *OrganisationRef

	// TotalValues are values of a key or dimension field that mark a
	// margin row (JSON "candour:totalValues", e.g. ["Total", "All ages"]):
	// each measure of such a row equals the sum of that measure over the
	// rows that differ from it only in this field.
	TotalValues []string
	// TotalOf names the fields that a Total field is the sum of, in the
	// same row (JSON "candour:totalOf"); only a field with Total may have
	// it. Without it, a Total field is the sum of the other fields of the
	// row that are counts of individuals and not totals.
	TotalOf []string
	// NationalValues are values of a key or dimension field that mark a
	// national-level row (JSON "candour:nationalValues", e.g. ["England"]),
	// to which the nhs-digital rule applies no small-number control.
	NationalValues []string
	// Contributors names the field holding the number of individuals that
	// contributed to this simple statistic, such as a mean or median (JSON
	// "candour:contributors", e.g. "Modelled Records"). Under the
	// nhs-digital rule the statistic is suppressed when 1–7 contributed;
	// under the threshold rule, when 1..threshold did.
	Contributors string
	// Magnitude marks a measure whose values in an original file are
	// contributions of single contributors (a provider's cost, say) to the
	// cells formed by the dimension fields (JSON "candour:magnitude"); the
	// dominance and p% rules apply to those cells. In the public file that
	// publisher/disclosure writes, the values are the cells' totals.
	Magnitude bool
	// NotACount is the reason an integer field is not a count of
	// individuals (JSON "candour:notACount", e.g. "a year"). Under a
	// small-number rule every integer measure is audited as a count of
	// individuals unless it says so; reviewers see the reason.
	NotACount string
	// AlreadyPublished declares that the field's figures are already
	// public elsewhere (JSON "candour:alreadyPublished"): they are
	// published exactly, not rounded or suppressed, and the disclosure
	// audit takes them as exact.
	AlreadyPublished *PublishedSource
	// Parent declares that the units of this key or dimension field nest
	// in larger units (JSON "candour:parent"): practices in networks,
	// networks in ICBs. The disclosure audit adds the children's cells up
	// to the parent's cell wherever a file of the release publishes it.
	Parent *ParentRef
}

// PublishedSource says where figures are already published.
type PublishedSource struct {
	Source string `json:"source"` // who publishes them, and in what
	URL    string `json:"url"`    // where
}

// ParentRef says what a unit nests in: the parent unit's field, as the
// files holding the parents name it, and how each child's parent is known:
// from a mapping file of the same release (a CSV with a column named as
// the child field and one named as the parent field) or from the
// organisation directory ("icb" for a practice's or trust's integrated
// care board, "region" for its NHS England region).
type ParentRef struct {
	Field     string `json:"field"`
	Mapping   string `json:"mapping,omitempty"`
	Directory string `json:"directory,omitempty"`
}

// Directory links a ParentRef may use.
const (
	DirectoryICB    = "icb"
	DirectoryRegion = "region"
)

// Constraints are the Frictionless field constraints Candour checks.
// Bounds and enum values are kept as text in the field's own format (for
// integer and number fields, a JSON number literal) and checked against the
// typed value.
type Constraints struct {
	Required bool
	// Unique is recorded (Frictionless "unique") but not yet checked by
	// Reader.
	Unique    bool
	Pattern   string   // implicitly anchored: the whole text must match
	Enum      []string // allowed values; nil means any
	MinLength *int     // string fields only, in characters
	MaxLength *int     // string fields only, in characters
	Minimum   string   // "" means none; integer, number, date, year, yearmonth and period fields
	Maximum   string   // "" means none
}

// IsZero reports whether c has no constraints.
func (c Constraints) IsZero() bool {
	return !c.Required && !c.Unique && c.Pattern == "" && c.Enum == nil &&
		c.MinLength == nil && c.MaxLength == nil && c.Minimum == "" && c.Maximum == ""
}

// OrganisationRef describes a field of organisation codes.
type OrganisationRef struct {
	NameField        string            `json:"nameField,omitempty"`        // field giving the organisation's name in this dataset
	TypeField        string            `json:"typeField,omitempty"`        // field giving its type in this dataset
	Types            map[string]string `json:"types,omitempty"`            // value of TypeField -> Candour organisation type ("" = unknown)
	Type             string            `json:"type,omitempty"`             // the Candour organisation type of every code in the field, without a TypeField
	NotOrganisations []string          `json:"notOrganisations,omitempty"` // code values that are not organisations (national totals such as "Total", "England")
}

// FieldIndex returns the index of the field called name, or -1.
func (s Schema) FieldIndex(name string) int {
	for i, f := range s.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// FieldNames returns the names of the fields in order.
func (s Schema) FieldNames() []string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return names
}

// ParseSchema reads a Table Schema from JSON and checks it. Errors name the
// place, such as `fields[3] "Org Code": constraints.pattern: ...`. Unknown
// properties are ignored, as Frictionless permits, except those whose name
// starts with "candour:", which are errors (typos would otherwise be lost).
func ParseSchema(data []byte) (Schema, error) {
	o, err := decodeTopObject(data)
	if err != nil {
		return Schema{}, err
	}
	s, err := decodeSchema(o)
	if err != nil {
		return Schema{}, err
	}
	if err := s.Validate(); err != nil {
		return Schema{}, err
	}
	return s, nil
}

// UnmarshalJSON reads s with ParseSchema's rules.
func (s *Schema) UnmarshalJSON(data []byte) error {
	parsed, err := ParseSchema(data)
	if err != nil {
		return err
	}
	*s = parsed
	return nil
}

// MarshalJSON writes s in canonical form: properties in a fixed order,
// "type" always written, "primaryKey" as an array and "missingValues"
// always present (nil as []).
func (s Schema) MarshalJSON() ([]byte, error) {
	out := struct {
		Fields        []Field         `json:"fields"`
		PrimaryKey    []string        `json:"primaryKey,omitempty"`
		MissingValues []string        `json:"missingValues"`
		Disclosure    *DisclosureRule `json:"candour:disclosure,omitempty"`
	}{s.Fields, s.PrimaryKey, s.MissingValues, s.Disclosure}
	if out.Fields == nil {
		out.Fields = []Field{}
	}
	if out.MissingValues == nil {
		out.MissingValues = []string{}
	}
	return json.Marshal(out)
}

// Validate checks s as ParseSchema does, for schemas built in Go.
func (s Schema) Validate() error {
	if len(s.Fields) == 0 {
		return errors.New("fields: a schema needs at least one field")
	}
	seen := make(map[string]int, len(s.Fields))
	for i, f := range s.Fields {
		if err := f.validate(); err != nil {
			return fieldError(i, f.Name, err)
		}
		if j, dup := seen[f.Name]; dup {
			return fieldError(i, f.Name, fmt.Errorf("name: duplicate of fields[%d]", j))
		}
		seen[f.Name] = i
	}
	for i, f := range s.Fields {
		for _, m := range f.Suppressed {
			if slices.Contains(s.MissingValues, m) {
				return fieldError(i, f.Name, fmt.Errorf("candour:suppressed: %q is also a missing value", m))
			}
		}
		if ref := f.Organisation; ref != nil {
			for _, p := range []struct{ prop, name string }{{"nameField", ref.NameField}, {"typeField", ref.TypeField}} {
				if p.name != "" && s.FieldIndex(p.name) < 0 {
					return fieldError(i, f.Name, fmt.Errorf("candour:organisation.%s: field %q is not in the schema", p.prop, p.name))
				}
			}
		}
	}
	if err := s.validateDisclosureFields(); err != nil {
		return err
	}
	for i, name := range s.PrimaryKey {
		if s.FieldIndex(name) < 0 {
			return fmt.Errorf("primaryKey[%d]: field %q is not in the schema", i, name)
		}
		if slices.Index(s.PrimaryKey, name) != i {
			return fmt.Errorf("primaryKey[%d]: field %q is named twice", i, name)
		}
	}
	if d := s.Disclosure; d != nil {
		if err := d.validate(); err != nil {
			return fmt.Errorf("candour:disclosure.%w", err)
		}
	}
	return nil
}

// validateDisclosureFields checks the disclosure-control properties that
// refer to other fields or to the schema's rule.
func (s Schema) validateDisclosureFields() error {
	numeric := func(f Field) bool { return f.Type == TypeInteger || f.Type == TypeNumber }
	var magnitude, sensitive bool
	for i, f := range s.Fields {
		magnitude = magnitude || f.Magnitude
		sensitive = sensitive || f.Role == RoleSensitive
		for j, name := range f.TotalOf {
			k := s.FieldIndex(name)
			switch {
			case k < 0:
				return fieldError(i, f.Name, fmt.Errorf("candour:totalOf[%d]: field %q is not in the schema", j, name))
			case k == i:
				return fieldError(i, f.Name, fmt.Errorf("candour:totalOf[%d]: a total cannot be a part of itself", j))
			case !numeric(s.Fields[k]):
				return fieldError(i, f.Name, fmt.Errorf("candour:totalOf[%d]: field %q is %s, not a number", j, name, s.Fields[k].typ()))
			case slices.Index(f.TotalOf, name) != j:
				return fieldError(i, f.Name, fmt.Errorf("candour:totalOf[%d]: field %q is named twice", j, name))
			}
		}
		if f.Contributors != "" {
			k := s.FieldIndex(f.Contributors)
			switch {
			case k < 0:
				return fieldError(i, f.Name, fmt.Errorf("candour:contributors: field %q is not in the schema", f.Contributors))
			case k == i:
				return fieldError(i, f.Name, errors.New("candour:contributors: a statistic cannot count its own contributors"))
			case !numeric(s.Fields[k]):
				return fieldError(i, f.Name, fmt.Errorf("candour:contributors: field %q is %s, not a number", f.Contributors, s.Fields[k].typ()))
			}
		}
	}
	if d := s.Disclosure; d != nil {
		if (d.Dominance != nil || d.PPercent > 0) && !magnitude {
			return errors.New("candour:disclosure: dominance or pPercent is set, but no field has candour:magnitude")
		}
		if d.L > 0 && !sensitive {
			return errors.New(`candour:disclosure.l: set, but no field has candour:role "sensitive"`)
		}
	}
	return nil
}

func fieldError(i int, name string, err error) error {
	if name == "" {
		return fmt.Errorf("fields[%d]: %w", i, err)
	}
	return fmt.Errorf("fields[%d] %q: %w", i, name, err)
}

func (d DisclosureRule) validate() error {
	switch d.Rule {
	case DisclosureNHSDigital, DisclosureThreshold, DisclosureNone:
	default:
		return fmt.Errorf("rule: %q is not one of %s, %s, %s", d.Rule, DisclosureNHSDigital, DisclosureThreshold, DisclosureNone)
	}
	if d.Rule == DisclosureNone && strings.TrimSpace(d.Reason) == "" {
		return errors.New(`reason: required when the rule is "none"`)
	}
	if d.Threshold < 0 {
		return fmt.Errorf("threshold: %d is negative", d.Threshold)
	}
	if d.Protection < 0 {
		return fmt.Errorf("protection: %d is negative", d.Protection)
	}
	if d.Rule == DisclosureThreshold && d.Threshold == 0 {
		return errors.New(`threshold: required (a positive number) when the rule is "threshold"`)
	}
	if d.ProtectionPercent < 0 || d.ProtectionPercent > 100 {
		return fmt.Errorf("protectionPercent: %v is not between 0 and 100", d.ProtectionPercent)
	}
	if d.K < 0 {
		return fmt.Errorf("k: %d is negative", d.K)
	}
	if d.L < 0 {
		return fmt.Errorf("l: %d is negative", d.L)
	}
	if dom := d.Dominance; dom != nil {
		if dom.N < 1 {
			return fmt.Errorf("dominance.n: %d is not a positive number of contributions", dom.N)
		}
		if dom.K <= 0 || dom.K >= 100 {
			return fmt.Errorf("dominance.k: %v is not a percentage between 0 and 100 (exclusive)", dom.K)
		}
	}
	if d.PPercent < 0 || d.PPercent > 100 {
		return fmt.Errorf("pPercent: %v is not between 0 and 100", d.PPercent)
	}
	return nil
}

// validate checks what can be checked of f on its own. Errors name the
// property but not the field.
func (f Field) validate() error {
	if f.Name == "" {
		return errors.New("name: required")
	}
	if _, err := newFieldParser(f); err != nil {
		return err
	}
	if f.Role != "" && !slices.Contains(roles, f.Role) {
		return fmt.Errorf("candour:role: %q is not a known role", f.Role)
	}
	if f.GeographyLevel != "" && !slices.Contains(geographyLevels, f.GeographyLevel) {
		return fmt.Errorf("candour:geographyLevel: %q is not one of %s", f.GeographyLevel, strings.Join(geographyLevels, ", "))
	}
	if f.CountOfIndividuals && f.Type != TypeInteger && f.Type != TypeNumber {
		return fmt.Errorf("candour:countOfIndividuals: only integer and number fields hold counts, not %s", f.Type)
	}
	for _, m := range f.Suppressed {
		if m == "" {
			return errors.New("candour:suppressed: a marker must not be empty")
		}
	}
	numeric := f.Type == TypeInteger || f.Type == TypeNumber
	if len(f.TotalValues) > 0 && f.Role != RoleKey && f.Role != RoleDimension {
		return errors.New(`candour:totalValues: only key and dimension fields have margin values (set candour:role to "key" or "dimension")`)
	}
	if len(f.NationalValues) > 0 && f.Role != RoleKey && f.Role != RoleDimension {
		return errors.New(`candour:nationalValues: only key and dimension fields mark national rows (set candour:role to "key" or "dimension")`)
	}
	if len(f.TotalOf) > 0 && !f.Total {
		return errors.New("candour:totalOf: only a field with candour:total names its parts")
	}
	if f.Contributors != "" && !numeric {
		return fmt.Errorf("candour:contributors: only integer and number fields are statistics, not %s", f.typ())
	}
	if f.Magnitude {
		if !numeric {
			return fmt.Errorf("candour:magnitude: only integer and number fields hold magnitudes, not %s", f.typ())
		}
		if f.CountOfIndividuals {
			return errors.New("candour:magnitude: a field cannot be both a magnitude and a count of individuals")
		}
	}
	for _, p := range []struct {
		prop   string
		values []string
	}{{"candour:totalValues", f.TotalValues}, {"candour:nationalValues", f.NationalValues}} {
		for i, v := range p.values {
			if slices.Index(p.values, v) != i {
				return fmt.Errorf("%s[%d]: %q is listed twice", p.prop, i, v)
			}
		}
	}
	if err := f.validateDisclosureDeclarations(numeric); err != nil {
		return err
	}
	if ref := f.Organisation; ref != nil {
		if t := f.typ(); t != TypeString {
			return fmt.Errorf("candour:organisation: organisation codes are strings, not %s", t)
		}
		if ref.TypeField != "" && len(ref.Types) == 0 {
			return errors.New("candour:organisation.types: required with typeField")
		}
		if ref.TypeField == "" && len(ref.Types) > 0 {
			return errors.New("candour:organisation.typeField: required with types")
		}
		if ref.Type != "" && ref.TypeField != "" {
			return errors.New("candour:organisation.type: give one type for the field, or a typeField with types, not both")
		}
	}
	return nil
}

// validateDisclosureDeclarations checks candour:notACount,
// candour:alreadyPublished and candour:parent.
func (f Field) validateDisclosureDeclarations(numeric bool) error {
	if f.NotACount != "" {
		switch {
		case strings.TrimSpace(f.NotACount) == "":
			return errors.New("candour:notACount: give the reason the field is not a count of individuals")
		case !numeric:
			return fmt.Errorf("candour:notACount: only integer and number fields can be counts, not %s", f.typ())
		case f.CountOfIndividuals:
			return errors.New("candour:notACount: the field is also declared candour:countOfIndividuals")
		}
	}
	if p := f.AlreadyPublished; p != nil {
		switch {
		case !numeric:
			return fmt.Errorf("candour:alreadyPublished: only integer and number fields hold figures, not %s", f.typ())
		case strings.TrimSpace(p.Source) == "":
			return errors.New("candour:alreadyPublished.source: say who publishes the figures already, and in what")
		case !strings.HasPrefix(p.URL, "https://") && !strings.HasPrefix(p.URL, "http://"):
			return fmt.Errorf("candour:alreadyPublished.url: %q is not an http or https address of where they are published", p.URL)
		case f.Magnitude || f.Contributors != "":
			return errors.New("candour:alreadyPublished: a magnitude or statistic is controlled by its contributors; declare only counts already published")
		}
	}
	if p := f.Parent; p != nil {
		switch {
		case f.Role != RoleKey && f.Role != RoleDimension:
			return errors.New(`candour:parent: only key and dimension fields hold units that nest (set candour:role to "key" or "dimension")`)
		case p.Field == "" || p.Field == f.Name:
			return errors.New("candour:parent.field: name the field that holds the parent units' codes (not this field)")
		case (p.Mapping == "") == (p.Directory == ""):
			return errors.New(`candour:parent: give either mapping (a file of the release) or directory ("icb" or "region"), not both`)
		case p.Directory != "" && p.Directory != DirectoryICB && p.Directory != DirectoryRegion:
			return fmt.Errorf(`candour:parent.directory: %q is not "icb" or "region"`, p.Directory)
		}
	}
	return nil
}

// typ returns f's type, with "" meaning string.
func (f Field) typ() FieldType {
	if f.Type == "" {
		return TypeString
	}
	return f.Type
}

// MarshalJSON writes f with Frictionless and Candour property names.
func (f Field) MarshalJSON() ([]byte, error) {
	type constraintsJSON struct {
		Required  bool              `json:"required,omitempty"`
		Unique    bool              `json:"unique,omitempty"`
		Pattern   string            `json:"pattern,omitempty"`
		Enum      []json.RawMessage `json:"enum,omitempty"`
		MinLength *int              `json:"minLength,omitempty"`
		MaxLength *int              `json:"maxLength,omitempty"`
		Minimum   json.RawMessage   `json:"minimum,omitempty"`
		Maximum   json.RawMessage   `json:"maximum,omitempty"`
	}
	out := struct {
		Name               string           `json:"name"`
		Title              string           `json:"title,omitempty"`
		Description        string           `json:"description,omitempty"`
		Type               FieldType        `json:"type"`
		Format             string           `json:"format,omitempty"`
		Constraints        *constraintsJSON `json:"constraints,omitempty"`
		TrueValues         []string         `json:"trueValues,omitempty"`
		FalseValues        []string         `json:"falseValues,omitempty"`
		Role               Role             `json:"candour:role,omitempty"`
		CountOfIndividuals bool             `json:"candour:countOfIndividuals,omitempty"`
		Total              bool             `json:"candour:total,omitempty"`
		GeographyLevel     string           `json:"candour:geographyLevel,omitempty"`
		Suppressed         []string         `json:"candour:suppressed,omitempty"`
		Organisation       *OrganisationRef `json:"candour:organisation,omitempty"`
		TotalValues        []string         `json:"candour:totalValues,omitempty"`
		TotalOf            []string         `json:"candour:totalOf,omitempty"`
		NationalValues     []string         `json:"candour:nationalValues,omitempty"`
		Contributors       string           `json:"candour:contributors,omitempty"`
		Magnitude          bool             `json:"candour:magnitude,omitempty"`
		NotACount          string           `json:"candour:notACount,omitempty"`
		AlreadyPublished   *PublishedSource `json:"candour:alreadyPublished,omitempty"`
		Parent             *ParentRef       `json:"candour:parent,omitempty"`
	}{
		Name: f.Name, Title: f.Title, Description: f.Description, Type: f.typ(), Format: f.Format,
		TrueValues: f.TrueValues, FalseValues: f.FalseValues,
		Role: f.Role, CountOfIndividuals: f.CountOfIndividuals, Total: f.Total,
		GeographyLevel: f.GeographyLevel, Suppressed: f.Suppressed, Organisation: f.Organisation,
		TotalValues: f.TotalValues, TotalOf: f.TotalOf, NationalValues: f.NationalValues,
		Contributors: f.Contributors, Magnitude: f.Magnitude,
		NotACount: f.NotACount, AlreadyPublished: f.AlreadyPublished, Parent: f.Parent,
	}
	if c := f.Constraints; !c.IsZero() {
		numeric := f.typ() == TypeInteger || f.typ() == TypeNumber
		lit := func(text string) json.RawMessage {
			if text == "" {
				return nil
			}
			if numeric && isJSONNumber(text) {
				return json.RawMessage(text)
			}
			b, _ := json.Marshal(text)
			return b
		}
		cj := &constraintsJSON{
			Required: c.Required, Unique: c.Unique, Pattern: c.Pattern,
			MinLength: c.MinLength, MaxLength: c.MaxLength,
			Minimum: lit(c.Minimum), Maximum: lit(c.Maximum),
		}
		if c.Enum != nil {
			cj.Enum = make([]json.RawMessage, len(c.Enum))
			for i, e := range c.Enum {
				if numeric && isJSONNumber(e) {
					cj.Enum[i] = json.RawMessage(e)
				} else {
					cj.Enum[i], _ = json.Marshal(e)
				}
			}
		}
		out.Constraints = cj
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads one field descriptor and checks what can be checked
// without the rest of the schema.
func (f *Field) UnmarshalJSON(data []byte) error {
	o, err := decodeTopObject(data)
	if err != nil {
		return err
	}
	parsed, err := decodeField(o)
	if err != nil {
		return err
	}
	if err := parsed.validate(); err != nil {
		return err
	}
	*f = parsed
	return nil
}

// isJSONNumber reports whether s is a JSON number literal.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil && string(n) == s
}

// object is a decoded JSON object whose values are decoded on demand, so
// that every error can name its property.
type object map[string]json.RawMessage

// decodeTopObject decodes data as a JSON object.
func decodeTopObject(data []byte) (object, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return asObject(data, "")
}

func asObject(raw json.RawMessage, path string) (object, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		if path == "" {
			return nil, errors.New("must be a JSON object")
		}
		return nil, fmt.Errorf("%s: must be an object", path)
	}
	return o, nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// get returns the value of key, or nil if it is absent or null.
func (o object) get(key string) json.RawMessage {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return nil
	}
	return raw
}

func (o object) str(path, key string, dst *string) error {
	raw := o.get(key)
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s%s: must be a string", path, key)
	}
	return nil
}

func (o object) boolean(path, key string, dst *bool) error {
	raw := o.get(key)
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s%s: must be true or false", path, key)
	}
	return nil
}

// strs decodes an array of strings; it reports whether the key was present.
func (o object) strs(path, key string, dst *[]string) (bool, error) {
	raw := o.get(key)
	if raw == nil {
		return false, nil
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil {
		return true, fmt.Errorf("%s%s: must be an array of strings", path, key)
	}
	*dst = v
	return true, nil
}

// checkCandourKeys rejects properties starting with "candour:" other than
// those in known.
func (o object) checkCandourKeys(path string, known ...string) error {
	for _, k := range sortedKeys(o) {
		if strings.HasPrefix(k, "candour:") && !slices.Contains(known, k) {
			return fmt.Errorf("%s%s: unknown Candour property", path, k)
		}
	}
	return nil
}

// checkKeys rejects any property not in known.
func (o object) checkKeys(path string, known ...string) error {
	for _, k := range sortedKeys(o) {
		if !slices.Contains(known, k) {
			return fmt.Errorf("%s%s: unknown property", path, k)
		}
	}
	return nil
}

func sortedKeys(o object) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// strictDecode decodes raw into dst, rejecting properties not in known.
func strictDecode(raw json.RawMessage, path string, dst any, known ...string) error {
	o, err := asObject(raw, path)
	if err != nil {
		return err
	}
	if err := o.checkKeys(path+".", known...); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s.%s: must be %s", path, te.Field, jsonKind(te.Type))
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice:
		return "an array"
	}
	return "a " + t.String()
}

func decodeSchema(o object) (Schema, error) {
	var s Schema
	if err := o.checkCandourKeys("", "candour:disclosure"); err != nil {
		return s, err
	}
	rawFields := o.get("fields")
	if rawFields == nil {
		return s, errors.New("fields: required")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(rawFields, &items); err != nil {
		return s, errors.New("fields: must be an array of objects")
	}
	for i, raw := range items {
		fo, err := asObject(raw, fmt.Sprintf("fields[%d]", i))
		if err != nil {
			return s, err
		}
		f, err := decodeField(fo)
		if err != nil {
			return s, fieldError(i, f.Name, err)
		}
		s.Fields = append(s.Fields, f)
	}
	if raw := o.get("primaryKey"); raw != nil {
		var one string
		if err := json.Unmarshal(raw, &one); err == nil {
			s.PrimaryKey = []string{one}
		} else if err := json.Unmarshal(raw, &s.PrimaryKey); err != nil {
			return s, errors.New("primaryKey: must be a string or an array of strings")
		}
		if len(s.PrimaryKey) == 0 {
			s.PrimaryKey = nil
		}
	}
	present, err := o.strs("", "missingValues", &s.MissingValues)
	if err != nil {
		return s, err
	}
	if !present {
		s.MissingValues = []string{""}
	} else if len(s.MissingValues) == 0 {
		s.MissingValues = nil
	}
	if raw := o.get("candour:disclosure"); raw != nil {
		var d DisclosureRule
		if err := strictDecode(raw, "candour:disclosure", &d, "rule", "reason", "threshold", "protection",
			"protectionPercent", "k", "l", "dominance", "pPercent", "recordLevel"); err != nil {
			return s, err
		}
		if d.Dominance != nil {
			do, _ := asObject(raw, "candour:disclosure")
			if err := strictDecode(do.get("dominance"), "candour:disclosure.dominance", d.Dominance, "n", "k"); err != nil {
				return s, err
			}
		}
		s.Disclosure = &d
	}
	return s, nil
}

var fieldCandourKeys = []string{
	"candour:role", "candour:countOfIndividuals", "candour:total", "candour:geographyLevel",
	"candour:suppressed", "candour:organisation", "candour:totalValues", "candour:totalOf",
	"candour:nationalValues", "candour:contributors", "candour:magnitude",
	"candour:notACount", "candour:alreadyPublished", "candour:parent",
}

// decodeField decodes a field descriptor. The returned Field has at least
// the name set when the name could be read, so errors can name the field.
func decodeField(o object) (Field, error) {
	var f Field
	if err := o.str("", "name", &f.Name); err != nil {
		return Field{}, err
	}
	if err := o.checkCandourKeys("", fieldCandourKeys...); err != nil {
		return f, err
	}
	var typ, role string
	for _, p := range []struct {
		key string
		dst *string
	}{
		{"title", &f.Title}, {"description", &f.Description}, {"type", &typ}, {"format", &f.Format},
		{"candour:role", &role}, {"candour:geographyLevel", &f.GeographyLevel},
		{"candour:contributors", &f.Contributors}, {"candour:notACount", &f.NotACount},
	} {
		if err := o.str("", p.key, p.dst); err != nil {
			return f, err
		}
	}
	f.Type = FieldType(typ)
	if f.Type == "" {
		f.Type = TypeString
	}
	f.Role = Role(role)
	if raw := o.get("constraints"); raw != nil {
		c, err := decodeConstraints(raw)
		if err != nil {
			return f, err
		}
		f.Constraints = c
	}
	for _, p := range []struct {
		key string
		dst *[]string
	}{
		{"trueValues", &f.TrueValues}, {"falseValues", &f.FalseValues}, {"candour:suppressed", &f.Suppressed},
		{"candour:totalValues", &f.TotalValues}, {"candour:totalOf", &f.TotalOf}, {"candour:nationalValues", &f.NationalValues},
	} {
		if _, err := o.strs("", p.key, p.dst); err != nil {
			return f, err
		}
	}
	for _, p := range []*[]string{&f.Suppressed, &f.TotalValues, &f.TotalOf, &f.NationalValues} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	if err := o.boolean("", "candour:countOfIndividuals", &f.CountOfIndividuals); err != nil {
		return f, err
	}
	if err := o.boolean("", "candour:total", &f.Total); err != nil {
		return f, err
	}
	if err := o.boolean("", "candour:magnitude", &f.Magnitude); err != nil {
		return f, err
	}
	if raw := o.get("candour:organisation"); raw != nil {
		var ref OrganisationRef
		if err := strictDecode(raw, "candour:organisation", &ref, "nameField", "typeField", "types", "type", "notOrganisations"); err != nil {
			return f, err
		}
		if len(ref.Types) == 0 {
			ref.Types = nil
		}
		if len(ref.NotOrganisations) == 0 {
			ref.NotOrganisations = nil
		}
		f.Organisation = &ref
	}
	if raw := o.get("candour:alreadyPublished"); raw != nil {
		var src PublishedSource
		if err := strictDecode(raw, "candour:alreadyPublished", &src, "source", "url"); err != nil {
			return f, err
		}
		f.AlreadyPublished = &src
	}
	if raw := o.get("candour:parent"); raw != nil {
		var ref ParentRef
		if err := strictDecode(raw, "candour:parent", &ref, "field", "mapping", "directory"); err != nil {
			return f, err
		}
		f.Parent = &ref
	}
	return f, nil
}

var constraintKeys = []string{"required", "unique", "pattern", "enum", "minLength", "maxLength", "minimum", "maximum"}

func decodeConstraints(raw json.RawMessage) (Constraints, error) {
	var c Constraints
	o, err := asObject(raw, "constraints")
	if err != nil {
		return c, err
	}
	for _, k := range sortedKeys(o) {
		if !slices.Contains(constraintKeys, k) {
			return c, fmt.Errorf("constraints.%s: not supported (supported: %s)", k, strings.Join(constraintKeys, ", "))
		}
	}
	const path = "constraints."
	if err := o.boolean(path, "required", &c.Required); err != nil {
		return c, err
	}
	if err := o.boolean(path, "unique", &c.Unique); err != nil {
		return c, err
	}
	if err := o.str(path, "pattern", &c.Pattern); err != nil {
		return c, err
	}
	for _, p := range []struct {
		key string
		dst **int
	}{{"minLength", &c.MinLength}, {"maxLength", &c.MaxLength}} {
		if raw := o.get(p.key); raw != nil {
			var n int
			if err := json.Unmarshal(raw, &n); err != nil {
				return c, fmt.Errorf("%s%s: must be a whole number", path, p.key)
			}
			*p.dst = &n
		}
	}
	for _, p := range []struct {
		key string
		dst *string
	}{{"minimum", &c.Minimum}, {"maximum", &c.Maximum}} {
		if raw := o.get(p.key); raw != nil {
			text, err := scalarText(raw)
			if err != nil {
				return c, fmt.Errorf("%s%s: %w", path, p.key, err)
			}
			*p.dst = text
		}
	}
	if raw := o.get("enum"); raw != nil {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return c, errors.New("constraints.enum: must be an array")
		}
		c.Enum = make([]string, len(items))
		for i, item := range items {
			text, err := scalarText(item)
			if err != nil {
				return c, fmt.Errorf("constraints.enum[%d]: %w", i, err)
			}
			c.Enum[i] = text
		}
	}
	return c, nil
}

// scalarText returns the text of a JSON string, or the literal of a JSON
// number.
func scalarText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	if isJSONNumber(string(raw)) {
		return string(raw), nil
	}
	return "", errors.New("must be a string or a number")
}

// patternCache holds compiled, anchored patterns by source text, so that
// Field.Parse need not compile a pattern for every cell.
var patternCache sync.Map // string -> *regexp.Regexp

// compilePattern compiles a constraints.pattern, anchored at both ends as
// XML Schema patterns are.
func compilePattern(p string) (*regexp.Regexp, error) {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	if _, err := regexp.Compile(p); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(`\A(?:` + p + `)\z`)
	if err != nil {
		return nil, err
	}
	patternCache.Store(p, re)
	return re, nil
}
