package datasets

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fullSchema uses every property Candour reads.
const fullSchema = `{
  "$schema": "https://frictionlessdata.io/schemas/table-schema.json",
  "fields": [
    {"name": "Org Code", "title": "Organisation code", "description": "ODS code",
     "type": "string", "constraints": {"required": true, "unique": true, "pattern": "[A-Z0-9]{3,6}", "minLength": 3, "maxLength": 6},
     "candour:role": "key", "candour:geographyLevel": "provider",
     "candour:organisation": {"nameField": "Org Name", "typeField": "Org Type",
       "types": {"NHS trust": "trust", "Independent": ""}, "notOrganisations": ["Total", "England"]},
     "rdfType": "http://schema.org/identifier"},
    {"name": "Org Name"},
    {"name": "Org Type", "type": "string", "constraints": {"enum": ["NHS trust", "Independent"]}},
    {"name": "Period", "type": "period", "format": "YYYY-YY", "candour:role": "key"},
    {"name": "Financial year", "type": "period", "format": "default", "constraints": {"minimum": "2018/19"}},
    {"name": "Opened", "type": "date", "format": "%Y%m%d", "constraints": {"minimum": "19480705", "maximum": "20991231"}},
    {"name": "Seen", "type": "date", "format": "%d/%m/%Y"},
    {"name": "Month", "type": "yearmonth"},
    {"name": "Year", "type": "year", "constraints": {"enum": ["2023", "2024"]}},
    {"name": "Total", "type": "number", "constraints": {"minimum": 0, "maximum": 1e6},
     "candour:role": "measure", "candour:countOfIndividuals": true, "candour:total": true, "candour:suppressed": ["*", "~"]},
    {"name": "Band", "type": "integer", "constraints": {"enum": [1, 2, 3]}},
    {"name": "Dispensing", "type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]},
    {"name": "Patient", "type": "string", "candour:role": "direct-identifier"}
  ],
  "primaryKey": ["Org Code", "Period"],
  "missingValues": ["", "-"],
  "foreignKeys": [],
  "candour:disclosure": {"rule": "none", "reason": "provider-level operational statistics, published unsuppressed by NHS England"}
}`

func TestParseSchemaRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"every property", fullSchema},
		{"minimal", `{"fields": [{"name": "a"}]}`},
		{"primary key as a string", `{"fields": [{"name": "a"}, {"name": "b"}], "primaryKey": "a"}`},
		{"no missing values", `{"fields": [{"name": "a", "type": "integer"}], "missingValues": []}`},
		{"threshold disclosure", `{"fields": [{"name": "n", "type": "integer"}], "candour:disclosure": {"rule": "threshold", "threshold": 5, "protection": 5}}`},
		{"nhs-digital disclosure", `{"fields": [{"name": "n", "type": "integer"}], "candour:disclosure": {"rule": "nhs-digital", "reason": ""}}`},
		{"integer bounds", `{"fields": [{"name": "n", "type": "integer", "constraints": {"minimum": -5, "maximum": "10"}}]}`},
		{"disclosure control properties", disclosureSchema},
		{"magnitude rules", `{"fields": [{"name": "Region", "candour:role": "dimension"}, {"name": "Cost", "type": "number", "candour:role": "measure", "candour:magnitude": true}],
			"candour:disclosure": {"rule": "none", "reason": "costs of public bodies", "dominance": {"n": 2, "k": 85.5}, "pPercent": 10}}`},
		{"fail-safe declarations", `{"fields": [{"name": "practice", "candour:role": "key", "candour:parent": {"field": "network", "mapping": "map.csv"}},
			{"name": "icb", "candour:role": "dimension", "candour:parent": {"field": "region", "directory": "region"}},
			{"name": "sites", "type": "integer", "candour:notACount": "sites, not people"},
			{"name": "list", "type": "integer", "candour:alreadyPublished": {"source": "NHS Digital", "url": "https://digital.nhs.uk/list"}}]}`},
		{"non-ASCII and escapes", `{"fields": [{"name": "Organsation Name", "title": "Organisation name — “as published”", "description": "a\nb"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchema([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseSchema: %v", err)
			}
			out, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			again, err := ParseSchema(out)
			if err != nil {
				t.Fatalf("ParseSchema(Marshal): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(again, s) {
				t.Errorf("round trip changed the schema:\ngot  %#v\nwant %#v\njson %s", again, s, out)
			}
			out2, err := json.Marshal(again)
			if err != nil {
				t.Fatalf("Marshal again: %v", err)
			}
			if string(out2) != string(out) {
				t.Errorf("marshalling is not canonical:\ngot  %s\nwant %s", out2, out)
			}
			// Through UnmarshalJSON too.
			var viaUnmarshal Schema
			if err := json.Unmarshal(out, &viaUnmarshal); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(viaUnmarshal, s) {
				t.Errorf("json.Unmarshal: got %#v, want %#v", viaUnmarshal, s)
			}
		})
	}
}

// disclosureSchema uses every disclosure-control property.
const disclosureSchema = `{
  "fields": [
    {"name": "Region", "candour:role": "dimension", "candour:totalValues": ["Total", "All regions"], "candour:nationalValues": ["England"]},
    {"name": "Age band", "candour:role": "quasi-identifier"},
    {"name": "Diagnosis", "candour:role": "sensitive"},
    {"name": "Improved", "type": "integer", "candour:countOfIndividuals": true},
    {"name": "Worse", "type": "integer", "candour:countOfIndividuals": true},
    {"name": "Records", "type": "integer", "candour:countOfIndividuals": true, "candour:total": true, "candour:totalOf": ["Improved", "Worse"]},
    {"name": "Mean gain", "type": "number", "candour:contributors": "Records", "candour:suppressed": ["*"]}
  ],
  "candour:disclosure": {"rule": "threshold", "threshold": 4, "protection": 4, "protectionPercent": 10, "k": 10, "l": 2, "recordLevel": true}
}`

func TestParseSchemaDisclosureProperties(t *testing.T) {
	s, err := ParseSchema([]byte(disclosureSchema))
	if err != nil {
		t.Fatal(err)
	}
	region := s.Fields[0]
	if !slices.Equal(region.TotalValues, []string{"Total", "All regions"}) || !slices.Equal(region.NationalValues, []string{"England"}) {
		t.Errorf("Region: got %+v", region)
	}
	records := s.Fields[5]
	if !records.Total || !slices.Equal(records.TotalOf, []string{"Improved", "Worse"}) {
		t.Errorf("Records: got %+v", records)
	}
	if got := s.Fields[6].Contributors; got != "Records" {
		t.Errorf("Mean gain contributors: got %q", got)
	}
	want := DisclosureRule{Rule: DisclosureThreshold, Threshold: 4, Protection: 4, ProtectionPercent: 10, K: 10, L: 2, RecordLevel: true}
	if d := s.Disclosure; d == nil || !reflect.DeepEqual(*d, want) {
		t.Errorf("Disclosure: got %+v, want %+v", d, want)
	}
	if got := s.Disclosure.ProtectionValues(); got != 4 {
		t.Errorf("ProtectionValues: got %d, want 4", got)
	}
	if got := s.Disclosure.KAnonymity(); got != 10 {
		t.Errorf("KAnonymity: got %d, want 10", got)
	}
	var zero DisclosureRule
	if zero.ProtectionValues() != DefaultProtection || zero.KAnonymity() != DefaultK {
		t.Errorf("defaults: got protection %d and k %d, want 3 and 5", zero.ProtectionValues(), zero.KAnonymity())
	}

	m, err := ParseSchema([]byte(`{"fields": [{"name": "Cost", "type": "number", "candour:magnitude": true}],
		"candour:disclosure": {"rule": "none", "reason": "r", "dominance": {"n": 1, "k": 75}, "pPercent": 10}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Disclosure; d.Dominance == nil || *d.Dominance != (DominanceRule{N: 1, K: 75}) || d.PPercent != 10 || !m.Fields[0].Magnitude {
		t.Errorf("magnitude rules: got %+v, %+v", d, m.Fields[0])
	}
}

func TestParseSchemaValues(t *testing.T) {
	s, err := ParseSchema([]byte(fullSchema))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.PrimaryKey, []string{"Org Code", "Period"}; !slices.Equal(got, want) {
		t.Errorf("PrimaryKey: got %q, want %q", got, want)
	}
	if got, want := s.MissingValues, []string{"", "-"}; !slices.Equal(got, want) {
		t.Errorf("MissingValues: got %q, want %q", got, want)
	}
	code := s.Fields[0]
	if code.Type != TypeString || code.Role != RoleKey || code.GeographyLevel != "provider" || !code.Constraints.Required || !code.Constraints.Unique {
		t.Errorf("Org Code: got %+v", code)
	}
	if code.Organisation == nil || code.Organisation.Types["NHS trust"] != "trust" || !slices.Equal(code.Organisation.NotOrganisations, []string{"Total", "England"}) {
		t.Errorf("Org Code organisation: got %+v", code.Organisation)
	}
	if got := s.Fields[1].Type; got != TypeString {
		t.Errorf("Org Name type: got %q, want %q (the default)", got, TypeString)
	}
	total := s.Fields[s.FieldIndex("Total")]
	if !total.CountOfIndividuals || !total.Total || !slices.Equal(total.Suppressed, []string{"*", "~"}) || total.Constraints.Maximum != "1e6" {
		t.Errorf("Total: got %+v", total)
	}
	if d := s.Disclosure; d == nil || d.Rule != "none" || !strings.HasPrefix(d.Reason, "provider-level") {
		t.Errorf("Disclosure: got %+v", d)
	}

	tests := []struct {
		name string
		json string
		want Schema
	}{
		{"absent missingValues is [\"\"]", `{"fields": [{"name": "a"}]}`,
			Schema{Fields: []Field{{Name: "a", Type: TypeString}}, MissingValues: []string{""}}},
		{"explicit [] means none", `{"fields": [{"name": "a"}], "missingValues": []}`,
			Schema{Fields: []Field{{Name: "a", Type: TypeString}}}},
		{"primaryKey string becomes an array", `{"fields": [{"name": "a"}], "primaryKey": "a"}`,
			Schema{Fields: []Field{{Name: "a", Type: TypeString}}, PrimaryKey: []string{"a"}, MissingValues: []string{""}}},
		{"unknown non-Candour properties are ignored", `{"fields": [{"name": "a", "example": "x", "rdfType": "y"}], "title": "t", "x-other": {}}`,
			Schema{Fields: []Field{{Name: "a", Type: TypeString}}, MissingValues: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSchema([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseSchema: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseSchemaErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string // the error must start with this
	}{
		{"invalid JSON", `{"fields": [`, "invalid JSON: "},
		{"not an object", `[1, 2]`, "must be a JSON object"},
		{"null", `null`, "must be a JSON object"},
		{"no fields property", `{}`, "fields: required"},
		{"fields not an array", `{"fields": {"name": "a"}}`, "fields: must be an array"},
		{"no fields", `{"fields": []}`, "fields: a schema needs at least one field"},
		{"field not an object", `{"fields": ["a"]}`, "fields[0]: must be an object"},
		{"empty name", `{"fields": [{"name": "a"}, {"name": ""}]}`, `fields[1]: name: required`},
		{"missing name", `{"fields": [{"type": "integer"}]}`, `fields[0]: name: required`},
		{"name not a string", `{"fields": [{"name": 3}]}`, `fields[0]: name: must be a string`},
		{"duplicate name", `{"fields": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}`, `fields[2] "a": name: duplicate of fields[0]`},
		{"unknown type", `{"fields": [{"name": "a"}, {"name": "When", "type": "datetime"}]}`, `fields[1] "When": type: "datetime" is not a supported type`},
		{"bad date directive", `{"fields": [{"name": "d", "type": "date", "format": "%Y%m%Q"}]}`, `fields[0] "d": format: "%Y%m%Q": %Q is not supported`},
		{"date format without day", `{"fields": [{"name": "d", "type": "date", "format": "%Y-%m"}]}`, `fields[0] "d": format: "%Y-%m" needs a day`},
		{"date format twice the year", `{"fields": [{"name": "d", "type": "date", "format": "%Y%Y%m%d"}]}`, `fields[0] "d": format: "%Y%Y%m%d" has %Y more than once`},
		{"date format any", `{"fields": [{"name": "d", "type": "date", "format": "any"}]}`, `fields[0] "d": format: "any" needs one year`},
		{"format on an integer", `{"fields": [{"name": "n", "type": "integer", "format": "%d"}]}`, `fields[0] "n": format: "%d" is not a format for integer fields`},
		{"bad period format", `{"fields": [{"name": "p", "type": "period", "format": "YYYY/YYYY"}]}`, `fields[0] "p": format: "YYYY/YYYY" is not a period format`},
		{"pattern does not compile", `{"fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "Org Code", "constraints": {"pattern": "[A-Z"}}]}`,
			`fields[3] "Org Code": constraints.pattern: error parsing regexp`},
		{"unknown role", `{"fields": [{"name": "a", "candour:role": "owner"}]}`, `fields[0] "a": candour:role: "owner" is not a known role`},
		{"unknown geography level", `{"fields": [{"name": "a", "candour:geographyLevel": "ccg"}]}`, `fields[0] "a": candour:geographyLevel: "ccg" is not one of`},
		{"unknown Candour property on a field", `{"fields": [{"name": "a", "candour:rol": "key"}]}`, `fields[0] "a": candour:rol: unknown Candour property`},
		{"unknown Candour property at top level", `{"fields": [{"name": "a"}], "candour:disclosur": {}}`, `candour:disclosur: unknown Candour property`},
		{"primaryKey names a missing field", `{"fields": [{"name": "a"}], "primaryKey": ["a", "b"]}`, `primaryKey[1]: field "b" is not in the schema`},
		{"primaryKey names a field twice", `{"fields": [{"name": "a"}], "primaryKey": ["a", "a"]}`, `primaryKey[1]: field "a" is named twice`},
		{"primaryKey of the wrong type", `{"fields": [{"name": "a"}], "primaryKey": 1}`, `primaryKey: must be a string or an array of strings`},
		{"organisation nameField missing", `{"fields": [{"name": "code", "candour:organisation": {"nameField": "Name"}}]}`,
			`fields[0] "code": candour:organisation.nameField: field "Name" is not in the schema`},
		{"organisation typeField missing", `{"fields": [{"name": "code", "candour:organisation": {"typeField": "Type", "types": {"a": "b"}}}]}`,
			`fields[0] "code": candour:organisation.typeField: field "Type" is not in the schema`},
		{"organisation typeField without types", `{"fields": [{"name": "code", "candour:organisation": {"typeField": "t"}}, {"name": "t"}]}`,
			`fields[0] "code": candour:organisation.types: required with typeField`},
		{"organisation type and typeField", `{"fields": [{"name": "code", "candour:organisation": {"type": "consultant", "typeField": "t", "types": {"a": "consultant"}}}, {"name": "t"}]}`,
			`fields[0] "code": candour:organisation.type: give one type for the field, or a typeField with types, not both`},
		{"organisation unknown property", `{"fields": [{"name": "code", "candour:organisation": {"nameFeild": "n"}}]}`,
			`fields[0] "code": candour:organisation.nameFeild: unknown property`},
		{"organisation on an integer field", `{"fields": [{"name": "code", "type": "integer", "candour:organisation": {}}]}`,
			`fields[0] "code": candour:organisation: organisation codes are strings`},
		{"unknown disclosure rule", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "k-anonymity"}}`, `candour:disclosure.rule: "k-anonymity" is not one of`},
		{"disclosure none without reason", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "none", "reason": "  "}}`, `candour:disclosure.reason: required when the rule is "none"`},
		{"disclosure threshold without threshold", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "threshold"}}`, `candour:disclosure.threshold: required`},
		{"disclosure typo", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "threshold", "treshold": 5}}`, `candour:disclosure.treshold: unknown property`},
		{"disclosure wrong type", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "threshold", "threshold": "5"}}`, `candour:disclosure.threshold: must be a whole number`},
		{"suppressed marker is a missing value", `{"fields": [{"name": "a"}, {"name": "n", "type": "number", "candour:suppressed": ["*", "-"]}], "missingValues": ["", "-"]}`,
			`fields[1] "n": candour:suppressed: "-" is also a missing value`},
		{"suppressed marker is the default missing value", `{"fields": [{"name": "n", "type": "number", "candour:suppressed": [""]}]}`,
			`fields[0] "n": candour:suppressed: a marker must not be empty`},
		{"enum value of the wrong type", `{"fields": [{"name": "n", "type": "integer", "constraints": {"enum": [1, "x"]}}]}`, `fields[0] "n": constraints.enum[1]: "x" is not an integer`},
		{"empty enum", `{"fields": [{"name": "n", "constraints": {"enum": []}}]}`, `fields[0] "n": constraints.enum: must not be empty`},
		{"minimum on a string", `{"fields": [{"name": "s", "constraints": {"minimum": "a"}}]}`, `fields[0] "s": constraints.minimum: does not apply to string fields`},
		{"minimum above maximum", `{"fields": [{"name": "n", "type": "number", "constraints": {"minimum": 5, "maximum": 1}}]}`, `fields[0] "n": constraints.minimum: 5 is more than the maximum 1`},
		{"bad date bound", `{"fields": [{"name": "d", "type": "date", "constraints": {"minimum": "2025-02-30"}}]}`, `fields[0] "d": constraints.minimum: "2025-02-30" is not a real date`},
		{"minLength on an integer", `{"fields": [{"name": "n", "type": "integer", "constraints": {"minLength": 1}}]}`, `fields[0] "n": constraints: minLength and maxLength apply to string fields`},
		{"unsupported constraint", `{"fields": [{"name": "n", "type": "integer", "constraints": {"exclusiveMinimum": 0}}]}`, `fields[0] "n": constraints.exclusiveMinimum: not supported`},
		{"required not a boolean", `{"fields": [{"name": "n", "constraints": {"required": "yes"}}]}`, `fields[0] "n": constraints.required: must be true or false`},
		{"count of individuals on a string", `{"fields": [{"name": "s", "candour:countOfIndividuals": true}]}`, `fields[0] "s": candour:countOfIndividuals: only integer and number fields`},
		{"true and false values overlap", `{"fields": [{"name": "b", "type": "boolean", "trueValues": ["Y", "1"], "falseValues": ["N", "1"]}]}`, `fields[0] "b": trueValues: "1" is also in falseValues`},
		{"missingValues not strings", `{"fields": [{"name": "a"}], "missingValues": [0]}`, `missingValues: must be an array of strings`},
		{"totalValues on a measure", `{"fields": [{"name": "a", "candour:role": "measure", "candour:totalValues": ["Total"]}]}`,
			`fields[0] "a": candour:totalValues: only key and dimension fields`},
		{"totalValues not strings", `{"fields": [{"name": "a", "candour:role": "dimension", "candour:totalValues": "Total"}]}`,
			`fields[0] "a": candour:totalValues: must be an array of strings`},
		{"totalValues twice", `{"fields": [{"name": "a", "candour:role": "dimension", "candour:totalValues": ["Total", "Total"]}]}`,
			`fields[0] "a": candour:totalValues[1]: "Total" is listed twice`},
		{"nationalValues without a role", `{"fields": [{"name": "a", "candour:nationalValues": ["England"]}]}`,
			`fields[0] "a": candour:nationalValues: only key and dimension fields`},
		{"totalOf without total", `{"fields": [{"name": "a", "type": "integer"}, {"name": "t", "type": "integer", "candour:totalOf": ["a"]}]}`,
			`fields[1] "t": candour:totalOf: only a field with candour:total`},
		{"totalOf names a missing field", `{"fields": [{"name": "a", "type": "integer"}, {"name": "t", "type": "integer", "candour:total": true, "candour:totalOf": ["a", "b"]}]}`,
			`fields[1] "t": candour:totalOf[1]: field "b" is not in the schema`},
		{"totalOf names itself", `{"fields": [{"name": "t", "type": "integer", "candour:total": true, "candour:totalOf": ["t"]}]}`,
			`fields[0] "t": candour:totalOf[0]: a total cannot be a part of itself`},
		{"totalOf names a string", `{"fields": [{"name": "a"}, {"name": "t", "type": "integer", "candour:total": true, "candour:totalOf": ["a"]}]}`,
			`fields[1] "t": candour:totalOf[0]: field "a" is string, not a number`},
		{"contributors names a missing field", `{"fields": [{"name": "mean", "type": "number", "candour:contributors": "n"}]}`,
			`fields[0] "mean": candour:contributors: field "n" is not in the schema`},
		{"contributors on a string", `{"fields": [{"name": "s", "candour:contributors": "n"}, {"name": "n", "type": "integer"}]}`,
			`fields[0] "s": candour:contributors: only integer and number fields`},
		{"contributors is a string field", `{"fields": [{"name": "mean", "type": "number", "candour:contributors": "n"}, {"name": "n"}]}`,
			`fields[0] "mean": candour:contributors: field "n" is string, not a number`},
		{"contributors not a string", `{"fields": [{"name": "mean", "type": "number", "candour:contributors": 3}]}`,
			`fields[0] "mean": candour:contributors: must be a string`},
		{"notACount without a reason", `{"fields": [{"name": "n", "type": "integer", "candour:notACount": " "}]}`,
			`fields[0] "n": candour:notACount: give the reason`},
		{"notACount and a count", `{"fields": [{"name": "n", "type": "integer", "candour:notACount": "beds", "candour:countOfIndividuals": true}]}`,
			`fields[0] "n": candour:notACount: the field is also declared candour:countOfIndividuals`},
		{"notACount on a string", `{"fields": [{"name": "s", "candour:notACount": "a code"}]}`,
			`fields[0] "s": candour:notACount: only integer and number fields`},
		{"alreadyPublished without a source", `{"fields": [{"name": "n", "type": "integer", "candour:alreadyPublished": {"url": "https://digital.nhs.uk/x"}}]}`,
			`fields[0] "n": candour:alreadyPublished.source: say who publishes`},
		{"alreadyPublished without an address", `{"fields": [{"name": "n", "type": "integer", "candour:alreadyPublished": {"source": "NHS Digital", "url": "digital.nhs.uk"}}]}`,
			`fields[0] "n": candour:alreadyPublished.url: "digital.nhs.uk" is not an http or https address`},
		{"alreadyPublished typo", `{"fields": [{"name": "n", "type": "integer", "candour:alreadyPublished": {"source": "NHS Digital", "link": "https://x"}}]}`,
			`fields[0] "n": candour:alreadyPublished.link: unknown property`},
		{"parent on a measure", `{"fields": [{"name": "p", "candour:parent": {"field": "icb", "directory": "icb"}}]}`,
			`fields[0] "p": candour:parent: only key and dimension fields`},
		{"parent with both sources", `{"fields": [{"name": "p", "candour:role": "key", "candour:parent": {"field": "icb", "directory": "icb", "mapping": "m.csv"}}]}`,
			`fields[0] "p": candour:parent: give either mapping`},
		{"parent of itself", `{"fields": [{"name": "p", "candour:role": "key", "candour:parent": {"field": "p", "mapping": "m.csv"}}]}`,
			`fields[0] "p": candour:parent.field: name the field`},
		{"parent from an unknown directory link", `{"fields": [{"name": "p", "candour:role": "key", "candour:parent": {"field": "pcn", "directory": "pcn"}}]}`,
			`fields[0] "p": candour:parent.directory: "pcn" is not "icb" or "region"`},
		{"magnitude on a string", `{"fields": [{"name": "s", "candour:magnitude": true}]}`, `fields[0] "s": candour:magnitude: only integer and number fields`},
		{"magnitude and a count", `{"fields": [{"name": "n", "type": "integer", "candour:magnitude": true, "candour:countOfIndividuals": true}]}`,
			`fields[0] "n": candour:magnitude: a field cannot be both`},
		{"dominance without magnitude", `{"fields": [{"name": "n", "type": "number"}], "candour:disclosure": {"rule": "none", "reason": "r", "dominance": {"n": 1, "k": 75}}}`,
			`candour:disclosure: dominance or pPercent is set, but no field has candour:magnitude`},
		{"dominance typo", `{"fields": [{"name": "n", "type": "number", "candour:magnitude": true}], "candour:disclosure": {"rule": "none", "reason": "r", "dominance": {"n": 1, "kk": 75}}}`,
			`candour:disclosure.dominance.kk: unknown property`},
		{"dominance not an object", `{"fields": [{"name": "n", "type": "number", "candour:magnitude": true}], "candour:disclosure": {"rule": "none", "reason": "r", "dominance": 75}}`,
			`candour:disclosure.dominance: must be an object`},
		{"dominance k of 100", `{"fields": [{"name": "n", "type": "number", "candour:magnitude": true}], "candour:disclosure": {"rule": "none", "reason": "r", "dominance": {"n": 1, "k": 100}}}`,
			`candour:disclosure.dominance.k: 100 is not a percentage`},
		{"dominance n of 0", `{"fields": [{"name": "n", "type": "number", "candour:magnitude": true}], "candour:disclosure": {"rule": "none", "reason": "r", "dominance": {"n": 0, "k": 75}}}`,
			`candour:disclosure.dominance.n: 0 is not a positive number`},
		{"pPercent negative", `{"fields": [{"name": "n", "type": "number", "candour:magnitude": true}], "candour:disclosure": {"rule": "none", "reason": "r", "pPercent": -1}}`,
			`candour:disclosure.pPercent: -1 is not between 0 and 100`},
		{"pPercent not a number", `{"fields": [{"name": "n", "type": "number", "candour:magnitude": true}], "candour:disclosure": {"rule": "none", "reason": "r", "pPercent": "10"}}`,
			`candour:disclosure.pPercent: must be a number`},
		{"k negative", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "nhs-digital", "k": -1}}`, `candour:disclosure.k: -1 is negative`},
		{"l without a sensitive field", `{"fields": [{"name": "a", "candour:role": "quasi-identifier"}], "candour:disclosure": {"rule": "nhs-digital", "l": 2}}`,
			`candour:disclosure.l: set, but no field has candour:role "sensitive"`},
		{"protectionPercent over 100", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "nhs-digital", "protectionPercent": 150}}`,
			`candour:disclosure.protectionPercent: 150 is not between 0 and 100`},
		{"recordLevel not a boolean", `{"fields": [{"name": "a"}], "candour:disclosure": {"rule": "nhs-digital", "recordLevel": "yes"}}`,
			`candour:disclosure.recordLevel: must be true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSchema([]byte(tt.json))
			if err == nil {
				t.Fatalf("got no error, want one starting %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got error %q, want one starting %q", err, tt.want)
			}
		})
	}
}

func TestPatternIsAnchored(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		text    string
		ok      bool
	}{
		{"exact length", `[A-Z]\d{4}`, "A8100", true},
		{"longer text does not match", `[A-Z]\d{4}`, "A81001", false},
		{"prefix does not match", `[A-Z]\d{4}`, "xA8100", false},
		{"alternation is anchored as a whole", `a|b`, "ab", false},
		{"alternation matches one branch", `a|b`, "b", true},
		{"ODS code of 3, 5 or 6 characters", `[A-Z0-9]{3}|[A-Z0-9]{5,6}`, "RYJ", true},
		{"ODS code of 4 characters", `[A-Z0-9]{3}|[A-Z0-9]{5,6}`, "RYJ1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Field{Name: "code", Type: TypeString, Constraints: Constraints{Pattern: tt.pattern}}
			_, err := f.Parse(tt.text, nil)
			if ok := err == nil; ok != tt.ok {
				t.Errorf("Parse(%q) against %s: got error %v, want match %v", tt.text, tt.pattern, err, tt.ok)
			}
		})
	}
}

func TestSchemaFieldLookup(t *testing.T) {
	s := Schema{Fields: []Field{{Name: "Org Code"}, {Name: "Total"}}}
	if got, want := s.FieldNames(), []string{"Org Code", "Total"}; !slices.Equal(got, want) {
		t.Errorf("FieldNames: got %q, want %q", got, want)
	}
	for _, tt := range []struct {
		name string
		want int
	}{{"Org Code", 0}, {"Total", 1}, {"total", -1}, {"", -1}} {
		if got := s.FieldIndex(tt.name); got != tt.want {
			t.Errorf("FieldIndex(%q): got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSchemaMarshalGoValues(t *testing.T) {
	// A schema built in Go: nil MissingValues (none) and an empty type.
	s := Schema{Fields: []Field{{Name: "a"}, {Name: "n", Type: TypeInteger, Constraints: Constraints{Enum: []string{"1", "01"}, Minimum: "0"}}}}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fields":[{"name":"a","type":"string"},{"name":"n","type":"integer","constraints":{"enum":[1,"01"],"minimum":0}}],"missingValues":[]}`
	if string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
	back, err := ParseSchema(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.MissingValues != nil {
		t.Errorf("MissingValues: got %q, want none", back.MissingValues)
	}
	if got := back.Fields[1].Constraints.Enum; !slices.Equal(got, []string{"1", "01"}) {
		t.Errorf("Enum: got %q, want [1 01]", got)
	}
}

func TestFieldJSON(t *testing.T) {
	var f Field
	if err := json.Unmarshal([]byte(`{"name": "Total", "type": "number", "candour:suppressed": ["*"]}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.Name != "Total" || f.Type != TypeNumber || !slices.Equal(f.Suppressed, []string{"*"}) {
		t.Errorf("got %+v", f)
	}
	if err := json.Unmarshal([]byte(`{"name": "Total", "candour:supressed": ["*"]}`), &f); err == nil || !strings.Contains(err.Error(), "candour:supressed: unknown Candour property") {
		t.Errorf("got error %v, want an unknown Candour property", err)
	}
}
