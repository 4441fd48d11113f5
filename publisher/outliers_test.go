package publisher_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
)

const auditSchema = `{"missingValues": [""], "fields": [
	{"name": "period", "type": "string"}, {"name": "level", "type": "string"},
	{"name": "provider_code", "type": "string", "candour:organisation": {"nameField": "provider_name", "type": "nhs-trust"}},
	{"name": "provider_name", "type": "string"},
	{"name": "team_code", "type": "string", "candour:organisation": {"nameField": "team_name", "type": "clinical-team"}},
	{"name": "team_name", "type": "string"},
	{"name": "consultant_code", "type": "string", "candour:organisation": {"nameField": "consultant_name", "type": "consultant"}},
	{"name": "consultant_name", "type": "string"},
	{"name": "measure", "type": "string"},
	{"name": "cases", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true},
	{"name": "observed", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true},
	{"name": "expected", "type": "number", "candour:role": "measure"}],
	"candour:disclosure": {"rule": "threshold", "threshold": 5}}`

const auditDef = `{"id": "hips", "name": "Hip audit", "clinicalArea": "Orthopaedics", "auditBody": "NHS England", "period": "2025/26",
	"coverage": "Six trusts", "methodology": "m", "file": "outcomes.csv", "minCases": 20, "minCasesReason": "too few",
	"measures": [{"id": "deaths", "title": "Deaths", "outcome": "death within 30 days", "statistic": "ratio", "polarity": "lower-is-better",
		"limits": "exact-poisson", "riskModel": "logistic"}]}`

// RA2's 2 deaths are below the threshold of 5: suppressed in the public
// version, so its ratio is neither shown nor classified.
const auditCSV = "period,level,provider_code,provider_name,team_code,team_name,consultant_code,consultant_name,measure,cases,observed,expected\n" +
	"2025/26,hospital,RR8,LEEDS,,,,,deaths,300,55,25.5\n" +
	"2025/26,hospital,RX1,NOTTINGHAM,,,,,deaths,280,24,24.1\n" +
	"2025/26,hospital,RA2,ROYAL SURREY,,,,,deaths,250,2,21.2\n" +
	"2025/26,hospital,RTH,OXFORD,,,,,deaths,260,23,22.4\n"

func auditSubmission(t *testing.T, csv, def string) publisher.Submission {
	t.Helper()
	sub, err := auditSubmissionErr(csv, def)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestAuditReleaseAppliesDisclosureAndNotifiesByProvider(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	out, err := e.svc.Submit(ctx, pub, auditSubmission(t, auditCSV, auditDef), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := out.Release.ID
	all, err := e.audits.Outcomes(ctx, audit.Query{Visible: datasets.NewVisible(id)})
	if err != nil || len(all) != 4 {
		t.Fatalf("outcomes: %v %+v", err, all)
	}
	for _, o := range all {
		switch o.Code {
		case "RA2":
			if o.Observed != nil || o.Ratio != nil || o.Expected != nil || o.Status != audit.NotClassified || !strings.Contains(o.Reason, "suppressed") {
				t.Errorf("RA2, suppressed: %+v", o)
			}
		case "RR8":
			if o.Status != audit.Alarm || !o.High {
				t.Errorf("RR8: %+v", o)
			}
		}
	}
	// The audit body sees its outliers at once; checkers only in preview.
	n, ok, err := e.svc.Outliers(ctx, pub, id)
	if err != nil || !ok || len(n.Outcomes) != 1 || n.Outcomes[0].Code != "RR8" || n.ListedAt.IsZero() || !n.NotifiedAt.IsZero() {
		t.Fatalf("the audit body's list: %v %v %+v", ok, err, n)
	}
	if _, _, err := e.svc.Outliers(ctx, checker, id); !errors.Is(err, publisher.ErrNotAllowed) {
		t.Errorf("a checker before the preview: %v", err)
	}
	// Before publication a stranger is told the release does not exist.
	if _, _, err := e.svc.Outliers(ctx, outsider, id); !errors.Is(err, catalogue.ErrNotFound) || errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("another publisher: %v, want not found", err)
	}
	if _, err := e.svc.OpenPreview(ctx, pub, id, now.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	leeds := checker // RR8
	nottingham := publisher.Actor{Username: "nat", Roles: []publisher.Role{publisher.RoleProviderChecker}, Organisation: "RX1"}
	if n, _, err := e.svc.Outliers(ctx, leeds, id); err != nil || len(n.Outcomes) != 1 || n.NotifiedAt.IsZero() {
		t.Errorf("RR8's checker: %v %+v", err, n)
	}
	if n, _, err := e.svc.Outliers(ctx, nottingham, id); err != nil || len(n.Outcomes) != 0 {
		t.Errorf("RX1's checker sees another provider's outliers: %v %+v", err, n)
	}
	unit := publisher.OutlierResponseInput{Measure: "deaths", Period: "2025/26", Level: audit.Hospital, Code: "RR8",
		Kind: publisher.ResponseDataError, Text: "Twelve deaths were coded to us in error."}
	if _, err := e.svc.RespondToOutlier(ctx, nottingham, id, unit); !errors.Is(err, publisher.ErrInvalid) {
		t.Errorf("RX1 answering RR8's notification: %v", err)
	}
	bad := unit
	bad.Kind = "maybe"
	if _, err := e.svc.RespondToOutlier(ctx, leeds, id, bad); !errors.Is(err, publisher.ErrInvalid) || !strings.Contains(err.Error(), "kind") {
		t.Errorf("a response without a kind: %v", err)
	}
	resp, err := e.svc.RespondToOutlier(ctx, leeds, id, unit)
	if err != nil || resp.ID == 0 || !resp.At.Equal(now) {
		t.Fatalf("RR8's response: %v %+v", err, resp)
	}
	// The response stays with the release, for reviewers; RX1 does not see it.
	if n, _, err := e.svc.Outliers(ctx, revA, id); err != nil || len(n.Responses) != 1 || len(n.Responded(n.Outcomes[0])) != 1 {
		t.Errorf("the reviewer's view: %v %+v", err, n)
	}
	if n, _, _ := e.svc.Outliers(ctx, nottingham, id); len(n.Responses) != 0 {
		t.Errorf("RX1 sees RR8's response: %+v", n.Responses)
	}
	entries, err := e.work.AuditLog().EntriesForRelease(ctx, id)
	if err != nil || !strings.Contains(string(entries[len(entries)-1].Details), "coded to us in error") || entries[len(entries)-1].Action != "outlier.responded" {
		t.Errorf("audit log: %v", err)
	}
}

func TestAuditSubmissionRejectsBadRowsAndStoresNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for name, tc := range map[string]struct {
		csv, def, want string
	}{
		"events greater than cases":      {auditCSV + "2025/26,hospital,RGT,CAMBRIDGE,,,,,deaths,10,12,3\n", auditDef, "outcomes.csv: row 6, column 11 (observed)"},
		"expected of zero":               {auditCSV + "2025/26,hospital,RGT,CAMBRIDGE,,,,,deaths,10,1,0\n", auditDef, "row 6, column 12 (expected)"},
		"a definition without its file":  {auditCSV, strings.Replace(auditDef, `"file": "outcomes.csv"`, `"file": "other.csv"`, 1), "audit.file"},
		"a measure with no limit method": {auditCSV, strings.Replace(auditDef, `"limits": "exact-poisson", `, "", 1), "limits"},
	} {
		t.Run(name, func(t *testing.T) {
			sub, err := auditSubmissionErr(tc.csv, tc.def)
			if err != nil { // the definition is refused as it is read
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("read: %v, want %q", err, tc.want)
				}
				return
			}
			_, err = e.svc.Submit(ctx, pub, sub, nil)
			var rej *publisher.Rejection
			if !errors.As(err, &rej) || !strings.Contains(rej.Error(), tc.want) {
				t.Errorf("got %v, want a rejection naming %q", err, tc.want)
			}
		})
	}
	if rs, err := e.audits.Audits(ctx, datasets.NewVisible(1, 2, 3, 4, 5)); err != nil || len(rs) != 0 {
		t.Errorf("a rejected audit was stored: %v %+v", err, rs)
	}
	assertNoBlobs(t, e.blobsDir)
}

func auditSubmissionErr(csv, def string) (publisher.Submission, error) {
	return publisher.ReadSubmission(fstest.MapFS{
		"d.json": {Data: []byte(`{"dataset": {"slug": "hips", "title": "Hips", "publisher": {"slug": "nhs-england", "name": "NHS England"}},
			"release": {"title": "Hips 2025/26", "periodLabel": "2025/26"}, "audit": "audit.json",
			"resources": [{"name": "outcomes", "path": "outcomes.csv", "schema": "s.json"}]}`)},
		"s.json":       {Data: []byte(auditSchema)},
		"audit.json":   {Data: []byte(def)},
		"outcomes.csv": {Data: []byte(csv)},
	}, "d.json")
}

// Cancelling an audit release removes its outcomes with its rows.
func TestCancelRemovesAuditOutcomes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	out, err := e.svc.Submit(ctx, pub, auditSubmission(t, auditCSV, auditDef), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := out.Release.ID
	if _, err := e.svc.Cancel(ctx, pub, id, "wrong period"); err != nil {
		t.Fatal(err)
	}
	if all, err := e.audits.Outcomes(ctx, audit.Query{Visible: datasets.NewVisible(id)}); err != nil || len(all) != 0 {
		t.Errorf("outcomes after cancelling: %v %d", err, len(all))
	}
}
