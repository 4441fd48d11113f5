package site

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/publisher"
)

// Submissions from the workspace form run in the background. The form
// waits up to SubmitWait for the checks: a small submission answers as
// it always did (its release page, or the form with its problems). A
// larger one answers with a progress page that names the stage — checking
// each file's cells, disclosure control, storing rows, computing
// indicators — and reloads itself until the work is done, then shows the
// release or the form with its problems. The work goes on if the browser
// goes away; its outcome is kept for submitJobTTL, for the person who
// submitted it only.

const (
	// DefaultSubmitWait is how long the submit form waits before showing
	// the progress page.
	DefaultSubmitWait = 2 * time.Second
	submitJobTTL      = time.Hour
)

// submitJob is one submission running or finished.
type submitJob struct {
	id, owner string
	started   time.Time
	done      chan struct{} // closed when finished

	mu         sync.Mutex
	step       string
	stepDone   int64
	stepTotal  int64
	steps      []string // steps begun, in order
	finishedAt time.Time
	release    int64       // the stored release, when accepted
	page       *submitPage // the form to show again, when refused or checked only
	status     int
	err        error // an unexpected failure
}

func (j *submitJob) progress(step string, done, total int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if step != j.step {
		j.steps = append(j.steps, step)
	}
	j.step, j.stepDone, j.stepTotal = step, done, total
}

// submitJobs holds the running and recently finished submissions.
type submitJobs struct {
	mu   sync.Mutex
	jobs map[string]*submitJob
}

func (js *submitJobs) start(owner string, work func(progress publisher.Progress) (int64, *submitPage, int, error)) *submitJob {
	b := make([]byte, 16)
	rand.Read(b)
	j := &submitJob{id: hex.EncodeToString(b), owner: owner, started: time.Now(), done: make(chan struct{})}
	js.mu.Lock()
	if js.jobs == nil {
		js.jobs = map[string]*submitJob{}
	}
	for id, old := range js.jobs {
		old.mu.Lock()
		expired := !old.finishedAt.IsZero() && time.Since(old.finishedAt) > submitJobTTL
		old.mu.Unlock()
		if expired {
			delete(js.jobs, id)
		}
	}
	js.jobs[j.id] = j
	js.mu.Unlock()
	go func() {
		release, page, status, err := work(j.progress)
		j.mu.Lock()
		j.release, j.page, j.status, j.err, j.finishedAt = release, page, status, err, time.Now()
		j.mu.Unlock()
		close(j.done)
	}()
	return j
}

func (js *submitJobs) get(id, owner string) (*submitJob, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.jobs[id]
	if !ok || j.owner != owner {
		return nil, false
	}
	return j, true
}

// answer responds with a finished job's outcome.
func (s *Site) answerJob(c *fiber.Ctx, j *submitJob) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if j.page != nil {
		page := *j.page
		page.layout = s.wsLayout(c, "Submit a release")
		c.Status(j.status)
		return s.render(c, "workspace_submit", page)
	}
	return back(c, j.release, "submitted")
}

type progressPage struct {
	layout
	Step            string
	StepDone, Total int64
	Steps           []string
	Elapsed         time.Duration
}

// submissionProgress shows a running submission's stage, or its outcome
// once it has finished.
func (s *Site) submissionProgress(c *fiber.Ctx) error {
	j, ok := s.jobs.get(c.Params("job"), session(c).Actor.Username)
	if !ok {
		return errNotFound
	}
	select {
	case <-j.done:
		return s.answerJob(c, j)
	default:
	}
	j.mu.Lock()
	page := progressPage{layout: s.wsLayout(c, "Checking your submission"), Step: j.step, StepDone: j.stepDone, Total: j.stepTotal,
		Steps: append([]string(nil), j.steps...), Elapsed: time.Since(j.started).Round(time.Second)}
	j.mu.Unlock()
	c.Set("Refresh", "2")
	return s.render(c, "workspace_progress", page)
}

// runSubmission starts the form's submission in the background and waits
// up to SubmitWait for it.
func (s *Site) runSubmission(c *fiber.Ctx, work func(ctx context.Context, progress publisher.Progress) (int64, *submitPage, int, error)) error {
	j := s.jobs.start(session(c).Actor.Username, func(progress publisher.Progress) (int64, *submitPage, int, error) {
		return work(context.Background(), progress)
	})
	select {
	case <-j.done:
		return s.answerJob(c, j)
	case <-time.After(s.cfg.SubmitWait):
		return c.Redirect(fmt.Sprintf("/workspace/submissions/%s", j.id), http.StatusSeeOther)
	}
}
