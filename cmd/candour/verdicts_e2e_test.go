package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// verdictRow is what one surface says of one organisation's latest value
// of one indicator.
type verdictRow struct{ period, value, verdict, words, sentence, funnel string }

func rowOf(m map[string]string) verdictRow {
	return verdictRow{m["period"], m["value"], m["verdict"], m["verdict_words"], m["verdict_sentence"], m["funnel_position"]}
}

// oneVerdictEverywhere checks, over the demo, that every indicator's
// verdict for every organisation is the same on the indicator page (and
// its twins and download), in the API, on the organisation's scorecard
// (page and twin) and on the comparison page; and that the SHMI's verdict
// is NHS Digital's published banding.
func oneVerdictEverywhere(t *testing.T, s *server) {
	var list struct{ Items []struct{ ID string } }
	if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/indicators")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) < 8 {
		t.Fatalf("the demo has %d indicators", len(list.Items))
	}
	byIndicator := map[string]map[string]verdictRow{} // indicator → organisation → row
	orgs := map[string]bool{}
	for _, ind := range list.Items {
		id := ind.ID
		page := twinItems(t, s, "/indicators/"+id+"?format=json")
		byOrg := map[string]verdictRow{}
		counts := map[string]int{}
		for _, item := range page {
			byOrg[item["organisation_code"]] = rowOf(item)
			orgs[item["organisation_code"]] = true
			if item["value"] != "" {
				counts[item["verdict"]]++
			}
		}
		byIndicator[id] = byOrg
		same := func(surface string, items []map[string]string) {
			t.Helper()
			if len(items) != len(byOrg) {
				t.Errorf("%s: %s has %d organisations, the indicator page %d", id, surface, len(items), len(byOrg))
			}
			for _, item := range items {
				if got, want := rowOf(item), byOrg[item["organisation_code"]]; got != want {
					t.Errorf("%s %s: %s says %+v, the indicator page %+v", id, item["organisation_code"], surface, got, want)
				}
			}
		}
		same("the download", csvItems(t, s.mustGet(t, "/indicators/"+id+"/download.csv")))
		same("the CSV twin", csvItems(t, s.mustGet(t, "/indicators/"+id+"?format=csv")))
		api := apiObservations(t, s, id)
		same("the API", api)
		// The API and the twins name every figure alike.
		header := strings.Split(strings.TrimSpace(strings.SplitN(s.mustGet(t, "/indicators/"+id+"/download.csv"), "\n", 2)[0]), ",")
		for _, item := range api[:min(1, len(api))] {
			for _, col := range header {
				if _, ok := item[col]; !ok && col != "organisation" && !nullInAPI(t, s, id, col) {
					t.Errorf("%s: the API has no %q", id, col)
				}
			}
		}
		// The page's summary counts the same verdicts.
		body := s.mustGet(t, "/indicators/"+id)
		summary := html.UnescapeString(between(body, `<p id="summary">`, `</p>`))
		for verdict, words := range map[string]string{"better": "better", "worse": "worse", "higher-than-expected": "higher than expected",
			"lower-than-expected": "lower than expected", "as-expected": "as expected"} {
			if n := counts[verdict]; n > 0 && !strings.Contains(summary, fmt.Sprintf("%s %d", words, n)) {
				t.Errorf("%s: the summary %q does not count %s %d", id, summary, words, n)
			}
		}
	}

	// Scorecards and comparisons, for every organisation with an indicator.
	codes := make([]string, 0, len(orgs))
	for c := range orgs {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	started := time.Now()
	forEach(codes, 4, func(org string) {
		// On a worker goroutine: errors only, no Fatal.
		resp, err := http.Get(s.base + "/organisations/" + org + "?format=json")
		if err != nil {
			t.Errorf("scorecard of %s: %v", org, err)
			return
		}
		var twin struct{ Items []map[string]string }
		err = json.NewDecoder(resp.Body).Decode(&twin)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Errorf("scorecard of %s: %d %v", org, resp.StatusCode, err)
			return
		}
		for _, item := range twin.Items {
			if got, want := rowOf(item), byIndicator[item["indicator_id"]][org]; got != want {
				t.Errorf("%s %s: the scorecard says %+v, the indicator page %+v", item["indicator_id"], org, got, want)
			}
		}
	})
	t.Logf("%d scorecards read in %s", len(codes), time.Since(started).Round(time.Millisecond))
	trusts := slices.DeleteFunc(slices.Clone(codes), func(c string) bool { return len(c) != 3 })
	for i := 0; i+1 < len(trusts); i += 4 {
		group := trusts[i:min(i+4, len(trusts))]
		checkComparison(t, s, group, byIndicator)
	}
	leeds := s.mustGet(t, "/organisations/RR8")
	for id, byOrg := range byIndicator {
		if r, ok := byOrg["RR8"]; ok && r.sentence != "" && !strings.Contains(html.UnescapeString(leeds), r.sentence) {
			t.Errorf("RR8's scorecard page does not say %q for %s", r.sentence, id)
		}
	}
	shmiIsTheOfficialBanding(t, s, byIndicator["shmi"])
}

// checkComparison reads the comparison twin of a few organisations.
func checkComparison(t *testing.T, s *server, group []string, byIndicator map[string]map[string]verdictRow) {
	t.Helper()
	if len(group) < 2 {
		return
	}
	q := "/compare?format=json"
	for _, c := range group {
		q += "&org=" + c
	}
	for _, item := range twinItems(t, s, q) {
		for _, org := range group {
			want, ok := byIndicator[item["indicator_id"]][org]
			if !ok {
				continue
			}
			if item[org+"_verdict"] != want.verdict || item[org+"_verdict_words"] != want.words || item[org+"_period"] != want.period {
				t.Errorf("%s %s: the comparison says %s (%s, %s), the indicator page %+v", item["indicator_id"], org,
					item[org+"_verdict"], item[org+"_verdict_words"], item[org+"_period"], want)
			}
		}
	}
}

// shmiIsTheOfficialBanding compares the demo's SHMI verdicts and funnel
// limits with the banding and overdispersion limits NHS Digital published
// in the source file, for the latest period, and checks that "higher
// than expected" counts exactly the trusts above the funnel's upper limit.
func shmiIsTheOfficialBanding(t *testing.T, s *server, latest map[string]verdictRow) {
	t.Helper()
	var page struct{ Items []map[string]string }
	if err := json.Unmarshal([]byte(s.mustGet(t, "/indicators/shmi?format=json")), &page); err != nil {
		t.Fatal(err)
	}
	higher, above := 0, 0
	for _, item := range page.Items {
		if item["verdict"] == "higher-than-expected" {
			higher++
		}
		if v, u := num(item["value"]), num(item["funnel_upper_95"]); !math.IsNaN(u) && v > u {
			above++
		}
	}
	if higher == 0 || higher != above {
		t.Errorf("SHMI: %d higher than expected, %d above the funnel's upper limit", higher, above)
	}
	official := officialSHMI(t)
	period := page.Items[0]["period"] // "Rolling twelve months, published April 2014"
	date, err := time.Parse("January 2006", period[strings.LastIndex(period, "published ")+len("published "):])
	if err != nil {
		t.Fatalf("SHMI period %q: %v", period, err)
	}
	rows := official[date.Format(time.DateOnly)]
	if len(rows) != len(page.Items) {
		t.Fatalf("SHMI %s: %d trusts in the source, %d on the page", period, len(rows), len(page.Items))
	}
	band := map[string]string{"1": "higher-than-expected", "2": "as-expected", "3": "lower-than-expected"}
	for _, item := range page.Items {
		o := rows[item["organisation_code"]]
		if item["verdict"] != band[o["OD_BANDING"]] {
			t.Errorf("SHMI %s: verdict %s, NHS Digital's banding %s", item["organisation_code"], item["verdict"], o["OD_BANDING"])
		}
		for ours, theirs := range map[string]string{"funnel_lower_95": "OD_LL", "funnel_upper_95": "OD_UL"} {
			if d := math.Abs(num(item[ours]) - num(o[theirs])); !(d <= 0.00005+1e-9) {
				t.Errorf("SHMI %s: %s %s, published %s %s", item["organisation_code"], ours, item[ours], theirs, o[theirs])
			}
		}
		if latest[item["organisation_code"]].verdict != item["verdict"] {
			t.Errorf("SHMI %s: the page twin read twice disagrees", item["organisation_code"])
		}
	}
}

// officialSHMI reads the demo's SHMI source: DATE → provider → row.
func officialSHMI(t *testing.T) map[string]map[string]map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("demodata", "shmi-2011-2014.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[string]string{}
	for _, r := range records[1:] {
		row := map[string]string{}
		for i, h := range records[0] {
			row[h] = r[i]
		}
		if out[row["DATE"]] == nil {
			out[row["DATE"]] = map[string]map[string]string{}
		}
		out[row["DATE"]][row["PROVIDER"]] = row
	}
	return out
}

func twinItems(t *testing.T, s *server, path string) []map[string]string {
	t.Helper()
	var twin struct{ Items []map[string]string }
	if err := json.Unmarshal([]byte(s.mustGet(t, path)), &twin); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return twin.Items
}

func csvItems(t *testing.T, body string) []map[string]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range records[1:] {
		m := map[string]string{}
		for i, h := range records[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// apiObservations reads every page of an indicator's observations from
// the API, with numbers written as the twins write them.
func apiObservations(t *testing.T, s *server, id string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for offset := 0; ; offset += 500 {
		var page struct {
			Total int
			Items []map[string]any
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, fmt.Sprintf("/api/v1/indicators/%s/observations?limit=500&offset=%d", id, offset))), &page); err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			m := map[string]string{}
			for k, v := range item {
				switch x := v.(type) {
				case float64:
					m[k] = strconv.FormatFloat(x, 'g', -1, 64)
				case string:
					m[k] = x
				}
			}
			out = append(out, m)
		}
		if offset+500 >= page.Total {
			return out
		}
	}
}

// nullInAPI says whether the API's first item names col with a null.
func nullInAPI(t *testing.T, s *server, id, col string) bool {
	var page struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/indicators/"+id+"/observations?limit=1")), &page); err != nil || len(page.Items) == 0 {
		return false
	}
	v, ok := page.Items[0][col]
	return ok && v == nil
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}

func num(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// forEach runs fn over items with a few workers.
func forEach(items []string, workers int, fn func(string)) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range ch {
				fn(x)
			}
		}()
	}
	for _, x := range items {
		ch <- x
	}
	close(ch)
	wg.Wait()
}
