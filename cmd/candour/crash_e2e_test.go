//go:build unix

package main

// The crash harness (issue 15, "Crash safety"): candour, built with the
// tag crashtest, runs as a separate process on a copy of a prepared data
// folder (the demo plus a small dataset of our own in every workflow
// state) and dies of SIGKILL, either at a named fault point (package
// faultpoint, through CANDOUR_CRASH_AT) or at a random instant during a
// random action. It is then started again without the variable, and the
// folder must be whole: SQLite's integrity check passes, every release is
// fully published or not at all, no draft or unfinished amendment is
// left, no file is stored that no release records (so none can be
// served), versions have no gaps, the scheduler publishes what fell due,
// and candour audit verify passes.
//
// CI runs every named point and 20 random trials; -crash.trials=N (or
// CANDOUR_CRASH_TRIALS=N) sets the random trials (make crash-long runs
// 200). The last line printed is "crash trials: N, failures: F", also
// written to the file CANDOUR_CRASH_SUMMARY names, if set.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/candour/candour/datasets/faultpoint"
)

var crashTrialsFlag = flag.Int("crash.trials", 0, "random trials of TestCrash (0: $CANDOUR_CRASH_TRIALS, or 20)")

// crashRandomTrials is how many random trials to run.
func crashRandomTrials() int {
	if *crashTrialsFlag > 0 {
		return *crashTrialsFlag
	}
	if n, err := strconv.Atoi(os.Getenv("CANDOUR_CRASH_TRIALS")); err == nil && n >= 0 {
		return n
	}
	return 20
}

const (
	crashDataset  = "crash-admissions"
	crashPassword = "correct horse battery" // addAccounts's
	crashFile     = "admissions.csv"
)

const crashSchema = `{"fields": [
	{"name": "Code", "type": "string", "candour:role": "key", "constraints": {"required": true, "pattern": "[A-Z0-9]{3,5}"},
	 "candour:organisation": {"nameField": "Name"}},
	{"name": "Name", "type": "string", "candour:role": "dimension"},
	{"name": "Patients", "type": "integer", "candour:role": "measure", "candour:countOfIndividuals": true}],
	"candour:disclosure": {"rule": "nhs-digital"}}`

// crashCSV is the crash dataset's file: 1,500 providers outside the
// directory, every 50th with 3 patients (suppressed, the same in every
// version) and the rest with counts that seed changes (rounded to 5 in
// the public version, so a submission stores two blobs).
func crashCSV(seed int) string {
	var b strings.Builder
	b.WriteString("Code,Name,Patients\r\n")
	for i := 1; i <= 1500; i++ {
		n := 100 + 3*i + seed
		if i%50 == 0 {
			n = 3
		}
		fmt.Fprintf(&b, "Z%04d,CRASH TEST PROVIDER %d,%d\r\n", i, i, n)
	}
	return b.String()
}

// crashDescriptor describes a submission of the crash dataset whose title
// carries marker; corrects is the published version it corrects (0: none).
func crashDescriptor(marker string, corrects int) string {
	release := map[string]any{"title": "Crash admissions " + marker, "periodLabel": "Crash period " + marker,
		"periodStart": "2026-01-01", "periodEnd": "2026-01-31", "quality": map[string]string{"coverage": "Synthetic providers"}}
	if corrects > 0 {
		release["corrects"] = corrects
		release["correctionNotice"] = "Counts corrected (" + marker + ")."
	}
	d, _ := json.Marshal(map[string]any{
		"dataset": map[string]any{"slug": crashDataset, "title": "Crash admissions", "summary": "Synthetic admissions for the crash harness.",
			"publisher": map[string]string{"slug": "crash-stats", "name": "Crash Statistics"}, "topics": []string{"Hospitals"}},
		"release":   release,
		"resources": []map[string]any{{"name": "admissions", "path": crashFile, "schema": json.RawMessage(crashSchema)}},
	})
	return string(d)
}

// crashFixtures are the crash dataset's releases in the prepared folder.
type crashFixtures struct {
	published  int64 // version 1, published
	checked    int64 // version 2, checked: amended or cancelled
	approved   int64 // version 3, approved: scheduled and published
	correction int64 // version 4, approved, corrects version 1
}

// crashHarness is what every trial shares.
type crashHarness struct {
	bin   string // candour built with -tags crashtest
	base  string // the prepared data folder, copied for each trial
	work  string
	token string // crashpub's API token
	fix   crashFixtures
	// submitTime is how long a submission took while preparing: random
	// kills fall within a little more than that.
	submitTime time.Duration
	// startTime is how long a start took, measured by the trials.
	startTime atomic.Int64
	seq       atomic.Int64
	// stuck is a copy of base with a stuck draft (a submission killed at
	// submit.rows-stored), made once for the recovery trials.
	stuckOnce sync.Once
	stuck     string
	stuckErr  error

	mu       sync.Mutex
	trials   int
	failures []string
	// recovered counts restarts whose recovery found work.
	recovered atomic.Int64
	// took is how long each action's mutating step took when it finished
	// before the kill (a decaying maximum): random kills fall within it.
	took map[crashAction]time.Duration
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds candour and kills it dozens of times; skipped with -short")
	}
	began := time.Now()
	h := newCrashHarness(t)
	t.Logf("prepared in %s (binary %s, submission %s)", time.Since(began).Round(time.Millisecond), h.bin, h.submitTime.Round(time.Millisecond))

	trials := crashPointTrials()
	covered := map[string]bool{}
	for _, tr := range trials {
		name, _, _ := strings.Cut(tr.point, "#")
		covered[name] = true
	}
	for _, name := range faultpoint.Names {
		if !covered[name] {
			t.Errorf("fault point %s has no trial", name)
		}
	}
	random := crashRandomTrials()
	const chainLength = 10
	t.Run("trials", func(t *testing.T) {
		// A few trials at once, whatever -parallel says: much of a trial
		// is waiting (for fsyncs, an embargo, a process to start).
		workers := 3
		if n, err := strconv.Atoi(os.Getenv("CANDOUR_CRASH_WORKERS")); err == nil && n > 0 {
			workers = n
		}
		slots := make(chan struct{}, workers)
		var wg sync.WaitGroup
		trial := func(name string, fn func(t *testing.T)) {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				t.Run(name, fn)
			}()
		}
		// The chains first: they take longest.
		for chain := 0; chain*chainLength < random; chain++ {
			n := min(chainLength, random-chain*chainLength)
			trial(fmt.Sprintf("random-%d", chain+1), func(t *testing.T) { h.randomChain(t, chain, n) })
		}
		for _, tr := range trials {
			trial(tr.point, func(t *testing.T) { h.pointTrial(t, tr) })
		}
		wg.Wait()
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	summary := fmt.Sprintf("crash trials: %d, failures: %d", h.trials, len(h.failures))
	t.Logf("%d named points and %d random trials in %s; recovery had work to do at %d restarts", len(trials), random,
		time.Since(began).Round(time.Second), h.recovered.Load())
	for _, f := range h.failures {
		t.Logf("failed: %s", f)
	}
	fmt.Println(summary)
	if file := os.Getenv("CANDOUR_CRASH_SUMMARY"); file != "" {
		if err := os.WriteFile(file, []byte(summary+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// record counts a trial and whether it failed.
func (h *crashHarness) record(t *testing.T, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trials++
	if t.Failed() {
		h.failures = append(h.failures, name)
	}
}

// newCrashHarness builds the crashtest binary and prepares the data
// folder with it: the demo (loaded by candour demo, run as a separate
// process so that the race detector, if on, slows nothing but this test's
// own code), three accounts and an API token, and the crash dataset's four
// releases, driven through the HTTP API and workspace.
func newCrashHarness(t *testing.T) *crashHarness {
	t.Helper()
	work := t.TempDir()
	h := &crashHarness{work: work, bin: filepath.Join(work, "candour"), base: filepath.Join(work, "base"), took: map[crashAction]time.Duration{}}
	if out, err := exec.Command("go", "build", "-tags", "crashtest", "-o", h.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags crashtest: %v\n%s", err, out)
	}
	if !bytes.Contains(must(os.ReadFile(h.bin)), []byte("faultpoint: killing the process")) {
		t.Fatal("the binary was built without the crashtest fault points")
	}
	demo, err := h.startCommand("demo", h.base, "")
	if err != nil {
		t.Fatal(err)
	}
	defer demo.kill()
	addAccounts(t, h.base, []account{{"crashpub", "publisher", "crash-stats"}, {"crashrev1", "reviewer", ""}, {"crashrev2", "reviewer", "crash-panel"}})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"user", "token", "crashpub", "--label", "crash harness", "--data-dir", h.base}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("user token: %v %s", err, errOut.String())
	}
	m := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("user token printed no token:\n%s", out.String())
	}
	h.token = m[1]
	if err := h.prepare(demo.url); err != nil {
		t.Fatalf("%v\n%s", err, demo.stderr.tail(3000))
	}
	if err := demo.stop(); err != nil {
		t.Fatalf("stopping candour demo: %v", err)
	}
	return h
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// prepare stores the crash dataset's releases through a running server.
func (h *crashHarness) prepare(base string) error {
	pub, rev1, rev2 := newCrashClient(base, h.token), newCrashClient(base, ""), newCrashClient(base, "")
	for c, name := range map[*crashClient]string{pub: "crashpub", rev1: "crashrev1", rev2: "crashrev2"} {
		if err := c.login(name); err != nil {
			return err
		}
	}
	submit := func(seed, corrects int) (int64, error) {
		start := time.Now()
		id, err := pub.submit(fmt.Sprintf("FIXTURE%d", seed), crashCSV(seed), corrects)
		h.submitTime = max(h.submitTime, time.Since(start))
		return id, err
	}
	approve := func(id int64) error {
		if err := pub.action(id, "send-to-review", nil); err != nil {
			return err
		}
		for _, r := range []*crashClient{rev1, rev2} {
			if err := r.approve(id); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if h.fix.published, err = submit(1, 0); err != nil {
		return err
	}
	if err := approve(h.fix.published); err != nil {
		return err
	}
	embargo, err := pub.schedule(h.fix.published, time.Second)
	if err != nil {
		return err
	}
	time.Sleep(time.Until(embargo))
	for deadline := time.Now().Add(20 * time.Second); ; {
		status, _, err := pub.get(fmt.Sprintf("/datasets/%s/releases/1", crashDataset))
		if err == nil && status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the crash dataset's version 1 was not published within 20 s of its embargo (%d, %v)", status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if h.fix.checked, err = submit(2, 0); err != nil {
		return err
	}
	if h.fix.approved, err = submit(3, 0); err != nil {
		return err
	}
	if err := approve(h.fix.approved); err != nil {
		return err
	}
	if h.fix.correction, err = submit(4, 1); err != nil {
		return err
	}
	return approve(h.fix.correction)
}

// crashAction is something a trial does to the running server.
type crashAction string

const (
	actSubmit            crashAction = "submit"             // POST /api/v1/submissions
	actCorrect           crashAction = "correct"            // the same, correcting the newest published version
	actAmend             crashAction = "amend"              // the workspace's amend, on a checked release
	actCancel            crashAction = "cancel"             // the workspace's cancel, on a checked release
	actPublish           crashAction = "publish"            // schedule an approved release two seconds ahead
	actPublishCorrection crashAction = "publish-correction" // the same for an approved correction
	actRecovery          crashAction = "recovery"           // leave a stuck draft, then crash while recovering it
	actStartup           crashAction = "startup"            // kill the idle server, then kill it again while it starts
)

// crashPointTrial kills the process at one named point, reached by act.
type crashPointTrial struct {
	point  string
	act    crashAction
	expect func(h *crashHarness, rels map[int]crashRelease) error
}

func crashPointTrials() []crashPointTrial {
	var out []crashPointTrial
	add := func(act crashAction, expect func(*crashHarness, map[int]crashRelease) error, points ...string) {
		for _, p := range points {
			out = append(out, crashPointTrial{point: p, act: act, expect: expect})
		}
	}
	add(actSubmit, expectVersions(4), "blob.synced", "blob.before-rename", "blob.renamed", "blob.renamed#2", "blob.dir-synced",
		"disclosure.checked", "submit.blobs-stored", "submit.draft-created", "submit.rows-stored", "submit.before-commit")
	add(actSubmit, expectNew("checked"), "submit.after-commit")
	add(actCorrect, expectVersions(4), "correct.blobs-stored", "correct.draft-created", "correct.rows-stored", "correct.before-commit")
	add(actCorrect, expectNew("checked"), "correct.after-commit")
	add(actAmend, expectAmended(false), "amend.before-commit")
	add(actAmend, expectAmended(true), "amend.after-commit", "amend.rows-stored", "amend.derived-stored", "amend.finished")
	add(actPublish, expectState(3, "published"), "publish.before-commit", "publish.after-commit", "publish.notified")
	add(actPublishCorrection, expectCorrected, "publish-correction.before-commit", "publish-correction.after-commit", "publish-correction.notified")
	add(actCancel, expectState(2, "cancelled"), "cancel.after-commit")
	add(actRecovery, expectVersions(4), "recovery.draft-content-removed", "recovery.draft-removed", "recovery.before-sweep")
	return out
}

func expectVersions(n int) func(*crashHarness, map[int]crashRelease) error {
	return func(_ *crashHarness, rels map[int]crashRelease) error {
		if len(rels) != n {
			return fmt.Errorf("the crash dataset has %d releases, want %d (the crashed submission removed, or nothing stored)", len(rels), n)
		}
		return nil
	}
}

func expectNew(state string) func(*crashHarness, map[int]crashRelease) error {
	return func(_ *crashHarness, rels map[int]crashRelease) error {
		if r, ok := rels[5]; !ok || r.State != state {
			return fmt.Errorf("version 5 is %+v, want a %s release (its commit was done)", r, state)
		}
		return nil
	}
}

func expectState(version int, state string) func(*crashHarness, map[int]crashRelease) error {
	return func(_ *crashHarness, rels map[int]crashRelease) error {
		if rels[version].State != state {
			return fmt.Errorf("version %d is %q, want %s", version, rels[version].State, state)
		}
		return nil
	}
}

func expectCorrected(h *crashHarness, rels map[int]crashRelease) error {
	if rels[4].State != "published" || rels[1].State != "superseded" {
		return fmt.Errorf("the correction is %q and the release it corrects %q, want published and superseded", rels[4].State, rels[1].State)
	}
	return nil
}

// expectAmended checks version 2's original file: the amendment's bytes
// when its commit was done, the submission's otherwise.
func expectAmended(done bool) func(*crashHarness, map[int]crashRelease) error {
	return func(_ *crashHarness, rels map[int]crashRelease) error {
		seed := 2
		if done {
			seed = amendSeed
		}
		want := sha256.Sum256([]byte(crashCSV(seed)))
		if got := rels[2].Original; got != hex.EncodeToString(want[:]) {
			return fmt.Errorf("version 2's original file is %.12s, want %.12s (amended %v)", got, hex.EncodeToString(want[:]), done)
		}
		return nil
	}
}

// amendSeed makes the bytes a named amendment trial submits.
const amendSeed = 7

// pointTrial runs one named point on a fresh copy of the folder.
func (h *crashHarness) pointTrial(t *testing.T, tr crashPointTrial) {
	defer h.record(t, tr.point)
	var procs []*candourProc
	defer func() {
		for _, p := range procs {
			p.kill()
		}
		if t.Failed() {
			for i, p := range procs {
				t.Logf("process %d stderr:\n%s", i+1, p.stderr.tail(3000))
			}
		}
	}()

	var dir string
	marker := "STUCK"
	if tr.act == actRecovery {
		// Start on a folder with a stuck draft, and die recovering it.
		h.stuckOnce.Do(func() { h.stuck, h.stuckErr = h.stuckFolder() })
		if h.stuckErr != nil {
			t.Fatal(h.stuckErr)
		}
		dir = h.copyBase(t, h.stuck)
		p, err := h.start(dir, tr.point)
		if p == nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		if err == nil {
			t.Fatalf("start-up with a stuck draft did not die at %s", tr.point)
		}
		h.checkKilledAt(t, p, tr.point)
	} else {
		dir = h.copyBase(t, h.base)
		p, err := h.start(dir, tr.point)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		marker = fmt.Sprintf("P%d", h.seq.Add(1))
		actErr := make(chan error, 1)
		go func() { actErr <- h.act(p, tr.act, h.fixtureTarget(tr.act), marker, nil) }()
		if err := p.waitExit(40 * time.Second); err != nil {
			t.Fatalf("the process did not die at %s: %v", tr.point, err)
		}
		if err := <-actErr; err != nil && !isTransportError(err) {
			t.Errorf("%s, before the crash: %v", tr.act, err)
		}
		h.checkKilledAt(t, p, tr.point)
	}

	p, err := h.start(dir, "")
	if err != nil {
		t.Fatalf("restart after the crash: %v", err)
	}
	procs = append(procs, p)
	rels := h.check(t, dir, p, marker)
	if err := tr.expect(h, rels); err != nil {
		t.Error(err)
	}
	if tr.point == "submit.rows-stored" || tr.act == actRecovery {
		// The removed draft's version is the next submission's.
		id, err := newCrashClient(p.url, h.token).submit(fmt.Sprintf("AFTER%d", h.seq.Add(1)), crashCSV(11), 0)
		if err != nil {
			t.Errorf("a submission after recovery: %v", err)
		} else if got := h.releases(t, dir)[5]; got.ID != id {
			t.Errorf("the submission after recovery is %+v, want version 5 (release %d): the removed draft's version is reused", got, id)
		}
	}
	h.stopAndVerify(t, dir, p)
}

// stuckFolder makes a copy of the prepared folder holding a stuck draft:
// a submission killed at submit.rows-stored.
func (h *crashHarness) stuckFolder() (string, error) {
	dir, err := h.copyFolder(h.base)
	if err != nil {
		return dir, err
	}
	p, err := h.start(dir, "submit.rows-stored")
	if err != nil {
		return dir, err
	}
	defer p.kill()
	actErr := make(chan error, 1)
	go func() { actErr <- h.act(p, actSubmit, 0, "STUCK", nil) }()
	if err := p.waitExit(40 * time.Second); err != nil {
		return dir, fmt.Errorf("the process did not die at submit.rows-stored: %v", err)
	}
	if err := <-actErr; err != nil && !isTransportError(err) {
		return dir, err
	}
	if !p.killed() || !strings.Contains(p.stderr.String(), "killing the process at submit.rows-stored") {
		return dir, fmt.Errorf("the process ended with %v, not SIGKILL at submit.rows-stored:\n%s", p.state, p.stderr.tail(2000))
	}
	os.Remove(filepath.Join(dir, lockFile))
	return dir, nil
}

// fixtureTarget is the release a named trial's action works on.
func (h *crashHarness) fixtureTarget(act crashAction) int64 {
	switch act {
	case actAmend, actCancel:
		return h.fix.checked
	case actPublish:
		return h.fix.approved
	case actPublishCorrection:
		return h.fix.correction
	case actCorrect:
		return 1 // the version corrected
	}
	return 0
}

// checkKilledAt checks the process died of SIGKILL at the point.
func (h *crashHarness) checkKilledAt(t *testing.T, p *candourProc, point string) {
	t.Helper()
	if !p.killed() {
		t.Errorf("the process ended with %v, not SIGKILL", p.state)
	}
	name, _, _ := strings.Cut(point, "#")
	if !strings.Contains(p.stderr.String(), "faultpoint: killing the process at "+name) {
		t.Errorf("the process did not report dying at %s", point)
	}
}

// randomChain runs n random trials one after another on a copy of the
// folder: each kills the process at a random instant of a random action,
// starts it again, checks the folder (SQLite's integrity and the audit
// chain with the server running), and goes on with that process. After a
// failed trial the chain goes on from a fresh copy.
func (h *crashHarness) randomChain(t *testing.T, chain, n int) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(chain)))
	var dir string
	var p *candourProc
	var copies []string
	defer func() {
		for _, c := range copies {
			os.RemoveAll(c)
		}
	}()
	defer func() {
		if p != nil {
			p.kill()
		}
	}()
	for i := 1; i <= n; i++ {
		t.Run(fmt.Sprintf("trial-%d", i), func(t *testing.T) {
			defer h.record(t, fmt.Sprintf("random-%d/trial-%d", chain+1, i))
			var previous []*candourProc
			defer func() {
				if t.Failed() {
					for _, q := range append(previous, p) {
						if q != nil {
							t.Logf("stderr:\n%s", q.stderr.tail(3000))
						}
					}
					if p != nil {
						p.kill()
						p = nil
					}
				}
			}()
			if p == nil {
				var err error
				dir, err = h.copyFolder(h.base)
				copies = append(copies, dir)
				if err != nil {
					t.Fatal(err)
				}
				if p, err = h.start(dir, ""); err != nil {
					t.Fatal(err)
				}
			}
			act, target := h.randomAction(t, rng, dir)
			t.Logf("%s on release %d", act, target)
			var marker string
			if act == actStartup {
				p.kill()
				p.waitExit(10 * time.Second)
				previous = append(previous, p)
				started := time.Now()
				window := time.Duration(max(h.startTime.Load(), int64(2*time.Second)))
				q, err := h.startAsync(dir, "")
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rng.Int64N(int64(window))) - time.Since(started))
				q.kill()
				q.waitExit(10 * time.Second)
				previous = append(previous, q)
			} else {
				marker = h.killDuring(t, rng, p, act, target)
				previous = append(previous, p)
			}
			var err error
			if p, err = h.start(dir, ""); err != nil {
				t.Fatalf("restart after the crash: %v", err)
			}
			h.check(t, dir, p, marker)
			h.verifyStore(t, dir)
		})
	}
	if p != nil {
		if err := p.stop(); err != nil {
			t.Errorf("stopping the server: %v", err)
		}
		p = nil
	}
}

// randomAction picks an action the folder's state allows, and its target.
func (h *crashHarness) randomAction(t *testing.T, rng *rand.Rand, dir string) (crashAction, int64) {
	t.Helper()
	rels := h.releases(t, dir)
	var checked, approved, corrections []int64
	newest := 0
	for v, r := range rels {
		switch {
		case r.State == "checked":
			checked = append(checked, r.ID)
		case r.State == "approved" && r.Corrects == 0:
			approved = append(approved, r.ID)
		case r.State == "approved":
			corrections = append(corrections, r.ID)
		case r.State == "published":
			newest = max(newest, v)
		}
	}
	for {
		switch act := []crashAction{actSubmit, actSubmit, actCorrect, actAmend, actCancel, actPublish, actPublishCorrection, actStartup}[rng.IntN(8)]; act {
		case actSubmit, actStartup:
			return act, 0
		case actCorrect:
			if newest > 0 {
				return act, int64(newest)
			}
		case actAmend, actCancel:
			if len(checked) > 0 {
				return act, checked[rng.IntN(len(checked))]
			}
		case actPublish:
			if len(approved) > 0 {
				return act, approved[0]
			}
		case actPublishCorrection:
			if len(corrections) > 0 {
				return act, corrections[0]
			}
		}
	}
}

// killDuring runs an action and kills the process with SIGKILL at a random
// instant of the window the action names (the mutating request, or the
// embargo instant).
func (h *crashHarness) killDuring(t *testing.T, rng *rand.Rand, p *candourProc, act crashAction, target int64) (marker string) {
	t.Helper()
	marker = fmt.Sprintf("R%d", h.seq.Add(1))
	type window struct {
		from time.Time
		span time.Duration
	}
	armed := make(chan window, 1)
	result := make(chan error, 1)
	go func() {
		result <- h.act(p, act, target, marker, func(from time.Time, span time.Duration) {
			armed <- window{from, span}
		})
	}()
	var actErr error
	var w window
	finished := false
	select {
	case w = <-armed:
		sleep := time.Duration(rng.Int64N(int64(w.span)))
		select {
		case <-time.After(time.Until(w.from.Add(sleep))):
		case actErr = <-result:
			finished = true
			if actErr == nil && act != actPublish && act != actPublishCorrection {
				h.observe(act, time.Since(w.from))
			}
			time.Sleep(time.Until(w.from.Add(sleep))) // the kill lands after the action, as drawn
		}
	case actErr = <-result:
		finished = true
	case <-time.After(30 * time.Second):
		t.Errorf("%s never reached its mutating step", act)
	}
	p.kill()
	if err := p.waitExit(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !finished {
		actErr = <-result
	}
	if actErr != nil && !isTransportError(actErr) {
		t.Errorf("%s, before the kill: %v", act, actErr)
	}
	return marker
}

// observe records how long an action's mutating step took.
func (h *crashHarness) observe(act crashAction, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.took[act] = max(h.took[act]*9/10, d)
}

// span is the window for a random kill during an action's mutating step:
// a little more than it has been taking.
func (h *crashHarness) span(act crashAction) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.took[act]
	if d == 0 {
		d = h.submitTime
	}
	return d*6/5 + 100*time.Millisecond
}

// act does one action against a running server. arm, when not nil, is
// told when the action's mutating step starts and how long the window for
// a random kill is.
func (h *crashHarness) act(p *candourProc, act crashAction, target int64, marker string, arm func(time.Time, time.Duration)) error {
	if arm == nil {
		arm = func(time.Time, time.Duration) {}
	}
	c := newCrashClient(p.url, h.token)
	switch act {
	case actSubmit, actCorrect:
		arm(time.Now(), h.span(act))
		_, err := c.submit(marker, crashCSV(1000+int(h.seq.Add(1))), int(target))
		return err
	}
	if err := c.login("crashpub"); err != nil {
		return err
	}
	switch act {
	case actAmend:
		seed := amendSeed
		if marker[0] == 'R' {
			seed = 1000 + int(h.seq.Add(1))
		}
		arm(time.Now(), h.span(act))
		return c.amend(target, crashCSV(seed))
	case actCancel:
		arm(time.Now(), h.span(act))
		return c.action(target, "cancel", url.Values{"reason": {"cancelled by the crash harness " + marker}})
	case actPublish, actPublishCorrection:
		embargo, err := c.schedule(target, time.Second)
		arm(embargo.Add(-300*time.Millisecond), time.Second)
		return err
	}
	return fmt.Errorf("unknown action %s", act)
}

// isTransportError reports whether err is the request failing because the
// process died, rather than an answer.
func isTransportError(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// crashRelease is one release as the database holds it.
type crashRelease struct {
	ID       int64
	Dataset  string
	Version  int
	State    string
	Embargo  string
	Corrects int64
	Title    string
	Original string // SHA-256 of its first original file
	Public   map[string]crashFileRecord
}

type crashFileRecord struct {
	SHA256 string
	Rows   int64
}

// openDB opens a data folder's database for the harness's own reads.
func openDB(dir string) (*sql.DB, error) {
	return sql.Open("sqlite3", "file:"+filepath.Join(dir, databaseFile)+"?_busy_timeout=10000")
}

// allReleases reads every release with its files.
func allReleases(db *sql.DB) ([]crashRelease, error) {
	rows, err := db.Query(`SELECT r.id, d.slug, r.version, r.state, COALESCE(r.embargo_at, ''), COALESCE(r.corrects, 0), r.title
		FROM releases r JOIN datasets d ON d.id = r.dataset_id ORDER BY r.id`)
	if err != nil {
		return nil, err
	}
	var out []crashRelease
	for rows.Next() {
		r := crashRelease{Public: map[string]crashFileRecord{}}
		if err := rows.Scan(&r.ID, &r.Dataset, &r.Version, &r.State, &r.Embargo, &r.Corrects, &r.Title); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		files, err := db.Query(`SELECT name, role, sha256, rows FROM release_files WHERE release_id = ? ORDER BY id`, out[i].ID)
		if err != nil {
			return nil, err
		}
		for files.Next() {
			var name, role, sum string
			var n int64
			if err := files.Scan(&name, &role, &sum, &n); err != nil {
				files.Close()
				return nil, err
			}
			if role == "public" {
				out[i].Public[name] = crashFileRecord{SHA256: sum, Rows: n}
			} else if out[i].Original == "" {
				out[i].Original = sum
			}
		}
		files.Close()
	}
	return out, nil
}

// releases returns the crash dataset's releases by version.
func (h *crashHarness) releases(t *testing.T, dir string) map[int]crashRelease {
	t.Helper()
	db, err := openDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := allReleases(db)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]crashRelease{}
	for _, r := range all {
		if r.Dataset == crashDataset {
			out[r.Version] = r
		}
	}
	return out
}

// check runs every check a restarted server must pass, and returns the
// crash dataset's releases by version. markers are the title markers of
// the submissions the trial made: one that left no release must be found
// by no search.
func (h *crashHarness) check(t *testing.T, dir string, p *candourProc, markers ...string) map[int]crashRelease {
	t.Helper()
	db, err := openDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The scheduler publishes what fell due while the process was dead.
	var rels []crashRelease
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if rels, err = allReleases(db); err != nil {
			t.Fatal(err)
		}
		var due []string
		for _, r := range rels {
			if at, err := time.Parse(time.RFC3339Nano, r.Embargo); r.State == "scheduled" && err == nil && !at.After(time.Now()) {
				due = append(due, fmt.Sprintf("%s version %d", r.Dataset, r.Version))
			}
		}
		if len(due) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the scheduler did not publish what fell due within 20 s of the restart: %v", due)
			break
		}
	}

	checkStored(t, db, rels)
	checkBlobs(t, dir, rels)
	h.checkPublic(t, p, rels)
	h.checkGone(t, p, rels, markers)
	if strings.Contains(p.stderr.String(), "start-up recovery finished what a crash left") {
		h.recovered.Add(1)
	}

	out := map[int]crashRelease{}
	for _, r := range rels {
		if r.Dataset == crashDataset {
			out[r.Version] = r
		}
	}
	return out
}

// checkStored checks nothing is left half-stored in the database: no
// draft, no unfinished amendment, no gap in a dataset's versions, every
// live release's rows complete, no derived data of a release that is gone
// or cancelled, no dataset a stopped submission created.
func checkStored(t *testing.T, db *sql.DB, rels []crashRelease) {
	t.Helper()
	versions := map[string][]int{}
	live := map[int64]crashRelease{}
	for _, r := range rels {
		versions[r.Dataset] = append(versions[r.Dataset], r.Version)
		if r.State == "draft" {
			t.Errorf("%s version %d (release %d) is still a draft", r.Dataset, r.Version, r.ID)
		}
		if r.State != "cancelled" && r.State != "draft" {
			live[r.ID] = r
		}
	}
	for slug, vs := range versions {
		slices.Sort(vs)
		for i, v := range vs {
			if v != i+1 {
				t.Errorf("%s's versions are %v: a gap", slug, vs)
				break
			}
		}
	}
	var unfinished int
	if err := db.QueryRow(`SELECT COUNT(*) FROM workflow_unfinished`).Scan(&unfinished); err != nil {
		t.Fatal(err)
	}
	if unfinished > 0 {
		t.Errorf("%d releases are still marked unfinished", unfinished)
	}
	stored := map[int64]map[string]int64{}
	for _, q := range []string{`SELECT release_id, file_name, SUM(row_count) FROM row_blocks GROUP BY release_id, file_name`,
		`SELECT release_id, file_name, COUNT(*) FROM dataset_rows GROUP BY release_id, file_name`} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, n int64
			var name string
			if err := rows.Scan(&id, &name, &n); err != nil {
				t.Fatal(err)
			}
			if stored[id] == nil {
				stored[id] = map[string]int64{}
			}
			stored[id][name] += n
		}
		rows.Close()
	}
	for id, files := range stored {
		r, ok := live[id]
		if !ok {
			t.Errorf("the row store holds rows of release %d, which is gone or cancelled: %v", id, files)
			continue
		}
		for name, n := range files {
			if _, ok := r.Public[name]; !ok {
				t.Errorf("the row store holds rows of %s, which %s version %d does not have", name, r.Dataset, r.Version)
			} else if n != r.Public[name].Rows {
				t.Errorf("%s version %d: %s has %d rows stored, its record says %d", r.Dataset, r.Version, name, n, r.Public[name].Rows)
			}
		}
	}
	for _, r := range live {
		for name, f := range r.Public {
			if stored[r.ID][name] != f.Rows {
				t.Errorf("%s version %d: %s has %d rows stored, its record says %d", r.Dataset, r.Version, name, stored[r.ID][name], f.Rows)
			}
		}
	}
	for _, table := range []string{"observations", "indicator_definitions", "indicator_summaries", "audit_releases", "audit_outcomes"} {
		rows, err := db.Query(`SELECT DISTINCT release_id FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, ok := live[id]; !ok {
				t.Errorf("%s holds data of release %d, which is gone or cancelled", table, id)
			}
		}
		rows.Close()
	}
	var empty []string
	rows, err := db.Query(`SELECT slug FROM datasets d WHERE announced = 0
		AND NOT EXISTS (SELECT 1 FROM releases WHERE dataset_id = d.id)
		AND NOT EXISTS (SELECT 1 FROM calendar_entries WHERE dataset_id = d.id)
		AND NOT EXISTS (SELECT 1 FROM inventory_entries WHERE dataset_id = d.id)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var slug string
		rows.Scan(&slug)
		empty = append(empty, slug)
	}
	rows.Close()
	if len(empty) > 0 {
		t.Errorf("datasets with nothing in them, left by submissions: %v", empty)
	}
}

// checkBlobs checks the blob store holds exactly the files releases
// record, each whole, and no temporary file.
func checkBlobs(t *testing.T, dir string, rels []crashRelease) {
	t.Helper()
	recorded := map[string]bool{}
	db, err := openDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT DISTINCT sha256 FROM release_files`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sum string
		rows.Scan(&sum)
		recorded[sum] = true
	}
	rows.Close()
	onDisk := map[string]bool{}
	root := filepath.Join(dir, blobsDir)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(rel, "tmp"+string(filepath.Separator)) {
			t.Errorf("a temporary blob file is left: %s", rel)
			return nil
		}
		name := filepath.Base(path)
		onDisk[name] = true
		if !recorded[name] {
			t.Errorf("blob %s is stored but no release records it", name)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != name {
			t.Errorf("blob %s holds bytes that hash to %x", name, sum)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for sum := range recorded {
		if !onDisk[sum] {
			t.Errorf("a release records file %s, which the blob store lacks", sum)
		}
	}
}

// checkPublic checks every release is fully public or not at all: a
// published or superseded release's manifest lists its files, each
// downloadable with the manifest's SHA-256; a withdrawn one keeps its page
// but no file; any other answers 404 on its page, manifest, files and API,
// is not listed on its dataset's page, and its title is found by no search.
func (h *crashHarness) checkPublic(t *testing.T, p *candourProc, rels []crashRelease) {
	t.Helper()
	c := newCrashClient(p.url, "")
	listed := map[string][]int{}
	for _, r := range rels {
		prefix := fmt.Sprintf("/datasets/%s/releases/%d", r.Dataset, r.Version)
		switch r.State {
		case "published", "superseded":
			listed[r.Dataset] = append(listed[r.Dataset], r.Version)
			status, body, err := c.get(prefix + "/manifest.json")
			if err != nil || status != http.StatusOK {
				t.Errorf("%s/manifest.json: %d %v", prefix, status, err)
				continue
			}
			var m struct {
				Files []struct{ Name, URL, SHA256 string }
			}
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("%s/manifest.json: %v", prefix, err)
				continue
			}
			if len(m.Files) != len(r.Public) {
				t.Errorf("%s's manifest lists %d files, the release has %d", prefix, len(m.Files), len(r.Public))
			}
			for _, f := range m.Files {
				status, b, err := c.get(f.URL)
				sum := sha256.Sum256(b)
				if err != nil || status != http.StatusOK || hex.EncodeToString(sum[:]) != f.SHA256 || f.SHA256 != r.Public[f.Name].SHA256 {
					t.Errorf("%s: %d %v, bytes hash to %x; the manifest says %s, the record %s", f.URL, status, err, sum, f.SHA256, r.Public[f.Name].SHA256)
				}
			}
		case "withdrawn":
			listed[r.Dataset] = append(listed[r.Dataset], r.Version)
			for name := range r.Public {
				if status, _, _ := c.get(prefix + "/files/" + name); status != http.StatusNotFound {
					t.Errorf("%s/files/%s of a withdrawn release answers %d", prefix, name, status)
				}
			}
		default:
			paths := []string{prefix, prefix + "/manifest.json", fmt.Sprintf("/api/v1/datasets/%s/releases/%d", r.Dataset, r.Version)}
			for name := range r.Public {
				paths = append(paths, prefix+"/files/"+name)
			}
			for _, path := range paths {
				if status, _, err := c.get(path); err != nil || status != http.StatusNotFound {
					t.Errorf("%s (%s, not public) answers %d %v, want 404", path, r.State, status, err)
				}
			}
			if r.Dataset == crashDataset {
				marker := strings.TrimPrefix(r.Title, "Crash admissions ")
				status, body, err := c.get("/api/v1/search?q=" + url.QueryEscape(marker))
				if err != nil || status != http.StatusOK || strings.Contains(string(body), prefix+`"`) {
					t.Errorf("search for the %s release's title %q: %d %v, or it finds %s", r.State, marker, status, err, prefix)
				}
			}
		}
	}
	// The crash dataset's page lists exactly its public versions.
	if vs := listed[crashDataset]; len(vs) > 0 {
		status, body, err := c.get("/datasets/" + crashDataset)
		if err != nil || status != http.StatusOK {
			t.Errorf("/datasets/%s: %d %v", crashDataset, status, err)
		}
		var shown []int
		for _, m := range regexp.MustCompile(`/datasets/`+crashDataset+`/releases/(\d+)`).FindAllStringSubmatch(string(body), -1) {
			if v, _ := strconv.Atoi(m[1]); !slices.Contains(shown, v) {
				shown = append(shown, v)
			}
		}
		slices.Sort(shown)
		slices.Sort(vs)
		if !slices.Equal(shown, vs) {
			t.Errorf("/datasets/%s links to versions %v, want the public ones %v", crashDataset, shown, vs)
		}
	}
}

// checkGone checks that a submission that left no release (removed by
// recovery, or never stored) is found by no search, and that the version
// after the newest answers 404.
func (h *crashHarness) checkGone(t *testing.T, p *candourProc, rels []crashRelease, markers []string) {
	t.Helper()
	c := newCrashClient(p.url, "")
	newest := 0
	for _, r := range rels {
		if r.Dataset == crashDataset {
			newest = max(newest, r.Version)
		}
	}
	next := fmt.Sprintf("/datasets/%s/releases/%d", crashDataset, newest+1)
	if status, _, err := c.get(next); err != nil || status != http.StatusNotFound {
		t.Errorf("%s, the version after the newest, answers %d %v", next, status, err)
	}
	for _, m := range markers {
		if m == "" || slices.ContainsFunc(rels, func(r crashRelease) bool { return strings.HasSuffix(r.Title, " "+m) }) {
			continue
		}
		for _, path := range []string{"/api/v1/search?q=", "/search?q="} {
			status, body, err := c.get(path + url.QueryEscape(m))
			if err != nil || status != http.StatusOK || strings.Contains(string(body), "/datasets/"+crashDataset+"/releases/") {
				t.Errorf("%s%s, a submission that left no release: %d %v, or it finds a release", path, m, status, err)
			}
		}
	}
}

// stopAndVerify stops the server, then checks SQLite's integrity and the
// audit chain.
func (h *crashHarness) stopAndVerify(t *testing.T, dir string, p *candourProc) {
	t.Helper()
	if err := p.stop(); err != nil {
		t.Errorf("stopping the restarted server: %v", err)
	}
	h.verifyStore(t, dir)
}

// verifyStore runs PRAGMA integrity_check on every SQLite file of the
// folder, and candour audit verify, the command an operator uses (both
// work beside a running server).
func (h *crashHarness) verifyStore(t *testing.T, dir string) {
	t.Helper()
	snapshots := filepath.Join(dir, publicDir) + string(filepath.Separator)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // an old public snapshot, removed by the running server while we walk
		}
		if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), snapshotBuildPrefix) {
			return fs.SkipDir // a public snapshot being built: never read, removed at start if unfinished
		}
		if err != nil || d.IsDir() || !crashIsSQLite(path) {
			return err
		}
		// A public snapshot's database is never written once made (read
		// nodes open it immutable); opening it so creates nothing if the
		// server removes it meanwhile.
		dsn := "file:" + path + "?_busy_timeout=10000"
		if strings.HasPrefix(path, snapshots) {
			dsn = "file:" + path + "?mode=ro&immutable=1"
		}
		db, err := sql.Open("sqlite3", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		var result string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
			if _, statErr := os.Stat(path); errors.Is(statErr, fs.ErrNotExist) {
				return nil
			}
			t.Errorf("PRAGMA integrity_check on %s: %q %v", path, result, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	out, err := exec.Command(h.bin, "audit", "verify", "--data-dir", dir, "--log-level", "warn").CombinedOutput()
	if err != nil {
		t.Errorf("candour audit verify: %v\n%s", err, out)
	}
}

// crashIsSQLite reports whether a file starts with SQLite's header.
func crashIsSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	return n == 16 && string(head) == "SQLite format 3\x00"
}

// copyBase copies a prepared folder for a trial (removed when t ends).
func (h *crashHarness) copyBase(t *testing.T, src string) string {
	t.Helper()
	dst, err := h.copyFolder(src)
	t.Cleanup(func() { os.RemoveAll(dst) })
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// copyFolder copies a prepared folder.
func (h *crashHarness) copyFolder(src string) (string, error) {
	dst, err := os.MkdirTemp(h.work, "trial-")
	if err != nil {
		return "", err
	}
	// Public snapshots for read nodes are written again at every start,
	// and the lock belongs to the folder copied from.
	err = copyTree(src, dst, func(rel string, d fs.DirEntry) bool {
		return d.IsDir() && (rel == publicDir || strings.HasPrefix(rel, snapshotBuildPrefix)) || rel == lockFile
	})
	return dst, err
}

// candourProc is candour serve running as a separate process.
type candourProc struct {
	cmd     *exec.Cmd
	url     string
	stderr  *syncBuffer
	serving chan string // its address once it serves; closed when its output ends
	exited  chan struct{}
	state   *os.ProcessState
}

// syncBuffer is a bytes.Buffer safe for one writer and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

var servingLine = regexp.MustCompile(`Candour is serving (http://\S+) `)

// startAsync starts candour serve on dir, with CANDOUR_CRASH_AT=crashAt
// when crashAt is not empty, and returns at once.
func (h *crashHarness) startAsync(dir, crashAt string) (*candourProc, error) {
	return h.startCommandAsync("serve", dir, crashAt)
}

// startCommandAsync starts candour serve or demo.
func (h *crashHarness) startCommandAsync(command, dir, crashAt string) (*candourProc, error) {
	// No materialised pages: rendering the demo's 7,000 scorecards behind
	// every server a crash test starts would take a core from the test.
	cmd := exec.Command(h.bin, command, "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-level", "warn",
		"--page-cache=false", "--api-rate", "0", "--materialise-pages=false")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CANDOUR_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if crashAt != "" {
		cmd.Env = append(cmd.Env, faultpoint.EnvVar+"="+crashAt)
	}
	p := &candourProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				serving <- m[1]
			}
		}
		close(serving)
	}()
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	p.serving = serving
	return p, nil
}

// start starts candour serve and waits until it serves; an error if it
// exits first.
func (h *crashHarness) start(dir, crashAt string) (*candourProc, error) {
	return h.startCommand("serve", dir, crashAt)
}

// startCommand starts candour serve or demo and waits until it serves.
func (h *crashHarness) startCommand(command, dir, crashAt string) (*candourProc, error) {
	began := time.Now()
	p, err := h.startCommandAsync(command, dir, crashAt)
	if err != nil {
		return nil, err
	}
	select {
	case u, ok := <-p.serving:
		if !ok {
			<-p.exited
			return p, fmt.Errorf("candour %s exited before serving (%v):\n%s", command, p.state, p.stderr.tail(3000))
		}
		p.url = u
		if command == "serve" {
			h.startTime.Store(int64(time.Since(began)))
		}
		return p, nil
	case <-time.After(5 * time.Minute):
		p.kill()
		return p, fmt.Errorf("candour %s did not serve within 5 minutes:\n%s", command, p.stderr.tail(3000))
	}
}

// kill sends SIGKILL (once the process has exited, nothing).
func (p *candourProc) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
	}
}

// waitExit waits for the process to end.
func (p *candourProc) waitExit(timeout time.Duration) error {
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("still running after %s", timeout)
	}
}

// killed reports whether the process died of SIGKILL.
func (p *candourProc) killed() bool {
	if p.state == nil {
		return false
	}
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// stop asks the server to stop (SIGTERM) and waits for a clean exit.
func (p *candourProc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.waitExit(30 * time.Second); err != nil {
		p.kill()
		return err
	}
	if !p.state.Success() {
		return fmt.Errorf("exited with %v:\n%s", p.state, p.stderr.tail(2000))
	}
	return nil
}

// crashClient talks to a server as a browser and as an API client.
type crashClient struct {
	base    string
	token   string
	cookies map[string]string
	client  *http.Client
}

func newCrashClient(base, token string) *crashClient {
	return &crashClient{base: base, token: token, cookies: map[string]string{}, client: &http.Client{
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *crashClient) do(req *http.Request) (int, []byte, http.Header, error) {
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return resp.StatusCode, body, resp.Header, err
}

func (c *crashClient) get(path string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	status, body, _, err := c.do(req)
	return status, body, err
}

func (c *crashClient) postForm(path string, form url.Values) (int, []byte, http.Header, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *crashClient) postMultipart(path string, fields map[string]string, files [][3]string, bearer bool) (int, []byte, http.Header, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files { // field, file name, content
		fw, err := mw.CreateFormFile(f[0], f[1])
		if err != nil {
			return 0, nil, nil, err
		}
		fw.Write([]byte(f[2]))
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.base+path, &body)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if bearer {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.do(req)
}

var crashCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *crashClient) csrf(path string) (string, error) {
	status, page, err := c.get(path)
	if err != nil {
		return "", err
	}
	m := crashCSRF.FindSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("GET %s: %d, no anti-forgery token", path, status)
	}
	return string(m[1]), nil
}

func (c *crashClient) login(username string) error {
	token, err := c.csrf("/account/login")
	if err != nil {
		return err
	}
	status, body, h, err := c.postForm("/account/login", url.Values{"csrf": {token}, "username": {username},
		"password": {crashPassword}, "next": {"/workspace"}})
	if err != nil {
		return err
	}
	if status != http.StatusSeeOther || h.Get("Location") != "/workspace" {
		return fmt.Errorf("login as %s: %d %.300s", username, status, body)
	}
	return nil
}

// submit posts a submission through the API and returns the release id.
func (c *crashClient) submit(marker, csv string, corrects int) (int64, error) {
	status, body, _, err := c.postMultipart("/api/v1/submissions", nil,
		[][3]string{{"descriptor", "submission.json", crashDescriptor(marker, corrects)}, {crashFile, crashFile, csv}}, true)
	if err != nil {
		return 0, err
	}
	if status != http.StatusCreated {
		return 0, fmt.Errorf("submission %s: %d %.500s", marker, status, body)
	}
	var created struct{ ID int64 }
	if err := json.Unmarshal(body, &created); err != nil {
		return 0, fmt.Errorf("submission %s: %v", marker, err)
	}
	return created.ID, nil
}

// action posts a workspace action on a release, expecting a redirect.
func (c *crashClient) action(id int64, action string, form url.Values) error {
	token, err := c.csrf("/workspace")
	if err != nil {
		return err
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", token)
	status, body, _, err := c.postForm(fmt.Sprintf("/workspace/releases/%d/%s", id, action), form)
	if err != nil {
		return err
	}
	if status != http.StatusSeeOther {
		return fmt.Errorf("%s on release %d: %d %.500s", action, id, status, body)
	}
	return nil
}

var crashFiles = regexp.MustCompile(`name="files" value="([^"]*)"`)

// approve records an approval, bound to the files the review page shows.
func (c *crashClient) approve(id int64) error {
	_, page, err := c.get(fmt.Sprintf("/workspace/releases/%d", id))
	if err != nil {
		return err
	}
	form := url.Values{"decision": {"approve"}, "files": {"[]"}}
	if m := crashFiles.FindSubmatch(page); m != nil {
		form.Set("files", html.UnescapeString(string(m[1])))
	}
	for i := 1; i <= 7; i++ {
		form.Set(fmt.Sprintf("consideration-%d", i), "Considered by the crash harness.")
	}
	acceptAll(form, string(page))
	return c.action(id, "review", form)
}

// schedule sets an approved release's embargo at least ahead from now
// (the form takes whole seconds) and returns the instant.
func (c *crashClient) schedule(id int64, ahead time.Duration) (time.Time, error) {
	token, err := c.csrf("/workspace")
	if err != nil {
		return time.Time{}, err
	}
	embargo := time.Now().Add(ahead + time.Second).Truncate(time.Second)
	local := embargo.In(london())
	status, body, _, err := c.postForm(fmt.Sprintf("/workspace/releases/%d/schedule", id), url.Values{"csrf": {token},
		"date": {local.Format("2006-01-02")}, "time": {local.Format("15:04:05")}})
	if err == nil && status != http.StatusSeeOther {
		err = fmt.Errorf("schedule release %d: %d %.500s", id, status, body)
	}
	return embargo, err
}

// amend replaces a release's file through the workspace.
func (c *crashClient) amend(id int64, csv string) error {
	token, err := c.csrf("/workspace")
	if err != nil {
		return err
	}
	status, body, _, err := c.postMultipart(fmt.Sprintf("/workspace/releases/%d/amend", id),
		map[string]string{"csrf": token, "note": "Amended by the crash harness."},
		[][3]string{{"csv-1", crashFile, csv}, {"schema-1", "admissions.schema.json", crashSchema}}, false)
	if err != nil {
		return err
	}
	if status != http.StatusSeeOther {
		return fmt.Errorf("amend release %d: %d %.500s", id, status, body)
	}
	return nil
}
