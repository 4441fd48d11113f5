package disclosure

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// propagate narrows random systems to the same bounds as narrowing every
// term of every equation by the others' extremes, sweep after sweep, until
// nothing changes (the fixpoint is unique), and finds the same systems
// infeasible; its skipping of equations with room to spare must change
// nothing. (A system whose bounds can climb without end, through
// unbounded variables, is left out: both would go on for ever.)
func TestPropagateReachesTheFixpointOfNaiveNarrowing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 11))
	coefs := []int64{-2, -1, -1, 1, 1, 2}
	narrowed, infeasible := 0, 0
	for trial := range 20000 {
		n := 2 + rng.IntN(5)
		var eqs []ieq
		for range 1 + rng.IntN(4) {
			vars := rng.Perm(n)[:1+rng.IntN(n)]
			eq := ieq{vars: vars, rhs: int64(rng.IntN(25)) - 4}
			for range vars {
				eq.coefs = append(eq.coefs, coefs[rng.IntN(len(coefs))])
			}
			eqs = append(eqs, eq)
		}
		lo, hi := make([]int64, n), make([]int64, n)
		for v := range n {
			lo[v] = int64(rng.IntN(6))
			hi[v] = lo[v] + int64(rng.IntN(9))
			if rng.IntN(6) == 0 {
				hi[v] = unbounded
			}
		}
		wantLo, wantHi := slices.Clone(lo), slices.Clone(hi)
		wantOK, settled := naivePropagate(eqs, wantLo, wantHi)
		if !settled {
			continue
		}
		switch {
		case !wantOK:
			infeasible++
		case !slices.Equal(lo, wantLo) || !slices.Equal(hi, wantHi):
			narrowed++
		}
		s := newISys(n, eqs, 1<<30)
		ok, err := s.propagate(lo, hi, allChanged)
		if err != nil {
			t.Fatal(err)
		}
		if ok != wantOK || ok && (!slices.Equal(lo, wantLo) || !slices.Equal(hi, wantHi)) {
			t.Fatalf("trial %d, %+v: propagate gives %v %v %v, naive narrowing %v %v %v", trial, eqs, ok, lo, hi, wantOK, wantLo, wantHi)
		}
	}
	if narrowed < 2000 || infeasible < 2000 {
		t.Errorf("only %d systems narrowed and %d infeasible: the test needs more of both", narrowed, infeasible)
	}
}

// naivePropagate narrows lo and hi by each term of each equation in turn
// until nothing changes; false when a variable's bounds cross. settled is
// false when it gave up after many sweeps.
func naivePropagate(eqs []ieq, lo, hi []int64) (ok, settled bool) {
	for sweep, changed := 0, true; changed; sweep++ {
		if sweep == 200 {
			return true, false
		}
		changed = false
		for _, eq := range eqs {
			for i, v := range eq.vars {
				// The others' sum lies in [omin, omax] (omaxInf: no top,
				// ominInf: no bottom).
				var omin, omax int64
				ominInf, omaxInf := false, false
				for j, u := range eq.vars {
					if j == i {
						continue
					}
					a := eq.coefs[j]
					switch {
					case a > 0:
						omin += a * lo[u]
						if hi[u] == unbounded {
							omaxInf = true
						} else {
							omax += a * hi[u]
						}
					default:
						omax += a * lo[u]
						if hi[u] == unbounded {
							ominInf = true
						} else {
							omin += a * hi[u]
						}
					}
				}
				// a·x = rhs − others, in [rhs − omax, rhs − omin].
				a := eq.coefs[i]
				low, lowOK := eq.rhs-omax, !omaxInf   // a·x ≥ low
				high, highOK := eq.rhs-omin, !ominInf // a·x ≤ high
				if a < 0 {
					// x ≤ low/a and x ≥ high/a
					if lowOK {
						if h := floorDiv(low, a); hi[v] == unbounded || h < hi[v] {
							hi[v], changed = h, true
						}
					}
					if highOK {
						if l := ceilDiv(high, a); l > lo[v] {
							lo[v], changed = l, true
						}
					}
				} else {
					if lowOK {
						if l := ceilDiv(low, a); l > lo[v] {
							lo[v], changed = l, true
						}
					}
					if highOK {
						if h := floorDiv(high, a); hi[v] == unbounded || h < hi[v] {
							hi[v], changed = h, true
						}
					}
				}
				if hi[v] != unbounded && lo[v] > hi[v] {
					return false, true
				}
				if lo[v] > 1<<20 { // climbing without end
					return true, false
				}
			}
		}
	}
	return true, true
}
