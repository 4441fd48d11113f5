package disclosure

import (
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
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
	parent unionFind
	vars   map[int][]int       // root → unknowns
	eqs    map[int][]reducedEq // root → relations within the block
	giants []giant             // relations of very many unknowns
	// A block's giant relations (in order) and where its terms are in
	// each are runs of two slabs laid out alike, found by the block:
	// millions of them, which maps by block made slow to build and read.
	giantRun  []termSpan // by root: its run in giantSlab and spanSlab
	giantSlab []int
	spanSlab  []termSpan
	leadOf    []int // by giant relation: the first with the same first blocks
	// chosen remembers compensatorsFor's answer by the leads it was
	// worked out from (see leadsKey), for blocks not among those leads'
	// first blocks: the thousands of blocks of one national row mostly
	// share a few.
	chosen   map[string][]int
	chosenMu sync.Mutex
	counts   []int32   // by root: finish's working counts
	pending  []blockEq // relations within blocks, before finish groups them
}

// blockEq is a relation and its block.
type blockEq struct {
	root int
	eq   reducedEq
}

// addEq records a relation within block root (see finish).
func (b *blocks) addEq(root int, eq reducedEq) { b.pending = append(b.pending, blockEq{root, eq}) }

// finish lists each block's relations (in the order they were added) and
// the giant relations each block is in, a slab each, and sorts the giant
// relations' terms by block. Building them as they came would append to
// a map entry for every relation and every block of every giant one:
// millions of map writes where one a block will do.
func (b *blocks) finish() {
	eqSlab := make([]reducedEq, len(b.pending))
	b.layOut(func(yield func(int, int)) {
		for i, p := range b.pending {
			yield(p.root, i)
		}
	}, func(root int, from, to int32) { b.eqs[root] = eqSlab[from:to:to] },
		func(at int32, i int) { eqSlab[at] = b.pending[i].eq })
	b.pending = nil
	total := 0
	for _, g := range b.giants {
		total += len(g.order)
	}
	b.giantSlab = make([]int, total)
	b.layOut(func(yield func(int, int)) {
		for gi, g := range b.giants {
			for _, r := range g.order {
				yield(r, gi)
			}
		}
	}, func(root int, from, to int32) {
		if b.giantRun == nil {
			b.giantRun = make([]termSpan, len(b.parent))
		}
		b.giantRun[root] = termSpan{from, to}
	}, func(at int32, gi int) { b.giantSlab[at] = gi })
	b.sortGiants()
	b.findSpans()
	b.findLeads()
}

// layOut places entries in one slab, a run for each block, in the order
// they come. entries calls its function with each entry's block and
// value, in the same order every time layOut calls it; run is told each
// block's run once, and put where each entry goes. b.counts is its
// working array, and is left as it was found (zero).
func (b *blocks) layOut(entries func(func(root, value int)), run func(root int, from, to int32), put func(at int32, value int)) {
	count := b.counts
	entries(func(r, _ int) { count[r]++ })
	at := int32(0)
	entries(func(r, _ int) { // a block's count becomes −(1 + where its next entry goes)
		if n := count[r]; n > 0 {
			run(r, at, at+n)
			count[r] = -(at + 1)
			at += n
		}
	})
	entries(func(r, v int) {
		put(-count[r]-1, v)
		count[r]--
	})
	entries(func(r, _ int) { count[r] = 0 })
}

// termSpan is where one block's terms are in a giant relation's terms.
type termSpan struct{ from, to int32 }

// giantsOf returns the giant relations block root is in, in order.
func (b *blocks) giantsOf(root int) []int {
	if b.giantRun == nil {
		return nil
	}
	run := b.giantRun[root]
	return b.giantSlab[run.from:run.to:run.to]
}

// spansOf returns where block root's terms are in each of giantsOf(root).
func (b *blocks) spansOf(root int) []termSpan {
	run := b.giantRun[root]
	return b.spanSlab[run.from:run.to:run.to]
}

// findSpans records, for every block and each giant relation it is in
// (in giantsOf's order), where the relation's terms of that block are,
// so that restricted reads them without searching thousands of terms.
func (b *blocks) findSpans() {
	b.spanSlab = make([]termSpan, len(b.giantSlab))
	inParallel(len(b.giants), func(gi int) {
		terms := b.giants[gi].terms
		for i := 0; i < len(terms); {
			r, j := terms[i].root, i
			for j < len(terms) && terms[j].root == r {
				j++
			}
			k, _ := slices.BinarySearch(b.giantsOf(r), gi)
			b.spanSlab[int(b.giantRun[r].from)+k] = termSpan{int32(i), int32(j)}
			i = j
		}
	})
}

// giant is a relation of very many unknowns, with its terms by block.
type giant struct {
	rhs       float64
	terms     []blockTerm // its terms, by block
	order     []int       // the blocks in the order they appear
	truthSum  float64     // Σ a·truth over every term
	allTruths bool        // every term's true value is known
}

// blockTerm is a term of a giant relation and its block.
type blockTerm struct {
	root int
	tm   term
}

func newBlocks(n int) *blocks {
	return &blocks{parent: newUnionFind(n), vars: map[int][]int{}, eqs: map[int][]reducedEq{}, counts: make([]int32, n)}
}

func (b *blocks) find(x int) int { return b.parent.find(x) }

func (b *blocks) union(x, y int) { b.parent.union(x, y) }

// unionFind is a disjoint-set forest over 0 … n−1: each entry its
// parent, a root its own.
type unionFind []int

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = i
	}
	return u
}

// find returns x's root, halving the path to it.
func (u unionFind) find(x int) int {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

// union puts x's set under y's root.
func (u unionFind) union(x, y int) {
	if x, y = u.find(x), u.find(y); x != y {
		u[x] = y
	}
}

// gather lists each block's unknowns (those of vars, by position, that
// keep says to), in one slab.
func (b *blocks) gather(vars []int, keep func(int) bool) {
	next := make([]int32, len(vars)) // by root: 1 + where its next unknown goes
	var roots []int
	total := 0
	for i := range vars {
		if !keep(i) {
			continue
		}
		r := b.find(i)
		if next[r] == 0 {
			roots = append(roots, r)
		}
		next[r]++
		total++
	}
	slab := make([]int, total)
	at := int32(0)
	for _, r := range roots {
		n := next[r]
		b.vars[r] = slab[at : at+n : at+n]
		next[r] = at + 1
		at += n
	}
	for i, vi := range vars {
		if keep(i) {
			r := b.find(i)
			slab[next[r]-1] = vi
			next[r]++
		}
	}
}

// Relations of very many unknowns are worked out before they are added:
// each term's block, and the giant relation they make. That is most of
// the work of forming the blocks (millions of terms, each a read of the
// blocks and of its unknown), and the relations are independent, so it
// is done in parallel, and the results are added in the relations'
// order (addPrepared), so the blocks come out as if built one by one.

// preparedGiant is one such relation, worked out.
type preparedGiant struct {
	terms    []term
	rhs      float64
	oneBlock int   // the block of every term, or −1
	g        giant // when the terms are in more than one block
}

// prepareGiants works out each relation of rels (the terms and right-hand
// side of relations of very many unknowns; call it once the blocks are
// formed). It only reads the blocks: find shortens paths as it goes.
func (b *blocks) prepareGiants(m *model, rels []reducedEq, pos positions) []preparedGiant {
	out := make([]preparedGiant, len(rels))
	scratches := make(chan *giantScratch, runtime.GOMAXPROCS(0)) // one a worker
	inParallel(len(rels), func(k int) {
		var sc *giantScratch
		select {
		case sc = <-scratches:
		default:
			sc = &giantScratch{marked: make([]int32, len(b.parent))}
		}
		out[k] = b.prepareGiant(m, rels[k], pos, sc, int32(k)+1)
		scratches <- sc
	})
	return out
}

// giantScratch is a worker's working arrays for prepareGiant, kept from
// one relation to the next.
type giantScratch struct {
	marked []int32 // by block: 1 + the relation that last listed it
	roots  []int   // each term's block, found once
	order  []int   // the blocks in the order they appear
}

// prepareGiant works out one relation; stamp marks the blocks it lists in
// sc.marked, and no other relation uses that stamp.
func (b *blocks) prepareGiant(m *model, rel reducedEq, pos positions, sc *giantScratch, stamp int32) preparedGiant {
	p := preparedGiant{terms: rel.terms, rhs: rel.rhs, oneBlock: -1}
	roots := sc.roots[:0]
	for _, tm := range rel.terms {
		roots = append(roots, b.rootOf(pos.of(tm.v)))
	}
	sc.roots = roots
	if !slices.ContainsFunc(roots, func(r int) bool { return r != roots[0] }) {
		p.oneBlock = roots[0] // within one block: solved with it
		return p
	}
	g := giant{rhs: rel.rhs, allTruths: true, terms: make([]blockTerm, 0, len(rel.terms))}
	order := sc.order[:0]
	for i, tm := range rel.terms {
		r := roots[i]
		if sc.marked[r] != stamp {
			sc.marked[r] = stamp
			order = append(order, r)
		}
		g.terms = append(g.terms, blockTerm{r, tm})
		v := &m.vars[tm.v]
		g.allTruths = g.allTruths && v.hasTruth
		g.truthSum += float64(tm.a) * v.truth
	}
	sc.order = order
	g.order = slices.Clone(order)
	p.g = g
	return p
}

// rootOf is find without shortening paths, safe to call from many
// goroutines while nothing changes the blocks.
func (b *blocks) rootOf(x int) int {
	for b.parent[x] != x {
		x = b.parent[x]
	}
	return x
}

// addPrepared adds a relation worked out by prepareGiants: to its block
// when its terms are all in one, else as a giant relation.
func (b *blocks) addPrepared(p preparedGiant) {
	if p.oneBlock >= 0 {
		b.addEq(p.oneBlock, reducedEq{terms: p.terms, rhs: p.rhs})
		return
	}
	b.giants = append(b.giants, p.g)
}

// sortGiants puts each giant relation's terms in block order (for
// termsFrom), relations in parallel.
func (b *blocks) sortGiants() {
	inParallel(len(b.giants), func(i int) {
		slices.SortStableFunc(b.giants[i].terms, func(x, y blockTerm) int { return x.root - y.root })
	})
}

// solveWithCompensator solves block r's targets with compensating blocks
// free beside it: first one, then (for targets still short of the
// protection they need) several at once.
func (m *model) solveWithCompensator(b *blocks, r int, boundsOf func(int) interval, targets []int) compResult {
	best := compResult{}
	for _, v := range targets {
		best[v] = varResult{incomplete: true, method: MethodNone}
	}
	for _, gi := range b.giantsOf(r) {
		if !b.giants[gi].allTruths {
			return best
		}
	}
	cands := b.compensatorsFor(r)
	for _, free := range [][]int{cands[:min(1, len(cands))], cands} {
		targets = m.unsettled(best, targets)
		if len(free) == 0 || len(targets) == 0 {
			break
		}
		cb := compBufsPool.Get().(*compBufs)
		solved := append(append(cb.blocks[:0], r), free...)
		vars, eqs := cb.vars[:0], cb.eqs[:0]
		for _, c := range solved {
			vars = append(vars, b.vars[c]...)
			eqs = append(eqs, b.eqs[c]...)
		}
		eqs = b.restricted(m, solved, cb, eqs)
		res := m.solveUpTo(vars, eqs, boundsOf, targets, restrictedExactLimit)
		cb.blocks, cb.vars, cb.eqs = solved, vars, eqs
		compBufsPool.Put(cb)
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

// unsettled returns the targets that do not yet have the protection they
// need. A target that has it keeps the interval it was shown to have: a
// restricted solve's interval is only a lower bound of the true one
// anyway, and widening it would cost a larger solve the verdict does not
// need.
func (m *model) unsettled(best compResult, targets []int) []int {
	var out []int
	for _, v := range targets {
		prot, pp := m.protectionOf(v)
		if !m.protects(v, best[v], prot, pp) {
			out = append(out, v)
		}
	}
	return out
}

func wider(a, b varResult) bool {
	if a.unbounded != b.unbounded {
		return a.unbounded
	}
	return a.values > b.values
}

// compensatorsFor returns up to compensators blocks other than r, from
// the first blocks of r's giant relations, those in most of the same giant
// relations first. Relations whose first blocks are the same (a national
// row's relations mostly are) are scored once, with their count as the
// weight.
func (b *blocks) compensatorsFor(r int) []int {
	var buf [64]weightedLead
	leads := buf[:0] // few: mostly one
	for _, gi := range b.giantsOf(r) {
		l := b.leadOf[gi]
		if i := slices.IndexFunc(leads, func(w weightedLead) bool { return w.lead == l }); i >= 0 {
			leads[i].weight++
		} else {
			leads = append(leads, weightedLead{l, 1})
		}
	}
	if slices.ContainsFunc(leads, func(w weightedLead) bool {
		order := b.giants[w.lead].order
		return slices.Contains(order[:min(len(order), compensatorScan)], r)
	}) {
		return b.rankCompensators(r, leads) // r is among the candidates: left out
	}
	var kb [1024]byte
	key := leadsKey(kb[:0], leads)
	b.chosenMu.Lock()
	out, ok := b.chosen[string(key)]
	b.chosenMu.Unlock()
	if ok {
		return out
	}
	out = b.rankCompensators(r, leads)
	b.chosenMu.Lock()
	if b.chosen == nil {
		b.chosen = map[string][]int{}
	}
	b.chosen[string(key)] = out
	b.chosenMu.Unlock()
	return out
}

// weightedLead is a lead relation (see findLeads) and how many of a
// block's giant relations it leads.
type weightedLead struct{ lead, weight int }

// leadsKey appends leads, in order, to key.
func leadsKey(key []byte, leads []weightedLead) []byte {
	for _, w := range leads {
		key = binary.LittleEndian.AppendUint64(key, uint64(w.lead))
		key = binary.LittleEndian.AppendUint64(key, uint64(w.weight))
	}
	return key
}

// rankCompensators is compensatorsFor's choice for block r given its
// weighted leads. The slice it returns is shared: it must not be changed.
func (b *blocks) rankCompensators(r int, leads []weightedLead) []int {
	type scored struct{ block, score int }
	var order []scored
	for _, w := range leads {
		seen := 0
		for _, c := range b.giants[w.lead].order {
			if c == r {
				continue
			}
			if seen++; seen > compensatorScan {
				break
			}
			if i := slices.IndexFunc(order, func(s scored) bool { return s.block == c }); i >= 0 {
				order[i].score += w.weight
			} else {
				order = append(order, scored{c, w.weight})
			}
		}
	}
	slices.SortStableFunc(order, func(x, y scored) int { return y.score - x.score })
	out := make([]int, 0, compensators)
	for _, s := range order[:min(compensators, len(order))] {
		out = append(out, s.block)
	}
	return out
}

// compensatorScan is how many of a giant relation's first blocks (other
// than the one being solved) are candidates to compensate.
const compensatorScan = 24

// findLeads gives each giant relation the first relation with the same
// first compensatorScan+1 blocks (which compensatorsFor reads).
func (b *blocks) findLeads() {
	b.leadOf = make([]int, len(b.giants))
	first := map[string]int{}
	var key []byte
	for gi, g := range b.giants {
		key = key[:0]
		for _, c := range g.order[:min(len(g.order), compensatorScan+1)] {
			key = binary.LittleEndian.AppendUint64(key, uint64(c))
		}
		if l, ok := first[string(key)]; ok {
			b.leadOf[gi] = l
			continue
		}
		first[string(key)] = gi
		b.leadOf[gi] = gi
	}
}

// compBufs are a restricted solve's working arrays, kept between solves.
type compBufs struct {
	blocks, vars, giants []int
	eqs                  []reducedEq
	spans                [][]blockTerm
	terms                []term
	at                   []int // by free block: see termsFrom
}

var compBufsPool = sync.Pool{New: func() any { return new(compBufs) }}

// restricted appends to out the giant relations touching the free
// blocks, with every other unknown held at its true value.
func (b *blocks) restricted(m *model, free []int, cb *compBufs, out []reducedEq) []reducedEq {
	giants := cb.giants[:0]
	for _, r := range free {
		giants = append(giants, b.giantsOf(r)...)
	}
	slices.Sort(giants)
	giants = slices.Compact(giants)
	spans := cb.spans[:0]
	at := sized(cb.at, len(free))
	n := 0
	for _, gi := range giants {
		for k, root := range free {
			ts := b.termsFrom(gi, root, &at[k])
			spans = append(spans, ts)
			n += len(ts)
		}
	}
	slab := sized(cb.terms, n)[:0]
	for i, gi := range giants {
		g := &b.giants[gi]
		if !g.allTruths {
			continue
		}
		from := len(slab)
		rhs := g.rhs - g.truthSum
		for _, ts := range spans[i*len(free) : (i+1)*len(free)] {
			for _, bt := range ts {
				slab = append(slab, bt.tm)
				rhs += float64(bt.tm.a) * m.vars[bt.tm.v].truth
			}
		}
		out = append(out, reducedEq{terms: slab[from:len(slab):len(slab)], rhs: rhs})
	}
	cb.giants, cb.spans, cb.terms, cb.at = giants, spans, slab, at
	return out
}

// termsFrom returns the terms of block root in giant relation gi, for
// relations asked for in rising order: *at is where in giantsOf(root) the
// previous call stopped (0 at first), so that a solve's relations are
// found in one pass, not a search each.
func (b *blocks) termsFrom(gi, root int, at *int) []blockTerm {
	gs := b.giantsOf(root)
	for *at < len(gs) && gs[*at] < gi {
		*at++
	}
	if *at == len(gs) || gs[*at] != gi {
		return nil
	}
	sp := b.spansOf(root)[*at]
	return b.giants[gi].terms[sp.from:sp.to]
}
