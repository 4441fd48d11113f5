package main

import (
	"slices"
	"testing"
)

func TestCommandOn(t *testing.T) {
	prefix := []string{"taskset", "-c", "0"}
	for _, tc := range []struct {
		name   string
		prefix []string
		want   []string
	}{
		{"no placement", nil, []string{"curl", "-sS", "u"}},
		{"placed", prefix, []string{"taskset", "-c", "0", "curl", "-sS", "u"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := commandOn(tc.prefix, "curl", "-sS", "u").Args; !slices.Equal(got, tc.want) {
				t.Errorf("args %q, want %q", got, tc.want)
			}
		})
	}
	// One prefix serves every command placed with it.
	commandOn(prefix, "nginx", "-c", "conf")
	if !slices.Equal(prefix, []string{"taskset", "-c", "0"}) {
		t.Errorf("the prefix became %q", prefix)
	}
}

func TestDownloadPlacementSeparatesServersFromClient(t *testing.T) {
	p := downloadPlacement()
	if p.server == nil {
		t.Skip("fewer than two CPUs or no taskset: nothing is placed")
	}
	if slices.Equal(p.server, p.client) {
		t.Errorf("servers and client on the same CPUs: %q", p.server)
	}
}
