//go:build crashtest

package faultpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Enabled reports whether this build kills the process at fault points.
const Enabled = true

var (
	target, nth = parse(os.Getenv(EnvVar))
	hits        atomic.Int64
)

// parse reads "name" or "name#N".
func parse(v string) (string, int64) {
	name, count, ok := strings.Cut(v, "#")
	if !ok {
		return name, 1
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "faultpoint: %s=%q: the count after # must be a positive number; no point will fire\n", EnvVar, v)
		return "", 0
	}
	return name, n
}

// Hit kills the process with SIGKILL when CANDOUR_CRASH_AT names this
// point and this is the hit it counts to. It never returns then.
func Hit(name string) {
	if target == "" || name != target {
		return
	}
	if hits.Add(1) != nth {
		return
	}
	fmt.Fprintf(os.Stderr, "faultpoint: killing the process at %s (hit %d)\n", name, nth)
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Kill() // SIGKILL on Unix: nothing deferred runs
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultpoint: %v\n", err)
		os.Exit(137)
	}
	for {
		time.Sleep(time.Second) // the signal arrives; never carry on
	}
}
