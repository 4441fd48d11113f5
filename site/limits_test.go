package site

import (
	"runtime"
	"testing"
	"time"
)

// The concurrency limit left unset scales with the CPUs (four a CPU), and
// one that is set is kept.
func TestMaxInFlightDefaultScalesWithCPUs(t *testing.T) {
	for _, c := range []struct{ set, want int }{
		{0, 4 * runtime.NumCPU()},
		{-3, 4 * runtime.NumCPU()},
		{5, 5},
	} {
		cfg := Config{MaxInFlight: c.set}
		cfg.limitsOr()
		if cfg.MaxInFlight != c.want {
			t.Errorf("MaxInFlight %d: got %d after defaults, want %d", c.set, cfg.MaxInFlight, c.want)
		}
	}
}

// turns lets n holders in, makes the next wait up to the queue wait and
// then refuses it, and lets a waiter in as soon as a turn is given back.
func TestTurns(t *testing.T) {
	tr := newTurns(1, 30*time.Millisecond)
	if !tr.take() {
		t.Fatal("the first take of one turn failed")
	}
	start := time.Now()
	if tr.take() {
		t.Fatal("a second take of one turn succeeded")
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("a refused take waited %s, want the queue wait of 30ms", waited)
	}
	tr.wait = 5 * time.Second
	got := make(chan bool)
	go func() { got <- tr.take() }()
	time.Sleep(10 * time.Millisecond)
	tr.give()
	select {
	case ok := <-got:
		if !ok {
			t.Error("a waiter was refused although a turn was given back")
		}
	case <-time.After(2 * time.Second):
		t.Error("a waiter did not get the turn given back")
	}
}

func TestExportStreams(t *testing.T) {
	for _, c := range []struct{ inFlight, want int }{{1, 1}, {2, 1}, {8, 4}, {9, 4}, {64, 32}} {
		if got := exportStreams(c.inFlight); got != c.want {
			t.Errorf("exportStreams(%d) = %d, want %d", c.inFlight, got, c.want)
		}
	}
}

// A submission's work may last as long as its upload may; every other
// request's is bounded by requestTimeout.
func TestWorkTimeout(t *testing.T) {
	s := &Site{cfg: Config{UploadReadTimeout: 30 * time.Minute}}
	for _, c := range []struct {
		method, path string
		want         time.Duration
	}{
		{"POST", "/api/v1/submissions", 30 * time.Minute},
		{"POST", "/workspace/submit", 30 * time.Minute},
		{"POST", "/workspace/releases/12/amend", 30 * time.Minute},
		{"POST", "/workspace/releases/12/cancel", requestTimeout},
		{"GET", "/api/v1/submissions", requestTimeout},
		{"POST", "/account/login", requestTimeout},
		{"GET", "/datasets", requestTimeout},
	} {
		if got := s.workTimeout(c.method, c.path); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.path, got, c.want)
		}
	}
}

// The routes that take files: the submission routes and a release's
// amendment, each proved by a session or a token before the body is read.
func TestUploadRoutes(t *testing.T) {
	for path, want := range map[string]bool{
		"/workspace/submit": true, "/api/v1/submissions": true, "/workspace/releases/7/amend": true,
		"/workspace/releases/7/amend/x": false, "/workspace/releases/x/amend": false, "/account/login": false, "/workspace/announce": false,
	} {
		if _, got := uploadRoute(path); got != want {
			t.Errorf("uploadRoute(%q): %t, want %t", path, got, want)
		}
	}
}
