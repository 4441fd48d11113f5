package main

import (
	"encoding/csv"
	"encoding/json"
	"html"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/indicators"
)

// The equality and deprivation breakdown and the map, through run on the
// real demo data.
func TestDeprivationBreakdownAndMap(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo; skipped with -short")
	}
	s := startCandour(t, "demo", t.TempDir())
	t.Run("deprivation breakdown", func(t *testing.T) { deprivationBreakdown(t, s) })
	t.Run("map page with its table", func(t *testing.T) { mapWithTable(t, s) })
	t.Run("the panel sees the breakdown before publication", func(t *testing.T) {
		// The demo's CQC correction waits for reviewer-2's approval.
		b := newBrowser(t, s)
		b.login("reviewer-2", "demo-reviewer-pass")
		_, workspace := b.get("/workspace")
		seen := map[string]bool{}
		for _, m := range regexp.MustCompile(`href="(/workspace/releases/\d+)"`).FindAllStringSubmatch(workspace, -1) {
			if seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			if status, page := b.get(m[1]); status == http.StatusOK && strings.Contains(page, `id="review-breakdown-cqc-overall-rating-deprivation"`) {
				if n := strings.Count(page, `data-group="`); n != 5 || !strings.Contains(page, `id="review-breakdown-cqc-overall-rating-deprivation-gap-method"`) {
					t.Errorf("the review of the CQC correction shows %d quintiles, or no gap", n)
				}
				return
			}
		}
		t.Errorf("no release awaiting reviewer-2 shows the CQC ratings by deprivation (looked at %d)", len(seen))
	})
}

// deprivationBreakdown: the CQC ratings by the practices' IMD quintile.
// The page and its JSON twin give the same values, and they are what the
// published file's rows give.
func deprivationBreakdown(t *testing.T, s *server) {
	const id = "cqc-overall-rating"
	if page := s.mustGet(t, "/indicators/"+id); !strings.Contains(page, `href="/indicators/`+id+`/breakdown?by=deprivation"`) {
		t.Fatal("the indicator page does not link to its deprivation breakdown")
	}
	page := s.mustGet(t, "/indicators/"+id+"/breakdown?by=deprivation")
	shown := map[string]float64{}
	for _, m := range regexp.MustCompile(`data-group="([^"]+)" data-value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("group %s: value %q", m[1], m[2])
		}
		shown[m[1]] = v
	}
	if len(shown) != 5 {
		t.Fatalf("the page shows %d quintiles, want 5: %v", len(shown), shown)
	}
	twin := twinItems(t, s, "/indicators/"+id+"/breakdown?by=deprivation&format=json")
	byGroup := map[string]map[string]string{}
	for _, item := range twin {
		byGroup[item["group"]] = item
	}
	// The published file, as the release gives it: a practice counted
	// once in its quintile, rated Outstanding or Good or not; rows
	// without a practice code or quintile in no group.
	f, err := demoFiles.Open("demodata/cqc-gp-ratings.csv")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rating := map[string]map[string]string{} // quintile → practice → rating (the last row's)
	for _, r := range records[1:] {
		code, quintile := r[0], r[8]
		if code == "NA" || quintile == "NA" {
			continue
		}
		if rating[quintile] == nil {
			rating[quintile] = map[string]string{}
		}
		rating[quintile][code] = r[5]
	}
	for q := 1; q <= 5; q++ {
		group := strconv.Itoa(q)
		var good, rated float64
		for _, r := range rating[group] {
			rated++
			if r == "Outstanding" || r == "Good" {
				good++
			}
		}
		item := byGroup[group]
		if item == nil {
			t.Fatalf("the JSON twin has no quintile %s", group)
		}
		value, _ := strconv.ParseFloat(item["value"], 64)
		if value != shown[group] {
			t.Errorf("quintile %s: the page says %v, the JSON twin %v", group, shown[group], value)
		}
		if item["numerator"] != strconv.FormatFloat(good, 'f', -1, 64) || item["denominator"] != strconv.FormatFloat(rated, 'f', -1, 64) {
			t.Errorf("quintile %s: %s of %s rated Outstanding or Good, the rows give %v of %v", group, item["numerator"], item["denominator"], good, rated)
		}
		if math.Abs(value-good/rated*100) > 1e-9 {
			t.Errorf("quintile %s: %v%%, the rows give %v%%", group, value, good/rated*100)
		}
		lo, _ := strconv.ParseFloat(item["lower_95"], 64)
		hi, _ := strconv.ParseFloat(item["upper_95"], 64)
		if !(lo < value && value < hi) || item["verdict"] == "" {
			t.Errorf("quintile %s: interval %v to %v around %v, verdict %q", group, lo, hi, value, item["verdict"])
		}
	}
	if !strings.Contains(byGroup["5"]["group_label"], "most deprived") || !strings.Contains(byGroup["1"]["group_label"], "least deprived") {
		t.Errorf("the ends are not named: 5 %q, 1 %q", byGroup["5"]["group_label"], byGroup["1"]["group_label"])
	}
	// The gap, absolute and relative, as the page and the twin give it,
	// with how it is computed.
	gap, _ := strconv.ParseFloat(byGroup["gap-absolute"]["value"], 64)
	ratio, _ := strconv.ParseFloat(byGroup["gap-relative"]["value"], 64)
	if math.Abs(gap-(shown["5"]-shown["1"])) > 1e-9 || math.Abs(ratio-shown["5"]/shown["1"]) > 1e-9 {
		t.Errorf("gap %v and ratio %v; the quintiles give %v and %v", gap, ratio, shown["5"]-shown["1"], shown["5"]/shown["1"])
	}
	absolute := regexp.MustCompile(`data-gap="absolute">([^<]+)<`).FindStringSubmatch(page)
	if absolute == nil || !strings.HasPrefix(absolute[1], strconv.FormatFloat(gap, 'f', 1, 64)+" percentage points") {
		t.Errorf("the page's gap %q, the twin's %v", absolute, gap)
	}
	for _, want := range []string{`id="breakdown-gap-method"`, "minus that of the least deprived", "Newcombe", `id="summary"`, "never taken as zero"} {
		if !strings.Contains(page, want) {
			t.Errorf("the breakdown page lacks %q", want)
		}
	}
	if !strings.Contains(byGroup["gap-absolute"]["reason"], "minus") {
		t.Errorf("the twin's gap does not say how it is computed: %q", byGroup["gap-absolute"]["reason"])
	}
	if sitemap := s.mustGet(t, "/sitemap.xml"); !strings.Contains(sitemap, "/indicators/"+id+"/breakdown?by=deprivation</loc>") || !strings.Contains(sitemap, "/map</loc>") {
		t.Error("the sitemap does not list the breakdown and the map")
	}
	// A breakdown the indicator does not have is a 400 naming the
	// parameter; an indicator without breakdowns is a 404.
	if status, body, _ := s.get(t, "/indicators/"+id+"/breakdown?by=income"); status != http.StatusBadRequest || !strings.Contains(body, "The by parameter") {
		t.Errorf("by=income: %d", status)
	}
	if status, _, _ := s.get(t, "/indicators/shmi/breakdown?by=deprivation"); status != http.StatusNotFound {
		t.Errorf("the SHMI has no breakdown: %d, want 404", status)
	}
}

type chartOptions struct {
	Series []struct {
		Name string
		Data []struct {
			Name  string
			Value []float64
		}
	}
}

type mapTableRow struct {
	lat, lon float64
	verdict  string
}

// mapTable reads the map page's table and its chart.
func mapTable(t *testing.T, page string) ([]string, map[string]mapTableRow, chartOptions) {
	t.Helper()
	var order []string
	rows := map[string]mapTableRow{}
	for _, m := range regexp.MustCompile(`data-code="([^"]+)" data-lat="([^"]+)" data-lon="([^"]+)" data-verdict="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		lat, _ := strconv.ParseFloat(m[2], 64)
		lon, _ := strconv.ParseFloat(m[3], 64)
		if _, twice := rows[m[1]]; twice {
			t.Errorf("%s is in the table twice", m[1])
		}
		order = append(order, m[1])
		rows[m[1]] = mapTableRow{lat, lon, m[4]}
	}
	var chart chartOptions
	if m := regexp.MustCompile(`data-chart="([^"]+)"`).FindStringSubmatch(page); m != nil {
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &chart); err != nil {
			t.Fatalf("chart options: %v", err)
		}
	}
	return order, rows, chart
}

// mapWithTable: every dot on the map is a row of its table at the same
// place with the same verdict, which is the one the scorecard gives.
func mapWithTable(t *testing.T, s *server) {
	const id = "shmi"
	page := s.mustGet(t, "/map?indicator="+id)
	order, rows, chart := mapTable(t, page)
	if len(rows) < 100 {
		t.Fatalf("the SHMI map's table has %d trusts", len(rows))
	}
	points := 0
	for _, series := range chart.Series {
		for _, p := range series.Data {
			points++
			r, ok := rows[p.Name]
			if !ok {
				t.Errorf("%s is on the map but not in the table", p.Name)
				continue
			}
			if len(p.Value) != 2 || p.Value[0] != r.lon || p.Value[1] != r.lat {
				t.Errorf("%s: on the map at %v, in the table at %v, %v", p.Name, p.Value, r.lat, r.lon)
			}
			if want := indicators.Comparison(r.verdict).Words(); series.Name != want {
				t.Errorf("%s: coloured as %q on the map, %q in the table", p.Name, series.Name, want)
			}
		}
	}
	if points != len(rows) {
		t.Errorf("%d dots on the map, %d rows in its table", points, len(rows))
	}
	if !regexp.MustCompile(`<p id="summary">\d+ organisations with a value for .+ are on the map, by verdict: .*higher than expected \d+`).MatchString(page) {
		t.Error("the map has no summary sentence counting its verdicts")
	}
	// The verdict is the scorecard's, for the same trust and indicator.
	for _, code := range order[:min(12, len(order))] {
		var verdict string
		for _, item := range twinItems(t, s, "/organisations/"+code+"?format=json") {
			if item["indicator_id"] == id {
				verdict = item["verdict"]
			}
		}
		if verdict != rows[code].verdict {
			t.Errorf("%s: the map says %q, its scorecard %q", code, rows[code].verdict, verdict)
		}
	}
	// The twin is the table.
	twin := twinItems(t, s, "/map?indicator="+id+"&format=json")
	if len(twin) != len(rows) {
		t.Errorf("the JSON twin has %d rows, the table %d", len(twin), len(rows))
	}
	for _, item := range twin {
		if r := rows[item["organisation_code"]]; item["verdict"] != r.verdict {
			t.Errorf("%s: the twin says %q, the table %q", item["organisation_code"], item["verdict"], r.verdict)
		}
	}

	// For every indicator, the map's verdicts are the indicator page's.
	var list struct{ Items []struct{ ID string } }
	if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/indicators")), &list); err != nil {
		t.Fatal(err)
	}
	for _, ind := range list.Items {
		verdicts := map[string]string{}
		for _, item := range twinItems(t, s, "/indicators/"+ind.ID+"?format=json") {
			verdicts[item["organisation_code"]] = item["verdict"]
		}
		mapped := twinItems(t, s, "/map?indicator="+ind.ID+"&format=json")
		if len(mapped) == 0 {
			t.Errorf("%s: nothing on the map", ind.ID)
		}
		for _, item := range mapped {
			if want, ok := verdicts[item["organisation_code"]]; !ok || item["verdict"] != want {
				t.Errorf("%s %s: the map says %q, the indicator page %q", ind.ID, item["organisation_code"], item["verdict"], want)
			}
		}
	}

	// Near a postcode district: only trusts within the distance, nearest
	// first, each as on the whole map.
	near := s.mustGet(t, "/map?indicator="+id+"&near=LS1&km=40")
	nearOrder, nearRows, _ := mapTable(t, near)
	if len(nearRows) == 0 || len(nearRows) >= len(rows) {
		t.Fatalf("within 40 km of LS1: %d trusts of %d", len(nearRows), len(rows))
	}
	var last float64
	for _, item := range twinItems(t, s, "/map?indicator="+id+"&near=LS1&km=40&format=json") {
		d, err := strconv.ParseFloat(item["distance_km"], 64)
		if err != nil || d > 40 || d < last {
			t.Errorf("%s at %q km, after %v km", item["organisation_code"], item["distance_km"], last)
		}
		last = d
	}
	for _, code := range nearOrder {
		if nearRows[code] != rows[code] {
			t.Errorf("%s near LS1 %+v, on the whole map %+v", code, nearRows[code], rows[code])
		}
	}
	if !strings.Contains(near, "within 40 km of LS1") {
		t.Error("the map near LS1 does not say so")
	}
	// A full postcode is read as the search reads it.
	if _, r, _ := mapTable(t, s.mustGet(t, "/map?indicator="+id+"&near=TS18+1HU&km=40")); len(r) == 0 {
		t.Error("no trust within 40 km of TS18 1HU")
	}

	// Bad parameters are a 400 naming the parameter.
	for path, param := range map[string]string{
		"/map?indicator=no-such-thing":   "indicator",
		"/map?indicator=shmi&near=QQ99":  "near",
		"/map?indicator=shmi&near=hello": "near",
		"/map?indicator=shmi&km=-3":      "km",
		"/map?indicator=shmi&km=lots":    "km",
	} {
		if status, body, _ := s.get(t, path); status != http.StatusBadRequest || !strings.Contains(body, "The "+param+" parameter") {
			t.Errorf("%s: %d, want 400 naming %s", path, status, param)
		}
	}
	// Without an indicator, the page offers them.
	if choose := s.mustGet(t, "/map"); !strings.Contains(choose, `href="/map?indicator=shmi"`) {
		t.Error("the map without an indicator does not offer the SHMI")
	}
	// A search for a postcode leads to the map near it, which keeps the
	// postcode when an indicator is chosen.
	search := s.mustGet(t, "/search?q=TS18+1HU")
	link := regexp.MustCompile(`<p id="near-map"><a href="(/map\?near=[^"]+)">`).FindStringSubmatch(search)
	if link == nil {
		t.Fatal("the search near TS18 1HU does not link to the map")
	}
	if choose := s.mustGet(t, html.UnescapeString(link[1])); !strings.Contains(choose, `href="/map?indicator=shmi&amp;near=TS18%201HU"`) {
		t.Error("the map near TS18 1HU does not keep the postcode in its choice of indicators")
	}
}
