package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A restarted server leaves the search documents of the releases it has
// already indexed alone (once the index is up to date): at start every visible release's document is
// compared with the index's, and only one that changed is written again
// (indexing every release again was most of a large catalogue's start-up).
// The releases are still found after the restart.
func TestRestartKeepsIndexedReleaseDocuments(t *testing.T) {
	dataDir, tokens := hostileDataDir(t)
	s := startCandour(t, "serve", dataDir, "--api-rate", "0")
	releases := map[string]int{}
	for _, slug := range []string{"restart-kept-a", "restart-kept-b"} {
		descriptor := fmt.Sprintf(`{"dataset": {"slug": %q, "title": "Kept across restarts %s", "publisher": {"slug": "e2e-hostile", "name": "E2E Hostile"}},
			"release": {"title": "A list", "periodLabel": "2026"}, "resources": [{"name": "list", "path": "list.csv", "schema": {"fields": [{"name": "code", "candour:role": "key"}, {"name": "name"}]}}]}`, slug, slug[len(slug)-1:])
		if status, body, err := sendGeneratedUpload(s, tokens["hana"], descriptor, 4<<10, false, make(chan struct{})); err != nil || status != http.StatusCreated {
			t.Fatalf("%s: %d %v %.300s", slug, status, err, body)
		}
		releases[slug] = 1
	}
	publishThroughWorkflow(t, s, releases)
	found := func(s *server) int {
		t.Helper()
		var res struct {
			Total int `json:"total"`
		}
		if err := json.Unmarshal([]byte(s.mustGet(t, "/api/v1/search?q=restarts&kind=release")), &res); err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	before := found(s)
	if before != 2 {
		t.Fatalf("before the restart the search finds %d of the 2 published releases", before)
	}
	s.stop()
	// A restart first brings up to date what the stopped server had not
	// synced yet (its sync after the publication may still have been
	// pending); a second restart then has nothing to write.
	startCandour(t, "serve", dataDir, "--api-rate", "0").stop()

	again := startCandour(t, "serve", dataDir, "--api-rate", "0", "--log-level", "info")
	if after := found(again); after != before {
		t.Errorf("after the restart the search finds %d releases, before it %d", after, before)
	}
	if logged := again.stderr.String(); strings.Contains(logged, "search index brought up to date") {
		t.Errorf("the restart wrote search documents again, though nothing changed:\n%s", grepLines(logged, "search index"))
	}
}

// grepLines are the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
