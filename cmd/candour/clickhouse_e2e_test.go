package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/clickhousedb/clickhousetest"
)

// clickhouseDatabase returns DSNs for a fresh database on each of the
// servers bases name (created by candour itself when it connects), dropped
// when the test ends, separated by commas as --clickhouse takes them.
func clickhouseDatabase(t *testing.T, bases ...string) string {
	t.Helper()
	name := fmt.Sprintf("candour_e2e_%d", time.Now().UnixNano())
	var dsns []string
	for _, base := range bases {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		dsns = append(dsns, u.String())
		t.Cleanup(func() {
			conn, err := clickhousedb.Open(context.Background(), base)
			if err != nil {
				t.Errorf("drop database %s: %v", name, err)
				return
			}
			defer conn.Close()
			if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
		})
	}
	return strings.Join(dsns, ",")
}

// With --clickhouse, the demo's rows, observations and audit outcomes are
// stored on ClickHouse, none in the data folder's database, and every
// figure a user reads is the same as the embedded store's: the same
// scorecard, indicator, comparison, filtered rows and audit outcomes, byte
// for byte.
func TestDemoOnClickHouse(t *testing.T) {
	first := clickhousetest.DSN(t)
	embedded := startCandour(t, "demo", t.TempDir())
	t.Run("one server", func(t *testing.T) {
		checkDemoOnClickHouse(t, embedded, clickhouseDatabase(t, first))
	})
	t.Run("two shards", func(t *testing.T) {
		second := os.Getenv(clickhousetest.Shard2Variable)
		if second == "" {
			clickhousetest.FreshCluster(t, nil) // skips, or fails where ClickHouse is required
		}
		cluster := cmp.Or(os.Getenv(clickhousetest.ClusterVariable), "candour_test")
		dsns := clickhouseDatabase(t, first, second)
		checkDemoOnClickHouse(t, embedded, dsns, "--clickhouse-cluster", cluster)
		// Both shards hold some of the observations (in both orders) and rows.
		for i, dsn := range strings.Split(dsns, ",") {
			conn, err := clickhousedb.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"observations", "observations_by_organisation", "dataset_rows"} {
				var n uint64
				if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n); err != nil || n == 0 {
					t.Errorf("shard %d's %s holds %d rows (%v)", i+1, table, n, err)
				}
			}
			conn.Close()
		}
	})
}

// checkDemoOnClickHouse starts the demo with --clickhouse dsns (and extra
// flags) and a read node beside it, and checks that both serve what the
// embedded demo serves, and that the figures came from ClickHouse.
func checkDemoOnClickHouse(t *testing.T, embedded *server, dsns string, extra ...string) {
	onClickHouse := startCandour(t, "demo", t.TempDir(), append([]string{"--clickhouse", dsns}, extra...)...)

	// A read node on the publishing node's public snapshot, given the same
	// servers, reads the figures there.
	pub := filepath.Join(onClickHouse.dataDir, publicDir)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(pub, currentFile)); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no public snapshot a minute after the demo started: %v", err)
		}
	}
	readNode := startCandour(t, "serve", pub, append([]string{"--read-only", "--clickhouse", dsns}, extra...)...)
	for _, path := range []string{
		"/organisations/RR8?format=json",
		"/organisations/A81001?format=csv",
		"/indicators/shmi?format=json",
		"/indicators/cancer-62-day?format=json",
		"/compare?org=RR8&org=RX1&format=json",
		"/api/v1/datasets/shmi/releases/10/rows/shmi-2014-01.csv",
		"/api/v1/datasets/shmi/releases/10/rows/shmi-2014-01.csv?limit=5&after=10",
		"/audits/synthetic-surgical-outcomes/outcomes.csv",
		"/api/v1/organisations/RR8",
	} {
		want := embedded.mustGet(t, path)
		if got := onClickHouse.mustGet(t, path); got != want {
			t.Errorf("%s differs on ClickHouse:\n%.400s\nembedded:\n%.400s", path, got, want)
		}
		if got := readNode.mustGet(t, path); got != want {
			t.Errorf("%s differs on a read node reading ClickHouse:\n%.400s\nembedded:\n%.400s", path, got, want)
		}
	}

	// The figures came from ClickHouse: the data folder's database holds
	// none of them.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(onClickHouse.dataDir, databaseFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"observations", "audit_outcomes", "row_blocks", "dataset_rows"} {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != 0 {
			t.Errorf("the data folder's %s holds %d rows with --clickhouse", table, n)
		}
	}
	conn, err := clickhousedb.Open(context.Background(), strings.Split(dsns, ",")[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	suffix := ""
	if len(extra) > 0 {
		suffix = "_all"
	}
	for _, table := range []string{"observations", "audit_outcomes", "dataset_rows"} {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table+suffix).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n == 0 {
			t.Errorf("ClickHouse's %s is empty", table+suffix)
		}
	}
}

// startClickHouse starts a ClickHouse server of the test's own (the
// test's ClickHouse tests need one anyway) with .ci/clickhouse, on free
// loopback ports with its data in dir, and returns its TCP port and a
// function that stops it (waiting until it has gone).
func startClickHouse(t *testing.T, dir string, tcp, http int) func() {
	t.Helper()
	_, stop := startClickHouseProcess(t, dir, tcp, http)
	return stop
}

// startClickHouseProcess is startClickHouse, returning the server's
// process id too.
func startClickHouseProcess(t *testing.T, dir string, tcp, http int) (int, func()) {
	t.Helper()
	out, err := exec.Command("../../.ci/clickhouse", dir, strconv.Itoa(tcp), strconv.Itoa(http)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("start clickhouse-server: %v\n%s", err, stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("start clickhouse-server: printed %q", out)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 300 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
	t.Cleanup(stop)
	return pid, stop
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// With ClickHouse stopped, pages and API answers that need it say so with
// 503 and Retry-After (never a 500, never a page without its figures),
// pages that do not need it carry on, and once it is back everything
// answers again without a restart.
func TestClickHouseStoppedAndBack(t *testing.T) {
	clickhousetest.DSN(t) // skips (or fails in CI) without ClickHouse
	dir, tcp, httpPort := t.TempDir(), freePort(t), freePort(t)
	stop := startClickHouse(t, dir, tcp, httpPort)
	s := startCandour(t, "demo", t.TempDir(), "--page-cache=false", "--api-rate", "0",
		"--clickhouse", fmt.Sprintf("clickhouse://127.0.0.1:%d/candour", tcp))
	const page, api = "/organisations/RR8", "/api/v1/indicators/shmi/observations"
	before := s.mustGet(t, page)

	stop()
	for _, path := range []string{page, "/indicators/shmi", api} {
		status, body, h := s.get(t, path)
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("GET %s with ClickHouse stopped: %d (Retry-After %q), want 503 with Retry-After\n%.300s", path, status, h.Get("Retry-After"), body)
		}
		if path == api && !strings.Contains(body, `"code":"unavailable"`) {
			t.Errorf("GET %s with ClickHouse stopped: %s, want the error code unavailable", path, body)
		}
		if path == page && !strings.Contains(body, "not answering") {
			t.Errorf("GET %s with ClickHouse stopped says nothing of why:\n%.500s", path, body)
		}
	}
	if status, _, _ := s.get(t, "/datasets"); status != http.StatusOK {
		t.Errorf("GET /datasets (no ClickHouse needed) with ClickHouse stopped: %d, want 200", status)
	}

	startClickHouse(t, dir, tcp, httpPort)
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, body, _ := s.get(t, page)
		if status == http.StatusOK {
			if body != before {
				t.Errorf("GET %s after ClickHouse came back differs from before it stopped", page)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s a minute after ClickHouse came back: %d", page, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// migrate-to-clickhouse copies an embedded deployment's rows, observations
// and outcomes, verifying each release; run again it skips what is there
// and redoes what is not (a run cut off part-way resumes); served with
// --clickhouse afterwards, the site shows what it showed before.
func TestMigrateToClickHouse(t *testing.T) {
	dsn := clickhouseDatabase(t, clickhousetest.DSN(t))
	dataDir := t.TempDir()
	before := startCandour(t, "demo", dataDir)
	paths := []string{"/organisations/RR8?format=json", "/indicators/shmi?format=json",
		"/api/v1/datasets/shmi/releases/10/rows/shmi-2014-01.csv", "/audits/synthetic-surgical-outcomes/outcomes.csv"}
	want := map[string]string{}
	for _, p := range paths {
		want[p] = before.mustGet(t, p)
	}
	before.stop()

	migrate := func(t *testing.T) string {
		t.Helper()
		var out, errOut strings.Builder
		if err := run(context.Background(), []string{"migrate-to-clickhouse", "--data-dir", dataDir, "--clickhouse", dsn, "--log-level", "warn"}, noEnv, &out, &errOut); err != nil {
			t.Fatalf("migrate-to-clickhouse: %v\n%s\n%s", err, out.String(), errOut.String())
		}
		return out.String()
	}
	first := migrate(t)
	copied := strings.Count(first, "copied and verified")
	if copied == 0 || strings.Contains(first, "already on ClickHouse") {
		t.Fatalf("the first run copied %d releases:\n%s", copied, first)
	}
	if again := migrate(t); strings.Count(again, "already on ClickHouse") != copied || strings.Contains(again, "copied and verified") {
		t.Errorf("a second run should find every release there:\n%s", again)
	}
	// Part of one release gone (as if a run had been cut off while
	// writing it): the next run copies that release alone.
	conn, err := clickhousedb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	var release uint64
	if err := conn.QueryRow(context.Background(), "SELECT release_id FROM observations LIMIT 1").Scan(&release); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(context.Background(), fmt.Sprintf("ALTER TABLE observations DROP PARTITION %d", release)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	resumed := migrate(t)
	var redone []string
	for _, line := range strings.Split(resumed, "\n") {
		if strings.Contains(line, "copied and verified") {
			redone = append(redone, line)
		}
	}
	if len(redone) != 1 || !strings.Contains(redone[0], fmt.Sprintf(" release %d (", release)) {
		t.Errorf("after release %d lost its observations, the run should copy it alone; it copied %q", release, redone)
	}

	after := startCandour(t, "serve", dataDir, "--clickhouse", dsn)
	for _, p := range paths {
		if got := after.mustGet(t, p); got != want[p] {
			t.Errorf("%s differs after migrating to ClickHouse:\n%.300s\nbefore:\n%.300s", p, got, want[p])
		}
	}
	after.stop()

	// The folder records that its figures are on ClickHouse. Its database
	// still holds them as of the migration, so served or backed up without
	// --clickhouse it would pass those copies off as current: both are
	// refused, naming the flag, and the backup leaves nothing behind.
	backupDir := filepath.Join(t.TempDir(), "backup")
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir},
		{"backup", "--data-dir", dataDir, backupDir},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var out strings.Builder
		err := run(ctx, append(args, "--log-level", "warn"), noEnv, &out, &out)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "give --clickhouse") || !strings.Contains(err.Error(), clickHouseMarkerFile) {
			t.Errorf("candour %s on a folder moved to ClickHouse, without --clickhouse: %v\n%s", args[0], err, out.String())
		}
	}
	if _, err := os.Stat(backupDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused backup left %s: %v", backupDir, err)
	}
}

// A ClickHouse server killed while a submission's rows are being inserted
// leaves the published state as it was: the submission is refused with a
// 503 saying why (never a 500, never a release), the earlier release keeps
// its rows, and once the server is back the same submission succeeds and
// publishes every row once, none twice.
func TestClickHouseKilledMidInsert(t *testing.T) {
	clickhousetest.DSN(t) // skips (or fails in CI) without ClickHouse
	dir, tcp, httpPort := t.TempDir(), freePort(t), freePort(t)
	pid, _ := startClickHouseProcess(t, dir, tcp, httpPort)
	dsn := fmt.Sprintf("clickhouse://127.0.0.1:%d/candour", tcp)
	dataDir, tokens := hostileDataDir(t)
	s := startCandour(t, "serve", dataDir, "--clickhouse", dsn, "--page-cache=false", "--api-rate", "0")
	const slug = "killed-mid-insert"
	descriptor := fmt.Sprintf(`{"dataset": {"slug": %q, "title": "Killed mid-insert", "publisher": {"slug": "e2e-hostile", "name": "E2E Hostile"}},
		"release": {"title": "A list", "periodLabel": "2026"}, "resources": [{"name": "list", "path": "list.csv", "schema": {"fields": [{"name": "code", "candour:role": "key"}, {"name": "name"}]}}]}`, slug)
	if status, body, err := sendGeneratedUpload(s, tokens["hana"], descriptor, 64<<10, false, make(chan struct{})); err != nil || status != http.StatusCreated {
		t.Fatalf("the first release: %d %v %.300s", status, err, body)
	}
	publishThroughWorkflow(t, s, map[string]int{slug: 1})
	firstRows := "/api/v1/datasets/" + slug + "/releases/1/rows/list.csv"
	before := s.mustGet(t, firstRows)

	// The second release is large enough that its rows take a while to
	// insert; the server is killed as soon as an insert is running.
	const secondBytes = 24 << 20
	answered := make(chan uploadAnswer, 1)
	go func() {
		status, body, err := sendGeneratedUpload(s, tokens["hana"], descriptor, secondBytes, false, make(chan struct{}))
		answered <- uploadAnswer{status, body, err}
	}()
	got, killed := killDuringInsert(t, dsn, pid, answered)
	if !killed {
		t.Fatalf("the second release was answered (%d %.300s) before any insert into ClickHouse was seen running", got.status, got.body)
	}
	if got.err != nil || got.status != http.StatusServiceUnavailable {
		t.Errorf("the submission whose insert was cut off: %d %v %.500s, want 503", got.status, got.err, got.body)
	}
	if status, _, _ := s.get(t, "/datasets/"+slug+"/releases/2"); status != http.StatusNotFound {
		t.Errorf("GET the cut-off release's page: %d, want 404", status)
	}

	startClickHouseProcess(t, dir, tcp, httpPort)
	waitFor(t, time.Minute, func() bool { status, _, _ := s.get(t, firstRows); return status == http.StatusOK })
	if after := s.mustGet(t, firstRows); after != before {
		t.Errorf("the first release's rows changed after the cut-off submission:\n%.300s\nbefore:\n%.300s", after, before)
	}
	status, body, err := sendGeneratedUpload(s, tokens["hana"], descriptor, secondBytes, false, make(chan struct{}))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("the submission again, with ClickHouse back: %d %v %.500s", status, err, body)
	}
	var created struct{ Version int }
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.Version != 2 {
		t.Errorf("the submission again was stored as version %d (%v), want 2: the cut-off one must leave no version behind", created.Version, err)
	}
	publishThroughWorkflow(t, s, map[string]int{slug: 2})
	csv := s.mustGet(t, "/datasets/"+slug+"/releases/2/rows/list.csv") // every row, streamed from ClickHouse
	lines := strings.Split(strings.TrimSuffix(csv, "\r\n"), "\r\n")[1:]
	seen := make(map[string]bool, len(lines))
	for _, line := range lines {
		if seen[line] {
			t.Fatalf("row %q is published twice", line)
		}
		seen[line] = true
	}
	if want, _ := writeGeneratedRows(io.Discard, secondBytes, false); len(lines) != want {
		t.Errorf("the second release publishes %d rows, want %d", len(lines), want)
	}
}

// uploadAnswer is what a submission was answered.
type uploadAnswer struct {
	status int
	body   string
	err    error
}

// killDuringInsert kills the ClickHouse server pid with SIGKILL as soon as
// it is running an INSERT, then waits for the submission's answer; it
// reports whether it killed the server before the submission was
// answered.
func killDuringInsert(t *testing.T, dsn string, pid int, answered chan uploadAnswer) (uploadAnswer, bool) {
	t.Helper()
	conn, err := clickhousedb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for {
		select {
		case a := <-answered:
			return a, false
		default:
		}
		var inserts uint64
		err := conn.QueryRow(context.Background(), "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO%'").Scan(&inserts)
		if err != nil {
			t.Fatalf("watching ClickHouse's inserts: %v", err)
		}
		if inserts > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
			for syscall.Kill(pid, 0) == nil {
				time.Sleep(10 * time.Millisecond)
			}
			return <-answered, true
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor calls ok until it reports true, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after %s", limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A backup of a deployment on ClickHouse holds its figures: candour
// backup --clickhouse copies the rows, observations and outcomes of every
// release into the backup's candour.db, verified, while the server serves;
// the backup restores into an empty folder that serves, with no ClickHouse
// at all, the pages the deployment served, byte for byte.
func TestBackupOfClickHouseDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo; skipped with -short")
	}
	dsn := clickhouseDatabase(t, clickhousetest.DSN(t))
	root := t.TempDir()
	dataDir := filepath.Join(root, "candour-data")
	s := startCandour(t, "demo", dataDir, "--clickhouse", dsn)
	paths := []string{"/organisations/RR8?format=json", "/indicators/shmi?format=json", "/compare?org=RR8&org=RX1&format=json",
		"/api/v1/datasets/shmi/releases/10/rows/shmi-2014-01.csv", "/audits/synthetic-surgical-outcomes/outcomes.csv"}
	want := map[string]string{}
	for _, p := range paths {
		want[p] = s.mustGet(t, p)
	}

	// Forgetting --clickhouse is refused, not a backup without the figures.
	backupDir := filepath.Join(root, "backup")
	if out, err := runCandour("backup", "--data-dir", dataDir, backupDir); err == nil || !strings.Contains(err.Error(), "give --clickhouse") {
		t.Errorf("a backup of a deployment on ClickHouse without --clickhouse: %v\n%s", err, out)
	}
	if _, err := os.Stat(backupDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused backup left %s: %v", backupDir, err)
	}
	out, err := runCandour("backup", "--data-dir", dataDir, "--clickhouse", dsn, backupDir)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.Contains(out, "copied from ClickHouse and verified") || !strings.Contains(out, "From ClickHouse, into candour.db:") {
		t.Errorf("the backup does not say it copied from ClickHouse:\n%s", out)
	}
	idx, err := readBackupIndex(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	if c := idx.ClickHouse; c == nil || c.Releases == 0 || c.Observations == 0 || c.Outcomes == 0 || c.Rows == 0 {
		t.Fatalf("backup.json's clickhouse: %+v", idx.ClickHouse)
	}
	// The folder's record that it is on ClickHouse stays out: the backup
	// restores as an embedded deployment.
	if _, err := os.Stat(filepath.Join(dataDir, clickHouseMarkerFile)); err != nil {
		t.Errorf("the deployment served with --clickhouse has no %s: %v", clickHouseMarkerFile, err)
	}
	if !slices.ContainsFunc(idx.Excluded, func(e backupExcept) bool { return e.Path == clickHouseMarkerFile }) {
		t.Errorf("backup.json does not list %s as left out: %+v", clickHouseMarkerFile, idx.Excluded)
	}
	s.stop()

	restored := filepath.Join(root, "restored")
	if err := os.Mkdir(restored, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := runCandour("restore", backupDir, "--data-dir", restored); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	embedded := startCandour(t, "serve", restored)
	for _, p := range paths {
		if got := embedded.mustGet(t, p); got != want[p] {
			t.Errorf("%s differs, restored without ClickHouse:\n%.300s\non ClickHouse:\n%.300s", p, got, want[p])
		}
	}
}
