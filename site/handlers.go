package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/content"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/publisher"
)

const perPage = 50

func (s *Site) healthz(c *fiber.Ctx) error {
	// A catalogue read proves the database answers.
	if _, err := s.deps.Catalogue.View().Datasets(c.UserContext(), catalogue.DatasetQuery{Limit: 1}); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"status": "ok"})
}

// pageNumber reads ?page=, 1 by default.
func pageNumber(c *fiber.Ctx) (int, error) {
	v := c.Query("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		return 0, badParam("page", v, "it must be a whole number from 1")
	}
	return n, nil
}

// pager describes pagination links.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string // URLs, "" when none
}

func newPager(c *fiber.Ctx, page, total int) pager {
	p := pager{Page: page, Total: total, Pages: (total + perPage - 1) / perPage}
	link := func(n int) string {
		q := url.Values{}
		c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) { q.Set(string(k), string(v)) })
		q.Set("page", strconv.Itoa(n))
		return c.Path() + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < p.Pages {
		p.Next = link(page + 1)
	}
	return p
}

type homePage struct {
	layout
	Published, Listed int
	Latest            []catalogue.Release
	Trusts, Practices int
	Organisations     int
}

func (s *Site) home(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	page := homePage{layout: s.layout(c, "Health and care data, published openly")}
	all, err := v.Datasets(ctx, catalogue.DatasetQuery{Limit: 1})
	if err != nil {
		return err
	}
	page.Listed = all.Total
	published, err := v.Datasets(ctx, catalogue.DatasetQuery{Status: catalogue.DatasetPublished, Limit: 1})
	if err != nil {
		return err
	}
	page.Published = published.Total
	if page.Latest, err = v.LatestReleases(ctx, 5); err != nil {
		return err
	}
	counts, err := v.OrganisationCounts(ctx)
	if err != nil {
		return err
	}
	for _, n := range counts {
		page.Organisations += n.Count
		if n.Status != catalogue.StatusActive {
			continue
		}
		switch n.Type {
		case catalogue.TypeNHSTrust:
			page.Trusts += n.Count
		case catalogue.TypeGPPractice:
			page.Practices += n.Count
		}
	}
	return s.render(c, "home", page)
}

type statusFilter struct {
	Status catalogue.DatasetStatus
	Label  string
	Href   string
	Count  int
	Active bool
}

type datasetsPage struct {
	layout
	Datasets []catalogue.DatasetSummary
	Filters  []statusFilter
	Status   catalogue.DatasetStatus
	Pager    pager
}

func (s *Site) datasetList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	status := catalogue.DatasetStatus(c.Query("status"))
	if status != "" && !status.Valid() {
		return badParam("status", string(status), "use published, planned, not-open or withdrawn")
	}
	if format, err := twinFormat(c); err != nil {
		return err
	} else if format != "" {
		return s.datasetsTwin(c, format, status)
	}
	n, err := pageNumber(c)
	if err != nil {
		return err
	}
	list, err := v.Datasets(ctx, catalogue.DatasetQuery{Status: status, Offset: (n - 1) * perPage, Limit: perPage})
	if err != nil {
		return err
	}
	page := datasetsPage{layout: s.layout(c, "Datasets", crumb{"/", "Home"}), Datasets: list.Datasets, Status: status,
		Pager: newPager(c, n, list.Total)}
	all, err := v.Datasets(ctx, catalogue.DatasetQuery{Limit: 1})
	if err != nil {
		return err
	}
	page.Filters = append(page.Filters, statusFilter{Label: "All", Href: "/datasets", Count: all.Total, Active: status == ""})
	for _, st := range catalogue.DatasetStatuses {
		p, err := v.Datasets(ctx, catalogue.DatasetQuery{Status: st, Limit: 1})
		if err != nil {
			return err
		}
		page.Filters = append(page.Filters, statusFilter{Status: st, Label: st.Label(), Href: "/datasets?status=" + string(st),
			Count: p.Total, Active: status == st})
	}
	return s.render(c, "datasets", page)
}

type datasetPage struct {
	layout
	Dataset     catalogue.Dataset
	Description template.HTML
	Licence     catalogue.Licence
	Releases    []catalogue.Release
	Latest      *catalogue.Release
	// ChangedFrom gives, by version, the version before it that "what
	// changed" compares it with (consecutive public releases of one file).
	ChangedFrom map[int]int
	// JSONLD is the schema.org Dataset description search engines read.
	JSONLD template.JS
}

func (s *Site) dataset(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	d, err := v.Dataset(ctx, c.Params("slug"))
	if err != nil {
		return err
	}
	releases, err := v.Releases(ctx, d.ID)
	if err != nil {
		return err
	}
	desc, err := content.Markdown(d.Description)
	if err != nil {
		return err
	}
	licence, _ := catalogue.LookupLicence(d.Licence)
	page := datasetPage{layout: s.layout(c, d.Title, crumb{"/", "Home"}, crumb{"/datasets", "Datasets"}),
		Dataset: d, Description: desc, Licence: licence, Releases: releases}
	page.Feeds = append(feedLinksFor(feedFilter{Dataset: d.Slug}, d.Title+": new releases"), page.Feeds...)
	for i := range releases {
		if releases[i].ContentVisible {
			page.Latest = &releases[i]
			break
		}
	}
	if page.ChangedFrom, err = s.consecutiveChanges(c, d.Slug, releases); err != nil {
		return err
	}
	var latest *catalogue.Release
	if page.Latest != nil {
		if r, err := v.Release(ctx, d.Slug, page.Latest.Version); err == nil {
			latest = &r
		}
	}
	if page.JSONLD, err = schemaOrgDataset(c.BaseURL(), d, licence, latest); err != nil {
		return err
	}
	return s.render(c, "dataset", page)
}

// consecutiveChanges pairs each public release (newest first) with the
// public one before it when the two can be compared cell by cell.
func (s *Site) consecutiveChanges(c *fiber.Ctx, slug string, releases []catalogue.Release) (map[int]int, error) {
	v := s.deps.Catalogue.View()
	var public []catalogue.Release
	for _, r := range releases {
		if !r.ContentVisible {
			continue
		}
		full, err := v.Release(c.UserContext(), slug, r.Version)
		if err != nil {
			return nil, err
		}
		public = append(public, full)
	}
	out := map[int]int{}
	for i := 0; i+1 < len(public); i++ {
		if comparable(public[i+1], public[i]) {
			out[public[i].Version] = public[i+1].Version
		}
	}
	return out, nil
}

// column describes one field of a file for readers.
type column struct {
	Name, Type, Description, Role string
	Suppressed                    string
}

type fileView struct {
	catalogue.File
	URL     string
	Columns []column
	// Extract is the file's filtered-extract form, nil for a file with
	// nothing to filter by or whose rows are not yet public.
	Extract *extractForm
}

type releasePage struct {
	layout
	Release     catalogue.Release
	Dataset     catalogue.Dataset
	Licence     catalogue.Licence
	ChangeNotes template.HTML
	Files       []fileView
	Preview     *preview
	// Record is who approved the release and who saw it before
	// publication.
	Record publisher.PublicRecord
	// Previous is the newest earlier published version (0 if none), for
	// the cell-level difference.
	Previous int
	// Manifest is the release's JSON manifest.
	Manifest string
}

type preview struct {
	File    string
	Header  []string
	Rows    [][]string
	Shown   int
	Total   int64
	FileURL string
}

const previewRows = 10

func parseVersion(c *fiber.Ctx) (int, error) {
	v := c.Params("version")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || strconv.Itoa(n) != v {
		return 0, errNotFound
	}
	return n, nil
}

func fileURL(slug string, version int, name string) string {
	return "/datasets/" + slug + "/releases/" + strconv.Itoa(version) + "/files/" + url.PathEscape(name)
}

func (s *Site) release(c *fiber.Ctx) error {
	if c.Params("version") == "latest" {
		return s.latest(c, "")
	}
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	version, err := parseVersion(c)
	if err != nil {
		return err
	}
	slug := c.Params("slug")
	d, err := v.Dataset(ctx, slug)
	if err != nil {
		return err
	}
	r, err := v.Release(ctx, slug, version)
	if err != nil {
		return err
	}
	notes, err := content.Markdown(r.ChangeNotes)
	if err != nil {
		return err
	}
	licence, _ := catalogue.LookupLicence(d.Licence)
	page := releasePage{
		layout:  s.layout(c, r.Title, crumb{"/", "Home"}, crumb{"/datasets", "Datasets"}, crumb{"/datasets/" + d.Slug, d.Title}),
		Release: r, Dataset: d, Licence: licence, ChangeNotes: notes,
	}
	if page.Record, err = s.deps.Publisher.ReleaseRecord(ctx, v, slug, version); err != nil {
		return err
	}
	page.Manifest = fmt.Sprintf("/datasets/%s/releases/%d/manifest.json", slug, version)
	if all, err := v.Releases(ctx, d.ID); err == nil {
		for _, other := range all {
			if other.ContentVisible && other.Version < r.Version && other.Version > page.Previous {
				page.Previous = other.Version
			}
		}
		if page.Previous > 0 {
			if prev, err := v.Release(ctx, slug, page.Previous); err != nil || !comparable(prev, r) {
				page.Previous = 0 // no cell-level difference to offer
			}
		}
	}
	for _, f := range r.Files {
		fv := fileView{File: f, URL: fileURL(slug, version, f.Name)}
		var res datasets.Resource
		if err := json.Unmarshal(f.Resource, &res); err != nil {
			return fmt.Errorf("release %d file %s: resource descriptor: %w", r.ID, f.Name, err)
		}
		for _, fd := range res.Schema.Fields {
			fv.Columns = append(fv.Columns, column{Name: fd.Name, Type: string(fd.Type), Description: fd.Description,
				Role: string(fd.Role), Suppressed: strings.Join(fd.Suppressed, " ")})
		}
		if r.ContentVisible {
			fv.Extract = newExtractForm(slug, version, f.Name, res.Schema)
		}
		page.Files = append(page.Files, fv)
	}
	if r.ContentVisible && len(page.Files) > 0 {
		first := page.Files[0]
		p := &preview{File: first.Name, Total: first.Rows, FileURL: first.URL}
		for _, col := range first.Columns {
			p.Header = append(p.Header, col.Name)
		}
		// The view said this release's content is visible; the row store is
		// told exactly that set.
		visible := datasets.NewVisible(r.ID)
		for row, err := range s.deps.Rows.Rows(ctx, visible, datasets.RowQuery{
			File: datasets.FileRef{Release: r.ID, File: first.Name}, Limit: previewRows}) {
			if err != nil {
				return err
			}
			p.Rows = append(p.Rows, row.Cells)
		}
		p.Shown = len(p.Rows)
		page.Preview = p
	}
	return s.render(c, "release", page)
}

type typeFilter struct {
	Type   catalogue.OrganisationType
	Label  string
	Href   string
	Open   int
	All    int
	Active bool
}

type organisationsPage struct {
	layout
	Organisations []catalogue.Organisation
	Types         []typeFilter
	Type          catalogue.OrganisationType
	Status        catalogue.OrganisationStatus
	Heading       string
	Pager         pager
}

func (s *Site) organisationList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	typ := catalogue.OrganisationType(c.Query("type"))
	if typ != "" && !typ.Valid() {
		return badParam("type", string(typ), "use one of the types listed on the organisations page")
	}
	status := catalogue.OrganisationStatus(c.Query("status"))
	if status != "" && !status.Valid() {
		return badParam("status", string(status), "use active, closed, dormant, proposed or unknown")
	}
	if format, err := twinFormat(c); err != nil {
		return err
	} else if format != "" {
		return s.organisationsTwin(c, format, catalogue.OrganisationQuery{Type: typ, Status: status})
	}
	n, err := pageNumber(c)
	if err != nil {
		return err
	}
	list, err := v.Organisations(ctx, catalogue.OrganisationQuery{Type: typ, Status: status, Offset: (n - 1) * perPage, Limit: perPage})
	if err != nil {
		return err
	}
	counts, err := v.OrganisationCounts(ctx)
	if err != nil {
		return err
	}
	byType := map[catalogue.OrganisationType]*typeFilter{}
	page := organisationsPage{layout: s.layout(c, "Organisations", crumb{"/", "Home"}), Organisations: list.Organisations,
		Type: typ, Status: status, Pager: newPager(c, n, list.Total)}
	for _, t := range catalogue.OrganisationTypes {
		byType[t] = &typeFilter{Type: t, Label: t.Plural(), Href: "/organisations?type=" + string(t), Active: t == typ}
	}
	for _, cnt := range counts {
		f, ok := byType[cnt.Type]
		if !ok {
			continue
		}
		f.All += cnt.Count
		if cnt.Status == catalogue.StatusActive {
			f.Open += cnt.Count
		}
	}
	for _, t := range catalogue.OrganisationTypes {
		if byType[t].All > 0 {
			page.Types = append(page.Types, *byType[t])
		}
	}
	page.Heading = "Organisations"
	if typ != "" {
		page.Heading = typ.Plural()
	}
	if status != "" {
		page.Heading += ": " + strings.ToLower(status.Label())
	}
	page.Title = page.Heading
	return s.render(c, "organisations", page)
}

type organisationPage struct {
	layout
	Organisation catalogue.Organisation
	Parent       *catalogue.Organisation
	Region       *catalogue.Organisation
	Successor    *catalogue.Organisation
	Releases     []catalogue.Release
	Scorecard    indicators.Scorecard
	Sparklines   map[string]string // indicator id → chart options
	// Published is when each release behind the scorecard was published
	// (its freshness), by release id.
	Published map[int64]time.Time
	// AuditLinks lead to its clinical audit results.
	AuditLinks []auditLink
	// Headline answers "how does it compare?" in a sentence or two.
	Headline string
	// Feedback is "What patients say" (feedback.go); nil when there is none.
	Feedback *feedbackSection
}

func (s *Site) organisation(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	o, err := v.Organisation(ctx, c.Params("code"))
	if err != nil {
		return err
	}
	title := catalogue.TitleCase(o.Name)
	if title == "" {
		title = o.Type.Label() + " " + o.Code
	}
	page := organisationPage{layout: s.layout(c, title, crumb{"/", "Home"}, crumb{"/organisations", "Organisations"},
		crumb{"/organisations?type=" + string(o.Type), o.Type.Plural()}), Organisation: o}
	related := func(code string) (*catalogue.Organisation, error) {
		if code == "" {
			return nil, nil
		}
		r, err := v.Organisation(ctx, code)
		if errors.Is(err, catalogue.ErrNotFound) {
			return &catalogue.Organisation{Code: code}, nil
		}
		if err != nil {
			return nil, err
		}
		return &r, nil
	}
	if page.Parent, err = related(o.ParentCode); err != nil {
		return err
	}
	if page.Region, err = related(o.RegionCode); err != nil {
		return err
	}
	if page.Successor, err = related(o.SuccessorCode); err != nil {
		return err
	}
	if page.Releases, err = v.ReleasesMentioning(ctx, o.Code); err != nil {
		return err
	}
	visible, err := s.visible(c)
	if err != nil {
		return err
	}
	if page.Scorecard, err = indicators.BuildScorecard(ctx, s.deps.Observations, visible, o.Code); err != nil {
		return err
	}
	if page.AuditLinks, err = s.auditLinks(c, visible, o.Code); err != nil {
		return err
	}
	page.Published = map[int64]time.Time{}
	for _, l := range page.Scorecard.Lines {
		if _, seen := page.Published[l.Latest.Release]; seen || l.Latest.Dataset == "" {
			continue
		}
		if r, err := v.Release(ctx, l.Latest.Dataset, l.Latest.Version); err == nil {
			page.Published[l.Latest.Release] = r.PublishedAt
		}
	}
	page.Sparklines = map[string]string{}
	for _, l := range page.Scorecard.Lines {
		if chart := sparkline(l); chart != "" {
			page.Sparklines[l.Definition.ID] = chart
		}
	}
	page.Headline = scorecardHeadline(page.Scorecard, time.Now())
	if page.Feedback, err = s.organisationFeedback(ctx, o.Code); err != nil {
		return err
	}
	return s.render(c, "organisation", page)
}

type contentPage struct {
	layout
	Body template.HTML
}

// shortAliases are short addresses people type or print that are not a
// page's own slug.
var shortAliases = map[string]string{"opt-out": "your-data", "api-guide": "developers", "methodology": "how-we-compare",
	"funnel-plot": "funnel-plots", "scorecard": "how-to-read-a-scorecard"}

// shortAddress redirects /licence, /about, /developers and the like to
// their pages (permanently: the page's address is the one to keep); any
// other one-segment address is 404.
func (s *Site) shortAddress(c *fiber.Ctx) error {
	slug := strings.ToLower(c.Params("short"))
	if alias, ok := shortAliases[slug]; ok {
		slug = alias
	}
	if _, ok := s.deps.Content.Page(slug); !ok {
		return errNotFound
	}
	return c.Redirect("/pages/"+slug, fiber.StatusMovedPermanently)
}

func (s *Site) contentPage(c *fiber.Ctx) error {
	p, ok := s.deps.Content.Page(c.Params("slug"))
	if !ok {
		return errNotFound
	}
	return s.render(c, "content", contentPage{layout: s.layout(c, p.Title, crumb{"/", "Home"}), Body: p.HTML})
}
