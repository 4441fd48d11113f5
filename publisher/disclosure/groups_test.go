package disclosure

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The dense and hashed groupings number the same groups in the same order
// (first appearance), whatever the keys.
func TestGroupingsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 14))
	for trial := range 200 {
		n := 1 + rng.IntN(300)
		radix := uint64(1 + rng.IntN(2*n))
		keys := make([]uint64, n)
		for r := range keys {
			keys[r] = rng.Uint64N(radix)
		}
		keyOf := func(r int) uint64 { return keys[r] }
		dense, dn := groupsDense(keyOf, radix, make([]int32, n))
		hashed, hn := groupsHashed(keyOf, make([]int32, n))
		if dn != hn || !slices.Equal(dense, hashed) {
			t.Fatalf("trial %d: dense %v (%d groups), hashed %v (%d groups)", trial, dense, dn, hashed, hn)
		}
		for r := range keys {
			for s := range keys {
				if (keys[r] == keys[s]) != (dense[r] == dense[s]) {
					t.Fatalf("trial %d: rows %d and %d have keys %d and %d but groups %d and %d", trial, r, s, keys[r], keys[s], dense[r], dense[s])
				}
			}
		}
	}
}
