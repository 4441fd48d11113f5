package site

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// The filtered-extract form of a release page: choose an organisation, a
// range of periods and a format, and the form leads (303) to the rows
// export that gives exactly those rows (/datasets/{slug}/releases/
// {version}/rows/{file}?eq.…&gte.…&lte.…&format=…). It works without
// JavaScript; the export itself checks every value and answers a bad one
// with a 400 naming it.

// extractForm is one file's form: its organisation field and its period
// field, when it has them.
type extractForm struct {
	Action      string // the extract route
	File        string
	OrgField    string // "" when the file has no organisation field
	PeriodField string // "" when it has no key or dimension of dates
	PeriodType  string
}

func newExtractForm(slug string, version int, file string, schema datasets.Schema) *extractForm {
	f := &extractForm{Action: "/datasets/" + slug + "/releases/" + strconv.Itoa(version) + "/extract", File: file}
	for _, fd := range schema.Fields {
		switch {
		case f.OrgField == "" && fd.Organisation != nil:
			f.OrgField = fd.Name
		case f.PeriodField == "" && (fd.Role == datasets.RoleKey || fd.Role == datasets.RoleDimension) &&
			(fd.Type == datasets.TypeDate || fd.Type == datasets.TypeYear || fd.Type == datasets.TypeYearMonth):
			f.PeriodField, f.PeriodType = fd.Name, string(fd.Type)
		}
	}
	if f.OrgField == "" && f.PeriodField == "" {
		return nil
	}
	return f
}

// extract turns the form's answers into the export's address. Only the
// release's own public files are offered; a file it does not have is 404.
func (s *Site) extract(c *fiber.Ctx) error {
	slug, version := c.Params("slug"), c.Params("version")
	n, err := strconv.Atoi(version)
	if err != nil || n < 1 {
		return errNotFound
	}
	r, err := s.deps.Catalogue.View().Release(c.UserContext(), slug, n)
	if err != nil {
		return err
	}
	if !r.ContentVisible {
		return errNotFound
	}
	name := c.Query("file")
	i := slices.IndexFunc(r.Files, func(f catalogue.File) bool { return f.Name == name })
	if i < 0 {
		return &userError{status: fiber.StatusNotFound, message: "This release has no file " + strconv.Quote(name) + " to extract rows from."}
	}
	var res datasets.Resource
	if err := json.Unmarshal(r.Files[i].Resource, &res); err != nil {
		return err
	}
	form := newExtractForm(slug, n, name, res.Schema)
	if form == nil {
		return badParam("file", name, "it has no organisation or period field to choose rows by; download the whole file instead")
	}
	q := url.Values{}
	if org := strings.TrimSpace(c.Query("organisation")); org != "" && form.OrgField != "" {
		q.Set("eq."+form.OrgField, strings.ToUpper(org))
	}
	if from := strings.TrimSpace(c.Query("from")); from != "" && form.PeriodField != "" {
		q.Set("gte."+form.PeriodField, from)
	}
	if to := strings.TrimSpace(c.Query("to")); to != "" && form.PeriodField != "" {
		q.Set("lte."+form.PeriodField, to)
	}
	switch format := c.Query("format", "csv"); format {
	case "csv", "json", "ndjson":
		q.Set("format", format)
	default:
		return badParam("format", format, "it must be csv, json or ndjson")
	}
	return c.Redirect("/datasets/"+slug+"/releases/"+strconv.Itoa(n)+"/rows/"+url.PathEscape(name)+"?"+q.Encode(), fiber.StatusSeeOther)
}
