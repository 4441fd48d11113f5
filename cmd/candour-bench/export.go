package main

// The downloads benchmark (`candour-bench export`, `make bench-export`),
// side by side in one run:
//
//   - a 200 MB release file through Candour against nginx serving the same
//     file from disk (target: at least 0.9× nginx's throughput), with the
//     servers on one CPU and curl on another (placement.go);
//   - a filtered export of 5 million rows from Candour's row store against
//     PostgreSQL `COPY (SELECT …) TO STDOUT WITH CSV` of the same rows from
//     an indexed table (target: at least 1.0×);
//   - Candour's peak resident memory (VmHWM) after exporting 500,000 rows
//     and after exporting 5 million (target: they differ by less than
//     32 MB: the export streams).
//
// Each timed comparison runs --runs times (default 3) and every run is
// printed; a target holds only if every run meets it.
//
// The data folder is generated (rows and blobs written straight into the
// stores as a published release): benchmark data, never a deployment.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/datasets/sqlitedb"
)

func runExportBench(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	candour := fs.String("candour", "bin/candour", "the candour binary")
	rowsN := fs.Int("rows", 5_000_000, "rows in the exported file (the small export is a tenth of them)")
	fileMB := fs.Int("file-mb", 200, "size of the release file downloaded, in MB")
	downloads := fs.Int("downloads", 5, "downloads of the release file from each server in each run, alternating")
	runs := fs.Int("runs", 3, "runs of each timed measurement, every one printed")
	pgBin := fs.String("pg-bin", "/usr/lib/postgresql/15/bin", "folder of PostgreSQL's initdb and pg_ctl")
	keep := fs.Bool("keep", false, "keep the generated data folder (to look into a result)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	work, err := os.MkdirTemp("", "candour-exportbench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Printf("keeping the generated data in %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	dataDir := filepath.Join(work, "candour-data")
	start := time.Now()
	bigPath := filepath.Join(work, "big.csv")
	if err := writeBigFile(bigPath, *fileMB<<20); err != nil {
		return err
	}
	if err := seedExport(ctx, dataDir, *rowsN, bigPath); err != nil {
		return err
	}
	fmt.Printf("generated %d rows and a %d MB file in %s\n", *rowsN, *fileMB, time.Since(start).Round(time.Millisecond))

	// Candour, fresh for each memory measurement.
	measure := func(query string) (time.Duration, int64, float64, error) {
		cmd, base, err := startCandourProcess(*candour, dataDir)
		if err != nil {
			return 0, 0, 0, err
		}
		defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
		t := time.Now()
		n, err := drain(base + "/datasets/bulk/releases/1/rows/bulk.csv" + query)
		d := time.Since(t)
		return d, n, peakRSSMB(cmd.Process.Pid), err
	}
	// The small export is an equality filter (a tenth of the rows); the
	// large one a range filter every row meets, so that all 5 million
	// rows go through the filter as PostgreSQL's do through its WHERE.
	smallT, smallBytes, smallRSS, err := measure("?eq.Region=R2")
	if err != nil {
		return err
	}
	fullT, fullBytes, fullRSS, err := measure("?gte.Id=1")
	if err != nil {
		return err
	}
	fmt.Printf("\nCandour filtered export: eq.Region=R2, %d rows' CSV (%s) in %s; gte.Id=1, all %d rows (%s) in %s\n", *rowsN/10, mb(smallBytes), smallT.Round(time.Millisecond),
		*rowsN, mb(fullBytes), fullT.Round(time.Millisecond))
	fmt.Printf("peak resident memory of the server: %.1f MB after %d rows, %.1f MB after %d rows: difference %.1f MB (target < 32 MB: %s)\n",
		smallRSS, *rowsN/10, fullRSS, *rowsN, fullRSS-smallRSS, verdict(fullRSS-smallRSS < 32))

	// PostgreSQL COPY of the same rows.
	pool, stop, err := startPostgres(ctx, *pgBin, filepath.Join(work, "pg"))
	if err != nil {
		return err
	}
	defer stop()
	if _, err := pool.Exec(ctx, `CREATE TABLE bulk (id bigint PRIMARY KEY, region text NOT NULL, count text NOT NULL)`); err != nil {
		return err
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id", "region", "count"}, pgx.CopyFromFunc(func() func() ([]any, error) {
		i := 0
		return func() ([]any, error) {
			i++
			if i > *rowsN {
				return nil, nil
			}
			c := bulkRow(i)
			return []any{int64(i), c[1], c[2]}, nil
		}
	}())); err != nil {
		return err
	}
	for _, stmt := range []string{`CREATE INDEX bulk_region ON bulk (region, id)`, `VACUUM ANALYZE bulk`} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	copyOut := func(where string) (time.Duration, int64, error) {
		t := time.Now()
		tag, err := conn.Conn().PgConn().CopyTo(ctx, io.Discard,
			`COPY (SELECT id, region, count FROM bulk `+where+` ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)`)
		return time.Since(t), tag.RowsAffected(), err
	}
	copyOut(`WHERE region = 'R2'`) // once to warm PostgreSQL's buffers, as Candour's first run warms the page cache
	cmd, base, err := startCandourProcess(*candour, dataDir)
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	exportURL := base + "/datasets/bulk/releases/1/rows/bulk.csv?gte.Id=1"
	if _, err := drain(exportURL); err != nil { // warm, as PostgreSQL's buffers are
		return err
	}
	fmt.Printf("\nfiltered export of %d rows (gte.Id=1 against WHERE id >= 1), Candour against PostgreSQL COPY, one after the other in each run:\n", *rowsN)
	fmt.Printf("%4s  %14s  %14s  %7s  %s\n", "run", "PostgreSQL s", "Candour s", "ratio", "target ≥ 1.0×")
	allMet := true
	for run := 1; run <= *runs; run++ {
		pgT, pgRows, err := copyOut(`WHERE id >= 1`)
		if err != nil {
			return err
		}
		if pgRows != int64(*rowsN) {
			return fmt.Errorf("PostgreSQL COPY gave %d rows, want %d", pgRows, *rowsN)
		}
		t := time.Now()
		if _, err := drain(exportURL); err != nil {
			return err
		}
		candT := time.Since(t)
		r := pgT.Seconds() / candT.Seconds()
		allMet = allMet && r >= 1
		fmt.Printf("%4d  %14.3f  %14.3f  %6.2f×  %s\n", run, pgT.Seconds(), candT.Seconds(), r, verdict(r >= 1))
	}
	fmt.Printf("filtered export: %s in every run\n", verdict(allMet))
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()

	// The release file: Candour against nginx from disk.
	place := downloadPlacement()
	fmt.Println(place.describe())
	nginxBase, stopNginx, err := startNginxOn(place.server, work, "ready")
	if err != nil {
		return err
	}
	defer stopNginx()
	if err := os.Rename(bigPath, filepath.Join(work, "www", "big.csv")); err != nil {
		return err
	}
	cmd, base, err = startCandourProcessOn(place.server, *candour, dataDir)
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	// Downloads alternate between the two servers, so that whatever else
	// the machine is doing falls on both alike.
	drain(base + "/datasets/bulk/releases/1/files/big.csv") // warm the page cache for both
	// Each download's rate is kept; each run's medians are compared, so
	// that one download slowed by something else on the machine does not
	// decide. curl is the client: a Go client on the same two CPUs limited
	// both servers alike and made the ratio swing between runs.
	fmt.Printf("\n%d MB release file, %d downloads from each server in each run, alternating (median rates):\n", *fileMB, *downloads)
	fmt.Printf("%4s  %12s  %12s  %7s  %s\n", "run", "nginx MB/s", "Candour MB/s", "ratio", "target ≥ 0.9×")
	allMet = true
	for run := 1; run <= *runs; run++ {
		var nginxRates, candRates []float64
		for i := 0; i < *downloads; i++ {
			for _, s := range []struct {
				u     string
				rates *[]float64
			}{{nginxBase + "/big.csv", &nginxRates}, {base + "/datasets/bulk/releases/1/files/big.csv", &candRates}} {
				rate, err := curlRate(place.client, s.u, int64(*fileMB)<<20)
				if err != nil {
					return err
				}
				*s.rates = append(*s.rates, rate)
			}
		}
		nginxMBs, candMBs := median(nginxRates), median(candRates)
		r := candMBs / nginxMBs
		allMet = allMet && r >= 0.9
		fmt.Printf("%4d  %12.0f  %12.0f  %6.2f×  %s\n", run, nginxMBs, candMBs, r, verdict(r >= 0.9))
	}
	fmt.Printf("release file download: %s in every run\n", verdict(allMet))
	return nil
}

// curlRate downloads a URL with curl (identity encoding, run through
// prefix) and returns its rate in MB/s, checking that at least min bytes
// came.
func curlRate(prefix []string, u string, min int64) (float64, error) {
	out, err := commandOn(prefix, "curl", "-sS", "-o", "/dev/null", "-H", "Accept-Encoding: identity",
		"-w", "%{http_code} %{size_download} %{speed_download}", u).Output()
	if err != nil {
		return 0, fmt.Errorf("curl %s: %w", u, err)
	}
	var code int
	var size int64
	var speed float64
	if _, err := fmt.Sscan(string(out), &code, &size, &speed); err != nil || code != http.StatusOK || size < min {
		return 0, fmt.Errorf("curl %s: %q", u, out)
	}
	return speed / (1 << 20), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// drain downloads a URL without compression, returning its size.
func drain(u string) (int64, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	// Read in 1 MB pieces (io.Discard alone reads 8 KB at a time, and the
	// client, on the same two CPUs, then limits both servers alike).
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, resp.Body, make([]byte, 1<<20))
}

// peakRSSMB reads a process's peak resident set size (VmHWM).
func peakRSSMB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func startCandourProcess(bin, dataDir string, extra ...string) (*exec.Cmd, string, error) {
	return startCandourProcessOn(nil, bin, dataDir, extra...)
}

// startCandourProcessOn is startCandourProcess run through prefix (a
// placement's server command, or nil).
func startCandourProcessOn(prefix []string, bin, dataDir string, extra ...string) (*exec.Cmd, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	before := currentSnapshot(dataDir)
	cmd := commandOn(prefix, bin, append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--log-level", "error", "--api-rate", "0"}, extra...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	start := time.Now()
	for i := 0; i < 3000; i++ {
		if _, err := fetch(base + "/healthz"); err == nil {
			if waited := time.Since(start); waited > 10*time.Second {
				fmt.Printf("(candour serve took %s to start)\n", waited.Round(time.Second))
			}
			// Not measured while it writes the public snapshot it writes
			// at start (a copy, prune and hash of the database), which
			// took one of the two CPUs through the first run.
			waitForSnapshot(dataDir, before, 3*time.Minute)
			return cmd, base, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, "", errors.New("candour did not start")
}

// bulkRow is row i of the generated file.
func bulkRow(i int) []string {
	count := strconv.Itoa(i * 7 % 1000)
	if i%97 == 0 {
		count = "*"
	}
	return []string{strconv.Itoa(i), "R" + strconv.Itoa(i%10), count}
}

// writeBigFile writes a CSV of about size bytes.
func writeBigFile(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("Id,Region,Count\n")
	written := 0
	for i := 1; written < size; i++ {
		line := strings.Join(bulkRow(i), ",") + "\n"
		n, _ := w.WriteString(line)
		written += n
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// Written back now, as Candour's copy is (the blob store syncs what
	// it stores): otherwise the kernel writes nginx's copy back during
	// the first downloads, and nginx is measured against its own
	// writeback.
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// seedExport writes a published release with the rows file and the big
// file into a new data folder.
func seedExport(ctx context.Context, dataDir string, n int, bigPath string) error {
	return seedExportWith(ctx, dataDir, n, bigPath, nil)
}

// seedExportWith is seedExport writing the rows with rows (nil: the data
// folder's own row store); without bigPath there is no big file.
func seedExportWith(ctx context.Context, dataDir string, n int, bigPath string, rows rowWriter) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	db, err := sqlitedb.Open(ctx, filepath.Join(dataDir, "candour.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: cataloguesqlite.Component, Files: cataloguesqlite.Migrations()},
		rowsqlite.Migrations()); err != nil {
		return err
	}
	now := func() time.Time { return time.Now().UTC() }
	cat := cataloguesqlite.New(db, now)
	pub, err := cat.PutPublisher(ctx, catalogue.Publisher{Slug: "bulk", Name: "Bulk statistics"})
	if err != nil {
		return err
	}
	ds, err := cat.CreateDataset(ctx, catalogue.Dataset{Slug: "bulk", Title: "Bulk rows", Publisher: pub, Licence: catalogue.DefaultLicence,
		Status: catalogue.DatasetPlanned})
	if err != nil {
		return err
	}
	res := datasets.Resource{Name: "bulk", Path: "bulk.csv", Dialect: datasets.DefaultDialect(), Schema: datasets.Schema{Fields: []datasets.Field{
		{Name: "Id", Type: datasets.TypeInteger, Role: datasets.RoleKey},
		{Name: "Region", Type: datasets.TypeString, Role: datasets.RoleDimension},
		{Name: "Count", Type: datasets.TypeInteger, Role: datasets.RoleMeasure, Suppressed: []string{"*"}}}}}
	raw, err := json.Marshal(res)
	if err != nil {
		return err
	}
	// The rows' file is stored as a publication stores it, so the release
	// is whole: a published release whose file is missing stops the
	// server's public snapshot, which it then retries every 30 s while
	// the benchmark runs.
	bulk, err := storeBulkFile(ctx, dataDir, n)
	if err != nil {
		return err
	}
	files := []catalogue.File{
		{Name: "bulk.csv", Role: catalogue.RolePublic, MediaType: "text/csv", Encoding: "utf-8", SHA256: bulk.SHA256, Bytes: bulk.Bytes, Rows: int64(n), Resource: raw},
	}
	if bigPath != "" {
		big, err := storeBigFile(ctx, dataDir, bigPath)
		if err != nil {
			return err
		}
		files = append(files, catalogue.File{Name: "big.csv", Role: catalogue.RolePublic, MediaType: "text/csv", Encoding: "utf-8",
			SHA256: big.SHA256, Bytes: big.Bytes, Resource: raw})
	}
	r, err := cat.CreateRelease(ctx, catalogue.Release{DatasetID: ds.ID, Title: "Bulk rows", PeriodLabel: "2026"}, files, nil)
	if err != nil {
		return err
	}
	generated := func(yield func([]string, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(bulkRow(i), nil) {
				return
			}
		}
	}
	if rows == nil {
		rows = rowsqlite.New(db)
	}
	if _, err := rows.WriteRows(ctx, datasets.FileRef{Release: r.ID, File: "bulk.csv"}, generated); err != nil {
		return err
	}
	for _, to := range []catalogue.ReleaseState{catalogue.StateChecked, catalogue.StateInReview, catalogue.StateApproved, catalogue.StateScheduled, catalogue.StatePublished} {
		if r, err = cat.TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: r.State, To: to, At: now(), Actor: "candour-bench", EmbargoAt: now()}); err != nil {
			return err
		}
	}
	return nil
}

// storeBulkFile puts the CSV of the generated rows 1 … n into the data
// folder's blob store.
func storeBulkFile(ctx context.Context, dataDir string, n int) (datasets.Blob, error) {
	blobs, err := datasets.OpenBlobStore(filepath.Join(dataDir, "blobs"))
	if err != nil {
		return datasets.Blob{}, err
	}
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		w.WriteString("Id,Region,Count\n")
		for i := 1; i <= n; i++ {
			w.WriteString(strings.Join(bulkRow(i), ",") + "\n")
		}
		pw.CloseWithError(w.Flush())
	}()
	defer pr.Close()
	return blobs.Put(ctx, pr)
}

// storeBigFile puts the file at path into the data folder's blob store,
// which hashes it.
func storeBigFile(ctx context.Context, dataDir, path string) (datasets.Blob, error) {
	blobs, err := datasets.OpenBlobStore(filepath.Join(dataDir, "blobs"))
	if err != nil {
		return datasets.Blob{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return datasets.Blob{}, err
	}
	defer f.Close()
	return blobs.Put(ctx, f)
}
