package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The requests of the clients people use to read CKAN, replayed as they
// send them: ckanapi (CKAN's client library and command-line tool) and
// the CKAN-to-CKAN harvester of ckanext-harvest (its gather stage).

// ckanEnvelope is CKAN's answer.
type ckanEnvelope struct {
	Help    string          `json:"help"`
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	} `json:"error"`
}

// ckanapiCall is ckanapi's RemoteCKAN.call_action: a POST to
// /api/action/{action} with the parameters as a JSON body.
func ckanapiCall(t *testing.T, base, action string, params map[string]any) (int, ckanEnvelope, http.Header) {
	t.Helper()
	body, _ := json.Marshal(params)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/action/"+action, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ckanapi/4.7 (+https://github.com/ckan/ckanapi)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/action/%s: %v", action, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env ckanEnvelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Help == "" {
		t.Fatalf("POST /api/action/%s: %d, not CKAN's envelope: %v %.300s", action, resp.StatusCode, err, raw)
	}
	return resp.StatusCode, env, resp.Header
}

// harvestedPackage is what the harvester reads of a package.
type harvestedPackage struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Organization *struct {
		Name string `json:"name"`
	} `json:"organization"`
	MetadataModified string `json:"metadata_modified"`
}

// ckanHarvest replays the CKAN harvester's gather stage against base:
// package_search through /api/{version}/action/ with rows=100, start paging
// until an empty page, sort=id asc, and an fq of its terms joined by
// spaces — organisations to include as (organization:a OR organization:b),
// to exclude as -organization:c, and, for an incremental run,
// metadata_modified:[{since}Z TO *] with since in Python's isoformat (the
// harvester itself goes back an hour before its last run; the caller
// passes the instant). It fails when paging repeats a page, as the
// harvester does.
func ckanHarvest(t *testing.T, base string, include, exclude []string, since time.Time) []harvestedPackage {
	t.Helper()
	var fq []string
	if len(include) > 0 {
		var terms []string
		for _, o := range include {
			terms = append(terms, "organization:"+o)
		}
		fq = append(fq, "("+strings.Join(terms, " OR ")+")")
	}
	for _, o := range exclude {
		fq = append(fq, "-organization:"+o)
	}
	if !since.IsZero() {
		fq = append(fq, "metadata_modified:["+since.UTC().Format("2006-01-02T15:04:05.000000")+"Z TO *]")
	}
	params := url.Values{"rows": {"100"}, "start": {"0"}, "sort": {"id asc"}}
	if len(fq) > 0 {
		params.Set("fq", strings.Join(fq, " "))
	}
	var out []harvestedPackage
	seen := map[string]bool{}
	previous := ""
	for start := 0; ; start += 100 {
		params.Set("start", strconv.Itoa(start))
		resp, err := http.Get(base + "/api/2/action/package_search?" + params.Encode())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(raw) == previous {
			t.Fatalf("harvest: the paging doesn't seem to work (%s)", params.Encode())
		}
		previous = string(raw)
		var env struct {
			Success bool `json:"success"`
			Result  struct {
				Results []harvestedPackage `json:"results"`
			} `json:"result"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode != http.StatusOK || !env.Success {
			t.Fatalf("harvest: package_search?%s: %d %v %.300s", params.Encode(), resp.StatusCode, err, raw)
		}
		if len(env.Result.Results) == 0 {
			return out
		}
		for _, p := range env.Result.Results {
			if seen[p.ID] {
				continue
			}
			seen[p.ID] = true
			// The import stage reads package["organization"]["name"].
			if p.Organization == nil || p.Organization.Name == "" {
				t.Errorf("harvest: package %s has no organization, which the harvester's import stage needs", p.Name)
			}
			out = append(out, p)
		}
	}
}

func harvestedNames(ps []harvestedPackage) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// ckanClientChecks replays ckanapi's calls against the demo: POST with a
// JSON body to /api/action/, the version and status documents, and
// CKAN's error envelope for what CKAN refuses.
func ckanClientChecks(t *testing.T, s *server) {
	status, env, h := ckanapiCall(t, s.base, "package_search", map[string]any{
		"fq": "organization:hscic", "rows": 5, "sort": "metadata_modified desc", "include_private": true})
	var search struct {
		Count   int `json:"count"`
		Results []struct {
			Name   string `json:"name"`
			IsOpen *bool  `json:"isopen"`
		} `json:"results"`
	}
	if json.Unmarshal(env.Result, &search); status != http.StatusOK || !env.Success || search.Count == 0 || search.Results[0].IsOpen == nil {
		t.Errorf("ckanapi package_search: %d %+v", status, search)
	}
	if h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("package_search without CORS: %q", h.Get("Access-Control-Allow-Origin"))
	}
	_, env, _ = ckanapiCall(t, s.base, "organization_list", map[string]any{"all_fields": true})
	var orgs []struct {
		Name         string `json:"name"`
		Title        string `json:"title"`
		PackageCount int    `json:"package_count"`
	}
	if err := json.Unmarshal(env.Result, &orgs); err != nil || len(orgs) == 0 || orgs[0].Name == "" || orgs[0].Title == "" {
		t.Errorf("ckanapi organization_list all_fields: %v %.300s", err, env.Result)
	}
	total := 0
	for _, o := range orgs {
		total += o.PackageCount
	}
	var names []string
	_, env, _ = ckanapiCall(t, s.base, "package_list", nil)
	if json.Unmarshal(env.Result, &names); total != len(names) {
		t.Errorf("organizations hold %d packages, package_list lists %d: every package needs its organization", total, len(names))
	}
	_, env, _ = ckanapiCall(t, s.base, "group_list", map[string]any{"all_fields": "True"})
	var groups []struct{ Name string }
	if err := json.Unmarshal(env.Result, &groups); err != nil || len(groups) == 0 {
		t.Errorf("group_list all_fields=True: %v %.200s", err, env.Result)
	}
	_, env, _ = ckanapiCall(t, s.base, "organization_show", map[string]any{"id": "hscic", "include_datasets": true})
	var org struct {
		Name     string `json:"name"`
		Packages []struct{ Name string }
	}
	if json.Unmarshal(env.Result, &org); org.Name != "hscic" || !slices.ContainsFunc(org.Packages, func(p struct{ Name string }) bool { return p.Name == "shmi" }) {
		t.Errorf("organization_show include_datasets: %+v", org)
	}
	if status, env, _ := ckanapiCall(t, s.base, "package_search", map[string]any{"fq": "metadata_modified:[soon TO *]"}); status != http.StatusConflict || env.Error == nil || env.Error.Type != "Validation Error" {
		t.Errorf("a bad range: %d %+v", status, env.Error)
	}
	// A form body, as curl -d sends it.
	resp, err := http.PostForm(s.base+"/api/3/action/package_show", url.Values{"id": {"shmi"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"name":"shmi"`) {
		t.Errorf("POST form package_show: %d %.200s", resp.StatusCode, raw)
	}
	for path, want := range map[string]string{"/api/3": `{"version":3}`, "/api/2": `{"version":2}`} {
		if body := s.mustGet(t, path); body != want {
			t.Errorf("GET %s: %s, want %s", path, body, want)
		}
	}
	if body := s.mustGet(t, "/api/util/status"); !strings.Contains(body, `"ckan_version"`) || !strings.Contains(body, `"site_url"`) {
		t.Errorf("GET /api/util/status: %s", body)
	}
	// What CKAN refuses, refused in CKAN's envelope.
	for _, tc := range []struct {
		method, path string
		status       int
		kind         string
	}{
		{http.MethodGet, "/api/3/action", 404, "Not Found Error"},
		{http.MethodGet, "/api/3/nothing/here", 404, "Not Found Error"},
		{http.MethodGet, "/api/action/package_show/extra", 404, "Not Found Error"},
		{http.MethodPut, "/api/action/package_show", 405, "Method Not Allowed"},
		{http.MethodDelete, "/api/3/action/package_list", 405, "Method Not Allowed"},
		{http.MethodPost, "/api/action/package_create", 400, "Bad request"},
	} {
		req, _ := http.NewRequest(tc.method, s.base+tc.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var env ckanEnvelope
		if json.Unmarshal(raw, &env) != nil || resp.StatusCode != tc.status || env.Success || env.Error == nil || env.Error.Type != tc.kind {
			t.Errorf("%s %s: %d %.200s, want %d with CKAN's %q error", tc.method, tc.path, resp.StatusCode, raw, tc.status, tc.kind)
		}
		if tc.status == 405 && !strings.Contains(resp.Header.Get("Allow"), "POST") {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, s.base+"/api/action/package_search", nil)
	req.Header.Set("Origin", "https://news.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("CORS preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// The harvester's first run takes every package, each with its
	// organization; one that excludes an organisation takes the rest.
	all := ckanHarvest(t, s.base, nil, nil, time.Time{})
	if len(all) != len(names) {
		t.Errorf("a full harvest took %d packages, package_list lists %d", len(all), len(names))
	}
	rest := ckanHarvest(t, s.base, nil, []string{"hscic"}, time.Time{})
	only := ckanHarvest(t, s.base, []string{"hscic"}, nil, time.Time{})
	if len(rest)+len(only) != len(all) || len(only) == 0 || slices.Contains(harvestedNames(rest), "shmi") {
		t.Errorf("harvest with hscic excluded took %d, with only hscic %d, of %d", len(rest), len(only), len(all))
	}
}

// apiWrongRequests: /api/v1 answers what it does not have as a public
// API does — 404, 405 with Allow, CORS preflight — in its one error
// format, never "an API token is required"; and its index lists the
// routes.
func apiWrongRequests(t *testing.T, s *server) {
	var index struct {
		OpenAPI string `json:"openapi"`
		Routes  []struct {
			Path    string   `json:"path"`
			Methods []string `json:"methods"`
			Token   bool     `json:"token"`
		} `json:"routes"`
	}
	if body := s.mustGet(t, "/api/v1"); json.Unmarshal([]byte(body), &index) != nil || !strings.HasSuffix(index.OpenAPI, "/api/v1/openapi.json") || len(index.Routes) < 12 {
		t.Errorf("the /api/v1 index: %.300s", body)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/api/v1/nothing", 404, ""},
		{http.MethodGet, "/api/v1/datasets/shmi/nothing", 404, ""},
		{http.MethodPost, "/api/v1/datasets", 405, "GET, HEAD, OPTIONS"},
		{http.MethodDelete, "/api/v1/datasets/shmi", 405, "GET, HEAD, OPTIONS"},
		{http.MethodGet, "/api/v1/submissions", 405, "POST, OPTIONS"},
		{http.MethodPut, "/api/v1", 405, "GET, HEAD, OPTIONS"},
	} {
		req, _ := http.NewRequest(tc.method, s.base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct{ Code, Message string }
		}
		if resp.StatusCode != tc.status || json.Unmarshal(raw, &e) != nil || e.Error.Code == "" || strings.Contains(e.Error.Message, "token") ||
			resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d (Allow %q) %.200s, want %d (Allow %q) in the error format", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), raw, tc.status, tc.allow)
		}
	}
	for _, path := range []string{"/api/v1/datasets", "/api/v1/datasets/shmi/releases/10/rows/shmi-2014-01.csv", "/api/v1/search", "/api/v1/submissions"} {
		req, _ := http.NewRequest(http.MethodOptions, s.base+path, nil)
		req.Header.Set("Origin", "https://news.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization, if-none-match")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("CORS preflight of %s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
}

// releaseMetadataForReaders: every published release's Data Package says
// each file's encoding truthfully (utf-8-sig for a file that starts with a
// byte-order mark, as a Frictionless reader names it), its CSVW metadata
// gives the encoding, and every missing-value marker is at schema level,
// where Data Package v1 readers look for it.
func releaseMetadataForReaders(t *testing.T, s *server) {
	var list struct {
		Items []struct {
			Slug string `json:"slug"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/datasets?status=published&limit=100")), &list); err != nil || len(list.Items) == 0 {
		t.Fatalf("published datasets: %v", err)
	}
	boms, releases := 0, 0
	for _, d := range list.Items {
		var ds struct {
			Releases []struct {
				Version int    `json:"version"`
				State   string `json:"state"`
			} `json:"releases"`
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/datasets/"+d.Slug)), &ds); err != nil {
			t.Fatal(err)
		}
		for _, r := range ds.Releases {
			if r.State != "published" && r.State != "superseded" {
				continue
			}
			releases++
			prefix := "/datasets/" + d.Slug + "/releases/" + strconv.Itoa(r.Version)
			var pkg struct {
				Resources []struct {
					Path     string `json:"path"`
					Encoding string `json:"encoding"`
					Schema   struct {
						MissingValues []string `json:"missingValues"`
						Fields        []struct {
							Name          string   `json:"name"`
							MissingValues []string `json:"missingValues"`
						} `json:"fields"`
					} `json:"schema"`
				} `json:"resources"`
			}
			if err := json.Unmarshal([]byte(s.mustGet(t, prefix+"/datapackage.json")), &pkg); err != nil {
				t.Fatal(err)
			}
			for _, res := range pkg.Resources {
				req, _ := http.NewRequest(http.MethodGet, res.Path, nil)
				req.Header.Set("Range", "bytes=0-2")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				head, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := "utf-8"
				if bytes.Equal(head, []byte{0xEF, 0xBB, 0xBF}) {
					want, boms = "utf-8-sig", boms+1
				}
				if res.Encoding != want {
					t.Errorf("%s: encoding %q, want %q", res.Path, res.Encoding, want)
				}
				for _, f := range res.Schema.Fields {
					for _, m := range f.MissingValues {
						if !slices.Contains(res.Schema.MissingValues, m) {
							t.Errorf("%s: field %s's missing value %q is not at schema level, so a v1 reader fails on it", res.Path, f.Name, m)
						}
					}
				}
			}
			var csvw struct {
				Tables []struct {
					Dialect struct {
						Encoding string `json:"encoding"`
					} `json:"dialect"`
				} `json:"tables"`
			}
			if err := json.Unmarshal([]byte(s.mustGet(t, prefix+"/csv-metadata.json")), &csvw); err != nil || len(csvw.Tables) == 0 || csvw.Tables[0].Dialect.Encoding == "" {
				t.Errorf("%s/csv-metadata.json gives no encoding: %v", prefix, err)
			}
		}
	}
	if boms == 0 || releases < 14 {
		t.Errorf("%d releases, %d files with a byte-order mark: the demo's GP payments file has one", releases, boms)
	}
}

// apiPageLinks: a paged /api/v1 answer links its first, previous, next
// and last pages (RFC 8288) and says the total, and following next walks
// every item once.
func apiPageLinks(t *testing.T, s *server) {
	next := regexp.MustCompile(`<([^>]+)>; rel="next"`)
	seen := map[string]bool{}
	u := s.base + "/api/v1/datasets?limit=7&status=published"
	pages := 0
	for u != "" && pages < 20 {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Total int
			Items []struct{ Slug string }
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.Header.Get("X-Total-Count") != strconv.Itoa(page.Total) || !strings.Contains(resp.Header.Get("Link"), `rel="first"`) ||
			!strings.Contains(resp.Header.Get("Link"), `rel="last"`) {
			t.Fatalf("%s: %v, X-Total-Count %q, Link %q", u, err, resp.Header.Get("X-Total-Count"), resp.Header.Get("Link"))
		}
		if pages > 0 && !strings.Contains(resp.Header.Get("Link"), `rel="prev"`) {
			t.Errorf("%s has no prev link", u)
		}
		for _, it := range page.Items {
			if seen[it.Slug] {
				t.Errorf("%s listed twice", it.Slug)
			}
			seen[it.Slug] = true
		}
		pages++
		u = ""
		if m := next.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			u = m[1]
			if !strings.Contains(u, "status=published") {
				t.Errorf("the next link %s loses the query", u)
			}
		}
	}
	if len(seen) != 7 || pages != 1 {
		// 7 published datasets fit one page of 7.
		t.Errorf("walked %d pages, %d datasets", pages, len(seen))
	}
	resp, err := http.Get(s.base + "/api/v1/datasets?limit=5")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if l := resp.Header.Get("Link"); !strings.Contains(l, "offset=5") || !strings.Contains(l, `rel="next"`) || !strings.Contains(l, "offset=25") {
		t.Errorf("26 datasets in pages of 5: Link %q, want next at offset 5 and last at offset 25", l)
	}
}

// publishedReleases lists every published (or superseded) release of the
// demo as "slug/releases/N".
func publishedReleases(t *testing.T, s *server) []string {
	t.Helper()
	var list struct {
		Items []struct {
			Slug string `json:"slug"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/datasets?status=published&limit=100")), &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range list.Items {
		var ds struct {
			Releases []struct {
				Version int    `json:"version"`
				State   string `json:"state"`
			} `json:"releases"`
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/datasets/"+d.Slug)), &ds); err != nil {
			t.Fatal(err)
		}
		for _, r := range ds.Releases {
			if r.State == "published" || r.State == "superseded" {
				out = append(out, d.Slug+"/releases/"+strconv.Itoa(r.Version))
			}
		}
	}
	return out
}

// goFieldName returns the first object key in v that is not snake_case
// (a capital letter: a Go field name leaking into JSON, or camelCase), or
// "".
func goFieldName(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.ToLower(k) != k {
				return k
			}
			if found := goFieldName(e); found != "" {
				return found
			}
		}
	case []any:
		for _, e := range x {
			if found := goFieldName(e); found != "" {
				return found
			}
		}
	}
	return ""
}

// apiRecorder keeps every /api/v1 exchange the tests make through
// http.DefaultTransport, to be held to the OpenAPI document.
type apiRecorder struct {
	prefix string
	next   http.RoundTripper
	mu     sync.Mutex
	seen   []apiExchange
}

type apiExchange struct {
	req    *http.Request
	status int
	header http.Header
	body   []byte
}

func (r *apiRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.String(), r.prefix) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.seen = append(r.seen, apiExchange{req: req.Clone(req.Context()), status: resp.StatusCode, header: resp.Header.Clone(), body: body})
	r.mu.Unlock()
	return resp, nil
}

// baseTransport is the *http.Transport under any recorders watchAPI
// put in front of http.DefaultTransport.
func baseTransport() *http.Transport {
	rt := http.DefaultTransport
	for {
		switch x := rt.(type) {
		case *apiRecorder:
			rt = x.next
		case *http.Transport:
			return x
		default:
			return http.DefaultTransport.(*http.Transport)
		}
	}
}

// apiWatch records a server's /api/v1 exchanges and holds them to its
// OpenAPI document when the test ends (and when check is called).
type apiWatch struct {
	rec     *apiRecorder
	checker *openAPIChecker
	done    int // exchanges already checked
}

// watchAPI starts recording s's /api/v1 exchanges; at the end of the test
// every answer must fit the document s serves.
func watchAPI(t *testing.T, s *server) *apiWatch {
	w := &apiWatch{rec: &apiRecorder{prefix: s.base + "/api/v1", next: http.DefaultTransport}, checker: newOpenAPIChecker(t, s)}
	http.DefaultTransport = w.rec
	t.Cleanup(func() {
		http.DefaultTransport = w.rec.next
		w.check(t)
	})
	return w
}

// check holds the exchanges recorded since the last check to the
// document, and returns how many fitted an operation.
func (w *apiWatch) check(t *testing.T) int {
	w.rec.mu.Lock()
	seen := slices.Clone(w.rec.seen[w.done:])
	w.done = len(w.rec.seen)
	w.rec.mu.Unlock()
	return checkExchanges(t, w.checker, seen)
}

// openAPIChecker holds answers to the server's own OpenAPI document.
type openAPIChecker struct {
	router routers.Router
}

func newOpenAPIChecker(t *testing.T, s *server) *openAPIChecker {
	t.Helper()
	resp, err := http.Get(s.base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	// NDJSON is lines of JSON: held to the document as text, as CSV is.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &openAPIChecker{router: router}
}

// errNoOperation is check's answer for a request the document has no
// operation for (another method, an address it does not have).
var errNoOperation = errors.New("no operation in the document")

// check holds one answer to the document: its status must be documented
// for the operation, and its body must fit that status's schema.
func (c *openAPIChecker) check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return errNoOperation
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{ExcludeRequestBody: true, ExcludeRequestQueryParams: true}}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}})
}

// checkExchanges holds recorded answers to the document and returns how
// many fitted an operation.
func checkExchanges(t *testing.T, c *openAPIChecker, seen []apiExchange) int {
	checked, outside := 0, 0
	for _, x := range seen {
		var err error
		if x.status == http.StatusMethodNotAllowed || x.req.Method == http.MethodOptions {
			err = errNoOperation // a method the address does not answer (apiWrongRequests checks these)
		} else {
			err = c.check(x.req, x.status, x.header, x.body)
		}
		switch {
		case errors.Is(err, errNoOperation):
			// Another method or an address the API does not have: the one
			// error format's 404 or 405, or a CORS preflight.
			outside++
			if x.status != 404 && x.status != 405 && x.status != 204 {
				t.Errorf("%s %s (no operation in the document): %d", x.req.Method, x.req.URL, x.status)
			}
		case err != nil:
			t.Errorf("%s %s: %d does not fit the OpenAPI document: %v\n%.300s", x.req.Method, x.req.URL, x.status, err, x.body)
		default:
			checked++
		}
	}
	if len(seen) > 0 {
		t.Logf("OpenAPI: %d answers the test received held to the document, %d to requests it has no operation for", checked, outside)
	}
	return checked
}

// openAPIGeneratedRequests sends requests generated from the document
// itself — every operation with its examples, each parameter at every
// allowed value and at its bounds, and each broken (a wrong type, out of
// range, an unknown value, a hostile path segment) — at least 1,000 of
// them: none may answer 5xx, and every answer must fit the document.
func openAPIGeneratedRequests(t *testing.T, s *server, c *openAPIChecker) {
	var doc struct {
		Paths map[string]struct {
			Get *struct {
				Parameters []struct {
					Name    string `json:"name"`
					In      string `json:"in"`
					Example any    `json:"example"`
					Schema  struct {
						Type    string   `json:"type"`
						Enum    []string `json:"enum"`
						Minimum *int     `json:"minimum"`
						Maximum *int     `json:"maximum"`
					} `json:"schema"`
				} `json:"parameters"`
				Security []map[string][]string `json:"security"`
			} `json:"get"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/openapi.json")), &doc); err != nil {
		t.Fatal(err)
	}
	hostile := []string{"nope", "0", "-1", "99999999999999999999", "%C3%BC", "a%20b", "..", "%00", strings.Repeat("x", 300)}
	var urls []string
	for path, item := range doc.Paths {
		if item.Get == nil {
			continue
		}
		op := item.Get
		fill := func(override map[string]string) string {
			u := "/api/v1" + strings.TrimSuffix(path, "/")
			for _, p := range op.Parameters {
				if p.In != "path" {
					continue
				}
				v := fmt.Sprint(p.Example)
				if o, ok := override[p.Name]; ok {
					v = o
				}
				u = strings.Replace(u, "{"+p.Name+"}", v, 1)
			}
			return u
		}
		base := fill(nil)
		urls = append(urls, base)
		for _, p := range op.Parameters {
			if p.In == "path" {
				for _, h := range hostile {
					urls = append(urls, fill(map[string]string{p.Name: h}))
				}
				continue
			}
			var values []string
			values = append(values, p.Schema.Enum...)
			switch p.Schema.Type {
			case "integer":
				lo, hi := 0, 100
				if p.Schema.Minimum != nil {
					lo = *p.Schema.Minimum
				}
				if p.Schema.Maximum != nil {
					hi = *p.Schema.Maximum
				}
				values = append(values, strconv.Itoa(lo), strconv.Itoa(hi), strconv.Itoa(lo-1), strconv.Itoa(hi+1), strconv.Itoa((lo+hi)/2), "x", "1.5", "")
			case "object": // the rows' filters
				values = nil
				for _, f := range []string{"eq.PROVIDER=RR8", "eq.PROVIDER=RR8&eq.PROVIDER=RA2", "gte.DATE=2013-01-01", "lte.DATE=x", "eq.NOPE=1", "gt.DATE=1", "eq.=1"} {
					urls = append(urls, base+"?"+f)
				}
			default:
				values = append(values, "x", "", "%C3%BC", "*", strings.Repeat("q", 300), "unknown-value")
			}
			for _, v := range values {
				urls = append(urls, base+"?"+url.QueryEscape(p.Name)+"="+url.QueryEscape(v))
			}
		}
	}
	// Pairs of parameters and repeats until there are 1,000 requests.
	for i := 0; len(urls) < 1000; i++ {
		a, b := urls[i%len(urls)], urls[(i*7+3)%len(urls)]
		if j := strings.IndexByte(b, '?'); j >= 0 && strings.HasPrefix(a, b[:j]) {
			sep := "?"
			if strings.Contains(a, "?") {
				sep = "&"
			}
			urls = append(urls, a+sep+b[j+1:])
		} else {
			urls = append(urls, a+"?junk="+strconv.Itoa(i))
		}
	}
	statuses := map[int]int{}
	for _, u := range urls {
		req, _ := http.NewRequest(http.MethodGet, s.base+u, nil)
		resp, err := s.api.rec.next.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d %.200s", u, resp.StatusCode, body)
			continue
		}
		if err := c.check(req, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("GET %s: %d outside the document: %v\n%.200s", u, resp.StatusCode, err, body)
		}
	}
	t.Logf("OpenAPI request generator: %d requests, answers by status %v", len(urls), statuses)
	if statuses[http.StatusTooManyRequests] > 0 || statuses[200] < 50 || statuses[400] < 50 || statuses[404] < 20 {
		t.Errorf("the generated requests do not exercise the API: %v", statuses)
	}
}
