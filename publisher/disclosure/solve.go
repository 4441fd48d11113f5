package disclosure

import (
	"errors"
	"math"
	"slices"
	"sync"
)

// unbounded stands for +∞ as an upper bound of the integer solver.
const unbounded = math.MaxInt64

// errBudget is returned when exact search runs out of its node budget.
var errBudget = errors.New("exact search budget exhausted")

// ieq is a linear equation Σ coefs[i]·x[vars[i]] = rhs over integers.
type ieq struct {
	vars  []int
	coefs []int64
	rhs   int64
}

// isys is a system of integer equations with bounds, solved exactly by
// search with bound propagation.
type isys struct {
	n      int
	eqs    []ieq
	varEqs [][]int
	nodes  int
	budget int
	bufs   [][2][]int64 // scratch bounds by search depth (see scratch)
	queue  []int        // propagate's work list, reused
	queued []bool
	// varCoefs[v][k] is unknown v's coefficient in equation varEqs[v][k].
	varCoefs  [][]int64
	base      []int64 // where witness searches start (see witness.go)
	baseRes   []int64 // each equation's residual at base (see baseResiduals)
	baseResOK bool
	exLo      []int64 // extremes' working bounds, reused
	exHi      []int64
	root      rootBounds
	seen      seenRange // the values solutions of the root bounds were found at
	w         *witnessState
	// Buffers kept from one solve to the next (see reset).
	counts   []int
	eqSlab   []int
	coefSlab []int64
}

func newISys(n int, eqs []ieq, budget int) *isys {
	s := new(isys)
	s.reset(n, eqs, budget)
	return s
}

// isysPool keeps solvers between solves, with their buffers: a release of
// millions of rows is audited in tens of thousands of small solves.
var isysPool = sync.Pool{New: func() any { return new(isys) }}

// reset makes s a solver of eqs over n unknowns, reusing its buffers.
func (s *isys) reset(n int, eqs []ieq, budget int) {
	s.n, s.eqs, s.budget, s.nodes, s.base, s.baseResOK = n, eqs, budget, 0, nil, false
	s.varEqs, s.varCoefs = sized(s.varEqs, n), sized(s.varCoefs, n)
	s.counts = sized(s.counts, n)
	total := 0
	for _, eq := range eqs {
		for _, v := range eq.vars {
			s.counts[v]++
			total++
		}
	}
	s.eqSlab, s.coefSlab = sized(s.eqSlab, total), sized(s.coefSlab, total)
	at := 0
	for v, c := range s.counts {
		s.varEqs[v], s.varCoefs[v] = s.eqSlab[at:at:at+c], s.coefSlab[at:at:at+c]
		at += c
	}
	for ei, eq := range eqs {
		for i, v := range eq.vars {
			if k := len(s.varEqs[v]) - 1; k >= 0 && s.varEqs[v][k] == ei {
				s.varCoefs[v][k] += eq.coefs[i]
				continue
			}
			s.varEqs[v] = append(s.varEqs[v], ei)
			s.varCoefs[v] = append(s.varCoefs[v], eq.coefs[i])
		}
	}
	s.queue, s.queued = s.queue[:0], sized(s.queued, len(eqs))
	s.exLo, s.exHi = sized(s.exLo, n), sized(s.exHi, n)
	s.root.valid = false
	s.seen.any = false
	if s.w != nil {
		s.w.x, s.w.res, s.w.locked = sized(s.w.x, n), sized(s.w.res, len(eqs)), sized(s.w.locked, n)
		s.w.at, s.w.open = sized(s.w.at, len(eqs)), s.w.open[:0]
	}
}

// sized returns x with length n and every element zero, reusing its array
// when it is large enough.
func sized[T any](x []T, n int) []T {
	if cap(x) < n {
		return make([]T, n)
	}
	x = x[:n]
	clear(x)
	return x
}

// floorDiv and ceilDiv divide rounding down and up. The coefficients of
// the audit's relations are mostly ±1, which need no division.
func floorDiv(a, b int64) int64 {
	switch b {
	case 1:
		return a
	case -1:
		return -a
	}
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	switch b {
	case 1:
		return a
	case -1:
		return -a
	}
	q := a / b
	if (a%b != 0) && ((a < 0) == (b < 0)) {
		q++
	}
	return q
}

// allChanged, as propagate's changed variable, starts from every
// equation.
const allChanged = -1

// propagate narrows lo and hi to a fixpoint of bound consistency; it
// reports false when some equation cannot hold. changed is the one
// variable whose bounds moved since lo and hi were last at a fixpoint
// (only its equations can narrow anything), or allChanged.
func (s *isys) propagate(lo, hi []int64, changed int) (bool, error) {
	if len(s.queued) != len(s.eqs) {
		s.queued = make([]bool, len(s.eqs))
	}
	queue, queued := s.queue[:0], s.queued
	defer func() {
		clear(queued)
		s.queue = queue[:0]
	}()
	if changed == allChanged {
		for i := range s.eqs {
			queue = append(queue, i)
			queued[i] = true
		}
	} else {
		for _, ei := range s.varEqs[changed] {
			queue = append(queue, ei)
			queued[ei] = true
		}
	}
	steps := 0
	for head := 0; head < len(queue); head++ {
		ei := queue[head]
		queued[ei] = false
		if steps++; steps%64 == 0 {
			if s.nodes++; s.nodes > s.budget {
				return false, errBudget
			}
		}
		eq := s.eqs[ei]
		var sumMin, sumMax, widest int64
		minInf, maxInf := 0, 0
		for i, v := range eq.vars {
			a := eq.coefs[i]
			if a > 0 {
				sumMin += a * lo[v]
				if hi[v] == unbounded {
					maxInf++
				} else {
					sumMax += a * hi[v]
					widest = max(widest, a*(hi[v]-lo[v]))
				}
			} else {
				sumMax += a * lo[v]
				if hi[v] == unbounded {
					minInf++
				} else {
					sumMin += a * hi[v]
					widest = max(widest, -a*(hi[v]-lo[v]))
				}
			}
		}
		if minInf == 0 && sumMin > eq.rhs || maxInf == 0 && sumMax < eq.rhs {
			return false, nil
		}
		// A term's bounds narrow only when the range of its contribution
		// is wider than the equation's slack on one side (the others'
		// extremes then leave it less room): with every term finite and
		// none that wide, nothing narrows, which is most visits.
		if minInf == 0 && maxInf == 0 && widest <= min(sumMax-eq.rhs, eq.rhs-sumMin) {
			continue
		}
		for i, v := range eq.vars {
			a := eq.coefs[i]
			// The range of this term's contribution.
			var cmin, cmax int64
			cminInf, cmaxInf := false, false
			if a > 0 {
				cmin = a * lo[v]
				if hi[v] == unbounded {
					cmaxInf = true
				} else {
					cmax = a * hi[v]
				}
			} else {
				cmax = a * lo[v]
				if hi[v] == unbounded {
					cminInf = true
				} else {
					cmin = a * hi[v]
				}
			}
			// Others' range.
			othersMaxInf := maxInf-b2i(cmaxInf) > 0
			othersMinInf := minInf-b2i(cminInf) > 0
			othersMax := sumMax - cmax
			othersMin := sumMin - cmin
			newLo, newHi := lo[v], hi[v]
			if a > 0 {
				if !othersMaxInf {
					newLo = max(newLo, ceilDiv(eq.rhs-othersMax, a))
				}
				if !othersMinInf {
					h := floorDiv(eq.rhs-othersMin, a)
					if newHi == unbounded || h < newHi {
						newHi = h
					}
				}
			} else {
				if !othersMinInf { // a·x ≤ rhs − othersMin
					newLo = max(newLo, ceilDiv(eq.rhs-othersMin, a))
				}
				if !othersMaxInf { // a·x ≥ rhs − othersMax
					h := floorDiv(eq.rhs-othersMax, a)
					if newHi == unbounded || h < newHi {
						newHi = h
					}
				}
			}
			if newHi != unbounded && newLo > newHi {
				return false, nil
			}
			if newLo != lo[v] || newHi != hi[v] {
				lo[v], hi[v] = newLo, newHi
				for _, ej := range s.varEqs[v] {
					if !queued[ej] {
						queued[ej] = true
						queue = append(queue, ej)
					}
				}
				// The sums used by later terms are now stale; revisit.
				if !queued[ei] {
					queued[ei] = true
					queue = append(queue, ei)
				}
			}
		}
	}
	return true, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// feasible reports whether some integer point within lo and hi satisfies
// every equation; changed is as for propagate. It does not change lo and
// hi.
func (s *isys) feasible(lo, hi []int64, changed int) (bool, error) {
	return s.feasibleAt(lo, hi, 0, changed)
}

// scratch returns the two buffers of search depth d, reused from one
// search to the next: a frame uses only its own depth's buffers, and
// deeper frames have returned before it reads them again.
func (s *isys) scratch(d int) ([]int64, []int64) {
	for len(s.bufs) <= d {
		s.bufs = append(s.bufs, [2][]int64{})
	}
	if b := &s.bufs[d]; cap(b[0]) < s.n {
		b[0], b[1] = make([]int64, s.n), make([]int64, s.n)
	}
	return s.bufs[d][0][:s.n], s.bufs[d][1][:s.n]
}

func (s *isys) feasibleAt(lo, hi []int64, depth, changed int) (bool, error) {
	if s.nodes++; s.nodes > s.budget {
		return false, errBudget
	}
	l, h := s.scratch(depth)
	copy(l, lo)
	copy(h, hi)
	ok, err := s.propagate(l, h, changed)
	if err != nil || !ok {
		return false, err
	}
	if depth == 0 && s.witness(l, h) {
		s.seen.note(s.w.x)
		return true, nil
	}
	best, width := -1, int64(0)
	for v := 0; v < s.n; v++ {
		w := int64(unbounded)
		if h[v] != unbounded {
			w = h[v] - l[v]
		}
		if w > 0 && (best < 0 || w < width) {
			best, width = v, w
		}
	}
	if best < 0 {
		s.seen.note(l)
		return true, nil // every variable fixed, every equation checked by propagation
	}
	var mid int64
	if h[best] == unbounded {
		mid = l[best] + max(16, l[best])
	} else {
		mid = l[best] + (h[best]-l[best])/2
	}
	saved := h[best]
	h[best] = mid
	if ok, err := s.feasibleAt(l, h, depth+1, best); ok || err != nil {
		return ok, err
	}
	h[best], l[best] = saved, mid+1
	return s.feasibleAt(l, h, depth+1, best)
}

func clone64(x []int64) []int64 { return append([]int64(nil), x...) }

// bigValue is the value above which a variable is taken to be unbounded.
const bigValue = int64(1) << 40

// extremes returns the least and greatest value of variable j over all
// integer solutions (hiUnb when there is no greatest), or ok false when
// there is none.
func (s *isys) extremes(j int, lo, hi []int64) (minV, maxV int64, hiUnb, ok bool, err error) {
	lo, hi, ok, err = s.propagated(lo, hi)
	if !ok || err != nil {
		return 0, 0, false, false, err
	}
	// with narrows x_j to [l, h] for one feasibility test (feasible copies
	// its bounds before searching) and puts x_j's bounds back.
	with := func(l, h int64) (bool, error) {
		loJ, hiJ := lo[j], hi[j]
		defer func() { lo[j], hi[j] = loJ, hiJ }()
		lo[j] = max(l, loJ)
		if h != unbounded && (hiJ == unbounded || h < hiJ) {
			hi[j] = h
		}
		if hi[j] != unbounded && lo[j] > hi[j] {
			return false, nil
		}
		return s.feasible(lo, hi, j)
	}
	if ok, err := s.rootFeasible(func() (bool, error) { return with(lo[j], hi[j]) }); !ok || err != nil {
		return 0, 0, false, false, err
	}
	if minV, err = s.least(j, lo[j], hi[j], with); err != nil {
		return 0, 0, false, false, err
	}
	maxV, hiUnb, err = s.greatest(j, minV, hi[j], with)
	if err != nil {
		return 0, 0, false, false, err
	}
	return minV, maxV, hiUnb, true, nil
}

// seenRange is, for each unknown, the least and greatest value it takes
// in the solutions feasibility tests have found since the root bounds were
// last set (see propagated). Every such solution is a solution of the root
// bounds, since a test only narrows them, so a value in the range is
// possible: least and greatest start their searches from it and jump to
// the value a feasible test's solution took rather than the bound they
// asked for, which saves most of the tests of a binary search, and a
// target whose solution is already at its propagated bound needs none.
type seenRange struct {
	any    bool
	lo, hi []int64
}

// note widens the range with solution x.
func (r *seenRange) note(x []int64) {
	if !r.any {
		r.lo, r.hi = append(r.lo[:0], x...), append(r.hi[:0], x...)
		r.any = true
		return
	}
	for i, v := range x {
		r.lo[i] = min(r.lo[i], v)
		r.hi[i] = max(r.hi[i], v)
	}
}

// rootBounds remembers the bounds given to extremes and what propagating
// them gave: every target of a solve starts from the same bounds.
type rootBounds struct {
	valid    bool    // lo and hi are a call's
	lo, hi   []int64 // as given
	plo, phi []int64 // propagated
	ok       bool
	err      error
	feasible int8 // whether the propagated bounds hold a solution: 0 unknown, 1 no, 2 yes
}

// rootFeasible is test() (a feasibility test of the propagated bounds),
// run once for all the calls of extremes given the same bounds.
func (s *isys) rootFeasible(test func() (bool, error)) (bool, error) {
	if s.root.feasible != 0 {
		return s.root.feasible == 2, nil
	}
	ok, err := test()
	if err == nil {
		s.root.feasible = 1
		if ok {
			s.root.feasible = 2
		}
	}
	return ok, err
}

// propagated returns a working copy of lo and hi propagated to a fixpoint
// (propagating once for all the calls given the same bounds).
func (s *isys) propagated(lo, hi []int64) ([]int64, []int64, bool, error) {
	r := &s.root
	if !r.valid || !slices.Equal(r.lo, lo) || !slices.Equal(r.hi, hi) {
		r.valid = true
		r.lo, r.hi = append(r.lo[:0], lo...), append(r.hi[:0], hi...)
		r.plo, r.phi = append(r.plo[:0], lo...), append(r.phi[:0], hi...)
		r.ok, r.err = s.propagate(r.plo, r.phi, allChanged)
		r.feasible = 0
		s.seen.any = false
	}
	if len(s.exLo) != s.n {
		s.exLo, s.exHi = make([]int64, s.n), make([]int64, s.n)
	}
	copy(s.exLo, r.plo)
	copy(s.exHi, r.phi)
	return s.exLo, s.exHi, r.ok, r.err
}

// least finds the smallest m ≥ a with a solution where x_j ≤ m, knowing
// that one exists below top (unbounded allowed). Propagated bounds are
// often attained, so a is tried first.
func (s *isys) least(j int, a, top int64, with func(l, h int64) (bool, error)) (int64, error) {
	if s.seen.any && s.seen.lo[j] == a {
		return a, nil
	}
	if f, err := with(a, a); err != nil || f {
		return a, err
	}
	if s.seen.any && (top == unbounded || s.seen.lo[j] < top) {
		top = s.seen.lo[j]
	}
	if top == unbounded {
		step := int64(1)
		for {
			f, err := with(a, a+step)
			if err != nil {
				return 0, err
			}
			if f {
				top = a + step
				break
			}
			step *= 2
			if step > bigValue {
				return 0, errBudget
			}
		}
	}
	lowF, highT := a, top // x_j ≤ lowF has no solution; x_j ≤ highT has one
	for highT-lowF > 1 {
		mid := lowF + (highT-lowF)/2
		f, err := with(a, mid)
		if err != nil {
			return 0, err
		}
		if f {
			highT = min(mid, s.seen.lo[j]) // the solution found is at most mid
		} else {
			lowF = mid
		}
	}
	return highT, nil
}

// greatest finds the largest m with a solution where x_j ≥ m, knowing one
// exists at low; top is the propagated upper bound (unbounded allowed),
// tried first.
func (s *isys) greatest(j int, low, top int64, with func(l, h int64) (bool, error)) (int64, bool, error) {
	if s.seen.any && top != unbounded && s.seen.hi[j] == top {
		return top, false, nil
	}
	if top == unbounded {
		f, err := with(bigValue, unbounded)
		if err != nil || f {
			return 0, f, err
		}
		top = bigValue
	} else if f, err := with(top, top); err != nil || f {
		return top, false, err
	}
	lowT, highF := low, top // x_j ≥ lowT has a solution; x_j ≥ highF has none
	if top == bigValue {
		highF = bigValue
	}
	if s.seen.any {
		lowT = max(lowT, min(s.seen.hi[j], highF-1))
	}
	for highF-lowT > 1 {
		mid := lowT + (highF-lowT)/2
		f, err := with(mid, unbounded)
		if err != nil {
			return 0, false, err
		}
		if f {
			lowT = max(mid, min(s.seen.hi[j], highF-1)) // the solution found is at least mid
		} else {
			highF = mid
		}
	}
	return lowT, false, nil
}
