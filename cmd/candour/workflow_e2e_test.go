package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/publisher/auditlog"
)

// browser is one person's HTTP session against the server. Session cookies
// are Secure, which Go's cookie jar will not send over plain HTTP, so the
// browser keeps its cookies itself.
type browser struct {
	t       *testing.T
	s       *server
	cookies map[string]string
	client  *http.Client
}

func newBrowser(t *testing.T, s *server) *browser {
	return &browser{t: t, s: s, cookies: map[string]string{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.t.Helper()
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.s.base+path, nil)
	status, body, _ := b.do(req)
	return status, body
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no anti-forgery token:\n%s", page)
	}
	return m[1]
}

func (b *browser) login(username, password string) {
	b.t.Helper()
	_, page := b.get("/account/login")
	status, body, h := b.post("/account/login", url.Values{"csrf": {csrfOf(b.t, page)}, "username": {username}, "password": {password}, "next": {"/workspace"}})
	if status != http.StatusSeeOther || h.Get("Location") != "/workspace" {
		b.t.Fatalf("login as %s: %d %s", username, status, body)
	}
}

// token is the session's anti-forgery token, read from the workspace.
func (b *browser) token() string {
	b.t.Helper()
	_, page := b.get("/workspace")
	return csrfOf(b.t, page)
}

// upload posts the workspace's submit form: its fields (the session's
// anti-forgery token added) and files, each {form field, file name,
// content}.
func (b *browser) upload(fields map[string]string, files ...[3]string) (int, string, http.Header) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.token())
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		fw, _ := mw.CreateFormFile(f[0], f[1])
		fw.Write([]byte(f[2]))
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.s.base+"/workspace/submit", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var acceptInput = regexp.MustCompile(`name="accept" type="checkbox" value="([^"]*)"`)

// acceptAll adds to a review form every finding its page asks the
// reviewer to accept before approving.
func acceptAll(form url.Values, page string) {
	for _, m := range acceptInput.FindAllStringSubmatch(page, -1) {
		form.Add("accept", html.UnescapeString(m[1]))
	}
}

// e2eFiles are the e2e admissions file and its schema, as the form's
// first pair.
var e2eFiles = [][3]string{{"csv-1", "admissions.csv", e2eCSV}, {"schema-1", "admissions.schema.json", e2eSchema}}

func (b *browser) action(id, action string, form url.Values) (int, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.token())
	status, body, _ := b.post("/workspace/releases/"+id+"/"+action, form)
	return status, body
}

func mustAction(t *testing.T, b *browser, id, action string, form url.Values) {
	t.Helper()
	if status, body := b.action(id, action, form); status != http.StatusSeeOther {
		t.Fatalf("%s on release %s: %d\n%s", action, id, status, body)
	}
}

const e2eSchema = `{"fields": [
	{"name": "Code", "type": "string", "candour:role": "key", "constraints": {"required": true, "pattern": "[A-Z0-9]{3,5}"},
	 "candour:organisation": {"nameField": "Name"}},
	{"name": "Name", "type": "string", "candour:role": "dimension"},
	{"name": "Patients", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true}],
	"candour:disclosure": {"rule": "nhs-digital"}}`

// e2eCSV: RA2's 3 patients must never be public; 24 rounds to 25.
const e2eCSV = "Code,Name,Patients\r\nRA2,ROYAL SURREY E2EMARKER TRUST,3\r\nRR8,LEEDS TEACHING HOSPITALS,24\r\nRX1,NOTTINGHAM UNIVERSITY HOSPITALS,1234\r\n"

func TestWorkflowThroughHTTP(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	// Accounts, created with the command an operator uses.
	addAccounts(t, dataDir, []account{
		{"pam", "publisher", "e2e-stats"}, {"rita", "reviewer", ""}, {"rob", "reviewer", "other-body"}, {"chloe", "provider-checker", "RA2"},
	})
	s := startCandour(t, "serve", dataDir)

	pam, rita, rob, chloe := newBrowser(t, s), newBrowser(t, s), newBrowser(t, s), newBrowser(t, s)
	// A wrong password is refused without a session.
	_, page := pam.get("/account/login")
	if status, body, _ := pam.post("/account/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"pam"}, "password": {"wrong password!"}}); status != http.StatusUnauthorized || !strings.Contains(body, "not right") {
		t.Errorf("wrong password: %d", status)
	}
	for b, name := range map[*browser]string{pam: "pam", rita: "rita", rob: "rob", chloe: "chloe"} {
		b.login(name, "correct horse battery")
	}

	// Upload through the workspace form.
	fields := map[string]string{"dataset": "e2e-admissions", "dataset-title": "E2E admissions", "publisher-name": "E2E Statistics",
		"title": "Admissions E2ETITLE, March 2026", "period": "March 2026", "period-start": "2026-03-01", "period-end": "2026-03-31",
		"coverage": "Three trusts", "change-notes": "First release, E2ENOTES."}
	status, resp, h := pam.upload(fields, e2eFiles...)
	if status != http.StatusSeeOther {
		t.Fatalf("submit: %d\n%s", status, resp)
	}
	id := regexp.MustCompile(`/workspace/releases/(\d+)`).FindStringSubmatch(h.Get("Location"))[1]

	// The report: the disclosure summary and the public version's files.
	_, report := pam.get("/workspace/releases/" + id)
	for _, want := range []string{"Checked", "suppressed", "/files/public/admissions.csv", "/files/original/admissions.csv"} {
		if !strings.Contains(report, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	_, public := pam.get("/workspace/releases/" + id + "/files/public/admissions.csv")
	if !strings.Contains(public, "RA2,ROYAL SURREY E2EMARKER TRUST,*") || !strings.Contains(public, ",25") || !strings.Contains(public, ",1235") {
		t.Errorf("public version:\n%s", public)
	}
	publicSum := sha256.Sum256([]byte(public))

	// Provider preview: the checker of RA2 sees RA2's public row only.
	mustAction(t, pam, id, "preview", url.Values{"until-date": {time.Now().In(london()).AddDate(0, 0, 2).Format("2006-01-02")}})
	_, preview := chloe.get("/workspace/releases/" + id + "/preview")
	if !strings.Contains(preview, "E2EMARKER") || strings.Contains(preview, "LEEDS") || strings.Contains(preview, ">3<") {
		t.Errorf("preview shows other organisations' rows or the original value:\n%s", preview)
	}
	if status, _ := chloe.action(id, "query", url.Values{"query": {"Is our count right?"}}); status != http.StatusSeeOther {
		t.Fatalf("raise query: %d", status)
	}
	mustAction(t, pam, id, "send-to-review", nil)

	// Refusals: no anti-forgery token; another role's session; the submitter.
	if status, _, _ := rita.post("/workspace/releases/"+id+"/review", url.Values{"decision": {"approve"}}); status != http.StatusForbidden {
		t.Errorf("review without an anti-forgery token: %d, want 403", status)
	}
	review := func(b *browser) (int, string) {
		_, page := b.get("/workspace/releases/" + id)
		files := regexp.MustCompile(`name="files" value="([^"]*)"`).FindStringSubmatch(page)
		form := url.Values{"decision": {"approve"}}
		if files != nil {
			form.Set("files", html.UnescapeString(files[1]))
		} else {
			form.Set("files", "[]")
		}
		for i := 1; i <= 7; i++ {
			form.Set(fmt.Sprintf("consideration-%d", i), "Considered and acceptable")
		}
		return b.action(id, "review", form)
	}
	if status, _ := review(chloe); status != http.StatusForbidden {
		t.Errorf("a provider checker's review: %d, want 403", status)
	}
	if status, _ := review(pam); status != http.StatusForbidden {
		t.Errorf("the submitter's review: %d, want 403", status)
	}
	// The release waits first on each reviewer's workspace, with guidance
	// beside each consideration and the other answers hidden until one's
	// own are recorded.
	for _, b := range []*browser{rita, rob} {
		if _, ws := b.get("/workspace"); !strings.Contains(ws, `id="awaiting-review"`) || !strings.Contains(ws, `href="/workspace/releases/`+id+`"`) {
			t.Error("a release in review is not listed under \"Awaiting your review\"")
		}
	}
	if _, page := rita.get("/workspace/releases/" + id); !strings.Contains(page, `id="consideration-3-hint"`) || !strings.Contains(page, "jigsaw") {
		t.Error("the review form has no guidance beside the considerations")
	}
	// An incomplete review comes back as the form, its problems summarised
	// and beside their fields, and what was typed kept.
	{
		_, page := rita.get("/workspace/releases/" + id)
		files := regexp.MustCompile(`name="files" value="([^"]*)"`).FindStringSubmatch(page)
		form := url.Values{"files": {html.UnescapeString(files[1])}, "consideration-1": {"TYPEDANSWER benefits patients"}}
		status, body := rita.action(id, "review", form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="review-errors"`) || !strings.Contains(body, `href="#consideration-2"`) ||
			!strings.Contains(body, `id="consideration-2-error"`) || !strings.Contains(body, `href="#decision-approve"`) || !strings.Contains(body, "TYPEDANSWER benefits patients") {
			t.Errorf("an incomplete review: %d, want 422 with the form, its error summary and the typed answer", status)
		}
	}
	if status, body := review(rita); status != http.StatusSeeOther {
		t.Fatalf("first approval: %d\n%s", status, body)
	}
	if _, ws := rita.get("/workspace"); strings.Contains(ws, `href="/workspace/releases/`+id+`"`) && strings.Contains(ws, `id="awaiting-review"`) &&
		strings.Contains(ws[strings.Index(ws, `id="awaiting"`):strings.Index(ws, "<h2>Releases</h2>")], `/workspace/releases/`+id+`"`) {
		t.Error("a release stays under \"Awaiting your review\" after the reviewer has reviewed it")
	}
	if _, page := rob.get("/workspace/releases/" + id); !strings.Contains(page, `id="answers-hidden"`) || strings.Contains(page, "Considered and acceptable") {
		t.Error("a reviewer sees another's answers before recording their own")
	}
	if status, _ := review(rita); status != http.StatusConflict {
		t.Errorf("a second approval by the same reviewer: %d, want 409", status)
	}
	_, page = rita.get("/workspace/releases/" + id)
	qid := regexp.MustCompile(`name="query" value="(\d+)"`).FindStringSubmatch(page)
	if qid == nil {
		t.Fatal("no open query to resolve on the review page")
	}
	mustAction(t, rita, id, "resolve", url.Values{"query": {qid[1]}, "resolution": {"Checked: the count is right."}})
	if status, body := review(rob); status != http.StatusSeeOther {
		t.Fatalf("second approval: %d\n%s", status, body)
	}
	if _, page := rob.get("/workspace/releases/" + id); strings.Contains(page, `id="answers-hidden"`) || !strings.Contains(page, "Considered and acceptable") {
		t.Error("after recording a review, a reviewer cannot read the others' answers")
	}
	if _, page := pam.get("/workspace/releases/" + id); !strings.Contains(page, ">Approved<") {
		t.Fatalf("not approved after two approvals")
	}

	// Schedule a few seconds ahead; a schedule in the past is refused.
	past := time.Now().Add(-time.Hour).In(london())
	if status, body := pam.action(id, "schedule", url.Values{"date": {past.Format("2006-01-02")}, "time": {past.Format("15:04:05")}}); status != http.StatusBadRequest ||
		!strings.Contains(body, "in the past") || !strings.Contains(body, `id="action-error"`) || !strings.Contains(body, `href="#date"`) ||
		!strings.Contains(body, `value="`+past.Format("2006-01-02")+`"`) {
		t.Errorf("schedule in the past: %d, want 400 as the release page with the problem summarised, linked to the date and the date kept", status)
	}
	if status, body := pam.action(id, "schedule", url.Values{"date": {"61220-02-02"}}); status != http.StatusBadRequest || !strings.Contains(body, "year-month-day") ||
		!strings.Contains(body, `id="action-error"`) {
		t.Errorf("schedule on a date that is not one: %d, want 400 saying how to write a date", status)
	}
	embargo := time.Now().Add(4 * time.Second).Truncate(time.Second)
	mustAction(t, pam, id, "schedule", url.Values{"date": {embargo.In(london()).Format("2006-01-02")}, "time": {embargo.In(london()).Format("15:04:05")}})

	// Before the embargo: the calendar shows the date, no surface shows content.
	releaseURL := "/datasets/e2e-admissions/releases/1"
	surfaces := []string{"/", "/datasets", "/datasets/e2e-admissions", releaseURL, releaseURL + "/files/admissions.csv",
		"/organisations/RA2", "/calendar", "/transparency", "/transparency/audit-log.jsonl",
		"/search?q=E2ETITLE", "/search?q=E2EMARKER", "/search?q=E2ENOTES", "/search?q=admissions", "/search?kind=release",
		"/api/v1/search?q=E2ETITLE", "/api/v1/search?q=E2EMARKER", "/api/v1/search?q=E2ENOTES", "/api/v1/search?q=admissions&limit=50",
		"/api/v1/search?kind=organisation&q=E2EMARKER&snippets=false&limit=8"}
	releaseFacet := func() int {
		_, body, _ := s.get(t, "/api/v1/search?q=admissions")
		var a struct {
			Facets map[string][]struct {
				Value string
				Count int
			}
		}
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("search facets: %v %s", err, body)
		}
		for _, f := range a.Facets["kind"] {
			if f.Value == "release" {
				return f.Count
			}
		}
		return 0
	}
	if n := releaseFacet(); n != 0 {
		t.Errorf("before the embargo, the kind facet counts %d releases for \"admissions\"", n)
	}
	before := map[string]string{}
	for _, u := range surfaces {
		status, body, _ := s.get(t, u)
		before[u] = body
		// A search page repeats its own query: that is not a leak.
		if parsed, err := url.Parse(u); err == nil && parsed.Query().Get("q") != "" {
			body = strings.ReplaceAll(body, parsed.Query().Get("q"), "")
			if strings.Contains(body, releaseURL) {
				t.Errorf("before the embargo, %s finds the release", u)
			}
		}
		for _, secret := range []string{"E2ETITLE", "E2EMARKER", "E2ENOTES", hex.EncodeToString(publicSum[:])} {
			if strings.Contains(body, secret) {
				t.Errorf("before the embargo, %s (%d) shows %q", u, status, secret)
			}
		}
	}
	for _, u := range []string{releaseURL, releaseURL + "/files/admissions.csv"} {
		if status, _, _ := s.get(t, u); status != http.StatusNotFound {
			t.Errorf("before the embargo, %s answers %d, want 404", u, status)
		}
	}
	// The page cache is on: public pages fetched now are served from memory
	// until the publication clears them (checked after the embargo below).
	if _, _, h := s.get(t, "/"); h.Get("X-Candour-Cache") != "hit" {
		t.Error("the home page is not served from the page cache, so invalidation is not being tested")
	}
	if !strings.Contains(before["/calendar"], "E2E admissions") || !strings.Contains(before["/calendar"], "March 2026") {
		t.Errorf("the calendar does not announce the release")
	}
	// The calendar links to the dataset, which is announced with it: its
	// page shows no release.
	if status, _, _ := s.get(t, "/datasets/e2e-admissions"); status != http.StatusOK || strings.Contains(before["/datasets/e2e-admissions"], "/releases/1") {
		t.Errorf("before the embargo, the announced dataset answers %d or lists the release", status)
	}

	// At the embargo instant the scheduler publishes it.
	time.Sleep(time.Until(embargo))
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _, _ := s.get(t, releaseURL)
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not published 15 s after its embargo (last status %d)", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if late := time.Since(embargo); late > 3*time.Second {
		t.Errorf("published %s after its embargo", late)
	}
	if n := releaseFacet(); n != 1 {
		t.Errorf("after publication, the kind facet counts %d releases for \"admissions\", want 1", n)
	}
	after := map[string]string{}
	for _, u := range surfaces {
		status, body, _ := s.get(t, u)
		if status != http.StatusOK {
			t.Errorf("after publication, %s answers %d", u, status)
		}
		after[u] = body
	}
	for u, want := range map[string][]string{
		"/":                         {"E2ETITLE"},
		"/datasets/e2e-admissions":  {"E2ETITLE"},
		releaseURL:                  {"E2EMARKER", "Rita Tester", "Rob Tester", "Chloe Tester", hex.EncodeToString(publicSum[:])},
		"/organisations/RA2":        {"E2ETITLE"},
		"/calendar":                 {releaseURL},
		"/transparency":             {"E2ETITLE", "Rita Tester"},
		"/search?q=E2ETITLE":        {releaseURL},
		"/search?q=E2EMARKER":       {releaseURL},
		"/search?q=E2ENOTES":        {releaseURL},
		"/api/v1/search?q=E2ETITLE": {releaseURL},
	} {
		for _, w := range want {
			if !strings.Contains(after[u], w) {
				t.Errorf("after publication, %s lacks %q", u, w)
			}
		}
	}
	// The public audit log: redacted before publication, complete after, and
	// its chain verifies from the export alone.
	if !strings.Contains(before["/transparency/audit-log.jsonl"], `"redacted":true`) {
		t.Error("before publication, the audit log export does not redact the release's entries")
	}
	exported := verifyExport(t, after["/transparency/audit-log.jsonl"])
	if !strings.Contains(after["/transparency"], exported.Hash) {
		t.Errorf("the transparency page does not show the chain head %s", exported.Hash)
	}
	if !strings.Contains(after["/transparency/audit-log.jsonl"], hex.EncodeToString(publicSum[:])) {
		t.Error("after publication, the audit log export does not show the published file's hash")
	}
	if got := sha256.Sum256([]byte(after[releaseURL+"/files/admissions.csv"])); got != publicSum {
		t.Errorf("the download is not the approved public version")
	}
	if strings.Contains(after[releaseURL+"/files/admissions.csv"], ",3\r\n") {
		t.Error("the download holds the original small count")
	}

	// A submission never renames the organisation: pam's next dataset,
	// sent with another publisher name, leaves "E2E Statistics" on every
	// public page; the operator's audited rename changes it. (An unknown
	// query parameter makes the page bypass the page cache.)
	secondForm := func(checkOnly bool) (int, string, http.Header) {
		fields := map[string]string{"dataset": "e2e-second", "dataset-title": "E2E second", "publisher-name": "Hijacked Statistics",
			"title": "Second, March 2026", "period": "March 2026", "period-start": "2026-03-01", "period-end": "2026-03-31", "coverage": "Three trusts"}
		if checkOnly {
			fields["check-only"] = "on"
		}
		return pam.upload(fields, e2eFiles...)
	}
	// Check only, through the form: the checks' outcome, the form kept,
	// nothing stored.
	if status, resp, _ := secondForm(true); status != http.StatusOK || !strings.Contains(resp, `id="checked"`) ||
		!strings.Contains(resp, "Nothing was stored") || !strings.Contains(resp, `value="e2e-second"`) {
		t.Errorf("a check-only submission through the form: %d", status)
	}
	if _, ws := pam.get("/workspace"); strings.Contains(ws, "Second, March 2026") {
		t.Error("a check-only submission stored a release")
	}
	if status, resp, _ := secondForm(false); status != http.StatusSeeOther {
		t.Fatalf("a second submission: %d\n%s", status, resp)
	}
	if _, page, _ := s.get(t, "/datasets/e2e-admissions?fresh=1"); !strings.Contains(page, "E2E Statistics") || strings.Contains(page, "Hijacked") {
		t.Error("a submission naming the publisher otherwise changed the published dataset's attribution")
	}
	if out, err := s.candour(t, "publisher", "rename", "e2e-stats", "--name", "E2E Statistics Office"); err != nil {
		t.Fatalf("candour publisher rename: %v\n%s", err, out)
	}
	if _, page, _ := s.get(t, "/datasets/e2e-admissions?fresh=2"); !strings.Contains(page, "E2E Statistics Office") {
		t.Error("after candour publisher rename, the dataset page does not show the new name")
	}
	if out, err := s.candour(t, "publisher", "rename", "no-such-body", "--name", "Nobody"); err == nil || !strings.Contains(out+err.Error(), "no-such-body") {
		t.Errorf("renaming an unknown publisher: %v\n%s", err, out)
	}
	// Announcing the next release; the data release register. A bad
	// month comes back as the workspace with the problem and the form kept.
	if status, body, _ := pam.post("/workspace/announce", url.Values{"csrf": {pam.token()}, "dataset": {"e2e-admissions"}, "period": {"April 2026"},
		"month": {"May 2026"}}); status != http.StatusBadRequest || !strings.Contains(body, `id="announce-error"`) || !strings.Contains(body, `value="April 2026"`) {
		t.Errorf("announcing with a month that is not YYYY-MM: %d, want 400 with the form kept and its problem", status)
	}
	form := url.Values{"csrf": {pam.token()}, "dataset": {"e2e-admissions"}, "period": {"April 2026"}, "month": {"2026-05"}}
	if status, body, _ := pam.post("/workspace/announce", form); status != http.StatusSeeOther {
		t.Errorf("announce: %d %s", status, body)
	}
	if cal := s.mustGet(t, "/calendar"); !strings.Contains(cal, "April 2026") || !strings.Contains(cal, "May 2026 (provisional)") {
		t.Error("the calendar does not show the announced release")
	}
	entry := url.Values{"csrf": {pam.token()}, "recipient": {"University of E2E"}, "data": {"Admissions, record level"},
		"purpose": {"Evaluation"}, "legal-basis": {"Article 6(1)(e)"}, "shared-on": {"2026-13-01"}, "classification": {"pseudonymised"}}
	if status, body, _ := pam.post("/workspace/register", entry); status != http.StatusBadRequest || !strings.Contains(body, "shared-on") {
		t.Errorf("a bad register date: %d", status)
	}
	entry.Set("shared-on", "2026-01-10")
	if status, body, _ := pam.post("/workspace/register", entry); status != http.StatusSeeOther {
		t.Errorf("register entry: %d %s", status, body)
	}
	if reg := s.mustGet(t, "/register.csv"); !strings.Contains(reg, "University of E2E,\"Admissions, record level\",Evaluation") {
		t.Errorf("register CSV:\n%s", reg)
	}
	if status, _, _ := chloe.post("/workspace/register", url.Values{"csrf": {chloe.token()}, "recipient": {"x"}}); status != http.StatusForbidden {
		t.Errorf("a provider checker added to the register: %d", status)
	}
	s.stop()

	// The audit log verifies, and one altered byte breaks it.
	if out, err := s.candour(t, "audit", "verify"); err != nil || !strings.Contains(out, "verifies") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	dbFile := filepath.Join(dataDir, databaseFile)
	db, err := os.ReadFile(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(db, []byte("review.approve"))
	if i < 0 {
		t.Fatal("no audit entry found in the database file")
	}
	db[i] ^= 0x01
	if err := os.WriteFile(dbFile, db, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(dbFile + "-wal")
	if out, err := s.candour(t, "audit", "verify"); err == nil {
		t.Errorf("audit verify passed after a byte was altered:\n%s", out)
	}
}

// verifyExport recomputes the hash chain of a public audit log export.
func verifyExport(t *testing.T, jsonl string) auditlog.Head {
	t.Helper()
	var entries []auditlog.Entry
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		var e struct {
			Seq         int64               `json:"seq"`
			At          time.Time           `json:"at"`
			Actor       string              `json:"actor"`
			Action      string              `json:"action"`
			Release     int64               `json:"release"`
			Files       []auditlog.FileHash `json:"files"`
			Details     json.RawMessage     `json:"details"`
			PayloadHash string              `json:"payloadHash"`
			Prev        string              `json:"prev"`
			Hash        string              `json:"hash"`
			Redacted    bool                `json:"redacted"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		entries = append(entries, auditlog.Entry{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Release: e.Release,
			Files: e.Files, Details: e.Details, PayloadHash: e.PayloadHash, Prev: e.Prev, Hash: e.Hash, Withheld: e.Redacted})
	}
	head, err := auditlog.Verify(func(yield func(auditlog.Entry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("the exported audit log does not verify: %v", err)
	}
	return head
}

func london() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}

func TestSubmissionAPI(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	ctx := context.Background()
	env := func(k string) string {
		if k == "CANDOUR_PASSWORD" {
			return "correct horse battery"
		}
		return ""
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"user", "add", "pam", "--role", "publisher", "--org", "e2e-stats", "--name", "Pam", "--data-dir", dataDir}, env, &out, &errOut); err != nil {
		t.Fatalf("user add: %v %s", err, errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"user", "token", "pam", "--label", "nightly upload", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("user token: %v %s", err, errOut.String())
	}
	token := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())
	if token == nil {
		t.Fatalf("no token printed:\n%s", out.String())
	}
	s := startCandour(t, "serve", dataDir)

	upload := func(bearer, csv string, indicators ...string) (int, string) {
		extra := ""
		if len(indicators) > 0 {
			extra = `, "indicators": [` + indicators[0] + `]`
		}
		descriptor := fmt.Sprintf(`{"dataset": {"slug": "e2e-api", "title": "API uploads", "publisher": {"slug": "e2e-stats", "name": "E2E Statistics"}},
			"release": {"title": "API release", "periodLabel": "April 2026"},
			"resources": [{"name": "admissions", "path": "admissions.csv", "schema": %s}]%s}`, e2eSchema, extra)
		return postSubmission(t, s, bearer, descriptor, map[string]string{"admissions.csv": csv})
	}
	if status, body := upload("", e2eCSV); status != http.StatusUnauthorized || !strings.Contains(body, "API token") {
		t.Errorf("no token: %d %s", status, body)
	}
	// One error shape on every API route, the submission API's included.
	errorShape := func(what, body, code string) {
		t.Helper()
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
			t.Errorf("%s: %s, want {\"error\": {\"code\": %q, \"message\": …}}", what, body, code)
		}
	}
	_, body401 := upload("", e2eCSV)
	errorShape("no token", body401, "unauthorised")
	_, body422 := upload(token[1], strings.Replace(e2eCSV, "24", "2x4", 1))
	errorShape("a refused upload", body422, "rejected")
	req404, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/submissions/999999", nil)
	req404.Header.Set("Authorization", "Bearer "+token[1])
	if resp, err := http.DefaultClient.Do(req404); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown submission: %d, want 404", resp.StatusCode)
		}
		errorShape("an unknown submission", string(b), "not-found")
	}
	if status, _ := upload(token[1]+"x", e2eCSV); status != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", status)
	}
	bad := strings.Replace(e2eCSV, "24", "2x4", 1)
	if status, body := upload(token[1], bad); status != http.StatusUnprocessableEntity || !strings.Contains(body, `"row":3`) || !strings.Contains(body, `"column":3`) {
		t.Errorf("a bad cell: %d %s", status, body)
	}
	// A semicolon-separated file is diagnosed as such, and so is a file
	// saved by a spreadsheet in windows-1252.
	if status, body := upload(token[1], strings.ReplaceAll(e2eCSV, ",", ";")); status != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "separated by semicolons") || !strings.Contains(body, `\"delimiter\": \";\"`) {
		t.Errorf("a semicolon-separated file: %d %s", status, body)
	}
	if status, body := upload(token[1], strings.Replace(e2eCSV, "ROYAL SURREY", "ROYAL SURREY \xA3", 1)); status != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "windows-1252") || !strings.Contains(body, `"row":2`) {
		t.Errorf("a windows-1252 file declared utf-8: %d %s", status, body)
	}
	// Indicator definitions are checked at submission, naming the field.
	indicator := `{"id": "adm", "title": "Admissions", "description": "d", "file": "admissions.csv", "organisation": "Code",
		"numerator": "Patients", "denominator": "Patients", "unit": "percentage", "polarity": "higher-is-better",
		"method": "wilson", "benchmark": {"kind": "none"}, "authoredBy": "a", "checkedBy": "b"}`
	for bad, field := range map[string]string{
		strings.Replace(indicator, `"method": "wilson"`, `"method": "guesswork"`, 1):      "method",
		strings.Replace(indicator, `"polarity": "higher-is-better",`, ``, 1):              "polarity",
		strings.Replace(indicator, `"numerator": "Patients"`, `"numerator": "Deaths"`, 1): "numerator",
		// Verdicts that cannot be: log-scale limits are for ratios, not
		// proportions; 90% is not a level; "ranking" is not a method.
		strings.Replace(indicator, `"method": "wilson",`, `"method": "wilson", "verdict": {"method": "funnel", "limits": "log-scale"},`, 1): "verdict.limits",
		strings.Replace(indicator, `"method": "wilson",`, `"method": "wilson", "verdict": {"level": 90},`, 1):                               "verdict.level",
		strings.Replace(indicator, `"method": "wilson",`, `"method": "wilson", "verdict": {"method": "ranking"},`, 1):                       "verdict.method",
	} {
		status, body := upload(token[1], e2eCSV, bad)
		if status < 400 || status >= 500 || !strings.Contains(body, field) {
			t.Errorf("indicator with a bad %s: %d %s", field, status, body)
		}
	}
	// Check only: every check runs and nothing is stored (the real upload
	// after it is still version 1); a refusal is the same as a submission's.
	checkOnly := func(csv string) (int, string) {
		descriptor := fmt.Sprintf(`{"dataset": {"slug": "e2e-api", "title": "API uploads", "publisher": {"slug": "e2e-stats", "name": "E2E Statistics"}},
			"release": {"title": "API release", "periodLabel": "April 2026"},
			"resources": [{"name": "admissions", "path": "admissions.csv", "schema": %s}]}`, e2eSchema)
		return postSubmissionTo(t, s, "/api/v1/submissions?check=only", token[1], descriptor, map[string]string{"admissions.csv": csv})
	}
	if status, body := checkOnly(e2eCSV); status != http.StatusOK || !strings.Contains(body, `"stored":false`) || !strings.Contains(body, `"disclosure":{`) {
		t.Errorf("check only: %d %s", status, body)
	}
	if status, body := checkOnly(strings.Replace(e2eCSV, "24", "2x4", 1)); status != http.StatusUnprocessableEntity || !strings.Contains(body, `"row":3`) {
		t.Errorf("check only, a bad cell: %d %s", status, body)
	}
	if status, _ := postSubmissionTo(t, s, "/api/v1/submissions?check=maybe", token[1], `{}`, nil); status != http.StatusBadRequest {
		t.Errorf("check=maybe: %d, want 400", status)
	}
	status, body := upload(token[1], e2eCSV)
	if status != http.StatusCreated || !strings.Contains(body, `"state":"checked"`) || !strings.Contains(body, `"version":1`) {
		t.Fatalf("a good upload: %d %s", status, body)
	}
	// Checked is not published.
	if status, _, _ := s.get(t, "/datasets/e2e-api/releases/1"); status != http.StatusNotFound {
		t.Errorf("an uploaded release answers %d before review, want 404", status)
	}

	// A descriptor laid out like the bundled ones, its files in folders,
	// is accepted with each part named by the path the descriptor gives.
	foldered := `{"dataset": {"slug": "e2e-folders", "title": "Files in folders", "publisher": {"slug": "e2e-stats", "name": "E2E Statistics"}},
		"release": {"title": "Folders", "periodLabel": "April 2026"},
		"resources": [{"name": "admissions", "path": "data/admissions.csv", "schema": "schemas/admissions.schema.json"}]}`
	status, body = postSubmission(t, s, token[1], foldered, map[string]string{"data/admissions.csv": e2eCSV, "schemas/admissions.schema.json": e2eSchema})
	if status != http.StatusCreated || !strings.Contains(body, `"state":"checked"`) {
		t.Errorf("a descriptor with files in folders: %d %s", status, body)
	}
	status, body = postSubmission(t, s, token[1], foldered, map[string]string{"../admissions.csv": e2eCSV})
	if status != http.StatusBadRequest || !strings.Contains(body, "../admissions.csv") || !strings.Contains(body, "data/admissions.csv") {
		t.Errorf("a part named to climb out of the upload: %d %s, want 400 naming the part and an example", status, body)
	}
}

// account is a test account: username, roles, organisation.
type account struct{ name, roles, org string }

// addAccounts creates accounts with the command an operator uses, each
// with the password "correct horse battery" and a name from its username.
func addAccounts(t *testing.T, dataDir string, accounts []account) {
	t.Helper()
	env := func(k string) string {
		if k == "CANDOUR_PASSWORD" {
			return "correct horse battery"
		}
		return ""
	}
	for _, u := range accounts {
		args := []string{"user", "add", u.name, "--role", u.roles, "--name", strings.ToUpper(u.name[:1]) + u.name[1:] + " Tester", "--data-dir", dataDir}
		if u.org != "" {
			args = append(args, "--org", u.org)
		}
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, env, &out, &errOut); err != nil {
			t.Fatalf("user add %s: %v\n%s", u.name, err, errOut.String())
		}
	}
}
