package datasets

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestResourceJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		json string
		want func(Resource) bool
	}{
		{"hospital sites", `{
			"name": "hospital-sites", "path": "data/hospital-sites.csv", "title": "Hospital sites",
			"format": "csv", "mediatype": "text/csv", "encoding": "windows-1252",
			"dialect": {"delimiter": "~", "lineTerminator": "\n", "caseSensitiveHeader": false},
			"schema": {"fields": [{"name": "OrganisationCode", "constraints": {"pattern": "[A-Z0-9]{3,6}"}}]},
			"bytes": 333017, "hash": "sha256:dd47"
		}`, func(r Resource) bool {
			return r.Dialect == Dialect{Delimiter: "~", Header: true, QuoteChar: `"`} && r.Encoding == "windows-1252"
		}},
		{"headerless, defaults", `{"name": "etr", "dialect": {"header": false}, "schema": {"fields": [{"name": "code"}]}}`,
			func(r Resource) bool { return r.Dialect == Dialect{Delimiter: ",", Header: false, QuoteChar: `"`} }},
		{"no dialect means the default", `{"name": "etr", "schema": {"fields": [{"name": "code"}]}}`,
			func(r Resource) bool { return r.Dialect == DefaultDialect() }},
		{"cp1252 alias", `{"name": "x", "encoding": "cp1252", "dialect": {"skipInitialSpace": true, "doubleQuote": true}, "schema": {"fields": [{"name": "a"}]}}`,
			func(r Resource) bool { return r.Encoding == "cp1252" && r.Dialect.SkipInitialSpace }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Resource
			if err := json.Unmarshal([]byte(tt.json), &r); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !tt.want(r) {
				t.Errorf("got %+v", r)
			}
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var again Resource
			if err := json.Unmarshal(out, &again); err != nil {
				t.Fatalf("Unmarshal(Marshal): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(again, r) {
				t.Errorf("round trip:\ngot  %+v\nwant %+v\njson %s", again, r, out)
			}
		})
	}
}

func TestResourceErrors(t *testing.T) {
	const fields = `"schema": {"fields": [{"name": "a"}]}`
	tests := []struct {
		name string
		json string
		want string // the error starts with this
	}{
		{"no name", `{` + fields + `}`, "name: required"},
		{"upper-case name", `{"name": "Hospital Sites", ` + fields + `}`, `name: "Hospital Sites" may only contain`},
		{"unknown encoding", `{"name": "x", "encoding": "latin-1", ` + fields + `}`, `encoding: "latin-1" is not supported`},
		{"UTF-16", `{"name": "x", "encoding": "utf-16", ` + fields + `}`, `encoding: "utf-16" is not supported`},
		{"other quote character", `{"name": "x", "dialect": {"quoteChar": "'"}, ` + fields + `}`, `dialect.quoteChar: "'" is not supported`},
		{"two-character delimiter", `{"name": "x", "dialect": {"delimiter": ",,"}, ` + fields + `}`, `dialect.delimiter: ",," is not exactly one character`},
		{"quote as delimiter", `{"name": "x", "dialect": {"delimiter": "\""}, ` + fields + `}`, `dialect.delimiter: "\"" cannot be a quote, CR or LF`},
		{"newline as delimiter", `{"name": "x", "dialect": {"delimiter": "\n"}, ` + fields + `}`, `dialect.delimiter: "\n" cannot be`},
		{"empty delimiter", `{"name": "x", "dialect": {"delimiter": ""}, ` + fields + `}`, `dialect.delimiter: must not be empty`},
		{"header not a boolean", `{"name": "x", "dialect": {"header": "yes"}, ` + fields + `}`, `dialect.header: must be true or false`},
		{"no double quotes", `{"name": "x", "dialect": {"doubleQuote": false}, ` + fields + `}`, `dialect.doubleQuote: false is not supported`},
		{"escape character", `{"name": "x", "dialect": {"escapeChar": "\\"}, ` + fields + `}`, `dialect.escapeChar: not supported`},
		{"unknown Candour dialect property", `{"name": "x", "dialect": {"candour:bom": true}, ` + fields + `}`, `dialect.candour:bom: unknown Candour property`},
		{"unknown Candour resource property", `{"name": "x", "candour:licence": "OGL", ` + fields + `}`, `candour:licence: unknown Candour property`},
		{"format", `{"name": "x", "format": "xlsx", ` + fields + `}`, `format: "xlsx" is not supported`},
		{"media type", `{"name": "x", "mediatype": "application/json", ` + fields + `}`, `mediatype: "application/json" is not supported`},
		{"path outside", `{"name": "x", "path": "../secret.csv", ` + fields + `}`, `path: "../secret.csv" must not contain ..`},
		{"absolute path", `{"name": "x", "path": "/etc/passwd", ` + fields + `}`, `path: "/etc/passwd" must be a relative path`},
		{"multi-part path", `{"name": "x", "path": ["a.csv", "b.csv"], ` + fields + `}`, `path: must be a string`},
		{"no schema", `{"name": "x"}`, `schema: required`},
		{"schema by path", `{"name": "x", "schema": "schema.json"}`, `schema: must be an object`},
		{"bad schema", `{"name": "x", "schema": {"fields": [{"name": "a", "type": "integer", "constraints": {"pattern": "("}}]}}`, `schema: fields[0] "a": constraints.pattern:`},
		{"schema with a Candour typo", `{"name": "x", "schema": {"fields": [{"name": "a"}], "candour:disclosure": {"rule": "none"}}}`, `schema: candour:disclosure.reason: required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Resource
			err := json.Unmarshal([]byte(tt.json), &r)
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got error %q, want one starting %q", err, tt.want)
			}
		})
	}
}

func TestResourceValidateGoValues(t *testing.T) {
	good := Resource{Name: "x", Dialect: DefaultDialect(), Schema: Schema{Fields: []Field{{Name: "a"}}}}
	tests := []struct {
		name   string
		modify func(*Resource)
		want   string // "" for valid
	}{
		{"valid", func(*Resource) {}, ""},
		{"zero dialect is valid (headerless, comma)", func(r *Resource) { r.Dialect = Dialect{} }, ""},
		{"encoding in capitals", func(r *Resource) { r.Encoding = "UTF-8" }, ""},
		{"cp1252", func(r *Resource) { r.Encoding = "cp1252" }, ""},
		{"semicolon", func(r *Resource) { r.Dialect.Delimiter = ";" }, ""},
		{"tab", func(r *Resource) { r.Dialect.Delimiter = "\t" }, ""},
		{"CR delimiter", func(r *Resource) { r.Dialect.Delimiter = "\r" }, "dialect.delimiter:"},
		{"single quote", func(r *Resource) { r.Dialect.QuoteChar = "'" }, "dialect.quoteChar:"},
		{"no fields", func(r *Resource) { r.Schema.Fields = nil }, "schema: fields:"},
		{"bad type", func(r *Resource) { r.Schema.Fields[0].Type = "float" }, `schema: fields[0] "a": type:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			r.Schema.Fields = []Field{{Name: "a"}}
			tt.modify(&r)
			err := r.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("got %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

func TestDialectJSON(t *testing.T) {
	var d Dialect
	if err := json.Unmarshal([]byte(`{}`), &d); err != nil {
		t.Fatal(err)
	}
	if d != DefaultDialect() {
		t.Errorf("empty dialect: got %+v, want the default", d)
	}
	out, err := json.Marshal(Dialect{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"delimiter":",","header":false,"quoteChar":"\""}`; string(out) != want {
		t.Errorf("zero dialect: got %s, want %s", out, want)
	}
}
