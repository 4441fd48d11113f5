package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/mmcdole/gofeed"

	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
)

// noEnv is the environment for tests: nothing from the machine leaks in.
func noEnv(string) string { return "" }

// watcher is an io.Writer that remembers what was written and reports the
// first submatch of a pattern once it appears.
type watcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	pattern *regexp.Regexp
	found   chan string
	once    sync.Once
}

func newWatcher(pattern string) *watcher {
	return &watcher{pattern: regexp.MustCompile(pattern), found: make(chan string, 1)}
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := w.pattern.FindStringSubmatch(w.buf.String()); m != nil {
		w.once.Do(func() { w.found <- m[1] })
	}
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// server is a running `candour` started through run.
type server struct {
	base    string
	dataDir string
	stdout  *watcher
	stderr  *watcher
	stop    func()
	// api holds every /api/v1 answer the test receives through
	// http.DefaultTransport to the server's OpenAPI document (watchAPI).
	api *apiWatch
}

// startCandour runs `candour <command> --addr 127.0.0.1:0 --data-dir DIR`
// and waits until it serves.
func startCandour(t *testing.T, command, dataDir string, extra ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{dataDir: dataDir, stdout: newWatcher(`serving (http://\S+)`), stderr: newWatcher(`(x^)`)}
	done := make(chan error, 1)
	go func() {
		// Form submissions answer at once, however slow a machine under
		// -race is (a test that looks at the progress page sets its own
		// --submit-wait, which comes later and wins).
		//
		// Pages are not materialised unless the test asks: rendering every
		// scorecard of the demo's 7,000 organisations in the background of
		// each short-lived server would take a core from the test. The
		// materialised pages are tested against live ones in
		// materialise_e2e_test.go.
		materialise := []string{"--materialise-pages=false"}
		if slices.ContainsFunc(extra, func(a string) bool { return strings.HasPrefix(a, "--materialise-pages") }) {
			materialise = nil
		}
		args := append([]string{command, "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn", "--submit-wait", "1m"}, materialise...)
		done <- run(ctx, append(args, extra...), noEnv, s.stdout, s.stderr)
	}()
	select {
	case s.base = <-s.stdout.found:
	case err := <-done:
		cancel()
		t.Fatalf("candour %s exited before serving: %v\nstdout:\n%s\nstderr:\n%s", command, err, s.stdout, s.stderr)
	case <-time.After(3 * time.Minute):
		cancel()
		t.Fatalf("candour %s did not start serving within 3 minutes\nstdout:\n%s", command, s.stdout)
	}
	var stopped bool
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("candour %s: %v", command, err)
				if os.Getenv("CANDOUR_TEST_DUMP") != "" {
					pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
				}
			}
		case <-time.After(30 * time.Second):
			t.Errorf("candour %s did not stop within 30 s of cancellation", command)
		}
	}
	t.Cleanup(s.stop)
	// A server that limits the API's rate (--api-rate N, N > 0) is left
	// unwatched: fetching the document would spend a request the test
	// counts.
	if i := slices.Index(extra, "--api-rate"); i < 0 || i+1 < len(extra) && extra[i+1] == "0" {
		s.api = watchAPI(t, s)
	}
	return s
}

// get fetches a path and returns its status and body.
func (s *server) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func (s *server) mustGet(t *testing.T, path string) string {
	t.Helper()
	status, body, _ := s.get(t, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", path, status)
	}
	return body
}

// candour runs a one-shot command against the server's data folder.
func (s *server) candour(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append(args, "--data-dir", s.dataDir, "--log-level", "warn"), noEnv, &out, &errOut)
	return out.String() + errOut.String(), err
}

// figure reads a number the home page marks with data-figure.
func figure(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`data-figure="` + name + `">([0-9,]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("home page has no figure %q", name)
	}
	return m[1]
}

var captionTotal = regexp.MustCompile(`<caption class="nhsuk-table__caption">([0-9,]+) (dataset|organisation)`)

func total(t *testing.T, body string) string {
	t.Helper()
	m := captionTotal.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("page has no table caption with a total")
	}
	return m[1]
}

// sums reads the demo data's original SHA256SUMS.
func sums(t *testing.T) map[string]string {
	t.Helper()
	f, err := demoFiles.Open("demodata/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, _ := strings.Cut(sc.Text(), "  ")
		out[name] = sum
	}
	return out
}

func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo; skipped with -short")
	}
	start := time.Now()
	// No per-client API limit: the OpenAPI request generator sends
	// thousands of requests (the limit is tested in TestHostileRequests).
	s := startCandour(t, "demo", filepath.Join(t.TempDir(), "candour-data"), "--api-rate", "0")
	t.Logf("demo loaded and serving in %s", time.Since(start).Round(time.Millisecond))

	t.Run("home counts", func(t *testing.T) {
		home := s.mustGet(t, "/")
		for name, want := range map[string]string{"datasets-published": "7", "trusts-open": "203", "practices-open": "6,618"} {
			if got := figure(t, home, name); got != want {
				t.Errorf("home page %s = %s, want %s", name, got, want)
			}
		}
	})

	t.Run("catalogue lists the inventory and the seven datasets", func(t *testing.T) {
		if got := total(t, s.mustGet(t, "/datasets")); got != "27" {
			t.Errorf("catalogue lists %s datasets, want 27 (20 inventory entries and 7 datasets)", got)
		}
		if got := total(t, s.mustGet(t, "/datasets?status=published")); got != "7" {
			t.Errorf("catalogue lists %s published datasets, want 7", got)
		}
		inv := s.mustGet(t, "/datasets/prescribing-data-by-gp-practice-at-chemical-level-to-be-published-by-december")
		for _, want := range []string{"Pre-release of format 29 November 2011; data 14 December 2011", "yes (released under terms of OGL)", "As written in the inventory"} {
			if !strings.Contains(inv, want) {
				t.Errorf("inventory entry page lacks its original text %q", want)
			}
		}
	})

	t.Run("eighteen published releases, one scheduled, one in review", func(t *testing.T) {
		releases := 0
		for slug, want := range map[string]int{"cancer-waiting-times-by-provider": 1, "proms-hip-and-knee-replacements": 1,
			"cqc-ratings-of-gp-practices": 1, "nhs-payments-to-general-practice": 1, "shmi": 10, "synthetic-friends-and-family-test": 1} {
			page := s.mustGet(t, "/datasets/"+slug)
			got := strings.Count(page, `href="/datasets/`+slug+`/releases/`)
			if got != want {
				t.Errorf("%s lists %d releases, want %d", slug, got, want)
			}
			releases += got
			if !strings.Contains(page, "Open Government Licence v3.0") || !strings.Contains(page, "Contains public sector information licensed under the Open Government Licence v3.0.") {
				t.Errorf("%s page does not state the licence and attribution", slug)
			}
		}
		if releases != 15 {
			t.Errorf("%d releases in all, want 15", releases)
		}
		// The eleventh SHMI release is scheduled: its calendar entry is
		// public, its content is not.
		if status, _, _ := s.get(t, "/datasets/shmi/releases/11"); status != http.StatusNotFound {
			t.Errorf("the scheduled SHMI release answers %d, want 404", status)
		}
		calendar := s.mustGet(t, "/calendar")
		if !strings.Contains(calendar, "Summary Hospital-level Mortality Indicator") || !strings.Contains(calendar, "9:30am on") {
			t.Errorf("the calendar does not announce the scheduled SHMI release")
		}
		// The CQC correction is in review: invisible.
		if status, _, _ := s.get(t, "/datasets/cqc-ratings-of-gp-practices/releases/2"); status != http.StatusNotFound {
			t.Errorf("the CQC correction in review answers %d, want 404", status)
		}
		transparency := s.mustGet(t, "/transparency")
		if strings.Count(transparency, "Rachel Reviewer") != 18 || !strings.Contains(transparency, "chain-head") {
			t.Errorf("the transparency page lists %d approvals by Rachel Reviewer, want 18 (15 releases and 3 of the synthetic audit)", strings.Count(transparency, "Rachel Reviewer"))
		}
		if out := s.stdout.String(); !strings.Contains(out, "reviewer-2") || !strings.Contains(out, "demo-reviewer-pass") {
			t.Errorf("the demo did not print its accounts:\n%s", out)
		}
		shmi := s.mustGet(t, "/datasets/shmi/releases/4")
		for _, want := range []string{"SHMI, published July 2012", "143 trusts, against 147 in the previous publication", "Rows", "SHA-256"} {
			if !strings.Contains(shmi, want) {
				t.Errorf("SHMI release 4 page lacks %q", want)
			}
		}
	})

	t.Run("organisations", func(t *testing.T) {
		if got := total(t, s.mustGet(t, "/organisations?type=nhs-trust&status=active")); got != "203" {
			t.Errorf("%s open NHS trusts, want 203", got)
		}
		practices := total(t, s.mustGet(t, "/organisations?type=gp-practice&status=active"))
		if practices != "6,618" {
			t.Errorf("%s open GP practices, want 6,618 (at least 6,000)", practices)
		}
		densham := s.mustGet(t, "/organisations/A81001")
		for _, want := range []string{"THE DENSHAM SURGERY", "TS18 1HU", "1 April 1974", "GP practice", "Open",
			"Latest CQC overall ratings of GP practices"} {
			if !strings.Contains(densham, want) {
				t.Errorf("A81001 page lacks %q", want)
			}
		}
		closed := s.mustGet(t, "/organisations/R0C")
		for _, want := range []string{"PROJECT NIGHTINGALE NHS TRUST", "Closed on 26 March 2020", "does not say which organisation took over"} {
			if !strings.Contains(closed, want) {
				t.Errorf("closed trust R0C page lacks %q", want)
			}
		}
		independent := s.mustGet(t, "/organisations/NV1")
		for _, want := range []string{"INHEALTH LIMITED", "Not in the national directory", "Cancer waiting times by provider, January 2026"} {
			if !strings.Contains(independent, want) {
				t.Errorf("NV1 page lacks %q", want)
			}
		}
	})

	t.Run("synthetic clinical audit", func(t *testing.T) {
		planted, err := syntheticOutlierHospital()
		if err != nil {
			t.Fatal(err)
		}
		last := audit.GenerateSyntheticPeriod(syntheticSeed, len(syntheticPeriods)-1, syntheticPeriods[len(syntheticPeriods)-1].label)
		seen := map[string]int{}
		twoProviders := ""
		for _, c := range last.Consultants {
			if seen[c.Code]++; seen[c.Code] == 2 && twoProviders == "" {
				twoProviders = c.Code
			}
		}
		const a = "/audits/synthetic-surgical-outcomes"
		pages := map[string][]string{
			"/audits": {"Synthetic Surgical Outcomes Audit", "Synthetic demonstration data", "2022/23, 2023/24, 2024/25"},
			a: {"Synthetic demonstration data", "Exact Poisson limits", "data-chart=", "Alarm: high", planted, "2024/25", "Risk-adjusted",
				"Fewer than 20"},
			a + "?measure=return-to-theatre":                         {"Not risk-adjusted", "Normal approximation to the binomial", "multiplicative"},
			a + "?level=team":                                        {"Synthetic Team", "Clinical team"},
			a + "?level=consultant&period=2023%2F24":                 {"Synthetic Consultant", "2023/24"},
			a + "/units/hospital/" + planted:                         {"Synthetic demonstration data", "2022/23", "2023/24", "2024/25", "data-chart=", "Alarm"},
			a + "/units/consultant/" + twoProviders:                  {"Synthetic demonstration data", "has a result at each"},
			a + "/units/team/SYN-T001":                               {"Synthetic Team 001"},
			"/organisations/" + planted:                              {"Clinical audit results", a + "/units/hospital/" + planted, "Synthetic demonstration data"},
			"/datasets/synthetic-surgical-outcomes-audit/releases/3": {"synthetic-audit-outcomes-2024.csv"},
		}
		for u, want := range pages {
			body := s.mustGet(t, u)
			for _, w := range want {
				if !strings.Contains(body, w) && !strings.Contains(body, html.EscapeString(w)) {
					t.Errorf("%s lacks %q", u, w)
				}
			}
			if strings.Contains(body, "case-note review is under way") {
				t.Errorf("%s shows the provider's private outlier response", u)
			}
		}
		// The consultant level (about a thousand units) comes in pages; the
		// funnel plot on each shows every unit.
		first := s.mustGet(t, a+"?level=consultant")
		second := s.mustGet(t, a+"?level=consultant&page=2")
		if !strings.Contains(first, `id="pages"`) || !strings.Contains(first, "Units 1 to 200 of ") || len(first) > 500_000 ||
			!strings.Contains(second, "Units 201 to 400 of ") || !strings.Contains(second, `<strong aria-current="page">2</strong>`) {
			t.Errorf("consultant pages: first %d bytes, second %d bytes, without the expected pagination", len(first), len(second))
		}
		if status, body, _ := s.get(t, a+"?level=consultant&page=99"); status != http.StatusBadRequest || !strings.Contains(body, "page") {
			t.Errorf("page 99: %d", status)
		}
		// Pages go out compressed to clients that accept it.
		req, _ := http.NewRequest(http.MethodGet, s.base+a+"?level=consultant", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		zipped, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil || resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("compressed page: %v, headers %v", err, resp.Header)
		} else if unzipped, _ := io.ReadAll(zr); len(unzipped) < 5*len(zipped) || !bytes.Contains(unzipped, []byte("Units 1 to 200 of ")) {
			t.Errorf("compressed page: %d bytes for %d", len(zipped), len(unzipped))
		}
		// The same page uncompressed says so too, for shared caches.
		req.Header.Set("Accept-Encoding", "identity")
		resp, err = (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("uncompressed page: headers %v", resp.Header)
		}
		consultant := s.mustGet(t, a+"/units/consultant/"+twoProviders)
		if n := strings.Count(consultant, "(SYN-H"); n < 2 {
			t.Errorf("consultant %s at two providers shows %d providers", twoProviders, n)
		}
		// Every download is labelled synthetic.
		for _, u := range []string{a + "/outcomes.csv", a + "/outcomes.csv?level=consultant", a + "/units/hospital/" + planted + ".csv",
			"/datasets/synthetic-surgical-outcomes-audit/releases/3/files/synthetic-audit-outcomes-2024.csv"} {
			csv := s.mustGet(t, u)
			lines := strings.Split(strings.TrimSpace(csv), "\n")
			if len(lines) < 2 {
				t.Errorf("%s has no rows", u)
				continue
			}
			for i, l := range lines[1:] {
				if !strings.Contains(l, audit.SyntheticNote) {
					t.Errorf("%s row %d is not labelled synthetic: %s", u, i+2, l)
					break
				}
			}
		}
		// No real trust is linked to the synthetic audit.
		if leeds := s.mustGet(t, "/organisations/RR8"); strings.Contains(leeds, "Clinical audit results") {
			t.Error("a real trust links to the synthetic audit")
		}
	})

	t.Run("search relevance", func(t *testing.T) {
		type result struct {
			Kind, Title, URL, Code string
			DistanceKM             *float64 `json:"distance_km"`
		}
		type answer struct {
			Total   int
			Results []result
			Facets  map[string][]struct {
				Value string
				Count int
			}
			Near *struct {
				Outcode string
				Results []result
			}
		}
		search := func(t *testing.T, query string) answer {
			t.Helper()
			status, body, _ := s.get(t, "/api/v1/search?limit=10&snippets=false&"+query)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %s", query, status, body)
			}
			var a answer
			if err := json.Unmarshal([]byte(body), &a); err != nil {
				t.Fatal(err)
			}
			return a
		}
		// Practices in Stockton-on-Tees, from the directory file itself.
		stockton := map[string]bool{}
		f, err := os.Open("demodata/epraccur.csv")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r[25] == "4" && strings.Contains(strings.Join(r[4:9], " "), "STOCKTON") {
				stockton[r[0]] = true
			}
		}
		for _, tc := range []struct {
			q    string
			want string // the URL expected
			top  int    // within the first top results
		}{
			{"Densham", "/organisations/A81001", 1},
			{"densham surgery", "/organisations/A81001", 1},
			{"Dens", "/organisations/A81001", 1},
			{"A81001", "/organisations/A81001", 1},
			{"a81001", "/organisations/A81001", 1},
			{"TS18 1HU", "/organisations/A81001", 3},
			{"TS181HU", "/organisations/A81001", 3},
			{"ts18 1hu", "/organisations/A81001", 3},
			{"leeds teaching", "/organisations/RR8", 1},
			{"leeds teach", "/organisations/RR8", 3},
			{"RR8", "/organisations/RR8", 1},
			{"nottingham university hospitals", "/organisations/RX1", 1},
			{"royal surrey", "/organisations/RA2", 3},
			{"cancer waiting times", "/datasets/cancer-waiting-times-by-provider", 1},
			{"waiting times", "/datasets/cancer-waiting-times-by-provider", 3},
			{"hip replacement", "/datasets/proms-hip-and-knee-replacements", 3},
			{"knee replacements", "/datasets/proms-hip-and-knee-replacements", 3},
			{"PROMs", "/datasets/proms-hip-and-knee-replacements", 3},
			{"mortality", "/datasets/shmi", 3},
			{"SHMI", "/datasets/shmi", 3},
			{"Summary Hospital-level Mortality Indicator", "/datasets/shmi", 1},
			{"CQC ratings", "/datasets/cqc-ratings-of-gp-practices", 3},
			{"payments to general practice", "/datasets/nhs-payments-to-general-practice", 3},
			{"Faster Diagnosis Standard", "/indicators/cancer-faster-diagnosis", 3},
			{"synthetic surgical outcomes", "/audits/synthetic-surgical-outcomes", 3},
			{"accessibility statement", "/pages/accessibility", 1},
		} {
			a := search(t, "q="+url.QueryEscape(tc.q))
			found := -1
			for i, r := range a.Results {
				if r.URL == tc.want {
					found = i
					break
				}
			}
			if found < 0 || found >= tc.top {
				var got []string
				for _, r := range a.Results[:min(5, len(a.Results))] {
					got = append(got, r.URL)
				}
				t.Errorf("%q: %s at position %d, want within the first %d; got %v", tc.q, tc.want, found+1, tc.top, got)
			}
		}
		// A misspelt town finds its practices.
		a := search(t, "q="+url.QueryEscape("stockton on tess"))
		practices := 0
		for _, r := range a.Results[:min(5, len(a.Results))] {
			if stockton[r.Code] {
				practices++
			}
		}
		if practices < 2 {
			t.Errorf("stockton on tess: %d practices in Stockton-on-Tees in the first five: %+v", practices, a.Results[:min(5, len(a.Results))])
		}
		// Facets narrow: a town, only GP practices.
		for _, r := range search(t, "q=leeds&type=gp-practice").Results {
			if r.Kind != "organisation" || r.Code == "" || r.Code[0] < 'A' || r.Code[0] > 'Z' || len(r.Code) != 6 {
				t.Errorf("leeds, GP practices only: %+v", r)
			}
		}
		facets := search(t, "q=")
		kinds := map[string]int{}
		for _, f := range facets.Facets["kind"] {
			kinds[f.Value] = f.Count
		}
		if kinds["dataset"] != 27 || kinds["organisation"] < 17000 || kinds["release"] != 18 || kinds["calendar"] < 1 || kinds["page"] < 4 {
			t.Errorf("kind facet counts: %v", kinds)
		}
		// A postcode lists the nearest organisations with their distance.
		near := search(t, "q="+url.QueryEscape("TS18 1HU"))
		if near.Near == nil || near.Near.Outcode != "TS18" || len(near.Near.Results) == 0 || near.Near.Results[0].DistanceKM == nil ||
			*near.Near.Results[0].DistanceKM > 5 {
			t.Errorf("near TS18: %+v", near.Near)
		}
		nearJourney(t, s, rows)
		page := s.mustGet(t, "/search?q=TS18")
		for _, want := range []string{"Near TS18", " km</span>", "Narrow the results"} {
			if !strings.Contains(page, want) {
				t.Errorf("search page for TS18 lacks %q", want)
			}
		}
		if empty := s.mustGet(t, "/search?q=zzzqqqxxx"); !strings.Contains(empty, "No results") || !strings.Contains(empty, "check the spelling") {
			t.Error("the empty result page does not suggest what to do")
		}
		if page := s.mustGet(t, "/search?q=mortality"); !strings.Contains(page, "<mark>Mortality</mark>") {
			t.Error("the search page does not mark the matching words")
		}
		var sorted struct{ Results []struct{ Updated string } }
		_, body, _ := s.get(t, "/api/v1/search?kind=dataset&sort=updated&limit=50")
		if json.Unmarshal([]byte(body), &sorted) != nil || len(sorted.Results) < 6 {
			t.Fatalf("sorted: %s", body)
		}
		for i := 1; i < len(sorted.Results); i++ {
			if sorted.Results[i].Updated > sorted.Results[i-1].Updated {
				t.Errorf("datasets sorted by most recently updated: %s after %s", sorted.Results[i].Updated, sorted.Results[i-1].Updated)
			}
		}
	})

	t.Run("search refuses bad input clearly", func(t *testing.T) {
		for path, want := range map[string]int{
			"/search?q=" + strings.Repeat("a", 600):                  http.StatusBadRequest,
			"/api/v1/search?q=" + strings.Repeat("a", 600):           http.StatusBadRequest,
			"/search?q=%FF%FE":                                       http.StatusBadRequest,
			"/api/v1/search?q=%FF":                                   http.StatusBadRequest,
			"/search?q=" + url.QueryEscape(`title:"x" AND (y OR z)`): http.StatusOK,
			"/search?q=" + url.QueryEscape(`+-&&||!(){}[]^"~*?:\/`):  http.StatusOK,
			"/api/v1/search?q=" + url.QueryEscape("*:*"):             http.StatusOK,
			"/search?q=leeds&page=999999999999":                      http.StatusBadRequest,
			"/search?q=leeds&page=-1":                                http.StatusBadRequest,
			"/search?q=leeds&page=400":                               http.StatusNotFound,
			"/search?q=leeds&sort=alphabetical":                      http.StatusBadRequest,
			"/api/v1/search?q=leeds&limit=100000":                    http.StatusBadRequest,
			"/api/v1/search?q=leeds&limit=0":                         http.StatusBadRequest,
		} {
			status, body, h := s.get(t, path)
			if status != want {
				t.Errorf("%.80s: %d, want %d", path, status, want)
			}
			if status == http.StatusBadRequest && strings.HasPrefix(path, "/api/") {
				var e struct {
					Error struct{ Code, Message string }
				}
				if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" || !strings.Contains(e.Error.Message, "parameter") ||
					!strings.HasPrefix(h.Get("Content-Type"), "application/json") {
					t.Errorf("%.80s: error body %s", path, body)
				}
			}
			if status == http.StatusBadRequest && !strings.HasPrefix(path, "/api/") && !strings.Contains(body, "parameter") {
				t.Errorf("%.80s: the page does not name the parameter", path)
			}
		}
	})

	t.Run("scorecards, indicators and comparisons", func(t *testing.T) {
		leeds := s.mustGet(t, "/organisations/RR8")
		for _, want := range []string{"How it compares", "Deaths compared with the number expected (SHMI)", "0.95",
			"Started first treatment within 62 days", "Constitutional standard: 85%", "95% confidence interval", "(10 periods)",
			"Cannot be calculated: the periods overlap", "Cannot be calculated: fewer than five periods", "data-chart=",
			"As expected: within the 95% control limits", "Published "} {
			if !strings.Contains(leeds, want) {
				t.Errorf("RR8 scorecard lacks %q", want)
			}
		}
		practice := s.mustGet(t, "/organisations/A81001")
		for _, want := range []string{"Care Quality Commission overall rating", "Rated Good", "Registered patients (list size):</strong> 4,029",
			"Urban or rural", "Context: not compared"} {
			if !strings.Contains(practice, want) {
				t.Errorf("A81001's scorecard lacks %q", want)
			}
		}
		ind := s.mustGet(t, "/indicators/cancer-62-day")
		for _, want := range []string{"Wilson score", "Values with 95% confidence intervals", "too few to show reliably", "Leeds Teaching Hospitals"} {
			if !strings.Contains(ind, want) {
				t.Errorf("62-day indicator page lacks %q", want)
			}
		}
		shmi := s.mustGet(t, "/indicators/shmi")
		for _, want := range []string{"Funnel plot", "Funnel position", "within the limits", "overdispersion", "τ² = ", "data-chart="} {
			if !strings.Contains(shmi, want) {
				t.Errorf("SHMI indicator page lacks %q", want)
			}
		}
		comparePageChecks(t, s)
		for u, want := range map[string]struct {
			status int
			text   string
		}{
			"/indicators/cancer-62": {404, "Did you mean: Started first treatment within 62 days"},
			"/compare?org=RR8":      {200, "So far: <a href=\"/organisations/RR8\">Leeds Teaching Hospitals NHS Trust</a>"},
			"/compare":              {200, `id="add-org"`},
			"/compare?org=RR8&org=RX1&org=RA2&org=RTD&org=RVW":               {400, "You chose 5"},
			"/compare?org=a&org=b&org=c&org=d&org=e&org=f&org=g&org=h&org=i": {400, "You gave 9"},
		} {
			status, body, _ := s.get(t, u)
			if status != want.status || !strings.Contains(body, want.text) {
				t.Errorf("%s: %d, want %d with %q", u, status, want.status, want.text)
			}
		}
	})

	t.Run("one verdict per indicator on every surface", func(t *testing.T) { oneVerdictEverywhere(t, s) })

	t.Run("release files: ETags, conditional requests, ranges, gzip, latest and manifest", func(t *testing.T) {
		const path = "/datasets/proms-hip-and-knee-replacements/releases/1/files/proms-hip-knee-2018-19.csv"
		want := sums(t)["proms-hip-knee-2018-19.csv"]
		client := &http.Client{Transport: &http.Transport{DisableCompression: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(p string, headers ...string) (*http.Response, []byte) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, s.base+p, nil)
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, b
		}
		resp, full := get(path)
		sum := sha256.Sum256(full)
		if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != want || resp.Header.Get("ETag") != `"`+want+`"` ||
			resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Accept-Ranges") != "bytes" ||
			!strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("identity: %d %v", resp.StatusCode, resp.Header)
		}
		modified := resp.Header.Get("Last-Modified")
		if r, _ := get(path, "If-None-Match", `"`+want+`"`); r.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match with the SHA-256: %d", r.StatusCode)
		}
		if r, _ := get(path, "If-Modified-Since", modified); r.StatusCode != http.StatusNotModified {
			t.Errorf("If-Modified-Since its Last-Modified: %d", r.StatusCode)
		}
		if r, _ := get(path, "If-None-Match", `"other"`, "If-Modified-Since", modified); r.StatusCode != http.StatusOK {
			t.Errorf("If-None-Match wins over If-Modified-Since: %d", r.StatusCode)
		}
		r, part := get(path, "Range", "bytes=100-199")
		if r.StatusCode != http.StatusPartialContent || string(part) != string(full[100:200]) ||
			r.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(full)) {
			t.Errorf("range: %d %q %d bytes", r.StatusCode, r.Header.Get("Content-Range"), len(part))
		}
		if r, tail := get(path, "Range", "bytes=-10"); r.StatusCode != http.StatusPartialContent || string(tail) != string(full[len(full)-10:]) {
			t.Errorf("suffix range: %d", r.StatusCode)
		}
		if r, _ := get(path, "Range", fmt.Sprintf("bytes=%d-", len(full)+5)); r.StatusCode != http.StatusRequestedRangeNotSatisfiable ||
			r.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(full)) {
			t.Errorf("unsatisfiable range: %d %q", r.StatusCode, r.Header.Get("Content-Range"))
		}
		if r, whole := get(path, "Range", "bytes=0-9", "If-Range", `"stale"`); r.StatusCode != http.StatusOK || len(whole) != len(full) {
			t.Errorf("If-Range with another ETag: %d, %d bytes", r.StatusCode, len(whole))
		}
		r, zipped := get(path, "Accept-Encoding", "gzip")
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatalf("gzip: %v (%d, %v)", err, r.StatusCode, r.Header)
		}
		unzipped, _ := io.ReadAll(zr)
		// Repr-Digest (RFC 9530): the SHA-256 of what was sent, so a client
		// checks the gzip variant's bytes as it checks the file's.
		zsum := sha256.Sum256(zipped)
		if got, want := r.Header.Get("Repr-Digest"), "sha-256=:"+base64.StdEncoding.EncodeToString(zsum[:])+":"; got != want {
			t.Errorf("gzip Repr-Digest %q, want %q (the compressed bytes')", got, want)
		}
		if got, want := resp.Header.Get("Repr-Digest"), "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":"; got != want {
			t.Errorf("identity Repr-Digest %q, want %q", got, want)
		}
		if rr, _ := get(path, "Range", "bytes=0-9"); rr.Header.Get("Repr-Digest") != resp.Header.Get("Repr-Digest") {
			t.Errorf("a range answer's Repr-Digest %q is not the whole file's", rr.Header.Get("Repr-Digest"))
		}
		if string(unzipped) != string(full) || r.Header.Get("ETag") != `"`+want+`-gzip"` || r.Header.Get("Content-Encoding") != "gzip" ||
			len(zipped) >= len(full) {
			t.Errorf("gzip: ETag %q, %d bytes compressed of %d", r.Header.Get("ETag"), len(zipped), len(full))
		}
		if r, _ := get(path, "Accept-Encoding", "gzip", "If-None-Match", `"`+want+`"`); r.StatusCode != http.StatusOK {
			t.Errorf("the identity ETag must not validate the gzip representation: %d", r.StatusCode)
		}
		if r, _ := get(path, "Accept-Encoding", "gzip", "If-None-Match", `"`+want+`-gzip"`); r.StatusCode != http.StatusNotModified {
			t.Errorf("the gzip ETag: %d", r.StatusCode)
		}
		// latest follows the newest published version.
		if r, _ := get("/datasets/shmi/releases/latest/files/shmi-2014-01.csv"); r.StatusCode != http.StatusFound ||
			r.Header.Get("Location") != "/datasets/shmi/releases/10/files/shmi-2014-01.csv" {
			t.Errorf("latest file: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r, _ := get("/datasets/shmi/releases/latest"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/datasets/shmi/releases/10" {
			t.Errorf("latest release: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		// The manifest.
		r, body := get("/datasets/proms-hip-and-knee-replacements/releases/1/manifest.json")
		var m struct {
			Version int
			Licence struct{ ID, URL string }
			Files   []struct {
				Name, URL, SHA256, SchemaSHA256 string
				Bytes, Rows                     int64
			}
		}
		if err := json.Unmarshal(body, &m); err != nil || r.StatusCode != 200 || len(m.Files) != 1 || m.Files[0].SHA256 != want ||
			m.Files[0].Bytes != int64(len(full)) || m.Files[0].Rows < 7000 || len(m.Files[0].SchemaSHA256) != 64 || m.Licence.ID != "OGL-UK-3.0" ||
			m.Files[0].URL != path {
			t.Errorf("manifest: %v %s", err, body)
		}
		if r, _ := get("/datasets/shmi/releases/11/manifest.json"); r.StatusCode != http.StatusNotFound {
			t.Errorf("the scheduled release's manifest: %d, want 404", r.StatusCode)
		}
	})

	t.Run("conditional GET for pollers: feeds, API, pages, assets", func(t *testing.T) {
		for _, path := range []string{"/feeds/releases.atom", "/api/v1/datasets", "/api/3/action/package_list", "/datasets?format=csv",
			"/datasets/shmi/releases/10/datapackage.json", "/", "/static/candour.css"} {
			_, _, h := s.get(t, path)
			tag := h.Get("ETag")
			if !strings.HasPrefix(tag, `W/"`) {
				t.Errorf("%s: ETag %q, want a weak tag", path, tag)
				continue
			}
			req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
			req.Header.Set("If-None-Match", tag)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("%s with If-None-Match: %d, %d bytes", path, resp.StatusCode, len(body))
			}
		}
		// A feed also answers If-Modified-Since with its Last-Modified.
		_, _, h := s.get(t, "/feeds/releases.atom?dataset=shmi")
		req, _ := http.NewRequest(http.MethodGet, s.base+"/feeds/releases.atom?dataset=shmi", nil)
		req.Header.Set("If-Modified-Since", h.Get("Last-Modified"))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
			t.Errorf("feed with If-Modified-Since %q: %v %v", h.Get("Last-Modified"), resp, err)
		}
	})

	t.Run("feeds", func(t *testing.T) {
		p := gofeed.NewParser()
		for _, tc := range []struct {
			path, kind string
			min        int
			title      string
		}{
			{"/feeds/releases.atom", "atom", 18, "New release: "},
			{"/feeds/releases.rss", "rss", 18, "New release: "},
			{"/feeds/releases.json", "json", 18, "New release: "},
			{"/feeds/releases.atom?dataset=shmi", "atom", 10, "New release: SHMI, published"},
			{"/feeds/releases.rss?publisher=hscic", "rss", 10, "New release: SHMI, published"},
			{"/feeds/releases.json?topic=Mortality", "json", 10, "New release: SHMI, published"},
			{"/feeds/releases.atom?topic=mortality", "atom", 10, "New release: SHMI, published"}, // topics in any case
		} {
			status, body, h := s.get(t, tc.path)
			if status != http.StatusOK {
				t.Errorf("%s: %d", tc.path, status)
				continue
			}
			f, err := p.ParseString(body)
			if err != nil {
				t.Errorf("%s does not parse (%s): %v", tc.path, h.Get("Content-Type"), err)
				continue
			}
			if f.FeedType != tc.kind || len(f.Items) < tc.min || !strings.HasPrefix(f.Items[0].Title, tc.title) ||
				!strings.Contains(f.Items[0].Content, "/files/") {
				t.Errorf("%s: %s feed with %d items, first %q", tc.path, f.FeedType, len(f.Items), f.Items[0].Title)
			}
			for _, it := range f.Items {
				if strings.Contains(it.Title, "April 2014") || strings.Contains(it.Title, "corrected description") {
					t.Errorf("%s lists an unpublished release: %q", tc.path, it.Title)
				}
			}
		}
		for path, want := range map[string]int{"/feeds/releases.xml": 404, "/feeds/releases.rss?dataset=shmi&topic=Mortality": 400} {
			if status, _, _ := s.get(t, path); status != want {
				t.Errorf("%s: %d, want %d", path, status, want)
			}
		}
		// A feed of nothing is 404 in the feed's own format, saying why.
		ids := map[string]string{}
		for _, path := range []string{"/feeds/releases.atom?dataset=nope", "/feeds/releases.rss?publisher=nope", "/feeds/releases.json?topic=Nothing+at+all"} {
			status, body, h := s.get(t, path)
			f, err := p.ParseString(body)
			if status != http.StatusNotFound || err != nil || len(f.Items) != 0 || !strings.Contains(f.Title, "no such feed") ||
				!strings.Contains(h.Get("Content-Type"), strings.TrimPrefix(path[strings.Index(path, ".")+1:strings.Index(path, "?")], "")) {
				t.Errorf("%s: %d %s %v, want 404 with an empty feed saying why", path, status, h.Get("Content-Type"), err)
			}
		}
		// Every feed has its own id.
		for _, path := range []string{"/feeds/releases.atom", "/feeds/releases.atom?dataset=shmi", "/feeds/releases.atom?publisher=hscic", "/feeds/releases.atom?topic=Mortality"} {
			var feed struct {
				ID string `xml:"id"`
			}
			if err := xml.Unmarshal([]byte(s.mustGet(t, path)), &feed); err != nil || feed.ID == "" {
				t.Fatalf("%s: %v", path, err)
			}
			if other, ok := ids[feed.ID]; ok {
				t.Errorf("%s and %s share the id %s", path, other, feed.ID)
			}
			ids[feed.ID] = path
		}
		if home := html.UnescapeString(s.mustGet(t, "/")); !strings.Contains(home, `<link rel="alternate" type="application/atom+xml"`) {
			t.Error("the home page has no feed discovery link")
		}
		if ds := s.mustGet(t, "/datasets/shmi"); !strings.Contains(ds, `href="/feeds/releases.atom?dataset=shmi"`) {
			t.Error("the dataset page has no feed link for the dataset")
		}
	})

	t.Run("iCalendar and sitemap", func(t *testing.T) {
		status, body, h := s.get(t, "/calendar.ics")
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/calendar") {
			t.Fatalf("calendar.ics: %d %s", status, h.Get("Content-Type"))
		}
		cal, err := goical.NewDecoder(strings.NewReader(body)).Decode()
		if err != nil {
			t.Fatalf("calendar.ics does not parse: %v", err)
		}
		confirmed, published := 0, 0
		for _, e := range cal.Events() {
			summary, _ := e.Props.Text("SUMMARY")
			status, _ := e.Props.Text("STATUS")
			switch {
			case strings.HasPrefix(summary, "Published: "):
				published++
			case strings.Contains(summary, "Summary Hospital-level Mortality Indicator") && status == "CONFIRMED":
				confirmed++
				if u, _ := e.Props.Text("URL"); strings.Contains(u, "/releases/") {
					t.Errorf("the scheduled SHMI entry links its release before publication: %s", u)
				}
			}
		}
		if confirmed != 1 || published < 10 {
			t.Errorf("calendar.ics: %d confirmed upcoming SHMI entries (want 1), %d published entries", confirmed, published)
		}
		if strings.Contains(body, "April 2014") && !strings.Contains(body, "published April 2014") {
			t.Error("calendar.ics shows the scheduled release's content")
		}
		status, body, _ = s.get(t, "/sitemap.xml")
		var urlset struct {
			URLs []struct {
				Loc string `xml:"loc"`
			} `xml:"url"`
		}
		if err := xml.Unmarshal([]byte(body), &urlset); err != nil || status != 200 {
			t.Fatalf("sitemap: %d %v", status, err)
		}
		locs := map[string]bool{}
		for _, u := range urlset.URLs {
			if !strings.HasPrefix(u.Loc, s.base+"/") {
				t.Fatalf("sitemap address is not absolute: %s", u.Loc)
			}
			locs[strings.TrimPrefix(u.Loc, s.base)] = true
		}
		for _, want := range []string{"/", "/datasets/shmi", "/datasets/shmi/releases/10", "/organisations/A81001", "/indicators/cancer-62-day",
			"/audits/synthetic-surgical-outcomes", "/pages/about", "/search"} {
			if !locs[want] {
				t.Errorf("sitemap lacks %s", want)
			}
		}
		for _, not := range []string{"/datasets/shmi/releases/11", "/datasets/cqc-ratings-of-gp-practices/releases/2"} {
			if locs[not] {
				t.Errorf("sitemap lists the unpublished %s", not)
			}
		}
		if len(urlset.URLs) < 17000 || len(urlset.URLs) > 50000 {
			t.Errorf("sitemap has %d addresses", len(urlset.URLs))
		}
	})

	t.Run("what changed between two SHMI publications", func(t *testing.T) {
		page := s.mustGet(t, "/datasets/shmi/changes?from=9&to=10")
		for _, want := range []string{"In every row: DATE 2013-10-01 → 2014-01-01", "<strong>141</strong> changed", "format=csv"} {
			if !strings.Contains(page, want) {
				t.Errorf("changes page lacks %q", want)
			}
		}
		var diff struct {
			Added, Removed, Changed int
			KeyFields               []string
			Changes                 []struct {
				Change string
				Key    map[string]string
				Cells  []struct{ Field, Old, New string }
			}
		}
		_, body, _ := s.get(t, "/datasets/shmi/changes?from=9&to=10&format=json")
		if err := json.Unmarshal([]byte(body), &diff); err != nil || diff.Changed != 141 || len(diff.KeyFields) != 1 || diff.KeyFields[0] != "PROVIDER" {
			t.Fatalf("json: %v %+v", err, diff.KeyFields)
		}
		csvBody := strings.ReplaceAll(s.mustGet(t, "/datasets/shmi/changes?from=9&to=10&format=csv"), "\r\n", "\n")
		if !strings.HasPrefix(csvBody, "change,PROVIDER,field,old,new\n") || strings.Count(csvBody, "\nchanged,") < 141 {
			t.Errorf("csv:\n%.300s", csvBody)
		}
		if release := s.mustGet(t, "/datasets/shmi/releases/10"); !strings.Contains(release, "/datasets/shmi/changes?from=9&amp;to=10") {
			t.Error("the release page does not link its cell-level changes")
		}
		for path, want := range map[string]int{
			"/datasets/shmi/changes?from=9&to=11":             400, // scheduled: not published
			"/datasets/shmi/changes?from=x&to=10":             400,
			"/datasets/shmi/changes?from=9&to=10&format=xlsx": 400,
			"/datasets/nope/changes?from=1&to=2":              404,
		} {
			if status, _, _ := s.get(t, path); status != want {
				t.Errorf("%s: %d, want %d", path, status, want)
			}
		}
	})

	t.Run("filtered exports", func(t *testing.T) {
		const cwt = "/datasets/cancer-waiting-times-by-provider/releases/1/rows/cancer-waiting-times-2026-01-provider.csv"
		q := "?eq.Org+Code=RR8&eq.Standard=62D"
		csvBody := s.mustGet(t, cwt+q)
		records, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
		if err != nil || len(records) < 3 {
			t.Fatalf("csv export: %v, %d records", err, len(records))
		}
		code, std := slices.Index(records[0], "Org Code"), slices.Index(records[0], "Standard")
		for _, r := range records[1:] {
			if r[code] != "RR8" || r[std] != "62D" {
				t.Fatalf("a row outside the filter: %v", r)
			}
		}
		nd := s.mustGet(t, cwt+q+"&format=ndjson")
		lines := strings.Split(strings.TrimSpace(nd), "\n")
		if len(lines) != len(records)-1 {
			t.Errorf("ndjson has %d rows, csv %d", len(lines), len(records)-1)
		}
		var first map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first["Org Code"] != "RR8" {
			t.Errorf("ndjson row: %v %v", err, first)
		}
		if _, isNum := first["Total"].(float64); !isNum {
			t.Errorf("a count is not a number in JSON: %#v", first["Total"])
		}
		// JSON pages with a keyset cursor add up to the whole.
		seen, next, pages := 0, cwt+q+"&format=json&limit=3", 0
		for next != "" && pages < 100 {
			var page struct {
				Rows []map[string]any
				Next string
			}
			_, body, _ := s.get(t, next)
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatalf("json page: %v %.200s", err, body)
			}
			seen += len(page.Rows)
			next, pages = page.Next, pages+1
		}
		if seen != len(records)-1 || pages < 2 {
			t.Errorf("json pages: %d rows in %d pages, csv %d rows", seen, pages, len(records)-1)
		}
		// Codes stay strings and a suppressed cell is its marker, with a note.
		status, body, h := s.get(t, "/datasets/proms-hip-and-knee-replacements/releases/1/rows/proms-hip-knee-2018-19.csv?format=json&limit=10000")
		if status != 200 || !strings.Contains(body, `"Modelled Records":"*"`) || !strings.Contains(h.Get("X-Candour-Note"), "withheld, not zero") ||
			!strings.Contains(body, "withheld, not zero") {
			t.Errorf("suppressed cells: %d %q", status, h.Get("X-Candour-Note"))
		}
		// Ranges compare by type: SHMI's dates.
		shmi := s.mustGet(t, "/datasets/shmi/releases/10/rows/shmi-2014-01.csv?gte.DATE=2014-01-01&lte.DATE=2014-01-01&eq.PROVIDER=RA2")
		if n := strings.Count(strings.TrimSpace(shmi), "\n"); n != 1 {
			t.Errorf("date range and provider: %d rows\n%s", n, shmi)
		}
		for path, want := range map[string]string{
			cwt + "?eq.Nope=1":                  "eq.Nope",
			cwt + "?like.Org+Code=RR8":          "like.Org Code",
			cwt + "?eq.Total=5":                 "not a key or dimension field",
			cwt + "?format=xlsx":                "format",
			cwt + "?format=json&limit=-1":       "limit",
			cwt + "?format=json&limit=99999999": "limit",
			cwt + "?after=x":                    "after",
			"/datasets/shmi/releases/10/rows/shmi-2014-01.csv?gte.DATE=2014-13-45": "gte.DATE",
		} {
			status, body, _ := s.get(t, path)
			if status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), want) {
				t.Errorf("%s: %d, want 400 naming %q", path, status, want)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, s.base+cwt, nil)
		req.Header.Set("Accept", "application/xml")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Accept: application/xml: %v %v", err, resp.StatusCode)
		} else {
			resp.Body.Close()
		}
		if status, _, _ := s.get(t, "/datasets/shmi/releases/11/rows/shmi-2014-04.csv"); status != http.StatusNotFound {
			t.Errorf("the scheduled release's rows: %d, want 404", status)
		}
	})

	t.Run("public API: every documented route answers", func(t *testing.T) {
		status, body, h := s.get(t, "/api/v1/openapi.json")
		var doc struct {
			Paths map[string]struct {
				Get *struct {
					Parameters []struct {
						Name, In string
						Example  any
					}
					Security []map[string][]string
				}
			}
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || status != 200 || len(doc.Paths) < 10 {
			t.Fatalf("openapi.json: %d %v", status, err)
		}
		for _, path := range []string{"/submissions", "/submissions/{id}", "/releases/{id}"} {
			if _, ok := doc.Paths[path]; !ok {
				t.Errorf("the OpenAPI document lacks the submission API's %s", path)
			}
		}
		for path, item := range doc.Paths {
			if item.Get == nil || len(item.Get.Security) > 0 {
				continue // the submission API: tested with a token in the workflow tests
			}
			u := "/api/v1" + path
			for _, p := range item.Get.Parameters {
				if p.In == "path" {
					u = strings.Replace(u, "{"+p.Name+"}", url.PathEscape(fmt.Sprint(p.Example)), 1)
				}
			}
			status, body, h := s.get(t, u)
			var any map[string]any
			if status != 200 || json.Unmarshal([]byte(body), &any) != nil || h.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("documented route %s: %d %.120s", u, status, body)
			}
			if path != "/openapi.json" && !strings.Contains(path, "/rows/") { // a file's rows are keyed by its own field names
				if key := goFieldName(any); key != "" {
					t.Errorf("documented route %s answers the field %q, where the API's names are snake_case", u, key)
				}
			}
		}
		if kit := os.Getenv("CANDOUR_CONFORMANCE_KIT"); kit != "" {
			out, err := exec.Command("node", filepath.Join(kit, "validate.mjs"), "--strict", "--quiet", "openapi", s.base+"/api/v1/openapi.json").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "PASS") {
				t.Errorf("OpenAPI document: %v\n%s", err, out)
			}
		}
		_ = h
		var ds struct {
			Total int
			Items []struct{ Slug string }
		}
		_, body, _ = s.get(t, "/api/v1/datasets?status=published&limit=2")
		if json.Unmarshal([]byte(body), &ds) != nil || ds.Total != 7 || len(ds.Items) != 2 {
			t.Errorf("datasets: %s", body)
		}
		var rel struct {
			Version int
			Files   []struct{ URL, SHA256 string }
		}
		_, body, _ = s.get(t, "/api/v1/datasets/shmi/releases/10")
		if json.Unmarshal([]byte(body), &rel) != nil || rel.Version != 10 || len(rel.Files) != 1 || len(rel.Files[0].SHA256) != 64 {
			t.Errorf("release: %s", body)
		}
		for path, want := range map[string]int{
			"/api/v1/datasets/shmi/releases/11": 404, "/api/v1/datasets/nope": 404, "/api/v1/organisations/ZZZ9": 404,
			"/api/v1/datasets?limit=0": 400, "/api/v1/datasets?status=odd": 400, "/api/v1/organisations?type=castle": 400,
			"/api/v1/indicators/nope/observations": 404, "/api/v1/datasets/shmi/releases/10/rows/shmi-2014-01.csv?eq.Nope=1": 400,
		} {
			status, body, h := s.get(t, path)
			var e struct {
				Error struct{ Code, Message string }
			}
			if status != want || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" || e.Error.Message == "" ||
				!strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("%s: %d %s, want %d with the error shape", path, status, body, want)
			}
		}
		if page := s.mustGet(t, "/api"); !strings.Contains(page, "/api/v1/openapi.json") {
			t.Error("the API page does not link the OpenAPI document")
		}
		apiWrongRequests(t, s)
		apiPageLinks(t, s)
	})

	t.Run("for citizens", func(t *testing.T) { citizenPages(t, s) })

	t.Run("in a real browser", func(t *testing.T) { browserChecks(t, s) })
	t.Run("in a real browser, as citizens", func(t *testing.T) { citizenBrowserChecks(t, s) })

	t.Run("golden files of the machine-readable formats", func(t *testing.T) {
		for _, g := range goldenFormats {
			checkGolden(t, s, g.name, g.path)
		}
	})

	t.Run("CSV and JSON twins of the tabular pages", func(t *testing.T) {
		for path, want := range map[string]int{
			"/datasets?status=published&format=csv":    7,
			"/datasets?format=json":                    27,
			"/organisations?type=nhs-trust&format=csv": 274,
			"/calendar?format=json":                    -1,
		} {
			status, body, h := s.get(t, path)
			if status != 200 {
				t.Errorf("%s: %d", path, status)
				continue
			}
			n := 0
			if strings.HasSuffix(path, "csv") {
				records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
				if err != nil || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
					t.Errorf("%s: %v", path, err)
					continue
				}
				n = len(records) - 1
			} else {
				var doc struct{ Total int }
				if err := json.Unmarshal([]byte(body), &doc); err != nil {
					t.Errorf("%s: %v", path, err)
					continue
				}
				n = doc.Total
			}
			if want >= 0 && n != want || want < 0 && n < 11 {
				t.Errorf("%s: %d rows, want %d", path, n, want)
			}
		}
		// The pages built around one table: each links its twins, and the
		// twins agree with each other (CSV header = JSON columns, same
		// rows), carry their file name and licence, also when cached.
		for page, want := range map[string]struct {
			header string // the CSV header's first cells
			rows   int    // at least
			cell   string // some cell
		}{
			"/compare?org=RR8&org=RX1":   {"indicator_id,indicator,RR8_value", 2, "shmi"},
			"/transparency":              {"dataset,version,release,published,approved_by", 10, "shmi"},
			"/organisations/RR8":         {"organisation_code,indicator_id", 3, "RR8"},
			"/datasets/shmi":             {"version,title,period", 10, "published"},
			"/datasets/shmi/releases/10": {"file,url,media_type", 1, "text/csv"},
			"/indicators":                {"id,title,description", 3, "shmi"},
			"/indicators/shmi":           {"organisation_code,organisation,indicator_id,period", 100, "RR8"},
			"/audits":                    {"id,name,clinical_area", 1, "synthetic-surgical-outcomes"},
			// Every unit of the selection, not the page shown.
			"/audits/synthetic-surgical-outcomes?level=consultant&page=2": {"audit,measure,period,level,unit_code", 900, "consultant"},
			"/audits/synthetic-surgical-outcomes/units/team/SYN-T001":     {"audit,measure,period,level,unit_code", 2, "SYN-T001"},
		} {
			html := s.mustGet(t, page)
			if !strings.Contains(html, `id="twins"`) || !strings.Contains(html, "format=csv") || !strings.Contains(html, "format=json") {
				t.Errorf("%s does not link its twins", page)
				continue
			}
			sep := "?"
			if strings.Contains(page, "?") {
				sep = "&"
			}
			var csvRecords [][]string
			for round := 0; round < 2; round++ { // the second answer comes from the cache
				status, body, h := s.get(t, page+sep+"format=csv")
				records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
				if status != 200 || err != nil || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") ||
					!strings.Contains(h.Get("Content-Disposition"), ".csv") || !strings.Contains(h.Get("Link"), "open-government-licence") {
					t.Errorf("%s CSV (round %d): %d %v %v", page, round, status, err, h)
					break
				}
				csvRecords = records
			}
			if len(csvRecords) == 0 {
				continue
			}
			if got := strings.Join(csvRecords[0], ","); !strings.HasPrefix(got, want.header) {
				t.Errorf("%s CSV header %q, want it to start %q", page, got, want.header)
			}
			if len(csvRecords)-1 < want.rows || !slices.ContainsFunc(csvRecords[1:], func(r []string) bool { return slices.Contains(r, want.cell) }) {
				t.Errorf("%s CSV: %d rows, want at least %d with a cell %q", page, len(csvRecords)-1, want.rows, want.cell)
			}
			var doc struct {
				Columns []string
				Total   int
				Items   []map[string]string
			}
			_, body, _ := s.get(t, page+sep+"format=json")
			if err := json.Unmarshal([]byte(body), &doc); err != nil || !slices.Equal(doc.Columns, csvRecords[0]) ||
				doc.Total != len(csvRecords)-1 || len(doc.Items) != doc.Total {
				t.Errorf("%s JSON: %v; columns %v, total %d, CSV rows %d", page, err, doc.Columns, doc.Total, len(csvRecords)-1)
			} else if doc.Total > 0 && doc.Items[0][csvRecords[0][0]] != csvRecords[1][0] {
				t.Errorf("%s: the JSON's first item %v differs from the CSV's first row %v", page, doc.Items[0], csvRecords[1])
			}
		}
		if status, _, _ := s.get(t, "/transparency?format=pdf"); status != http.StatusBadRequest {
			t.Errorf("/transparency?format=pdf: %d", status)
		}
		if status, _, _ := s.get(t, "/datasets?format=xml"); status != http.StatusBadRequest {
			t.Errorf("format=xml: %d", status)
		}
		if page := s.mustGet(t, "/organisations?type=nhs-trust"); !strings.Contains(page, "type=nhs-trust&amp;format=csv") {
			t.Error("the organisations page does not link its CSV twin")
		}
	})

	t.Run("CKAN-compatible action API", func(t *testing.T) {
		// The envelope and field names CKAN documents (docs.ckan.org, API v3).
		type envelope struct {
			Help    string          `json:"help"`
			Success bool            `json:"success"`
			Result  json.RawMessage `json:"result"`
			Error   *struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		call := func(action string, wantStatus int) envelope {
			t.Helper()
			status, body, _ := s.get(t, "/api/3/action/"+action)
			var e envelope
			if err := json.Unmarshal([]byte(body), &e); err != nil || status != wantStatus || e.Help == "" {
				t.Fatalf("%s: %d %v %.200s", action, status, err, body)
			}
			return e
		}
		var status struct {
			CKANVersion string `json:"ckan_version"`
			APIVersion  int    `json:"api_version"`
		}
		json.Unmarshal(call("status_show", 200).Result, &status)
		if status.APIVersion != 3 || status.CKANVersion == "" {
			t.Errorf("status_show: %+v", status)
		}
		var names []string
		json.Unmarshal(call("package_list", 200).Result, &names)
		if len(names) != 27 || !slices.Contains(names, "shmi") {
			t.Errorf("package_list: %v", names)
		}
		var pkg struct {
			Name         string                `json:"name"`
			Title        string                `json:"title"`
			LicenseID    string                `json:"license_id"`
			Organization struct{ Name string } `json:"organization"`
			NumResources int                   `json:"num_resources"`
			Resources    []struct {
				URL, Format, Hash string
				Size              int64
			} `json:"resources"`
			Tags []struct{ Name string } `json:"tags"`
		}
		json.Unmarshal(call("package_show?id=shmi", 200).Result, &pkg)
		if pkg.Name != "shmi" || pkg.LicenseID != "OGL-UK-3.0" || pkg.Organization.Name != "hscic" || pkg.NumResources != 10 ||
			len(pkg.Resources) != 10 || pkg.Resources[0].Format != "CSV" || !strings.Contains(pkg.Resources[0].URL, "/releases/10/") ||
			!strings.HasPrefix(pkg.Resources[0].Hash, "sha256:") || len(pkg.Tags) == 0 {
			t.Errorf("package_show: %+v", pkg)
		}
		var search struct {
			Count        int `json:"count"`
			Results      []struct{ Name string }
			SearchFacets map[string]struct {
				Items []struct {
					Name  string
					Count int
				}
			} `json:"search_facets"`
		}
		json.Unmarshal(call("package_search?q=mortality&facet.field=%5B%22organization%22%5D&rows=5", 200).Result, &search)
		if search.Count < 1 || search.Results[0].Name != "shmi" || len(search.SearchFacets["organization"].Items) == 0 {
			t.Errorf("package_search q: %+v", search)
		}
		json.Unmarshal(call("package_search?fq=organization:nhs-digital&rows=1&start=1", 200).Result, &search)
		if search.Count != 2 || len(search.Results) != 1 {
			t.Errorf("package_search fq/rows/start: %+v", search)
		}
		var orgs []struct {
			Name         string `json:"name"`
			PackageCount int    `json:"package_count"`
		}
		json.Unmarshal(call("organization_list?all_fields=true", 200).Result, &orgs)
		if len(orgs) != 7 || slices.ContainsFunc(orgs, func(o struct {
			Name         string `json:"name"`
			PackageCount int    `json:"package_count"`
		}) bool {
			return o.Name == ""
		}) {
			t.Errorf("organization_list: %+v", orgs)
		}
		var org struct{ Name string }
		json.Unmarshal(call("organization_show?id=hscic", 200).Result, &org)
		if org.Name != "hscic" {
			t.Errorf("organization_show: %+v", org)
		}
		for _, a := range []string{"group_list", "tag_list"} {
			var list []string
			if json.Unmarshal(call(a, 200).Result, &list); len(list) == 0 {
				t.Errorf("%s is empty", a)
			}
		}
		if e := call("package_show?id=nope", 404); e.Success || e.Error == nil || e.Error.Type != "Not Found Error" {
			t.Errorf("package_show of nothing: %+v", e)
		}
		if e := call("package_search?fq=colour:red", 409); e.Success || e.Error.Type != "Validation Error" {
			t.Errorf("a bad fq: %+v", e)
		}
		if e := call("package_create", 400); e.Success {
			t.Error("a write action succeeded")
		}
		// An unpublished release's file is never a resource.
		_, body, _ := s.get(t, "/api/3/action/package_show?id=cqc-ratings-of-gp-practices")
		if strings.Contains(body, "releases/2/") {
			t.Error("the CQC correction in review is listed as a resource")
		}
	})

	t.Run("CKAN clients: ckanapi and the CKAN harvester", func(t *testing.T) { ckanClientChecks(t, s) })
	t.Run("release metadata readers can use: encodings, missing values", func(t *testing.T) { releaseMetadataForReaders(t, s) })

	t.Run("DCAT catalogue and schema.org descriptions", func(t *testing.T) {
		var cat struct {
			Dataset []struct {
				ID        string `json:"@id"`
				Publisher struct {
					ID   string `json:"@id"`
					Name string `json:"name"`
				} `json:"publisher"`
				Distribution []struct {
					DownloadURL string `json:"downloadURL"`
					Checksum    struct {
						ChecksumValue string `json:"checksumValue"`
					} `json:"checksum"`
				} `json:"distribution"`
			} `json:"dataset"`
			TotalItems string `json:"totalItems"`
		}
		_, body, h := s.get(t, "/catalog.jsonld")
		if err := json.Unmarshal([]byte(body), &cat); err != nil || !strings.HasPrefix(h.Get("Content-Type"), "application/ld+json") {
			t.Fatalf("catalog.jsonld: %v", err)
		}
		dists := 0
		for _, d := range cat.Dataset {
			for _, dist := range d.Distribution {
				dists++
				if len(dist.Checksum.ChecksumValue) != 64 || !strings.HasPrefix(dist.DownloadURL, s.base+"/datasets/") {
					t.Errorf("distribution %+v", dist)
				}
			}
		}
		// Every file of every published release (18), nothing unpublished.
		if len(cat.Dataset) != 27 || cat.TotalItems != "27" || dists != 18 || strings.Contains(body, "releases/11/") {
			t.Errorf("catalog: %d datasets (total %s), %d distributions", len(cat.Dataset), cat.TotalItems, dists)
		}
		// Every publisher has a name and an address that resolves, to a
		// page and to JSON-LD of the same name.
		resolved := map[string]bool{}
		for _, d := range cat.Dataset {
			p := d.Publisher
			if p.Name == "" || !strings.HasPrefix(p.ID, s.base+"/publishers/") {
				t.Errorf("%s: publisher %+v", d.ID, p)
				continue
			}
			if resolved[p.ID] {
				continue
			}
			resolved[p.ID] = true
			path := strings.TrimPrefix(p.ID, s.base)
			if status, page, _ := s.get(t, path); status != 200 || !strings.Contains(page, strings.TrimPrefix(d.ID, s.base)) {
				t.Errorf("%s: %d, or the page does not list %s", path, status, d.ID)
			}
			var agent struct {
				ID   string `json:"@id"`
				Name string `json:"name"`
			}
			_, raw, h := s.get(t, path+"?format=jsonld")
			if json.Unmarshal([]byte(raw), &agent) != nil || agent.ID != p.ID || agent.Name != p.Name || !strings.HasPrefix(h.Get("Content-Type"), "application/ld+json") {
				t.Errorf("%s?format=jsonld: %s", path, raw)
			}
		}
		if status, _, _ := s.get(t, "/publishers/nobody"); status != http.StatusNotFound {
			t.Errorf("/publishers/nobody: %d", status)
		}
		if status, _, _ := s.get(t, "/catalog.jsonld?page=0"); status != http.StatusBadRequest {
			t.Errorf("page 0: %d", status)
		}
		page := s.mustGet(t, "/datasets/shmi")
		m := regexp.MustCompile(`<script type="application/ld\+json">([^<]*)</script>`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("the dataset page has no schema.org JSON-LD")
		}
		var ld struct {
			Type         string `json:"@type"`
			Name         string
			License      string
			Distribution []struct{ ContentURL string }
		}
		if err := json.Unmarshal([]byte(m[1]), &ld); err != nil || ld.Type != "Dataset" || !strings.Contains(ld.License, "open-government-licence") ||
			len(ld.Distribution) != 1 || !strings.Contains(ld.Distribution[0].ContentURL, "/releases/10/") {
			t.Errorf("schema.org JSON-LD: %v %+v", err, ld)
		}
	})

	t.Run("machine metadata passes the conformance kit", func(t *testing.T) {
		kit := os.Getenv("CANDOUR_CONFORMANCE_KIT")
		if kit == "" {
			t.Skip("CANDOUR_CONFORMANCE_KIT is not set (.ci/run sets it to an installed copy of ../shared/conformance); skipping the official validators")
		}
		for _, release := range publishedReleases(t, s) {
			for kind, doc := range map[string]string{"datapackage": "datapackage.json", "csvw": "csv-metadata.json"} {
				u := s.base + "/datasets/" + release + "/" + doc
				out, err := exec.Command("node", filepath.Join(kit, "validate.mjs"), "--strict", "--quiet", kind, u).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "PASS") {
					t.Errorf("%s %s: %v\n%s", kind, u, err, out)
				}
			}
		}
		out, err := exec.Command("node", filepath.Join(kit, "validate.mjs"), "--strict", "--quiet", "dcat", s.base+"/catalog.jsonld").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PASS") {
			t.Errorf("DCAT-AP catalogue: %v\n%s", err, out)
		}
		// The validator is not a rubber stamp: a broken package fails.
		bad := filepath.Join(t.TempDir(), "datapackage.json")
		os.WriteFile(bad, []byte(`{"name": "Not Valid!", "resources": "none"}`), 0o644)
		if out, err := exec.Command("node", filepath.Join(kit, "validate.mjs"), "datapackage", bad).CombinedOutput(); err == nil {
			t.Errorf("an invalid data package passed:\n%s", out)
		}
	})

	t.Run("download is the original file, byte for byte", func(t *testing.T) {
		want := sums(t)
		for path, source := range map[string]string{
			"/datasets/cancer-waiting-times-by-provider/releases/1/files/cancer-waiting-times-2026-01-provider.csv": "cancer-waiting-times-2026-01-provider.csv",
			"/datasets/proms-hip-and-knee-replacements/releases/1/files/proms-hip-knee-2018-19.csv":                 "proms-hip-knee-2018-19.csv",
			"/datasets/cqc-ratings-of-gp-practices/releases/1/files/cqc-gp-ratings.csv":                             "cqc-gp-ratings.csv",
		} {
			status, body, h := s.get(t, path)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, status)
			}
			sum := sha256.Sum256([]byte(body))
			if got := hex.EncodeToString(sum[:]); got != want[source] {
				t.Errorf("%s hashes to %s, SHA256SUMS lists %s for %s", path, got, want[source], source)
			}
			if cd := h.Get("Content-Disposition"); !strings.Contains(cd, `filename=`+source) {
				t.Errorf("%s: Content-Disposition %q does not name %s", path, cd, source)
			}
			if !strings.Contains(h.Get("Link"), "open-government-licence") {
				t.Errorf("%s: no licence link header (got %q)", path, h.Get("Link"))
			}
		}
	})

	t.Run("headers, errors and health", func(t *testing.T) {
		status, _, h := s.get(t, "/")
		csp := h.Get("Content-Security-Policy")
		if status != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q: want script-src 'self' and no unsafe-inline", csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("security headers missing: %v", h)
		}
		if status, body, _ := s.get(t, "/no/such/page"); status != 404 || !strings.Contains(body, "Page not found") {
			t.Errorf("unknown page: %d, want 404 with a page", status)
		}
		if status, body, _ := s.get(t, "/datasets?page=zero"); status != 400 || !strings.Contains(body, `The page parameter &#34;zero&#34; is not valid`) {
			t.Errorf("bad page parameter: %d %q, want 400 naming the parameter", status, body)
		}
		if status, body, _ := s.get(t, "/healthz"); status != 200 || !strings.Contains(body, `"ok"`) {
			t.Errorf("/healthz: %d %s", status, body)
		}
		for _, asset := range []string{"/assets/nhsuk-frontend.min.css", "/static/candour.css", "/static/js-enabled.js"} {
			status, body, _ := s.get(t, asset)
			if status != 200 || len(body) == 0 {
				t.Errorf("%s: %d", asset, status)
			}
			if strings.Contains(body, "assets.nhs.uk") {
				t.Errorf("%s still loads fonts from assets.nhs.uk", asset)
			}
		}
	})

	t.Run("drafts are invisible until published", func(t *testing.T) {
		testDraftInvisibility(t, s)
	})

	t.Run("OpenAPI: generated requests, and every answer the tests received, fit the document", func(t *testing.T) {
		openAPIGeneratedRequests(t, s, s.api.checker)
		if n := s.api.check(t); n < 150 {
			t.Errorf("only %d answers held to the document", n)
		}
	})
}

// secrets are strings that appear only in the draft releases' titles,
// metadata, rows and organisation names.
var secrets = []string{"SECRETDATASET", "SECRETTITLE", "SECRETPUBLISHER", "SECRETTOPIC", "SECRETNOTES",
	"SECRETCOVERAGE", "SECRET CLINIC", "SECRETROWVALUE", "SECRETPERIOD", "ZZZ99", "winter-pressures-secret"}

// draftURLs are the pages and downloads the drafts would have.
var draftURLs = []string{
	"/datasets/winter-pressures-secret",
	"/datasets/winter-pressures-secret/releases/1",
	"/datasets/winter-pressures-secret/releases/1/files/secret-pressures.csv",
	"/datasets/cancer-waiting-times-by-provider/releases/2",
	"/datasets/cancer-waiting-times-by-provider/releases/2/files/cwt-2026-02-secret.csv",
	"/organisations/ZZZ99",
}

func testDraftInvisibility(t *testing.T, s *server) {
	for _, d := range []string{"draft-new", "draft-version"} {
		out, err := s.candour(t, "import", "release", filepath.Join("testdata", d, "descriptor.json"))
		if err != nil {
			t.Fatalf("import %s: %v\n%s", d, err, out)
		}
		if !strings.Contains(out, "state checked") {
			t.Fatalf("import %s: %s", d, out)
		}
	}
	list, err := s.candour(t, "release", "list", "--state", "checked")
	if err != nil || strings.Count(list, "SECRETTITLE") != 2 {
		t.Fatalf("the operator should see both drafts: %v\n%s", err, list)
	}

	for _, u := range draftURLs {
		if status, _, _ := s.get(t, u); status != http.StatusNotFound {
			t.Errorf("draft URL %s: status %d, want 404", u, status)
		}
	}
	pages := crawl(t, s, 600)
	if len(pages) < 60 {
		t.Fatalf("crawled only %d pages; the check would prove little", len(pages))
	}
	for u, body := range pages {
		for _, secret := range secrets {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows draft content %q", u, secret)
			}
		}
	}

	// Positive control: after publication the same checks find the content,
	// so the absence above means something.
	publishThroughWorkflow(t, s, map[string]int{"winter-pressures-secret": 1, "cancer-waiting-times-by-provider": 2})
	for _, u := range draftURLs {
		if status, _, _ := s.get(t, u); status != http.StatusOK {
			t.Errorf("published URL %s: status %d, want 200", u, status)
		}
	}
	seen := map[string]bool{}
	for _, body := range crawl(t, s, 600) {
		for _, secret := range secrets {
			if strings.Contains(body, secret) {
				seen[secret] = true
			}
		}
	}
	for _, secret := range secrets {
		if !seen[secret] {
			t.Errorf("after publication, no crawled page shows %q: the invisibility check cannot tell", secret)
		}
	}
}

// publishThroughWorkflow takes checked releases through panel review (the
// demo's reviewers) and schedules them a second ahead, then waits for the
// running server's scheduler to publish them.
func publishThroughWorkflow(t *testing.T, s *server, releases map[string]int) {
	t.Helper()
	publishThroughWorkflowLooking(t, s, releases, nil)
}

// publishThroughWorkflowLooking is publishThroughWorkflow calling look, when
// not nil, with each release's id once it is in review, before any
// approval.
func publishThroughWorkflowLooking(t *testing.T, s *server, releases map[string]int, look func(id int64)) {
	t.Helper()
	ctx := context.Background()
	// The workflow's steps touch only the catalogue; the server publishes
	// (writing to ClickHouse when it has --clickhouse).
	a, err := openApp(ctx, Config{DataDir: s.dataDir, Approvals: 2, embeddedOnPurpose: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	reviewers := []publisher.Actor{
		{Username: "reviewer-1", Name: "Rachel Reviewer", Roles: []publisher.Role{publisher.RoleReviewer}},
		{Username: "reviewer-2", Name: "Robert Reviewer", Roles: []publisher.Role{publisher.RoleReviewer}},
	}
	cast := &demoCast{reviewers: [2]publisher.Actor{reviewers[0], reviewers[1]}}
	embargo := time.Now().Add(time.Second)
	for slug, version := range releases {
		r, err := a.publisher.FindRelease(ctx, slug, version)
		if err != nil {
			t.Fatal(err)
		}
		op := publisher.Actor{Username: "operator", Roles: []publisher.Role{publisher.RolePublisher}, Organisation: publisherOf(ctx, a, r)}
		if _, err := a.publisher.SendToReview(ctx, op, r.ID); err != nil {
			t.Fatal(err)
		}
		if look != nil {
			look(r.ID)
		}
		for _, rv := range reviewers {
			if err := cast.approve(ctx, a, rv, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.publisher.Schedule(ctx, op, r.ID, embargo, ""); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for slug, version := range releases {
		for {
			status, _, _ := s.get(t, fmt.Sprintf("/datasets/%s/releases/%d", slug, version))
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s version %d was not published within 20 s of its embargo", slug, version)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

var hrefPattern = regexp.MustCompile(`href="(/[^"#]*)"`)

// crawl follows the site's links breadth-first from the pages a visitor
// starts on, downloads included, and returns each page's body. It visits at
// most limit pages and only the first two pages of any paginated list.
func crawl(t *testing.T, s *server, limit int) map[string]string {
	t.Helper()
	start := []string{"/", "/datasets", "/organisations", "/organisations?type=unknown", "/organisations?type=nhs-trust",
		"/organisations/RR8", "/organisations/A81001", "/pages/about"}
	seen := map[string]bool{}
	queue := append([]string{}, start...)
	pages := map[string]string{}
	for len(queue) > 0 && len(pages) < limit {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		status, body, _ := s.get(t, u)
		if status != http.StatusOK {
			t.Errorf("crawl: %s answered %d", u, status)
			continue
		}
		pages[u] = body
		if !strings.HasPrefix(u, "/datasets") && !strings.HasPrefix(u, "/organisations") && u != "/" {
			continue
		}
		for _, m := range hrefPattern.FindAllStringSubmatch(body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if strings.HasPrefix(link, "/assets/") || strings.HasPrefix(link, "/static/") || seen[link] {
				continue
			}
			if p := regexp.MustCompile(`page=(\d+)`).FindStringSubmatch(link); p != nil && p[1] != "1" && p[1] != "2" {
				continue
			}
			queue = append(queue, link)
		}
	}
	return pages
}

func TestMalformedInputStoresNothing(t *testing.T) {
	const schema = `{"fields": [
		{"name": "Code", "type": "string", "constraints": {"required": true, "pattern": "[A-Z][0-9]{5}|R[A-Z0-9]{2}"}},
		{"name": "Opened", "type": "date", "format": "%Y%m%d"},
		{"name": "Patients", "type": "integer"}]}`
	cases := []struct {
		name     string
		csv      []byte
		encoding string
		want     []string // every string must appear in the error
	}{
		{"ragged row", []byte("Code,Opened,Patients\nA81001,19740401,12\nA81002,19740401\n"), "utf-8",
			[]string{"row 3", "2 cells", "3 fields"}},
		{"bad date", []byte("Code,Opened,Patients\nA81001,20250231,12\n"), "utf-8",
			[]string{"row 2", "column 2", "Opened", "20250231"}},
		{"code failing its pattern", []byte("Code,Opened,Patients\nA81001,19740401,12\nA8100X,19740401,3\n"), "utf-8",
			[]string{"row 3", "column 1", "Code", "A8100X"}},
		{"wrong declared encoding", []byte("Code,Opened,Patients\nRR8,19740401,12\nA81002,19740401,3\xe9\n"), "utf-8",
			[]string{"byte 54", "row 3", "UTF-8"}},
		{"empty file", []byte(""), "utf-8", []string{"empty"}},
		{"header not matching the schema", []byte("Code,Open date,Patients\nA81001,19740401,12\n"), "utf-8",
			[]string{"column 2", "Open date", "Opened"}},
		{"integer with half", []byte("Code,Opened,Patients\nA81001,19740401,12.5\n"), "utf-8",
			[]string{"row 2", "column 3", "Patients", "12.5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "candour-data")
			if err := os.WriteFile(filepath.Join(dir, "bad.csv"), c.csv, 0o644); err != nil {
				t.Fatal(err)
			}
			desc := fmt.Sprintf(`{"dataset": {"slug": "bad", "title": "Bad", "publisher": {"slug": "p", "name": "P"}},
				"release": {"title": "Bad release"},
				"resources": [{"name": "bad", "path": "bad.csv", "encoding": %q, "schema": %s}]}`, c.encoding, schema)
			if err := os.WriteFile(filepath.Join(dir, "descriptor.json"), []byte(desc), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"import", "release", filepath.Join(dir, "descriptor.json"), "--data-dir", data}, noEnv, &out, &errOut)
			if err == nil {
				t.Fatalf("import succeeded:\n%s", out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if !strings.Contains(err.Error(), "bad.csv") {
				t.Errorf("error does not name the file:\n%v", err)
			}
			assertNothingStored(t, data)
		})
	}
}

// assertNothingStored checks a data folder holds no release, dataset or
// release file.
func assertNothingStored(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	a, err := openApp(ctx, Config{DataDir: data}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if empty, err := a.empty(ctx); err != nil || !empty {
		t.Errorf("the catalogue is not empty (err %v)", err)
	}
	releases, err := a.publisher.Releases(ctx)
	if err != nil || len(releases) != 0 {
		t.Errorf("%d releases were stored (err %v)", len(releases), err)
	}
	err = filepath.WalkDir(filepath.Join(data, blobsDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("a file was stored: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
