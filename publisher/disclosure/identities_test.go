package disclosure

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIdentitiesDenseAgreesWithMaps numbers the same random identities
// with the dense array on and off: the same pairs must always get the same
// number and different pairs different numbers, including identities with
// a value first seen after the array was made and with a field that is
// not an identity field (which go to the maps).
func TestIdentitiesDenseAgreesWithMaps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
	}{
		{"dense", 1 << 20},
		{"array too large: maps only", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tc.limit)))
			x := newIdentities(0)
			fields := []uint32{x.field("age"), x.field("practice"), x.field("sex")}
			for _, f := range fields {
				for v := range 5 {
					x.value(f, fmt.Sprint("v", v))
				}
			}
			x.useDense(fields, tc.limit)
			if got := x.dense.ids != nil; got != (tc.limit > 1000) {
				t.Fatalf("dense array made: %v", got)
			}
			late := x.field("parent") // not an identity field
			byKey := map[string]int32{}
			byID := map[int32]string{}
			for range 4000 {
				var pairs []idPair
				for _, f := range append(slices.Clone(fields), late) {
					if rng.IntN(3) == 0 {
						continue // the field is left out (a total value)
					}
					pairs = append(pairs, idPair{f, x.value(f, fmt.Sprint("v", rng.IntN(8)))}) // values 5–7 are new
				}
				pairs = x.inOrder(pairs)
				key := fmt.Sprint(pairs)
				id := x.of(pairs)
				if old, ok := byKey[key]; ok && old != id {
					t.Fatalf("%s numbered %d and then %d", key, old, id)
				}
				if other, ok := byID[id]; ok && other != key {
					t.Fatalf("%s and %s both numbered %d", key, other, id)
				}
				byKey[key], byID[id] = id, key
			}
			if len(byKey) < 100 {
				t.Fatalf("only %d distinct identities drawn", len(byKey))
			}
		})
	}
}
