package site

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/valyala/fasthttp"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// The public read API under /api/v1: datasets, releases with their files,
// organisations, indicators and their observations, search, and filtered
// rows (the export, as JSON pages). Everything reads the published view.
// Errors are {"error": {"code", "message"}}; lists page with limit and
// offset and say their total; reads are open to any origin (CORS); each
// client is limited to Config.APIRate requests a minute (429 with
// Retry-After beyond it). /api/v1/openapi.json documents it and /api
// explains it to people.

const (
	apiDefaultLimit = 50
	apiMaxLimit     = 500
)

// apiErrors turns a handler's error into the API's error shape.
func (s *Site) apiErrors(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := h(c)
		if err == nil {
			return nil
		}
		var ue *userError
		switch {
		case errors.As(err, &ue):
			code := "bad-parameter"
			if ue.status == http.StatusNotFound {
				code = "not-found"
			}
			return apiProblemJSON(c, ue.status, code, ue.message)
		case errors.Is(err, catalogue.ErrNotFound):
			return apiProblemJSON(c, http.StatusNotFound, "not-found", "There is no such published resource.")
		case errors.Is(err, datasets.ErrUnavailable):
			s.log.Warn("a data store is not answering", "path", c.Path(), "error", err)
			c.Set(fiber.HeaderRetryAfter, "30")
			return apiProblemJSON(c, http.StatusServiceUnavailable, "unavailable", "Some of the figures are kept on a server that is not answering; try again after Retry-After seconds.")
		}
		s.log.Error("api request failed", "path", c.Path(), "error", err)
		return apiProblemJSON(c, http.StatusInternalServerError, "internal", "Something went wrong on our side; try again later.")
	}
}

// paging reads limit and offset.
func paging(c *fiber.Ctx) (limit, offset int, err error) {
	limit, offset = apiDefaultLimit, 0
	if l := c.Query("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > apiMaxLimit {
			return 0, 0, badParam("limit", l, fmt.Sprintf("it must be a whole number from 1 to %d", apiMaxLimit))
		}
	}
	if o := c.Query("offset"); o != "" {
		if offset, err = strconv.Atoi(o); err != nil || offset < 0 || offset > 10_000_000 {
			return 0, 0, badParam("offset", o, "it must be a whole number from 0")
		}
	}
	return limit, offset, nil
}

// setPageLinks gives a paged answer RFC 8288 Link headers (first, prev,
// next, last, each the request's own address with its offset) and
// X-Total-Count.
func setPageLinks(c *fiber.Ctx, total, limit, offset int) {
	link := func(rel string, off int) string {
		args := fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(args)
		c.Context().QueryArgs().CopyTo(args)
		args.Set("limit", strconv.Itoa(limit))
		args.Set("offset", strconv.Itoa(off))
		return "<" + c.BaseURL() + c.Path() + "?" + string(args.QueryString()) + `>; rel="` + rel + `"`
	}
	links := []string{link("first", 0)}
	if offset > 0 {
		links = append(links, link("prev", max(0, offset-limit)))
	}
	if offset+limit < total {
		links = append(links, link("next", offset+limit))
	}
	last := 0
	if total > 0 {
		last = (total - 1) / limit * limit
	}
	links = append(links, link("last", last))
	c.Set("Link", strings.Join(links, ", "))
	c.Set("X-Total-Count", strconv.Itoa(total))
}

type apiDataset struct {
	Slug        string   `json:"slug"`
	Title       string   `json:"title"`
	Summary     string   `json:"summary"`
	Publisher   string   `json:"publisher"`
	Topics      []string `json:"topics"`
	Licence     string   `json:"licence"`
	Attribution string   `json:"attribution"`
	Frequency   string   `json:"frequency,omitempty"`
	Granularity string   `json:"granularity,omitempty"`
	Status      string   `json:"status"`
	URL         string   `json:"url"`
	Latest      *int     `json:"latest_version,omitempty"`
}

func toAPIDataset(d catalogue.Dataset, latest *catalogue.Release) apiDataset {
	out := apiDataset{Slug: d.Slug, Title: d.Title, Summary: d.Summary, Publisher: d.Publisher.Name, Topics: d.Topics, Licence: d.Licence,
		Attribution: d.AttributionStatement(), Frequency: d.Frequency, Granularity: d.Granularity, Status: string(d.Status), URL: "/datasets/" + d.Slug}
	if out.Topics == nil {
		out.Topics = []string{}
	}
	if latest != nil {
		v := latest.Version
		out.Latest = &v
	}
	return out
}

func (s *Site) apiDatasets(c *fiber.Ctx) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	q := catalogue.DatasetQuery{Offset: offset, Limit: limit}
	if st := c.Query("status"); st != "" {
		if !catalogue.DatasetStatus(st).Valid() {
			return badParam("status", st, "it must be planned, published, not-open or withdrawn")
		}
		q.Status = catalogue.DatasetStatus(st)
	}
	page, err := s.deps.Catalogue.View().Datasets(c.UserContext(), q)
	if err != nil {
		return err
	}
	items := []apiDataset{}
	for _, d := range page.Datasets {
		items = append(items, toAPIDataset(d.Dataset, d.Latest))
	}
	setPageLinks(c, page.Total, limit, offset)
	return c.JSON(fiber.Map{"total": page.Total, "limit": limit, "offset": offset, "items": items})
}

type apiReleaseOut struct {
	Version          int          `json:"version"`
	Title            string       `json:"title"`
	Summary          string       `json:"summary,omitempty"`
	Period           string       `json:"period,omitempty"`
	State            string       `json:"state"`
	Published        string       `json:"published,omitempty"`
	Corrects         int          `json:"corrects,omitempty"`
	CorrectionNotice string       `json:"correction_notice,omitempty"`
	WithdrawnReason  string       `json:"withdrawn_reason,omitempty"`
	ChangeNotes      string       `json:"change_notes,omitempty"`
	URL              string       `json:"url"`
	Files            []apiFileOut `json:"files,omitempty"`
}

// apiFileOut is a public file of a release.
type apiFileOut struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Rows   int64  `json:"rows"`
}

func toAPIReleaseOut(slug string, r catalogue.Release) apiReleaseOut {
	out := apiReleaseOut{Version: r.Version, Title: r.Title, Summary: r.Summary, Period: r.PeriodLabel, State: string(r.State),
		Corrects: r.Corrects.Version, CorrectionNotice: r.CorrectionNotice, WithdrawnReason: r.WithdrawnReason, ChangeNotes: r.ChangeNotes,
		URL: fmt.Sprintf("/datasets/%s/releases/%d", slug, r.Version)}
	if !r.PublishedAt.IsZero() {
		out.Published = r.PublishedAt.UTC().Format(time.RFC3339)
	}
	for _, f := range r.Files {
		if f.Role == catalogue.RolePublic {
			out.Files = append(out.Files, apiFileOut{Name: f.Name, URL: fileURL(slug, r.Version, f.Name), SHA256: f.SHA256, Bytes: f.Bytes, Rows: f.Rows})
		}
	}
	return out
}

func (s *Site) apiDataset(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	d, err := v.Dataset(ctx, c.Params("slug"))
	if err != nil {
		return err
	}
	rs, err := v.Releases(ctx, d.ID)
	if err != nil {
		return err
	}
	releases := []apiReleaseOut{}
	var latest *catalogue.Release
	for i, r := range rs {
		releases = append(releases, toAPIReleaseOut(d.Slug, r))
		if r.ContentVisible && (latest == nil || r.Version > latest.Version) {
			latest = &rs[i]
		}
	}
	return c.JSON(fiber.Map{"dataset": toAPIDataset(d, latest), "releases": releases})
}

func (s *Site) apiRelease(c *fiber.Ctx) error {
	d, r, err := s.releaseOf(c)
	if err != nil {
		return err
	}
	return c.JSON(toAPIReleaseOut(d.Slug, r))
}

type apiOrganisation struct {
	Code     string      `json:"code"`
	Name     string      `json:"name"`
	Type     string      `json:"type"`
	Status   string      `json:"status"`
	Postcode string      `json:"postcode,omitempty"`
	Parent   string      `json:"parent,omitempty"`
	Region   string      `json:"region,omitempty"`
	Location *[2]float64 `json:"location,omitempty"` // [latitude, longitude]
	URL      string      `json:"url"`
}

func toAPIOrganisation(o catalogue.Organisation) apiOrganisation {
	out := apiOrganisation{Code: o.Code, Name: o.Name, Type: string(o.Type), Status: string(o.Status), Postcode: o.Postcode,
		Parent: o.ParentCode, Region: o.RegionCode, URL: "/organisations/" + o.Code}
	if o.Location != nil {
		out.Location = &[2]float64{o.Location.Lat, o.Location.Lon}
	}
	return out
}

func (s *Site) apiOrganisations(c *fiber.Ctx) error {
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	q := catalogue.OrganisationQuery{Offset: offset, Limit: limit, Search: c.Query("q")}
	if t := c.Query("type"); t != "" {
		if !catalogue.OrganisationType(t).Valid() {
			return badParam("type", t, "it must be an organisation type such as nhs-trust or gp-practice")
		}
		q.Type = catalogue.OrganisationType(t)
	}
	page, err := s.deps.Catalogue.View().Organisations(c.UserContext(), q)
	if err != nil {
		return err
	}
	items := []apiOrganisation{}
	for _, o := range page.Organisations {
		items = append(items, toAPIOrganisation(o))
	}
	setPageLinks(c, page.Total, limit, offset)
	return c.JSON(fiber.Map{"total": page.Total, "limit": limit, "offset": offset, "items": items})
}

func (s *Site) apiOrganisation(c *fiber.Ctx) error {
	o, err := s.deps.Catalogue.View().Organisation(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return c.JSON(toAPIOrganisation(o))
}

func (s *Site) apiIndicators(c *fiber.Ctx) error {
	visible, err := s.visible(c)
	if err != nil {
		return err
	}
	defs, err := s.deps.Observations.Definitions(c.UserContext(), visible)
	if err != nil {
		return err
	}
	items := []apiIndicatorSummary{}
	for _, d := range defs {
		b := d.Benchmark
		items = append(items, apiIndicatorSummary{ID: d.ID, Title: d.Title, Description: d.Description, Unit: string(d.Unit), Polarity: d.Polarity,
			Method: string(d.Method), URL: "/indicators/" + d.ID, Benchmark: apiBenchmark{Kind: b.Kind, Field: b.Field, Value: b.Value, Label: b.Label,
				EnglandValues: b.EnglandValues, Areas: b.Areas, Notes: b.Notes}})
	}
	return c.JSON(fiber.Map{"total": len(items), "items": items})
}

func (s *Site) apiObservations(c *fiber.Ctx) error {
	def, visible, err := s.publishedIndicator(c)
	if err != nil {
		return err
	}
	limit, offset, err := paging(c)
	if err != nil {
		return err
	}
	// The latest period by default (the indicator page's), or every
	// visible period in period order, each with its recent trend.
	var obs []indicators.Observation
	if c.Query("all-periods") == "true" {
		obs, err = indicators.ReadSeries(c.UserContext(), s.deps.Observations, visible, def.Definition, c.Query("organisation"))
	} else {
		var view indicators.IndicatorView
		view, err = indicators.ReadIndicator(c.UserContext(), s.deps.Observations, visible, def)
		for _, o := range view.Observations {
			if org := c.Query("organisation"); org == "" || o.Organisation == org {
				obs = append(obs, o)
			}
		}
	}
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for i := offset; i < len(obs) && len(items) < limit; i++ {
		items = append(items, observationJSON(def.Definition, obs[i]))
	}
	setPageLinks(c, len(obs), limit, offset)
	return c.JSON(fiber.Map{"indicator": def.ID, "total": len(obs), "limit": limit, "offset": offset, "columns": observationColumns, "items": items})
}

// apiRows is the filtered export as JSON pages, under the API.
func (s *Site) apiRows(c *fiber.Ctx) error {
	if c.Query("format") == "" {
		c.Request().URI().QueryArgs().Set("format", "json")
	}
	return s.rowsExport(c)
}

// apiRateLimit limits each client (by address) to perMinute requests a
// minute; 0 turns it off.
func (s *Site) apiRateLimit(perMinute int) fiber.Handler {
	if perMinute <= 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return limiter.New(limiter.Config{
		Max: perMinute, Expiration: time.Minute, KeyGenerator: s.clientAddress,
		LimitReached: func(c *fiber.Ctx) error {
			return apiProblemJSON(c, http.StatusTooManyRequests, "rate-limited",
				fmt.Sprintf("At most %d requests a minute from one client; wait for the time Retry-After gives.", perMinute))
		},
	})
}
