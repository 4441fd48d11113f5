package site

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// Machine-readable metadata per release, from its Table Schemas:
//
//   - /datasets/{slug}/releases/{n}/datapackage.json, a Frictionless Data
//     Package (v2): each public file as a tabular resource with its bytes,
//     SHA-256, dialect and a standard Table Schema;
//   - /datasets/{slug}/releases/{n}/csv-metadata.json, W3C CSV on the Web
//     metadata for the same files.
//
// Candour's own schema properties (roles, disclosure, organisation
// references) and its "period" type have no standard equivalent: periods
// are strings, and a suppression marker becomes a missing value of its
// field (the standards' closest meaning: no value is given), so a reader
// typing the file never takes "*" for a number.

// frictionlessField is a Table Schema field as the standard defines it.
type frictionlessField struct {
	Name          string         `json:"name"`
	Title         string         `json:"title,omitempty"`
	Description   string         `json:"description,omitempty"`
	Type          string         `json:"type"`
	Format        string         `json:"format,omitempty"`
	Constraints   map[string]any `json:"constraints,omitempty"`
	MissingValues []string       `json:"missingValues,omitempty"`
	TrueValues    []string       `json:"trueValues,omitempty"`
	FalseValues   []string       `json:"falseValues,omitempty"`
}

func standardType(t datasets.FieldType) string {
	switch t {
	case datasets.TypePeriod, "":
		return "string"
	}
	return string(t)
}

// bound is a minimum or maximum as JSON: a number for numeric fields.
func bound(f datasets.Field, v string) any {
	switch f.Type {
	case datasets.TypeInteger, datasets.TypeNumber, datasets.TypeYear:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return json.Number(strconv.FormatFloat(n, 'f', -1, 64))
		}
		return nil
	case datasets.TypeDate, datasets.TypeYearMonth:
		return v
	}
	return nil
}

// missingOf lists a field's missing values: the schema's, and its
// suppression markers.
func missingOf(s datasets.Schema, f datasets.Field) []string {
	out := slices.Clone(s.MissingValues)
	if out == nil {
		out = []string{""}
	}
	for _, m := range f.Suppressed {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// frictionlessSchema writes s as a standard Table Schema. Missing values
// (with suppression markers) go at schema level, which Data Package v1
// readers understand: alone when every field has the same, else as their
// union beside each field's own (v2 readers take a field's own).
func frictionlessSchema(s datasets.Schema) map[string]any {
	var fields []frictionlessField
	var union []string
	agree := true
	for i, f := range s.Fields {
		m := missingOf(s, f)
		agree = agree && (i == 0 || slices.Equal(m, missingOf(s, s.Fields[0])))
		for _, v := range m {
			if !slices.Contains(union, v) {
				union = append(union, v)
			}
		}
	}
	for _, f := range s.Fields {
		ff := frictionlessField{Name: f.Name, Title: f.Title, Description: f.Description, Type: standardType(f.Type),
			TrueValues: f.TrueValues, FalseValues: f.FalseValues}
		if !agree {
			ff.MissingValues = missingOf(s, f)
		}
		if f.Type != datasets.TypePeriod && f.Format != "" && f.Format != "default" {
			ff.Format = f.Format
		}
		c := map[string]any{}
		if f.Constraints.Required {
			c["required"] = true
		}
		if f.Constraints.Unique {
			c["unique"] = true
		}
		if f.Constraints.Pattern != "" && ff.Type == "string" {
			c["pattern"] = f.Constraints.Pattern
		}
		if len(f.Constraints.Enum) > 0 && ff.Type == "string" {
			c["enum"] = f.Constraints.Enum
		}
		if f.Constraints.MinLength != nil {
			c["minLength"] = *f.Constraints.MinLength
		}
		if f.Constraints.MaxLength != nil {
			c["maxLength"] = *f.Constraints.MaxLength
		}
		if b := bound(f, f.Constraints.Minimum); f.Constraints.Minimum != "" && b != nil {
			c["minimum"] = b
		}
		if b := bound(f, f.Constraints.Maximum); f.Constraints.Maximum != "" && b != nil {
			c["maximum"] = b
		}
		if len(c) > 0 {
			ff.Constraints = c
		}
		fields = append(fields, ff)
	}
	out := map[string]any{"$schema": "https://datapackage.org/profiles/2.0/tableschema.json", "fields": fields}
	if len(union) > 0 {
		out["missingValues"] = union
	}
	if len(s.PrimaryKey) > 0 {
		out["primaryKey"] = s.PrimaryKey
	}
	return out
}

var resourceNameRe = regexp.MustCompile(`[^a-z0-9._-]+`)

// publicResources lists a release's public files with their resources.
func publicResources(r catalogue.Release) ([]catalogue.File, []datasets.Resource, error) {
	var files []catalogue.File
	var res []datasets.Resource
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		var rr datasets.Resource
		if err := json.Unmarshal(f.Resource, &rr); err != nil {
			return nil, nil, fmt.Errorf("file %s: %w", f.Name, err)
		}
		files, res = append(files, f), append(res, rr)
	}
	return files, res, nil
}

// releaseOf reads the dataset and listed release the path names
// (:slug, :version).
func (s *Site) releaseOf(c *fiber.Ctx) (catalogue.Dataset, catalogue.Release, error) {
	version, err := parseVersion(c)
	if err != nil {
		return catalogue.Dataset{}, catalogue.Release{}, err
	}
	v := s.deps.Catalogue.View()
	d, err := v.Dataset(c.UserContext(), c.Params("slug"))
	if err != nil {
		return d, catalogue.Release{}, err
	}
	r, err := v.Release(c.UserContext(), d.Slug, version)
	return d, r, err
}

// metadataRelease is releaseOf for a release whose content is public.
func (s *Site) metadataRelease(c *fiber.Ctx) (catalogue.Dataset, catalogue.Release, error) {
	d, r, err := s.releaseOf(c)
	if err == nil && !r.ContentVisible {
		err = errNotFound
	}
	return d, r, err
}

// fileEncoding is a release file's encoding as a Data Package says it:
// the file's own, and "utf-8-sig" for UTF-8 that starts with a byte-order
// mark (the name Frictionless readers give it), so that no reader takes
// the mark for part of the first column's name. Release files are the
// producer's bytes, so the mark stays; exports and twins never have one.
func (s *Site) fileEncoding(c *fiber.Ctx, f catalogue.File) (string, error) {
	encoding := f.Encoding
	if encoding == "" {
		encoding = datasets.EncodingUTF8
	}
	if encoding != datasets.EncodingUTF8 {
		return encoding, nil
	}
	file, _, err := s.deps.Blobs.Open(c.UserContext(), f.SHA256)
	if err != nil {
		return "", fmt.Errorf("file %s: %w", f.Name, err)
	}
	defer file.Close()
	head := make([]byte, 3)
	n, _ := io.ReadFull(file, head)
	if bytes.Equal(head[:n], []byte{0xEF, 0xBB, 0xBF}) {
		return "utf-8-sig", nil
	}
	return encoding, nil
}

func (s *Site) dataPackage(c *fiber.Ctx) error {
	d, r, err := s.metadataRelease(c)
	if err != nil {
		return err
	}
	files, res, err := publicResources(r)
	if err != nil {
		return err
	}
	base := c.BaseURL()
	licence, _ := catalogue.LookupLicence(d.Licence)
	var resources []map[string]any
	for i, f := range files {
		mt := f.MediaType
		if mt == "" {
			mt = "text/csv"
		}
		name := strings.Trim(resourceNameRe.ReplaceAllString(strings.ToLower(strings.TrimSuffix(f.Name, ".csv")), "-"), "-")
		delimiter := res[i].Dialect.Delimiter
		if delimiter == "" {
			delimiter = ","
		}
		encoding, err := s.fileEncoding(c, f)
		if err != nil {
			return err
		}
		resources = append(resources, map[string]any{
			"name": name, "type": "table", "path": base + fileURL(d.Slug, r.Version, f.Name), "format": "csv", "mediatype": mt,
			"encoding": encoding, "bytes": f.Bytes, "hash": "sha256:" + f.SHA256, "title": res[i].Title,
			"dialect": map[string]any{"$schema": "https://datapackage.org/profiles/2.0/tabledialect.json", "delimiter": delimiter, "header": true},
			"schema":  frictionlessSchema(res[i].Schema),
		})
	}
	pkg := map[string]any{
		"$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
		"name":    fmt.Sprintf("%s-v%d", d.Slug, r.Version), "id": base + fmt.Sprintf("/datasets/%s/releases/%d", d.Slug, r.Version),
		"title": r.Title, "description": r.Summary, "version": fmt.Sprintf("%d.0.0", r.Version),
		"created":      r.PublishedAt.UTC().Format(time.RFC3339),
		"homepage":     base + "/datasets/" + d.Slug,
		"licenses":     []map[string]any{{"name": licence.ID, "path": licence.URL, "title": licence.Title}},
		"contributors": []map[string]any{{"title": d.Publisher.Name, "roles": []string{"publisher"}}},
		"keywords":     d.Topics, "resources": resources,
	}
	if len(d.Topics) == 0 {
		delete(pkg, "keywords")
	}
	c.Set("Access-Control-Allow-Origin", "*")
	return c.JSON(pkg)
}

// csvwDatatype maps a field to a CSVW datatype, with its format.
func csvwDatatype(f datasets.Field) any {
	base := map[datasets.FieldType]string{datasets.TypeInteger: "integer", datasets.TypeNumber: "number", datasets.TypeDate: "date",
		datasets.TypeYear: "gYear", datasets.TypeYearMonth: "gYearMonth", datasets.TypeBoolean: "boolean"}[f.Type]
	if base == "" {
		return "string"
	}
	if f.Type == datasets.TypeDate && f.Format != "" && f.Format != "default" {
		pattern := strings.NewReplacer("%Y", "yyyy", "%y", "yy", "%m", "MM", "%d", "dd", "%b", "MMM", "%H", "HH", "%M", "mm", "%S", "ss", "%%", "%").Replace(f.Format)
		return map[string]any{"base": base, "format": pattern}
	}
	return base
}

var csvwName = regexp.MustCompile(`[^A-Za-z0-9_]+`)

func (s *Site) csvMetadata(c *fiber.Ctx) error {
	d, r, err := s.metadataRelease(c)
	if err != nil {
		return err
	}
	files, res, err := publicResources(r)
	if err != nil {
		return err
	}
	base := c.BaseURL()
	licence, _ := catalogue.LookupLicence(d.Licence)
	var tables []map[string]any
	for i, f := range files {
		var columns []map[string]any
		names := map[string]string{}
		for j, fld := range res[i].Schema.Fields {
			name := strings.Trim(csvwName.ReplaceAllString(fld.Name, "_"), "_")
			if name == "" || names[name] != "" {
				name = fmt.Sprintf("column_%d", j+1)
			}
			names[name] = fld.Name
			col := map[string]any{"name": name, "titles": fld.Name, "datatype": csvwDatatype(fld), "null": missingOf(res[i].Schema, fld)}
			if fld.Description != "" {
				col["dc:description"] = fld.Description
			}
			if fld.Constraints.Required {
				col["required"] = true
			}
			columns = append(columns, col)
		}
		delimiter := res[i].Dialect.Delimiter
		if delimiter == "" {
			delimiter = ","
		}
		// CSVW readers skip a byte-order mark themselves; the encoding is
		// the file's.
		encoding := f.Encoding
		if encoding == "" {
			encoding = datasets.EncodingUTF8
		}
		tables = append(tables, map[string]any{"url": base + fileURL(d.Slug, r.Version, f.Name),
			"dialect": map[string]any{"header": true, "delimiter": delimiter, "encoding": encoding}, "tableSchema": map[string]any{"columns": columns},
			"dc:title": res[i].Title})
	}
	meta := map[string]any{
		"@context": []any{"http://www.w3.org/ns/csvw", map[string]any{"@language": "en"}},
		"@id":      base + fmt.Sprintf("/datasets/%s/releases/%d/csv-metadata.json", d.Slug, r.Version),
		"dc:title": r.Title, "dc:publisher": d.Publisher.Name, "dc:license": map[string]any{"@id": licence.URL},
		"tables": tables,
	}
	c.Set("Access-Control-Allow-Origin", "*")
	c.Set(fiber.HeaderContentType, "application/csvm+json")
	raw, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	return c.Send(raw)
}
