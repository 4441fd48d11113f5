package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// citizenPages checks what a first-time visitor meets: every scorecard
// value over a year old says its age, headlines are plain English, the
// chart script loads only where a chart is drawn (and without JavaScript
// the chart's place says the table holds its figures), and short
// addresses such as /licence lead to their pages.
func citizenPages(t *testing.T, s *server) {
	t.Run("every scorecard value over a year old says its age", func(t *testing.T) {
		period := regexp.MustCompile(`(?s)aria-hidden="true">Period </span>(.*?)</td>`)
		var old int
		for _, code := range []string{"RR8", "RX1", "RA2", "A81001"} {
			page := s.mustGet(t, "/organisations/"+code)
			for _, cell := range period.FindAllStringSubmatch(page, -1) {
				isOld := regexp.MustCompile(`(January|February|March|April|May|June|July|August|September|October|November|December) 20(0\d|1\d|2[0-4])\b|20(0\d|1\d|2[0-4])/`).MatchString(cell[1])
				hasAge := regexp.MustCompile(`candour-age">from \w+ \d{4}, \d+ years? old<`).MatchString(cell[1])
				if isOld != hasAge {
					t.Errorf("%s: a period cell (old: %v) with age %v: %.200s", code, isOld, hasAge, cell[1])
				}
				if isOld {
					old++
				}
			}
		}
		if old == 0 {
			t.Error("no scorecard value over a year old was found; the check proves nothing")
		}
	})
	t.Run("headlines are plain English", func(t *testing.T) { headlinesArePlain(t, s) })
	t.Run("discovery and filtered extracts", func(t *testing.T) { discoveryAndExtracts(t, s) })
	t.Run("indicator pages for people", func(t *testing.T) { indicatorPageForPeople(t, s) })
	t.Run("the chart script only where a chart is drawn", func(t *testing.T) {
		for path, charts := range map[string]bool{"/": false, "/datasets": false, "/compare?org=RR8&org=RX1": false, "/search?q=leeds": false,
			"/organisations/Y63": false, "/indicators/shmi": true, "/organisations/RR8": true, "/audits/synthetic-surgical-outcomes": true} {
			page := s.mustGet(t, path)
			if got := strings.Contains(page, "echarts.min.js"); got != charts {
				t.Errorf("%s loads the chart script: %v, want %v", path, got, charts)
			}
			if charts && strings.Contains(page, `class="candour-chart"`) && !strings.Contains(page, "The table below holds the same figures") {
				t.Errorf("%s: a chart's place says nothing without JavaScript", path)
			}
		}
	})
	t.Run("short addresses lead to their pages", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for short, want := range map[string]string{"/licence": "/pages/licence", "/about": "/pages/about", "/developers": "/pages/developers",
			"/opt-out": "/pages/your-data", "/Licence": "/pages/licence"} {
			resp, err := client.Get(s.base + short)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
				t.Errorf("%s: %d to %q, want 301 to %s", short, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
		if status, _, _ := s.get(t, "/no-such-page"); status != http.StatusNotFound {
			t.Errorf("/no-such-page: %d, want 404", status)
		}
		for _, page := range []string{"how-to-read-a-scorecard", "how-we-compare", "funnel-plots", "risk-adjusted", "your-data", "developers"} {
			if status, _, _ := s.get(t, "/pages/"+page); status != http.StatusOK {
				t.Errorf("/pages/%s: %d", page, status)
			}
		}
		if opt := s.mustGet(t, "/pages/your-data"); !strings.Contains(opt, "Type 1 opt-out") || !strings.Contains(opt, "National data opt-out") || !strings.Contains(opt, "NHS App") {
			t.Error("the data page does not explain both opt-outs")
		}
	})
}

// discoveryAndExtracts: the footer leads to the developer page and the
// feeds; a dataset page links "what changed" between consecutive
// releases; a release page's form leads to a filtered extract without
// JavaScript.
func discoveryAndExtracts(t *testing.T, s *server) {
	home := s.mustGet(t, "/")
	for _, want := range []string{`href="/pages/developers"`, `href="/api"`, `href="/feeds/releases.atom"`} {
		if !strings.Contains(home, want) {
			t.Errorf("the footer lacks %s", want)
		}
	}
	if shmi := s.mustGet(t, "/datasets/shmi"); !strings.Contains(shmi, `/datasets/shmi/changes?from=9&amp;to=10`) || !strings.Contains(shmi, `href="/pages/developers"`) {
		t.Error("the SHMI dataset page does not link what changed from version 9 to 10, or the developer page")
	}
	release := s.mustGet(t, "/datasets/shmi/releases/10")
	form := regexp.MustCompile(`<form method="get" action="(/datasets/shmi/releases/10/extract)"[^>]*>\s*<input type="hidden" name="file" value="([^"]+)">`).FindStringSubmatch(release)
	if form == nil || !strings.Contains(release, `name="organisation"`) {
		t.Fatal("the release page has no filtered-extract form with an organisation box")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.base + form[1] + "?file=" + form[2] + "&organisation=rr8&from=&to=&format=csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	location := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(location, "/rows/"+form[2]+"?") || !strings.Contains(location, "eq.PROVIDER=RR8") || strings.Contains(location, "gte.") {
		t.Fatalf("the extract form: %d to %q", resp.StatusCode, location)
	}
	status, csv, _ := s.get(t, location)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if status != http.StatusOK || len(lines) != 2 || !strings.Contains(lines[1], ",RR8,") {
		t.Errorf("the extract for RR8: %d, %d lines: %.300s", status, len(lines), csv)
	}
	for _, bad := range []string{"?file=nope.csv&format=csv", "?file=" + form[2] + "&format=xls"} {
		if status, _, _ := s.get(t, form[1]+bad); status != http.StatusNotFound && status != http.StatusBadRequest {
			t.Errorf("extract%s: %d, want 404 or 400", bad, status)
		}
	}
}

// indicatorPageForPeople: a reader finds their own trust by code or name
// (?org=, no JavaScript), filters by region by name, and finds the method
// in a "How this is calculated" section in plain words.
func indicatorPageForPeople(t *testing.T, s *server) {
	page := s.mustGet(t, "/indicators/shmi?org=RR8")
	found := regexp.MustCompile(`(?s)<div class="nhsuk-inset-text" id="found">.*?Leeds Teaching Hospitals NHS Trust</a>: [0-9.]+, number (\d+) of (\d+) in the table below`).FindStringSubmatch(page)
	if found == nil || !strings.Contains(page, `class="nhsuk-table__row candour-highlight" id="distribution-RR8"`) {
		t.Error("?org=RR8 does not find and highlight Leeds Teaching Hospitals on the SHMI page")
	}
	if byName := s.mustGet(t, "/indicators/shmi?org=leeds+teaching"); !strings.Contains(byName, `id="distribution-RR8"`) || !strings.Contains(byName, "candour-highlight") {
		t.Error("?org=leeds teaching does not find RR8 by name")
	}
	if many := s.mustGet(t, "/indicators/shmi?org=university"); !strings.Contains(many, "matches") || !strings.Contains(many, `/indicators/shmi?org=RX1#found`) {
		t.Error("?org=university does not offer the trusts it matches")
	}
	if none := s.mustGet(t, "/indicators/shmi?org=zzzz"); !strings.Contains(none, "No organisation in this table is called or coded “zzzz”") {
		t.Error("?org=zzzz does not say nothing matched")
	}
	if !regexp.MustCompile(`<option value="Y63"[^>]*>North East and Yorkshire Comm Region \(Y63\)</option>`).MatchString(page) {
		t.Error("the region filter does not name its regions by the names the data gives them")
	}
	how := page[strings.Index(page, `id="how-calculated"`):]
	for _, want := range []string{"/pages/how-we-compare", "/pages/funnel-plots", "/pages/risk-adjusted", "overdispersion"} {
		if !strings.Contains(how, want) {
			t.Errorf("the SHMI page's How this is calculated section lacks %q", want)
		}
	}
	before := page[:strings.Index(page, `id="how-calculated"`)]
	for _, jargon := range []string{"τ²", "φ =", "winsorised", "Byar"} {
		if strings.Contains(before, jargon) {
			t.Errorf("%q appears in the SHMI page's main text, before How this is calculated", jargon)
		}
	}
	if !strings.Contains(s.mustGet(t, "/indicators/cancer-62-day"), `id="caterpillar-title"`) {
		t.Error("the caterpillar chart has no title")
	}
}
