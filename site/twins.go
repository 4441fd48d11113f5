package site

import (
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// CSV and JSON twins of the paged lists: the same rows, every page of
// them, for ?format=csv or ?format=json (the dataset and organisation
// lists with their filters, the release calendar). Pages built around one
// table get theirs through tabular (tables.go); audits, the register,
// changes and exports have their own downloads.

// twinFormat reads ?format: "" for the page itself.
func twinFormat(c *fiber.Ctx) (string, error) {
	switch f := c.Query("format"); f {
	case "", "html":
		return "", nil
	case "csv", "json":
		return f, nil
	default:
		return "", badParam("format", f, "it must be html, csv or json")
	}
}

// writeTwin writes rows as CSV, or as JSON objects keyed by the header.
func writeTwin(c *fiber.Ctx, format, name string, header []string, rows [][]string) error {
	c.Set("Access-Control-Allow-Origin", "*")
	c.Set("Link", `<https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/>; rel="license"`)
	if format == "json" {
		items := make([]map[string]string, 0, len(rows))
		for _, r := range rows {
			m := make(map[string]string, len(header))
			for i, h := range header {
				if i < len(r) {
					m[h] = r[i]
				}
			}
			items = append(items, m)
		}
		raw, err := json.Marshal(map[string]any{"columns": header, "total": len(rows), "items": items})
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/json")
		return c.Send(raw)
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	w, err := datasets.NewWriter(c.Response().BodyWriter(), header)
	if err != nil {
		return err
	}
	w.SpreadsheetSafe(nil)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return w.Close()
}

func (s *Site) datasetsTwin(c *fiber.Ctx, format string, status catalogue.DatasetStatus) error {
	v := s.deps.Catalogue.View()
	var rows [][]string
	for offset := 0; ; offset += 500 {
		page, err := v.Datasets(c.UserContext(), catalogue.DatasetQuery{Status: status, Offset: offset, Limit: 500})
		if err != nil {
			return err
		}
		for _, d := range page.Datasets {
			latest, published := "", ""
			if d.Latest != nil {
				latest, published = fmt.Sprint(d.Latest.Version), d.Latest.PublishedAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			rows = append(rows, []string{d.Slug, d.Title, d.Publisher.Name, string(d.Status), d.Licence, d.Frequency, d.Granularity,
				fmt.Sprint(d.Releases), latest, published, "/datasets/" + d.Slug})
		}
		if offset+500 >= page.Total {
			break
		}
	}
	return writeTwin(c, format, "datasets", []string{"slug", "title", "publisher", "status", "licence", "frequency", "granularity",
		"releases", "latest_version", "latest_published", "url"}, rows)
}

func (s *Site) organisationsTwin(c *fiber.Ctx, format string, q catalogue.OrganisationQuery) error {
	v := s.deps.Catalogue.View()
	var rows [][]string
	for offset := 0; ; offset += 5000 {
		q.Offset, q.Limit = offset, 5000
		page, err := v.Organisations(c.UserContext(), q)
		if err != nil {
			return err
		}
		for _, o := range page.Organisations {
			rows = append(rows, []string{o.Code, o.Name, string(o.Type), string(o.Status), o.Postcode, o.ParentCode, o.RegionCode,
				o.Opened.String(), o.Closed.String(), "/organisations/" + o.Code})
		}
		if offset+5000 >= page.Total {
			break
		}
	}
	return writeTwin(c, format, "organisations", []string{"code", "name", "type", "status", "postcode", "parent", "region", "opened", "closed", "url"}, rows)
}

func calendarTwin(c *fiber.Ctx, format string, entries []catalogue.CalendarEntry) error {
	var rows [][]string
	for _, e := range entries {
		confirmed := ""
		if !e.ConfirmedAt.IsZero() {
			confirmed = e.ConfirmedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		changes := ""
		for i, ch := range e.Changes {
			if i > 0 {
				changes += "; "
			}
			changes += ch.From + " → " + ch.To + ": " + ch.Reason
		}
		rows = append(rows, []string{e.Dataset.Slug, e.Dataset.Title, e.PeriodLabel, string(e.Status), e.ProvisionalMonth, confirmed, changes})
	}
	return writeTwin(c, format, "release-calendar", []string{"dataset", "dataset_title", "period", "status", "provisional_month", "confirmed", "date_changes"}, rows)
}

// numericFields marks the fields whose values are numbers, which
// spreadsheet-safe CSV leaves as they are.
func numericFields(fields []datasets.Field) []bool {
	out := make([]bool, len(fields))
	for i, f := range fields {
		out[i] = f.Type == datasets.TypeInteger || f.Type == datasets.TypeNumber
	}
	return out
}
