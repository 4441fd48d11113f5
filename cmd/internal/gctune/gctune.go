// Package gctune sets the garbage collector's percentage for Candour's
// binaries, for the life of the process. It owns nothing else and must
// not be imported by a library package: the setting is the process's.
//
// candour calls Tune at start, so every command (serve, publish,
// migrate-to-clickhouse) runs under it; candour-bench calls it too, so
// that what it measures in its own process (disclosure control, the
// ClickHouse ingest) runs under the settings candour would run it with.
package gctune

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go collects when the heap has grown by GOGC per cent
// (100) of what survived the last collection. A serving node keeps little
// alive between requests (tens of megabytes), so it collected every few
// tens of megabytes allocated: a 5-million-row export allocates a
// gigabyte as it streams, and an uncached scorecard a few megabytes, and
// collecting took about a sixth of the process's time. So while the live
// heap is small Candour lets it grow by up to 300 per cent, and as the
// live heap grows (disclosure control of a large release holds gigabytes)
// the percentage falls towards Go's 100, so that no collection lets the
// heap grow more than gcHeadroom beyond what Go's default would.
//
// Measured on this project's benchmarks (2 CPUs), before and after:
// uncached scorecards 193 → 241 a second; a ClickHouse export 0.77–0.80×
// → 0.87–0.96× clickhouse-client; the server's resident memory about
// 100 MB higher. GOGC, when set, is left to the runtime.
const (
	gcMaxPercent = 300
	gcHeadroom   = 384 << 20 // bytes
	gcInterval   = time.Second
)

// gcPercentFor is the collection percentage for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	return int(max(100, min(gcMaxPercent, 100+gcHeadroom*100/live)))
}

// nextGCPercent is the percentage to set when current is set and the live
// heap is live bytes: current, unless the right one differs by a tenth of
// it or more (so that a heap hovering at a boundary does not reset it
// every second).
func nextGCPercent(current int, live uint64) int {
	want := gcPercentFor(live)
	if diff := want - current; diff*10 >= current || -diff*10 >= current {
		return want
	}
	return current
}

// Tune keeps the collection percentage right for the live heap, checking
// every gcInterval for the life of the process, unless GOGC is set.
func Tune(getenv func(string) string) {
	if getenv("GOGC") != "" {
		return
	}
	current := gcPercentFor(0)
	debug.SetGCPercent(current)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for range time.Tick(gcInterval) {
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			if next := nextGCPercent(current, sample[0].Value.Uint64()); next != current {
				debug.SetGCPercent(next)
				current = next
			}
		}
	}()
}
