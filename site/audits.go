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

	"github.com/candour/candour/content"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators/audit"
)

// Clinical audit outcomes: an overview per audit (its method, the funnel
// plot of a measure at one level in one period, and the table behind it),
// a page per unit (a hospital, a team, or a consultant at each provider
// where they operate) with its results across periods, and CSV for every
// table. Everything reads only the releases the published view shows; a
// synthetic audit is labelled as such on every page and in every file.

// publishedAudit is an audit as the visible releases show it: the newest
// release's definition, and for each period the newest release holding it.
type publishedAudit struct {
	audit.Released                  // the newest visible release
	Releases       []audit.Released // every visible release, oldest first
	Periods        []string         // ascending
	periodRelease  map[string]int64
}

// funnel returns the summary of one funnel.
func (a publishedAudit) funnel(measure, period string, level audit.Level) (audit.Funnel, bool) {
	rel := a.periodRelease[period]
	for _, r := range a.Releases {
		if r.Release != rel {
			continue
		}
		for _, f := range r.Funnels {
			if f.Measure == measure && f.Period == period && f.Level == level {
				return f, true
			}
		}
	}
	return audit.Funnel{}, false
}

// current keeps, of outcomes from several releases, those from the newest
// release holding their period.
func (a publishedAudit) current(os []audit.Outcome) []audit.Outcome {
	out := os[:0:0]
	for _, o := range os {
		if a.periodRelease[o.Period] == o.Release {
			out = append(out, o)
		}
	}
	return out
}

func (s *Site) audits(c *fiber.Ctx) (map[string]*publishedAudit, []string, datasets.Visible, error) {
	visible, err := s.visible(c)
	if err != nil {
		return nil, nil, visible, err
	}
	rs, err := s.deps.Audits.Audits(c.UserContext(), visible)
	if err != nil {
		return nil, nil, visible, err
	}
	byID := map[string]*publishedAudit{}
	var ids []string
	for _, r := range rs {
		a, ok := byID[r.Definition.ID]
		if !ok {
			a = &publishedAudit{periodRelease: map[string]int64{}}
			byID[r.Definition.ID] = a
			ids = append(ids, r.Definition.ID)
		}
		a.Released = r
		a.Releases = append(a.Releases, r)
		for _, f := range r.Funnels {
			if !slices.Contains(a.Periods, f.Period) {
				a.Periods = append(a.Periods, f.Period)
			}
			a.periodRelease[f.Period] = r.Release // releases come oldest first
		}
	}
	for _, a := range byID {
		sort.Strings(a.Periods)
	}
	sort.Strings(ids)
	return byID, ids, visible, nil
}

func (s *Site) publishedAudit(c *fiber.Ctx) (*publishedAudit, datasets.Visible, error) {
	all, ids, visible, err := s.audits(c)
	if err != nil {
		return nil, visible, err
	}
	id := c.Params("audit")
	a, ok := all[id]
	if !ok {
		candidates := map[string]string{}
		for _, i := range ids {
			candidates[i] = all[i].Definition.Name
		}
		return nil, visible, notFoundWithSuggestions("clinical audit", id, suggest(id, candidates))
	}
	return a, visible, nil
}

type auditListPage struct {
	layout
	Audits []*publishedAudit
}

func (s *Site) auditList(c *fiber.Ctx) error {
	all, ids, _, err := s.audits(c)
	if err != nil {
		return err
	}
	page := auditListPage{layout: s.layout(c, "Clinical audit outcomes", crumb{"/", "Home"})}
	for _, id := range ids {
		page.Audits = append(page.Audits, all[id])
	}
	return s.render(c, "audits", page)
}

// auditSelection is the measure, level and period a page shows, from the
// query string; a bad value is a 400 naming the parameter.
type auditSelection struct {
	Measure audit.Measure
	Level   audit.Level
	Period  string
}

func selectFrom(c *fiber.Ctx, a *publishedAudit) (auditSelection, error) {
	sel := auditSelection{Measure: a.Definition.Measures[0], Level: audit.Hospital}
	if len(a.Periods) > 0 {
		sel.Period = a.Periods[len(a.Periods)-1]
	}
	if m := c.Query("measure"); m != "" {
		mm, ok := a.Definition.Measure(m)
		if !ok {
			ids := make([]string, len(a.Definition.Measures))
			for i, x := range a.Definition.Measures {
				ids[i] = x.ID
			}
			return sel, badParam("measure", m, "it must be one of this audit's measures: "+strings.Join(ids, ", "))
		}
		sel.Measure = mm
	}
	if l := c.Query("level"); l != "" {
		if !audit.Level(l).Valid() {
			return sel, badParam("level", l, "it must be hospital, team or consultant")
		}
		sel.Level = audit.Level(l)
	}
	if p := c.Query("period"); p != "" {
		if !slices.Contains(a.Periods, p) {
			return sel, badParam("period", p, "it must be one of the audit's published periods: "+strings.Join(a.Periods, ", "))
		}
		sel.Period = p
	}
	return sel, nil
}

// auditRow is one unit in a table.
type auditRow struct {
	audit.Outcome
	URL      string
	Position string
}

type auditPage struct {
	layout
	Audit       *publishedAudit
	Methodology template.HTML
	Selection   auditSelection
	Levels      []audit.Level
	Funnel      audit.Funnel
	Method      string
	Rows        []auditRow
	NotShown    []auditRow
	Chart       string
	Headline    string // the results in a sentence or two
	Summary     string
	Download    string
	DatasetURL  string
	// First, Last and Total say which units this page lists (1-based);
	// Pages links every page when there is more than one.
	First, Last, Total int
	Pages              []pageLink
	table              twinTable // every unit of the selection (not one page), for the twins
}

func unitURL(auditID string, level audit.Level, code string) string {
	return "/audits/" + auditID + "/units/" + string(level) + "/" + code
}

func (s *Site) auditOverview(c *fiber.Ctx) error {
	a, visible, err := s.publishedAudit(c)
	if err != nil {
		return err
	}
	sel, err := selectFrom(c, a)
	if err != nil {
		return err
	}
	def := a.Definition
	page := auditPage{layout: s.layout(c, def.Name, crumb{"/", "Home"}, crumb{"/audits", "Clinical audits"}), Audit: a, Selection: sel,
		Levels: audit.Levels, Method: sel.Measure.Describe(), DatasetURL: "/datasets/" + a.Dataset}
	if page.Methodology, err = content.Markdown(def.Methodology); err != nil {
		return err
	}
	page.Funnel, _ = a.funnel(sel.Measure.ID, sel.Period, sel.Level)
	q := url3(sel)
	page.Download = "/audits/" + def.ID + "/outcomes.csv?" + q
	outcomes, err := s.deps.Audits.Outcomes(c.UserContext(), audit.Query{Visible: visible, Audit: def.ID, Measure: sel.Measure.ID,
		Period: sel.Period, Level: sel.Level})
	if err != nil {
		return err
	}
	current := a.current(outcomes)
	page.table = twinTable{Name: strings.Join([]string{def.ID, sel.Measure.ID, string(sel.Level), strings.ReplaceAll(sel.Period, "/", "-")}, "-"),
		Header: auditCSVHeader, Rows: auditRecords(def, current)}
	for _, o := range current {
		row := auditRow{Outcome: o, URL: unitURL(def.ID, o.Level, o.Code), Position: o.Position(sel.Measure)}
		if o.Status == audit.NotClassified {
			page.NotShown = append(page.NotShown, row)
		} else {
			page.Rows = append(page.Rows, row)
		}
	}
	sort.SliceStable(page.Rows, func(i, j int) bool {
		ri, rj := statusRank(page.Rows[i].Outcome), statusRank(page.Rows[j].Outcome)
		if ri != rj {
			return ri < rj
		}
		return page.Rows[i].Name < page.Rows[j].Name
	})
	f := page.Funnel
	page.Summary = fmt.Sprintf("%d %s units in %s: %d within the expected range, %d at alert, %d at alarm; %d not classified.",
		f.Units, strings.ToLower(sel.Level.Label()), sel.Period, f.Classified-f.Alerts-f.Alarms, f.Alerts, f.Alarms, f.Units-f.Classified)
	page.Headline = auditHeadline(f.Units, f.Classified-f.Alerts-f.Alarms, f.Alerts, f.Alarms, f.Units-f.Classified, sel.Level.Label())
	page.Chart = auditFunnel(sel.Measure, f, page.Rows)
	if err := page.paginate(c, "/audits/"+def.ID+"?"+q); err != nil {
		return err
	}
	return s.render(c, "audit", page)
}

// auditPageSize is how many units a page of an audit's tables lists: the
// consultant level of a national audit has about a thousand, and the
// funnel plot (which always shows every unit) comes first.
const auditPageSize = 200

// pageLink is one link of a pagination list.
type pageLink struct {
	Number  int
	URL     string
	Current bool
}

// paginate keeps one page of the classified units followed by the ones
// not classified (outliers come first), from ?page.
func (p *auditPage) paginate(c *fiber.Ctx, base string) error {
	total := len(p.Rows) + len(p.NotShown)
	pages := max(1, (total+auditPageSize-1)/auditPageSize)
	n := 1
	if raw := c.Query("page"); raw != "" {
		v, err := strconv.Atoi(raw)
		if err != nil || v < 1 || v > pages {
			return badParam("page", raw, fmt.Sprintf("it must be a page number from 1 to %d", pages))
		}
		n = v
	}
	start, end := (n-1)*auditPageSize, min(n*auditPageSize, total)
	p.First, p.Last, p.Total = start+1, end, total
	classified := len(p.Rows)
	p.Rows = p.Rows[min(start, classified):min(end, classified)]
	p.NotShown = p.NotShown[max(0, start-classified):max(0, end-classified)]
	if pages > 1 {
		for i := 1; i <= pages; i++ {
			p.Pages = append(p.Pages, pageLink{Number: i, URL: base + "&page=" + strconv.Itoa(i), Current: i == n})
		}
	}
	return nil
}

// statusRank orders a table: alarms, then alerts, then the rest.
func statusRank(o audit.Outcome) int {
	switch o.Status {
	case audit.Alarm:
		return 0
	case audit.Alert:
		return 1
	}
	return 2
}

func url3(sel auditSelection) string {
	return "measure=" + sel.Measure.ID + "&level=" + string(sel.Level) + "&period=" + url.QueryEscape(sel.Period)
}

// auditCSVHeader are the columns of every audit table download.
var auditCSVHeader = []string{"audit", "measure", "period", "level", "unit_code", "unit_name", "provider_code", "provider_name",
	"team_code", "team_name", "cases", "observed", "expected", "crude_rate", "observed_expected_ratio", "risk_adjusted_rate",
	"risk_adjusted", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "status", "direction", "reason", "limit_method", "release", "note"}

func (s *Site) writeAuditCSV(c *fiber.Ctx, filename string, def audit.Definition, outcomes []audit.Outcome) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set("Link", `<https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/>; rel="license"`)
	w, err := datasets.NewWriter(c.Response().BodyWriter(), auditCSVHeader)
	if err != nil {
		return err
	}
	w.SpreadsheetSafe(nil)
	for _, row := range auditRecords(def, outcomes) {
		if err := w.Write(row); err != nil {
			return err
		}
	}
	return w.Close()
}

// auditRecords are outcomes as the rows of auditCSVHeader: the downloads
// and the twins of the audit pages.
func auditRecords(def audit.Definition, outcomes []audit.Outcome) [][]string {
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	count := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	note := ""
	if def.Synthetic {
		note = audit.SyntheticNote
	}
	out := make([][]string, 0, len(outcomes))
	for _, o := range outcomes {
		m, _ := def.Measure(o.Measure)
		var lim [4]string
		if o.Limits != nil {
			l := *o.Limits
			lim = [4]string{num(&l.Lower95), num(&l.Upper95), num(&l.Lower998), num(&l.Upper998)}
		}
		dir := ""
		if o.Status.Flagged() {
			dir = map[bool]string{true: "high", false: "low"}[o.High]
		}
		riskAdjusted := "no (not risk-adjusted)"
		if m.RiskAdjusted() {
			riskAdjusted = "yes"
		}
		status := string(o.Status)
		if o.Status == audit.NotClassified {
			status = "not classified"
		}
		out = append(out, []string{def.ID, o.Measure, o.Period, string(o.Level), o.Code, o.Name, o.Provider, o.ProviderName, o.Team, o.TeamName,
			count(o.Cases), count(o.Observed), num(o.Expected), num(o.CrudeRate), num(o.Ratio), num(o.AdjustedRate), riskAdjusted,
			lim[0], lim[1], lim[2], lim[3], status, dir, o.Reason, string(m.Limits), strconv.FormatInt(o.Release, 10), note})
	}
	return out
}

func (s *Site) auditDownload(c *fiber.Ctx) error {
	a, visible, err := s.publishedAudit(c)
	if err != nil {
		return err
	}
	sel, err := selectFrom(c, a)
	if err != nil {
		return err
	}
	q := audit.Query{Visible: visible, Audit: a.Definition.ID, Measure: sel.Measure.ID, Period: sel.Period, Level: sel.Level}
	if c.Query("measure") == "" && c.Query("level") == "" && c.Query("period") == "" {
		q = audit.Query{Visible: visible, Audit: a.Definition.ID} // no selection: every current outcome
	}
	outcomes, err := s.deps.Audits.Outcomes(c.UserContext(), q)
	if err != nil {
		return err
	}
	return s.writeAuditCSV(c, a.Definition.ID+"-outcomes.csv", a.Definition, a.current(outcomes))
}

// unitMeasure is one measure's results for a unit across periods.
type unitMeasure struct {
	Measure audit.Measure
	Rows    []auditRow
	Chart   string
	Latest  string // the latest position in words
}

type unitPage struct {
	layout
	Audit     *publishedAudit
	Level     audit.Level
	Code      string
	Name      string
	Providers []string // providers where the unit's cases were treated
	Teams     []string
	Measures  []unitMeasure
	Download  string
	table     twinTable // every outcome of the unit, for the twins
}

// HasChart says whether any measure draws a chart, so the page loads the
// chart script only then.
func (p unitPage) HasChart() bool {
	for _, m := range p.Measures {
		if m.Chart != "" {
			return true
		}
	}
	return false
}

func (s *Site) auditUnitOutcomes(c *fiber.Ctx) (*publishedAudit, audit.Level, string, []audit.Outcome, error) {
	a, visible, err := s.publishedAudit(c)
	if err != nil {
		return nil, "", "", nil, err
	}
	level := audit.Level(c.Params("level"))
	if !level.Valid() {
		return nil, "", "", nil, badParam("level", string(level), "it must be hospital, team or consultant")
	}
	code := strings.TrimSuffix(c.Params("code"), ".csv")
	outcomes, err := s.deps.Audits.Outcomes(c.UserContext(), audit.Query{Visible: visible, Audit: a.Definition.ID, Level: level, Code: code})
	if err != nil {
		return nil, "", "", nil, err
	}
	outcomes = a.current(outcomes)
	if len(outcomes) == 0 {
		return nil, "", "", nil, &userError{status: http.StatusNotFound,
			message: fmt.Sprintf("%s has no %s %q in its published results.", a.Definition.Name, strings.ToLower(level.Label()), code)}
	}
	return a, level, code, outcomes, nil
}

func (s *Site) auditUnit(c *fiber.Ctx) error {
	if strings.HasSuffix(c.Params("code"), ".csv") {
		a, _, code, outcomes, err := s.auditUnitOutcomes(c)
		if err != nil {
			return err
		}
		return s.writeAuditCSV(c, a.Definition.ID+"-"+code+".csv", a.Definition, outcomes)
	}
	a, level, code, outcomes, err := s.auditUnitOutcomes(c)
	if err != nil {
		return err
	}
	def := a.Definition
	name := outcomes[len(outcomes)-1].Name
	if name == "" {
		name = code
	}
	page := unitPage{layout: s.layout(c, name, crumb{"/", "Home"}, crumb{"/audits", "Clinical audits"}, crumb{"/audits/" + def.ID, def.Name}),
		Audit: a, Level: level, Code: code, Name: name, Download: unitURL(def.ID, level, code) + ".csv",
		table: twinTable{Name: def.ID + "-" + code, Header: auditCSVHeader, Rows: auditRecords(def, outcomes)}}
	for _, o := range outcomes {
		p := o.Provider
		if o.ProviderName != "" {
			p = o.ProviderName + " (" + o.Provider + ")"
		}
		if !slices.Contains(page.Providers, p) {
			page.Providers = append(page.Providers, p)
		}
		if t := o.TeamName; t != "" && level == audit.Consultant && !slices.Contains(page.Teams, t) {
			page.Teams = append(page.Teams, t)
		}
	}
	for _, m := range def.Measures {
		um := unitMeasure{Measure: m}
		for _, o := range outcomes {
			if o.Measure == m.ID {
				um.Rows = append(um.Rows, auditRow{Outcome: o, Position: o.Position(m)})
			}
		}
		if len(um.Rows) == 0 {
			continue
		}
		sort.SliceStable(um.Rows, func(i, j int) bool {
			if um.Rows[i].Period != um.Rows[j].Period {
				return um.Rows[i].Period < um.Rows[j].Period
			}
			return um.Rows[i].Provider < um.Rows[j].Provider
		})
		um.Latest = um.Rows[len(um.Rows)-1].Position
		um.Chart = auditTrend(m, um.Rows)
		page.Measures = append(page.Measures, um)
	}
	return s.render(c, "audit_unit", page)
}

// auditLink is a provider's results in one audit, for its organisation
// page.
type auditLink struct {
	Name, URL, Period string
	Level             audit.Level
	Synthetic         bool
	Flagged           int
}

// auditLinks lists the published audits with results for an
// organisation: as a hospital (its provider's results), or as a team or
// consultant unit.
func (s *Site) auditLinks(c *fiber.Ctx, visible datasets.Visible, code string) ([]auditLink, error) {
	ctx := c.UserContext()
	releases, err := s.deps.Audits.Audits(ctx, visible)
	if err != nil || len(releases) == 0 {
		return nil, err
	}
	defs := map[string]audit.Definition{}
	for _, r := range releases {
		defs[r.Definition.ID] = r.Definition // newest last
	}
	var out []auditLink
	for _, level := range audit.Levels {
		os, err := s.deps.Audits.Outcomes(ctx, audit.Query{Visible: visible, Level: level, Code: code})
		if err != nil {
			return nil, err
		}
		latest := map[string]string{} // audit → latest period
		var order []string
		for _, o := range os {
			if _, ok := latest[o.Audit]; !ok {
				order = append(order, o.Audit)
			}
			if o.Period > latest[o.Audit] {
				latest[o.Audit] = o.Period
			}
		}
		sort.Strings(order)
		for _, id := range order {
			def := defs[id]
			l := auditLink{Name: def.Name, URL: unitURL(id, level, code), Period: latest[id], Synthetic: def.Synthetic, Level: level}
			for _, o := range os {
				if o.Audit == id && o.Period == l.Period && o.Flagged() {
					l.Flagged++
				}
			}
			out = append(out, l)
		}
	}
	return out, nil
}
