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

// The last identity field is the least significant digit of the array's
// numbers: rows of a sorted file, which differ first in their last
// columns, have numbers next to each other.
func TestDenseNumbersRiseByOneInTheLastField(t *testing.T) {
	x := newIdentities(0)
	fields := []uint32{x.field("period"), x.field("practice"), x.field("sex")}
	for _, f := range fields {
		for v := range 4 {
			x.value(f, fmt.Sprint("v", v))
		}
	}
	x.useDense(fields, 1<<20)
	number := func(period, practice, sex uint32) uint64 {
		n, ok := x.denseNumber([]idPair{{fields[0], period}, {fields[1], practice}, {fields[2], sex}})
		if !ok {
			t.Fatal("no dense number")
		}
		return n
	}
	if a, b := number(2, 1, 0), number(2, 1, 1); b != a+1 {
		t.Errorf("the next sex is %d on from %d, want 1", b-a, a)
	}
	if a, b := number(2, 1, 3), number(2, 2, 3); b-a != 5 { // sex has 4 values and none
		t.Errorf("the next practice is %d on, want 5", b-a)
	}
}
