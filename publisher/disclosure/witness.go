package disclosure

import "slices"

// Witnesses: the fast way to show that a value is possible.
//
// Most feasibility questions the audit asks have an answer close to the
// truth: "can this suppressed cell be 3 rather than 5?" is answered by
// moving the cell and the few margins and compensating cells it is added
// into, leaving everything else at its true value. The exact search
// (isys.feasibleAt) would instead fix every unknown of the block one by
// one, hundreds of propagations per question.
//
// witness therefore starts from a base point (the true values, clamped
// into the bounds) and repairs one unbalanced equation at a time (the one
// with the fewest possible moves first), moving one unknown of it within
// its bounds, depth first, each unknown at most
// once, within a small budget. Whatever it returns satisfies every
// equation and every bound, so a value it finds is possible: the answer
// is exact. When it finds nothing the exact search decides, so the
// outcome never depends on the heuristic, only the time taken.

// witnessBudget bounds the nodes of one witness search.
const witnessBudget = 400

// witnessState is the scratch of one witness search, reused.
type witnessState struct {
	x        []int64 // the point being repaired
	res      []int64 // each equation's Σ a·x − rhs
	locked   []bool  // unknowns already moved
	open     []int32 // the equations with a residual
	at       []int32 // by equation: 1 + its place in open, 0 when balanced
	moves    []int32 // by equation: how many moves reduce its residual (see countMoves), −1 when not known
	nodes    int
	lo, hi   []int64
	cands    []witnessMove
	moveBufs [][]witnessMove // candidate lists by depth
}

// witnessMove is one candidate repair: add delta to unknown v.
type witnessMove struct {
	v     int
	delta int64
	score int // equations it unbalances less those it balances
}

// setBase gives the search its starting point (one value per unknown,
// usually the truth); without one it starts from the lower bounds.
func (s *isys) setBase(base []int64) { s.base, s.baseResOK = base, false }

// witness reports whether it found an integer point within lo and hi
// satisfying every equation (see the comment at the top of this file).
func (s *isys) witness(lo, hi []int64) bool {
	w := s.witnessScratch()
	w.lo, w.hi, w.nodes = lo, hi, 0
	for _, ei := range w.open {
		w.at[ei] = 0
	}
	w.open = w.open[:0]
	copy(w.res, s.baseResiduals())
	for ei := range w.moves {
		w.moves[ei] = -1
	}
	for ei, r := range w.res {
		if r != 0 {
			w.mark(ei)
		}
	}
	for i := range w.x {
		b := s.baseOf(i)
		w.x[i] = b
		w.locked[i] = false
		x := max(b, lo[i])
		if hi[i] != unbounded {
			x = min(x, hi[i])
		}
		if x != b {
			s.move(w, i, x-b)
		}
	}
	return len(w.open) == 0 || s.repair(w, 0)
}

// baseOf is where unknown i starts: its base value, else 0.
func (s *isys) baseOf(i int) int64 {
	if s.base == nil {
		return 0
	}
	return s.base[i]
}

// baseResiduals returns each equation's Σ a·base − rhs, worked out once
// per base.
func (s *isys) baseResiduals() []int64 {
	if len(s.baseRes) == len(s.eqs) && s.baseResOK {
		return s.baseRes
	}
	s.baseRes = sized(s.baseRes, len(s.eqs))
	for ei, eq := range s.eqs {
		r := -eq.rhs
		for i, v := range eq.vars {
			r += eq.coefs[i] * s.baseOf(v)
		}
		s.baseRes[ei] = r
	}
	s.baseResOK = true
	return s.baseRes
}

// mark and unmark keep the list of unbalanced equations.
func (w *witnessState) mark(ei int) {
	w.open = append(w.open, int32(ei))
	w.at[ei] = int32(len(w.open))
}

func (w *witnessState) unmark(ei int) {
	i := w.at[ei] - 1
	last := w.open[len(w.open)-1]
	w.open[i] = last
	w.at[last] = i + 1
	w.open = w.open[:len(w.open)-1]
	w.at[ei] = 0
}

func (s *isys) witnessScratch() *witnessState {
	if s.w == nil {
		s.w = &witnessState{}
	}
	if w := s.w; len(w.x) != s.n || len(w.res) != len(s.eqs) || len(w.moves) != len(s.eqs) {
		w.x, w.res, w.locked = sized(w.x, s.n), sized(w.res, len(s.eqs)), sized(w.locked, s.n)
		w.at, w.open = sized(w.at, len(s.eqs)), w.open[:0]
		w.moves = sized(w.moves, len(s.eqs))
	}
	return s.w
}

// repair balances the unbalanced equation with the fewest possible moves
// by moving one unknown of it, best candidate first, and recurses until
// every equation balances.
func (s *isys) repair(w *witnessState, depth int) bool {
	if w.nodes++; w.nodes > witnessBudget {
		return false
	}
	e := s.mostConstrained(w)
	if e < 0 {
		return false
	}
	moves := s.movesFor(w, e, depth)
	for _, mv := range moves {
		s.move(w, mv.v, mv.delta)
		w.locked[mv.v] = true
		if len(w.open) == 0 || s.repair(w, depth+1) {
			return true
		}
		w.locked[mv.v] = false
		s.move(w, mv.v, -mv.delta)
		if w.nodes > witnessBudget {
			return false
		}
	}
	return false
}

// mostConstrained returns the unbalanced equation with the fewest moves
// that reduce its residual, or −1 when one has none (a dead end). An
// equation's count is kept until a move touches it (see move): a move
// changes the residuals and the room of its unknown's equations only.
func (s *isys) mostConstrained(w *witnessState) int {
	best, fewest := -1, 0
	for _, e := range w.open {
		ei := int(e)
		n := int(w.moves[ei])
		if n < 0 {
			n = s.countMoves(w, ei)
			w.moves[ei] = int32(n)
		}
		if n == 0 {
			return -1
		}
		if best < 0 || n < fewest || n == fewest && ei < best {
			best, fewest = ei, n
		}
	}
	return best
}

// countMoves is how many unknowns of equation e can move to reduce its
// residual.
func (s *isys) countMoves(w *witnessState, e int) int {
	n := 0
	eq := s.eqs[e]
	for i, v := range eq.vars {
		if _, ok := w.step(v, eq.coefs[i], w.res[e]); ok {
			n++
		}
	}
	return n
}

// step is the move of unknown v (coefficient a) towards cancelling
// residual r, within its bounds, and whether there is one.
func (w *witnessState) step(v int, a, r int64) (int64, bool) {
	if w.locked[v] {
		return 0, false
	}
	var d int64
	switch a { // mostly ±1: no division
	case 1:
		d = -r
	case -1:
		d = r
	default:
		if r%a != 0 {
			return 0, false
		}
		d = -r / a
	}
	d = max(d, w.lo[v]-w.x[v])
	if w.hi[v] != unbounded {
		d = min(d, w.hi[v]-w.x[v])
	}
	return d, d != 0
}

// movesFor lists the moves that reduce equation e's residual, those that
// leave fewest equations unbalanced first.
func (s *isys) movesFor(w *witnessState, e, depth int) []witnessMove {
	for len(w.moveBufs) <= depth {
		w.moveBufs = append(w.moveBufs, make([]witnessMove, 0, 32))
	}
	moves := w.moveBufs[depth][:0]
	eq := s.eqs[e]
	for i, v := range eq.vars {
		if d, ok := w.step(v, eq.coefs[i], w.res[e]); ok {
			moves = append(moves, witnessMove{v: v, delta: d, score: s.moveScore(w, v, d)})
		}
	}
	slices.SortStableFunc(moves, func(a, b witnessMove) int { return a.score - b.score })
	w.moveBufs[depth] = moves
	return moves
}

// moveScore is how many equations adding d to unknown v unbalances, less
// how many it balances.
func (s *isys) moveScore(w *witnessState, v int, d int64) int {
	score := 0
	for k, ei := range s.varEqs[v] {
		r := w.res[ei] + s.varCoefs[v][k]*d
		switch {
		case w.res[ei] == 0 && r != 0:
			score++
		case w.res[ei] != 0 && r == 0:
			score--
		}
	}
	return score
}

// move adds d to unknown v, keeping the residuals and the count of
// unbalanced equations.
func (s *isys) move(w *witnessState, v int, d int64) {
	w.x[v] += d
	for k, ei := range s.varEqs[v] {
		w.moves[ei] = -1
		before := w.res[ei]
		w.res[ei] += s.varCoefs[v][k] * d
		switch {
		case before == 0 && w.res[ei] != 0:
			w.mark(ei)
		case before != 0 && w.res[ei] == 0:
			w.unmark(ei)
		}
	}
}
