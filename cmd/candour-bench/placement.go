package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
)

// A placement says which CPUs a comparison's servers and its client run
// on, as command prefixes (taskset's), nil for "wherever the kernel puts
// them".
//
// The download comparison (one 200 MB file at a time over loopback) puts
// both servers on the first CPU and curl on the last. Unplaced, on a
// machine of two CPUs, the kernel moves curl, the server and the TCP work
// between the two from one download to the next, so the client's work
// falls on whichever server's CPU it lands on. Measured here with both
// servers' copies synced (export.go), the ratio was 0.88–0.97× unplaced
// and 0.95–1.02× placed over six runs each; most of the spread earlier
// stops saw (nginx's own rate moving by a third between runs) was
// nginx's copy being written back while it was timed, not placement.
// Both servers get the same CPU, so the comparison stays like for like;
// a Go server on one CPU runs with GOMAXPROCS 1, as it would on a
// one-CPU allotment. As on two machines, the client's work no longer
// falls on the server's CPU.
type placement struct {
	server, client []string
}

// downloadPlacement is the download comparison's placement: servers on
// CPU 0, the client on the last CPU, when there are two CPUs or more
// and taskset (util-linux) is there; otherwise none.
func downloadPlacement() placement {
	cpus := runtime.NumCPU()
	if cpus < 2 {
		return placement{}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return placement{}
	}
	return placement{
		server: []string{"taskset", "-c", "0"},
		client: []string{"taskset", "-c", strconv.Itoa(cpus - 1)},
	}
}

// describe says where the placement puts the servers and the client.
func (p placement) describe() string {
	if p.server == nil {
		return "(servers and client on any CPU: fewer than two CPUs, or no taskset)"
	}
	return fmt.Sprintf("(servers on CPU %s, curl on CPU %s)", p.server[len(p.server)-1], p.client[len(p.client)-1])
}

// commandOn is the command name args run through prefix.
func commandOn(prefix []string, name string, args ...string) *exec.Cmd {
	if len(prefix) == 0 {
		return exec.Command(name, args...)
	}
	return exec.Command(prefix[0], append(append(prefix[1:len(prefix):len(prefix)], name), args...)...)
}
