// Command candour-bench measures how fast Candour serves a provider
// scorecard and an indicator page filtered to a region over a large store
// of observations, side by side with nginx serving the same page saved as
// a static file, all driven by wrk on loopback. For each it prints the
// requests-per-second ratio to nginx and Candour's 99th-percentile
// latency, with the page cache on (that one page) and off (spread over
// 1,000 organisations' scorecards, or every indicator in every region),
// against the targets: with the cache ≥ 0.5× for the scorecard; without
// it ≥ 0.3× for the scorecard and ≥ 0.2× for the indicator page. Without
// the cache, Candour serves the long tail from its materialised pages
// (site/materialise.go), measured once the server has built them; the
// same requests are also measured with nothing materialised (every page
// rendered per request), printed beside them. The uncached pages are
// measured on the embedded store and with the observations on a
// ClickHouse server of the benchmark's own (the data folder's copied
// there by candour migrate-to-clickhouse), when clickhouse-server is
// installed. Every measurement runs --runs times
// (default 3) and every run is printed; a target is met only if every run
// meets it (pages.go). Each server is measured after it has written the
// public snapshot it writes at start-up, which would otherwise compete
// with it.
//
// The store is generated: organisations × indicators × periods synthetic
// observations (default 7,000 × 150 × 10, 10.5 million) in releases that
// are written straight into the catalogue as published. It is benchmark
// data, never a deployment: nothing here goes through the publishing
// workflow, and the data folder is a temporary one unless --data-dir
// names one to keep, which later runs with the same sizes then use as
// it is (the regions and integrated care boards included).
//
// `candour-bench search` is the search benchmark instead (search.go),
// `candour-bench export` the downloads benchmark (export.go),
// `candour-bench disclosure` the disclosure-control benchmark (disclosure.go),
// `candour-bench load` the load test (load.go),
// and `candour-bench upload` the large-upload memory benchmark (upload.go).
//
// Usage (see `make bench`, which installs nginx and wrk if missing):
//
//	candour-bench --candour bin/candour [--orgs 7000 --indicators 150 --periods 10 --duration 10s]
package main

import (
	"github.com/candour/candour/cmd/internal/gctune"

	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationsqlite"
)

func main() {
	// What this process measures itself (disclosure control, the
	// ClickHouse ingest) runs under the collector settings candour runs it
	// with.
	gctune.Tune(os.Getenv)
	if len(os.Args) > 1 && os.Args[1] == "export" {
		if err := runExportBench(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "search" {
		if err := runSearchBench(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "load" {
		if err := runLoadBench(os.Args[2:]); err != nil {
			if errors.Is(err, errLoadChecks) {
				os.Exit(1) // the summary has said which check failed
			}
			log.Fatal(err)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "upload" {
		if err := runUploadBench(os.Args[2:]); err != nil {
			if errors.Is(err, errUploadStatus) {
				os.Exit(1) // the summary has given the status and the answer
			}
			log.Fatal(err)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "clickhouse" {
		if err := runClickHouseBench(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "disclosure" {
		if err := runDisclosureBench(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	candour := flag.String("candour", "bin/candour", "the candour binary to benchmark")
	orgs := flag.Int("orgs", 7000, "organisations")
	inds := flag.Int("indicators", 150, "indicators per organisation")
	periods := flag.Int("periods", 10, "periods (one release each)")
	duration := flag.Duration("duration", 10*time.Second, "how long each wrk run lasts")
	conns := flag.Int("connections", 50, "wrk connections")
	runs := flag.Int("runs", 3, "runs of every measurement, each printed")
	keep := flag.String("data-dir", "", "data folder to build, kept for later runs with the same sizes, which use it as it is (default: a temporary one, removed afterwards)")
	flag.Parse()
	if err := run(*candour, *orgs, *inds, *periods, *duration, *conns, *keep, *runs); err != nil {
		log.Fatal(err)
	}
}

// cpuProfile names the file the server writes a CPU profile of its
// uncached runs into (--cpu-profile), "" for none.
var cpuProfile = flag.String("cpu-profile", "", "write a CPU profile of Candour serving without its page cache into this file")

func run(candour string, orgs, inds, periods int, duration time.Duration, conns int, dataDir string, runs int) error {
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (make bench installs it with apt-get)", tool)
		}
	}
	work, err := os.MkdirTemp("", "candour-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if dataDir == "" {
		dataDir = filepath.Join(work, "candour-data")
	}
	start := time.Now()
	n, fresh, err := generateOnce(dataDir, orgs, inds, periods)
	if err != nil {
		return err
	}
	if fresh {
		fmt.Printf("generated %d observations (%d organisations × %d indicators × %d periods) in %s\n",
			n, orgs, inds, periods, time.Since(start).Round(time.Second))
	} else {
		fmt.Printf("using the %d observations (%d organisations × %d indicators × %d periods) generated before in %s\n",
			n, orgs, inds, periods, dataDir)
	}

	return benchPages(candour, work, dataDir, n, orgs, inds, duration, conns, runs)
}

func orgCode(i int) string { return fmt.Sprintf("B%05d", i) }

func indicatorID(k int) string { return fmt.Sprintf("bench-%03d", k) }

// benchRegions are NHS England's seven regions; each organisation is in
// one, through one of six integrated care boards per region.
var benchRegions = []string{"Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"}

// icbsPerRegion is how many integrated care boards each region has here.
const icbsPerRegion = 6

func icbCode(j int) string { return fmt.Sprintf("QB%02d", j) }

// benchMarker is the file in a kept data folder that says what was
// generated there, so a later run with the same sizes skips generating.
const benchMarker = "candour-bench.json"

// generatorVersion changes whenever generate writes something different.
const generatorVersion = 2

// generateOnce generates the data folder unless a previous run with the
// same sizes left it there (fresh is false then). A folder that holds
// anything else is refused, never overwritten.
func generateOnce(dir string, orgs, inds, periods int) (n int, fresh bool, err error) {
	want, _ := json.Marshal(map[string]int{"version": generatorVersion, "orgs": orgs, "indicators": inds, "periods": periods})
	if got, err := os.ReadFile(filepath.Join(dir, benchMarker)); err == nil {
		if string(got) == string(want) {
			return orgs * inds * periods, false, nil
		}
		return 0, false, fmt.Errorf("%s holds benchmark data of other sizes or an older generator (%s); remove it or choose another --data-dir", dir, got)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return 0, false, fmt.Errorf("%s is not empty and holds no benchmark data; choose an empty or new --data-dir", dir)
	}
	if n, err = generate(dir, orgs, inds, periods); err != nil {
		return 0, false, err
	}
	return n, true, os.WriteFile(filepath.Join(dir, benchMarker), want, 0o644)
}

// generate builds the data folder: regions, integrated care boards and
// organisations, one dataset with a published release per period,
// indicator definitions and observations.
func generate(dir string, orgs, inds, periods int) (int, error) {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, err
	}
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "candour.db"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: cataloguesqlite.Component, Files: cataloguesqlite.Migrations()},
		observationsqlite.Migrations()); err != nil {
		return 0, err
	}
	now := func() time.Time { return time.Now().UTC() }
	cat := cataloguesqlite.New(db, now)
	obsStore := observationsqlite.New(db)
	var all []catalogue.Organisation
	for r, code := range benchRegions {
		all = append(all, catalogue.Organisation{Code: code, Name: fmt.Sprintf("BENCHMARK REGION %d", r+1),
			Type: catalogue.TypeRegion, Status: catalogue.StatusActive, InDirectory: true, Source: "candour-bench"})
	}
	for j := 0; j < icbsPerRegion*len(benchRegions); j++ {
		all = append(all, catalogue.Organisation{Code: icbCode(j), Name: fmt.Sprintf("BENCHMARK INTEGRATED CARE BOARD %02d", j),
			Type: catalogue.TypeICB, Status: catalogue.StatusActive, RegionCode: benchRegions[j%len(benchRegions)],
			InDirectory: true, Source: "candour-bench"})
	}
	for i := 1; i <= orgs; i++ {
		icb := i % (icbsPerRegion * len(benchRegions))
		all = append(all, catalogue.Organisation{Code: orgCode(i), Name: fmt.Sprintf("BENCHMARK HOSPITAL %05d NHS TRUST", i),
			Type: catalogue.TypeNHSTrust, Status: catalogue.StatusActive, ParentCode: icbCode(icb),
			RegionCode: benchRegions[icb%len(benchRegions)], InDirectory: true, Source: "candour-bench"})
	}
	if err := cat.PutOrganisations(ctx, all); err != nil {
		return 0, err
	}
	pub, err := cat.PutPublisher(ctx, catalogue.Publisher{Slug: "bench", Name: "Benchmark statistics"})
	if err != nil {
		return 0, err
	}
	ds, err := cat.CreateDataset(ctx, catalogue.Dataset{Slug: "bench", Title: "Benchmark indicators", Publisher: pub,
		Licence: catalogue.DefaultLicence, Status: catalogue.DatasetPlanned})
	if err != nil {
		return 0, err
	}
	var defs []indicators.Definition
	for k := 1; k <= inds; k++ {
		target := 75.0
		defs = append(defs, indicators.Definition{ID: indicatorID(k), Title: fmt.Sprintf("Benchmark indicator %03d", k),
			Description: "Synthetic.", File: "bench.csv", Organisation: "Code", Numerator: "x", Denominator: "n",
			Unit: indicators.UnitPercentage, Polarity: indicators.HigherIsBetter, Method: indicators.MethodWilson,
			Benchmark: indicators.Benchmark{Kind: "target", Value: &target, Label: "Target 75%"}, AuthoredBy: "bench", CheckedBy: "bench",
			Headline: k <= 4})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	total := 0
	for p := 0; p < periods; p++ {
		start := catalogue.NewDate(2016+p, 4, 1)
		r, err := cat.CreateRelease(ctx, catalogue.Release{DatasetID: ds.ID, Title: fmt.Sprintf("Benchmark %d", 2016+p),
			PeriodLabel: fmt.Sprintf("%d/%02d", 2016+p, (2017+p)%100), PeriodStart: start}, nil, nil)
		if err != nil {
			return 0, err
		}
		for _, to := range []catalogue.ReleaseState{catalogue.StateChecked, catalogue.StateInReview, catalogue.StateApproved, catalogue.StateScheduled, catalogue.StatePublished} {
			t := catalogue.Transition{Release: r.ID, From: r.State, To: to, At: now(), Actor: "candour-bench", EmbargoAt: now()}
			if r, err = cat.TransitionRelease(ctx, t); err != nil {
				return 0, err
			}
		}
		if p == periods-1 {
			if err := obsStore.WriteDefinitions(ctx, r.ID, defs); err != nil {
				return 0, err
			}
		}
		obs := make([]indicators.Observation, 0, orgs*inds)
		for i := 1; i <= orgs; i++ {
			for _, d := range defs {
				n := float64(50 + rng.IntN(2000))
				x := math.Round(n * (0.6 + 0.35*rng.Float64()))
				v, lo, hi := x/n*100, (x/n-0.02)*100, (x/n+0.02)*100
				cmp := indicators.Similar
				if lo > 75 {
					cmp = indicators.Better
				} else if hi < 75 {
					cmp = indicators.Worse
				}
				obs = append(obs, indicators.Observation{Indicator: d.ID, Organisation: orgCode(i), Period: r.PeriodLabel,
					PeriodStart: start.String(), Numerator: &x, Denominator: &n, Value: &v, Lower95: &lo, Upper95: &hi,
					Benchmark: d.Benchmark.Value, Comparison: cmp})
			}
		}
		if err := obsStore.WriteObservations(ctx, r.ID, indicators.ObservationsOf(obs)); err != nil {
			return 0, err
		}
		var sums []indicators.Summary
		for _, d := range defs {
			sums = append(sums, indicators.Summary{Indicator: d.ID, Period: r.PeriodLabel, PeriodStart: start.String(), Organisations: orgs})
		}
		if err := obsStore.WriteSummaries(ctx, r.ID, sums); err != nil {
			return 0, err
		}
		total += len(obs)
		fmt.Printf("  period %d of %d: %d observations\n", p+1, periods, total)
	}
	_, err = db.ExecContext(ctx, "ANALYZE")
	return total, err
}

var _ = sql.ErrNoRows

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startCandour runs `candour serve` on a free loopback port and waits
// until it answers.
func startCandour(bin, dataDir string, cache bool, extra ...string) (func(), string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !slices.Contains(extra, "--clickhouse") {
		// The benchmark serves one folder both embedded and, after
		// copying its observations there, on ClickHouse; the folder then
		// records that it is on ClickHouse and refuses to be served
		// without it, as a deployment must. Here the embedded copy is
		// still whole, so the record goes.
		if err := os.Remove(filepath.Join(dataDir, "clickhouse.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	before := currentSnapshot(dataDir)
	// Pages are materialised only where a measurement asks for it
	// (--materialise-pages=true in extra): the others measure the page
	// cache or the live path alone.
	materialise := slices.Contains(extra, "--materialise-pages=true")
	if !materialise {
		extra = append(extra, "--materialise-pages=false")
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--log-level", "error",
		"--page-cache=" + strconv.FormatBool(cache)}, extra...)...)
	if !cache && *cpuProfile != "" {
		cmd.Env = append(os.Environ(), "CANDOUR_CPU_PROFILE="+*cpuProfile)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	base := "http://" + addr
	// Ten minutes: a kept data folder from an older Candour is migrated
	// before the server listens (packing 10.5 million observations'
	// points takes a few minutes).
	for i := 0; i < 6000; i++ {
		if _, err := fetch(base + "/healthz"); err == nil {
			waitForSnapshot(dataDir, before, 3*time.Minute)
			if materialise {
				waitForMaterialised(base, 30*time.Minute)
			}
			return stop, base, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, "", errors.New("candour did not start")
}

// currentSnapshot is the public snapshot generation the data folder's
// public/CURRENT names, "" when none.
func currentSnapshot(dataDir string) string {
	b, _ := os.ReadFile(filepath.Join(dataDir, "public", "CURRENT"))
	return strings.TrimSpace(string(b))
}

// waitForSnapshot waits until the server has written the public snapshot
// it writes at start-up (a copy, prune and hash of the whole database,
// about 20 s of work on the 10.5 million observations), so that it is
// not measured competing with it.
func waitForSnapshot(dataDir, before string, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if gen := currentSnapshot(dataDir); gen != "" && gen != before {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "candour-bench: no new public snapshot in %s within %s; measuring anyway\n", dataDir, limit)
}

// waitForMaterialised waits until the server has materialised its pages
// (site/materialise.go), so that what is measured is serving them, not
// building them, and says how long the build took.
func waitForMaterialised(base string, limit time.Duration) {
	start := time.Now()
	pages := regexp.MustCompile(`(?m)^candour_materialised_pages (\S+)$`)
	building := regexp.MustCompile(`(?m)^candour_materialised_building (\S+)$`)
	for deadline := start.Add(limit); time.Now().Before(deadline); time.Sleep(time.Second) {
		m, err := fetch(base + "/metrics")
		if err != nil {
			continue
		}
		n, b := pages.FindStringSubmatch(m), building.FindStringSubmatch(m)
		if n != nil && b != nil && n[1] != "0" && b[1] == "0" {
			fmt.Printf("(the server materialised %s pages in %s after start-up)\n", n[1], time.Since(start).Round(time.Second))
			return
		}
	}
	fmt.Fprintf(os.Stderr, "candour-bench: pages not materialised within %s; measuring anyway\n", limit)
}

func fetch(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// startNginx serves pages as static files on a free loopback port: the
// first as index.html, and each as pageN.html (N from 0).
func startNginx(work string, pages ...string) (string, func(), error) {
	return startNginxOn(nil, work, pages...)
}

// startNginxOn is startNginx run through prefix (a placement's server
// command, or nil).
func startNginxOn(prefix []string, work string, pages ...string) (string, func(), error) {
	root := filepath.Join(work, "www")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, err
	}
	for i, page := range pages {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("page%d.html", i)), []byte(page), 0o644); err != nil {
			return "", nil, err
		}
		if i == 0 {
			if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(page), 0o644); err != nil {
				return "", nil, err
			}
		}
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	// nginx's temporary files get a folder of their own: its master
	// process hands that folder to the worker user, and doing it to work
	// locked PostgreSQL (the export benchmark's other server) out of its
	// data folder, so pg_ctl could not stop it. The workers still need
	// to pass through work to reach root.
	temp := filepath.Join(work, "nginx-temp")
	if err := os.MkdirAll(temp, 0o700); err != nil {
		return "", nil, err
	}
	if err := os.Chmod(work, 0o755); err != nil {
		return "", nil, err
	}
	conf := filepath.Join(work, "nginx.conf")
	pid := filepath.Join(work, "nginx.pid")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`worker_processes 2;
pid %s;
error_log %s/nginx-error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  client_body_temp_path %[2]s; proxy_temp_path %[2]s; fastcgi_temp_path %[2]s; uwsgi_temp_path %[2]s; scgi_temp_path %[2]s;
  server {
    listen 127.0.0.1:%d;
    root %s;
    location / { default_type text/html; }
  }
}
`, pid, temp, port, root)), 0o644); err != nil {
		return "", nil, err
	}
	cmd := commandOn(prefix, "nginx", "-c", conf, "-p", work)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	for i := 0; i < 100; i++ {
		if _, err := fetch(base + "/index.html"); err == nil {
			return base, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("nginx did not start")
}

// result is a wrk run: requests per second answered with a success
// (wrk's own figure counts refusals too), the 99th-percentile latency and
// how many answers were not successes (503s when the server sheds load).
type result struct {
	rps    float64
	p99    string
	failed int
}

var (
	rpsLine    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Line    = regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`)
	totalLine  = regexp.MustCompile(`(\d+) requests in ([0-9.]+)(ms|s|m)`)
	failedLine = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// wrk runs wrk against url (with a Lua script when given) and reads its
// requests per second and 99th-percentile latency.
func wrk(url string, d time.Duration, conns int, script string) (result, error) {
	args := []string{"-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	var r result
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	text := ""
	for sc.Scan() {
		text += sc.Text() + "\n"
	}
	if m := rpsLine.FindStringSubmatch(text); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := p99Line.FindStringSubmatch(text); m != nil {
		r.p99 = m[1]
	}
	if r.rps == 0 {
		return r, fmt.Errorf("could not read wrk's output:\n%s", text)
	}
	if m := failedLine.FindStringSubmatch(text); m != nil {
		r.failed, _ = strconv.Atoi(m[1])
		t := totalLine.FindStringSubmatch(text)
		if t == nil {
			return r, fmt.Errorf("could not read wrk's output:\n%s", text)
		}
		n, _ := strconv.Atoi(t[1])
		secs, _ := strconv.ParseFloat(t[2], 64)
		switch t[3] {
		case "ms":
			secs /= 1000
		case "m":
			secs *= 60
		}
		r.rps = float64(n-r.failed) / secs
	}
	return r, nil
}
