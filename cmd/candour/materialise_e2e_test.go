package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Materialised pages (site/materialise.go) are the live pages' bytes,
// are never served once a publication has changed them, hold nothing
// unpublished, and answer conditional and compressed requests.
func TestMaterialisedPages(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"pam", "publisher", "e2e-trusts"}})
	token := embToken(t, dataDir, "pam")
	s := startCandour(t, "serve", dataDir, "--page-cache=false", "--materialise-pages=true")

	const slug = "e2e-materialised"
	submit := func(year int) { submitPeriod(t, s, token, slug, year) }
	for v, year := range []int{2018, 2019, 2020} {
		submit(year)
		publishThroughWorkflow(t, s, map[string]int{slug: v + 1})
	}
	submit(2021) // version 4: submitted, never published

	pages := []string{"/organisations/RR8", "/organisations/RX1", "/organisations/RA2", "/organisations/RTH", "/indicators/" + slug}
	materialised := awaitMaterialised(t, s, pages)
	for path, body := range materialised {
		if !strings.Contains(body, "2020/21") || strings.Contains(body, "2021/22") {
			t.Errorf("%s materialised: the latest published period 2020/21 %v, the unpublished 2021/22 %v",
				path, strings.Contains(body, "2020/21"), strings.Contains(body, "2021/22"))
		}
	}

	t.Run("conditional and compressed requests", func(t *testing.T) {
		path := pages[0]
		_, _, h := s.get(t, path)
		req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified || h.Get("ETag") == "" {
			t.Errorf("If-None-Match %q on a materialised page: %d, want 304", h.Get("ETag"), res.StatusCode)
		}
		req, _ = http.NewRequest(http.MethodGet, s.base+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		zr, err := gzip.NewReader(res.Body)
		if err != nil || res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("X-Candour-Cache") != "materialised" {
			t.Fatalf("gzip asked for: %v, Content-Encoding %q, X-Candour-Cache %q", err, res.Header.Get("Content-Encoding"), res.Header.Get("X-Candour-Cache"))
		}
		if unzipped, _ := io.ReadAll(zr); string(unzipped) != materialised[path] {
			t.Errorf("the gzip body is not the page's (%d bytes against %d)", len(unzipped), len(materialised[path]))
		}
	})

	t.Run("a publication is on the very next request", func(t *testing.T) {
		publishThroughWorkflow(t, s, map[string]int{slug: 4})
		for _, path := range pages {
			if _, body, h := s.get(t, path); !strings.Contains(body, "2021/22") {
				t.Errorf("%s straight after publishing 2021/22 (X-Candour-Cache %q) does not show it", path, h.Get("X-Candour-Cache"))
			}
		}
		for path, body := range awaitMaterialised(t, s, pages) {
			if !strings.Contains(body, "2021/22") {
				t.Errorf("%s materialised again without 2021/22", path)
			}
		}
		materialised = awaitMaterialised(t, s, pages)
	})

	// The same data folder served with nothing materialised: the live
	// pages are the same bytes, and the folder of pages is gone.
	s.stop()
	live := startCandour(t, "serve", dataDir, "--page-cache=false")
	for _, path := range pages {
		_, body, h := live.get(t, path)
		if h.Get("X-Candour-Cache") == "materialised" {
			t.Fatalf("%s: materialised with --materialise-pages=false", path)
		}
		if body != materialised[path] {
			t.Errorf("%s: the materialised page (%d bytes) is not the live one (%d bytes)", path, len(materialised[path]), len(body))
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, materialisedDir)); !os.IsNotExist(err) {
		t.Errorf("the folder of materialised pages is still there with --materialise-pages=false: %v", err)
	}
}

// awaitMaterialised waits until every path is answered from a materialised
// page and returns their bodies.
func awaitMaterialised(t *testing.T, s *server, paths []string) map[string]string {
	t.Helper()
	bodies := map[string]string{}
	deadline := time.Now().Add(time.Minute)
	for _, path := range paths {
		for {
			status, body, h := s.get(t, path)
			if status == http.StatusOK && h.Get("X-Candour-Cache") == "materialised" {
				bodies[path] = body
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not materialised within a minute (status %d, X-Candour-Cache %q)", path, status, h.Get("X-Candour-Cache"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return bodies
}
