package main

// The ClickHouse benchmark (`candour-bench clickhouse`, `make
// bench-clickhouse`, part of `make bench`), side by side in one run on a
// ClickHouse server of its own (Debian's 18.16, started with .ci/clickhouse
// on free loopback ports, its data in a temporary folder):
//
//   - ingest: 10 million generated observation rows, from one CSV file,
//     through Candour (the file read and each row decoded into an
//     indicators.Observation, streamed into the ClickHouse observation
//     store, which sends each batch while the next is read, as
//     publication and migrate-to-clickhouse write a release's
//     observations) against
//     `clickhouse-client --query "INSERT … FORMAT CSV"` of the same file
//     into tables of the same definitions: a table like observations
//     with, like it, a materialised view copying each insert into a table
//     like observations_by_organisation, so that both sides build what
//     Candour's pages read (target: at least 0.7× the client's rows per
//     second);
//   - export: a filtered CSV export of 5 million rows from ClickHouse
//     through Candour (GET /datasets/…/rows/….csv?gte.Id=1 of a published
//     release whose rows are on ClickHouse, read with curl) against
//     `clickhouse-client --query "SELECT … WHERE … FORMAT CSVWithNames"`
//     of the same rows (target: at least 0.8×).
//
// Each measurement runs --runs times (default 3) and every run is printed
// with its ratio; the verdict holds only if every run meets the target.
// Benchmark data only: the catalogue and the rows are written straight
// into the stores as a published release, never through a deployment.

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/rowclickhouse"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationclickhouse"
)

// Targets of the ClickHouse benchmark: Candour's rate over the client's.
const (
	chIngestTarget = 0.7
	chExportTarget = 0.8
)

func runClickHouseBench(args []string) error {
	fs := flag.NewFlagSet("clickhouse", flag.ExitOnError)
	candour := fs.String("candour", "bin/candour", "the candour binary")
	obsN := fs.Int("observations", 10_000_000, "observation rows ingested (0: no ingest measurement)")
	rowsN := fs.Int("rows", 5_000_000, "rows in the exported file (0: no export measurement)")
	runs := fs.Int("runs", 3, "runs of each measurement, every one printed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return errors.New("--runs must be at least 1")
	}
	for _, tool := range []string{"clickhouse-server", "clickhouse-client", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (make bench-clickhouse installs it): %w", tool, err)
		}
	}
	ctx := context.Background()
	work, err := os.MkdirTemp("", "candour-chbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ch, err := startBenchClickHouse(filepath.Join(work, "clickhouse"))
	if err != nil {
		return err
	}
	defer ch.stop()
	fmt.Printf("ClickHouse %s on 127.0.0.1:%d\n", ch.version(), ch.tcp)
	if *obsN > 0 {
		if err := benchIngest(ctx, ch, work, *obsN, *runs); err != nil {
			return err
		}
	}
	if *rowsN > 0 {
		return benchCHExport(ctx, ch, work, *candour, *rowsN, *runs)
	}
	return nil
}

// benchClickHouse is the benchmark's own ClickHouse server.
type benchClickHouse struct {
	pid, tcp int
}

func startBenchClickHouse(dir string) (*benchClickHouse, error) {
	tcp, err := freePort()
	if err != nil {
		return nil, err
	}
	http, err := freePort()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(".ci/clickhouse", dir, strconv.Itoa(tcp), strconv.Itoa(http)).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("starting clickhouse-server: %w\n%s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("starting clickhouse-server (run from the repository's root): %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return nil, fmt.Errorf("starting clickhouse-server: printed %q", out)
	}
	return &benchClickHouse{pid: pid, tcp: tcp}, nil
}

// stop stops the server and waits until it has gone.
func (c *benchClickHouse) stop() {
	syscall.Kill(c.pid, syscall.SIGTERM)
	for i := 0; i < 300 && syscall.Kill(c.pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(c.pid, syscall.SIGKILL)
}

// dsn is the server's DSN for database db.
func (c *benchClickHouse) dsn(db string) string {
	return fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", c.tcp, db)
}

// client runs clickhouse-client with query, stdin from in and stdout to
// out, and returns how long it took.
func (c *benchClickHouse) client(query string, in io.Reader, out io.Writer) (time.Duration, error) {
	cmd := exec.Command("clickhouse-client", "--host", "127.0.0.1", "--port", strconv.Itoa(c.tcp), "--query", query)
	cmd.Stdin, cmd.Stdout = in, out
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("clickhouse-client --query %.80q: %w\n%s", query, err, stderr.String())
	}
	return time.Since(start), nil
}

func (c *benchClickHouse) version() string {
	var out strings.Builder
	if _, err := c.client("SELECT version()", nil, &out); err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(out.String())
}

// benchIngest measures the ingest of n observation rows.
func benchIngest(ctx context.Context, ch *benchClickHouse, work string, n, runs int) error {
	path := filepath.Join(work, "observations.csv")
	start := time.Now()
	size, err := writeObservationCSV(path, n)
	if err != nil {
		return err
	}
	fmt.Printf("\ningest: generated %d observation rows (%s of CSV) in %s\n", n, mb(size), time.Since(start).Round(time.Millisecond))
	server, err := clickhousedb.OpenServer(ctx, "", ch.dsn("ingest"))
	if err != nil {
		return err
	}
	defer server.Close()
	if err := server.Migrate(ctx, []clickhousedb.Set{observationclickhouse.Migrations()}); err != nil {
		return err
	}
	for _, stmt := range []string{
		"CREATE TABLE IF NOT EXISTS observations_client AS observations",
		"CREATE TABLE IF NOT EXISTS observations_client_by_organisation AS observations_by_organisation",
		"CREATE MATERIALIZED VIEW IF NOT EXISTS observations_client_feed TO observations_client_by_organisation AS SELECT * FROM observations_client",
	} {
		if err := server.Query.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	store := observationclickhouse.New(server)
	fmt.Printf("%4s  %16s  %16s  %7s  %s\n", "run", "client rows/s", "Candour rows/s", "ratio", fmt.Sprintf("target ≥ %.1f×", chIngestTarget))
	ok := true
	for run := 1; run <= runs; run++ {
		for _, table := range []string{"observations_client", "observations_client_by_organisation"} {
			if err := server.Query.Exec(ctx, "ALTER TABLE "+table+" DROP PARTITION 1"); err != nil {
				return err
			}
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		clientT, err := ch.client("INSERT INTO ingest.observations_client FORMAT CSV", bufio.NewReaderSize(f, 1<<20), io.Discard)
		f.Close()
		if err != nil {
			return err
		}
		t := time.Now()
		if err := ingestThroughCandour(ctx, store, path); err != nil {
			return err
		}
		candourT := time.Since(t)
		if err := sameCount(ctx, server, n); err != nil {
			return err
		}
		r := clientT.Seconds() / candourT.Seconds()
		ok = ok && r >= chIngestTarget
		fmt.Printf("%4d  %16.0f  %16.0f  %6.2f×  %s\n", run, float64(n)/clientT.Seconds(), float64(n)/candourT.Seconds(), r, verdict(r >= chIngestTarget))
	}
	fmt.Printf("ingest of %d observation rows into ClickHouse, Candour against clickhouse-client: %s in every run\n", n, verdict(ok))
	return nil
}

// sameCount checks that every table holds n rows of release 1.
func sameCount(ctx context.Context, server *clickhousedb.Server, n int) error {
	for _, table := range []string{"observations", "observations_by_organisation", "observations_client", "observations_client_by_organisation"} {
		var got uint64
		if err := server.Query.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE release_id = 1").Scan(&got); err != nil {
			return err
		}
		if got != uint64(n) {
			return fmt.Errorf("%s holds %d rows of release 1, want %d", table, got, n)
		}
	}
	return nil
}

// ingestThroughCandour streams the observation CSV, decoded row by row
// into observations, into the ClickHouse observation store as release 1's.
func ingestThroughCandour(ctx context.Context, store *observationclickhouse.Store, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rd := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	rd.ReuseRecord = true
	rd.FieldsPerRecord = len(observationCSVColumns)
	obs := func(yield func(indicators.Observation, error) bool) {
		for line := 1; ; line++ {
			rec, err := rd.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(indicators.Observation{}, err)
				return
			}
			o, err := decodeObservation(rec)
			if err != nil {
				err = fmt.Errorf("%s line %d: %w", path, line, err)
			}
			if !yield(o, err) || err != nil {
				return
			}
		}
	}
	return store.WriteObservations(ctx, 1, obs)
}

// observationCSVColumns are the generated file's columns: the
// observations table's, in its order.
var observationCSVColumns = []string{"release_id", "indicator", "organisation", "period", "period_start", "numerator",
	"denominator", "value", "category", "lower95", "upper95", "lower998", "upper998", "benchmark", "comparison", "reason", "quintile",
	"dataset", "version", "funnel", "funnel_lower95", "funnel_upper95", "funnel_lower998", "funnel_upper998", "beside"}

// observationRow is generated row i (numbered from 0), in
// observationCSVColumns order; \N is ClickHouse's NULL in CSV.
func observationRow(i int) []string {
	num, den := i*37%900+10, 1000+i%500
	value := float64(num) / float64(den) * 100
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	row := []string{"1", fmt.Sprintf("ind-%03d", i%150), orgCode(i / 150 % 7000), fmt.Sprintf("2025-%02d", i/(150*7000)%12+1),
		fmt.Sprintf("2025-%02d-01", i/(150*7000)%12+1), strconv.Itoa(num), strconv.Itoa(den), f(value), "",
		f(value - 2), f(value + 2), f(value - 3), f(value + 3), "50.0000", "similar", "", strconv.Itoa(i%5 + 1),
		"bench", "1", "", `\N`, `\N`, `\N`, `\N`, ""}
	if i%41 == 0 { // a value not shown, as a suppressed one is
		for _, c := range []int{5, 6, 7, 9, 10, 11, 12} {
			row[c] = `\N`
		}
		row[14], row[15] = "", "fewer than 10 patients"
	}
	return row
}

// writeObservationCSV writes n generated observation rows (no header, as
// INSERT … FORMAT CSV reads) and returns the file's size.
func writeObservationCSV(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	cw := csv.NewWriter(w)
	for i := range n {
		if err := cw.Write(observationRow(i)); err != nil {
			f.Close()
			return 0, err
		}
	}
	cw.Flush()
	if err := errors.Join(cw.Error(), w.Flush()); err != nil {
		f.Close()
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return info.Size(), f.Close()
}

// decodeObservation turns a generated row back into an observation, as
// materialising a release turns its computed values into observations.
func decodeObservation(rec []string) (indicators.Observation, error) {
	var bad error
	num := func(col int) *float64 {
		if rec[col] == `\N` {
			return nil
		}
		x, err := strconv.ParseFloat(rec[col], 64)
		if err != nil && bad == nil {
			bad = fmt.Errorf("column %s: %w", observationCSVColumns[col], err)
		}
		return &x
	}
	integer := func(col int) int {
		x, err := strconv.Atoi(rec[col])
		if err != nil && bad == nil {
			bad = fmt.Errorf("column %s: %w", observationCSVColumns[col], err)
		}
		return x
	}
	o := indicators.Observation{Release: int64(integer(0)), Indicator: rec[1], Organisation: rec[2], Period: rec[3], PeriodStart: rec[4],
		Numerator: num(5), Denominator: num(6), Value: num(7), Category: rec[8], Lower95: num(9), Upper95: num(10),
		Lower998: num(11), Upper998: num(12), Benchmark: num(13), Comparison: indicators.Comparison(rec[14]), Reason: rec[15],
		Quintile: integer(16), Dataset: rec[17], Version: integer(18), Funnel: rec[19], FunnelLower95: num(20),
		FunnelUpper95: num(21), FunnelLower998: num(22), FunnelUpper998: num(23), Beside: indicators.Comparison(rec[24])}
	return o, bad
}

// benchCHExport measures the filtered export of n rows from ClickHouse.
func benchCHExport(ctx context.Context, ch *benchClickHouse, work, candour string, n, runs int) error {
	dsn := ch.dsn("export")
	server, err := clickhousedb.OpenServer(ctx, "", dsn)
	if err != nil {
		return err
	}
	defer server.Close()
	if err := server.Migrate(ctx, []clickhousedb.Set{rowclickhouse.Migrations()}); err != nil {
		return err
	}
	dataDir := filepath.Join(work, "candour-data")
	start := time.Now()
	if err := seedExportWith(ctx, dataDir, n, "", rowclickhouse.New(server)); err != nil {
		return err
	}
	fmt.Printf("\nexport: generated a published release of %d rows on ClickHouse in %s\n", n, time.Since(start).Round(time.Millisecond))
	cmd, base, err := startCandourProcess(candour, dataDir, "--clickhouse", dsn)
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	exportURL := base + "/datasets/bulk/releases/1/rows/bulk.csv?gte.Id=1"
	const query = "SELECT cells[1] AS Id, cells[2] AS Region, cells[3] AS Count FROM export.dataset_rows " +
		"WHERE release_id = 1 AND file = 'bulk.csv' AND toInt64OrZero(cells[1]) >= 1 ORDER BY file, number FORMAT CSVWithNames"
	// Once each first, so that both read from a warm page cache.
	if _, err := drain(exportURL); err != nil {
		return err
	}
	if _, err := ch.client(query, nil, io.Discard); err != nil {
		return err
	}
	fmt.Printf("%4s  %16s  %16s  %7s  %s\n", "run", "client rows/s", "Candour rows/s", "ratio", fmt.Sprintf("target ≥ %.1f×", chExportTarget))
	ok := true
	for run := 1; run <= runs; run++ {
		var counted countingLines
		clientT, err := ch.client(query, nil, &counted)
		if err != nil {
			return err
		}
		t := time.Now()
		bytes, err := curlBytes(exportURL)
		if err != nil {
			return err
		}
		candourT := time.Since(t)
		if counted.lines != n+1 {
			return fmt.Errorf("clickhouse-client's export has %d lines, want %d", counted.lines, n+1)
		}
		r := clientT.Seconds() / candourT.Seconds()
		ok = ok && r >= chExportTarget
		fmt.Printf("%4d  %16.0f  %16.0f  %6.2f×  %s   (Candour %s, client %s)\n", run, float64(n)/clientT.Seconds(), float64(n)/candourT.Seconds(),
			r, verdict(r >= chExportTarget), mb(bytes), mb(int64(counted.bytes)))
	}
	fmt.Printf("filtered export of %d rows from ClickHouse, Candour against clickhouse-client: %s in every run\n", n, verdict(ok))
	return nil
}

// countingLines counts the bytes and lines written to it.
type countingLines struct{ bytes, lines int }

func (c *countingLines) Write(p []byte) (int, error) {
	c.bytes += len(p)
	c.lines += strings.Count(string(p), "\n")
	return len(p), nil
}

// curlBytes downloads u with curl (the client an intermediary would use)
// and returns how many bytes came, failing on any status but 200.
func curlBytes(u string) (int64, error) {
	out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "-H", "Accept-Encoding: identity",
		"-w", "%{http_code} %{size_download}", u).Output()
	if err != nil {
		return 0, fmt.Errorf("curl %s: %w", u, err)
	}
	var status int
	var size int64
	if _, err := fmt.Sscan(string(out), &status, &size); err != nil || status != 200 {
		return 0, fmt.Errorf("curl %s: %q", u, out)
	}
	return size, nil
}

// rowWriter is what seedExportWith writes the rows with.
type rowWriter interface {
	WriteRows(ctx context.Context, f datasets.FileRef, rows iter.Seq2[[]string, error]) (int64, error)
}
