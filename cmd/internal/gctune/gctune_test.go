package gctune

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	cases := []struct {
		live uint64
		want int
	}{
		{0, 300},
		{40 * mb, 300},       // a serving node
		{192 * mb, 300},      // 384 MB of headroom is 200 per cent: the most
		{384 * mb, 200},      // … is 100 per cent more than Go's default
		{1024 * mb, 137},     // 100 + 384/1024
		{8 * 1024 * mb, 104}, // disclosure control of a large release
		{1 << 50, 100},       // never below Go's default
	}
	for _, c := range cases {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", c.live/mb, got, c.want)
		}
	}
}

func TestNextGCPercent(t *testing.T) {
	const mb = 1 << 20
	cases := []struct {
		name    string
		current int
		live    uint64
		want    int
	}{
		{"small heap keeps the most", 300, 50 * mb, 300},
		{"a large heap lowers it", 300, 2048 * mb, 118},
		{"a heap that shrinks raises it again", 118, 50 * mb, 300},
		{"a change under a tenth is left alone", 300, 200 * mb, 300}, // wants 292
		{"a change of a tenth or more is made", 200, 300 * mb, 228},
		{"hovering just below a tenth is left alone", 137, 1000 * mb, 137}, // wants 138
	}
	for _, c := range cases {
		if got := nextGCPercent(c.current, c.live); got != c.want {
			t.Errorf("%s: nextGCPercent(%d, %d MB) = %d, want %d", c.name, c.current, c.live/mb, got, c.want)
		}
	}
}

// The metric Tune reads must exist in this Go, with the kind it expects
// (and, once a collection has run, a value).
func TestLiveHeapMetricExists(t *testing.T) {
	keep := make([]byte, 1<<20)
	runtime.GC()
	runtime.KeepAlive(keep)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 || sample[0].Value.Uint64() == 0 {
		t.Fatalf("/gc/heap/live:bytes: kind %v, value %v", sample[0].Value.Kind(), sample[0].Value)
	}
}
