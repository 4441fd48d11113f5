package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Dialect is the subset of Frictionless Table Dialect that Candour
// supports. The zero Dialect has no header: use DefaultDialect for a
// comma-separated file with a header row. JSON uses the Frictionless names
// and defaults (an absent "header" means true).
type Dialect struct {
	Delimiter        string // default ","; exactly one character, not a quote, CR or LF
	Header           bool   // whether the first row names the fields
	QuoteChar        string // "" or `"`; nothing else is supported
	SkipInitialSpace bool   // ignore spaces after a delimiter
}

// DefaultDialect returns the Frictionless default dialect: comma-separated,
// double quotes, a header row.
func DefaultDialect() Dialect {
	return Dialect{Delimiter: ",", Header: true, QuoteChar: `"`}
}

// Validate checks that Candour can read files in d.
func (d Dialect) Validate() error {
	if d.Delimiter != "" {
		r, size := utf8.DecodeRuneInString(d.Delimiter)
		switch {
		case size != len(d.Delimiter):
			return fmt.Errorf("delimiter: %q is not exactly one character", d.Delimiter)
		case r == utf8.RuneError || r == 0:
			return fmt.Errorf("delimiter: %q is not a usable character", d.Delimiter)
		case r == '"' || r == '\r' || r == '\n':
			return fmt.Errorf("delimiter: %q cannot be a quote, CR or LF", d.Delimiter)
		}
	}
	if d.QuoteChar != "" && d.QuoteChar != `"` {
		return fmt.Errorf(`quoteChar: %q is not supported (only ")`, d.QuoteChar)
	}
	return nil
}

// comma returns the delimiter as a rune.
func (d Dialect) comma() rune {
	if d.Delimiter == "" {
		return ','
	}
	r, _ := utf8.DecodeRuneInString(d.Delimiter)
	return r
}

// MarshalJSON writes d with every supported property, defaults filled in.
func (d Dialect) MarshalJSON() ([]byte, error) {
	out := struct {
		Delimiter        string `json:"delimiter"`
		Header           bool   `json:"header"`
		QuoteChar        string `json:"quoteChar"`
		SkipInitialSpace bool   `json:"skipInitialSpace,omitempty"`
	}{string(d.comma()), d.Header, `"`, d.SkipInitialSpace}
	return json.Marshal(out)
}

// UnmarshalJSON reads a Frictionless dialect, filling in the defaults, and
// checks it. Properties that would change how a file parses but are not
// supported (doubleQuote false, escapeChar, commentChar, nullSequence) are
// errors rather than being ignored.
func (d *Dialect) UnmarshalJSON(data []byte) error {
	o, err := decodeTopObject(data)
	if err != nil {
		return err
	}
	parsed, err := decodeDialect(o, "")
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

func decodeDialect(o object, path string) (Dialect, error) {
	d := DefaultDialect()
	if err := o.checkCandourKeys(path); err != nil {
		return Dialect{}, err
	}
	if err := o.str(path, "delimiter", &d.Delimiter); err != nil {
		return Dialect{}, err
	}
	if err := o.boolean(path, "header", &d.Header); err != nil {
		return Dialect{}, err
	}
	if err := o.str(path, "quoteChar", &d.QuoteChar); err != nil {
		return Dialect{}, err
	}
	if err := o.boolean(path, "skipInitialSpace", &d.SkipInitialSpace); err != nil {
		return Dialect{}, err
	}
	doubleQuote := true
	if err := o.boolean(path, "doubleQuote", &doubleQuote); err != nil {
		return Dialect{}, err
	}
	if !doubleQuote {
		return Dialect{}, fmt.Errorf("%sdoubleQuote: false is not supported", path)
	}
	for _, k := range []string{"escapeChar", "commentChar", "nullSequence"} {
		if o.get(k) != nil {
			return Dialect{}, fmt.Errorf("%s%s: not supported", path, k)
		}
	}
	if d.Delimiter == "" {
		return Dialect{}, fmt.Errorf("%sdelimiter: must not be empty", path)
	}
	if err := d.Validate(); err != nil {
		return Dialect{}, fmt.Errorf("%s%w", path, err)
	}
	return d, nil
}

// Resource is the subset of a Frictionless Data Resource that describes
// one CSV file of a release.
type Resource struct {
	Name        string // lower-case letters, digits, ".", "-" and "_"
	Path        string // relative path of the file
	Title       string
	Description string
	Format      string // "csv" or ""
	MediaType   string // JSON "mediatype": "text/csv" or ""
	Encoding    string // "utf-8" (default, also for "") or "windows-1252" ("cp1252" accepted)
	Dialect     Dialect
	Schema      Schema
}

var resourceName = regexp.MustCompile(`\A[a-z0-9._-]+\z`)

// Encodings Candour reads.
const (
	EncodingUTF8        = "utf-8"
	EncodingWindows1252 = "windows-1252"
)

// canonicalEncoding returns the canonical name of a declared encoding.
func canonicalEncoding(enc string) (string, error) {
	switch strings.ToLower(enc) {
	case "", EncodingUTF8:
		return EncodingUTF8, nil
	case EncodingWindows1252, "cp1252":
		return EncodingWindows1252, nil
	}
	return "", fmt.Errorf("encoding: %q is not supported (use utf-8 or windows-1252)", enc)
}

// Validate checks r: its name, path, format, media type, encoding, dialect
// and schema.
func (r Resource) Validate() error {
	if r.Name == "" {
		return errors.New("name: required")
	}
	if !resourceName.MatchString(r.Name) {
		return fmt.Errorf("name: %q may only contain lower-case letters, digits, \".\", \"-\" and \"_\"", r.Name)
	}
	if p := r.Path; p != "" {
		switch {
		case strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || strings.Contains(p, "://"):
			return fmt.Errorf("path: %q must be a relative path using /", p)
		case p == ".." || strings.HasPrefix(p, "../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "/../"):
			return fmt.Errorf("path: %q must not contain ..", p)
		}
	}
	if r.Format != "" && r.Format != "csv" {
		return fmt.Errorf("format: %q is not supported (only csv)", r.Format)
	}
	if r.MediaType != "" && r.MediaType != "text/csv" {
		return fmt.Errorf("mediatype: %q is not supported (only text/csv)", r.MediaType)
	}
	return r.validateForReading()
}

// validateForReading checks what reading a file needs: the encoding, the
// dialect and the schema.
func (r Resource) validateForReading() error {
	if _, err := canonicalEncoding(r.Encoding); err != nil {
		return err
	}
	if err := r.Dialect.Validate(); err != nil {
		return fmt.Errorf("dialect.%w", err)
	}
	if err := r.Schema.Validate(); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}

// MarshalJSON writes r as a Frictionless resource descriptor.
func (r Resource) MarshalJSON() ([]byte, error) {
	out := struct {
		Name        string  `json:"name"`
		Path        string  `json:"path,omitempty"`
		Title       string  `json:"title,omitempty"`
		Description string  `json:"description,omitempty"`
		Format      string  `json:"format,omitempty"`
		MediaType   string  `json:"mediatype,omitempty"`
		Encoding    string  `json:"encoding,omitempty"`
		Dialect     Dialect `json:"dialect"`
		Schema      Schema  `json:"schema"`
	}{r.Name, r.Path, r.Title, r.Description, r.Format, r.MediaType, r.Encoding, r.Dialect, r.Schema}
	return json.Marshal(out)
}

// UnmarshalJSON reads a Frictionless resource descriptor whose "schema" is
// an object (read with ParseSchema's rules), then checks it with Validate.
// An absent "dialect" means DefaultDialect. Unknown properties are ignored,
// except those starting with "candour:".
func (r *Resource) UnmarshalJSON(data []byte) error {
	o, err := decodeTopObject(data)
	if err != nil {
		return err
	}
	var res Resource
	if err := o.checkCandourKeys(""); err != nil {
		return err
	}
	for _, p := range []struct {
		key string
		dst *string
	}{
		{"name", &res.Name}, {"path", &res.Path}, {"title", &res.Title}, {"description", &res.Description},
		{"format", &res.Format}, {"mediatype", &res.MediaType}, {"encoding", &res.Encoding},
	} {
		if err := o.str("", p.key, p.dst); err != nil {
			if p.key == "path" {
				return errors.New("path: must be a string (multi-part resources are not supported)")
			}
			return err
		}
	}
	res.Dialect = DefaultDialect()
	if raw := o.get("dialect"); raw != nil {
		do, err := asObject(raw, "dialect")
		if err != nil {
			return err
		}
		if res.Dialect, err = decodeDialect(do, "dialect."); err != nil {
			return err
		}
	}
	raw := o.get("schema")
	if raw == nil {
		return errors.New("schema: required")
	}
	so, err := asObject(raw, "schema")
	if err != nil {
		return errors.New("schema: must be an object (a schema given by path or URL is not supported)")
	}
	s, err := decodeSchema(so)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	res.Schema = s
	if err := res.Validate(); err != nil {
		return err
	}
	*r = res
	return nil
}
