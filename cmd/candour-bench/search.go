package main

// The search benchmark (`candour-bench search`, `make bench-search`):
// Candour's search index against PostgreSQL full-text search over the same
// documents, side by side in one run, with the same fixed query mix.
//
// Documents: the demo's GP practices and NHS trusts, imported from its ODS
// files with candour import, and generated publishers, datasets and
// published releases with health-statistics titles and prose, to at least
// 50,000 documents, written into a catalogue (searchcorpus.go); the index
// is the one candour reindex builds from that catalogue, as a server
// does, and PostgreSQL is loaded with that index's documents, so both
// search the same documents. Before timing, the server's answer to every
// query of the mix must have the total the index gives in-process.
//
// Each query does the same work on both sides: the top 20 by relevance,
// the total, and counts for the nine facets over all matches. Candour is
// queried as a client would: over HTTP through GET /api/v1/search
// (snippets off, the page cache off) on a server of that data folder; the
// query is the index's own (codes exact, stemmed titles, prefixes, places
// fuzzily, prose). PostgreSQL's is one statement over a weighted tsvector
// (title and codes A, places B, prose C) with a GIN index, ts_rank, and
// GROUP BY GROUPING SETS for the facets, over a loopback connection. Both
// run with the same number of concurrent workers for the same time, one
// after the other, --runs times (default 3), every run printed; the
// ratio is Candour's queries per second over PostgreSQL's (target: at
// least 1.2 in every run). Candour's index called in-process is printed
// once for reference.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/searchbleve"
)

func runSearchBench(args []string) error {
	fs := flag.NewFlagSet("search", flag.ExitOnError)
	docs := fs.Int("docs", 50000, "documents (at least the demo's organisations)")
	duration := fs.Duration("duration", 10*time.Second, "how long each system is queried")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "concurrent workers")
	data := fs.String("demodata", "cmd/candour/demodata", "folder of the demo's ODS files")
	pgBin := fs.String("pg-bin", "/usr/lib/postgresql/15/bin", "folder of PostgreSQL's initdb and pg_ctl")
	profile := fs.String("cpuprofile", "", "write a CPU profile of Candour's in-process queries to this file")
	candour := fs.String("candour", "bin/candour", "the candour binary, queried over HTTP")
	runs := fs.Int("runs", 3, "runs of the comparison, every one printed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	work, err := os.MkdirTemp("", "candour-searchbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	dataDir := filepath.Join(work, "candour-data")
	start := time.Now()
	releases, err := seedSearchCatalogue(ctx, *candour, *data, dataDir, *docs)
	if err != nil {
		return err
	}
	fmt.Printf("Candour: the demo's practices and trusts and %d published releases in the catalogue in %s\n", releases, time.Since(start).Round(time.Millisecond))
	// The index is the server's own, built from the catalogue by candour
	// reindex; the in-process queries and PostgreSQL read its documents.
	start = time.Now()
	if out, err := exec.Command(*candour, "reindex", "--data-dir", dataDir, "--log-level", "warn").CombinedOutput(); err != nil {
		return fmt.Errorf("candour reindex: %w\n%s", err, out)
	}
	indexDir := filepath.Join(dataDir, "search")
	idx, err := searchbleve.Open(indexDir)
	if err != nil {
		return err
	}
	defer func() { idx.Close() }()
	all, err := idx.Documents(ctx)
	if err != nil {
		return err
	}
	visible, err := publishedReleases(ctx, dataDir)
	if err != nil {
		return err
	}
	fmt.Printf("documents: %d (%d releases)\n", len(all), len(visible))
	fmt.Printf("Candour (bleve v2.6.1): indexed by candour reindex in %s, %s on disk\n", time.Since(start).Round(time.Millisecond), dirSize(indexDir))

	pool, stop, err := startPostgres(ctx, *pgBin, filepath.Join(work, "pg"))
	if err != nil {
		return err
	}
	defer stop()
	start = time.Now()
	if err := loadPostgres(ctx, pool, all); err != nil {
		return err
	}
	fmt.Printf("PostgreSQL: loaded and indexed in %s\n", time.Since(start).Round(time.Millisecond))
	if err := printSettings(ctx, pool); err != nil {
		return err
	}

	mix := queryMix()
	// The same answers, roughly: totals for a few queries on both sides.
	fmt.Println("\nresult counts (Candour / PostgreSQL):")
	for _, q := range mix[:8] {
		c, err := idx.Search(ctx, catalogue.SearchQuery{Text: q.text, Filters: q.filters(), Size: 20, Visible: visible})
		if err != nil {
			return err
		}
		p, err := pgSearch(ctx, pool, q)
		if err != nil {
			return err
		}
		fmt.Printf("  %-28q %7d / %7d\n", q.text, c.Total, p)
	}

	fmt.Printf("\n%d workers, %s each, %d queries in the mix\n", *workers, *duration, len(mix))
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	inProcess := drive(*workers, *duration, len(mix), func(i int) error {
		q := mix[i]
		_, err := idx.Search(ctx, catalogue.SearchQuery{Text: q.text, Filters: q.filters(), Size: 20, Visible: visible})
		return err
	})
	if *profile != "" {
		pprof.StopCPUProfile()
	}
	if inProcess.err != nil {
		return inProcess.err
	}
	fmt.Printf("for reference, Candour's index called in-process: %.0f queries/s, p50 %s, p99 %s\n", inProcess.qps, inProcess.p(50), inProcess.p(99))

	// What the index answers in-process, to check the server answers the
	// same: a faster answer over HTTP must be the same work.
	inProcessTotals := make([]int, len(mix))
	for i, q := range mix {
		res, err := idx.Search(ctx, catalogue.SearchQuery{Text: q.text, Filters: q.filters(), Size: 20, Visible: visible})
		if err != nil {
			return err
		}
		inProcessTotals[i] = res.Total
	}

	// Candour over HTTP, as a client of the search API: the server opens
	// the index the benchmark wrote, with the page cache off.
	idx.Close()
	cmd, base, err := startCandourProcess(*candour, dataDir, "--page-cache=false")
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers, DisableCompression: true}}
	apiSearch := func(i int) error {
		u := searchURL(base, mix[i])
		resp, err := client.Get(u)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %d", u, resp.StatusCode)
		}
		return err
	}
	for i, q := range mix {
		total, err := apiTotal(client, searchURL(base, q))
		if err != nil {
			return err
		}
		if total != inProcessTotals[i] {
			return fmt.Errorf("the server answers %q with %d results, the index in-process with %d: not the same search", q.text, total, inProcessTotals[i])
		}
	}
	fmt.Printf("the server's answers have the in-process totals for all %d queries of the mix\n", len(mix))
	fmt.Printf("\n%4s  %-30s %10s %9s %9s %9s  %s\n", "run", "", "queries/s", "p50", "p95", "p99", "ratio (target ≥ 1.2×)")
	allMet := true
	for run := 1; run <= *runs; run++ {
		cand := drive(*workers, *duration, len(mix), apiSearch)
		pg := drive(*workers, *duration, len(mix), func(i int) error {
			_, err := pgSearch(ctx, pool, mix[i])
			return err
		})
		if cand.err != nil || pg.err != nil {
			return fmt.Errorf("candour: %v; postgresql: %v", cand.err, pg.err)
		}
		ratio := cand.qps / pg.qps
		allMet = allMet && ratio >= 1.2
		fmt.Printf("%4d  %-30s %10.0f %9s %9s %9s\n", run, "Candour (GET /api/v1/search)", cand.qps, cand.p(50), cand.p(95), cand.p(99))
		fmt.Printf("%4s  %-30s %10.0f %9s %9s %9s  %.2f× %s\n", "", "PostgreSQL (loopback)", pg.qps, pg.p(50), pg.p(95), pg.p(99), ratio, verdict(ratio >= 1.2))
	}
	fmt.Printf("\nsearch over HTTP, Candour against PostgreSQL: %s in every run\n", verdict(allMet))
	return nil
}

// searchURL is the search API's address for query q.
func searchURL(base string, q benchQuery) string {
	u := base + "/api/v1/search?limit=20&snippets=false&q=" + url.QueryEscape(q.text)
	if q.kind != "" {
		u += "&" + catalogue.FacetKind + "=" + url.QueryEscape(q.kind)
	}
	return u
}

// apiTotal is the total of the search API's answer at u.
func apiTotal(client *http.Client, u string) (int, error) {
	resp, err := client.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	var answer struct {
		Total int `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return 0, fmt.Errorf("GET %s: %w", u, err)
	}
	return answer.Total, nil
}

// benchQuery is one query of the mix.
type benchQuery struct {
	text string
	kind string // a kind filter, or ""
}

func (q benchQuery) filters() map[string][]string {
	if q.kind == "" {
		return nil
	}
	return map[string][]string{catalogue.FacetKind: {q.kind}}
}

func queryMix() []benchQuery {
	var mix []benchQuery
	for _, t := range []string{"cancer", "mortality", "leeds teaching", "hip replacement", "A81001", "TS18 1HU", "stockton",
		"waiting times", "royal surrey", "maternity", "prescribing", "mental health", "knee", "nottingham", "densham",
		"emergency admissions", "dementia diagnosis", "birmingham", "stockton on tess", "childhood vaccinations", "RR8", "LS9"} {
		mix = append(mix, benchQuery{text: t})
	}
	return append(mix, benchQuery{text: "cancer", kind: catalogue.KindDataset}, benchQuery{text: "hospital", kind: catalogue.KindOrganisation})
}

// startPostgres runs a temporary cluster on loopback, as the postgres user
// (initdb refuses root), and returns a pool and a function that stops it.
func startPostgres(ctx context.Context, bin, dir string) (*pgxpool.Pool, func(), error) {
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			return nil, nil, fmt.Errorf("PostgreSQL is not installed at %s (make bench-search installs it with apt-get)", bin)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	asPostgres := func(args ...string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		if err := exec.Command("chown", "-R", "postgres:postgres", filepath.Dir(dir)).Run(); err != nil {
			return nil, nil, fmt.Errorf("chown the PostgreSQL folder: %w", err)
		}
		asPostgres = func(args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
		}
	}
	if out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", dir, "--auth=trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200 -c shared_buffers=256MB -c fsync=off", port, dir)
	if out, err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", dir, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	stop := func() {
		if out, err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", dir, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "pg_ctl stop: %v\n%s", err, out)
		}
	}
	cfg, err := pgxpool.ParseConfig(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		stop()
		return nil, nil, err
	}
	cfg.MaxConns = int32(runtime.GOMAXPROCS(0) * 2)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return pool, func() { pool.Close(); stop() }, nil
}

func loadPostgres(ctx context.Context, pool *pgxpool.Pool, docs []catalogue.SearchDocument) error {
	if _, err := pool.Exec(ctx, `CREATE TABLE docs (
		id text PRIMARY KEY, kind text NOT NULL, release bigint NOT NULL, title text NOT NULL, body text NOT NULL,
		codes text NOT NULL, places text NOT NULL, publisher text, topic text[], licence text, frequency text,
		granularity text, status text, orgtype text, region text, updated timestamptz,
		tsv tsvector GENERATED ALWAYS AS (
			setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('simple', codes), 'A') ||
			setweight(to_tsvector('simple', places), 'B') || setweight(to_tsvector('english', body), 'C')) STORED)`); err != nil {
		return err
	}
	rows := make([][]any, 0, len(docs))
	for _, d := range docs {
		codes := make([]string, len(d.Codes))
		for i, c := range d.Codes {
			codes[i] = searchbleve.Normalise(c)
		}
		var updated any
		if !d.Updated.IsZero() {
			updated = d.Updated
		}
		rows = append(rows, []any{d.ID, d.Kind, d.Release, d.Title, d.Text, strings.Join(codes, " "), strings.Join(d.Places, " "),
			d.Publisher, d.Topics, d.Licence, d.Frequency, d.Granularity, d.Status, d.OrgType, d.Region, updated})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"docs"}, []string{"id", "kind", "release", "title", "body", "codes", "places",
		"publisher", "topic", "licence", "frequency", "granularity", "status", "orgtype", "region", "updated"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	for _, stmt := range []string{`CREATE INDEX docs_tsv ON docs USING GIN (tsv)`, `CREATE INDEX docs_kind ON docs (kind)`, `VACUUM ANALYZE docs`} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

func printSettings(ctx context.Context, pool *pgxpool.Pool) error {
	var version string
	if err := pool.QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		return err
	}
	fmt.Printf("PostgreSQL %s settings:", version)
	for _, s := range []string{"shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit", "default_text_search_config"} {
		var v string
		if err := pool.QueryRow(ctx, "SHOW "+s).Scan(&v); err != nil {
			return err
		}
		fmt.Printf(" %s=%s", s, v)
	}
	fmt.Println(" (GIN index on a stored weighted tsvector; websearch_to_tsquery, ts_rank; facets by GROUP BY GROUPING SETS)")
	return nil
}

// pgSearchSQL returns the top 20, the total and the facet counts in one
// round trip.
const pgSearchSQL = `
WITH q AS (SELECT websearch_to_tsquery('english', $1) || plainto_tsquery('simple', $2) AS tq),
m AS MATERIALIZED (SELECT d.*, ts_rank(d.tsv, q.tq) AS rank FROM docs d, q WHERE d.tsv @@ q.tq AND ($3 = '' OR d.kind = $3))
SELECT 'hit' AS what, id AS value, rank AS n FROM (SELECT id, rank FROM m ORDER BY rank DESC, id LIMIT 20) top
UNION ALL SELECT 'total', NULL, count(*) FROM m
UNION ALL SELECT 'facet', COALESCE(kind, publisher, licence, frequency, granularity, status, orgtype, region), count(*) FROM m
	GROUP BY GROUPING SETS ((kind), (publisher), (licence), (frequency), (granularity), (status), (orgtype), (region))
UNION ALL SELECT 'topic', t, count(*) FROM m, unnest(m.topic) t GROUP BY t`

func pgSearch(ctx context.Context, pool *pgxpool.Pool, q benchQuery) (int, error) {
	rows, err := pool.Query(ctx, pgSearchSQL, q.text, searchbleve.Normalise(q.text), q.kind)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var what string
		var value *string
		var n float64
		if err := rows.Scan(&what, &value, &n); err != nil {
			return 0, err
		}
		if what == "total" {
			total = int(n)
		}
	}
	return total, rows.Err()
}

// driven is one system's measurements.
type driven struct {
	qps       float64
	latencies []time.Duration
	err       error
}

func (d driven) p(pct int) string {
	if len(d.latencies) == 0 {
		return "-"
	}
	return d.latencies[min(len(d.latencies)-1, len(d.latencies)*pct/100)].Round(10 * time.Microsecond).String()
}

// drive runs one query function from workers for the duration, round-robin
// through the mix, and measures it.
func drive(workers int, d time.Duration, mixLen int, query func(int) error) driven {
	var next atomic.Int64
	var mu sync.Mutex
	var out driven
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) % mixLen
				t := time.Now()
				if err := query(i); err != nil {
					mu.Lock()
					out.err = err
					mu.Unlock()
					return
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			out.latencies = append(out.latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.qps = float64(len(out.latencies)) / time.Since(start).Seconds()
	slices.Sort(out.latencies)
	return out
}

func dirSize(dir string) string {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
