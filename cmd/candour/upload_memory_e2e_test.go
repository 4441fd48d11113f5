package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An upload is spooled to disk as it arrives: the server holds a few KiB of
// it, not the 16 MiB a file part that fasthttp's own multipart parsing
// keeps in memory, whether the body's length is announced or it is sent
// in chunks; a chunked body over --max-upload is refused as it passes the
// limit, leaving nothing behind.
func TestUploadsAreSpooledNotHeld(t *testing.T) {
	dataDir, tokens := hostileDataDir(t)
	spool := t.TempDir()
	t.Setenv("TMPDIR", spool)
	s := startCandour(t, "serve", dataDir, "--max-upload", "64MiB")
	const fileBytes = 40 << 20
	descriptorFor := func(slug string) string {
		return fmt.Sprintf(`{"dataset": {"slug": %q, "title": "Spooled upload", "publisher": {"slug": "e2e-hostile", "name": "E2E Hostile"}},
			"release": {"title": "Quarter 1", "periodLabel": "2026 Q1"}, "resources": [{"name": "list", "path": "list.csv", "schema": {"fields": [{"name": "code", "candour:role": "key"}, {"name": "name"}]}}]}`, slug)
	}
	// A small upload first, so that what the first submission sets up
	// once (templates, connections) is not counted as the upload's.
	for _, chunked := range []bool{false, true} {
		if status, body, err := sendGeneratedUpload(s, tokens["hana"], descriptorFor(fmt.Sprint("warm-up-", chunked)), 64<<10, chunked, make(chan struct{})); err != nil || status != http.StatusCreated {
			t.Fatalf("a small upload: %d %v %.300s", status, err, body)
		}
	}

	for _, chunked := range []bool{false, true} {
		name := map[bool]string{false: "with a Content-Length", true: "chunked"}[chunked]
		t.Run(name, func(t *testing.T) {
			// The heap watched is the whole test process's, so work that
			// is not the upload's (a collection's timing, a goroutine
			// another test left finishing) can add to one attempt. A
			// server that held the upload would exceed the limit in every
			// attempt; so the test fails only when three in a row do, and
			// logs where the held memory was allocated when one does.
			const limit = 4 << 20
			for attempt := 1; ; attempt++ {
				slug := fmt.Sprintf("spooled-%s-%d", map[bool]string{false: "length", true: "chunked"}[chunked], attempt)
				grew, held := heapGrowthDuringUpload(t, s, tokens["hana"], descriptorFor(slug), fileBytes, chunked, limit)
				t.Logf("%d MiB upload, %s, attempt %d: the heap grew by at most %.1f MiB while it was sent", fileBytes>>20, name, attempt, float64(grew)/(1<<20))
				if grew <= limit {
					break
				}
				t.Logf("the largest allocations held at the peak:\n%s", held)
				if attempt == 3 {
					t.Errorf("the heap grew by more than %d MiB while a %d MiB file was sent, in %d attempts in a row; want a few KiB of it held", limit>>20, fileBytes>>20, attempt)
					break
				}
			}
		})
	}

	t.Run("a kept-alive connection carries on after a body, never into it", func(t *testing.T) {
		// Two requests written at once on one connection: a form POST to
		// an address that reads no body (its body streamed to the server)
		// and a GET. The GET must be answered as itself, not taken from
		// the first one's body; an upload's connection is closed after
		// its answer instead.
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		form := "note=" + strings.Repeat("GET /x HTTP/1.1\r\n", 2<<10)
		fmt.Fprintf(conn, "POST /no-such-page HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%sGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", len(form), form)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		first, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, first.Body)
		second, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after the form POST (%d), the GET on the same connection: %v", first.StatusCode, err)
		}
		body, _ := io.ReadAll(second.Body)
		if second.StatusCode != http.StatusOK || !strings.Contains(string(body), "ok") {
			t.Errorf("the GET after the form POST: %d %.200s, want /healthz's answer", second.StatusCode, body)
		}
	})

	t.Run("a chunked body over --max-upload is refused as it passes the limit", func(t *testing.T) {
		blobsBefore := countFiles(t, filepath.Join(dataDir, "blobs"))
		status, body, err := sendGeneratedUpload(s, tokens["hana"], descriptorFor("too-big-chunked"), 80<<20, true, make(chan struct{}))
		switch {
		case errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET):
		case err != nil:
			t.Fatalf("an 80 MiB chunked upload: %v", err)
		case status != http.StatusRequestEntityTooLarge:
			t.Errorf("an 80 MiB chunked upload with --max-upload 64MiB: %d %.300s, want 413", status, body)
		}
		if n := countFiles(t, filepath.Join(dataDir, "blobs")); n != blobsBefore {
			t.Errorf("the refused upload stored %d blobs", n-blobsBefore)
		}
		deadline := time.Now().Add(10 * time.Second)
		for countFiles(t, spool) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := countFiles(t, spool); n > 0 {
			t.Errorf("%d temporary files left behind by the refused upload", n)
		}
	})
}

// heapGrowthDuringUpload sends one generated upload and returns how far
// the process's live heap rose above what it was before, sampled every
// 20 ms while the body was sent, and, when it rose above limit, the
// allocation sites holding the most memory at the highest sample.
func heapGrowthDuringUpload(t *testing.T, s *server, token, descriptor string, size int, chunked bool, limit int64) (int64, string) {
	t.Helper()
	liveHeap() // a second collection empties what sync.Pools held
	before := int64(liveHeap())
	var peak int64
	var held string
	sending := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if h := int64(liveHeap()); h > peak {
				peak = h
				if h-before > limit {
					held = largestHeldAllocations(5)
				}
			}
			select {
			case <-sending:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	status, body, err := sendGeneratedUpload(s, token, descriptor, size, chunked, sending)
	<-sampled
	if err != nil || status != http.StatusCreated {
		t.Fatalf("a %d MiB upload: %d %v %.300s", size>>20, status, err, body)
	}
	return peak - before, held
}

// largestHeldAllocations lists the n call stacks holding the most live
// heap at the last collection, as the memory profiler sampled them.
func largestHeldAllocations(n int) string {
	records := make([]runtime.MemProfileRecord, 256)
	count, ok := runtime.MemProfile(records, false)
	for !ok {
		records = make([]runtime.MemProfileRecord, count+64)
		count, ok = runtime.MemProfile(records, false)
	}
	records = records[:count]
	slices.SortFunc(records, func(a, b runtime.MemProfileRecord) int { return cmp.Compare(b.InUseBytes(), a.InUseBytes()) })
	var out strings.Builder
	for _, r := range records[:min(n, len(records))] {
		fmt.Fprintf(&out, "%.1f MiB held by:\n", float64(r.InUseBytes())/(1<<20))
		frames := runtime.CallersFrames(r.Stack())
		for i := 0; i < 8; i++ {
			f, more := frames.Next()
			fmt.Fprintf(&out, "    %s (%s:%d)\n", f.Function, filepath.Base(f.File), f.Line)
			if !more {
				break
			}
		}
	}
	return out.String()
}

// liveHeap is the heap this test process (server included) holds live
// after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// sendGeneratedUpload posts a submission whose one file, list.csv, is
// about size bytes of generated rows, written as it is sent (the client
// holds none of it), in pieces with short pauses so that the upload lasts
// long enough to be watched; sending is closed once the last byte is
// written. With chunked false the body's length is announced.
func sendGeneratedUpload(s *server, token, descriptor string, size int, chunked bool, sending chan struct{}) (int, string, error) {
	write := func(w io.Writer, boundary string, pace bool) error {
		mw := multipart.NewWriter(w)
		mw.SetBoundary(boundary)
		fw, _ := mw.CreateFormFile("descriptor", "submission.json")
		io.WriteString(fw, descriptor)
		fw, _ = mw.CreateFormFile("list.csv", "list.csv")
		if _, err := writeGeneratedRows(fw, size, pace); err != nil {
			return err
		}
		return mw.Close()
	}
	const boundary = "candour-spooled-upload-boundary"
	var length countingWriter
	if !chunked {
		write(&length, boundary, false)
	}
	pr, pw := io.Pipe()
	go func() {
		err := write(pw, boundary, true)
		close(sending)
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/submissions", pr)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.Header.Set("Authorization", "Bearer "+token)
	if !chunked {
		req.ContentLength = int64(length)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// writeGeneratedRows writes the generated list.csv of about size bytes,
// header included, pausing briefly between pieces when pace is true, and
// returns how many rows it wrote. Rows are written into one buffer,
// reused, so that the client allocates nothing while the server's heap is
// watched.
func writeGeneratedRows(w io.Writer, size int, pace bool) (int, error) {
	if _, err := io.WriteString(w, "code,name\n"); err != nil {
		return 0, err
	}
	piece := make([]byte, 0, 256<<10+128)
	row := 0
	for written := 0; written < size; {
		piece = piece[:0]
		for len(piece) < 256<<10 {
			piece = append(piece, 'C')
			piece = strconv.AppendInt(piece, 100000000+int64(row), 10)
			piece = append(piece, ",Name number "...)
			piece = strconv.AppendInt(piece, int64(row), 10)
			piece = append(piece, " of a spooled upload\n"...)
			row++
		}
		if _, err := w.Write(piece); err != nil {
			return row, err
		}
		written += len(piece)
		if pace {
			time.Sleep(2 * time.Millisecond)
		}
	}
	return row, nil
}

// countingWriter counts what is written to it.
type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
