package disclosure

import (
	"slices"
	"sort"
)

// Relations of very many cells. A national row over thousands of
// practices links every practice's table into one component, far too big
// to solve whole. Such a relation (more than giantTerms unknowns) is left
// out when the blocks are formed; a block it touches is solved together
// with one compensating block — another block in the same large
// relations — while every other unknown of those relations is held at its
// true value. That is a restriction of what the public knows (solutions
// are only removed), so a cell that keeps its protection there keeps it
// in full; a few compensating blocks are tried, and a cell that fails
// with all of them fails (or, when no block can compensate, the audit
// reports it could not finish).

// giantTerms is the most unknowns a relation may have and still be
// solved whole with its component.
const giantTerms = 64

// restrictedExactLimit is the most unknowns of a restricted system tried
// by exact search first: its relations to the compensating blocks are
// mostly two-cell equalities, which propagation resolves at once.
const restrictedExactLimit = 400

// compensators is how many compensating blocks are tried.
const compensators = 3

// blocks partitions the unknowns of one audit run.
type blocks struct {
	parent   []int
	vars     map[int][]int       // root → unknowns
	eqs      map[int][]reducedEq // root → relations within the block
	giants   []giant             // relations of very many unknowns
	giantsOf map[int][]int       // root → the giant relations it is in
}

// giant is a relation of very many unknowns, with its terms by block.
type giant struct {
	rhs       float64
	byBlock   map[int][]term // root → its terms in the relation
	order     []int          // the blocks in the order they appear
	truthSum  float64        // Σ a·truth over every term
	allTruths bool           // every term's true value is known
}

func newBlocks(n int) *blocks {
	b := &blocks{parent: make([]int, n), vars: map[int][]int{}, eqs: map[int][]reducedEq{}, giantsOf: map[int][]int{}}
	for i := range b.parent {
		b.parent[i] = i
	}
	return b
}

func (b *blocks) find(x int) int {
	for b.parent[x] != x {
		b.parent[x] = b.parent[b.parent[x]]
		x = b.parent[x]
	}
	return x
}

func (b *blocks) union(x, y int) {
	if x, y = b.find(x), b.find(y); x != y {
		b.parent[x] = y
	}
}

// addGiant records a relation of very many unknowns and the blocks it
// touches; call it once the blocks are formed.
func (b *blocks) addGiant(m *model, terms []term, rhs float64, pos map[int]int) {
	if r := b.find(pos[terms[0].v]); !slices.ContainsFunc(terms, func(tm term) bool { return b.find(pos[tm.v]) != r }) {
		b.eqs[r] = append(b.eqs[r], reducedEq{terms: terms, rhs: rhs}) // within one block: solved with it
		return
	}
	gi := len(b.giants)
	g := giant{rhs: rhs, byBlock: map[int][]term{}, allTruths: true}
	for _, tm := range terms {
		r := b.find(pos[tm.v])
		if _, ok := g.byBlock[r]; !ok {
			g.order = append(g.order, r)
			b.giantsOf[r] = append(b.giantsOf[r], gi)
		}
		g.byBlock[r] = append(g.byBlock[r], tm)
		v := m.vars[tm.v]
		g.allTruths = g.allTruths && v.hasTruth
		g.truthSum += float64(tm.a) * v.truth
	}
	b.giants = append(b.giants, g)
}

// solveWithCompensator solves block r's targets with compensating blocks
// free beside it: first one, then (for targets still short of three
// values) several at once.
func (m *model) solveWithCompensator(b *blocks, r int, boundsOf func(int) interval, targets []int) compResult {
	best := compResult{}
	for _, v := range targets {
		best[v] = varResult{incomplete: true, method: MethodNone}
	}
	for _, gi := range b.giantsOf[r] {
		if !b.giants[gi].allTruths {
			return best
		}
	}
	cands := b.compensatorsFor(r)
	for _, free := range [][]int{cands[:min(1, len(cands))], cands} {
		if len(free) == 0 || m.settled(best, targets) {
			break
		}
		vars := slices.Clone(b.vars[r])
		eqs := slices.Clone(b.eqs[r])
		for _, c := range free {
			vars = append(vars, b.vars[c]...)
			eqs = append(eqs, b.eqs[c]...)
		}
		eqs = append(eqs, b.restricted(m, append([]int{r}, free...))...)
		res := m.solveUpTo(vars, eqs, boundsOf, targets, restrictedExactLimit)
		for _, v := range targets {
			vr, ok := res[v]
			if !ok || vr.incomplete || vr.empty {
				continue
			}
			if old := best[v]; old.incomplete || wider(vr, old) {
				vr.method = MethodRestricted
				best[v] = vr
			}
		}
	}
	return best
}

// settled reports whether every target already has three values.
func (m *model) settled(best compResult, targets []int) bool {
	for _, v := range targets {
		if vr := best[v]; vr.incomplete || !vr.unbounded && vr.values < 3 {
			return false
		}
	}
	return true
}

func wider(a, b varResult) bool {
	if a.unbounded != b.unbounded {
		return a.unbounded
	}
	return a.values > b.values
}

// compensatorsFor returns up to compensators blocks other than r, from
// the first blocks of r's giant relations, those in most of the same giant
// relations first.
func (b *blocks) compensatorsFor(r int) []int {
	const scan = 24
	score := map[int]int{}
	var order []int
	for _, gi := range b.giantsOf[r] {
		seen := 0
		for _, c := range b.giants[gi].order {
			if c == r {
				continue
			}
			if seen++; seen > scan {
				break
			}
			if _, ok := score[c]; !ok {
				order = append(order, c)
			}
			score[c]++
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return score[order[i]] > score[order[j]] })
	return order[:min(compensators, len(order))]
}

func covers(have, want []int) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// restricted returns the giant relations touching the free blocks, with
// every other unknown held at its true value.
func (b *blocks) restricted(m *model, free []int) []reducedEq {
	var out []reducedEq
	var giants []int
	for _, r := range free {
		for _, g := range b.giantsOf[r] {
			if !slices.Contains(giants, g) {
				giants = append(giants, g)
			}
		}
	}
	for _, gi := range giants {
		g := b.giants[gi]
		if !g.allTruths {
			continue
		}
		eq := reducedEq{rhs: g.rhs - g.truthSum}
		for _, root := range free {
			for _, tm := range g.byBlock[root] {
				eq.terms = append(eq.terms, tm)
				eq.rhs += float64(tm.a) * m.vars[tm.v].truth
			}
		}
		out = append(out, eq)
	}
	return out
}
