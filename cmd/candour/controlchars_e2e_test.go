package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A CSV cell holding a NUL byte is refused through the submission API like
// any other bad cell: a 422 naming the row and column, and nothing stored.
func TestSubmissionRefusesControlCharacters(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"pam", "publisher", "e2e-stats"}})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"user", "token", "pam", "--label", "e2e", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("user token: %v %s", err, errOut.String())
	}
	token := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())[1]
	s := startCandour(t, "serve", dataDir, "--page-cache=false")

	const descriptor = `{"dataset": {"slug": "e2e-control", "title": "E2E control characters", "publisher": {"slug": "e2e-stats", "name": "E2E Statistics"}},
		"release": {"title": "Control characters", "periodLabel": "April 2026"},
		"resources": [{"name": "admissions", "path": "admissions.csv", "schema": ` + e2eSchema + `}]}`
	// Row 3 (counting the header as row 1), column 2 (Name).
	bad := strings.Replace(e2eCSV, "LEEDS TEACHING", "LEEDS\x00TEACHING", 1)
	if bad == e2eCSV {
		t.Fatal("the NUL byte was not inserted")
	}
	status, body := postSubmission(t, s, token, descriptor, map[string]string{"admissions.csv": bad})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("a NUL byte in a cell: %d %s, want 422", status, body)
	}
	var answer struct {
		Error struct {
			Code, Message string
			Problems      []struct {
				File, Field, Message string
				Row, Column          int
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("the answer is not JSON: %v\n%s", err, body)
	}
	rej := answer.Error
	if len(rej.Problems) != 1 || rej.Code != "rejected" {
		t.Fatalf("got %d problems (code %q), want 1 (code rejected): %s", len(rej.Problems), rej.Code, body)
	}
	p := rej.Problems[0]
	if p.File != "admissions.csv" || p.Row != 3 || p.Column != 2 || p.Field != "Name" || !strings.Contains(p.Message, "U+0000 (NUL)") {
		t.Errorf("the problem: got %+v, want admissions.csv row 3, column 2 (Name), naming U+0000 (NUL)", p)
	}
	if !strings.Contains(rej.Message, "nothing was stored") {
		t.Errorf("the error: got %q, want it to say nothing was stored", rej.Message)
	}

	s.stop()
	assertNothingStored(t, dataDir)
}
