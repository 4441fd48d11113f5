package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The search index is rebuilt from the database by `candour reindex`, and
// at start when it is missing, unfinished or damaged; a damaged index is
// never served.
func TestSearchIndexIsRebuilt(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	ctx := context.Background()
	var out, errOut bytes.Buffer
	env := func(k string) string {
		if k == "CANDOUR_PASSWORD" {
			return "correct horse battery"
		}
		return ""
	}
	if err := run(ctx, []string{"user", "add", "ada", "--role", "administrator", "--name", "Ada", "--data-dir", dataDir}, env, &out, &errOut); err != nil {
		t.Fatalf("user add: %v %s", err, errOut.String())
	}
	found := func(s *server) bool {
		t.Helper()
		status, body, _ := s.get(t, "/api/v1/search?q=accessibility+statement")
		return status == http.StatusOK && strings.Contains(body, `"url":"/pages/accessibility"`)
	}
	s := startCandour(t, "serve", dataDir)
	if !found(s) {
		t.Fatal("a new data folder's index does not find the pages")
	}
	s.stop()

	out.Reset()
	if err := run(ctx, []string{"reindex", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("reindex: %v %s", err, errOut.String())
	}
	if !regexp.MustCompile(`Search index rebuilt: \d+ documents in`).MatchString(out.String()) {
		t.Errorf("reindex printed %q", out.String())
	}

	// Damage the index: the next start rebuilds it before serving.
	index := filepath.Join(dataDir, searchDir)
	if err := os.WriteFile(filepath.Join(index, "index_meta.json"), []byte("{damaged"), 0o640); err != nil {
		t.Fatal(err)
	}
	s = startCandour(t, "serve", dataDir)
	if !found(s) {
		t.Error("after damage, the rebuilt index does not find the pages")
	}
	if !strings.Contains(s.stderr.String(), "building the search index") {
		t.Errorf("the damaged index was not rebuilt:\n%s", s.stderr.String())
	}
	s.stop()

	// An unfinished build (no completion marker) is also rebuilt.
	os.Remove(filepath.Join(index, "candour-index-complete"))
	s = startCandour(t, "serve", dataDir)
	defer s.stop()
	if !found(s) {
		t.Error("after an unfinished build, the index does not find the pages")
	}
}

// The public API limits each client; beyond the limit it answers 429 with
// Retry-After and the API's error shape.
func TestAPIRateLimit(t *testing.T) {
	s := startCandour(t, "serve", filepath.Join(t.TempDir(), "candour-data"), "--api-rate", "3")
	defer s.stop()
	var last *http.Response
	for i := 0; i < 4; i++ {
		resp, err := http.Get(s.base + "/api/v1/datasets")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
		if i < 3 && resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, resp.StatusCode)
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("the fourth request: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	// Pages are not limited.
	if status, _, _ := s.get(t, "/"); status != http.StatusOK {
		t.Errorf("the home page after the API limit: %d", status)
	}
}
