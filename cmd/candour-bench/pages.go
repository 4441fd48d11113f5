package main

// The page benchmark's measurements (see the command's doc): two pages,
// a scorecard and an indicator page filtered to a region, each served by
// nginx as a static file, by Candour with its page cache on (that one
// page), and by Candour with it off spread over many pages of the kind:
// from the materialised pages, rendered per request, and from the
// materialised pages with the observations on ClickHouse. Every measurement runs --runs
// times, each run printed with its ratio to nginx's rate in the same run.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pageKind is one page of the benchmark and how to spread requests over
// its kind.
type pageKind struct {
	name, first, check string
	spread, spreadOver string // a wrk Lua expression giving a request, and what it spreads over
}

func pageKinds(orgs, inds int) []pageKind {
	return []pageKind{
		{name: "scorecard", first: "/organisations/" + orgCode(1), check: "How it compares", spreadOver: fmt.Sprintf("%d scorecards", min(1000, orgs)),
			spread: fmt.Sprintf(`return wrk.format(nil, string.format("/organisations/B%%05d", math.random(1, %d)))`, min(1000, orgs))},
		{name: "indicator page, region filter", first: "/indicators/" + indicatorID(1) + "?region=" + benchRegions[0], check: "organisations have a value",
			spreadOver: fmt.Sprintf("%d indicators × %d regions", inds, len(benchRegions)),
			spread: fmt.Sprintf(`local regions = {"%s"}
  return wrk.format(nil, string.format("/indicators/bench-%%03d?region=%%s", math.random(1, %d), regions[math.random(1, #regions)]))`,
				strings.Join(benchRegions, `", "`), inds)},
	}
}

// pageRun is one run's measurements, by page kind.
type pageRun struct {
	static, cached, uncached, live, onClickHouse []result
}

// Targets of the page benchmark: Candour's rate over nginx's.
const (
	scorecardCachedTarget   = 0.5
	scorecardUncachedTarget = 0.3
	indicatorUncachedTarget = 0.2
)

// benchPages measures the pages runs times and prints every run and the
// verdicts.
func benchPages(candour, work, dataDir string, n, orgs, inds int, duration time.Duration, conns, runs int) error {
	kinds := pageKinds(orgs, inds)
	bodies, err := pageBodies(candour, dataDir, kinds)
	if err != nil {
		return err
	}
	nginxBase, stopNginx, err := startNginx(work, bodies...)
	if err != nil {
		return err
	}
	defer stopNginx()
	chDSN, stopCH, err := clickHouseCopy(candour, work, dataDir)
	if err != nil {
		return err
	}
	defer stopCH()
	var all []pageRun
	for i := range runs {
		r, err := measurePages(candour, work, dataDir, nginxBase, chDSN, kinds, duration, conns)
		if err != nil {
			return err
		}
		all = append(all, r)
		printPageRun(i+1, runs, n, kinds, bodies, r, duration, conns, chDSN != "")
	}
	printPageVerdicts(all, chDSN != "")
	return nil
}

// pageBodies fetches each kind's first page from Candour, checking it is
// the page it should be: what nginx serves.
func pageBodies(candour, dataDir string, kinds []pageKind) ([]string, error) {
	stop, base, err := startCandour(candour, dataDir, true)
	if err != nil {
		return nil, err
	}
	defer stop()
	var bodies []string
	for _, k := range kinds {
		body, err := fetch(base + k.first)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(body, k.check) {
			return nil, fmt.Errorf("the %s %s lacks %q", k.name, k.first, k.check)
		}
		bodies = append(bodies, body)
	}
	return bodies, nil
}

// clickHouseCopy starts the benchmark's own ClickHouse server and copies
// the data folder's observations there with candour migrate-to-clickhouse;
// it returns "" (and says why) when clickhouse-server is not installed.
func clickHouseCopy(candour, work, dataDir string) (string, func(), error) {
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		fmt.Println("clickhouse-server is not installed: the pages are not measured on ClickHouse (make bench installs it)")
		return "", func() {}, nil
	}
	ch, err := startBenchClickHouse(filepath.Join(work, "clickhouse"))
	if err != nil {
		return "", nil, err
	}
	dsn := ch.dsn("candour_bench")
	start := time.Now()
	cmd := exec.Command(candour, "migrate-to-clickhouse", "--data-dir", dataDir, "--clickhouse", dsn, "--log-level", "error")
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	if err := cmd.Run(); err != nil {
		ch.stop()
		return "", nil, fmt.Errorf("candour migrate-to-clickhouse: %w", err)
	}
	fmt.Printf("observations copied to ClickHouse %s with candour migrate-to-clickhouse in %s\n", ch.version(), time.Since(start).Round(time.Second))
	settled := time.Now()
	if err := ch.waitForMerges(10 * time.Minute); err != nil {
		ch.stop()
		return "", nil, err
	}
	fmt.Printf("ClickHouse merged the parts the copy wrote in %s (pages are measured on the settled tables, as a server serves them between publications)\n", time.Since(settled).Round(time.Second))
	return dsn, ch.stop, nil
}

// waitForMerges waits until the server runs no merge: after a bulk copy
// it merges the parts written for minutes, using the CPUs the pages
// would be measured on.
func (c *benchClickHouse) waitForMerges(limit time.Duration) error {
	for deadline := time.Now().Add(limit); ; time.Sleep(time.Second) {
		var out strings.Builder
		if _, err := c.client("SELECT count() FROM system.merges", nil, &out); err != nil {
			return err
		}
		if strings.TrimSpace(out.String()) == "0" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ClickHouse still merging after %s", limit)
		}
	}
}

// measurePages runs every measurement once.
func measurePages(candour, work, dataDir, nginxBase, chDSN string, kinds []pageKind, duration time.Duration, conns int) (pageRun, error) {
	r := pageRun{static: make([]result, len(kinds)), cached: make([]result, len(kinds)), uncached: make([]result, len(kinds)),
		live: make([]result, len(kinds)), onClickHouse: make([]result, len(kinds))}
	var err error
	for i := range kinds {
		if r.static[i], err = wrk(fmt.Sprintf("%s/page%d.html", nginxBase, i), duration, conns, ""); err != nil {
			return r, err
		}
	}
	if err := measureCandour(candour, dataDir, true, kinds, duration, conns, r.cached, func(k pageKind, _ int) (string, string) { return k.first, "" }); err != nil {
		return r, err
	}
	spread := func(k pageKind, i int) (string, string) {
		return "", filepath.Join(work, fmt.Sprintf("spread%d.lua", i))
	}
	for i, k := range kinds {
		if err := os.WriteFile(filepath.Join(work, fmt.Sprintf("spread%d.lua", i)), []byte("request = function()\n  "+k.spread+"\nend\n"), 0o644); err != nil {
			return r, err
		}
	}
	if err := measureCandour(candour, dataDir, false, kinds, duration, conns, r.uncached, spread, "--materialise-pages=true"); err != nil {
		return r, err
	}
	if err := measureCandour(candour, dataDir, false, kinds, duration, conns, r.live, spread); err != nil {
		return r, err
	}
	if chDSN != "" {
		if err := measureCandour(candour, dataDir, false, kinds, duration, conns, r.onClickHouse, spread, "--clickhouse", chDSN, "--materialise-pages=true"); err != nil {
			return r, err
		}
	}
	return r, nil
}

// measureCandour starts Candour (with its page cache on or off, and
// extra flags) and runs wrk on each kind at the path or with the script
// target gives, into out.
func measureCandour(candour, dataDir string, cache bool, kinds []pageKind, duration time.Duration, conns int, out []result,
	target func(k pageKind, i int) (path, script string), extra ...string) error {
	stop, base, err := startCandour(candour, dataDir, cache, extra...)
	if err != nil {
		return err
	}
	defer stop()
	for i, k := range kinds {
		path, script := target(k, i)
		if path != "" {
			// Fetched first, so that the measured page is in the cache.
			if _, err := fetch(base + path); err != nil {
				return err
			}
		}
		if out[i], err = wrk(base+path, duration, conns, script); err != nil {
			return err
		}
	}
	return nil
}

func printPageRun(run, runs, n int, kinds []pageKind, bodies []string, r pageRun, duration time.Duration, conns int, onClickHouse bool) {
	fmt.Printf("\nrun %d of %d: %d observations in the store, wrk -t2 -c%d -d%s on loopback\n", run, runs, n, conns, duration)
	fmt.Printf("(requests/s counts successful answers; refused counts the others, 503s when Candour sheds load)\n")
	fmt.Printf("%-62s %7s %11s %10s %8s %8s\n", "", "KB", "requests/s", "p99", "refused", "ratio")
	for i, k := range kinds {
		fmt.Printf("%s\n", k.name)
		line := func(what, kb string, x result) {
			fmt.Printf("  %-60s %7s %11.0f %10s %8d %7.2fx\n", what, kb, x.rps, x.p99, x.failed, x.rps/r.static[i].rps)
		}
		line("nginx, the page as a static file", fmt.Sprintf("%.0f", float64(len(bodies[i]))/1024), r.static[i])
		line("Candour, page cache on (that page)", "", r.cached[i])
		line("Candour, page cache off ("+k.spreadOver+")", "", r.uncached[i])
		line("  the same, nothing materialised: each page rendered", "", r.live[i])
		if onClickHouse {
			line("Candour on ClickHouse, page cache off ("+k.spreadOver+")", "", r.onClickHouse[i])
		}
	}
	ratio := func(x []result, i int) float64 { return x[i].rps / r.static[i].rps }
	fmt.Printf("RATIOS run=%d scorecard_cached=%.2f scorecard_uncached=%.2f indicator_cached=%.2f indicator_uncached=%.2f scorecard_rendered=%.2f indicator_rendered=%.2f",
		run, ratio(r.cached, 0), ratio(r.uncached, 0), ratio(r.cached, 1), ratio(r.uncached, 1), ratio(r.live, 0), ratio(r.live, 1))
	if onClickHouse {
		fmt.Printf(" scorecard_uncached_clickhouse=%.2f indicator_uncached_clickhouse=%.2f", ratio(r.onClickHouse, 0), ratio(r.onClickHouse, 1))
	}
	fmt.Println()
}

// printPageVerdicts says whether every run met each target.
func printPageVerdicts(runs []pageRun, onClickHouse bool) {
	every := func(target float64, of func(r pageRun) float64) string {
		for _, r := range runs {
			if of(r) < target {
				return "MISSES"
			}
		}
		return "meets"
	}
	ratio := func(x []result, s []result, i int) float64 { return x[i].rps / s[i].rps }
	fmt.Printf("\ntargets, in every one of %d runs: scorecard with the cache ≥ %.1f× nginx: %s; without ≥ %.1f×: %s; indicator page without the cache ≥ %.1f×: %s\n",
		len(runs),
		scorecardCachedTarget, every(scorecardCachedTarget, func(r pageRun) float64 { return ratio(r.cached, r.static, 0) }),
		scorecardUncachedTarget, every(scorecardUncachedTarget, func(r pageRun) float64 { return ratio(r.uncached, r.static, 0) }),
		indicatorUncachedTarget, every(indicatorUncachedTarget, func(r pageRun) float64 { return ratio(r.uncached, r.static, 1) }))
	if onClickHouse {
		fmt.Printf("on ClickHouse: scorecard without the cache ≥ %.1f×: %s; indicator page without the cache ≥ %.1f×: %s\n",
			scorecardUncachedTarget, every(scorecardUncachedTarget, func(r pageRun) float64 { return ratio(r.onClickHouse, r.static, 0) }),
			indicatorUncachedTarget, every(indicatorUncachedTarget, func(r pageRun) float64 { return ratio(r.onClickHouse, r.static, 1) }))
	}
}
