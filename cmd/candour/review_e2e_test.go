package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tableRows returns the cells of each body row of the table with the
// given id, as text.
func tableRows(t *testing.T, page, id string) [][]string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<table[^>]* id="` + regexp.QuoteMeta(id) + `">(.*?)</table>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no table %q on the page", id)
	}
	body := m[1][strings.Index(m[1], "<tbody"):]
	var rows [][]string
	for _, tr := range regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`).FindAllStringSubmatch(body, -1) {
		var cells []string
		for _, td := range regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(tr[1], -1) {
			cells = append(cells, strings.Join(strings.Fields(htmlUnescape(tagPattern.ReplaceAllString(td[1], " "))), " "))
		}
		rows = append(rows, cells)
	}
	return rows
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

// The panel sees what a release will publish before approving it: each
// indicator's values, intervals and verdicts, the public files' first rows
// and, for a correction, its cell-level difference from the release it
// corrects. Once published, the public pages show exactly those.
func TestReviewShowsWhatWillBePublished(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"pam", "publisher", "e2e-trusts"}, {"rita", "reviewer", "other-body"}})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"user", "token", "pam", "--label", "e2e", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("user token: %v %s", err, errOut.String())
	}
	token := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())[1]
	s := startCandour(t, "serve", dataDir, "--page-cache=false")
	rita := newBrowser(t, s)
	rita.login("rita", "correct horse battery")

	const slug = "e2e-review"
	submit := func(release, csv string) {
		t.Helper()
		descriptor := fmt.Sprintf(`{"dataset": {"slug": %q, "title": "E2E review", "publisher": {"slug": "e2e-trusts", "name": "E2E Trusts"}},
			"release": %s, "resources": [{"name": "data", "path": "data.csv", "schema": %s}], "indicators": %s}`,
			slug, release, periodSchema, fmt.Sprintf(periodDefinition, slug))
		if status, body := postSubmission(t, s, token, descriptor, map[string]string{"data.csv": csv}); status != http.StatusCreated {
			t.Fatalf("submitting: %d %s", status, body)
		}
	}
	// Value, interval and verdict: columns 2 to 4 of each organisation's
	// row, by organisation code.
	figures := func(rows [][]string) map[string]string {
		out := map[string]string{}
		for _, r := range rows {
			if len(r) < 4 {
				t.Fatalf("an indicator row with %d cells: %q", len(r), r)
			}
			code := regexp.MustCompile(`\b(R[A-Z0-9]{2})\b`).FindString(r[0])
			out[code] = strings.Join(r[1:4], " | ")
		}
		return out
	}

	first := "2022/23"
	submit(`{"title": "2022/23", "periodLabel": "2022/23", "periodStart": "2022-04-01", "periodEnd": "2023-03-31"}`, periodCSV(2022))
	var reviewed map[string]string
	publishThroughWorkflowLooking(t, s, map[string]int{slug: 1}, func(id int64) {
		status, page := rita.get(fmt.Sprintf("/workspace/releases/%d", id))
		if status != http.StatusOK || !strings.Contains(page, `id="what-it-publishes"`) {
			t.Fatalf("the review page: %d, or no section on what the release will publish", status)
		}
		reviewed = figures(tableRows(t, page, "review-indicator-"+slug))
		if len(reviewed) != 4 || !strings.Contains(reviewed["RR8"], "%") || !strings.Contains(page, first) {
			t.Errorf("before approval the reviewer sees %v, want four trusts' values with intervals and verdicts", reviewed)
		}
		// The file declares no small-number control: approving needs that
		// finding accepted explicitly.
		if !strings.Contains(page, `id="to-accept"`) || !strings.Contains(page, `value="rule-none|data.csv|"`) {
			t.Error("the review form does not ask the reviewer to accept the rule-none finding")
		}
		files := regexp.MustCompile(`name="files" value="([^"]*)"`).FindStringSubmatch(page)
		form := url.Values{"decision": {"approve"}, "files": {html.UnescapeString(files[1])}}
		for i := 1; i <= 7; i++ {
			form.Set(fmt.Sprintf("consideration-%d", i), "Considered")
		}
		if status, body := rita.action(strconv.FormatInt(id, 10), "review", form); status != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `href="#accept-1"`) || !strings.Contains(body, `id="accept-1-error"`) {
			t.Errorf("approving without accepting the finding: %d, want 422 pointing at it", status)
		}
		sample := tableRows(t, page, "sample-data.csv")
		if len(sample) != 6 || sample[2][0] != "RR8" {
			t.Errorf("the public file's first rows: %q", sample)
		}
	})
	_, public := rita.get("/indicators/" + slug)
	if published := figures(tableRows(t, public, "distribution")); fmt.Sprint(published) != fmt.Sprint(reviewed) {
		t.Errorf("the published indicator page shows\n%v\nbut the reviewer saw\n%v", published, reviewed)
	}

	// A correction: RTH's count was wrong. The reviewer sees the change,
	// cell by cell, and the public page of changes shows the same.
	corrected := strings.Replace(periodCSV(2022), "RTH,E40000012,1250,2000", "RTH,E40000012,1300,2000", 1)
	if corrected == periodCSV(2022) {
		t.Fatal("the correction changed nothing")
	}
	submit(`{"title": "2022/23 (corrected)", "periodLabel": "2022/23", "periodStart": "2022-04-01", "periodEnd": "2023-03-31",
		"corrects": 1, "correctionNotice": "RTH's count of patients seen in time was wrong."}`, corrected)
	var change [][]string
	publishThroughWorkflowLooking(t, s, map[string]int{slug: 2}, func(id int64) {
		_, page := rita.get(fmt.Sprintf("/workspace/releases/%d", id))
		if !strings.Contains(page, `id="changes-from-base"`) || !strings.Contains(page, "What changes from version 1 (the release it corrects)") {
			t.Fatal("the review of a correction does not show what changes from the release it corrects")
		}
		change = tableRows(t, page, "changes-data.csv")
		if len(change) != 1 || change[0][0] != "changed" || change[0][1] != "RTH" || !strings.Contains(change[0][2], "X: 1250 → 1300") {
			t.Errorf("the correction's difference on the review page: %q", change)
		}
		if reviewedNow := figures(tableRows(t, page, "review-indicator-"+slug)); reviewedNow["RTH"] == reviewed["RTH"] {
			t.Errorf("the corrected RTH figure is unchanged on the review page: %s", reviewedNow["RTH"])
		}
	})
	_, changes := rita.get("/datasets/" + slug + "/changes?from=1&to=2")
	if got := tableRows(t, changes, "changes"); fmt.Sprint(got) != fmt.Sprint(change) {
		t.Errorf("the public page of changes shows %q, the reviewer saw %q", got, change)
	}
}

// The workspace form takes indicator definitions as a file, as a
// descriptor's "indicators" does; a file that does not parse is refused
// naming it, with nothing stored.
func TestSubmitFormTakesIndicatorDefinitions(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"pam", "publisher", "e2e-trusts"}})
	s := startCandour(t, "serve", dataDir, "--page-cache=false")
	pam := newBrowser(t, s)
	pam.login("pam", "correct horse battery")
	submit := func(indicators string) (int, string, http.Header) {
		return pam.upload(map[string]string{"dataset": "e2e-form-indicators", "dataset-title": "E2E form indicators",
			"publisher-name": "E2E Trusts", "title": "2022/23", "period": "2022/23", "period-start": "2022-04-01", "period-end": "2023-03-31"},
			[3]string{"csv-1", "data.csv", periodCSV(2022)}, [3]string{"schema-1", "data.schema.json", periodSchema},
			[3]string{"indicators", "indicators.json", indicators})
	}
	good := fmt.Sprintf(periodDefinition, "form-share")
	bad := strings.Replace(good, `"method": "wilson"`, `"method": "guesswork"`, 1)
	if status, body, _ := submit(bad); status != http.StatusBadRequest || !strings.Contains(body, "indicators.json") || !strings.Contains(body, "method") ||
		!strings.Contains(body, `value="e2e-form-indicators"`) {
		t.Errorf("a bad indicator definitions file: %d, want 400 naming the file and the field, the form kept", status)
	}
	// The refused attempt's files were kept: sent again with no file
	// chosen, naming the staging folder, the submission goes through. The
	// bad indicators file was kept too, so a good one replaces it.
	_, refused, _ := submit(bad)
	staged := regexp.MustCompile(`name="staged" value="([0-9a-f]{32})"`).FindStringSubmatch(refused)
	if staged == nil || !strings.Contains(refused, `id="staged-files"`) || !strings.Contains(refused, "data.csv with data.schema.json") {
		t.Fatal("a refused form does not keep its files")
	}
	resend := func(b *browser, fields map[string]string) (int, string, http.Header) {
		return b.upload(fields, [3]string{"indicators", "indicators.json", good})
	}
	fields := map[string]string{"dataset": "e2e-form-indicators", "dataset-title": "E2E form indicators", "publisher-name": "E2E Trusts",
		"title": "2022/23", "period": "2022/23", "period-start": "2022-04-01", "period-end": "2023-03-31", "staged": staged[1]}
	// Someone else cannot use the staged files.
	addAccounts(t, dataDir, []account{{"pat", "publisher", "e2e-trusts"}})
	pat := newBrowser(t, s)
	pat.login("pat", "correct horse battery")
	if status, body, _ := resend(pat, fields); status != http.StatusUnprocessableEntity || !strings.Contains(body, "at least one file") {
		t.Errorf("another publisher sending pam's staging id: %d, want 422 (no files)", status)
	}
	status, _, h := resend(pam, fields)
	if status != http.StatusSeeOther {
		t.Fatalf("submitting with the kept files: %d", status)
	}
	if _, page := pam.get(h.Get("Location")); !strings.Contains(page, `id="review-indicator-form-share"`) {
		t.Error("the release submitted through the form has no indicator")
	}
}

// A submission that takes longer than --submit-wait answers with a
// progress page naming its stage, which shows the release (or the form
// with its problems) once the work is done; only its submitter can see it.
func TestSubmitFormShowsProgress(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"pam", "publisher", "e2e-trusts"}, {"pat", "publisher", "e2e-trusts"}})
	s := startCandour(t, "serve", dataDir, "--page-cache=false", "--submit-wait", "1ms")
	pam, pat := newBrowser(t, s), newBrowser(t, s)
	pam.login("pam", "correct horse battery")
	pat.login("pat", "correct horse battery")
	fields := map[string]string{"dataset": "e2e-progress", "dataset-title": "E2E progress", "publisher-name": "E2E Trusts",
		"title": "2022/23", "period": "2022/23", "period-start": "2022-04-01", "period-end": "2023-03-31"}
	files := [][3]string{{"csv-1", "data.csv", periodCSV(2022)}, {"schema-1", "data.schema.json", periodSchema}}
	// follow reads the progress page until the submission has finished.
	follow := func(location string) (int, string, string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			req, _ := http.NewRequest(http.MethodGet, s.base+location, nil)
			status, body, h := pam.do(req)
			if status == http.StatusOK && strings.Contains(body, `id="stage"`) {
				if h.Get("Refresh") == "" {
					t.Error("the progress page does not reload itself")
				}
				continue
			}
			return status, body, h.Get("Location")
		}
		t.Fatal("the submission did not finish within 30 s")
		return 0, "", ""
	}

	status, _, h := pam.upload(fields, files...)
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/workspace/submissions/") {
		t.Fatalf("a submission slower than --submit-wait: %d to %q, want 303 to its progress page", status, h.Get("Location"))
	}
	progress := h.Get("Location")
	if status, _ := pat.get(progress); status != http.StatusNotFound {
		t.Errorf("another publisher opening pam's progress page: %d, want 404", status)
	}
	if status, _, to := follow(progress); status != http.StatusSeeOther || !strings.HasPrefix(to, "/workspace/releases/") {
		t.Errorf("the finished submission: %d to %q, want 303 to its release", status, to)
	}

	// A refusal: the progress page ends as the form with its problems.
	bad := strings.Replace(periodCSV(2022), "RR8,E40000003,1340", "RR8,E40000003,13x0", 1)
	fields["dataset"] = "e2e-progress-bad"
	// (A refusal can come within the wait, answered at once.)
	status, body, h := pam.upload(fields, [3]string{"csv-1", "data.csv", bad}, files[1])
	if status == http.StatusSeeOther {
		status, body, _ = follow(h.Get("Location"))
	}
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "13x0") || !strings.Contains(body, `id="staged-files"`) {
		t.Errorf("a refused submission through the progress page: %d, want 422 naming the cell with the files kept", status)
	}
}
