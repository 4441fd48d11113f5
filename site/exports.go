package site

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// Filtered exports: any published file's rows, narrowed by equality or
// range on its key and dimension fields, as CSV, JSON or NDJSON,
//
//	/datasets/{slug}/releases/{version}/rows/{file}?eq.Org+Code=RR8&gte.Period=2020&format=csv
//
// streamed from the row store in constant memory at any size. eq.F may be
// repeated (any of the values); gte.F and lte.F compare by the field's
// type (numbers as numbers, dates as dates). JSON comes in pages with a
// keyset cursor (after = the last row number); CSV and NDJSON stream every
// matching row. Codes stay strings; a suppressed cell is exported as its
// marker, with a note, never as zero. The format is the format parameter,
// or else the Accept header.

const (
	jsonPageDefault = 1000
	jsonPageMax     = 10000
)

// rowFilter is one condition on a field.
type rowFilter struct {
	field int
	op    string // eq, gte, lte
	vals  []datasets.Value
}

type export struct {
	Dataset catalogue.Dataset
	Release catalogue.Release
	File    catalogue.File
	Schema  datasets.Schema
	Filters []rowFilter
	Format  string
	Limit   int
	After   int64
}

// compareValues orders two parsed values of one field: by number, by
// time, else by text.
func compareValues(a, b datasets.Value) int {
	switch {
	case (a.Kind == datasets.KindInteger || a.Kind == datasets.KindNumber) && (b.Kind == datasets.KindInteger || b.Kind == datasets.KindNumber):
		switch {
		case a.Float < b.Float:
			return -1
		case a.Float > b.Float:
			return 1
		}
		return 0
	case a.Kind == datasets.KindDate && b.Kind == datasets.KindDate:
		return a.Time.Compare(b.Time)
	}
	return strings.Compare(a.Text, b.Text)
}

func (f rowFilter) match(v datasets.Value) bool {
	if v.Kind == datasets.KindSuppressed || v.Kind == datasets.KindMissing {
		return false
	}
	switch f.op {
	case "eq":
		return slices.ContainsFunc(f.vals, func(w datasets.Value) bool { return compareValues(v, w) == 0 })
	case "gte":
		return compareValues(v, f.vals[0]) >= 0
	default:
		return compareValues(v, f.vals[0]) <= 0
	}
}

var exportTypes = map[string]string{"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson"}

// parseExport reads the request; every mistake is a 400 naming the
// parameter.
func (s *Site) parseExport(c *fiber.Ctx) (export, error) {
	ctx := c.UserContext()
	var e export
	version, err := parseVersion(c)
	if err != nil {
		return e, err
	}
	name, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return e, errNotFound
	}
	v := s.deps.Catalogue.View()
	if e.Dataset, err = v.Dataset(ctx, c.Params("slug")); err != nil {
		return e, err
	}
	if e.Release, e.File, err = v.File(ctx, e.Dataset.Slug, version, name); err != nil {
		return e, err
	}
	var res datasets.Resource
	if err := json.Unmarshal(e.File.Resource, &res); err != nil {
		return e, err
	}
	e.Schema = res.Schema
	e.Format = c.Query("format")
	if e.Format == "" {
		accept := c.Get(fiber.HeaderAccept)
		switch {
		case accept == "" || strings.Contains(accept, "*/*") || strings.Contains(accept, "text/csv"):
			e.Format = "csv"
		case strings.Contains(accept, "application/x-ndjson"):
			e.Format = "ndjson"
		case strings.Contains(accept, "application/json"):
			e.Format = "json"
		default:
			return e, &userError{status: http.StatusBadRequest, message: fmt.Sprintf(
				"The Accept header %q names no format this export offers: text/csv, application/json or application/x-ndjson (or use the format parameter).", accept)}
		}
	}
	if _, ok := exportTypes[e.Format]; !ok {
		return e, badParam("format", e.Format, "it must be csv, json or ndjson")
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		max := 1 << 30
		if e.Format == "json" {
			max = jsonPageMax
		}
		if err != nil || n < 1 || n > max {
			return e, badParam("limit", l, fmt.Sprintf("it must be a whole number from 1 to %d", max))
		}
		e.Limit = n
	} else if e.Format == "json" {
		e.Limit = jsonPageDefault
	}
	if a := c.Query("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			return e, badParam("after", a, "it must be a row number, as the previous page's next link gives")
		}
		e.After = n
	}
	var problem error
	c.Context().QueryArgs().VisitAll(func(k, raw []byte) {
		if problem != nil {
			return
		}
		e.Filters, problem = addRowFilter(e.Schema, e.Filters, string(k), string(raw))
	})
	return e, problem
}

// addRowFilter adds the filter that the query parameter key=raw of an
// export asks for to filters and returns them; the export's own
// parameters (format, limit, after) leave filters as they are. A parameter
// that is not a filter on one of the schema's key or dimension fields, or
// whose value is not a value of the field, is a 400 naming it. It reads
// nothing but its arguments.
func addRowFilter(schema datasets.Schema, filters []rowFilter, key, raw string) ([]rowFilter, error) {
	switch key {
	case "format", "limit", "after":
		return filters, nil
	}
	op, field, ok := strings.Cut(key, ".")
	if !ok || (op != "eq" && op != "gte" && op != "lte") {
		return filters, badParam(key, raw, "filters are eq.FIELD, gte.FIELD or lte.FIELD (with format, limit and after); this is none of them")
	}
	i := schema.FieldIndex(field)
	if i < 0 {
		return filters, badParam(key, raw, fmt.Sprintf("the file has no field %q (its fields are %s)", field, strings.Join(schema.FieldNames(), ", ")))
	}
	f := schema.Fields[i]
	if f.Role != datasets.RoleKey && f.Role != datasets.RoleDimension && f.Organisation == nil {
		return filters, badParam(key, raw, fmt.Sprintf("%q is not a key or dimension field, so it cannot filter", field))
	}
	val, err := f.Parse(raw, nil)
	if err != nil || val.Kind == datasets.KindSuppressed {
		return filters, badParam(key, raw, fmt.Sprintf("it is not a value of %q (a %s)", field, typeName(f)))
	}
	j := slices.IndexFunc(filters, func(r rowFilter) bool { return r.field == i && r.op == op })
	switch {
	case j >= 0 && op == "eq":
		filters[j].vals = append(filters[j].vals, val)
	case j >= 0:
		return filters, badParam(key, raw, "give each range bound once")
	default:
		filters = append(filters, rowFilter{field: i, op: op, vals: []datasets.Value{val}})
	}
	return filters, nil
}

func typeName(f datasets.Field) string {
	if f.Type == "" {
		return "string"
	}
	return string(f.Type)
}

// suppressionNote says what a suppressed cell's marker means.
func suppressionNote(s datasets.Schema) string {
	var markers []string
	for _, f := range s.Fields {
		for _, m := range f.Suppressed {
			if !slices.Contains(markers, m) {
				markers = append(markers, m)
			}
		}
	}
	if len(markers) == 0 {
		return ""
	}
	return fmt.Sprintf("Cells shown as %s were suppressed by disclosure control: the value is withheld, not zero.", strings.Join(markers, " or "))
}

// jsonValue is a cell as JSON: numbers for numeric fields, the marker
// text for a suppressed cell, null when missing, text otherwise (codes
// stay strings).
func jsonValue(f datasets.Field, cell string, missing []string) any {
	v, err := f.Parse(cell, missing)
	if err != nil {
		return cell
	}
	switch v.Kind {
	case datasets.KindMissing:
		return nil
	case datasets.KindInteger:
		return v.Int
	case datasets.KindNumber:
		return v.Float
	case datasets.KindBoolean:
		return v.Bool
	}
	return cell
}

// storeQuery turns an export's filters into a row-store query: equality
// on text fields and numeric ranges (and single equalities) on integer and
// number fields run in the store, which skips whole blocks by their
// summaries; the rest (dates, years, periods, several numeric values) are
// checked by keep, nil when nothing is left to check. A numeric field
// whose suppression marker or missing value reads as a number stays with
// keep, since the store cannot tell such a cell from a value.
func storeQuery(e export, ref datasets.FileRef) (datasets.RowQuery, func([]string) bool, error) {
	q := datasets.RowQuery{File: ref, After: e.After}
	missing := e.Schema.MissingValues
	numericSafe := func(f datasets.Field) bool {
		for _, m := range append(slices.Clone(f.Suppressed), missing...) {
			if _, ok := datasets.ParseDecimal(m); ok {
				return false
			}
		}
		return true
	}
	type check struct {
		f     rowFilter
		parse func(string, []string) (datasets.Value, error)
	}
	var rest []check
	for _, f := range e.Filters {
		field := e.Schema.Fields[f.field]
		switch t := field.Type; {
		case f.op == "eq" && (t == "" || t == datasets.TypeString):
			if q.Equal == nil {
				q.Equal = map[int][]string{}
			}
			for _, v := range f.vals {
				q.Equal[f.field] = append(q.Equal[f.field], v.Text)
			}
			continue
		case (t == datasets.TypeInteger || t == datasets.TypeNumber) && numericSafe(field) && (f.op != "eq" || len(f.vals) == 1):
			if q.Within == nil {
				q.Within = map[int]datasets.Range{}
			}
			r, ok := q.Within[f.field]
			if !ok {
				r = datasets.Range{Min: math.Inf(-1), Max: math.Inf(1)}
			}
			x := f.vals[0].Float
			if f.op != "lte" {
				r.Min = max(r.Min, x)
			}
			if f.op != "gte" {
				r.Max = min(r.Max, x)
			}
			q.Within[f.field] = r
			continue
		}
		parse, err := field.Parser()
		if err != nil {
			return q, nil, err
		}
		rest = append(rest, check{f, parse})
	}
	if len(rest) == 0 {
		return q, nil, nil
	}
	return q, func(cells []string) bool {
		for _, c := range rest {
			if c.f.field >= len(cells) {
				return false
			}
			v, err := c.parse(cells[c.f.field], missing)
			if err != nil || !c.f.match(v) {
				return false
			}
		}
		return true
	}, nil
}

// exportStreams is how many filtered exports may stream at once: half the
// requests in flight (at least one). An export reads its rows after its
// handler has returned and its turn in shedLoad is given back, so without
// a bound of its own a crowd of exports would read the row store beyond
// the concurrency limit. An export keeps its turn until its last byte is
// sent: a client that reads slowly holds one, and when all are held the
// next export waits the queue wait and is answered 503 with Retry-After
// while every other page is served as usual.
func exportStreams(maxInFlight int) int { return max(1, maxInFlight/2) }

func (s *Site) rowsExport(c *fiber.Ctx) error {
	e, err := s.parseExport(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	visible, err := s.visible(c)
	if err != nil {
		return err
	}
	names := e.Schema.FieldNames()
	missing := e.Schema.MissingValues
	ref := datasets.FileRef{Release: e.Release.ID, File: e.File.Name}
	q, keep, err := storeQuery(e, ref)
	if err != nil {
		return err
	}
	licence, _ := catalogue.LookupLicence(e.Dataset.Licence)
	c.Set("Access-Control-Allow-Origin", "*")
	if licence.URL != "" {
		c.Set("Link", "<"+licence.URL+`>; rel="license"`)
	}
	note := suppressionNote(e.Schema)
	if note != "" {
		c.Set("X-Candour-Note", note)
	}
	base := fmt.Sprintf("/datasets/%s/releases/%d/rows/%s", e.Dataset.Slug, e.Release.Version, url.PathEscape(e.File.Name))

	if e.Format == "json" {
		p := rowsPage{Dataset: e.Dataset.Slug, Version: e.Release.Version, File: e.File.Name, Licence: licence.Title,
			Attribution: e.Dataset.AttributionStatement(), Note: note, Fields: names, Rows: []map[string]any{}}
		var last int64
		full := false
		for row, err := range s.deps.Rows.Rows(ctx, visible, q) {
			if err != nil {
				return err
			}
			if keep != nil && !keep(row.Cells) {
				continue
			}
			if len(p.Rows) == e.Limit {
				full = true
				break
			}
			m := make(map[string]any, len(names))
			for i, f := range e.Schema.Fields {
				if i < len(row.Cells) {
					m[f.Name] = jsonValue(f, row.Cells[i], missing)
				}
			}
			p.Rows = append(p.Rows, m)
			last = row.Number
		}
		if full {
			next := c.Request().URI().QueryArgs()
			params := url.Values{}
			next.VisitAll(func(k, v []byte) { params.Add(string(k), string(v)) })
			params.Set("after", strconv.FormatInt(last, 10))
			params.Set("format", "json")
			p.Next = base + "?" + params.Encode()
		}
		return c.JSON(p)
	}

	if !s.exportTurns.take() {
		return s.busy(c)
	}
	turns := s.exportTurns
	c.Set(fiber.HeaderContentType, exportTypes[e.Format]+"; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-v%d-%s-filtered.%s"`, e.Dataset.Slug, e.Release.Version,
		strings.TrimSuffix(e.File.Name, ".csv"), e.Format))
	limit := e.Limit
	rowsIter := s.deps.Rows.Rows
	fields := e.Schema.Fields
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer turns.give()
		// The request's context ends when the handler returns, before the
		// body streams; a client that goes away ends the stream by a
		// failed write instead.
		ctx := context.Background()
		written := 0
		var cw *datasets.Writer
		if e.Format == "csv" {
			var err error
			if cw, err = datasets.NewWriter(w, names); err != nil {
				return
			}
			cw.SpreadsheetSafe(numericFields(fields))
		}
		enc := json.NewEncoder(w)
		start := time.Now()
		for row, err := range rowsIter(ctx, visible, q) {
			if err != nil {
				return // the response is already under way: it ends short, and the client sees no final newline
			}
			if keep != nil && !keep(row.Cells) {
				continue
			}
			if limit > 0 && written == limit {
				break
			}
			if cw != nil {
				if cw.Write(row.Cells) != nil {
					return
				}
			} else {
				m := make(map[string]any, len(fields))
				for i, f := range fields {
					if i < len(row.Cells) {
						m[f.Name] = jsonValue(f, row.Cells[i], missing)
					}
				}
				if enc.Encode(m) != nil {
					return
				}
			}
			written++
		}
		if cw != nil {
			cw.Close()
		}
		s.log.Debug("export streamed", "file", e.File.Name, "rows", written, "took", time.Since(start))
	})
	return nil
}

// rowsPage is one JSON page of a filtered export.
type rowsPage struct {
	Dataset     string           `json:"dataset"`
	Version     int              `json:"version"`
	File        string           `json:"file"`
	Licence     string           `json:"licence"`
	Attribution string           `json:"attribution"`
	Note        string           `json:"note,omitempty"`
	Fields      []string         `json:"fields"`
	Rows        []map[string]any `json:"rows"`
	Next        string           `json:"next,omitempty"`
}
