package site

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/publisher"
)

// The map (/map?indicator=ID&near=POSTCODE&km=N): the organisations with a
// value for an indicator's latest period, plotted by latitude and
// longitude as an ECharts scatter with no map tiles (nothing is fetched
// from elsewhere), each coloured by its verdict — the one
// indicators.Compute stored (Observation.Comparison), read here, never
// worked out again. Every point is a row of the table beside it, which
// is also the page's CSV and JSON twin, and a sentence sums it up.
//
// An organisation is placed where the directory puts it (a hospital
// site's own position, a trust's headquarters), else, approximately and
// said so, at the centre of its postcode district. "Near me" reads a
// postcode or postcode district as the search does (place) and keeps
// the organisations within km of its district's centre, nearest first.

const (
	mapDefaultKM = nearKM
	mapMaxKM     = 200
)

// mapRow is one organisation on the map and in its table.
type mapRow struct {
	Organisation catalogue.Organisation
	Observation  indicators.Observation
	At           catalogue.LatLon
	// Approximate: placed at its postcode district's centre; Source says
	// where the position comes from.
	Approximate bool
	Source      string
	// DistanceKM is from the place asked about, with near.
	DistanceKM float64
}

// Lat and Lon are the row's position to five decimal places (about a
// metre), as the chart, the table and the twins all give it.
func (r mapRow) Lat() string { return strconv.FormatFloat(round(r.At.Lat, 5), 'f', -1, 64) }
func (r mapRow) Lon() string { return strconv.FormatFloat(round(r.At.Lon, 5), 'f', -1, 64) }

type mapPage struct {
	layout
	// Choices are the published indicators, for the form.
	Choices    []indicators.ReleasedDefinition
	Indicator  string
	Definition indicators.Definition
	Period     string
	Near       string // the postcode or district as asked, normalised
	Outcode    string
	KM         float64
	Rows       []mapRow
	// NotPlaced counts the organisations with a value but no known
	// position; NotShown those without a value (not on the map).
	NotPlaced, NotShown int
	Groups              []mapGroup
	Summary             string
	Chart               string
}

// mapGroup is one colour on the map: a verdict, or for a rating (which
// is not compared with a benchmark) a category; N counts its
// organisations.
type mapGroup struct {
	Key    string // the verdict (indicators.Comparison), or the category
	Label  string // as the legend and the table say it
	Colour string
	N      int
}

// groupKey is the colour group of a row: its verdict, or for a rating
// its category.
func groupKey(d indicators.Definition, o indicators.Observation) string {
	if d.Method == indicators.MethodCategory {
		return o.Category
	}
	return string(o.Comparison)
}

func (s *Site) organisationMap(c *fiber.Ctx) error {
	ctx := c.UserContext()
	visible, err := s.visible(c)
	if err != nil {
		return err
	}
	defs, err := s.deps.Observations.Definitions(ctx, visible)
	if err != nil {
		return err
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].Title < defs[j].Title })
	page := mapPage{layout: s.layout(c, "Map of organisations", crumb{"/", "Home"}, crumb{"/indicators", "Indicators"}),
		Choices: defs, Indicator: strings.TrimSpace(c.Query("indicator")), KM: mapDefaultKM}
	if km := c.Query("km"); km != "" {
		x, err := strconv.ParseFloat(km, 64)
		if err != nil || math.IsNaN(x) || x < 1 || x > mapMaxKM {
			return badParam("km", km, fmt.Sprintf("it must be a distance in kilometres from 1 to %d", mapMaxKM))
		}
		page.KM = x
	}
	var centre *catalogue.LatLon
	if near := strings.TrimSpace(c.Query("near")); near != "" {
		place, outcode, at, err := s.place(ctx, near)
		if err != nil {
			return err
		}
		if at == nil {
			return badParam("near", near, "it must be a postcode or postcode district whose centre Candour knows, such as TS18 1HU or LS1")
		}
		page.Near, page.Outcode, centre = place, outcode, at
	}
	if page.Indicator == "" {
		page.Summary = "Choose an indicator to see its organisations on the map, each coloured by how it compares."
		return s.render(c, "map", page)
	}
	i := slices.IndexFunc(defs, func(d indicators.ReleasedDefinition) bool { return d.ID == page.Indicator })
	if i < 0 {
		var ids []string
		for _, d := range defs {
			ids = append(ids, d.ID)
		}
		sort.Strings(ids)
		return badParam("indicator", page.Indicator, "it must be the id of a published indicator: "+strings.Join(ids, ", "))
	}
	def := defs[i]
	page.Definition = def.Definition
	page.layout.Title = "Map: " + def.Title
	view, err := indicators.ReadIndicator(ctx, s.deps.Observations, visible, def)
	if err != nil {
		return err
	}
	page.Period = view.Latest.Period
	outcodes, err := s.outcodeCentres(ctx)
	if err != nil {
		return err
	}
	v := s.deps.Catalogue.View()
	for _, o := range view.Observations {
		if o.Value == nil && o.Category == "" {
			page.NotShown++
			continue
		}
		org, err := v.Organisation(ctx, o.Organisation)
		if err != nil {
			org = catalogue.Organisation{Code: o.Organisation}
		}
		row := mapRow{Organisation: org, Observation: o}
		switch {
		case org.Location != nil:
			row.At, row.Source = *org.Location, org.LocationSource
		case publisher.Outcode(org.Postcode) != "":
			at, ok := outcodes[publisher.Outcode(org.Postcode)]
			if !ok {
				page.NotPlaced++
				continue
			}
			row.At, row.Approximate, row.Source = at, true, "the centre of its postcode district, "+publisher.Outcode(org.Postcode)
		default:
			page.NotPlaced++
			continue
		}
		if centre != nil {
			row.DistanceKM = distanceKM(*centre, row.At)
			if row.DistanceKM > page.KM {
				continue
			}
		}
		page.Rows = append(page.Rows, row)
	}
	if centre != nil {
		sort.SliceStable(page.Rows, func(a, b int) bool { return page.Rows[a].DistanceKM < page.Rows[b].DistanceKM })
	}
	page.Groups = mapGroups(def.Definition, page.Rows)
	page.Summary = mapSummary(page)
	page.Chart = mapChart(page)
	return s.render(c, "map", page)
}

// outcodeCentres are the postcode district centres, read once.
func (s *Site) outcodeCentres(ctx context.Context) (map[string]catalogue.LatLon, error) {
	s.outcodes.once.Do(func() { s.outcodes.m, s.outcodes.err = s.deps.Catalogue.View().Outcodes(ctx) })
	return s.outcodes.m, s.outcodes.err
}

// distanceKM is the great-circle distance between two points.
func distanceKM(a, b catalogue.LatLon) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

// verdictColour is a verdict's colour on the map, through polarity: green
// better, red worse, blue a difference without a judgement, grey no
// significant difference, and a pale grey for not compared.
func verdictColour(d indicators.Definition, c indicators.Comparison) string {
	switch c.Tone(d.Polarity) {
	case "good":
		return nhsGreen
	case "bad":
		return nhsRed
	case "neutral":
		return nhsBlue
	}
	if c == indicators.NotCompared || c == "" {
		return "#d8dde0"
	}
	return nhsGrey
}

// verdictOrder is the order verdicts are listed and drawn in.
var verdictOrder = []indicators.Comparison{indicators.Better, indicators.Higher, indicators.HigherThanExpected, indicators.Similar,
	indicators.AsExpected, indicators.Lower, indicators.LowerThanExpected, indicators.Worse, indicators.NotCompared}

func mapGroups(d indicators.Definition, rows []mapRow) []mapGroup {
	n := map[string]int{}
	for _, r := range rows {
		n[groupKey(d, r.Observation)]++
	}
	var out []mapGroup
	if d.Method == indicators.MethodCategory {
		// Best to worst, as the definition lists them: green to red
		// when the rating judges, shades of blue when it does not.
		judged := []string{nhsGreen, "#41b6e6", "#ed8b00", nhsRed}
		plain := []string{nhsBlue, "#41b6e6", "#330072", "#ae2573"}
		for i, cat := range d.Categories {
			if n[cat] == 0 {
				continue
			}
			colours := judged
			if d.Polarity == indicators.NoJudgement || len(d.Categories) > len(judged) {
				colours = plain
			}
			out = append(out, mapGroup{Key: cat, Label: cat, Colour: colours[min(i, len(colours)-1)], N: n[cat]})
		}
		return out
	}
	for _, c := range verdictOrder {
		if n[string(c)] > 0 {
			out = append(out, mapGroup{Key: string(c), Label: c.Words(), Colour: verdictColour(d, c), N: n[string(c)]})
		}
	}
	return out
}

// mapSummary is the map in one sentence.
func mapSummary(p mapPage) string {
	where := "on the map"
	if p.Near != "" {
		where = fmt.Sprintf("within %s km of %s", strconv.FormatFloat(p.KM, 'f', -1, 64), p.Near)
	}
	if len(p.Rows) == 0 {
		return fmt.Sprintf("No organisation with a value for %s (%s) is %s.", p.Definition.Title, p.Period, where)
	}
	var parts []string
	for _, g := range p.Groups {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(g.Label), g.N))
	}
	how := "by verdict"
	if p.Definition.Method == indicators.MethodCategory {
		how = "by rating"
	}
	s := fmt.Sprintf("%s with a value for %s (%s) %s %s, %s: %s.", organisationsWord(len(p.Rows)), p.Definition.Title, p.Period,
		map[bool]string{true: "is", false: "are"}[len(p.Rows) == 1], where, how, strings.Join(parts, ", "))
	if p.NotPlaced > 0 {
		s = strings.TrimSuffix(s, ".") + fmt.Sprintf("; %d more could not be placed.", p.NotPlaced)
	}
	return s
}

func organisationsWord(n int) string {
	if n == 1 {
		return "1 organisation"
	}
	return thousands(n) + " organisations"
}

// mapChart is the scatter: longitude along, latitude up, one series per
// verdict (its colour and its name in the legend), each point named by
// its organisation's code.
func mapChart(p mapPage) string {
	if len(p.Rows) == 0 {
		return ""
	}
	sc := charts.NewScatter()
	var legend []string
	for _, g := range p.Groups {
		legend = append(legend, g.Label)
	}
	sc.SetGlobalOptions(
		charts.WithAnimation(false),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithGridOpts(opts.Grid{Top: "16", Left: "56", Right: "16", Bottom: "88"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "Longitude (west to east)", NameLocation: "middle", NameGap: 28, Scale: opts.Bool(true),
			SplitLine: &opts.SplitLine{Show: opts.Bool(false)}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "Latitude (south to north)", NameLocation: "middle", NameGap: 40, Scale: opts.Bool(true),
			SplitLine: &opts.SplitLine{Show: opts.Bool(false)}}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0", Data: legend}),
	)
	size := 7
	if len(p.Rows) > 1000 {
		size = 4
	}
	for _, g := range p.Groups {
		var pts []opts.ScatterData
		for _, r := range p.Rows {
			if groupKey(p.Definition, r.Observation) == g.Key {
				pts = append(pts, opts.ScatterData{Name: r.Organisation.Code, Value: []float64{round(r.At.Lon, 5), round(r.At.Lat, 5)}, SymbolSize: size})
			}
		}
		sc.AddSeries(g.Label, pts, charts.WithItemStyleOpts(opts.ItemStyle{Color: g.Colour, BorderColor: "#425563"}))
	}
	return chartJSON(sc)
}

func (mapPage) Twins() bool { return true }

// twin is the table: every organisation on the map.
func (p mapPage) twin() twinTable {
	t := twinTable{Name: "map", Header: []string{"indicator_id", "period", "organisation_code", "organisation", "latitude", "longitude",
		"location_source", "approximate", "distance_km", "value", "category", "verdict", "verdict_words"}}
	if p.Indicator != "" {
		t.Name = "map-" + p.Indicator
	}
	for _, r := range p.Rows {
		dist := ""
		if p.Near != "" {
			dist = strconv.FormatFloat(round(r.DistanceKM, 2), 'f', -1, 64)
		}
		t.Rows = append(t.Rows, []string{p.Indicator, p.Period, r.Organisation.Code, r.Organisation.Name,
			r.Lat(), r.Lon(),
			r.Source, strconv.FormatBool(r.Approximate), dist, number(r.Observation.Value), r.Observation.Category,
			string(r.Observation.Comparison), r.Observation.Comparison.Words()})
	}
	return t
}
