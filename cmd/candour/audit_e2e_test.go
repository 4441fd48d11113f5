package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const e2eAuditSchema = `{"missingValues": [""], "fields": [
	{"name": "period", "type": "string", "candour:role": "key"},
	{"name": "level", "type": "string", "candour:role": "key"},
	{"name": "provider_code", "type": "string", "candour:role": "key", "candour:organisation": {"nameField": "provider_name", "type": "nhs-trust"}},
	{"name": "provider_name", "type": "string"},
	{"name": "team_code", "type": "string", "candour:role": "key", "candour:organisation": {"nameField": "team_name", "type": "clinical-team"}},
	{"name": "team_name", "type": "string"},
	{"name": "consultant_code", "type": "string", "candour:role": "key", "candour:organisation": {"nameField": "consultant_name", "type": "consultant"}},
	{"name": "consultant_name", "type": "string"},
	{"name": "measure", "type": "string", "candour:role": "key"},
	{"name": "cases", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true},
	{"name": "observed", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true},
	{"name": "expected", "type": "number", "candour:role": "measure"}],
	"candour:disclosure": {"rule": "none", "reason": "Audit outcomes published unsuppressed under the audit's publication policy."}}`

const e2eAuditDefinition = `{"id": "e2e-hip-audit", "name": "E2E Hip Fracture Audit", "clinicalArea": "Orthopaedics", "auditBody": "E2E Audit Body",
	"period": "2025/26", "coverage": "Six trusts", "methodology": "## Method\n\nE2EMETHOD risk model.", "file": "outcomes.csv",
	"minCases": 20, "minCasesReason": "smaller units are too unstable to compare",
	"measures": [{"id": "deaths", "title": "Deaths within 30 days", "outcome": "death within 30 days", "statistic": "ratio",
		"polarity": "lower-is-better", "limits": "exact-poisson", "riskModel": "E2E logistic model."}]}`

// e2eAuditCSV: RR8 has far more deaths than expected (alarm); consultant
// C1234567 works at RR8 and at RX1; RTH's team is too small to classify.
const e2eAuditCSV = "period,level,provider_code,provider_name,team_code,team_name,consultant_code,consultant_name,measure,cases,observed,expected\n" +
	"2025/26,hospital,RR8,LEEDS TEACHING HOSPITALS,,,,,deaths,300,55,25.5\n" +
	"2025/26,hospital,RX1,NOTTINGHAM UNIVERSITY HOSPITALS,,,,,deaths,280,24,24.1\n" +
	"2025/26,hospital,RA2,ROYAL SURREY,,,,,deaths,250,20,21.2\n" +
	"2025/26,hospital,RTH,OXFORD,,,,,deaths,260,23,22.4\n" +
	"2025/26,hospital,RJ1,GUY'S AND ST THOMAS',,,,,deaths,270,22,23.0\n" +
	"2025/26,team,RR8,LEEDS TEACHING HOSPITALS,T-LEEDS-1,Leeds hip team,,,deaths,300,55,25.5\n" +
	"2025/26,team,RX1,NOTTINGHAM UNIVERSITY HOSPITALS,T-NOTT-9,Nottingham hip team,,,deaths,280,24,24.1\n" +
	"2025/26,team,RTH,OXFORD,T-OX-2,Oxford small team,,,deaths,12,1,1.1\n" +
	"2025/26,consultant,RR8,LEEDS TEACHING HOSPITALS,T-LEEDS-1,Leeds hip team,C1234567,E2E Consultant Adams,deaths,120,25,10.2\n" +
	"2025/26,consultant,RX1,NOTTINGHAM UNIVERSITY HOSPITALS,T-NOTT-9,Nottingham hip team,C1234567,E2E Consultant Adams,deaths,40,3,3.4\n"

func TestClinicalAuditThroughHTTP(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	ctx := context.Background()
	addAccounts(t, dataDir, []account{
		{"pam", "publisher", "e2e-audit-body"}, {"rita", "reviewer", ""}, {"rob", "reviewer", ""},
		{"chloe", "provider-checker", "RR8"}, {"oscar", "provider-checker", "RX1"},
	})
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"user", "token", "pam", "--label", "audit upload", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("user token: %v %s", err, errOut.String())
	}
	token := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())[1]
	s := startCandour(t, "serve", dataDir)

	upload := func(csv string) (int, string) {
		descriptor := fmt.Sprintf(`{"dataset": {"slug": "e2e-hip-audit-data", "title": "E2E hip fracture audit", "publisher": {"slug": "e2e-audit-body", "name": "E2E Audit Body"}},
			"release": {"title": "Hip audit E2EAUDITTITLE 2025/26", "periodLabel": "2025/26", "periodStart": "2025-04-01", "periodEnd": "2026-03-31"},
			"resources": [{"name": "outcomes", "path": "outcomes.csv", "schema": %s}], "audit": "audit.json"}`, e2eAuditSchema)
		return postSubmission(t, s, token, descriptor, map[string]string{"outcomes.csv": csv, "audit.json": e2eAuditDefinition})
	}

	// Bad input is rejected at validation with the row and column, and
	// nothing is stored.
	for _, tc := range []struct {
		name, row string
		column    int
		message   string
	}{
		{"expected events of zero", "2025/26,hospital,RGT,CAMBRIDGE,,,,,deaths,100,5,0", 12, "expected events of zero"},
		{"negative count", "2025/26,hospital,RGT,CAMBRIDGE,,,,,deaths,-100,5,4", 10, "negative"},
		{"events greater than cases", "2025/26,hospital,RGT,CAMBRIDGE,,,,,deaths,10,12,4", 11, "more than the cases"},
		{"consultant twice in the same team and period", "2025/26,consultant,RR8,LEEDS TEACHING HOSPITALS,T-LEEDS-1,Leeds hip team,C1234567,E2E Consultant Adams,deaths,30,2,2.5", 7, "listed twice"},
	} {
		status, body := upload(e2eAuditCSV + tc.row + "\n")
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `"row":12`) || !strings.Contains(body, fmt.Sprintf(`"column":%d`, tc.column)) ||
			!strings.Contains(body, tc.message) {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
	if status, body, _ := s.get(t, "/datasets/e2e-hip-audit-data"); status != http.StatusNotFound {
		t.Errorf("after rejected uploads the dataset exists: %d %.200s", status, body)
	}

	status, body := upload(e2eAuditCSV)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	var created struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(created.ID)

	pam, rita, rob, chloe, oscar := newBrowser(t, s), newBrowser(t, s), newBrowser(t, s), newBrowser(t, s), newBrowser(t, s)
	for b, name := range map[*browser]string{pam: "pam", rita: "rita", rob: "rob", chloe: "chloe", oscar: "oscar"} {
		b.login(name, "correct horse battery")
	}
	// The audit body sees its outliers as soon as the release is checked.
	if _, page := pam.get("/workspace/releases/" + id); !strings.Contains(page, "Outlier notifications: E2E Hip Fracture Audit") ||
		!strings.Contains(page, "LEEDS TEACHING HOSPITALS (RR8)") || strings.Contains(page, "OXFORD (RTH)</td>") {
		t.Errorf("the audit body's outlier list:\n%s", page)
	}
	// Provider preview: each provider's checker sees only its own units'
	// notifications.
	mustAction(t, pam, id, "preview", url.Values{"until-date": {time.Now().In(london()).AddDate(0, 0, 2).Format("2006-01-02")}})
	_, leeds := chloe.get("/workspace/releases/" + id + "/preview")
	if !strings.Contains(leeds, "Outlier notification: E2E Hip Fracture Audit") || !strings.Contains(leeds, `name="code" value="RR8"`) ||
		!strings.Contains(leeds, "Alarm: high") || strings.Contains(leeds, "NOTTINGHAM UNIVERSITY HOSPITALS (RX1)") {
		t.Errorf("RR8's checker's preview:\n%s", leeds)
	}
	_, nottingham := oscar.get("/workspace/releases/" + id + "/preview")
	if !strings.Contains(nottingham, "Outlier notification") || !strings.Contains(nottingham, "None of your units is outside the expected range") ||
		strings.Contains(nottingham, `value="RR8"`) || strings.Contains(nottingham, "Alarm") {
		t.Errorf("RX1's checker sees another provider's outliers:\n%s", nottingham)
	}
	respond := func(b *browser, code, text string) int {
		status, _, _ := b.post("/workspace/releases/"+id+"/outliers/respond", url.Values{"csrf": {b.token()}, "measure": {"deaths"},
			"period": {"2025/26"}, "level": {"hospital"}, "code": {code}, "kind": {"explanation"}, "text": {text}})
		return status
	}
	if status := respond(oscar, "RR8", "Not ours to answer"); status != http.StatusBadRequest {
		t.Errorf("RX1's checker answering RR8's notification: %d, want 400", status)
	}
	if status := respond(chloe, "RR8", "E2ERESPONSE: our case-mix includes a regional trauma centre."); status != http.StatusSeeOther {
		t.Fatalf("RR8's response: %d", status)
	}
	if status := respond(chloe, "RR8", ""); status != http.StatusBadRequest {
		t.Errorf("an empty response: %d, want 400", status)
	}
	if _, page := oscar.get("/workspace/releases/" + id + "/preview"); strings.Contains(page, "E2ERESPONSE") {
		t.Error("RX1's checker sees RR8's response")
	}
	// Nothing of it is public before publication.
	secretFree := func(when string) {
		for _, u := range []string{"/audits", "/audits/e2e-hip-audit", "/audits/e2e-hip-audit/outcomes.csv", "/audits/e2e-hip-audit/units/hospital/RR8",
			"/organisations/RR8", "/organisations/C1234567", "/", "/workspace/releases/" + id + "/preview"} {
			status, body, _ := s.get(t, u)
			for _, secret := range []string{"E2E Hip Fracture Audit", "E2ERESPONSE", "E2E Consultant Adams", "E2EAUDITTITLE"} {
				if strings.Contains(body, secret) {
					t.Errorf("%s, %s (%d) shows %q", when, u, status, secret)
				}
			}
		}
	}
	secretFree("in preview")
	if status, _, _ := s.get(t, "/audits/e2e-hip-audit"); status != http.StatusNotFound {
		t.Errorf("the audit page before publication: %d, want 404", status)
	}

	// Review: the panel sees the response and its date.
	mustAction(t, pam, id, "send-to-review", nil)
	_, page := rita.get("/workspace/releases/" + id)
	if !strings.Contains(page, "E2ERESPONSE") || !strings.Contains(page, "There is an explanation") || !strings.Contains(page, "(chloe, ") {
		t.Errorf("the reviewer does not see the provider's response:\n%s", page)
	}
	review := func(b *browser) {
		_, page := b.get("/workspace/releases/" + id)
		files := regexp.MustCompile(`name="files" value="([^"]*)"`).FindStringSubmatch(page)
		form := url.Values{"decision": {"approve"}, "files": {html.UnescapeString(files[1])}}
		for i := 1; i <= 7; i++ {
			form.Set(fmt.Sprintf("consideration-%d", i), "Considered and acceptable")
		}
		acceptAll(form, page)
		mustAction(t, b, id, "review", form)
	}
	review(rita)
	review(rob)
	embargo := time.Now().Add(3 * time.Second).Truncate(time.Second)
	mustAction(t, pam, id, "schedule", url.Values{"date": {embargo.In(london()).Format("2006-01-02")}, "time": {embargo.In(london()).Format("15:04:05")}})
	secretFree("scheduled")
	time.Sleep(time.Until(embargo))
	deadline := time.Now().Add(15 * time.Second)
	for {
		if status, _, _ := s.get(t, "/audits/e2e-hip-audit"); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit was not published")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The scheduler's publication is counted for operators, with its lag.
	if n, lag := metric(t, s, "candour_publications_total"), metric(t, s, "candour_scheduler_lag_seconds"); n != 1 || lag < 0 || lag > 15 {
		t.Errorf("/metrics after one scheduled publication: %v publications, lag %v s", n, lag)
	}

	// The public pages.
	for u, want := range map[string][]string{
		"/audits": {"E2E Hip Fracture Audit", "Orthopaedics", "2025/26"},
		"/audits/e2e-hip-audit": {"E2E Hip Fracture Audit", "E2EMETHOD", "Exact Poisson limits", "counts as within it", "data-chart=",
			"LEEDS TEACHING HOSPITALS", "Alarm: high", "/audits/e2e-hip-audit/units/hospital/RR8", "Risk-adjusted", "20 cases"},
		"/audits/e2e-hip-audit?level=team":                                       {"Leeds hip team", "Oxford small team", "Fewer than 20 cases (12)"},
		"/audits/e2e-hip-audit?level=consultant&measure=deaths&period=2025%2F26": {"E2E Consultant Adams", "/audits/e2e-hip-audit/units/consultant/C1234567"},
		"/audits/e2e-hip-audit/units/hospital/RR8":                               {"LEEDS TEACHING HOSPITALS", "Alarm: observed ÷ expected death within 30 days is above the 99.8% limit (worse than expected)"},
		"/audits/e2e-hip-audit/units/team/T-OX-2":                                {"Oxford small team", "Not classified. Fewer than 20 cases (12)"},
		"/audits/e2e-hip-audit/units/consultant/C1234567": {"E2E Consultant Adams", "LEEDS TEACHING HOSPITALS (RR8)", "NOTTINGHAM UNIVERSITY HOSPITALS (RX1)",
			"Registration number", "has a result at each"},
		"/organisations/RR8":       {"Clinical audit results", "/audits/e2e-hip-audit/units/hospital/RR8", "1 result outside the expected range"},
		"/organisations/T-LEEDS-1": {"/audits/e2e-hip-audit/units/team/T-LEEDS-1"},
		"/organisations/C1234567":  {"E2E Consultant Adams", "/audits/e2e-hip-audit/units/consultant/C1234567"},
	} {
		status, body, _ := s.get(t, u)
		if status != http.StatusOK {
			t.Errorf("%s: %d", u, status)
			continue
		}
		for _, w := range want {
			if !strings.Contains(body, html.EscapeString(w)) && !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", u, w)
			}
		}
		if strings.Contains(body, "E2ERESPONSE") {
			t.Errorf("%s shows the provider's private response", u)
		}
		if strings.Contains(body, "Synthetic demonstration data") {
			t.Errorf("%s labels a real audit as synthetic", u)
		}
	}
	// CSV for every table.
	status, csv, h := s.get(t, "/audits/e2e-hip-audit/outcomes.csv?measure=deaths&level=hospital&period=2025%2F26")
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || strings.Count(csv, "\n") != 6 ||
		!strings.Contains(csv, "e2e-hip-audit,deaths,2025/26,hospital,RR8,LEEDS TEACHING HOSPITALS") || !strings.Contains(csv, ",alarm,high,") {
		t.Errorf("hospital table CSV: %d %s\n%s", status, h.Get("Content-Type"), csv)
	}
	if _, all, _ := s.get(t, "/audits/e2e-hip-audit/outcomes.csv"); strings.Count(all, "\n") != 11 {
		t.Errorf("every outcome: %d lines\n%s", strings.Count(all, "\n"), all)
	}
	if _, unit, _ := s.get(t, "/audits/e2e-hip-audit/units/consultant/C1234567.csv"); strings.Count(unit, "\n") != 3 || !strings.Contains(unit, "RX1") {
		t.Errorf("consultant CSV:\n%s", unit)
	}
	// Bad parameters are a 400 naming the parameter; unknown units a 404.
	for u, want := range map[string]int{
		"/audits/e2e-hip-audit?level=ward":              http.StatusBadRequest,
		"/audits/e2e-hip-audit?measure=nope":            http.StatusBadRequest,
		"/audits/e2e-hip-audit?period=1999":             http.StatusBadRequest,
		"/audits/e2e-hip-audit/outcomes.csv?level=ward": http.StatusBadRequest,
		"/audits/e2e-hip-audit/units/ward/RR8":          http.StatusBadRequest,
		"/audits/e2e-hip-audit/units/hospital/ZZZ":      http.StatusNotFound,
		"/audits/e2e-hip-audt":                          http.StatusNotFound,
	} {
		status, body, _ := s.get(t, u)
		if status != want {
			t.Errorf("%s: %d, want %d", u, status, want)
		}
		if want == http.StatusBadRequest && !strings.Contains(body, "parameter") {
			t.Errorf("%s does not name the parameter", u)
		}
	}
	// The preview is over: the checker can no longer answer.
	if status := respond(chloe, "RR8", "too late"); status == http.StatusSeeOther {
		t.Error("a response was accepted after publication")
	}
}
