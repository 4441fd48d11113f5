package disclosure

import (
	"slices"
	"testing"
)

// layOut gives each block one run of the slab, in the order the blocks
// first come, with the block's entries in the order they came, and
// leaves its working counts at zero for the next call.
func TestLayOutRunsByBlockInOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks []int // an entry's block; its value is its index
		runs   map[int][]int
	}{
		{"none", nil, map[int][]int{}},
		{"one block", []int{4, 4, 4}, map[int][]int{4: {0, 1, 2}}},
		{"interleaved", []int{3, 1, 3, 2, 1, 3}, map[int][]int{3: {0, 2, 5}, 1: {1, 4}, 2: {3}}},
		{"each once", []int{0, 5, 2}, map[int][]int{0: {0}, 5: {1}, 2: {2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBlocks(6)
			slab := make([]int, len(tc.blocks))
			runs := map[int][2]int32{}
			var firsts []int
			b.layOut(func(yield func(int, int)) {
				for i, r := range tc.blocks {
					yield(r, i)
				}
			}, func(r int, from, to int32) {
				if _, ok := runs[r]; ok {
					t.Errorf("block %d told its run twice", r)
				}
				runs[r] = [2]int32{from, to}
				firsts = append(firsts, r)
			}, func(at int32, v int) { slab[at] = v })
			for r, want := range tc.runs {
				run := runs[r]
				if got := slab[run[0]:run[1]]; !slices.Equal(got, want) {
					t.Errorf("block %d: %v, want %v", r, got, want)
				}
			}
			if len(runs) != len(tc.runs) {
				t.Errorf("%d runs, want %d", len(runs), len(tc.runs))
			}
			for i := 1; i < len(firsts); i++ {
				if runs[firsts[i]][0] != runs[firsts[i-1]][1] {
					t.Errorf("runs not laid out one after another in the order blocks first came: %v", runs)
				}
			}
			if slices.ContainsFunc(b.counts, func(c int32) bool { return c != 0 }) {
				t.Errorf("working counts left at %v", b.counts)
			}
		})
	}
}

// compensatorsFor remembers its answers by a block's leads: every block
// gets the answer worked out for it alone, never itself.
func TestCompensatorsForRemembersOnlyWhatHoldsForEveryBlock(t *testing.T) {
	const n = 60
	build := func() *blocks {
		b := newBlocks(n)
		up, down, odd := make([]int, 0, n), make([]int, 0, n), []int{}
		for r := range n {
			up = append(up, r)
			down = append(down, n-1-r)
			if r%2 == 1 {
				odd = append(odd, r)
			}
		}
		b.giants = []giant{{order: up}, {order: up}, {order: down}, {order: odd}}
		b.giantRun = make([]termSpan, n)
		for r := range n {
			from := int32(len(b.giantSlab))
			for gi, g := range b.giants {
				if slices.Contains(g.order, r) {
					b.giantSlab = append(b.giantSlab, gi)
				}
			}
			b.giantRun[r] = termSpan{from, int32(len(b.giantSlab))}
		}
		b.findLeads()
		return b
	}
	shared := build()
	for r := range n {
		got := shared.compensatorsFor(r)
		want := build().compensatorsFor(r) // nothing remembered yet
		if !slices.Equal(got, want) {
			t.Errorf("block %d: %v, worked out alone %v", r, got, want)
		}
		if slices.Contains(got, r) || len(got) != compensators {
			t.Errorf("block %d: compensators %v", r, got)
		}
	}
	if len(shared.chosen) == 0 {
		t.Error("nothing remembered")
	}
}
