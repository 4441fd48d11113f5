package site

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// visible is the set of releases whose content the published view shows
// now: the only releases whose observations public pages read.
func (s *Site) visible(c *fiber.Ctx) (datasets.Visible, error) {
	ids, err := s.deps.Catalogue.View().ContentVisibleReleases(c.UserContext())
	if err != nil {
		return datasets.Visible{}, err
	}
	return datasets.NewVisible(ids...), nil
}

type indicatorListPage struct {
	layout
	Definitions []indicators.ReleasedDefinition
}

func (s *Site) indicatorList(c *fiber.Ctx) error {
	visible, err := s.visible(c)
	if err != nil {
		return err
	}
	defs, err := s.deps.Observations.Definitions(c.UserContext(), visible)
	if err != nil {
		return err
	}
	return s.render(c, "indicators", indicatorListPage{layout: s.layout(c, "Indicators", crumb{"/", "Home"}), Definitions: defs})
}

type indicatorRow struct {
	Organisation catalogue.Organisation
	Observation  indicators.Observation
	Funnel       string // funnel position, for ratios
}

type indicatorPage struct {
	layout
	Definition indicators.Definition
	Release    catalogue.Release
	Period     string
	Rows       []indicatorRow // shown values, best first by polarity
	NotShown   []indicatorRow
	Counts     map[indicators.Comparison]int
	Summary    string
	// Filters narrow the organisations to a region or an ICB.
	Regions, ICBs []string
	Region, ICB   string
	Download      string
	Chart         string // caterpillar: values with 95% intervals, ordered
	Funnel        string // funnel plot, for observed/expected ratios
	// Overdispersion of the ratios, when the funnel allows for it.
	Overdispersion *indicators.Overdispersion
}

// suggest returns up to five codes or names like q from candidates.
func suggest(q string, candidates map[string]string) []string {
	q = strings.ToLower(q)
	type scored struct {
		label string
		score int
	}
	var out []scored
	for code, name := range candidates {
		lc, ln := strings.ToLower(code), strings.ToLower(name)
		score := 0
		switch {
		case strings.Contains(lc, q) || strings.Contains(q, lc):
			score = 3
		case strings.Contains(ln, q):
			score = 2
		case len(q) >= 2 && (strings.HasPrefix(lc, q[:2]) || strings.HasPrefix(ln, q[:2])):
			score = 1
		}
		if score > 0 {
			label := code
			if name != "" && name != code {
				label = name + " (" + code + ")"
			}
			out = append(out, scored{label, score})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].label < out[j].label
	})
	var labels []string
	for i := 0; i < len(out) && i < 5; i++ {
		labels = append(labels, out[i].label)
	}
	return labels
}

func notFoundWithSuggestions(what, q string, suggestions []string) error {
	msg := fmt.Sprintf("There is no %s %q.", what, q)
	if len(suggestions) > 0 {
		msg += " Did you mean: " + strings.Join(suggestions, "; ") + "?"
	}
	return &userError{status: http.StatusNotFound, message: msg}
}

// publishedIndicator finds the indicator the path names among those the
// visible releases define; an unknown one is a 404 with suggestions.
func (s *Site) publishedIndicator(c *fiber.Ctx) (indicators.ReleasedDefinition, datasets.Visible, error) {
	visible, err := s.visible(c)
	if err != nil {
		return indicators.ReleasedDefinition{}, visible, err
	}
	defs, err := s.deps.Observations.Definitions(c.UserContext(), visible)
	if err != nil {
		return indicators.ReleasedDefinition{}, visible, err
	}
	id := c.Params("id")
	i := slices.IndexFunc(defs, func(d indicators.ReleasedDefinition) bool { return d.ID == id })
	if i < 0 {
		candidates := map[string]string{}
		for _, d := range defs {
			candidates[d.ID] = d.Title
		}
		return indicators.ReleasedDefinition{}, visible, notFoundWithSuggestions("indicator", id, suggest(id, candidates))
	}
	return defs[i], visible, nil
}

func (s *Site) indicator(c *fiber.Ctx) error {
	ctx := c.UserContext()
	def, visible, err := s.publishedIndicator(c)
	if err != nil {
		return err
	}
	id := def.ID
	page := indicatorPage{layout: s.layout(c, def.Title, crumb{"/", "Home"}, crumb{"/indicators", "Indicators"}),
		Definition: def.Definition, Counts: map[indicators.Comparison]int{}, Region: c.Query("region"), ICB: c.Query("icb"),
		Download: "/indicators/" + def.ID + "/download.csv"}
	regions, icbs := map[string]bool{}, map[string]bool{}
	var allO, allE []float64 // every organisation's counts, for the funnel's overdispersion
	v := s.deps.Catalogue.View()
	for o, err := range s.deps.Observations.Observations(ctx, indicators.ObservationQuery{Visible: visible, Indicator: id, Release: def.Release}) {
		if err != nil {
			return err
		}
		org, err := v.Organisation(ctx, o.Organisation)
		if err != nil {
			org = catalogue.Organisation{Code: o.Organisation}
		}
		row := indicatorRow{Organisation: org, Observation: o}
		page.Period = o.Period
		if org.RegionCode != "" {
			regions[org.RegionCode] = true
		}
		if org.ParentCode != "" {
			icbs[org.ParentCode] = true
		}
		if o.Value != nil && o.Numerator != nil && o.Denominator != nil {
			allO, allE = append(allO, *o.Numerator), append(allE, *o.Denominator)
		}
		if page.Region != "" && org.RegionCode != page.Region || page.ICB != "" && org.ParentCode != page.ICB {
			continue
		}
		if o.Value == nil {
			page.NotShown = append(page.NotShown, row)
			continue
		}
		page.Rows = append(page.Rows, row)
		page.Counts[o.Comparison]++
	}
	page.Regions, page.ICBs = sortedKeys(regions), sortedKeys(icbs)
	if page.Region != "" && !regions[page.Region] {
		return badParam("region", page.Region, "it must be the code of a region whose organisations have this indicator, such as "+strings.Join(page.Regions[:min(3, len(page.Regions))], ", "))
	}
	if page.ICB != "" && !icbs[page.ICB] {
		return badParam("icb", page.ICB, "it must be the code of an integrated care board (or the parent organisation) whose organisations have this indicator")
	}
	higherFirst := def.Polarity != indicators.LowerIsBetter
	sort.SliceStable(page.Rows, func(a, b int) bool {
		x, y := *page.Rows[a].Observation.Value, *page.Rows[b].Observation.Value
		if higherFirst {
			return x > y
		}
		return x < y
	})
	page.Summary = fmt.Sprintf("%d organisations have a value for %s. Compared with the benchmark: better %d, similar %d, worse %d. Not shown: %d.",
		len(page.Rows), page.Period, page.Counts[indicators.Better]+page.Counts[indicators.Higher], page.Counts[indicators.Similar],
		page.Counts[indicators.Worse]+page.Counts[indicators.Lower], len(page.NotShown))
	page.Chart = caterpillar(def.Definition, page.Rows)
	if def.Method == indicators.MethodOERatio {
		// Funnel limits on the log scale, widened for overdispersion
		// (DerSimonian–Laird τ² from winsorised z-scores, as SHMI does).
		o, e := allO, allE
		// The positions were computed with the release; the same estimate
		// from the same values draws the limit lines.
		tau2 := 0.0
		if od, err := indicators.EstimateOverdispersion(o, e, 0.1); err == nil {
			page.Overdispersion = &od
			tau2 = od.Tau2
		}
		for i, r := range page.Rows {
			page.Rows[i].Funnel = r.Observation.Funnel
		}
		page.Funnel = funnel(def.Definition, page.Rows, tau2)
	}
	return s.render(c, "indicator", page)
}

type compareColumn struct {
	Organisation catalogue.Organisation
	Scorecard    indicators.Scorecard
}

type compareRow struct {
	Definition indicators.Definition
	Cells      []*indicators.Observation // one per organisation; nil when it has none
}

type comparePage struct {
	layout
	Columns []compareColumn
	Rows    []compareRow
	Link    template.URL // this comparison's shareable address
}

const maxCompare = 4

// compare shows two to four organisations side by side on the indicators
// they share. The URL (?org=RR8&org=RX1) is shareable.
func (s *Site) compare(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var codes []string
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		if string(k) == "org" {
			for _, code := range strings.Split(string(v), ",") {
				if code = strings.ToUpper(strings.TrimSpace(code)); code != "" && !slices.Contains(codes, code) {
					codes = append(codes, code)
				}
			}
		}
	})
	// Fewer than two is a page to choose them on; more than four is a
	// mistake.
	if len(codes) > maxCompare {
		return &userError{status: http.StatusBadRequest, message: fmt.Sprintf(
			"Choose from two to four organisations to compare, by code: for example /compare?org=RR8&org=RX1. You chose %d.", len(codes))}
	}
	visible, err := s.visible(c)
	if err != nil {
		return err
	}
	v := s.deps.Catalogue.View()
	page := comparePage{layout: s.layout(c, "Compare organisations", crumb{"/", "Home"}, crumb{"/organisations", "Organisations"})}
	for _, code := range codes {
		org, err := v.Organisation(ctx, code)
		if err != nil {
			// Not a code: a name that picks out one organisation will do.
			orgs, lerr := v.Organisations(ctx, catalogue.OrganisationQuery{Search: code, Limit: 5})
			if lerr == nil && orgs.Total == 1 {
				org = orgs.Organisations[0]
			} else {
				var labels []string
				if lerr == nil {
					for _, o := range orgs.Organisations {
						labels = append(labels, o.Name+" ("+o.Code+")")
					}
				}
				return notFoundWithSuggestions("organisation with the code or name", code, labels)
			}
		}
		code = org.Code
		sc, err := indicators.BuildScorecard(ctx, s.deps.Observations, visible, code)
		if err != nil {
			return err
		}
		page.Columns = append(page.Columns, compareColumn{Organisation: org, Scorecard: sc})
	}
	// Rows: indicators at least two of the organisations have.
	seen := map[string]int{}
	defs := map[string]indicators.Definition{}
	for _, col := range page.Columns {
		for _, l := range col.Scorecard.Lines {
			seen[l.Definition.ID]++
			defs[l.Definition.ID] = l.Definition
		}
	}
	var ids []string
	for id, n := range seen {
		if n >= 2 {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return defs[ids[i]].Title < defs[ids[j]].Title })
	for _, id := range ids {
		row := compareRow{Definition: defs[id]}
		for _, col := range page.Columns {
			var cell *indicators.Observation
			for _, l := range col.Scorecard.Lines {
				if l.Definition.ID == id {
					latest := l.Latest
					cell = &latest
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		page.Rows = append(page.Rows, row)
	}
	q := url.Values{}
	for _, col := range page.Columns {
		q.Add("org", col.Organisation.Code)
	}
	page.Link = template.URL("/compare?" + q.Encode())
	return s.render(c, "compare", page)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// indicatorDownload writes an indicator's observations for the latest
// release that defines it as CSV, under the release's licence.
func (s *Site) indicatorDownload(c *fiber.Ctx) error {
	ctx := c.UserContext()
	def, visible, err := s.publishedIndicator(c)
	if err != nil {
		return err
	}
	id := def.ID
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+id+`.csv"`)
	c.Set("Link", `<https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/>; rel="license"`)
	w, err := datasets.NewWriter(c.Response().BodyWriter(), []string{"organisation_code", "indicator", "period", "numerator",
		"denominator", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "benchmark", "comparison", "reason", "quintile",
		"trend", "trend_reason", "category"})
	if err != nil {
		return err
	}
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	for o, err := range s.deps.Observations.Observations(ctx, indicators.ObservationQuery{Visible: visible, Indicator: id, Release: def.Release}) {
		if err != nil {
			return err
		}
		q := ""
		if o.Quintile > 0 {
			q = strconv.Itoa(o.Quintile)
		}
		if err := w.Write([]string{o.Organisation, o.Indicator, o.Period, num(o.Numerator), num(o.Denominator), num(o.Value),
			num(o.Lower95), num(o.Upper95), num(o.Lower998), num(o.Upper998), num(o.Benchmark), string(o.Comparison), o.Reason, q,
			string(o.Trend), o.TrendReason, o.Category}); err != nil {
			return err
		}
	}
	return w.Close()
}
