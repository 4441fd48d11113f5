package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Hostile input, from outside: compressed and oversized bodies, slow
// clients, junk query strings against the page cache, forwarded addresses
// behind a proxy, formulas in exports, an existence oracle and overload.

// heapInUse is the heap this test process (server included) holds after a
// collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// gzipOfZeros is n zero bytes, gzip-compressed.
func gzipOfZeros(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for written := 0; written < n; written += len(chunk) {
		zw.Write(chunk)
	}
	zw.Close()
	return buf.Bytes()
}

func send(t *testing.T, method, target string, body []byte, header map[string]string) (int, string, http.Header) {
	t.Helper()
	status, b, h, err := trySend(method, target, body, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return status, b, h
}

// trySend sends a request and returns the answer, or the client's error.
func trySend(method, target string, body []byte, header map[string]string) (int, string, http.Header, error) {
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, nil
}

// metric reads one un-labelled value from /metrics.
func metric(t *testing.T, s *server, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(s.mustGet(t, "/metrics"))
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func hostileDataDir(t *testing.T) (string, map[string]string) {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"hana", "publisher", "e2e-hostile"}, {"otto", "publisher", "e2e-other"}, {"ada", "administrator", ""}})
	tokens := map[string]string{}
	for _, u := range []string{"hana", "otto"} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"user", "token", u, "--label", "e2e", "--data-dir", dataDir}, noEnv, &out, &errOut); err != nil {
			t.Fatalf("user token: %v %s", err, errOut.String())
		}
		tokens[u] = regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())[1]
	}
	return dataDir, tokens
}

func TestHostileRequests(t *testing.T) {
	dataDir, tokens := hostileDataDir(t)
	s := startCandour(t, "serve", dataDir, "--page-cache-bytes", "1MiB", "--trusted-proxy", "127.0.0.1,::1",
		"--api-rate", "30", "--read-timeout", "2s")

	t.Run("compressed bodies are refused, never inflated", func(t *testing.T) {
		bomb := gzipOfZeros(t, 128<<20)
		if len(bomb) > 200<<10 {
			t.Fatalf("the test's gzip body is %d bytes", len(bomb))
		}
		small := gzipOfZeros(t, 1<<20)
		before := heapInUse()
		for _, target := range []string{"/account/login", "/api/v1/submissions", "/workspace/submit"} {
			header := map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/x-www-form-urlencoded"}
			if target == "/api/v1/submissions" {
				header["Authorization"] = "Bearer " + tokens["hana"]
			}
			// The bomb is over the limit for compressed bodies, so the
			// server may answer and close before the client has written it
			// all: a client that sees its write cut off was refused too.
			status, body, _, err := trySend(http.MethodPost, s.base+target, bomb, header)
			switch {
			case errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET):
			case err != nil:
				t.Fatalf("POST %s with a gzip bomb: %v", target, err)
			case status != http.StatusUnsupportedMediaType && status != http.StatusRequestEntityTooLarge:
				t.Errorf("POST %s with a gzip bomb: %d, want 415 (or 413)\n%.300s", target, status, body)
			}
			// A small compressed body is read and answered 415, saying what
			// to do.
			status, body, h := send(t, http.MethodPost, s.base+target, small, header)
			if status != http.StatusUnsupportedMediaType || !strings.Contains(body, "uncompressed") || h.Get("Accept-Encoding") != "identity" {
				t.Errorf("POST %s with a small gzip body: %d %q %q, want 415 saying to send it uncompressed", target, status, h.Get("Accept-Encoding"), body)
			}
		}
		if grew := int64(heapInUse()) - int64(before); grew > 32<<20 {
			t.Errorf("three 128 MiB gzip bodies grew the heap by %d MiB", grew>>20)
		}
	})

	t.Run("bodies over the limit are refused before they are read", func(t *testing.T) {
		// Only the headers are sent: the answer must come without the body.
		for _, target := range []string{"/account/login", "/workspace/submit", "/api/v1/submissions"} {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", target, 2<<20)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			conn.Close()
			if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("POST %s announcing 2 MiB with no sign-in: %v %v, want 413 before the body is sent", target, resp, err)
			}
		}
	})

	t.Run("a signed-in upload may be larger than the form limit", func(t *testing.T) {
		var csv strings.Builder
		csv.WriteString("code,name\n")
		for i := 0; csv.Len() < 6<<20; i++ {
			fmt.Fprintf(&csv, "C%07d,Name number %d of a large upload\n", i, i)
		}
		status, body := postSubmission(t, s, tokens["hana"], `{"dataset": {"slug": "big-upload", "title": "Big upload", "publisher": {"slug": "e2e-hostile", "name": "E2E Hostile"}},
			"release": {"title": "Quarter 1", "periodLabel": "2026 Q1"}, "resources": [{"name": "list", "path": "list.csv", "schema": {"fields": [{"name": "code", "candour:role": "key"}, {"name": "name"}]}}]}`,
			map[string]string{"list.csv": csv.String()})
		if status != http.StatusCreated {
			t.Errorf("a 6 MiB submission with a valid token: %d %.300s", status, body)
		}
	})

	t.Run("a signed-in upload over --max-upload is refused before it is read", func(t *testing.T) {
		blobsBefore := countFiles(t, filepath.Join(dataDir, "blobs"))
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// --max-upload is 200 MiB by default, with 1 MiB for the framing.
		fmt.Fprintf(conn, "POST /api/v1/submissions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n--x\r\n",
			tokens["hana"], 202<<20)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("announcing 202 MiB with a valid token: %v %v, want 413 before the body is sent", resp, err)
		}
		if n := countFiles(t, filepath.Join(dataDir, "blobs")); n != blobsBefore {
			t.Errorf("the refused upload stored %d blobs", n-blobsBefore)
		}
	})

	t.Run("an upload cut off part-way leaves nothing behind", func(t *testing.T) {
		// The file part is larger than what the multipart reader keeps in
		// memory, so the server is spooling it to a temporary file when
		// the client goes away.
		spool := t.TempDir()
		t.Setenv("TMPDIR", spool)
		descriptor := `{"dataset": {"slug": "cut-off", "title": "Cut off", "publisher": {"slug": "e2e-hostile", "name": "E2E Hostile"}},
			"release": {"title": "Quarter 1", "periodLabel": "2026 Q1"}, "resources": [{"name": "list", "path": "list.csv", "schema": {"fields": [{"name": "code", "candour:role": "key"}, {"name": "name"}]}}]}`
		var csv strings.Builder
		csv.WriteString("code,name\n")
		for i := 0; csv.Len() < 24<<20; i++ {
			fmt.Fprintf(&csv, "C%07d,Name number %d of an upload that is cut off\n", i, i)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("descriptor", "submission.json")
		fw.Write([]byte(descriptor))
		fw, _ = mw.CreateFormFile("list.csv", "list.csv")
		fw.Write([]byte(csv.String()))
		mw.Close()
		blobsBefore := countFiles(t, filepath.Join(dataDir, "blobs"))

		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /api/v1/submissions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			tokens["hana"], mw.FormDataContentType(), body.Len())
		if _, err := conn.Write(body.Bytes()[:body.Len()*3/4]); err != nil {
			t.Fatal(err)
		}
		// Wait until the server has spooled part of the file, then go.
		deadline := time.Now().Add(10 * time.Second)
		for countFiles(t, spool) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		spooling := countFiles(t, spool)
		conn.Close()
		if spooling == 0 {
			t.Fatal("the server kept the upload in memory: no temporary file while 18 MiB of it had arrived")
		}
		deadline = time.Now().Add(10 * time.Second)
		for countFiles(t, spool) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := countFiles(t, spool); n > 0 {
			t.Errorf("%d temporary files left behind by the cut-off upload", n)
		}
		if n := countFiles(t, filepath.Join(dataDir, "blobs")); n != blobsBefore {
			t.Errorf("the cut-off upload stored %d blobs", n-blobsBefore)
		}
		// Nothing of it was recorded: the same submission, whole, is the
		// dataset's first version.
		status, answer := postSubmission(t, s, tokens["hana"], descriptor, map[string]string{"list.csv": csv.String()})
		if status != http.StatusCreated || !strings.Contains(answer, `"version":1`) {
			t.Errorf("the whole submission after the cut-off one: %d %.300s, want 201 and version 1", status, answer)
		}
	})

	t.Run("a slow client is cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: localhost\r\n")
		closed := false
		for time.Since(start) < 10*time.Second {
			if _, err := fmt.Fprint(conn, "X-Slow: a\r\n"); err != nil {
				closed = true
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if !closed {
			conn.SetReadDeadline(time.Now().Add(time.Second))
			_, err := bufio.NewReader(conn).ReadByte()
			closed = err != nil && !isTimeout(err)
		}
		if !closed {
			t.Errorf("a client sending a header line every 250 ms was still connected after %s (read timeout 2 s)", time.Since(start).Round(time.Second))
		}
	})

	t.Run("junk query strings do not fill the page cache", func(t *testing.T) {
		entries := metric(t, s, "candour_page_cache_entries")
		before := heapInUse()
		parallel(t, s.base, 10_000, 8, func(i int) string {
			if i%50 == 0 {
				return fmt.Sprintf("/organisations?format=json&junk=%d", i)
			}
			return fmt.Sprintf("/pages/licence?junk=%d", i)
		}, func(h http.Header) error {
			if h.Get("X-Candour-Cache") != "bypass" {
				return fmt.Errorf("X-Candour-Cache %q, want bypass", h.Get("X-Candour-Cache"))
			}
			return nil
		})
		if got := metric(t, s, "candour_page_cache_entries"); got != entries {
			t.Errorf("10,000 junk query strings changed the cache from %v to %v entries", entries, got)
		}
		// Known parameters with endless values: the byte budget holds.
		parallel(t, s.base, 2_000, 8, func(i int) string { return fmt.Sprintf("/datasets?page=%d", i+1) }, nil)
		if held, budget := metric(t, s, "candour_page_cache_bytes"), metric(t, s, "candour_page_cache_budget_bytes"); held > budget || budget != 1<<20 {
			t.Errorf("the cache holds %v bytes, budget %v", held, budget)
		}
		if grew := int64(heapInUse()) - int64(before); grew > 48<<20 {
			t.Errorf("12,000 requests grew the heap by %d MiB (cache budget 1 MiB)", grew>>20)
		}
	})

	t.Run("a forged Host header never reaches another reader's links", func(t *testing.T) {
		// Feeds, DCAT and the APIs write absolute links from the request's
		// host. The page cache once kept the first answer under its path
		// alone, so one request naming another host poisoned the links
		// every later harvester was given.
		for _, path := range []string{"/feeds/releases.atom", "/catalog.jsonld", "/api/3/action/package_search", "/api/v1/search?q=hospital"} {
			req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "attacker.example"
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s as attacker.example: %v", path, err)
			}
			forged, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for range 2 { // the second is a cache hit for the real host
				status, body, h := s.get(t, path)
				if status != http.StatusOK || strings.Contains(body, "attacker.example") {
					t.Errorf("GET %s after a forged Host (%s): %d, cache %q, attacker's host in the body: %v",
						path, res.Status, status, h.Get("X-Candour-Cache"), strings.Contains(body, "attacker.example"))
				}
			}
			if path == "/feeds/releases.atom" && !strings.Contains(string(forged), "attacker.example") {
				t.Logf("the forged request's own feed did not use its host; the check above proves less")
			}
		}
	})

	t.Run("behind the proxy each client has its own limit", func(t *testing.T) {
		get := func(xff string) int {
			status, _, _ := send(t, http.MethodGet, s.base+"/api/v1/datasets", nil, map[string]string{"X-Forwarded-For": xff})
			return status
		}
		for i := range 30 {
			if st := get("203.0.113.1"); st != http.StatusOK {
				t.Fatalf("request %d from 203.0.113.1: %d", i+1, st)
			}
		}
		if st := get("203.0.113.1"); st != http.StatusTooManyRequests {
			t.Errorf("31st request from 203.0.113.1: %d, want 429", st)
		}
		if st := get("198.51.100.7, 203.0.113.1"); st != http.StatusTooManyRequests {
			t.Errorf("a made-up address on the left escaped the limit: %d", st)
		}
		if st := get("203.0.113.2"); st != http.StatusOK {
			t.Errorf("another client behind the proxy is limited too: %d", st)
		}
	})

	t.Run("failed sign-ins lock out neither everyone nor the person", func(t *testing.T) {
		login := func(xff, user, password string) int {
			b := newBrowser(t, s)
			_, page := b.get("/account/login")
			req, _ := http.NewRequest(http.MethodPost, s.base+"/account/login", strings.NewReader(url.Values{"csrf": {csrfOf(t, page)},
				"username": {user}, "password": {password}, "next": {"/workspace"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", xff)
			status, _, _ := b.do(req)
			return status
		}
		for i := range 25 {
			login("203.0.113.66", "hana", "wrong "+strconv.Itoa(i))
		}
		if st := login("203.0.113.66", "hana", "correct horse battery"); st != http.StatusTooManyRequests {
			t.Errorf("hana from the guessing address after 25 failures: %d, want 429", st)
		}
		if st := login("203.0.113.67", "hana", "correct horse battery"); st != http.StatusSeeOther {
			t.Errorf("hana from her own address after someone guessed at her account: %d, want 303", st)
		}
		if st := login("203.0.113.68", "otto", "correct horse battery"); st != http.StatusSeeOther {
			t.Errorf("another user after 25 failures from one address: %d, want 303", st)
		}
	})

	t.Run("server-built CSV neutralises formulas", func(t *testing.T) {
		ada := newBrowser(t, s)
		ada.login("ada", "correct horse battery")
		entry := url.Values{"csrf": {ada.token()}, "recipient": {`=HYPERLINK("http://evil.example","x")`}, "data": {"@SUM(1+1)"},
			"purpose": {"-2+3"}, "legal-basis": {"Article 6(1)(e)"}, "shared-on": {"2026-01-10"}, "classification": {"pseudonymised"}}
		if status, body, _ := ada.post("/workspace/register", entry); status != http.StatusSeeOther {
			t.Fatalf("register entry: %d %s", status, body)
		}
		reg := s.mustGet(t, "/register.csv")
		for _, want := range []string{`"'=HYPERLINK(""http://evil.example"",""x"")"`, "'@SUM(1+1)", "'-2+3"} {
			if !strings.Contains(reg, want) {
				t.Errorf("register.csv lacks %s:\n%s", want, reg)
			}
		}
		if strings.Contains(reg, "\r\n=HYPERLINK") || strings.Contains(reg, ",@SUM") {
			t.Errorf("a formula passes through:\n%s", reg)
		}
	})

	t.Run("unpublished releases are not found by strangers", func(t *testing.T) {
		status, body := postSubmission(t, s, tokens["hana"], `{"dataset": {"slug": "secret-plans", "title": "Hostile Secret Plans", "publisher": {"slug": "e2e-hostile", "name": "E2E Hostile"}},
			"release": {"title": "Quarter 1", "periodLabel": "2026 Q1"}, "resources": [{"name": "list", "path": "list.csv", "schema": {"fields": [{"name": "code", "candour:role": "key"}, {"name": "name"}]}}]}`,
			map[string]string{"list.csv": "code,name\nA1,Alpha\n"})
		if status != http.StatusCreated {
			t.Fatalf("submission: %d %s", status, body)
		}
		id := regexp.MustCompile(`"id":\s*(\d+)`).FindStringSubmatch(body)[1]
		missing := "987654"
		auth := map[string]string{"Authorization": "Bearer " + tokens["otto"]}
		for _, path := range []string{"/api/v1/releases/", "/api/v1/submissions/"} {
			st1, b1, _ := send(t, http.MethodGet, s.base+path+id, nil, auth)
			st2, b2, _ := send(t, http.MethodGet, s.base+path+missing, nil, auth)
			if st1 != http.StatusNotFound || st1 != st2 || b1 != b2 {
				t.Errorf("GET %s: another organisation's unpublished release %d %q; a missing one %d %q", path, st1, b1, st2, b2)
			}
			if strings.Contains(b1, "Secret") || strings.Contains(b1, "secret-plans") {
				t.Errorf("GET %s%s names the release: %s", path, id, b1)
			}
		}
		otto := newBrowser(t, s)
		otto.login("otto", "correct horse battery")
		for _, path := range []string{"/workspace/releases/%s", "/workspace/releases/%s/preview", "/workspace/releases/%s/files/public/list.csv"} {
			st1, b1 := otto.get(fmt.Sprintf(path, id))
			st2, b2 := otto.get(fmt.Sprintf(path, missing))
			if st1 != http.StatusNotFound || st1 != st2 || b1 != b2 {
				t.Errorf("GET %s: another organisation's unpublished release %d; a missing one %d; bodies differ at %s", path, st1, st2,
					firstDifference(b1, b2))
			}
			if strings.Contains(b1, "Secret") {
				t.Errorf("GET %s names the release", fmt.Sprintf(path, id))
			}
		}
		for _, action := range []string{"cancel", "submit-for-review"} {
			st1, b1 := otto.action(id, action, url.Values{"reason": {"x"}})
			st2, _ := otto.action(missing, action, url.Values{"reason": {"x"}})
			if st1 != http.StatusNotFound || st1 != st2 || strings.Contains(b1, "Secret") {
				t.Errorf("POST %s on another organisation's release: %d; on a missing one %d", action, st1, st2)
			}
		}
	})

	t.Run("metrics answer only locally", func(t *testing.T) {
		refusals := metric(t, s, "candour_disclosure_refusals_total")
		status, body := postSubmission(t, s, tokens["hana"], `{"dataset": {"slug": "identifiers", "title": "Identifiers", "publisher": {"slug": "e2e-hostile", "name": "E2E Hostile"}},
			"release": {"title": "Quarter 1", "periodLabel": "2026 Q1"}, "resources": [{"name": "list", "path": "list.csv", "schema": {"fields": [{"name": "code", "candour:role": "key"}, {"name": "note"}]}}]}`,
			map[string]string{"list.csv": "code,note\nA1,patient 943 476 5919 seen\n"})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("a file with an NHS number: %d %.300s", status, body)
		}
		if got := metric(t, s, "candour_disclosure_refusals_total"); got != refusals+1 {
			t.Errorf("candour_disclosure_refusals_total %v after one refusal (was %v)", got, refusals)
		}
		s.mustGet(t, "/datasets")
		body = s.mustGet(t, "/metrics")
		for _, want := range []string{`candour_http_requests_total{code="200",method="GET",route="/datasets"}`, "candour_page_cache_hits_total", "candour_http_shed_total"} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if status, _, _ := send(t, http.MethodGet, s.base+"/metrics", nil, map[string]string{"X-Forwarded-For": "203.0.113.9"}); status != http.StatusNotFound {
			t.Errorf("/metrics through the proxy: %d, want 404", status)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// parallel GETs n paths on workers goroutines, failing on any status but
// 200 or a header check's error.
func parallel(t *testing.T, base string, n, workers int, path func(int) string, check func(http.Header) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				resp, err := http.Get(base + path(i))
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				var problem error
				if resp.StatusCode != http.StatusOK {
					problem = fmt.Errorf("status %d", resp.StatusCode)
				} else if check != nil {
					problem = check(resp.Header)
				}
				if problem != nil {
					mu.Lock()
					failures = append(failures, path(i)+": "+problem.Error())
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed, first: %s", len(failures), n, failures[0])
	}
}

// TestOverloadSheds: with two requests at a time and a short queue, a burst
// of fifty gets some 503s with Retry-After instead of queueing, /healthz
// keeps answering, and everything works again once the burst ends.
func TestOverloadSheds(t *testing.T) {
	dataDir, _ := hostileDataDir(t)
	s := startCandour(t, "serve", dataDir, "--page-cache=false", "--max-in-flight", "2", "--queue-wait", "20ms")
	var shed, ok, other atomic.Int64
	var retryAfter atomic.Value
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(s.base + "/organisations?format=json")
				if err != nil {
					other.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusServiceUnavailable:
					shed.Add(1)
					retryAfter.Store(resp.Header.Get("Retry-After"))
				default:
					other.Add(1)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	healthStart := time.Now()
	status, _, _ := s.get(t, "/healthz")
	healthTook := time.Since(healthStart)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	http.DefaultClient.CloseIdleConnections()
	if status != http.StatusOK || healthTook > 2*time.Second {
		t.Errorf("/healthz under overload: %d in %s", status, healthTook)
	}
	if shed.Load() == 0 || ok.Load() == 0 || other.Load() != 0 {
		t.Errorf("under overload: %d answered, %d shed, %d other; want some of each of the first two and none else", ok.Load(), shed.Load(), other.Load())
	}
	if ra, _ := retryAfter.Load().(string); ra == "" {
		t.Error("a 503 without Retry-After")
	}
	if got := metric(t, s, "candour_http_shed_total"); got != float64(shed.Load()) {
		t.Errorf("candour_http_shed_total %v, but %d were shed", got, shed.Load())
	}
	for i := range 5 {
		if st, _, _ := s.get(t, "/organisations?format=json"); st != http.StatusOK {
			t.Errorf("request %d after the burst: %d", i+1, st)
		}
	}
}

// firstDifference shows where two texts first differ.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-60)
	return fmt.Sprintf("byte %d: %q versus %q", i, a[from:min(len(a), i+60)], b[from:min(len(b), i+60)])
}

// countFiles counts the regular files under dir (0 when it does not exist).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
