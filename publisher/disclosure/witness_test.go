package disclosure

import (
	"math"
	"math/rand/v2"
	"testing"
)

// satisfies reports whether x is within lo and hi and satisfies every
// equation of s.
func satisfies(s *isys, x, lo, hi []int64) bool {
	for i := range x {
		if x[i] < lo[i] || hi[i] != unbounded && x[i] > hi[i] {
			return false
		}
	}
	for _, eq := range s.eqs {
		sum := int64(0)
		for i, v := range eq.vars {
			sum += eq.coefs[i] * x[v]
		}
		if sum != eq.rhs {
			return false
		}
	}
	return true
}

// anySolution enumerates every point within lo and hi (small bounds only).
func anySolution(s *isys, lo, hi []int64) bool {
	x := make([]int64, len(lo))
	var walk func(i int) bool
	walk = func(i int) bool {
		if i == len(x) {
			return satisfies(s, x, lo, hi)
		}
		for x[i] = lo[i]; x[i] <= hi[i]; x[i]++ {
			if walk(i + 1) {
				return true
			}
		}
		return false
	}
	return walk(0)
}

// A witness is a solution: whatever the search claims, the point it
// leaves satisfies every equation and bound, and it never claims a
// solution where brute-force enumeration finds none. Random small systems
// of ±1 equations (margins and parts), random bounds and random starting
// points, feasible and infeasible alike.
func TestWitnessIsSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	found, infeasible := 0, 0
	for trial := range 3000 {
		n := 3 + rng.IntN(4)
		var eqs []ieq
		for range 1 + rng.IntN(3) {
			var e ieq
			for v := range n {
				if rng.IntN(2) == 0 {
					e.vars = append(e.vars, v)
					e.coefs = append(e.coefs, []int64{-1, 1}[rng.IntN(2)])
				}
			}
			if len(e.vars) == 0 {
				continue
			}
			e.rhs = int64(rng.IntN(7) - 3)
			eqs = append(eqs, e)
		}
		lo, hi, base := make([]int64, n), make([]int64, n), make([]int64, n)
		for i := range n {
			lo[i] = int64(rng.IntN(3))
			hi[i] = lo[i] + int64(rng.IntN(4))
			base[i] = int64(rng.IntN(6))
		}
		s := newISys(n, eqs, 1e6)
		s.setBase(base)
		exists := anySolution(s, lo, hi)
		if !exists {
			infeasible++
		}
		ok := s.witness(lo, hi)
		// The moves counted and kept (see mostConstrained) are still
		// right, whatever the search moved and moved back.
		for ei, n := range s.w.moves {
			if want := s.countMoves(s.w, ei); n >= 0 && int(n) != want {
				t.Fatalf("trial %d: equation %d kept %d moves, has %d", trial, ei, n, want)
			}
		}
		if !ok {
			continue
		}
		found++
		if !satisfies(s, s.w.x, lo, hi) {
			t.Fatalf("trial %d: witness %v is not a solution of %+v within %v–%v", trial, s.w.x, eqs, lo, hi)
		}
		if !exists {
			t.Fatalf("trial %d: witness claimed for a system with no solution", trial)
		}
	}
	if found < 500 || infeasible < 100 {
		t.Fatalf("the trials did not exercise both cases: %d witnesses, %d infeasible systems", found, infeasible)
	}
}

// The case the witness search is for: a practice's 2×2 table with its
// margins, published rounded, and a national relation through a
// compensating practice (everything else held at its true values). Moving
// a suppressed cell by two needs its row and column margins, the grand
// total and the compensating practice's four cells to move too; the
// witness finds that point at once, where the exact search would fix
// every unknown in turn.
func TestWitnessFindsTheCompensatingMove(t *testing.T) {
	// Unknowns 0–3: practice A's cells a, b (row 1), c, d (row 2);
	// 4, 5: row margins; 6, 7: column margins; 8: grand total. 9–17: the
	// same for practice B. Margin equations within each practice, and
	// A + B = constant for each of the nine cells (the national row).
	truth := []int64{5, 40, 30, 25, 45, 55, 35, 65, 100}
	var eqs []ieq
	for p := range 2 {
		o := 9 * p
		eqs = append(eqs,
			ieq{vars: []int{o + 4, o, o + 1}, coefs: []int64{1, -1, -1}},
			ieq{vars: []int{o + 5, o + 2, o + 3}, coefs: []int64{1, -1, -1}},
			ieq{vars: []int{o + 6, o, o + 2}, coefs: []int64{1, -1, -1}},
			ieq{vars: []int{o + 7, o + 1, o + 3}, coefs: []int64{1, -1, -1}},
			ieq{vars: []int{o + 8, o + 4, o + 5}, coefs: []int64{1, -1, -1}},
		)
	}
	for i := range 9 {
		eqs = append(eqs, ieq{vars: []int{i, 9 + i}, coefs: []int64{1, 1}, rhs: 2 * truth[i]})
	}
	lo, hi, base := make([]int64, 18), make([]int64, 18), make([]int64, 18)
	for i := range 18 {
		base[i] = truth[i%9]
		lo[i], hi[i] = base[i]-2, base[i]+2 // rounded to the nearest 5
	}
	lo[0], hi[0] = 7, 7 // is the suppressed cell's 5 really 7?
	s := newISys(18, eqs, 1e6)
	s.setBase(base)
	if !s.witness(lo, hi) {
		t.Fatal("no witness for a cell two above its true value, though the margins have room")
	}
	if !satisfies(s, s.w.x, lo, hi) || s.w.x[9] != 3 || s.w.x[8] != 102 {
		t.Fatalf("witness %v: want cell 7, its grand total 102 and the compensating cell 3", s.w.x)
	}
	if s.w.nodes > 20 {
		t.Errorf("the witness took %d nodes; the move touches 8 unknowns", s.w.nodes)
	}
	lo[0], hi[0] = 8, 8 // three above: the compensating practice's cell (5, published as 5: 3–7) cannot give three
	if s.witness(lo, hi) {
		t.Fatalf("witness %v claimed beyond the compensating cell's room", s.w.x)
	}
	if ok, err := s.feasible(lo, hi, 0); err != nil || ok {
		t.Fatalf("exact search: feasible %v, err %v; want no solution", ok, err)
	}
}

func TestFloorAndCeilDivRoundDownAndUp(t *testing.T) {
	for a := int64(-13); a <= 13; a++ {
		for _, b := range []int64{-7, -3, -2, -1, 1, 2, 3, 7} {
			q := float64(a) / float64(b)
			if got, want := floorDiv(a, b), int64(math.Floor(q)); got != want {
				t.Errorf("floorDiv(%d, %d) = %d, want %d", a, b, got, want)
			}
			if got, want := ceilDiv(a, b), int64(math.Ceil(q)); got != want {
				t.Errorf("ceilDiv(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
}
