package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// areaTwin is an area page's JSON twin.
type areaTwin struct {
	Columns []string            `json:"columns"`
	Total   int                 `json:"total"`
	Items   []map[string]string `json:"items"`
}

func getAreaTwin(t *testing.T, s *server, code string) areaTwin {
	t.Helper()
	var tw areaTwin
	if err := json.Unmarshal([]byte(s.mustGet(t, "/areas/"+code+"?format=json")), &tw); err != nil {
		t.Fatalf("/areas/%s?format=json: %v", code, err)
	}
	return tw
}

func twinRow(t *testing.T, tw areaTwin, indicator string) map[string]string {
	t.Helper()
	for _, it := range tw.Items {
		if it["indicator_id"] == indicator {
			return it
		}
	}
	t.Fatalf("the twin has no row for %s: %v", indicator, tw.Items)
	return nil
}

// Local area pages on the demo: a region page, an ICB page with its
// local pack (whose values are the page's twin's), areas shown by name
// everywhere, name conflicts reported, bad codes refused by name.
func TestLocalAreas(t *testing.T) {
	s := startCandour(t, "demo", t.TempDir())

	// The demo's log reports the names the sources disagree on.
	if out := s.stdout.String(); !strings.Contains(out, `name conflict for Integrated care board QE1: "NHS LANCASHIRE AND SOUTH CUMBRIA ICB"`) {
		t.Errorf("the demo log does not report QE1's name conflict:\n%s", out)
	}

	t.Run("index", func(t *testing.T) {
		body := s.mustGet(t, "/areas")
		for _, want := range []string{`<a href="/areas/Y63">North East and Yorkshire Comm Region</a>`,
			`<a href="/areas/QHM">NHS North East and North Cumbria ICB</a>`, `<a href="/areas/Y56">London Commissioning Region</a>`} {
			if !strings.Contains(body, want) {
				t.Errorf("/areas lacks %s", want)
			}
		}
		if !strings.Contains(s.mustGet(t, "/organisations"), `<a href="/areas">Local areas</a>`) {
			t.Error("the organisations page does not link to the local areas")
		}
		if sm := s.mustGet(t, "/sitemap.xml"); !strings.Contains(sm, "/areas/QHM</loc>") || !strings.Contains(sm, "/areas/Y63</loc>") {
			t.Error("sitemap.xml lists no area pages")
		}
	})

	t.Run("region", func(t *testing.T) {
		body := s.mustGet(t, "/areas/Y63")
		for _, want := range []string{"<h1>North East and Yorkshire Comm Region</h1>", `<a href="/areas/QHM">NHS North East and North Cumbria ICB</a>`,
			`id="area-indicators"`, "never counted as zero", `href="/areas/Y63/pack.zip"`, `href="/indicators/cancer-62-day?region=Y63"`} {
			if !strings.Contains(body, want) {
				t.Errorf("/areas/Y63 lacks %s", want)
			}
		}
		// The region's value is its trusts' numerators over their
		// denominators, as the public observations give them.
		checkAreaSums(t, s, "Y63", "region", "cancer-62-day")
		row := twinRow(t, getAreaTwin(t, s, "Y63"), "cqc-overall-rating")
		if !strings.Contains(row["categories"], "Good: ") || row["value"] != "" {
			t.Errorf("ratings for a region: %v", row)
		}
	})

	var twin areaTwin
	t.Run("icb", func(t *testing.T) {
		body := s.mustGet(t, "/areas/QHM")
		for _, want := range []string{"<h1>NHS North East and North Cumbria ICB</h1>", `is in <a href="/areas/Y63">North East and Yorkshire Comm Region</a>`,
			`<a href="/organisations/R0B">South Tyneside and Sunderland NHS Foundation Trust</a>`, `<a href="/organisations/A81001">The Densham Surgery</a>`,
			"The name is from NHS payments to general practice (gp-payments-2022-23.csv)"} {
			if !strings.Contains(body, want) {
				t.Errorf("/areas/QHM lacks %s", want)
			}
		}
		checkAreaSums(t, s, "QHM", "parent", "cancer-62-day")
		twin = getAreaTwin(t, s, "QHM")
		shmi := twinRow(t, twin, "shmi")
		if shmi["value"] == "" || shmi["verdict"] == "not-compared" || shmi["england"] == "" {
			t.Errorf("SHMI for QHM has no value or verdict: %v", shmi)
		}
		if row := twinRow(t, twin, "proms-hip-health-gain"); row["value"] != "" || !strings.Contains(row["reason"], "cannot be made") {
			t.Errorf("a mean was added up for an area: %v", row)
		}
	})

	t.Run("pack", func(t *testing.T) {
		resp, err := http.Get(s.base + "/areas/QHM/pack.zip")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("pack: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatalf("the pack is not a zip: %v", err)
		}
		files := map[string]string{}
		var names []string
		for _, f := range z.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name] = string(b)
			names = append(names, f.Name)
		}
		if want := []string{"README.md", "metadata.json", "indicators.csv", "organisations.csv", "feedback.csv"}; !slices.Equal(names, want) {
			t.Errorf("pack files %v, want %v", names, want)
		}
		checkPackFeedback(t, s, files["organisations.csv"], files["feedback.csv"])
		// indicators.csv is the twin, row for row, cell for cell.
		rows, err := csv.NewReader(strings.NewReader(files["indicators.csv"])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(twin.Items)+1 || !slices.Equal(rows[0], twin.Columns) {
			t.Fatalf("indicators.csv has %d rows and header %v; the twin %d items and columns %v", len(rows)-1, rows[0], len(twin.Items), twin.Columns)
		}
		for i, r := range rows[1:] {
			for j, col := range rows[0] {
				if r[j] != twin.Items[i][col] {
					t.Errorf("indicators.csv row %d %s = %q, the page's twin %q", i+1, col, r[j], twin.Items[i][col])
				}
			}
		}
		var meta struct {
			Area struct {
				Code, Name string
			}
			Generated   string
			Licence     struct{ ID, Title, URL string }
			Attribution []string
			Sources     []struct {
				Dataset   string
				Published string
			}
		}
		if err := json.Unmarshal([]byte(files["metadata.json"]), &meta); err != nil {
			t.Fatal(err)
		}
		newest := ""
		for _, src := range meta.Sources {
			newest = max(newest, src.Published)
		}
		if meta.Area.Code != "QHM" || meta.Area.Name != "NHS North East and North Cumbria ICB" || meta.Licence.Title != "Open Government Licence v3.0" ||
			len(meta.Attribution) == 0 || len(meta.Sources) < 3 || meta.Generated == "" || meta.Generated != newest {
			t.Errorf("metadata.json: %+v", meta)
		}
		for _, want := range []string{"Open Government Licence v3.0", "Source: NHS England.", "never counted as zero", "/datasets/shmi/releases/10"} {
			if !strings.Contains(files["README.md"], want) {
				t.Errorf("README.md lacks %q", want)
			}
		}
		if !strings.Contains(files["organisations.csv"], "A81001,THE DENSHAM SURGERY,gp-practice,active") {
			t.Errorf("organisations.csv lacks the Densham Surgery:\n%.400s", files["organisations.csv"])
		}
		// The same published state gives the same bytes.
		if again := s.mustGet(t, "/areas/QHM/pack.zip"); again != string(raw) {
			t.Error("a second download of the pack differs")
		}
	})

	t.Run("names", func(t *testing.T) {
		org := s.mustGet(t, "/organisations/A81001")
		for _, want := range []string{`<a href="/organisations/QHM">NHS North East and North Cumbria ICB</a> (<a href="/areas/QHM">local area page</a>)`,
			`<a href="/organisations/Y63">North East and Yorkshire Comm Region</a>`} {
			if !strings.Contains(org, want) {
				t.Errorf("the Densham Surgery's page lacks %s", want)
			}
		}
		if strings.Contains(org, "Integrated care board QHM<") {
			t.Error("the Densham Surgery's page shows its board by code")
		}
		if ind := s.mustGet(t, "/indicators/cancer-62-day"); !strings.Contains(ind, ">North East and Yorkshire Comm Region (Y63)<") {
			t.Error("the indicator page's region filter shows regions by code")
		}
		qe1 := s.mustGet(t, "/areas/QE1")
		if !strings.Contains(qe1, "Sources disagree") || !strings.Contains(qe1, "North East and North Cumbria (CQC ratings of GP practices (cqc-gp-ratings.csv)") {
			t.Error("QE1's page does not show the name another source gives it")
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			status int
			want   string
		}{
			{"/areas/NOPE", 404, "no local area with the code &#34;NOPE&#34;"},
			{"/areas/A81001", 404, "no local area with the code &#34;A81001&#34;"},
			{"/areas/NOPE/pack.zip", 404, "no local area with the code &#34;NOPE&#34;"},
			{"/areas/QHM?format=xml", 400, "The format parameter &#34;xml&#34; is not valid"},
		} {
			status, body, _ := s.get(t, c.path)
			if status != c.status || !strings.Contains(body, c.want) {
				t.Errorf("GET %s: %d, want %d saying %q", c.path, status, c.status, c.want)
			}
		}
	})
}

// checkAreaSums checks an area's value of a proportion indicator against
// the public observations of the organisations the public directory puts
// in it (field "region" or "parent" of the organisations list's twin).
func checkAreaSums(t *testing.T, s *server, code, field, indicator string) {
	t.Helper()
	var orgs struct{ Items []map[string]string }
	if err := json.Unmarshal([]byte(s.mustGet(t, "/organisations?type=nhs-trust&format=json")), &orgs); err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, o := range orgs.Items {
		if o[field] == code {
			in[o["code"]] = true
		}
	}
	var obs struct {
		Items []struct {
			Organisation string   `json:"organisation_code"`
			Numerator    *float64 `json:"numerator"`
			Denominator  *float64 `json:"denominator"`
		}
	}
	if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/indicators/"+indicator+"/observations?limit=500")), &obs); err != nil {
		t.Fatal(err)
	}
	var num, den float64
	n := 0
	for _, o := range obs.Items {
		if in[o.Organisation] {
			if o.Numerator == nil || o.Denominator == nil {
				t.Fatalf("%s: %s has a suppressed figure; pick another indicator", code, o.Organisation)
			}
			num, den, n = num+*o.Numerator, den+*o.Denominator, n+1
		}
	}
	row := twinRow(t, getAreaTwin(t, s, code), indicator)
	got := func(col string) float64 {
		x, err := strconv.ParseFloat(row[col], 64)
		if err != nil {
			t.Fatalf("%s %s %s = %q: %v", code, indicator, col, row[col], err)
		}
		return x
	}
	if n == 0 || got("numerator") != num || got("denominator") != den || got("value") != num/den*100 || row["organisations"] != strconv.Itoa(n) {
		t.Errorf("%s %s: twin %v; from %d organisations' observations %v of %v (%v%%)", code, indicator, row, n, num, den, num/den*100)
	}
	if row["england"] == "" || row["verdict"] == "not-compared" {
		t.Errorf("%s %s is not compared with England: %v", code, indicator, row)
	}
}

// candour import area-names names the areas an operator's directory
// holds, printing the conflicts; without a file it is a usage error.
func TestImportAreaNamesCommand(t *testing.T) {
	dataDir := t.TempDir()
	importFile := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(append([]string{"import"}, args...), "--data-dir", dataDir, "--log-level", "error"), noEnv, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := importFile("practices", filepath.Join("demodata", "epraccur.csv")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := importFile("area-names", filepath.Join("demodata", "gp-payments-2022-23.csv"), filepath.Join("demodata", "cqc-gp-ratings.csv"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"Integrated care boards named: 42", "NHS England regions named: 7",
		`name conflict for Integrated care board QE1: "NHS LANCASHIRE AND SOUTH CUMBRIA ICB"`, "keep their codes: "} {
		if !strings.Contains(out, want) {
			t.Errorf("import area-names printed no %q:\n%s", want, out)
		}
	}
	if out, err := importFile("area-names"); err == nil || !strings.Contains(out+err.Error(), "at least one file") {
		t.Errorf("import area-names without a file: %v\n%s", err, out)
	}
	if out, err := importFile("area-names", filepath.Join("demodata", "etr.csv")); err == nil || !strings.Contains(err.Error(), "etr.csv") {
		t.Errorf("import area-names of a file of another layout: %v\n%s", err, out)
	}
}

// checkPackFeedback checks that a pack's feedback.csv pools, source by
// source, what the feedback API gives for each of the pack's
// organisations that the demo has feedback about (RR8, RX1, RA2, A81001),
// and that there is some.
func checkPackFeedback(t *testing.T, s *server, organisationsCSV, feedbackCSV string) {
	t.Helper()
	orgs, err := csv.NewReader(strings.NewReader(organisationsCSV)).ReadAll()
	if err != nil || len(orgs) < 2 {
		t.Fatalf("organisations.csv: %d rows, %v", len(orgs), err)
	}
	want := map[string][2]int{} // source → items, ratings
	for _, r := range orgs[1:] {
		if !slices.Contains([]string{"RR8", "RX1", "RA2", "A81001"}, r[0]) {
			continue
		}
		var fb struct {
			Sources []struct {
				Name           string
				Items, Ratings int
			}
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/organisations/"+r[0]+"/feedback")), &fb); err != nil {
			t.Fatal(err)
		}
		for _, src := range fb.Sources {
			w := want[src.Name]
			want[src.Name] = [2]int{w[0] + src.Items, w[1] + src.Ratings}
		}
	}
	rows, err := csv.NewReader(strings.NewReader(feedbackCSV)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("feedback.csv: %d rows, %v", len(rows), err)
	}
	got := map[string][2]int{}
	for _, r := range rows[1:] {
		items, _ := strconv.Atoi(r[3])
		ratings, _ := strconv.Atoi(r[4])
		got[r[0]] = [2]int{items, ratings}
	}
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Errorf("feedback.csv pools (items, ratings) %v by source; the feedback API gives %v for the area's organisations", got, want)
	}
}
