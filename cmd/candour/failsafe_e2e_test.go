package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Disclosure control that fails safe, through the submission API: what a
// publisher forgets to declare makes the release safer, and every refusal
// names the rows by their key values.

// failSafeSubmission is what the API answers about a submission.
type failSafeSubmission struct {
	ID         int64  `json:"id"`
	Submission string `json:"submission"`
	Disclosure struct {
		Findings []struct {
			Kind     string   `json:"kind"`
			Blocking bool     `json:"blocking"`
			Key      string   `json:"key"`
			Message  string   `json:"message"`
			Because  []string `json:"because"`
		} `json:"findings"`
		Audit struct {
			Cells []struct {
				File, Key, Field, Method string
				Min                      float64
				Max                      *float64
				PossibleValues           int64 `json:"possible_values"`
				Pass                     bool
			} `json:"cells"`
			Secondary []struct {
				File, Key, Field string
				Protects         []string
			} `json:"secondary"`
		} `json:"audit"`
	} `json:"disclosure"`
}

type failSafe struct {
	t     *testing.T
	s     *server
	token string
}

// submit sends one release: files by name, each with its schema.
func (fs failSafe) submit(slug, release string, files [][3]string) (int, string) {
	fs.t.Helper()
	var resources []string
	contents := map[string]string{}
	for _, f := range files {
		resources = append(resources, fmt.Sprintf(`{"name": %q, "path": %q, "schema": %s}`, strings.TrimSuffix(f[0], ".csv"), f[0], f[1]))
		contents[f[0]] = f[2]
	}
	descriptor := fmt.Sprintf(`{"dataset": {"slug": %q, "title": "Fail-safe %s", "publisher": {"slug": "e2e-fs", "name": "E2E Fail Safe"}},
		"release": %s, "resources": [%s]}`, slug, slug, release, strings.Join(resources, ","))
	return postSubmission(fs.t, fs.s, fs.token, descriptor, contents)
}

// accepted submits and reads the submission back with its report.
func (fs failSafe) accepted(slug, release string, files [][3]string) failSafeSubmission {
	fs.t.Helper()
	status, body := fs.submit(slug, release, files)
	if status != http.StatusCreated {
		fs.t.Fatalf("%s: %d %s", slug, status, body)
	}
	var created failSafeSubmission
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		fs.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, fs.s.base+created.Submission, nil)
	req.Header.Set("Authorization", "Bearer "+fs.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fs.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var sub failSafeSubmission
	if err := json.Unmarshal(raw, &sub); err != nil || resp.StatusCode != http.StatusOK {
		fs.t.Fatalf("GET %s: %d %v", created.Submission, resp.StatusCode, err)
	}
	// The API names every field in snake_case, the report's included.
	var generic any
	json.Unmarshal(raw, &generic)
	if key := goFieldName(generic); key != "" {
		fs.t.Errorf("GET %s answers the field %q, where the API's names are snake_case", created.Submission, key)
	}
	return sub
}

// refused submits, expects 422, and returns the blocking findings.
func (fs failSafe) refused(slug, release string, files [][3]string) []map[string]any {
	fs.t.Helper()
	status, body := fs.submit(slug, release, files)
	if status != http.StatusUnprocessableEntity {
		fs.t.Fatalf("%s: %d %s, want 422", slug, status, body)
	}
	var rej struct {
		Error struct {
			Code       string           `json:"code"`
			Disclosure []map[string]any `json:"disclosure"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &rej); err != nil {
		fs.t.Fatal(err)
	}
	if len(rej.Error.Disclosure) == 0 || rej.Error.Code != "rejected" {
		fs.t.Fatalf("%s: refused without a disclosure finding, or without the code \"rejected\": %s", slug, body)
	}
	return rej.Error.Disclosure
}

// namesKeys checks that every refusal names some of the key values.
func namesKeys(t *testing.T, what string, refusals []map[string]any, keys ...string) {
	t.Helper()
	for _, r := range refusals {
		msg, _ := r["message"].(string)
		ok := false
		for _, k := range keys {
			ok = ok || strings.Contains(msg, "("+k+")") && r["key"] == k
		}
		if !ok {
			t.Errorf("%s: the refusal does not name the row by its key values %v: %v", what, keys, r)
		}
	}
}

func (sub failSafeSubmission) hasFinding(kind, text string) bool {
	for _, f := range sub.Disclosure.Findings {
		if f.Kind == kind && strings.Contains(f.Message, text) {
			return true
		}
	}
	return false
}

const (
	fsRelease   = `{"title": "Quarter 1", "periodLabel": "2026 Q1"}`
	fsThreshold = `"candour:disclosure": {"rule": "threshold", "threshold": 5}`
	fsNHS       = `"candour:disclosure": {"rule": "nhs-digital"}`
)

func fsPractices(extra, rule string) string {
	return fmt.Sprintf(`{"fields": [{"name": "practice", "candour:role": "key"%s},
	  {"name": "patients", "type": "integer", "candour:role": "measure"}], "primaryKey": "practice", %s}`, extra, rule)
}

func TestDisclosureFailsSafeThroughTheAPI(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"fran", "publisher", "e2e-fs"}})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"import", "practices", filepath.Join("demodata", "epraccur.csv"), "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("import practices: %v %s", err, errOut.String())
	}
	if err := run(context.Background(), []string{"user", "token", "fran", "--label", "e2e", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("user token: %v %s", err, errOut.String())
	}
	token := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())[1]
	s := startCandour(t, "serve", dataDir, "--page-cache=false")
	fs := failSafe{t: t, s: s, token: token}

	t.Run("an undeclared count column is audited", func(t *testing.T) {
		sub := fs.accepted("fs-undeclared-count", fsRelease, [][3]string{{"list.csv", fsPractices("", fsNHS), "practice,patients\nA81001,3\nA81002,122\nA81004,47\n"}})
		if !sub.hasFinding("undeclared-count", "patients (column 2)") {
			t.Errorf("no undeclared-count finding: %+v", sub.Disclosure.Findings)
		}
		if len(sub.Disclosure.Audit.Cells) != 1 || sub.Disclosure.Audit.Cells[0].Key != "A81001" {
			t.Errorf("audit cells: %+v", sub.Disclosure.Audit.Cells)
		}
		show, err := s.candour(t, "release", "show", "fs-undeclared-count", "1")
		if err != nil || !strings.Contains(show, "A81001") || !strings.Contains(show, "undeclared-count") || !strings.Contains(show, "METHOD") {
			t.Errorf("candour release show: %v\n%s", err, show)
		}
	})

	t.Run("an undeclared total is found and audited", func(t *testing.T) {
		sub := fs.accepted("fs-undeclared-total", fsRelease, [][3]string{{"p.csv", fsPractices(`, "candour:nationalValues": ["ENG"]`, fsThreshold),
			"practice,patients\nENG,100\nA81001,3\nA81002,40\nA81004,57\n"}})
		if !sub.hasFinding("undeclared-total", `"ENG"`) {
			t.Errorf("no undeclared-total finding: %+v", sub.Disclosure.Findings)
		}
		sec := sub.Disclosure.Audit.Secondary
		if len(sec) != 1 || sec[0].Key != "A81002" || !strings.Contains(strings.Join(sec[0].Protects, " "), "A81001") {
			t.Errorf("secondary suppressions: %+v", sec)
		}
		fran := newBrowser(t, s)
		fran.login("fran", "correct horse battery")
		status, page := fran.get(fmt.Sprintf("/workspace/releases/%d", sub.ID))
		if status != http.StatusOK || !strings.Contains(page, `id="audit-cells"`) || !strings.Contains(page, `id="secondary-cells"`) ||
			!strings.Contains(page, "A81002") || !strings.Contains(page, "undeclared-total") {
			t.Errorf("the workspace does not show the feasible intervals and further suppressions: %d", status)
		}
		refusals := fs.refused("fs-undeclared-total-nhs", fsRelease, [][3]string{{"p.csv", fsPractices(`, "candour:nationalValues": ["ENG"]`, fsNHS),
			"practice,patients\nENG,3\nA81001,2\nA81002,1\n"}})
		namesKeys(t, "national row under nhs-digital", refusals, "A81001", "A81002")
	})

	t.Run("a pre-suppressed unchanged cell in a correction is linked", func(t *testing.T) {
		schema := `{"fields": [{"name": "practice", "candour:role": "key", "candour:totalValues": ["Total"]},
		  {"name": "patients", "type": "integer", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}],
		  "primaryKey": "practice", "candour:disclosure": {"rule": "threshold", "threshold": 3}}`
		fs.accepted("fs-correction", fsRelease, [][3]string{{"p.csv", schema, "practice,patients\nA81001,2\nA81002,13\nA81004,20\nA81005,30\nTotal,65\n"}})
		publishThroughWorkflow(t, s, map[string]int{"fs-correction": 1})
		correction := `{"title": "Quarter 1 (corrected)", "periodLabel": "2026 Q1", "corrects": 1,
		  "correctionNotice": "A81005's count was wrong; no other figure changed."}`
		status, body := fs.submit("fs-presuppressed", fsRelease, [][3]string{{"p.csv", schema, "practice,patients\nA81001,*\nA81002,13\nA81004,20\nTotal,35\n"}})
		if status != http.StatusCreated || !strings.Contains(body, "true values") {
			t.Errorf("a submission with cells already suppressed is not flagged in the API's answer: %d %s", status, body)
		}
		refusals := fs.refused("fs-correction", correction, [][3]string{{"p.csv", schema, "practice,patients\nA81001,2\nA81002,15\nA81004,*\nA81005,31\nTotal,68\n"}})
		namesKeys(t, "pre-suppressed cell", refusals, "A81004", "A81001")
		if !strings.Contains(fmt.Sprint(refusals), "version 1") {
			t.Errorf("the refusal does not name the linked release: %v", refusals)
		}
	})

	networks := `{"fields": [{"name": "network", "candour:role": "key"}, {"name": "patients", "type": "integer", "candour:countOfIndividuals": true}], ` + fsThreshold + `}`
	t.Run("a nested table is linked through a declared mapping", func(t *testing.T) {
		sub := fs.accepted("fs-mapping", fsRelease, [][3]string{
			{"practices.csv", fsPractices(`, "candour:parent": {"field": "network", "mapping": "map.csv"}`, fsThreshold), "practice,patients\nA81001,3\nA81002,40\nA81004,25\nA81005,30\n"},
			{"networks.csv", networks, "network,patients\nN1,43\nN2,55\n"},
			{"map.csv", `{"fields": [{"name": "practice"}, {"name": "network"}]}`, "practice,network\nA81001,N1\nA81002,N1\nA81004,N2\nA81005,N2\n"},
		})
		sec := sub.Disclosure.Audit.Secondary
		if len(sec) != 1 || sec[0].Key != "A81002" {
			t.Errorf("N1 − A81002 gives A81001 unless A81002 is suppressed; secondary: %+v", sec)
		}
	})

	t.Run("a nested table is linked through the directory", func(t *testing.T) {
		icbs := `{"fields": [{"name": "icb", "candour:role": "key"}, {"name": "patients", "type": "integer", "candour:countOfIndividuals": true}], ` + fsThreshold + `}`
		sub := fs.accepted("fs-directory", fsRelease, [][3]string{
			{"practices.csv", fsPractices(`, "candour:parent": {"field": "icb", "directory": "icb"}`, fsThreshold), "practice,patients\nA81001,3\nA81002,40\nA81004,25\n"},
			{"icbs.csv", icbs, "icb,patients\nQHM,68\n"},
		})
		sec := sub.Disclosure.Audit.Secondary
		if len(sec) != 1 || sec[0].Key != "A81004" {
			t.Errorf("QHM − A81002 − A81004 gives A81001 unless another practice is suppressed; secondary: %+v", sec)
		}
	})

	t.Run("a change note that pins a suppressed cell blocks the release", func(t *testing.T) {
		schema := fsPractices(`, "candour:totalValues": ["Total"]`, fsThreshold)
		data := "practice,patients\nA81001,3\nA81002,40\nA81004,57\nTotal,100\n"
		release := `{"title": "Quarter 1", "periodLabel": "2026 Q1", "changeNotes": "A81002 had 40 patients this quarter."}`
		refusals := fs.refused("fs-text", release, [][3]string{{"p.csv", schema, data}})
		namesKeys(t, "change note", refusals, "A81001", "A81002")
		if !strings.Contains(fmt.Sprint(refusals), "change notes") {
			t.Errorf("the refusal does not name the text: %v", refusals)
		}
		fs.accepted("fs-text", `{"title": "Quarter 1", "periodLabel": "2026 Q1", "changeNotes": "Published on 3 December 2026."}`, [][3]string{{"p.csv", schema, data}})
	})

	t.Run("an already-public column stays exact", func(t *testing.T) {
		schema := `{"fields": [{"name": "practice", "candour:role": "key"},
		  {"name": "list_size", "type": "integer", "candour:alreadyPublished": {"source": "NHS Digital, Patients Registered at a GP Practice", "url": "https://digital.nhs.uk/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"}},
		  {"name": "patients", "type": "integer", "candour:countOfIndividuals": true}], ` + fsNHS + `}`
		sub := fs.accepted("fs-already-public", fsRelease, [][3]string{{"l.csv", schema, "practice,list_size,patients\nA81001,5,3\nA81002,1234,122\n"}})
		if !sub.hasFinding("already-published", "digital.nhs.uk") {
			t.Errorf("no already-published finding: %+v", sub.Disclosure.Findings)
		}
		publishThroughWorkflow(t, s, map[string]int{"fs-already-public": 1})
		if got := s.mustGet(t, "/datasets/fs-already-public/releases/1/files/l.csv"); !strings.Contains(got, "A81001,5,*") || !strings.Contains(got, "A81002,1234,120") {
			t.Errorf("public file:\n%s", got)
		}
	})
}
