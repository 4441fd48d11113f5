package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/datasets/sqlitedb"
)

// largeRows is the size of the streamed-export test (the benchmark runs
// 5 million).
const largeRows = 500_000

// seedLargeRelease writes a published release of n generated rows
// straight into a data folder's stores: benchmark-style fixture data, not
// a workflow test (the workflow has its own). Region cycles through five
// codes; it returns a function giving the SHA-256 and row count of the
// CSV a filter keeping the rows numbered i where keep(i) should stream.
func seedLargeRelease(t *testing.T, dataDir string, n int) func(keep func(i int) bool) (string, int) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	db, err := sqlitedb.Open(ctx, filepath.Join(dataDir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: cataloguesqlite.Component, Files: cataloguesqlite.Migrations()},
		rowsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC() }
	cat := cataloguesqlite.New(db, now)
	pub, err := cat.PutPublisher(ctx, catalogue.Publisher{Slug: "bulk", Name: "Bulk statistics"})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := cat.CreateDataset(ctx, catalogue.Dataset{Slug: "bulk", Title: "Bulk rows", Publisher: pub, Licence: catalogue.DefaultLicence,
		Status: catalogue.DatasetPlanned})
	if err != nil {
		t.Fatal(err)
	}
	res := datasets.Resource{Name: "bulk", Path: "bulk.csv", Dialect: datasets.DefaultDialect(), Schema: datasets.Schema{Fields: []datasets.Field{
		{Name: "Id", Type: datasets.TypeInteger, Role: datasets.RoleKey},
		{Name: "Region", Type: datasets.TypeString, Role: datasets.RoleDimension},
		{Name: "Count", Type: datasets.TypeInteger, Role: datasets.RoleMeasure, Suppressed: []string{"*"}}}}}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	cell := func(i int) []string {
		count := itoa(i * 7 % 1000)
		if i%97 == 0 {
			count = "*"
		}
		return []string{itoa(i), fmt.Sprintf("R%d", i%5), count}
	}
	r, err := cat.CreateRelease(ctx, catalogue.Release{DatasetID: ds.ID, Title: "Bulk rows", PeriodLabel: "2026"},
		[]catalogue.File{{Name: "bulk.csv", Role: catalogue.RolePublic, MediaType: "text/csv", Encoding: "utf-8",
			SHA256: strings.Repeat("0", 64), Rows: int64(n), Resource: raw}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := func(yield func([]string, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(cell(i), nil) {
				return
			}
		}
	}
	if _, err := rowsqlite.New(db).WriteRows(ctx, datasets.FileRef{Release: r.ID, File: "bulk.csv"}, rows); err != nil {
		t.Fatal(err)
	}
	for _, to := range []catalogue.ReleaseState{catalogue.StateChecked, catalogue.StateInReview, catalogue.StateApproved, catalogue.StateScheduled, catalogue.StatePublished} {
		if r, err = cat.TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: r.State, To: to, At: now(), Actor: "test fixture", EmbargoAt: now()}); err != nil {
			t.Fatal(err)
		}
	}
	// The expected export: the header and the rows kept, as
	// datasets.Writer writes them.
	return func(keep func(i int) bool) (string, int) {
		h := sha256.New()
		w, err := datasets.NewWriter(h, []string{"Id", "Region", "Count"})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for i := 1; i <= n; i++ {
			if keep(i) {
				w.Write(cell(i))
				want++
			}
		}
		w.Close()
		return hex.EncodeToString(h.Sum(nil)), want
	}
}

func itoa(i int) string { return fmt.Sprint(i) }

// A filtered export of a large file streams every matching row, byte for
// byte as expected, as CSV and as NDJSON.
func TestLargeFilteredExportStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("streams half a million rows; skipped with -short")
	}
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	expect := seedLargeRelease(t, dataDir, largeRows)
	t.Run("an export holds a turn while it streams", func(t *testing.T) { exportsHoldATurn(t, dataDir) })
	s := startCandour(t, "serve", dataDir)
	defer s.stop()
	for _, c := range []struct {
		query string
		keep  func(i int) bool
	}{
		{"eq.Region=R2", func(i int) bool { return i%5 == 2 }},
		// A range on the key, with an equality; the file's last rows.
		{"gte.Id=123457&lte.Id=400000&eq.Region=R2", func(i int) bool { return i >= 123457 && i <= 400000 && i%5 == 2 }},
		{"gte.Id=499990", func(i int) bool { return i >= 499990 }},
	} {
		wantSum, wantRows := expect(c.keep)
		resp, err := http.Get(s.base + "/datasets/bulk/releases/1/rows/bulk.csv?" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: export: %d %v", c.query, resp.StatusCode, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != wantSum {
			t.Errorf("%s: the CSV export (%d bytes) hashes to %s, want %s (%d rows)", c.query, n, got, wantSum, wantRows)
		}
		resp, err = http.Get(s.base + "/datasets/bulk/releases/1/rows/bulk.csv?" + c.query + "&format=ndjson")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		lines, suppressed := 0, 0
		for sc.Scan() {
			lines++
			if strings.Contains(sc.Text(), `"Count":"*"`) {
				suppressed++
			}
		}
		resp.Body.Close()
		if lines != wantRows || suppressed == 0 && wantRows > 97 {
			t.Errorf("%s: NDJSON: %d rows (%d suppressed markers), want %d", c.query, lines, suppressed, wantRows)
		}
	}
}

// exportsHoldATurn: with --max-in-flight 2 one filtered export may stream
// at once. A client that asks for the whole file and stops reading keeps
// that turn (its rows are read after the handler returned, outside the
// concurrency limit); meanwhile a second export is answered 503 with
// Retry-After after the queue wait, ordinary pages are still served, and
// once the first client goes away exports are served again.
func exportsHoldATurn(t *testing.T, dataDir string) {
	s := startCandour(t, "serve", dataDir, "--max-in-flight", "2", "--queue-wait", "300ms", "--page-cache=false")
	defer s.stop()
	addr := strings.TrimPrefix(s.base, "http://")
	// A small receive buffer so that the server's writes block soon.
	d := net.Dialer{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	slow, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET /datasets/bulk/releases/1/rows/bulk.csv?gte.Id=0 HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	head := make([]byte, 512)
	if _, err := io.ReadFull(slow, head); err != nil || !strings.HasPrefix(string(head), "HTTP/1.1 200") {
		t.Fatalf("the slow export did not start: %v %q", err, head)
	}
	// The server's buffers fill and the stream blocks with the turn held.
	time.Sleep(500 * time.Millisecond)

	resp, err := http.Get(s.base + "/datasets/bulk/releases/1/rows/bulk.csv?gte.Id=499990")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second export while one streams: %d (Retry-After %q), want 503 with Retry-After: %.200s",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if code := getStatus(t, s.base+"/datasets/bulk"); code != http.StatusOK {
		t.Errorf("the dataset page while an export holds its turn: %d, want 200", code)
	}

	slow.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code := getStatus(t, s.base+"/datasets/bulk/releases/1/rows/bulk.csv?gte.Id=499990")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exports still answered %d 10 s after the slow client went away", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
