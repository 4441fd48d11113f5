package main

// The upload benchmark (`candour-bench upload`, `make bench-upload`): what
// one large submission through the submission API costs the server in
// memory.
//
// A publisher account and an API token are made with the candour binary
// (`candour user add` and `candour user token`) in a temporary data
// folder, and `candour serve` runs as a separate process on loopback with
// the page cache off, --max-upload the file's size plus 64 MiB and
// --upload-timeout 2h. A CSV of at least --size bytes (default 1 GiB) is
// generated into the work folder, streamed, never held in memory: row_id
// (an integer, the key), area (a dimension of 36 values) and value (a
// number, the measure), under a Table Schema whose disclosure rule is
// "none" (benchmark data: no counts of people), so that disclosure control
// has no small numbers to suppress and the submission is stored whole.
// It is then sent to POST /api/v1/submissions with the token, as one
// multipart body (the descriptor part and the file part) streamed from
// the file with an exact Content-Length: the client holds only its
// buffers, whatever the size.
//
// The server's VmRSS is read every 200 ms, and each reading is counted in
// the phase it falls in:
//
//   - upload: the client is still sending the body. The server should
//     spool the upload to temporary files as it arrives, so its memory
//     here should stay close to where it started whatever the size; a
//     peak that grows with the size means the body is being held in
//     memory.
//   - checking and storing: the last byte has been sent and the answer
//     has not arrived. The server reads the descriptor, checks every row
//     against the schema, applies disclosure control and stores the file
//     and its rows. Under rule "none", with nothing suppressed, the file
//     is checked as it is read and its rows are never held, so memory here
//     should not grow with the size either (a file under a small-number
//     rule is held as parsed rows, about 1 KB a row).
//
// It reports the server's VmRSS before the upload, the peak sampled VmRSS
// and the elapsed time of each phase, VmHWM (the kernel's own peak) at the
// end, what /metrics says about the Go runtime, the answer's status and,
// when it is not 201 Created, the first 300 bytes of its body.
//
// The last line printed is machine-readable:
//
//	UPLOAD bytes=N status=N upload_s=F process_s=F rss_before_mb=F peak_upload_mb=F peak_process_mb=F hwm_mb=F
//
// bytes is the CSV file's size (the body is larger by the multipart
// framing and the descriptor). The exit status is 1 when the answer is
// not 201.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errUploadStatus is returned when the upload was answered with a status
// other than 201; the summary has already said which.
var errUploadStatus = errors.New("the upload was not accepted")

const (
	uploadFile     = "values.csv"
	uploadPassword = "bench-upload-password"
	uploadAreas    = 36
)

// uploadDescriptor is the submission descriptor: one resource, the
// generated CSV, whose disclosure rule is none.
const uploadDescriptor = `{"dataset": {"slug": "bench-upload", "title": "Benchmark upload", "summary": "Synthetic values by area, to measure a large upload.",
	"publisher": {"slug": "bench-stats", "name": "Bench Statistics"}},
 "release": {"title": "Benchmark upload", "periodLabel": "2025/26", "periodStart": "2025-04-01", "periodEnd": "2026-03-31"},
 "resources": [{"name": "values", "path": "` + uploadFile + `", "schema": {
	"candour:disclosure": {"rule": "none", "reason": "Benchmark data: no counts of people."},
	"fields": [
		{"name": "row_id", "type": "integer", "candour:role": "key"},
		{"name": "area", "type": "string", "candour:role": "dimension"},
		{"name": "value", "type": "number", "candour:role": "measure"}]}}]}`

func runUploadBench(args []string) error {
	fs := flag.NewFlagSet("upload", flag.ExitOnError)
	candour := fs.String("candour", "bin/candour", "the candour binary (built from ./cmd/candour into the work folder if missing)")
	sizeText := fs.String("size", "1GiB", "size of the CSV uploaded, at least (e.g. 100MiB, 1GiB)")
	keep := fs.Bool("keep", false, "keep the work folder (data folder, CSV and server log)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	size, err := uploadParseSize(*sizeText)
	if err != nil {
		return fmt.Errorf("upload: --size %q: %v", *sizeText, err)
	}

	work, err := os.MkdirTemp("", "candour-uploadbench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Printf("keeping the work folder %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin, err := loadBinary(*candour, work)
	if err != nil {
		return err
	}

	// The publisher account and its API token.
	dataDir := filepath.Join(work, "candour-data")
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	add := exec.Command(bin, "user", "add", "bench", "--role", "publisher", "--org", "bench-stats", "--name", "Bench Publisher",
		"--data-dir", dataDir, "--log-level", "error")
	add.Env = append(os.Environ(), "CANDOUR_PASSWORD="+uploadPassword)
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("candour user add: %v\n%s", err, loadTail(string(out), 20))
	}
	out, err := exec.Command(bin, "user", "token", "bench", "--label", "bench", "--data-dir", dataDir, "--log-level", "error").CombinedOutput()
	if err != nil {
		return fmt.Errorf("candour user token: %v\n%s", err, loadTail(string(out), 20))
	}
	m := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(string(out))
	if m == nil {
		return fmt.Errorf("candour user token printed no token:\n%s", out)
	}
	token := m[1]
	fmt.Println("upload: publisher bench (bench-stats) and an API token created")

	// The file.
	csvPath := filepath.Join(work, uploadFile)
	start := time.Now()
	gen, err := uploadGenerate(csvPath, size)
	if err != nil {
		return err
	}
	fmt.Printf("upload: generated %s, %d bytes (%s), %d rows, sha256 %s, in %s\n", uploadFile, gen.bytes, uploadMiB(gen.bytes), gen.rows,
		gen.sha256, time.Since(start).Round(time.Millisecond))

	// The server.
	maxUpload := gen.bytes + 64<<20
	srv, err := startLoadServer(bin, dataDir, filepath.Join(work, "serve-upload.log"),
		"--page-cache=false", "--max-upload", strconv.FormatInt(maxUpload, 10), "--upload-timeout", "2h")
	if err != nil {
		return err
	}
	defer srv.stop()

	// The upload.
	r, err := uploadPost(srv, csvPath, gen.bytes, token)
	if err != nil {
		return err
	}
	metrics := loadMetrics(srv.base)
	serverLog := srv.stop()

	// Summary.
	fmt.Printf("\nPOST /api/v1/submissions: one %s CSV (%d rows, sha256 %s), a %d-byte multipart body, streamed from disk\n",
		uploadMiB(gen.bytes), gen.rows, gen.sha256, r.bodyBytes)
	if r.err != nil {
		fmt.Printf("answer: none (%v) after %d of %d bytes sent\n", r.err, r.sent, r.bodyBytes)
	} else {
		fmt.Printf("answer: %d %s\n", r.status, http.StatusText(r.status))
		if r.status != http.StatusCreated {
			fmt.Printf("answer body (first 300 bytes): %s\n", r.body)
		}
	}
	if r.early {
		fmt.Printf("the server answered before the whole body was sent (%d of %d bytes)\n", r.sent, r.bodyBytes)
	}
	fmt.Printf("%-34s %10s %10s %16s\n", "phase", "seconds", "MB/s", "peak VmRSS MB")
	fmt.Printf("%-34s %10s %10s %16.1f\n", "before the upload (idle server)", "-", "-", r.rssBefore)
	fmt.Printf("%-34s %10.1f %10.1f %16.1f\n", "upload (client sending)", r.upload.Seconds(),
		float64(r.sent)/(1<<20)/max(r.upload.Seconds(), 1e-9), r.peak[uploadPhaseUpload])
	fmt.Printf("%-34s %10.1f %10.1f %16.1f\n", "checking and storing (until answer)", r.process.Seconds(),
		float64(gen.bytes)/(1<<20)/max(r.process.Seconds(), 1e-9), r.peak[uploadPhaseProcess])
	fmt.Printf("%-34s %10.1f\n", "total", (r.upload + r.process).Seconds())
	fmt.Printf("server VmHWM at the end: %.1f MB (%.1f MB above the idle server's VmRSS; the file is %s)\n",
		r.hwm, r.hwm-r.rssBefore, uploadMiB(gen.bytes))
	fmt.Printf("VmRSS, MB, at each tenth of the upload: %s\n", r.timeline[uploadPhaseUpload])
	fmt.Printf("VmRSS, MB, at each tenth of checking and storing: %s\n", r.timeline[uploadPhaseProcess])
	fmt.Printf("server: %s\n", metrics.rssText())
	serverLog.print("upload")
	fmt.Printf("UPLOAD bytes=%d status=%d upload_s=%.1f process_s=%.1f rss_before_mb=%.1f peak_upload_mb=%.1f peak_process_mb=%.1f hwm_mb=%.1f\n",
		gen.bytes, r.status, r.upload.Seconds(), r.process.Seconds(), r.rssBefore, r.peak[uploadPhaseUpload], r.peak[uploadPhaseProcess], r.hwm)
	if r.status != http.StatusCreated {
		return errUploadStatus
	}
	return nil
}

// uploadParseSize reads a size such as 100MiB, 1GiB, 500KiB, 1GB or a
// plain number of bytes.
func uploadParseSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}, {"", 1}}
	for _, u := range units {
		num, ok := strings.CutSuffix(strings.TrimSpace(v), u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 1 {
			break
		}
		return n * u.mult, nil
	}
	return 0, errors.New("want a size such as 100MiB, 1GiB or a number of bytes")
}

func uploadMiB(n int64) string {
	if n >= 1<<30 {
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

type uploadGenerated struct {
	bytes, rows int64
	sha256      string
}

// uploadGenerate writes the CSV, row by row, until it holds at least size
// bytes, hashing it as it goes.
func uploadGenerate(path string, size int64) (uploadGenerated, error) {
	f, err := os.Create(path)
	if err != nil {
		return uploadGenerated{}, err
	}
	defer f.Close()
	h := sha256.New()
	cw := &uploadCountingWriter{w: io.MultiWriter(f, h)}
	w := bufio.NewWriterSize(cw, 1<<20)
	areas := make([]string, uploadAreas)
	for i := range areas {
		areas[i] = fmt.Sprintf("area-%02d", i+1)
	}
	rng := rand.New(rand.NewPCG(26, 1))
	w.WriteString("row_id,area,value\n")
	var g uploadGenerated
	line := make([]byte, 0, 64)
	for cw.n+int64(w.Buffered()) < size {
		g.rows++
		line = strconv.AppendInt(line[:0], g.rows, 10)
		line = append(line, ',')
		line = append(line, areas[rng.IntN(len(areas))]...)
		line = append(line, ',')
		line = strconv.AppendFloat(line, float64(rng.IntN(10_000_000))/100, 'f', -1, 64)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return g, err
		}
	}
	if err := w.Flush(); err != nil {
		return g, err
	}
	if err := f.Close(); err != nil {
		return g, err
	}
	g.bytes, g.sha256 = cw.n, hex.EncodeToString(h.Sum(nil))
	return g, nil
}

type uploadCountingWriter struct {
	w io.Writer
	n int64
}

func (c *uploadCountingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// The phases a VmRSS reading is counted in.
const (
	uploadPhaseBefore = iota
	uploadPhaseUpload
	uploadPhaseProcess
	uploadPhases
)

type uploadResult struct {
	status          int
	body            string // the first 300 bytes
	err             error  // no answer
	early           bool   // answered before the whole body was sent
	bodyBytes, sent int64
	upload, process time.Duration
	rssBefore, hwm  float64
	peak            [uploadPhases]float64
	timeline        [uploadPhases]string
}

// uploadBody is the request body: the multipart framing and descriptor,
// the file, and the closing boundary, read one after another and counted.
// When the last byte has been read it moves the sampler to the checking
// phase.
type uploadBody struct {
	r     io.Reader
	total int64
	n     atomic.Int64
	onEnd func()
	once  sync.Once
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.n.Add(int64(n)) >= b.total {
		b.once.Do(b.onEnd)
	}
	return n, err
}

// uploadPost sends the file as a submission and samples the server's
// memory until the answer arrives.
func uploadPost(srv *loadServer, csvPath string, size int64, token string) (*uploadResult, error) {
	// The framing: everything before the file's bytes, and the closing
	// boundary after them.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile("descriptor", "submission.json")
	if err != nil {
		return nil, err
	}
	part.Write([]byte(uploadDescriptor))
	if _, err := mw.CreateFormFile(uploadFile, uploadFile); err != nil {
		return nil, err
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, err
	}
	tail := bytes.Clone(buf.Bytes())

	f, err := os.Open(csvPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || info.Size() != size {
		return nil, fmt.Errorf("%s changed size after it was written", csvPath)
	}
	r := &uploadResult{bodyBytes: int64(len(head)) + size + int64(len(tail))}
	sampler := startUploadSampler(srv.pid())
	// sentAfter is when the last byte was handed to the transport, after
	// the start (0: not yet); the transport's goroutine sets it.
	var start time.Time
	var sentAfter atomic.Int64
	body := &uploadBody{r: io.MultiReader(bytes.NewReader(head), f, bytes.NewReader(tail)), total: r.bodyBytes,
		onEnd: func() { sentAfter.Store(int64(max(1, time.Since(start)))); sampler.setPhase(uploadPhaseProcess) }}
	req, err := http.NewRequest(http.MethodPost, srv.base+"/api/v1/submissions", body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = r.bodyBytes
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 2 * time.Hour, Transport: &http.Transport{
		DialContext:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		DisableCompression: true,
		WriteBufferSize:    256 << 10,
	}}
	defer client.CloseIdleConnections()

	time.Sleep(time.Second) // let the server settle after start-up
	r.rssBefore = loadStatusMB(srv.pid(), "VmRSS")
	fmt.Printf("upload: sending %d bytes (server VmRSS %.1f MB)...\n", r.bodyBytes, r.rssBefore)
	start = time.Now()
	sampler.setPhase(uploadPhaseUpload)
	resp, err := client.Do(req)
	if err == nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r.status, r.body = resp.StatusCode, string(b)
	} else {
		r.err = err
	}
	answered := time.Since(start)
	r.peak, r.timeline = sampler.stop()
	r.hwm = loadStatusMB(srv.pid(), "VmHWM")
	r.sent = body.n.Load()
	if sent := time.Duration(sentAfter.Load()); sent == 0 || r.sent < r.bodyBytes {
		r.early = r.err == nil
		r.upload = answered
	} else {
		r.upload, r.process = sent, answered-sent
	}
	return r, nil
}

// uploadSampler reads a process's VmRSS every 200 ms and keeps the peak
// and the readings of each phase.
type uploadSampler struct {
	phase   atomic.Int32
	done    chan struct{}
	mu      sync.Mutex
	peak    [uploadPhases]float64
	samples [uploadPhases][]float64
	pid     int
}

func startUploadSampler(pid int) *uploadSampler {
	s := &uploadSampler{done: make(chan struct{}), pid: pid}
	s.sample()
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *uploadSampler) sample() {
	v := loadStatusMB(s.pid, "VmRSS")
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phase.Load()
	s.peak[p] = max(s.peak[p], v)
	s.samples[p] = append(s.samples[p], v)
}

// setPhase counts the readings from now on in phase p, taking one
// reading first to close the phase before.
func (s *uploadSampler) setPhase(p int32) {
	s.sample()
	s.phase.Store(p)
}

// stop takes a last reading, ends the sampling and returns each phase's
// peak and its readings at each tenth.
func (s *uploadSampler) stop() ([uploadPhases]float64, [uploadPhases]string) {
	s.sample()
	close(s.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines [uploadPhases]string
	for p, samples := range s.samples {
		if len(samples) == 0 {
			lines[p] = "(no reading)"
			continue
		}
		var parts []string
		for k := 0; k <= 10; k++ {
			parts = append(parts, fmt.Sprintf("%.0f", samples[k*(len(samples)-1)/10]))
		}
		lines[p] = strings.Join(parts, " ")
	}
	return s.peak, lines
}
