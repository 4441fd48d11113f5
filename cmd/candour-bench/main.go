// Command candour-bench measures how fast Candour serves a provider
// scorecard over a large store of observations, side by side with nginx
// serving the same page saved as a static file, both driven by wrk on
// loopback. It prints the requests-per-second ratio (target ≥ 0.5×) and
// Candour's 99th-percentile latency, for the page cache on (one page) and
// off (spread over 1,000 organisations' scorecards).
//
// The store is generated: organisations × indicators × periods synthetic
// observations (default 7,000 × 150 × 10, 10.5 million) in releases that
// are written straight into the catalogue as published. It is benchmark
// data, never a deployment: nothing here goes through the publishing
// workflow, and the data folder is a temporary one.
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
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	keep := flag.String("data-dir", "", "data folder to build (default: a temporary one, removed afterwards)")
	flag.Parse()
	if err := run(*candour, *orgs, *inds, *periods, *duration, *conns, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(candour string, orgs, inds, periods int, duration time.Duration, conns int, dataDir string) error {
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
	n, err := generate(dataDir, orgs, inds, periods)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d observations (%d organisations × %d indicators × %d periods) in %s\n",
		n, orgs, inds, periods, time.Since(start).Round(time.Second))

	page := "/organisations/" + orgCode(1)
	stop, base, err := startCandour(candour, dataDir, true)
	if err != nil {
		return err
	}
	body, err := fetch(base + page)
	if err != nil {
		stop()
		return err
	}
	if !strings.Contains(body, "How it compares") {
		stop()
		return errors.New("the scorecard page has no scorecard")
	}
	nginxBase, stopNginx, err := startNginx(work, body)
	if err != nil {
		stop()
		return err
	}
	defer stopNginx()

	static, err := wrk(nginxBase+"/index.html", duration, conns, "")
	if err != nil {
		stop()
		return err
	}
	cached, err := wrk(base+page, duration, conns, "")
	stop()
	if err != nil {
		return err
	}
	stop, base, err = startCandour(candour, dataDir, false)
	if err != nil {
		return err
	}
	script := filepath.Join(work, "spread.lua")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(`request = function()
  return wrk.format(nil, string.format("/organisations/B%%05d", math.random(1, %d)))
end
`, min(1000, orgs))), 0o644); err != nil {
		stop()
		return err
	}
	uncached, err := wrk(base, duration, conns, script)
	stop()
	if err != nil {
		return err
	}
	fmt.Printf("\nscorecard page, %d observations in the store, wrk -t2 -c%d -d%s on loopback\n", n, conns, duration)
	fmt.Printf("%-46s %12s %10s %10s\n", "", "requests/s", "p99", "ratio")
	fmt.Printf("%-46s %12.0f %10s %10s\n", "nginx, the page as a static file", static.rps, static.p99, "1.00")
	fmt.Printf("%-46s %12.0f %10s %9.2fx\n", "Candour, page cache on (one scorecard)", cached.rps, cached.p99, cached.rps/static.rps)
	fmt.Printf("%-46s %12.0f %10s %9.2fx\n", "Candour, page cache off (1,000 scorecards)", uncached.rps, uncached.p99, uncached.rps/static.rps)
	verdict := "meets"
	if cached.rps/static.rps < 0.5 {
		verdict = "MISSES"
	}
	fmt.Printf("target ≥ 0.5× nginx with the cache: %s\n", verdict)
	return nil
}

func orgCode(i int) string { return fmt.Sprintf("B%05d", i) }

// generate builds the data folder: organisations, one dataset with a
// published release per period, indicator definitions and observations.
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
	for i := 1; i <= orgs; i++ {
		all = append(all, catalogue.Organisation{Code: orgCode(i), Name: fmt.Sprintf("BENCHMARK HOSPITAL %05d NHS TRUST", i),
			Type: catalogue.TypeNHSTrust, Status: catalogue.StatusActive, InDirectory: true, Source: "candour-bench"})
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
		defs = append(defs, indicators.Definition{ID: fmt.Sprintf("bench-%03d", k), Title: fmt.Sprintf("Benchmark indicator %03d", k),
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
		if err := obsStore.WriteObservations(ctx, r.ID, obs); err != nil {
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
func startCandour(bin, dataDir string, cache bool) (func(), string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", dataDir, "--log-level", "error",
		"--page-cache="+strconv.FormatBool(cache))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	base := "http://" + addr
	for i := 0; i < 300; i++ {
		if _, err := fetch(base + "/healthz"); err == nil {
			return stop, base, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, "", errors.New("candour did not start")
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

// startNginx serves page as a static file on a free loopback port.
func startNginx(work, page string) (string, func(), error) {
	root := filepath.Join(work, "www")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(page), 0o644); err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
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
`, pid, work, port, root)), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("nginx", "-c", conf, "-p", work)
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

type result struct {
	rps float64
	p99 string
}

var (
	rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Line = regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`)
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
	if strings.Contains(text, "Non-2xx") {
		return r, fmt.Errorf("some responses were errors:\n%s", text)
	}
	return r, nil
}
