package site

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// Local area pages: /areas lists the NHS England regions and their
// integrated care boards (ICBs) that have open organisations;
// /areas/{code} is one area: its organisations, with links to their
// scorecards, each indicator's value for the area with England's beside
// it (indicators.ReadArea: from numerators and denominators, never by
// averaging rates; not available when any organisation's figure is
// suppressed or missing — never counted as zero), pooled patient feedback
// when there is any, and the names other sources gave the area;
// ?format=json or csv is its twin (the indicator table), and
// /areas/{code}/pack.zip its local pack. Page, twin and pack are built
// from one areaData, so they show the same numbers.
//
// Membership is the directory's current hierarchy: an ICB's organisations
// are those whose parent it is, a region's those whose region it is.
// Everything is read through the published view: organisations and
// names from the directory, values from visible releases only.

// AreaFeedback is the hook for pooled patient feedback on area pages and
// in local packs: an organisation's rating distributions per source. The
// catalogue/feedback Store satisfies it. Nil (as now: the feedback store
// is not yet wired into the site) means area pages and packs have no
// feedback section.
type AreaFeedback interface {
	Distributions(ctx context.Context, organisation string) ([]feedback.Distribution, error)
}

// areaEntry is an area in the index.
type areaEntry struct {
	Code, Name string
	Type       catalogue.OrganisationType
	Practices  int // open GP practices
	Trusts     int // open NHS trusts
	ICBs       []areaEntry
}

type areaIndexPage struct {
	layout
	Regions []areaEntry
}

// areaName is an area's name as pages show it: the name the data gives,
// in title case, else its type and code.
func areaName(o catalogue.Organisation) string {
	if o.Name != "" {
		return catalogue.TitleCase(o.Name)
	}
	return o.Type.Label() + " " + o.Code
}

// areaIndex lists the regions with open GP practices or NHS trusts, each
// with its boards, by name.
func (s *Site) areaIndex(ctx context.Context) ([]areaEntry, error) {
	v := s.deps.Catalogue.View()
	regions := map[string]*areaEntry{}
	icbs := map[string]map[string]*areaEntry{} // region → board
	for _, typ := range []catalogue.OrganisationType{catalogue.TypeGPPractice, catalogue.TypeNHSTrust} {
		page, err := v.Organisations(ctx, catalogue.OrganisationQuery{Type: typ, Status: catalogue.StatusActive, Limit: 1000000})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Organisations {
			if o.RegionCode == "" {
				continue
			}
			r := regions[o.RegionCode]
			if r == nil {
				r = &areaEntry{Code: o.RegionCode, Type: catalogue.TypeRegion}
				regions[o.RegionCode], icbs[o.RegionCode] = r, map[string]*areaEntry{}
			}
			count(r, typ)
			if o.ParentCode == "" {
				continue
			}
			b := icbs[o.RegionCode][o.ParentCode]
			if b == nil {
				b = &areaEntry{Code: o.ParentCode, Type: catalogue.TypeICB}
				icbs[o.RegionCode][o.ParentCode] = b
			}
			count(b, typ)
		}
	}
	name := func(e *areaEntry) error {
		o, err := v.Organisation(ctx, e.Code)
		if err != nil && !errorsIsNotFound(err) {
			return err
		}
		if err != nil {
			o = catalogue.Organisation{Code: e.Code, Type: e.Type}
		}
		e.Name, e.Type = areaName(o), o.Type
		return nil
	}
	var out []areaEntry
	for code, r := range regions {
		if err := name(r); err != nil {
			return nil, err
		}
		for _, b := range icbs[code] {
			if err := name(b); err != nil {
				return nil, err
			}
			if b.Type == catalogue.TypeICB {
				r.ICBs = append(r.ICBs, *b)
			}
		}
		sortAreas(r.ICBs)
		if r.Type == catalogue.TypeRegion {
			out = append(out, *r)
		}
	}
	sortAreas(out)
	return out, nil
}

func count(e *areaEntry, typ catalogue.OrganisationType) {
	if typ == catalogue.TypeGPPractice {
		e.Practices++
	} else {
		e.Trusts++
	}
}

func sortAreas(es []areaEntry) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Name != es[j].Name {
			return es[i].Name < es[j].Name
		}
		return es[i].Code < es[j].Code
	})
}

func errorsIsNotFound(err error) bool { return errors.Is(err, catalogue.ErrNotFound) }

func (s *Site) areas(c *fiber.Ctx) error {
	regions, err := s.areaIndex(c.UserContext())
	if err != nil {
		return err
	}
	l := s.layout(c, "Local areas", crumb{"/", "Home"}, crumb{"/organisations", "Organisations"})
	l.Section = "organisations"
	return s.render(c, "areas", areaIndexPage{layout: l, Regions: regions})
}

// areaData is everything one area's page, twin and pack show.
type areaData struct {
	Area catalogue.Organisation
	Name string
	// Region is an ICB's region (the one most of its open organisations
	// are in); nil for a region.
	Region *areaEntry
	// ICBs are a region's boards.
	ICBs []areaEntry
	// Trusts and Practices are the area's open NHS trusts and GP
	// practices; Members counts every organisation in the area, open or
	// not, whose figures count towards its values.
	Trusts, Practices []catalogue.Organisation
	Members           int
	Indicators        []indicators.AreaIndicator
	// Feedback is pooled patient feedback per source; nil when there is
	// none (or no feedback store).
	Feedback []feedback.Distribution
	// NameSource and OtherNames say where the name came from and which
	// other names sources gave (directory details).
	NameSource string
	OtherNames []string
	// Sources are the releases the values come from; Generated the
	// newest of their publication instants (nothing of the request).
	Sources   []areaSource
	Generated time.Time
}

type areaSource struct {
	Dataset     string `json:"dataset"`
	Title       string `json:"title"`
	Publisher   string `json:"publisher"`
	Version     int    `json:"version"`
	Release     string `json:"release"`
	Period      string `json:"period"`
	Published   string `json:"published"`
	URL         string `json:"url"`
	Licence     string `json:"licence"`
	Attribution string `json:"attribution"`
	published   time.Time
}

// errNoArea is a 404 naming the code.
func errNoArea(code string) error {
	return &userError{status: http.StatusNotFound, message: fmt.Sprintf("There is no local area with the code %q. Local areas are NHS England regions and integrated care boards: see the list of local areas.", code)}
}

// loadArea gathers one area's data from the published view.
func (s *Site) loadArea(ctx context.Context, code string) (areaData, error) {
	v := s.deps.Catalogue.View()
	var d areaData
	o, err := v.Organisation(ctx, code)
	if errorsIsNotFound(err) {
		return d, errNoArea(code)
	}
	if err != nil {
		return d, err
	}
	if o.Type != catalogue.TypeRegion && o.Type != catalogue.TypeICB {
		return d, errNoArea(code)
	}
	d.Area, d.Name = o, areaName(o)
	for _, det := range o.Details {
		switch det.Label {
		case "Name from":
			d.NameSource = det.Value
		case "Other name in the data":
			d.OtherNames = append(d.OtherNames, det.Value)
		}
	}
	q := catalogue.OrganisationQuery{Limit: 1000000}
	if o.Type == catalogue.TypeRegion {
		q.Region = o.Code
	} else {
		q.Parent = o.Code
	}
	page, err := v.Organisations(ctx, q)
	if err != nil {
		return d, err
	}
	members := map[string]bool{}
	regionVotes := map[string]int{}
	for _, m := range page.Organisations {
		members[m.Code] = true
		if m.Status != catalogue.StatusActive {
			continue
		}
		regionVotes[m.RegionCode]++
		switch m.Type {
		case catalogue.TypeNHSTrust:
			d.Trusts = append(d.Trusts, m)
		case catalogue.TypeGPPractice:
			d.Practices = append(d.Practices, m)
		}
	}
	d.Members = len(members)
	if o.Type == catalogue.TypeRegion || len(d.Practices)+len(d.Trusts) == 0 {
		// A region's page lists its boards; so does the index.
		if o.Type == catalogue.TypeRegion {
			regions, err := s.areaIndex(ctx)
			if err != nil {
				return d, err
			}
			for _, r := range regions {
				if r.Code == o.Code {
					d.ICBs = r.ICBs
				}
			}
		}
	} else {
		region, best := "", 0
		for r, n := range regionVotes {
			if n > best || n == best && r < region {
				region, best = r, n
			}
		}
		if region != "" {
			ro, err := v.Organisation(ctx, region)
			if err != nil && !errorsIsNotFound(err) {
				return d, err
			}
			if err != nil {
				ro = catalogue.Organisation{Code: region, Type: catalogue.TypeRegion}
			}
			d.Region = &areaEntry{Code: region, Name: areaName(ro), Type: ro.Type}
		}
	}
	for _, list := range [][]catalogue.Organisation{d.Trusts, d.Practices} {
		sort.Slice(list, func(i, j int) bool {
			a, b := catalogue.TitleCase(list[i].Name), catalogue.TitleCase(list[j].Name)
			if a != b {
				return a < b
			}
			return list[i].Code < list[j].Code
		})
	}

	ids, err := v.ContentVisibleReleases(ctx)
	if err != nil {
		return d, err
	}
	d.Indicators, err = indicators.ReadArea(ctx, s.deps.Observations, datasets.NewVisible(ids...), func(code string) bool { return members[code] })
	if err != nil {
		return d, err
	}
	if err := s.areaSources(ctx, &d); err != nil {
		return d, err
	}
	if s.deps.AreaFeedback != nil {
		if d.Feedback, err = areaFeedback(ctx, s.deps.AreaFeedback, slices.Sorted(maps.Keys(members))); err != nil {
			return d, err
		}
	}
	return d, nil
}

// areaSources names the releases the area's values come from, and the
// instant the newest was published.
func (s *Site) areaSources(ctx context.Context, d *areaData) error {
	v := s.deps.Catalogue.View()
	seen := map[int64]bool{}
	for _, a := range d.Indicators {
		if seen[a.Release] || a.Dataset == "" {
			continue
		}
		seen[a.Release] = true
		r, err := v.Release(ctx, a.Dataset, a.Version)
		if err != nil {
			return err
		}
		ds, err := v.Dataset(ctx, a.Dataset)
		if err != nil {
			return err
		}
		lic, _ := catalogue.LookupLicence(ds.Licence)
		d.Sources = append(d.Sources, areaSource{Dataset: ds.Slug, Title: ds.Title, Publisher: ds.Publisher.Name, Version: r.Version,
			Release: r.Title, Period: r.PeriodLabel, Published: r.PublishedAt.UTC().Format(time.RFC3339),
			URL: fmt.Sprintf("/datasets/%s/releases/%d", ds.Slug, r.Version), Licence: lic.Title, Attribution: ds.AttributionStatement(),
			published: r.PublishedAt})
		if r.PublishedAt.After(d.Generated) {
			d.Generated = r.PublishedAt.UTC()
		}
	}
	sort.Slice(d.Sources, func(i, j int) bool {
		if d.Sources[i].Dataset != d.Sources[j].Dataset {
			return d.Sources[i].Dataset < d.Sources[j].Dataset
		}
		return d.Sources[i].Version < d.Sources[j].Version
	})
	return nil
}

// areaFeedback pools the members' rating distributions per source.
func areaFeedback(ctx context.Context, fb AreaFeedback, members []string) ([]feedback.Distribution, error) {
	by := map[string]*feedback.Distribution{}
	for _, code := range members {
		ds, err := fb.Distributions(ctx, code)
		if err != nil {
			return nil, err
		}
		for _, x := range ds {
			p := by[x.Source.Name]
			if p == nil {
				p = &feedback.Distribution{Source: x.Source}
				by[x.Source.Name] = p
			}
			for i := range p.Stars {
				p.Stars[i] += x.Stars[i]
			}
			p.Ratings += x.Ratings
			p.Items += x.Items
		}
	}
	var out []feedback.Distribution
	for _, name := range slices.Sorted(maps.Keys(by)) {
		if by[name].Items > 0 {
			out = append(out, *by[name])
		}
	}
	return out, nil
}

// areaCode reads the code from the path, in capitals.
func areaCode(c *fiber.Ctx) string { return strings.ToUpper(strings.TrimSpace(c.Params("code"))) }

type areaPage struct {
	layout
	areaData
	PackURL string
}

func (areaPage) Twins() bool { return true }

// Counts are an area value's numerator and denominator in words
// ("1,234 of 1,500", or observed and expected events for a ratio), ""
// when it has none.
func (areaPage) Counts(a indicators.AreaIndicator) string {
	if a.Numerator == nil || a.Denominator == nil {
		return ""
	}
	f := func(x float64) string {
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return thousands(int64(x))
		}
		x = math.Round(x*100) / 100
		whole := math.Trunc(x)
		frac := strings.TrimPrefix(strconv.FormatFloat(math.Abs(x-whole), 'f', 2, 64), "0")
		return thousands(int64(whole)) + strings.TrimRight(strings.TrimRight(frac, "0"), ".")
	}
	if a.Definition.Method == indicators.MethodOERatio {
		return f(*a.Numerator) + " observed, " + f(*a.Denominator) + " expected"
	}
	return f(*a.Numerator) + " of " + f(*a.Denominator)
}

func (p areaPage) twin() twinTable {
	return areaIndicatorTable(p.Area.Code, p.Indicators)
}

// areaIndicatorHeader are the columns of an area's indicator table, in
// its twins and its pack alike.
var areaIndicatorHeader = []string{"area_code", "indicator_id", "indicator", "period", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8",
	"numerator", "denominator", "england", "verdict", "verdict_words", "organisations", "organisations_unavailable", "categories", "reason",
	"dataset", "release_version"}

// areaIndicatorTable is an area's indicator values as rows: the one
// table the page's twins and the pack's indicators.csv write.
func areaIndicatorTable(code string, as []indicators.AreaIndicator) twinTable {
	t := twinTable{Name: "area-" + code, Header: areaIndicatorHeader}
	for _, a := range as {
		var cats []string
		for _, c := range a.Categories {
			cats = append(cats, fmt.Sprintf("%s: %d", c.Category, c.Count))
		}
		t.Rows = append(t.Rows, []string{code, a.Definition.ID, a.Definition.Title, a.Period, number(a.Value), number(a.Lower95), number(a.Upper95),
			number(a.Lower998), number(a.Upper998), number(a.Numerator), number(a.Denominator), number(a.England), string(a.Comparison),
			a.Comparison.Words(), strconv.Itoa(a.Organisations), strconv.Itoa(a.Unavailable), strings.Join(cats, "; "), a.Reason,
			a.Dataset, strconv.Itoa(a.Version)})
	}
	return t
}

func (s *Site) area(c *fiber.Ctx) error {
	code := areaCode(c)
	d, err := s.loadArea(c.UserContext(), code)
	if err != nil {
		return err
	}
	crumbs := []crumb{{"/", "Home"}, {"/organisations", "Organisations"}, {"/areas", "Local areas"}}
	if d.Region != nil {
		crumbs = append(crumbs, crumb{"/areas/" + d.Region.Code, d.Region.Name})
	}
	l := s.layout(c, d.Name, crumbs...)
	l.Section = "organisations"
	return s.render(c, "area", areaPage{layout: l, areaData: d, PackURL: "/areas/" + d.Area.Code + "/pack.zip"})
}

// The local pack: a zip of the area's indicator values (the page's twin
// table), its organisations, pooled feedback when there is any, and a
// README and metadata.json naming the sources, the licence and the
// attribution. It is written from the published state only — its time
// stamps are the newest source's publication instant — so the same
// published state gives the same bytes. Streamed.
func (s *Site) areaPack(c *fiber.Ctx) error {
	code := areaCode(c)
	d, err := s.loadArea(c.UserContext(), code)
	if err != nil {
		return err
	}
	name := "candour-area-" + d.Area.Code
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.zip"`, name))
	c.Set("Link", `<https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/>; rel="license"`)
	c.Set("Access-Control-Allow-Origin", "*")
	log := s.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := writeAreaPack(w, s.cfg.SiteName, d); err != nil {
			log.Error("local pack", "area", d.Area.Code, "error", err)
		}
		w.Flush()
	})
	return nil
}

// writeAreaPack writes the pack's zip.
func writeAreaPack(w io.Writer, siteName string, d areaData) error {
	z := zip.NewWriter(w)
	stamp := d.Generated
	if stamp.IsZero() {
		stamp = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	file := func(name string, write func(io.Writer) error) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: stamp})
		if err != nil {
			return err
		}
		return write(f)
	}
	csvFile := func(t twinTable) func(io.Writer) error {
		return func(f io.Writer) error {
			cw, err := datasets.NewWriter(f, t.Header)
			if err != nil {
				return err
			}
			cw.SpreadsheetSafe(nil)
			for _, r := range t.Rows {
				if err := cw.Write(r); err != nil {
					return err
				}
			}
			return cw.Close()
		}
	}
	files := []string{"README.md", "metadata.json", "indicators.csv", "organisations.csv"}
	if len(d.Feedback) > 0 {
		files = append(files, "feedback.csv")
	}
	if err := file("README.md", func(f io.Writer) error { _, err := io.WriteString(f, areaReadme(siteName, d, files)); return err }); err != nil {
		return err
	}
	if err := file("metadata.json", func(f io.Writer) error {
		b, err := json.MarshalIndent(areaMetadata(d, files), "", "  ")
		if err != nil {
			return err
		}
		_, err = f.Write(append(b, '\n'))
		return err
	}); err != nil {
		return err
	}
	if err := file("indicators.csv", csvFile(areaIndicatorTable(d.Area.Code, d.Indicators))); err != nil {
		return err
	}
	if err := file("organisations.csv", csvFile(areaOrganisationTable(d))); err != nil {
		return err
	}
	if len(d.Feedback) > 0 {
		if err := file("feedback.csv", csvFile(areaFeedbackTable(d))); err != nil {
			return err
		}
	}
	return z.Close()
}

func areaOrganisationTable(d areaData) twinTable {
	t := twinTable{Header: []string{"code", "name", "type", "status", "postcode", "url"}}
	for _, list := range [][]catalogue.Organisation{d.Trusts, d.Practices} {
		for _, o := range list {
			t.Rows = append(t.Rows, []string{o.Code, o.Name, string(o.Type), string(o.Status), o.Postcode, "/organisations/" + o.Code})
		}
	}
	for _, b := range d.ICBs {
		t.Rows = append(t.Rows, []string{b.Code, b.Name, string(b.Type), "", "", "/areas/" + b.Code})
	}
	return t
}

func areaFeedbackTable(d areaData) twinTable {
	t := twinTable{Header: []string{"source", "source_title", "source_homepage", "items", "ratings", "one_star", "two_stars", "three_stars", "four_stars", "five_stars", "mean_rating"}}
	for _, f := range d.Feedback {
		row := []string{f.Source.Name, f.Source.Title, f.Source.Homepage, strconv.Itoa(f.Items), strconv.Itoa(f.Ratings)}
		for _, n := range f.Stars {
			row = append(row, strconv.Itoa(n))
		}
		mean := ""
		if f.Ratings > 0 {
			mean = strconv.FormatFloat(f.Mean(), 'f', 2, 64)
		}
		t.Rows = append(t.Rows, append(row, mean))
	}
	return t
}

const oglURL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"

type areaPackMetadata struct {
	Area struct {
		Code       string   `json:"code"`
		Name       string   `json:"name"`
		Type       string   `json:"type"`
		NameSource string   `json:"name_source,omitempty"`
		OtherNames []string `json:"other_names,omitempty"`
		URL        string   `json:"url"`
	} `json:"area"`
	Generated string `json:"generated"`
	Licence   struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		URL   string `json:"url"`
	} `json:"licence"`
	Attribution   []string     `json:"attribution"`
	Sources       []areaSource `json:"sources"`
	Files         []string     `json:"files"`
	Organisations int          `json:"organisations"`
	Method        string       `json:"method"`
}

const areaMethod = "Each area value is the sum of its organisations' numerators over the sum of their denominators in the indicator's latest published period " +
	"(never an average of rates), with the indicator's own confidence interval method, compared with England's value by the indicator's own verdict method " +
	"(its 95% or 99.8% interval, or its funnel plot). If any organisation's numerator or denominator is suppressed or missing in the published data, " +
	"the area has no value: a suppressed figure is never counted as zero, and the others are not added up without it."

func areaMetadata(d areaData, files []string) areaPackMetadata {
	var m areaPackMetadata
	m.Area.Code, m.Area.Name, m.Area.Type, m.Area.URL = d.Area.Code, d.Name, d.Area.Type.Label(), "/areas/"+d.Area.Code
	m.Area.NameSource, m.Area.OtherNames = d.NameSource, d.OtherNames
	if !d.Generated.IsZero() {
		m.Generated = d.Generated.Format(time.RFC3339)
	}
	lic, _ := catalogue.LookupLicence(catalogue.DefaultLicence)
	m.Licence.ID, m.Licence.Title, m.Licence.URL = lic.ID, lic.Title, lic.URL
	if m.Licence.URL == "" {
		m.Licence.URL = oglURL
	}
	seen := map[string]bool{}
	for _, s := range d.Sources {
		if !seen[s.Attribution] {
			seen[s.Attribution] = true
			m.Attribution = append(m.Attribution, s.Attribution)
		}
	}
	m.Sources, m.Files, m.Organisations, m.Method = d.Sources, files, d.Members, areaMethod
	if m.Sources == nil {
		m.Sources = []areaSource{}
	}
	return m
}

func areaReadme(siteName string, d areaData, files []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s (%s): local pack\n\n", d.Name, d.Area.Code)
	fmt.Fprintf(&b, "%s, %s. From %s, at /areas/%s.\n\n", d.Name, strings.ToLower(d.Area.Type.Label()), siteName, d.Area.Code)
	if !d.Generated.IsZero() {
		fmt.Fprintf(&b, "Made from the data published up to %s (the newest source's publication).\n\n", d.Generated.Format(time.RFC3339))
	}
	b.WriteString("## Files\n\n")
	for _, f := range files {
		fmt.Fprintf(&b, "- `%s`: %s\n", f, map[string]string{
			"README.md":         "this file",
			"metadata.json":     "the area, the sources, the licence and attribution, as JSON",
			"indicators.csv":    "each indicator's value for the area, with its interval, England's value and the verdict (the same table as the area page's CSV and JSON)",
			"organisations.csv": "the area's open NHS trusts and GP practices (and a region's integrated care boards)",
			"feedback.csv":      "pooled patient feedback for the area's organisations, per source",
		}[f])
	}
	b.WriteString("\n## How the values are made\n\n" + areaMethod + "\n\n")
	b.WriteString("## Sources\n\n")
	if len(d.Sources) == 0 {
		b.WriteString("No published indicator has a value for this area's organisations.\n")
	}
	for _, s := range d.Sources {
		fmt.Fprintf(&b, "- %s (%s, version %d, covering %s), published %s by %s: %s\n", s.Release, s.Title, s.Version, s.Period, s.Published, s.Publisher, s.URL)
	}
	if d.NameSource != "" {
		fmt.Fprintf(&b, "\nThe area's name is from %s.", d.NameSource)
		for _, o := range d.OtherNames {
			fmt.Fprintf(&b, " Another source names it %s.", o)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Licence and attribution\n\nOpen Government Licence v3.0: " + oglURL + "\n\n")
	seen := map[string]bool{}
	for _, s := range d.Sources {
		if !seen[s.Attribution] {
			seen[s.Attribution] = true
			b.WriteString(s.Attribution + "\n\n")
		}
	}
	if len(d.Sources) == 0 {
		b.WriteString("Contains public sector information licensed under the Open Government Licence v3.0.\n")
	}
	return b.String()
}

// nameRegionFacets shows the region facet's values by the regions' names
// (the index holds their codes), keeping the code beside the name.
func (s *Site) nameRegionFacets(ctx context.Context, facets []facetView, active []facetValueView) {
	v := s.deps.Catalogue.View()
	name := func(code string) string {
		o, err := v.Organisation(ctx, code)
		if err != nil || o.Name == "" {
			return code
		}
		return catalogue.TitleCase(o.Name) + " (" + code + ")"
	}
	for i := range facets {
		if facets[i].Name != catalogue.FacetRegion {
			continue
		}
		for j := range facets[i].Values {
			facets[i].Values[j].Label = name(facets[i].Values[j].Value)
		}
	}
	prefix := facetLabel[catalogue.FacetRegion] + ": "
	for i := range active {
		if code, ok := strings.CutPrefix(active[i].Label, prefix); ok && code == active[i].Value {
			active[i].Label = prefix + name(code)
		}
	}
}

// areaSitemap lists the local area pages for sitemap.xml: the index and
// every area it lists.
func (s *Site) areaSitemap(ctx context.Context) ([]sitemapURL, error) {
	regions, err := s.areaIndex(ctx)
	if err != nil {
		return nil, err
	}
	out := []sitemapURL{{Loc: "/areas"}}
	seen := map[string]bool{}
	for _, r := range regions {
		for _, e := range append([]areaEntry{r}, r.ICBs...) {
			if !seen[e.Code] {
				seen[e.Code] = true
				out = append(out, sitemapURL{Loc: "/areas/" + e.Code})
			}
		}
	}
	return out, nil
}
