package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// An indicator published as a publisher would: five annual periods of a
// proportion for four trusts, with an England row and a region row.
const periodSchema = `{"missingValues": [""], "candour:disclosure": {"rule": "none", "reason": "Trust-level counts in the thousands."}, "fields": [
	{"name": "ORG", "type": "string", "candour:role": "key", "candour:organisation": {"type": "nhs-trust"}},
	{"name": "REGION", "type": "string", "candour:role": "dimension"},
	{"name": "X", "type": "integer", "candour:role": "measure"},
	{"name": "N", "type": "integer", "candour:role": "measure"}]}`

const periodDefinition = `[{"id": %q, "title": "E2E share seen within the standard", "description": "The share of patients seen in time.",
	"file": "data.csv", "organisation": "ORG", "numerator": "X", "denominator": "N", "unit": "percentage",
	"polarity": "higher-is-better", "method": "wilson", "benchmark": {"kind": "england"},
	"authoredBy": "E2E statistician", "checkedBy": "E2E checker"}]`

var periodYears = []int{2018, 2019, 2020, 2021, 2022}

// periodCSV is one year's file: RR8 rises steadily, RX1 falls, RA2 is
// flat and RTH jumps about.
func periodCSV(year int) string {
	k := year - 2018
	var b strings.Builder
	b.WriteString("ORG,REGION,X,N\n")
	fmt.Fprintf(&b, "E92000001,,%d,100000\n", 60000+500*k)
	fmt.Fprintf(&b, "E40000003,,%d,20000\n", 12400+100*k)
	fmt.Fprintf(&b, "RR8,E40000003,%d,2000\n", 1100+60*k)
	fmt.Fprintf(&b, "RX1,E40000003,%d,2000\n", 1400-60*k)
	fmt.Fprintf(&b, "RA2,E40000012,%d,2000\n", 1250)
	fmt.Fprintf(&b, "RTH,E40000012,%d,2000\n", []int{1200, 1350, 1150, 1400, 1250}[k])
	return b.String()
}

func TestIndicatorsInPeriodOrderWithBenchmarkRows(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"pam", "publisher", "e2e-trusts"}})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"user", "token", "pam", "--label", "e2e", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("user token: %v %s", err, errOut.String())
	}
	token := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())[1]
	s := startCandour(t, "serve", dataDir, "--page-cache=false")

	submit := func(slug string, year int) string { return submitPeriod(t, s, token, slug, year) }

	// In order, published together.
	inOrder := map[string]int{}
	for i, y := range periodYears {
		answer := submit("e2e-in-order", y)
		// Benchmark rows are not organisations: no warning names them.
		if strings.Contains(answer, "E92000001") || strings.Contains(answer, "E40000003") {
			t.Errorf("the submission treats an area as an organisation: %s", answer)
		}
		inOrder["e2e-in-order"] = i + 1
	}
	for v := 1; v <= len(periodYears); v++ {
		publishThroughWorkflow(t, s, map[string]int{"e2e-in-order": v})
	}
	// Scrambled: 2022/23 submitted and published first; the earlier years
	// follow, in a jumbled order.
	submit("e2e-scrambled", 2022)
	publishThroughWorkflow(t, s, map[string]int{"e2e-scrambled": 1})
	first := scorecardRows(t, s, "RR8")["e2e-scrambled"]
	if first["period"] != "2022/23" || first["trend"] != "cannot be calculated" || first["trend_reason"] != "fewer than five periods (1)" {
		t.Errorf("2022/23 alone: %v", first)
	}
	for _, y := range []int{2020, 2018, 2021, 2019} {
		submit("e2e-scrambled", y)
	}
	for v := 2; v <= 5; v++ {
		publishThroughWorkflow(t, s, map[string]int{"e2e-scrambled": v})
	}

	// Every surface: the same latest period, trend and values for both.
	for _, org := range []string{"RR8", "RX1", "RA2", "RTH"} {
		rows := scorecardRows(t, s, org)
		a, b := rows["e2e-in-order"], rows["e2e-scrambled"]
		if a == nil || b == nil {
			t.Fatalf("%s's scorecard lacks an indicator: %v", org, rows)
		}
		for _, col := range []string{"period", "period_start", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "benchmark",
			"verdict", "verdict_words", "quintile", "trend", "trend_reason"} {
			if a[col] != b[col] {
				t.Errorf("%s %s: in order %q, scrambled %q", org, col, a[col], b[col])
			}
		}
		if a["period"] != "2022/23" {
			t.Errorf("%s's latest period: %q", org, a["period"])
		}
		if got := sparklineData(t, s, org); got["e2e-in-order"] == "" || got["e2e-in-order"] != got["e2e-scrambled"] {
			t.Errorf("%s's sparklines differ:\n in order %s\n scrambled %s", org, got["e2e-in-order"], got["e2e-scrambled"])
		}
	}
	if rr8 := scorecardRows(t, s, "RR8")["e2e-scrambled"]; rr8["trend"] != "increasing" {
		t.Errorf("RR8 rises every year: %v", rr8)
	}
	if rx1 := scorecardRows(t, s, "RX1")["e2e-scrambled"]; rx1["trend"] != "decreasing" {
		t.Errorf("RX1 falls every year: %v", rx1)
	}
	for _, id := range []string{"e2e-in-order", "e2e-scrambled"} {
		page := s.mustGet(t, "/indicators/"+id)
		if !strings.Contains(page, "All organisations, 2022/23") {
			t.Errorf("%s: the indicator page is not on 2022/23", id)
		}
		// The England row is the benchmark, and both area rows are shown
		// as benchmarks, not organisations.
		if !strings.Contains(page, `id="benchmark-areas"`) || !strings.Contains(page, "England (E92000001): 62.0%") ||
			!strings.Contains(page, "Region (E40000003): 64.0%") || strings.Contains(page, "/organisations/E92000001") {
			t.Errorf("%s: benchmark rows on the indicator page:\n%s", id, page)
		}
		var api struct {
			Items []map[string]any
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/indicators/"+id+"/observations")), &api); err != nil {
			t.Fatal(err)
		}
		if len(api.Items) != 4 {
			t.Errorf("%s: the API lists %d organisations, want the 4 trusts", id, len(api.Items))
		}
		for _, item := range api.Items {
			if item["period"] != "2022/23" || item["benchmark"] != 62.0 {
				t.Errorf("%s: API item %v", id, item)
			}
		}
	}
	for _, area := range []string{"E92000001", "E40000003", "E40000012"} {
		if status, _, _ := s.get(t, "/organisations/"+area); status != http.StatusNotFound {
			t.Errorf("/organisations/%s: %d, want 404: an area is not an organisation", area, status)
		}
	}
	if page := s.mustGet(t, "/organisations?format=csv"); strings.Contains(page, "E92000001") || strings.Contains(page, "E40000003") {
		t.Errorf("an area is listed among organisations")
	}
}

// postSubmission uploads a descriptor and its files to the submission API
// with an API token ("" for none), and returns the status and body.
// submitPeriod submits one year of the period indicator (periodCSV) as
// a release of dataset slug and returns the API's answer.
func submitPeriod(t *testing.T, s *server, token, slug string, year int) string {
	t.Helper()
	descriptor := fmt.Sprintf(`{"dataset": {"slug": %q, "title": "E2E %s", "publisher": {"slug": "e2e-trusts", "name": "E2E Trusts"}},
		"release": {"title": "%d/%02d", "periodLabel": "%d/%02d", "periodStart": "%d-04-01", "periodEnd": "%d-03-31"},
		"resources": [{"name": "data", "path": "data.csv", "schema": %s}], "indicators": %s}`,
		slug, slug, year, (year+1)%100, year, (year+1)%100, year, year+1, periodSchema, fmt.Sprintf(periodDefinition, slug))
	status, body := postSubmission(t, s, token, descriptor, map[string]string{"data.csv": periodCSV(year)})
	if status != http.StatusCreated {
		t.Fatalf("submitting %s %d: %d %s", slug, year, status, body)
	}
	return body
}

func postSubmission(t *testing.T, s *server, token, descriptor string, files map[string]string) (int, string) {
	t.Helper()
	return postSubmissionTo(t, s, "/api/v1/submissions", token, descriptor, files)
}

// postSubmissionTo is postSubmission to another address (a query added).
func postSubmissionTo(t *testing.T, s *server, path, token, descriptor string, files map[string]string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("descriptor", "submission.json")
	fw.Write([]byte(descriptor))
	for name, content := range files {
		fw, _ = mw.CreateFormFile(name, name)
		fw.Write([]byte(content))
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scorecardRows reads an organisation's scorecard twin, by indicator id.
func scorecardRows(t *testing.T, s *server, org string) map[string]map[string]string {
	t.Helper()
	var twin struct{ Items []map[string]string }
	if err := json.Unmarshal([]byte(s.mustGet(t, "/organisations/"+org+"?format=json")), &twin); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, item := range twin.Items {
		out[item["indicator_id"]] = item
	}
	return out
}

var chartData = regexp.MustCompile(`data-chart="([^"]*)"`)

// sparklineData reads the sparklines of an organisation's scorecard, by
// indicator id: the periods and values each draws.
func sparklineData(t *testing.T, s *server, org string) map[string]string {
	t.Helper()
	page := s.mustGet(t, "/organisations/"+org)
	out := map[string]string{}
	rows := strings.Split(page, `<tr class="nhsuk-table__row">`)
	for _, row := range rows {
		m := chartData.FindStringSubmatch(row)
		id := regexp.MustCompile(`href="/indicators/([a-z0-9-]+)"`).FindStringSubmatch(row)
		if m == nil || id == nil {
			continue
		}
		var opts struct {
			XAxis  []struct{ Data []string } `json:"xAxis"`
			Series []struct {
				Data []struct{ Value float64 } `json:"data"`
			} `json:"series"`
		}
		if err := json.Unmarshal([]byte(htmlUnescape(m[1])), &opts); err != nil {
			t.Fatalf("sparkline of %s: %v", id[1], err)
		}
		var parts []string
		for i, d := range opts.Series[0].Data {
			parts = append(parts, fmt.Sprintf("%s=%v", opts.XAxis[0].Data[i], d.Value))
		}
		out[id[1]] = strings.Join(parts, ",")
	}
	return out
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(s)
}
