package site

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

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
}

type indicatorPage struct {
	layout
	Definition indicators.Definition
	Period     string
	Rows       []indicatorRow // shown values, best first by polarity
	NotShown   []indicatorRow
	Counts     map[indicators.Comparison]int
	Summary    string
	// Explained says how the verdict is reached (and which comparison
	// decides when another is shown beside it).
	Explained string
	// Areas are the benchmark rows of the latest period (England,
	// regions): areas, not organisations.
	Areas []indicators.AreaValue
	// Filters narrow the organisations to a region or an ICB, named as
	// the directory names them.
	Regions, ICBs []namedCode
	Region, ICB   string
	// Find is what the reader asked to find (?org=, a code or part of a
	// name); Found is its row and Rank its place in the table (from 1),
	// FoundMany the rows that a name matches when it matches several.
	Find      string
	Found     *indicatorRow
	Rank      int
	FoundMany []indicatorRow
	Download  string
	Chart     string // caterpillar: values with 95% intervals, ordered
	Funnel    string // funnel plot, when the indicator has one
	// Fit is the funnel the latest period's release fitted.
	Fit *indicators.FunnelFit
	// Unattributed counts the rows without an organisation code.
	Unattributed int
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
	region, icb := c.Query("region"), c.Query("icb")
	// Filtered to a region or an ICB, the page reads observations of that
	// one's organisations only; where every organisation with the
	// indicator sits is still read (in one light read) for the lists of
	// regions and ICBs.
	var filter func(codes []string) ([]string, error)
	regions, icbs := map[string]bool{}, map[string]bool{}
	if region != "" || icb != "" {
		filter = func(codes []string) ([]string, error) {
			places, err := s.deps.Catalogue.View().Places(ctx, codes)
			if err != nil {
				return nil, err
			}
			var keep []string
			for _, code := range codes {
				p := places[code]
				if p.RegionCode != "" {
					regions[p.RegionCode] = true
				}
				if p.ParentCode != "" {
					icbs[p.ParentCode] = true
				}
				if (region == "" || p.RegionCode == region) && (icb == "" || p.ParentCode == icb) {
					keep = append(keep, code)
				}
			}
			return keep, nil
		}
	}
	view, err := indicators.ReadIndicatorWhere(ctx, s.deps.Observations, visible, def, filter)
	if err != nil {
		return err
	}
	page := indicatorPage{layout: s.layout(c, def.Title, crumb{"/", "Home"}, crumb{"/indicators", "Indicators"}),
		Definition: def.Definition, Counts: map[indicators.Comparison]int{}, Region: region, ICB: icb,
		Download: "/indicators/" + def.ID + "/download.csv", Period: view.Latest.Period, Areas: view.Latest.Areas,
		Fit: view.Latest.Funnel, Explained: def.VerdictExplained(), Unattributed: view.Latest.Unattributed}
	codes := make([]string, len(view.Observations))
	for i, o := range view.Observations {
		codes[i] = o.Organisation
	}
	rows, err := s.indicatorPlaces(ctx, codes)
	if err != nil {
		return err
	}
	if filter != nil { // the lists are of every organisation, not only those read
		rows.regions, rows.icbs = regions, icbs
	}
	rows.arrange(def.Definition, view.Observations, page.Region, page.ICB)
	page.Rows, page.NotShown, page.Counts = rows.shown, rows.notShown, rows.counts
	if page.Regions, err = s.namedCodes(ctx, sortedKeys(rows.regions)); err != nil {
		return err
	}
	if page.ICBs, err = s.namedCodes(ctx, sortedKeys(rows.icbs)); err != nil {
		return err
	}
	if page.Region != "" && !rows.regions[page.Region] {
		regions := sortedKeys(rows.regions)
		return badParam("region", page.Region, "it must be the code of a region whose organisations have this indicator, such as "+strings.Join(regions[:min(3, len(regions))], ", "))
	}
	if page.ICB != "" && !rows.icbs[page.ICB] {
		return badParam("icb", page.ICB, "it must be the code of an integrated care board (or the parent organisation) whose organisations have this indicator")
	}
	page.Find = strings.TrimSpace(c.Query("org"))
	page.Found, page.Rank, page.FoundMany = findRow(page.Rows, page.Find)
	page.Summary = verdictSummary(def.Definition, page.Period, len(page.Rows), len(page.NotShown), page.Counts)
	page.Chart = caterpillar(def.Definition, page.Rows)
	if def.Verdict.HasFunnel() {
		page.Funnel = funnel(def.Definition, page.Fit, page.Rows)
	}
	return s.render(c, "indicator", page)
}

// namedCode is a region's or ICB's code with the name the loaded
// directory gives it, else its kind and code in words ("NHS England
// region Y63").
type namedCode struct{ Code, Name string }

func (s *Site) namedCodes(ctx context.Context, codes []string) ([]namedCode, error) {
	// One read for all of them (a region filter's ICBs are dozens): a
	// code the directory does not name keeps the code as its name.
	orgs, err := s.deps.Catalogue.View().OrganisationsByCode(ctx, codes)
	if err != nil {
		return nil, err
	}
	out := make([]namedCode, 0, len(codes))
	for _, code := range codes {
		n := namedCode{Code: code, Name: code}
		if o, ok := orgs[code]; ok {
			if o.Name != "" {
				n.Name = catalogue.TitleCase(o.Name) + " (" + code + ")"
			} else {
				n.Name = o.Type.Label() + " " + code
			}
		}
		out = append(out, n)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// findRow finds an organisation in an indicator's table by its code or,
// failing that, by part of its name: one row and its place, or the rows
// a name matches when it matches several.
func findRow(rows []indicatorRow, find string) (*indicatorRow, int, []indicatorRow) {
	if find == "" {
		return nil, 0, nil
	}
	for i := range rows {
		if strings.EqualFold(rows[i].Organisation.Code, find) {
			return &rows[i], i + 1, nil
		}
	}
	var many []indicatorRow
	rank := 0
	for i := range rows {
		if strings.Contains(strings.ToLower(rows[i].Organisation.Name), strings.ToLower(find)) {
			many = append(many, rows[i])
			rank = i + 1
		}
	}
	if len(many) == 1 {
		return &many[0], rank, nil
	}
	return nil, 0, many
}

// indicatorRowSet is an indicator's observations as its table shows them.
type indicatorRowSet struct {
	shown, notShown []indicatorRow // shown: those with a value, best first
	counts          map[indicators.Comparison]int
	regions, icbs   map[string]bool // of every organisation, before filtering
	// orgs are the organisations, as the published directory names them,
	// by code (a code it does not name stands for itself).
	orgs map[string]catalogue.Organisation
}

// indicatorPlaces looks up the organisations with codes (in one read of
// the published view) and collects their regions and ICBs.
func (s *Site) indicatorPlaces(ctx context.Context, codes []string) (indicatorRowSet, error) {
	set := indicatorRowSet{counts: map[indicators.Comparison]int{}, regions: map[string]bool{}, icbs: map[string]bool{}}
	var err error
	if set.orgs, err = s.deps.Catalogue.View().OrganisationsByCode(ctx, codes); err != nil {
		return set, err
	}
	for _, code := range codes {
		org, ok := set.orgs[code]
		if !ok {
			org = catalogue.Organisation{Code: code}
			set.orgs[code] = org
		}
		if org.RegionCode != "" {
			set.regions[org.RegionCode] = true
		}
		if org.ParentCode != "" {
			set.icbs[org.ParentCode] = true
		}
	}
	return set, nil
}

// indicatorRows puts each observation beside its organisation (as the
// published directory names it), keeps those in region and icb when
// given, and orders those with a value best first. The indicator page and
// the panel's review of a release both build their tables with it.
func (s *Site) indicatorRows(ctx context.Context, def indicators.Definition, obs []indicators.Observation, region, icb string) (indicatorRowSet, error) {
	codes := make([]string, len(obs))
	for i, o := range obs {
		codes[i] = o.Organisation
	}
	set, err := s.indicatorPlaces(ctx, codes)
	if err != nil {
		return set, err
	}
	set.arrange(def, obs, region, icb)
	return set, nil
}

// arrange puts each observation beside its organisation (set.orgs), keeps
// those in region and icb when given, and orders those with a value best
// first.
func (set *indicatorRowSet) arrange(def indicators.Definition, obs []indicators.Observation, region, icb string) {
	for _, o := range obs {
		org, ok := set.orgs[o.Organisation]
		if !ok {
			org = catalogue.Organisation{Code: o.Organisation}
		}
		row := indicatorRow{Organisation: org, Observation: o}
		if region != "" && org.RegionCode != region || icb != "" && org.ParentCode != icb {
			continue
		}
		if o.Value == nil {
			set.notShown = append(set.notShown, row)
			continue
		}
		set.shown = append(set.shown, row)
		set.counts[o.Comparison]++
	}
	higherFirst := def.Polarity != indicators.LowerIsBetter
	sort.SliceStable(set.shown, func(a, b int) bool {
		x, y := *set.shown[a].Observation.Value, *set.shown[b].Observation.Value
		if higherFirst {
			return x > y
		}
		return x < y
	})
}

// indicatorTable is the "indicatorrows" partial's data.
type indicatorTable struct {
	ID        string // the table's HTML id
	D         indicators.Definition
	Rows      []indicatorRow
	HasFunnel bool
	Highlight string // the code of the row the reader asked to find
}

// Table is the page's table of organisations.
func (p indicatorPage) Table() indicatorTable {
	t := indicatorTable{ID: "distribution", D: p.Definition, Rows: p.Rows, HasFunnel: p.Funnel != ""}
	if p.Found != nil {
		t.Highlight = p.Found.Organisation.Code
	}
	return t
}

// verdictSummary counts the verdicts of an indicator page in the
// verdict's own words.
func verdictSummary(d indicators.Definition, period string, shown, notShown int, n map[indicators.Comparison]int) string {
	head := fmt.Sprintf("%d organisations have a value for %s.", shown, period)
	tail := fmt.Sprintf(" Not compared: %d. Not shown: %d.", n[indicators.NotCompared], notShown)
	if d.Verdict.Decides() == indicators.VerdictFunnel {
		return head + fmt.Sprintf(" On the funnel plot: higher than expected %d, as expected %d, lower than expected %d.",
			n[indicators.HigherThanExpected], n[indicators.AsExpected], n[indicators.LowerThanExpected]) + tail
	}
	if d.Polarity == indicators.NoJudgement {
		return head + fmt.Sprintf(" Compared with the benchmark: higher %d, similar %d, lower %d.",
			n[indicators.Higher], n[indicators.Similar], n[indicators.Lower]) + tail
	}
	return head + fmt.Sprintf(" Compared with the benchmark: better %d, similar %d, worse %d.",
		n[indicators.Better], n[indicators.Similar], n[indicators.Worse]) + tail
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
	Columns  []compareColumn
	Rows     []compareRow
	Link     template.URL // this comparison's shareable address
	Headline string       // how they compare, in a sentence or two
	// Choices are entries that did not pick out one organisation: each
	// offers links that keep the organisations already chosen.
	Choices []compareChoice
}

// compareChoice is one entry of the compare form that named no single
// organisation, and what it might have meant.
type compareChoice struct {
	Entry   string
	Options []compareOption
	Total   int  // how many organisations the entry matches
	Near    bool // the options are the nearest to a postcode
}

// compareOption is one organisation an entry might mean, with the link
// that adds it to the comparison.
type compareOption struct {
	Organisation catalogue.Organisation
	Href         template.URL
}

const maxCompare = 4

// compare shows two to four organisations side by side on the indicators
// they share. The URL (?org=RR8&org=RX1) is shareable. An entry may be a
// code, a name or a postcode; one that does not pick out a single
// organisation leads to a choice on the same page, which keeps the
// organisations already chosen, never to an error page.
func (s *Site) compare(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var entries []string
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		if string(k) == "org" {
			for _, e := range strings.Split(string(v), ",") {
				if e = strings.TrimSpace(e); e != "" && !slices.ContainsFunc(entries, func(x string) bool { return strings.EqualFold(x, e) }) {
					entries = append(entries, e)
				}
			}
		}
	})
	// Each entry may cost a search: more than twice the most that can be
	// compared is a mistake, refused before any is looked up.
	if len(entries) > maxCompare*2 {
		return &userError{status: http.StatusBadRequest, message: fmt.Sprintf(
			"Choose from two to four organisations to compare, by name, code or postcode: for example /compare?org=RR8&org=RX1. You gave %d.", len(entries))}
	}
	visible, err := s.visible(c)
	if err != nil {
		return err
	}
	page := comparePage{layout: s.layout(c, "Compare organisations", crumb{"/", "Home"}, crumb{"/organisations", "Organisations"})}
	var chosen []catalogue.Organisation
	for _, e := range entries {
		org, choice, err := s.resolveCompareEntry(c, e)
		if err != nil {
			return err
		}
		switch {
		case choice != nil:
			page.Choices = append(page.Choices, *choice)
		case !slices.ContainsFunc(chosen, func(o catalogue.Organisation) bool { return o.Code == org.Code }):
			chosen = append(chosen, org)
		}
	}
	if len(chosen) > maxCompare {
		return &userError{status: http.StatusBadRequest, message: fmt.Sprintf(
			"Choose from two to four organisations to compare, by name, code or postcode: for example /compare?org=RR8&org=RX1. You chose %d.", len(chosen))}
	}
	for _, org := range chosen {
		sc, err := indicators.BuildScorecard(ctx, s.deps.Observations, visible, org.Code)
		if err != nil {
			return err
		}
		page.Columns = append(page.Columns, compareColumn{Organisation: org, Scorecard: sc})
	}
	for i := range page.Choices {
		for j, o := range page.Choices[i].Options {
			page.Choices[i].Options[j].Href = compareLink(append(slices.Clone(chosen), o.Organisation))
		}
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
	page.Link = compareLink(chosen)
	page.Headline = compareHeadline(page, time.Now())
	return s.render(c, "compare", page)
}

// compareLink is the comparison of orgs.
func compareLink(orgs []catalogue.Organisation) template.URL {
	q := url.Values{}
	for _, o := range orgs {
		q.Add("org", o.Code)
	}
	return template.URL("/compare?" + q.Encode())
}

// resolveCompareEntry reads one entry of the compare form: a code, a
// name that picks out one organisation, or else a choice — the names
// that match, or for a postcode the nearest GP practices and hospitals.
func (s *Site) resolveCompareEntry(c *fiber.Ctx, entry string) (catalogue.Organisation, *compareChoice, error) {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	if org, err := v.Organisation(ctx, strings.ToUpper(entry)); err == nil {
		return org, nil, nil
	}
	choice := &compareChoice{Entry: entry}
	if _, _, centre, err := s.place(ctx, entry); err != nil {
		return catalogue.Organisation{}, nil, err
	} else if centre != nil {
		r := searchRequest{Text: entry, Filters: map[string][]string{catalogue.FacetKind: {catalogue.KindOrganisation}}, Page: 1, Limit: 1}
		_, near, err := s.runSearch(c, r, false)
		if err != nil {
			return catalogue.Organisation{}, nil, err
		}
		choice.Near = true
		for _, h := range near.hits() {
			if org, err := v.Organisation(ctx, h.Document.Codes[0]); err == nil {
				choice.Options = append(choice.Options, compareOption{Organisation: org})
			}
		}
		return catalogue.Organisation{}, choice, nil
	}
	orgs, err := v.Organisations(ctx, catalogue.OrganisationQuery{Search: entry, Status: catalogue.StatusActive, Limit: 10})
	if err != nil {
		return catalogue.Organisation{}, nil, err
	}
	if orgs.Total == 0 { // perhaps a closed one, by its name
		if orgs, err = v.Organisations(ctx, catalogue.OrganisationQuery{Search: entry, Limit: 10}); err != nil {
			return catalogue.Organisation{}, nil, err
		}
	}
	if orgs.Total == 1 {
		return orgs.Organisations[0], nil, nil
	}
	for _, o := range orgs.Organisations {
		choice.Options = append(choice.Options, compareOption{Organisation: o})
	}
	choice.Total = orgs.Total
	return catalogue.Organisation{}, choice, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// indicatorDownload writes the latest period's observations of an
// indicator as CSV, under the release's licence: the indicator page's
// twin, with every organisation's row.
func (s *Site) indicatorDownload(c *fiber.Ctx) error {
	def, visible, err := s.publishedIndicator(c)
	if err != nil {
		return err
	}
	view, err := indicators.ReadIndicator(c.UserContext(), s.deps.Observations, visible, def)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(view.Observations))
	for _, o := range view.Observations {
		rows = append(rows, observationCells(def.Definition, o))
	}
	return writeTwin(c, "csv", def.ID, observationColumns, rows)
}
