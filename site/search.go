package site

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
)

// Search: one search box over datasets, releases, organisations,
// indicators, clinical audits, pages and announced releases, with facets,
// as a page (/search) and as JSON for typeahead (/api/v1/search). Every
// query passes the published view's visible releases, so a release's
// content is found only once it is published. A postcode or postcode
// district also lists the nearest organisations by distance.

const (
	searchPageSize = 20
	maxSearchPage  = 500 // 10,000 results are more than anyone pages through
	maxQueryBytes  = 500
	nearKM         = 15
	nearPractices  = 10
	nearHospitals  = 5
)

var (
	postcodeRe = regexp.MustCompile(`^([A-Z]{1,2}[0-9][0-9A-Z]?)(?: ?([0-9][A-Z]{2}))?$`)
	facetLabel = map[string]string{
		catalogue.FacetKind: "Kind", catalogue.FacetPublisher: "Publisher", catalogue.FacetTopic: "Topic",
		catalogue.FacetLicence: "Licence", catalogue.FacetFrequency: "Frequency", catalogue.FacetGranularity: "Granularity",
		catalogue.FacetStatus: "Dataset status", catalogue.FacetOrgType: "Organisation type", catalogue.FacetRegion: "NHS England region",
	}
)

// searchRequest is a search as the query string asks for it.
type searchRequest struct {
	Text    string
	Filters map[string][]string
	Sort    string
	Page    int
	Limit   int
	// NearAll lists, near a postcode, organisations that are not open
	// and prescribing cost centres as well (near=all).
	NearAll bool
}

// parseSearch reads and checks the query string; a bad parameter is a 400
// naming it.
func parseSearch(c *fiber.Ctx, defaultLimit, maxLimit int) (searchRequest, error) {
	r := searchRequest{Filters: map[string][]string{}, Page: 1, Limit: defaultLimit}
	args := c.Context().QueryArgs()
	r.Text = strings.TrimSpace(string(args.Peek("q")))
	if !utf8.ValidString(r.Text) {
		return r, badParam("q", strings.ToValidUTF8(r.Text, "?"), "it is not valid UTF-8 text")
	}
	if len(r.Text) > maxQueryBytes {
		return r, badParam("q", r.Text[:40]+"…", fmt.Sprintf("it is %d bytes long; a search is at most %d", len(r.Text), maxQueryBytes))
	}
	for _, f := range catalogue.Facets {
		for _, v := range args.PeekMulti(f) {
			if s := string(v); s != "" {
				if !utf8.ValidString(s) || len(s) > 200 {
					return r, badParam(f, strings.ToValidUTF8(s, "?"), "it is not a value of this facet")
				}
				r.Filters[f] = append(r.Filters[f], s)
			}
		}
	}
	switch sort := c.Query("sort"); sort {
	case "", "relevance":
	case "updated":
		r.Sort = "updated"
	default:
		return r, badParam("sort", sort, "it must be relevance or updated")
	}
	if p := c.Query("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return r, badParam("page", p, "it must be a whole number from 1")
		}
		if n > maxSearchPage {
			return r, badParam("page", p, fmt.Sprintf("pages stop at %d; narrow the search with the filters instead", maxSearchPage))
		}
		r.Page = n
	}
	switch near := c.Query("near"); near {
	case "", "open":
	case "all":
		r.NearAll = true
	default:
		return r, badParam("near", near, "it must be open (open GP practices and hospitals, the default) or all (closed, dormant and other prescribing cost centres as well)")
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxLimit {
			return r, badParam("limit", l, fmt.Sprintf("it must be a whole number from 1 to %d", maxLimit))
		}
		r.Limit = n
	}
	return r, nil
}

// outcodeCentres caches the postcode district centres (reference data).
type outcodeCentres struct {
	once sync.Once
	m    map[string]catalogue.LatLon
	err  error
}

// place reads a postcode or postcode district from the search text, and
// where its district's centre is.
func (s *Site) place(ctx context.Context, text string) (place, outcode string, centre *catalogue.LatLon, err error) {
	m := postcodeRe.FindStringSubmatch(strings.ToUpper(strings.Join(strings.Fields(text), " ")))
	if m == nil {
		return "", "", nil, nil
	}
	place = m[1]
	if m[2] != "" {
		place += " " + m[2]
	}
	s.outcodes.once.Do(func() { s.outcodes.m, s.outcodes.err = s.deps.Catalogue.View().Outcodes(ctx) })
	if s.outcodes.err != nil {
		return "", "", nil, s.outcodes.err
	}
	p, ok := s.outcodes.m[m[1]]
	if !ok {
		return "", "", nil, nil
	}
	return place, m[1], &p, nil
}

// runSearch runs the search and, for a postcode, the nearest
// organisations.
func (s *Site) runSearch(c *fiber.Ctx, r searchRequest, highlight bool) (catalogue.SearchResults, *nearby, error) {
	ctx := c.UserContext()
	ids, err := s.deps.Catalogue.View().ContentVisibleReleases(ctx)
	if err != nil {
		return catalogue.SearchResults{}, nil, err
	}
	place, outcode, centre, err := s.place(ctx, r.Text)
	if err != nil {
		return catalogue.SearchResults{}, nil, err
	}
	// Someone who types a postcode is looking for care near it: closed
	// places and other cost centres only when asked for (near=all or a
	// type filter).
	openCare := place != "" && !r.NearAll && len(r.Filters[catalogue.FacetOrgType]) == 0
	res, err := s.deps.Search.Search(ctx, catalogue.SearchQuery{Text: r.Text, Filters: r.Filters, Sort: r.Sort,
		From: (r.Page - 1) * r.Limit, Size: r.Limit, Visible: ids, Highlight: highlight, OpenCareOnly: openCare})
	if err != nil {
		return res, nil, err
	}
	var town string
	if centre == nil {
		if town, centre, err = s.town(ctx, r.Text, ids, res.Hits); err != nil || centre == nil {
			return res, nil, err
		}
		place = town
	}
	near := &nearby{Place: place, Outcode: outcode, Town: town != "", All: r.NearAll}
	practices := []string{string(catalogue.TypeGPPractice)}
	if r.NearAll {
		practices = append(practices, string(catalogue.TypePrescribingCostCentre))
	}
	for _, list := range []struct {
		types []string
		size  int
		into  *[]catalogue.SearchHit
	}{
		{practices, nearPractices, &near.Practices},
		{[]string{string(catalogue.TypeHospitalSite), string(catalogue.TypeNHSTrust)}, nearHospitals, &near.Hospitals},
	} {
		found, err := s.deps.Search.Search(ctx, catalogue.SearchQuery{Filters: map[string][]string{catalogue.FacetKind: {catalogue.KindOrganisation},
			catalogue.FacetOrgType: list.types}, Near: centre, NearKM: nearKM, NearAny: r.NearAll, Size: list.size, Visible: ids})
		if err != nil {
			return res, nil, err
		}
		*list.into = atPostcodeFirst(found.Hits, place)
	}
	return res, near, nil
}

// town reads a search as a town when organisations' addresses name it as
// a line of their own ("Stockton-on-Tees", "Leeds"): its centre is the
// middle of those organisations' positions. The town is returned as the
// directory writes it, in normal capitals. It searches again only when
// the search's own results already hold an organisation in that town, so
// other searches cost nothing more.
func (s *Site) town(ctx context.Context, text string, visible []int64, results []catalogue.SearchHit) (string, *catalogue.LatLon, error) {
	norm := func(x string) string {
		return strings.Join(strings.FieldsFunc(strings.ToLower(x), func(r rune) bool { return r == ' ' || r == '-' }), " ")
	}
	want := norm(text)
	if len(want) < 3 || len(want) > 40 || strings.IndexFunc(want, func(r rune) bool { return r >= '0' && r <= '9' }) >= 0 {
		return "", nil, nil
	}
	inTown := func(d catalogue.SearchDocument) bool {
		return slices.ContainsFunc(d.Places, func(p string) bool { return norm(p) == want })
	}
	if !slices.ContainsFunc(results, func(h catalogue.SearchHit) bool { return inTown(h.Document) }) {
		return "", nil, nil
	}
	found, err := s.deps.Search.Search(ctx, catalogue.SearchQuery{Text: text, Size: 50, Visible: visible,
		Filters: map[string][]string{catalogue.FacetKind: {catalogue.KindOrganisation}}})
	if err != nil {
		return "", nil, err
	}
	var lat, lon float64
	var n int
	var name string
	for _, h := range found.Hits {
		d := h.Document
		if d.Location == nil || d.Closed {
			continue
		}
		if i := slices.IndexFunc(d.Places, func(p string) bool { return norm(p) == want }); i >= 0 {
			lat, lon, n, name = lat+d.Location.Lat, lon+d.Location.Lon, n+1, d.Places[i]
		}
	}
	if n == 0 {
		return "", nil, nil
	}
	return catalogue.TitleCase(name), &catalogue.LatLon{Lat: lat / float64(n), Lon: lon / float64(n)}, nil
}

// nearby are the organisations nearest a postcode's district centre: GP
// practices and, separately, hospitals, since a list of the nearest ten
// places in a town is all practices.
type nearby struct {
	Place     string // the postcode, district or town as asked, e.g. "TS18 1HU"
	Outcode   string // its district, whose centre distances are from
	Town      bool   // Place is a town: distances are from the middle of its places
	All       bool   // closed, dormant and other cost centres included
	Practices []catalogue.SearchHit
	Hospitals []catalogue.SearchHit
}

// atPostcodeFirst moves the places at the postcode asked about to the
// front: distances are from the district's centre, so every practice
// placed there is "about 0 km", but those at the very postcode are surely
// nearest.
func atPostcodeFirst(hits []catalogue.SearchHit, postcode string) []catalogue.SearchHit {
	if !strings.Contains(postcode, " ") {
		return hits
	}
	at := func(h catalogue.SearchHit) bool { return len(h.Document.Codes) > 1 && h.Document.Codes[1] == postcode }
	out := slices.Clone(hits)
	slices.SortStableFunc(out, func(a, b catalogue.SearchHit) int {
		switch {
		case at(a) && !at(b):
			return -1
		case at(b) && !at(a):
			return 1
		}
		return 0
	})
	return out
}

// hits are both lists, nearest first, for the API.
func (n *nearby) hits() []catalogue.SearchHit {
	out := slices.Concat(n.Practices, n.Hospitals)
	slices.SortStableFunc(out, func(a, b catalogue.SearchHit) int { return cmp.Compare(a.DistanceKM, b.DistanceKM) })
	return out
}

type searchHitView struct {
	catalogue.SearchHit
	KindLabel string
	Snippet   template.HTML
}

type facetValueView struct {
	Value, Label string
	Count        int
	Selected     bool
	Href         string
}

type facetView struct {
	Name, Label string
	Values      []facetValueView
}

type searchPage struct {
	layout
	Query    string
	Total    int
	Took     time.Duration
	Hits     []searchHitView
	Facets   []facetView
	Active   []facetValueView // selected filters, each with a link that removes it
	Sort     string
	SortHref map[string]string
	Pager    pager
	Near     *nearby
	Clear    string
	// NearAllHref and NearOpenHref switch the near-you lists between
	// open places only and every organisation.
	NearAllHref, NearOpenHref string
	NearKM                    int
}

func kindLabel(kind string) string {
	for _, k := range catalogue.SearchKinds {
		if k.Kind == kind {
			return strings.TrimSuffix(k.Label, "s")
		}
	}
	return kind
}

// marked escapes a snippet and marks its matching words.
func marked(text string, marks [][2]int) template.HTML {
	var b strings.Builder
	at := 0
	for _, m := range marks {
		if m[0] < at || m[1] > len(text) {
			continue
		}
		b.WriteString(template.HTMLEscapeString(text[at:m[0]]))
		b.WriteString("<mark>" + template.HTMLEscapeString(text[m[0]:m[1]]) + "</mark>")
		at = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[at:]))
	return template.HTML(b.String())
}

// searchHref is the search page's address with the filters changed.
func searchHref(r searchRequest, facet, value string, on bool) string {
	q := url.Values{}
	if r.Text != "" {
		q.Set("q", r.Text)
	}
	for _, f := range catalogue.Facets {
		for _, v := range r.Filters[f] {
			if f == facet && v == value {
				continue
			}
			q.Add(f, v)
		}
	}
	if on {
		q.Add(facet, value)
	}
	if r.Sort != "" {
		q.Set("sort", r.Sort)
	}
	if r.NearAll {
		q.Set("near", "all")
	}
	return "/search?" + q.Encode()
}

func facetValueLabel(facet, value string) string {
	switch facet {
	case catalogue.FacetKind:
		return kindLabel(value)
	case catalogue.FacetOrgType:
		return catalogue.OrganisationType(value).Label()
	case catalogue.FacetStatus:
		return catalogue.DatasetStatus(value).Label()
	case catalogue.FacetLicence:
		if l, ok := catalogue.LookupLicence(value); ok {
			return l.Title
		}
	}
	return value
}

func (s *Site) searchPage(c *fiber.Ctx) error {
	r, err := parseSearch(c, searchPageSize, searchPageSize)
	if err != nil {
		return err
	}
	res, near, err := s.runSearch(c, r, true)
	if err != nil {
		return err
	}
	title := "Search"
	if r.Text != "" {
		title = "Search: " + r.Text
	}
	page := searchPage{layout: s.layout(c, title, crumb{"/", "Home"}), Query: r.Text, Total: res.Total, Took: res.Took, Sort: r.Sort,
		Near: near, Clear: "/search?q=" + url.QueryEscape(r.Text), NearKM: nearKM}
	for _, all := range []bool{true, false} {
		rr := r
		rr.NearAll, rr.Page = all, 1
		if all {
			page.NearAllHref = searchHref(rr, "", "", false) + "#nearest"
		} else {
			page.NearOpenHref = searchHref(rr, "", "", false) + "#nearest"
		}
	}
	for _, h := range res.Hits {
		page.Hits = append(page.Hits, searchHitView{SearchHit: h, KindLabel: kindLabel(h.Document.Kind), Snippet: marked(h.Snippet, h.Marks)})
	}
	for _, f := range catalogue.Facets {
		fv := facetView{Name: f, Label: facetLabel[f]}
		selected := r.Filters[f]
		for _, v := range res.Facets[f] {
			on := slices.Contains(selected, v.Value)
			fv.Values = append(fv.Values, facetValueView{Value: v.Value, Label: facetValueLabel(f, v.Value), Count: v.Count, Selected: on,
				Href: searchHref(r, f, v.Value, !on)})
		}
		for _, v := range selected {
			page.Active = append(page.Active, facetValueView{Value: v, Label: facetLabel[f] + ": " + facetValueLabel(f, v), Href: searchHref(r, f, v, false)})
		}
		if len(fv.Values) > 0 {
			fv.Values = fv.Values[:min(len(fv.Values), 12)]
			page.Facets = append(page.Facets, fv)
		}
	}
	s.nameRegionFacets(c.UserContext(), page.Facets, page.Active)
	page.SortHref = map[string]string{}
	for _, sort := range []string{"", "updated"} {
		rr := r
		rr.Sort = sort
		page.SortHref[sort] = searchHref(rr, "", "", false)
	}
	pages := int(math.Ceil(float64(min(res.Total, maxSearchPage*searchPageSize)) / searchPageSize))
	if r.Page > 1 && r.Page > pages {
		return &userError{status: http.StatusNotFound, message: fmt.Sprintf("There are only %d pages of results for this search.", pages)}
	}
	page.Pager = pager{Page: r.Page, Total: res.Total, Pages: pages}
	link := func(n int) string { return searchHref(r, "", "", false) + "&page=" + strconv.Itoa(n) }
	if r.Page > 1 {
		page.Pager.Prev = link(r.Page - 1)
	}
	if r.Page < pages {
		page.Pager.Next = link(r.Page + 1)
	}
	return s.render(c, "search", page)
}

// The JSON search API: the same search, for typeahead and intermediaries.

type apiSearchResult struct {
	Kind        string   `json:"kind"`
	Title       string   `json:"title"`
	URL         string   `json:"url"`
	Code        string   `json:"code,omitempty"`
	Snippet     string   `json:"snippet,omitempty"`
	Updated     string   `json:"updated,omitempty"`
	DistanceKM  *float64 `json:"distance_km,omitempty"`
	Approximate bool     `json:"approximate_location,omitempty"`
}

type apiFacetValue struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

type apiSearch struct {
	Query   string                     `json:"query"`
	Total   int                        `json:"total"`
	Page    int                        `json:"page"`
	Limit   int                        `json:"limit"`
	Results []apiSearchResult          `json:"results"`
	Facets  map[string][]apiFacetValue `json:"facets"`
	Near    *apiNear                   `json:"near,omitempty"`
}

type apiNear struct {
	Outcode string            `json:"outcode"`
	Note    string            `json:"note"`
	Results []apiSearchResult `json:"results"`
}

// apiProblemJSON answers an API error as {"error": {"code", "message"}}.
func apiProblemJSON(c *fiber.Ctx, status int, code, message string) error {
	c.Status(status)
	return c.JSON(apiErrorBody{Error: apiErrorDetail{Code: code, Message: message}})
}

func toAPIResult(h catalogue.SearchHit, near bool) apiSearchResult {
	d := h.Document
	out := apiSearchResult{Kind: d.Kind, Title: d.Title, URL: d.URL, Snippet: h.Snippet, Approximate: d.Approximate}
	if near {
		km := math.Round(h.DistanceKM*10) / 10
		out.DistanceKM = &km
	}
	if d.Kind == catalogue.KindOrganisation && len(d.Codes) > 0 {
		out.Code = d.Codes[0]
	}
	if !d.Updated.IsZero() {
		out.Updated = d.Updated.UTC().Format(time.RFC3339)
	}
	return out
}

// allowAnyOrigin lets pages elsewhere read a public JSON answer (CORS),
// cached or not.
func allowAnyOrigin(c *fiber.Ctx) error {
	c.Set("Access-Control-Allow-Origin", "*")
	c.Set("Access-Control-Expose-Headers", "ETag, Link, Retry-After, X-Total-Count")
	return c.Next()
}

func (s *Site) apiSearch(c *fiber.Ctx) error {
	r, err := parseSearch(c, 10, 50)
	if err != nil {
		if ue, ok := err.(*userError); ok {
			return apiProblemJSON(c, ue.status, "bad-parameter", ue.message)
		}
		return err
	}
	res, near, err := s.runSearch(c, r, c.Query("snippets") != "false")
	if err != nil {
		return err
	}
	out := apiSearch{Query: r.Text, Total: res.Total, Page: r.Page, Limit: r.Limit, Results: []apiSearchResult{}, Facets: map[string][]apiFacetValue{}}
	for _, h := range res.Hits {
		out.Results = append(out.Results, toAPIResult(h, false))
	}
	for f, vs := range res.Facets {
		list := []apiFacetValue{}
		for _, v := range vs {
			list = append(list, apiFacetValue{Value: v.Value, Count: v.Count})
		}
		out.Facets[f] = list
	}
	if near != nil {
		out.Near = &apiNear{Outcode: near.Outcode, Note: "Distances are from the centre of postcode district " + near.Outcode + ", so they are approximate."}
		if near.Town {
			out.Near.Note = "Distances are from the middle of the places the NHS directory lists in " + near.Place + ", so they are approximate."
		}
		for _, h := range near.hits() {
			out.Near.Results = append(out.Near.Results, toAPIResult(h, true))
		}
	}
	return c.JSON(out)
}
