package main

// The disclosure-control benchmark (`candour-bench disclosure`,
// `make bench-disclosure`): disclosure control against parsing, side by
// side in one run, over the same file.
//
// The file is generated: registered patients by GP practice, age band and
// sex, with totals ("All ages", "All") that equal the sums of their parts
// and national rows (practice "ENG", the sum over practices), about
// 5 million rows under the nhs-digital rule. "ENG" is declared a national
// value (published exactly), not a total value, so the schema declares no
// relation across practices. Two things are timed, each the best of
// --repeat runs:
//
//   - parsing: datasets.Reader over the file, every row kept as a
//     datasets.Row, which is what the publisher keeps for disclosure
//     control (publisher/submission.go, scanFile);
//   - disclosure control: disclosure.Check on those rows, parsed once
//     beforehand.
//
// The ratio printed is disclosure control's time over parsing's (target:
// at most 2.0). Benchmark data only: nothing goes through the publishing
// workflow, and the folder is a temporary one unless --keep names one.

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/publisher/disclosure"
)

// The shape of the generated table.
const (
	discMaxPractices = 6600 // practices per period, at most
	discAgeValues    = 20   // 19 five-year bands and "All ages"
	discSexValues    = 3    // "Female", "Male" and "All"
	discRowsPerUnit  = discAgeValues * discSexValues
	discTargetRatio  = 2.0
)

var discSexes = [discSexValues]string{"Female", "Male", "All"}

// discAgeBands are the age values: "0-4" … "85-89", "90+", "All ages".
var discAgeBands = func() [discAgeValues]string {
	var bands [discAgeValues]string
	for i := range 18 {
		bands[i] = fmt.Sprintf("%d-%d", 5*i, 5*i+4)
	}
	bands[18], bands[19] = "90+", "All ages"
	return bands
}()

const discSchema = `{
  "fields": [
    {"name": "period", "type": "string", "candour:role": "dimension"},
    {"name": "practice_code", "type": "string", "candour:role": "key", "candour:nationalValues": ["ENG"]},
    {"name": "age_band", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All ages"]},
    {"name": "sex", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
    {"name": "patients", "type": "integer", "candour:countOfIndividuals": true}
  ],
  "primaryKey": ["period", "practice_code", "age_band", "sex"],
  "candour:disclosure": {"rule": "nhs-digital"}
}
`

// discCounts is one practice's (or the nation's) table for one period,
// margins included: [age][sex].
type discCounts [discAgeValues][discSexValues]int64

// discShape is how many periods and practices the file has.
type discShape struct{ periods, practices int }

func (s discShape) rows() int { return s.periods * (s.practices + 1) * discRowsPerUnit }

// shapeFor chooses enough periods of at most discMaxPractices practices
// (plus the national rows) to reach rows, then as many practices as
// reach it with the fewest rows over.
func shapeFor(rows int) discShape {
	perPeriod := discRowsPerUnit * (discMaxPractices + 1)
	periods := max(1, (rows+perPeriod-1)/perPeriod)
	perUnit := discRowsPerUnit * periods
	return discShape{periods: periods, practices: max(1, (rows+perUnit-1)/perUnit-1)}
}

func runDisclosureBench(args []string) error {
	fs := flag.NewFlagSet("disclosure", flag.ExitOnError)
	rows := fs.Int("rows", 5_000_000, "rows in the generated file (at least)")
	repeat := fs.Int("repeat", 3, "runs of each measurement; the best is reported")
	keep := fs.String("keep", "", "generate into this folder and keep it (default: a temporary one, removed afterwards)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the last disclosure.Check call (the warmest) to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile (what the disclosure runs allocated, by site) to this file")
	seed := fs.Uint64("seed", 1, "seed of the generated counts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *repeat < 1 {
		return errors.New("--repeat must be at least 1")
	}
	dir, cleanup, err := discWorkDir(*keep)
	if err != nil {
		return err
	}
	defer cleanup()
	shape := shapeFor(*rows)
	start := time.Now()
	path, size, err := writeDisclosureData(dir, shape, *seed)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d rows (periods %d × practices %d and England × ages %d × sexes %d, margins included), %s, in %s\n",
		shape.rows(), shape.periods, shape.practices, discAgeValues, discSexValues, mb(size), time.Since(start).Round(time.Millisecond))
	if err := benchDisclosure(path, size, *repeat, *profile); err != nil {
		return err
	}
	return writeHeapProfile(*memProfile)
}

// writeHeapProfile writes the heap profile to file, unless file is "".
func writeHeapProfile(file string) error {
	if file == "" {
		return nil
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// discWorkDir returns the folder to generate into and what removes it.
func discWorkDir(keep string) (string, func(), error) {
	if keep != "" {
		if err := os.MkdirAll(keep, 0o750); err != nil {
			return "", nil, err
		}
		fmt.Printf("keeping the generated file in %s\n", keep)
		return keep, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "candour-disclosurebench-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// benchDisclosure measures parsing and disclosure control of the file at
// path and prints the comparison.
func benchDisclosure(path string, size int64, repeat int, profile string) error {
	res, err := discResource(path)
	if err != nil {
		return err
	}
	parse, err := bestOf(repeat, "", func() (func(), error) {
		_, err := parseDisclosureFile(path, res)
		return func() {}, err
	})
	if err != nil {
		return err
	}
	file, err := parseDisclosureFile(path, res)
	if err != nil {
		return err
	}
	var sum discSummary
	check, err := bestOf(repeat, profile, func() (func(), error) {
		r, err := disclosure.Check(disclosure.Input{Files: []disclosure.File{file}})
		return func() { sum = summarise(r) }, err
	})
	if err != nil {
		return err
	}
	printDisclosureBench(len(file.Rows), size, parse, check, sum)
	return nil
}

// discResource is the resource of the generated file.
func discResource(path string) (datasets.Resource, error) {
	s, err := datasets.ParseSchema([]byte(discSchema))
	if err != nil {
		return datasets.Resource{}, fmt.Errorf("schema: %w", err)
	}
	return datasets.Resource{Name: "practice-patients", Path: filepath.Base(path),
		Dialect: datasets.DefaultDialect(), Schema: s}, nil
}

// parseDisclosureFile reads and validates the file, keeping every row, as
// the publisher does before disclosure control.
func parseDisclosureFile(path string, res datasets.Resource) (disclosure.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return disclosure.File{}, err
	}
	defer fh.Close()
	name := filepath.Base(path)
	rd, err := datasets.NewReader(fh, name, res)
	if err != nil {
		return disclosure.File{}, err
	}
	f := disclosure.File{Name: name, Resource: res, Header: rd.Header()}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return disclosure.File{}, fmt.Errorf("%s: %w", name, err)
		}
		f.Rows = append(f.Rows, row)
	}
}

// writeDisclosureData writes the schema and the CSV into dir and returns
// the CSV's path and size.
func writeDisclosureData(dir string, shape discShape, seed uint64) (string, int64, error) {
	if err := os.WriteFile(filepath.Join(dir, "practice-patients.schema.json"), []byte(discSchema), 0o644); err != nil {
		return "", 0, err
	}
	path := filepath.Join(dir, "practice-patients.csv")
	fh, err := os.Create(path)
	if err != nil {
		return "", 0, err
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	err = writeDisclosureCSV(w, shape, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
	if err == nil {
		err = w.Flush()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	return path, st.Size(), nil
}

// writeDisclosureCSV writes the header and, period by period, every
// practice's table followed by the national one (their sum).
func writeDisclosureCSV(w *bufio.Writer, shape discShape, rng *rand.Rand) error {
	if _, err := w.WriteString("period,practice_code,age_band,sex,patients\n"); err != nil {
		return err
	}
	for p := range shape.periods {
		period := fmt.Sprintf("%d-%02d", 2020+p/12, p%12+1)
		var national discCounts
		for i := range shape.practices {
			c := practiceCounts(rng)
			for a := range c {
				for s := range c[a] {
					national[a][s] += c[a][s]
				}
			}
			if err := writeDisclosureTable(w, period, practiceCode(i), &c); err != nil {
				return err
			}
		}
		if err := writeDisclosureTable(w, period, "ENG", &national); err != nil {
			return err
		}
	}
	return nil
}

// practiceCode is an ODS-like GP practice code: "A81001", "A81002", …
func practiceCode(i int) string { return fmt.Sprintf("%c%05d", 'A'+i/1000, 81001+i%1000) }

// practiceCounts draws one practice's patients by age band and sex (about
// 3% zeros, 5% from 1 to 7, the rest from 8 to 400) and adds the margins.
func practiceCounts(rng *rand.Rand) discCounts {
	var c discCounts
	for a := range discAgeValues - 1 {
		for s := range discSexValues - 1 {
			switch x := rng.Float64(); {
			case x < 0.03:
			case x < 0.08:
				c[a][s] = 1 + rng.Int64N(7)
			default:
				c[a][s] = 8 + rng.Int64N(393)
			}
			c[a][discSexValues-1] += c[a][s]
		}
		for s := range discSexValues {
			c[discAgeValues-1][s] += c[a][s]
		}
	}
	return c
}

// writeDisclosureTable writes one practice's (or the nation's) rows.
func writeDisclosureTable(w *bufio.Writer, period, code string, c *discCounts) error {
	buf := make([]byte, 0, 64)
	for a, band := range discAgeBands {
		for s, sex := range discSexes {
			buf = append(buf[:0], period...)
			buf = append(buf, ',')
			buf = append(buf, code...)
			buf = append(buf, ',')
			buf = append(buf, band...)
			buf = append(buf, ',')
			buf = append(buf, sex...)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, c[a][s], 10)
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// measurement is the best time of some runs and the most heap they used.
type measurement struct {
	best      time.Duration
	runs      []time.Duration // every run's time, in order
	cpu       []runCPU        // every run's processor time and page faults, in order
	peakHeap  uint64          // most heap in use during a run, over what was in use before it
	allocated uint64          // bytes allocated by one run
}

// bestOf runs fn repeat times, collecting garbage before each, and keeps
// the fastest time and the largest peak heap. fn returns what to do with
// its result once it is timed (the result is not kept between runs). The
// first run is CPU-profiled into profile unless it is "".
func bestOf(repeat int, profile string, fn func() (func(), error)) (measurement, error) {
	var m measurement
	for i := range repeat {
		runtime.GC()
		stopProfile, err := startProfile(profile, i == repeat-1)
		if err != nil {
			return m, err
		}
		usageBefore := processUsage()
		d, peak, alloc, err := timed(fn)
		m.cpu = append(m.cpu, processUsage().since(usageBefore))
		stopProfile()
		if err != nil {
			return m, err
		}
		m.runs = append(m.runs, d)
		if i == 0 || d < m.best {
			m.best = d
		}
		m.peakHeap = max(m.peakHeap, peak)
		m.allocated = alloc
	}
	runtime.GC()
	return m, nil
}

// startProfile starts a CPU profile into file when on and file is set, and
// returns what stops it.
func startProfile(file string, on bool) (func(), error) {
	if file == "" || !on {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// timed runs fn, sampling the heap meanwhile; the time excludes what fn
// returns to do afterwards.
func timed(fn func() (func(), error)) (time.Duration, uint64, uint64, error) {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := sampleHeap()
	start := time.Now()
	after, err := fn()
	d := time.Since(start)
	peak := stop()
	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	if err != nil {
		return 0, 0, 0, err
	}
	after()
	return d, peak - min(peak, before.HeapInuse), end.TotalAlloc - before.TotalAlloc, nil
}

// sampleHeap samples HeapInuse every 20 ms until the function it returns
// is called, which takes a last sample once the sampler has stopped and
// returns the largest.
func sampleHeap() func() uint64 {
	var (
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		return peak
	}
}

// discSummary is what the benchmark prints of a disclosure.Result.
type discSummary struct {
	unknowns, relations, auditCells int
	byMethod                        map[string]int
	cells                           disclosure.CellCounts
	findings                        map[string]int
	blocked, passed                 bool
	samples                         []string // the first blocking findings' messages
}

func summarise(r disclosure.Result) discSummary {
	a := r.Report.Audit
	s := discSummary{unknowns: a.Unknowns, relations: a.Relations, auditCells: len(a.Cells),
		byMethod: a.CellsByMethod, findings: map[string]int{}, blocked: r.Blocked, passed: a.Passed}
	if len(r.Report.Files) > 0 {
		s.cells = r.Report.Files[0].Cells
	}
	for _, f := range r.Report.Findings {
		s.findings[f.Kind]++
		if f.Blocking && len(s.samples) < 5 {
			s.samples = append(s.samples, f.Message)
		}
	}
	return s
}

func printDisclosureBench(rows int, size int64, parse, check measurement, s discSummary) {
	ratio := check.best.Seconds() / parse.best.Seconds()
	result := "PASS"
	if ratio > discTargetRatio {
		result = "FAIL"
	}
	fmt.Printf("\n%12s %10s %10s %14s %8s %8s %6s\n", "rows", "bytes", "parse s", "disclosure s", "ratio", "target", "")
	fmt.Printf("%12d %10d %10.2f %14.2f %7.2f× %8s %6s\n", rows, size, parse.best.Seconds(), check.best.Seconds(),
		ratio, fmt.Sprintf("≤ %.1f×", discTargetRatio), result)
	fmt.Printf("\nevery run, in order: parse %s; disclosure %s\n", runsText(parse.runs), runsText(check.runs))
	fmt.Printf("processor time of every run (user + system), and the pages the kernel had to supply:\n  parse %s\n  disclosure %s\n", cpuText(parse.cpu), cpuText(check.cpu))
	fmt.Printf("peak heap in use, over what was in use before: parse %s, disclosure %s\n", mb(int64(parse.peakHeap)), mb(int64(check.peakHeap)))
	fmt.Printf("allocated by one run: parse %s, disclosure %s\n", mb(int64(parse.allocated)), mb(int64(check.allocated)))
	fmt.Printf("peak resident memory of this process (VmHWM): %.1f MB\n", peakRSSMB(os.Getpid()))
	fmt.Printf("\naudit: %d unknowns, %d relations, %d suppressed cells audited (%s), passed %v\n",
		s.unknowns, s.relations, s.auditCells, countsText(s.byMethod), s.passed)
	c := s.cells
	fmt.Printf("cells: %d controlled; %d suppressed primary, %d secondary, %d at source; %d rounded, %d unchanged, %d missing\n",
		c.Controlled, c.SuppressedPrimary, c.SuppressedSecondary, c.SuppressedAtSource, c.Rounded, c.Unchanged, c.Missing)
	fmt.Printf("findings: %s; blocked %v\n", countsText(s.findings), s.blocked)
	for _, m := range s.samples {
		fmt.Printf("  blocking: %s\n", m)
	}
	fmt.Printf("GOMAXPROCS %d, %s %s/%s\n", runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// runsText lists run times in seconds: "4.36 s, 4.51 s".
func runsText(runs []time.Duration) string {
	parts := make([]string, len(runs))
	for i, d := range runs {
		parts[i] = fmt.Sprintf("%.2f s", d.Seconds())
	}
	return strings.Join(parts, ", ")
}

// runCPU is the processor time a run took, in user code and in the
// kernel, and the minor page faults it caused: memory the kernel had to
// find and clear for it, which is most of the kernel's share when a run
// uses gigabytes the process did not have before.
type runCPU struct {
	user, system time.Duration
	minorFaults  int64
}

// processUsage is this process's processor time and page faults so far.
func processUsage() runCPU {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return runCPU{}
	}
	return runCPU{user: time.Duration(ru.Utime.Nano()), system: time.Duration(ru.Stime.Nano()), minorFaults: ru.Minflt}
}

func (u runCPU) since(before runCPU) runCPU {
	return runCPU{user: u.user - before.user, system: u.system - before.system, minorFaults: u.minorFaults - before.minorFaults}
}

// cpuText lists runs' processor time: "9.1 + 2.3 s (610k page faults)".
func cpuText(runs []runCPU) string {
	parts := make([]string, len(runs))
	for i, u := range runs {
		parts[i] = fmt.Sprintf("%.1f + %.1f s (%dk page faults)", u.user.Seconds(), u.system.Seconds(), u.minorFaults/1000)
	}
	return strings.Join(parts, "; ")
}

// countsText lists counts by name, largest first: "exact 12, marker 3".
func countsText(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	names := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, counts[n])
	}
	return strings.Join(parts, ", ")
}
