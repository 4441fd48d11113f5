package disclosure

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
)

// Audit methods, as the report states them.
const (
	MethodExact  = "exact"              // search with constraint propagation over integer solutions
	MethodLP     = "linear-programming" // LP bound, rounded inwards to whole units; may be wider than the integer interval
	MethodMarker = "marker"             // in no published relation: what its marker (with other publications) discloses
	MethodPinned = "pinned"             // published exactly elsewhere (another file or an earlier release)
	MethodNone   = "not-audited"        // inconsistent or unfinished
	// MethodRestricted: in a table whose relations span very many cells,
	// solved with the cell's block and one compensating block free and
	// every other cell held at its true value. Holding cells fixed only
	// removes solutions, so the range found is within the true range.
	MethodRestricted = "restricted"
)

// exactLimit is the largest number of unknowns in a component solved by
// exact search; exactBudget bounds its work.
const (
	exactLimit  = 40
	exactBudget = 60000
)

// varResult is the feasible interval of one unknown.
type varResult struct {
	lo, hi     float64 // in the cell's units
	unbounded  bool
	values     int64 // possible values; −1 when unbounded
	method     string
	empty      bool // no value fits what is published
	incomplete bool // the solver did not finish
}

type compResult map[int]varResult

// auditResult is the outcome of one audit run.
type auditResult struct {
	targets []int
	res     map[int]varResult
	prot    map[int]int
	pass    map[int]bool
	failing []int
	notes   []string
}

// scales are the lattices tried for a component: whole units, halves
// (half-patients), then decimals.
var scales = []float64{1, 2, 10, 100, 1000, 10000}

func integralish(x float64) bool { return math.Abs(x-math.Round(x)) < 1e-6 }

// audit computes the feasible interval of every suppressed cell.
func (m *model) audit() auditResult { return m.auditOn(nil, nil) }

// auditOn audits the unknowns vars under the equations eqs (every unknown
// and every relation when vars is nil). The equations must mention only
// unknowns in vars: a union of static components (see components).
func (m *model) auditOn(vars, eqs []int) auditResult {
	if vars == nil {
		vars = make([]int, len(m.vars))
		for i := range vars {
			vars[i] = i
		}
		eqs = make([]int, len(m.eqs))
		for i := range eqs {
			eqs[i] = i
		}
	}
	n := len(vars)
	pos := m.positionsOf(vars)
	bounds := make([]interval, n)
	suppCur := make([]bool, n)
	suppEarlier := make([]bool, n)
	for _, t := range m.tables {
		t.ambiguousCached() // worked out before the unknowns are read in parallel
	}
	inChunks(n, func(from, to int) {
		for i := from; i < to; i++ {
			bounds[i] = m.boundsOf(vars[i], &suppCur[i], &suppEarlier[i])
		}
	})
	globalBounds := func(v int) interval { return bounds[pos.of(v)] }
	ar := auditResult{res: map[int]varResult{}, prot: map[int]int{}, pass: map[int]bool{}}

	reds, notes := m.reduceRelations(eqs, globalBounds)
	ar.notes = append(ar.notes, notes...)
	var inCurrent func(i int) bool // made when first needed: see currentComponents
	// Blocks: the components without the relations of very many cells
	// (see giantTerms), which are solved with a compensating block.
	sys := newBlocks(n)
	for _, rd := range reds {
		if len(rd.terms) <= giantTerms {
			for _, tm := range rd.terms[1:] {
				sys.union(pos.of(rd.terms[0].v), pos.of(tm.v))
			}
		}
	}
	sys.gather(vars, func(i int) bool { return !bounds[i].isPoint() })
	var giantRels []reducedEq
	for _, rd := range reds {
		if len(rd.terms) > giantTerms {
			giantRels = append(giantRels, reducedEq{terms: rd.terms, rhs: rd.rhs})
		}
	}
	prepared := sys.prepareGiants(m, giantRels, pos)
	sys.pending = make([]blockEq, 0, len(reds))
	for _, rd := range reds {
		if len(rd.terms) > giantTerms {
			sys.addPrepared(prepared[0])
			prepared = prepared[1:]
			continue
		}
		sys.addEq(sys.find(pos.of(rd.terms[0].v)), reducedEq{terms: rd.terms, rhs: rd.rhs})
	}
	sys.finish()
	isTarget := func(i int) bool {
		if suppCur[i] {
			return true
		}
		if !suppEarlier[i] {
			return false
		}
		if bounds[i].isPoint() {
			return m.vars[vars[i]].current
		}
		if inCurrent == nil {
			inCurrent = m.currentComponents(vars, bounds, reds, pos)
		}
		return inCurrent(i)
	}
	compTargets := map[int][]int{}
	var roots []int
	for i, vi := range vars {
		if !isTarget(i) {
			continue
		}
		ar.targets = append(ar.targets, vi)
		b := bounds[i]
		switch {
		case b.empty():
			ar.res[vi] = varResult{empty: true, method: MethodNone}
		case b.isPoint():
			ar.res[vi] = varResult{lo: b.lo, hi: b.lo, values: 1, method: MethodPinned}
		default:
			r := sys.find(i)
			if compTargets[r] == nil {
				roots = append(roots, r)
			}
			compTargets[r] = append(compTargets[r], vi)
		}
	}
	results := make([]compResult, len(roots))
	m.eachInParallel(len(roots), func(i int) {
		r := roots[i]
		if len(sys.giantsOf(r)) > 0 {
			results[i] = m.solveWithCompensator(sys, r, globalBounds, compTargets[r])
		} else {
			results[i] = m.solveComponent(sys.vars[r], sys.eqs[r], globalBounds, compTargets[r])
		}
	})
	for i, r := range roots {
		for vi, vr := range results[i] {
			if len(sys.eqs[r]) == 0 && len(sys.giantsOf(r)) == 0 && vr.method == MethodExact {
				vr.method = MethodMarker
			}
			ar.res[vi] = vr
		}
	}
	sort.Ints(ar.targets)

	for _, vi := range ar.targets {
		prot, pp := m.protectionOf(vi)
		ar.prot[vi] = prot
		pass := m.protects(vi, ar.res[vi], prot, pp)
		ar.pass[vi] = pass
		if !pass {
			ar.failing = append(ar.failing, vi)
		}
	}
	return ar
}

// currentComponents returns what tells whether the unknown at position i
// of an audit run (vars, their bounds, the reduced relations reds) is in
// a component, under every relation, holding an unknown of the current
// release that is not pinned: only an earlier release's suppressed cell
// asks, so a release with none skips the pass over every relation.
func (m *model) currentComponents(vars []int, bounds []interval, reds []reduced, pos positions) func(i int) bool {
	sets := newUnionFind(len(vars))
	for _, rd := range reds {
		for _, tm := range rd.terms[1:] {
			sets.union(pos.of(rd.terms[0].v), pos.of(tm.v))
		}
	}
	current := make([]bool, len(vars)) // by root
	for i, vi := range vars {
		if !bounds[i].isPoint() {
			r := sets.find(i)
			current[r] = current[r] || m.vars[vi].current
		}
	}
	return func(i int) bool { return current[sets.find(i)] }
}

// reduced is a relation with its exactly published unknowns moved to
// the right-hand side: Σ a·v = rhs over the others.
type reduced struct {
	ei    int
	terms []term
	rhs   float64
}

// reduceRelations reduces the relations eqs that are not broken, given
// what each unknown is bounded to, in order; a relation left with no
// unknowns that the exact values do not satisfy is a note instead.
// Relations are independent here, so parts of them are reduced in
// parallel (a release of millions of rows has millions of relations).
func (m *model) reduceRelations(eqs []int, boundsOf func(int) interval) ([]reduced, []string) {
	const size = 1 << 15
	reds := make([]reduced, len(eqs)) // part p writes from p·size on; compacted after
	kept := make([]int, (len(eqs)+size-1)/size)
	notes := make([][]string, len(kept))
	inParallel(len(kept), func(p int) {
		from, to := p*size, min(len(eqs), (p+1)*size)
		kept[p], notes[p] = m.reducePart(eqs[from:to], boundsOf, reds[from:to])
	})
	at := 0
	for p, k := range kept {
		at += copy(reds[at:], reds[p*size:p*size+k])
	}
	return reds[:at:at], slices.Concat(notes...)
}

// reducePart reduces the relations eqs into out, returning how many it
// wrote and its notes.
func (m *model) reducePart(eqs []int, boundsOf func(int) interval, out []reduced) (int, []string) {
	var notes []string
	var slab []term // the reduced relations' terms
	k := 0
	for _, ei := range eqs {
		eq := m.eqs[ei]
		if eq.broken {
			continue
		}
		rt, rhs := eq.terms, 0.0
		if slices.ContainsFunc(eq.terms, func(tm term) bool { return boundsOf(tm.v).isPoint() }) {
			if cap(slab)-len(slab) < len(eq.terms) {
				slab = make([]term, 0, max(1<<14, len(eq.terms)))
			}
			rt = slab[len(slab):len(slab)]
			for _, tm := range eq.terms {
				if b := boundsOf(tm.v); b.isPoint() {
					rhs -= float64(tm.a) * b.lo
				} else {
					rt = append(rt, tm)
				}
			}
			rt = rt[:len(rt):len(rt)]
			slab = slab[:len(slab)+len(rt)]
		}
		if len(rt) == 0 {
			if math.Abs(rhs) > 1e-6*(1+math.Abs(boundsOf(eq.terms[0].v).lo)) {
				notes = append(notes, fmt.Sprintf("published exact values do not satisfy the relation of %s", m.label(eq.terms[0].v)))
			}
			continue
		}
		out[k] = reduced{ei, rt, rhs}
		k++
	}
	return k, notes
}

// protectionOf is the protection unknown vi needs: the most possible
// values, and the widest interval as a percentage of its value, that the
// rules of the files suppressing it ask for.
func (m *model) protectionOf(vi int) (values int, percent float64) {
	for _, o := range m.vars[vi].obs {
		if _, supp, ok := m.obsInterval(o); ok && supp {
			rule := m.tables[o.t].rule
			values = max(values, rule.ProtectionValues())
			percent = math.Max(percent, rule.ProtectionPercent)
		}
	}
	return values, percent
}

// protects reports whether interval vr gives unknown vi the protection
// (prot values, pp per cent of its value) it needs.
func (m *model) protects(vi int, vr varResult, prot int, pp float64) bool {
	switch {
	case vr.empty || vr.incomplete:
		return false
	case vr.unbounded:
		return true
	}
	pass := vr.values >= int64(prot)
	if pass && pp > 0 && m.vars[vi].hasTruth {
		pass = vr.hi-vr.lo >= pp/100*math.Abs(m.vars[vi].truth)
	}
	return pass
}

// positions maps the unknowns of an audit run to their places in it: by
// a dense array when the run covers much of the model, else a map.
type positions struct {
	dense  []int32
	sparse map[int]int
}

func (m *model) positionsOf(vars []int) positions {
	if len(vars) >= len(m.vars)/8 {
		p := positions{dense: make([]int32, len(m.vars))}
		for i, v := range vars {
			p.dense[v] = int32(i)
		}
		return p
	}
	p := positions{sparse: make(map[int]int, len(vars))}
	for i, v := range vars {
		p.sparse[v] = i
	}
	return p
}

func (p positions) of(v int) int {
	if p.dense != nil {
		return int(p.dense[v])
	}
	return p.sparse[v]
}

// boundsOf intersects what every publication of unknown vi discloses
// (and any pin), and says whether it is suppressed in the current release
// or in an earlier one.
func (m *model) boundsOf(vi int, suppCur, suppEarlier *bool) interval {
	b := nonNegative
	for _, o := range m.vars[vi].obs {
		iv, supp, ok := m.obsInterval(o)
		if !ok {
			continue
		}
		b = b.intersect(iv)
		if supp {
			if m.tables[o.t].version == 0 {
				*suppCur = true
			} else {
				*suppEarlier = true
			}
		}
	}
	if p, ok := m.pins[vi]; ok {
		b = b.intersect(p)
	}
	return b
}

// inChunks calls fn on ranges covering 0 … n−1, in parallel when n is
// large (fn must only write what its range owns).
func inChunks(n int, fn func(from, to int)) {
	const chunk = 1 << 16
	chunks := (n + chunk - 1) / chunk
	if chunks < 2 {
		fn(0, n)
		return
	}
	inParallel(chunks, func(i int) { fn(i*chunk, min(n, (i+1)*chunk)) })
}

// reducedEq is an equation over unknowns that are not pinned: Σ a·v = rhs.
type reducedEq struct {
	terms []term
	rhs   float64
}

// solveComponent computes the feasible intervals of targets within one
// connected component of unknowns.
func (m *model) solveComponent(vars []int, eqs []reducedEq, boundsOf func(int) interval, targets []int) compResult {
	return m.solveUpTo(vars, eqs, boundsOf, targets, exactLimit)
}

// solveUpTo is solveComponent trying exact search on up to limit unknowns
// (its node budget still bounds the work; beyond it, linear programming).
func (m *model) solveUpTo(vars []int, eqs []reducedEq, boundsOf func(int) interval, targets []int, limit int) compResult {
	sb := solveBufsPool.Get().(*solveBufs)
	defer solveBufsPool.Put(sb)
	sb.bs = sized(sb.bs, len(vars))
	bs := sb.bs
	for i, v := range vars {
		bs[i] = boundsOf(v)
	}
	scale := m.latticeScale(vars, bs, eqs)
	local := m.localIndex(vars)
	defer m.releaseLocal(local, vars)
	sb.lo, sb.hi = sized(sb.lo, len(vars)), sized(sb.hi, len(vars))
	lo, hi := sb.lo, sb.hi
	scaledBounds(bs, scale, lo, hi)
	ieqs := sb.scaledEqs(eqs, local, scale)

	key := ""
	if m.caching {
		key = cacheKey(scale, vars, lo, hi, ieqs, targets)
		if r, ok := m.cached(key); ok {
			return r
		}
	}

	res := compResult{}
	toVar := func(v int, lv, hv int64, unb bool, method string) varResult {
		vr := varResult{lo: float64(lv) / scale, method: method, unbounded: unb, values: -1}
		if !unb {
			vr.hi = float64(hv) / scale
			if m.vars[v].integral {
				vr.values = int64(math.Floor(vr.hi+1e-9)) - int64(math.Ceil(vr.lo-1e-9)) + 1
			} else {
				vr.values = hv - lv + 1
			}
		}
		return vr
	}
	for i := range vars {
		if hi[i] != unbounded && lo[i] > hi[i] {
			for _, v := range targets {
				res[v] = varResult{empty: true, method: MethodNone}
			}
			m.remember(key, res)
			return res
		}
	}

	done := false
	if len(vars) <= limit {
		sys := isysPool.Get().(*isys)
		defer isysPool.Put(sys)
		sys.reset(len(vars), ieqs, exactBudget)
		sb.base = append(sb.base[:0], lo...)
		sys.setBase(m.truthPoint(vars, sb.base, scale))
		exact := compResult{}
		done = true
		for _, v := range targets {
			minV, maxV, unb, ok, err := sys.extremes(int(local[v]), lo, hi)
			if err != nil {
				done = false
				break
			}
			if !ok {
				exact[v] = varResult{empty: true, method: MethodNone}
				continue
			}
			exact[v] = toVar(v, minV, maxV, unb, MethodExact)
		}
		if done {
			res = exact
		}
	}
	if !done {
		a := make([][]float64, len(ieqs))
		b := make([]float64, len(ieqs))
		for r, e := range ieqs {
			a[r] = make([]float64, len(vars))
			for i, v := range e.vars {
				a[r][v] += float64(e.coefs[i])
			}
			b[r] = float64(e.rhs)
		}
		flo := make([]float64, len(vars))
		fhi := make([]float64, len(vars))
		for i := range vars {
			flo[i] = float64(lo[i])
			fhi[i] = math.Inf(1)
			if hi[i] != unbounded {
				fhi[i] = float64(hi[i])
			}
		}
		sx, err := newSimplex(a, b, flo, fhi)
		for _, v := range targets {
			switch {
			case err == errLPInfeasible:
				res[v] = varResult{empty: true, method: MethodNone}
				continue
			case err != nil:
				res[v] = varResult{incomplete: true, method: MethodNone}
				continue
			}
			mn, err1 := sx.extreme(int(local[v]), false)
			mx, err2 := sx.extreme(int(local[v]), true)
			if err1 != nil || err2 != nil {
				res[v] = varResult{incomplete: true, method: MethodNone}
				continue
			}
			lv := int64(math.Ceil(mn - 1e-6))
			if math.IsInf(mx, 1) {
				res[v] = toVar(v, lv, 0, true, MethodLP)
				continue
			}
			res[v] = toVar(v, lv, int64(math.Floor(mx+1e-6)), false, MethodLP)
		}
	}
	m.remember(key, res)
	return res
}

// localIndex numbers the unknowns of one solve 0, 1, …: an array by
// unknown, borrowed from a pool since solves run in parallel.
func (m *model) localIndex(vars []int) []int32 {
	at, _ := m.localPool.Get().([]int32)
	if len(at) != len(m.vars) {
		at = make([]int32, len(m.vars))
	}
	for i, v := range vars {
		at[v] = int32(i)
	}
	return at
}

// releaseLocal gives a localIndex back to the pool.
func (m *model) releaseLocal(at []int32, vars []int) {
	for _, v := range vars {
		at[v] = 0
	}
	m.localPool.Put(at)
}

// latticeScale is the lattice a solve works on: whole units unless some
// bound, right-hand side or unknown needs finer (see scales).
func (m *model) latticeScale(vars []int, bs []interval, eqs []reducedEq) float64 {
	integral := true
	for _, v := range vars {
		integral = integral && m.vars[v].integral
	}
	for _, sc := range scales {
		if sc == 1 && !integral {
			continue
		}
		if onLattice(bs, eqs, sc) {
			return sc
		}
	}
	return scales[len(scales)-1]
}

// onLattice reports whether every bound and right-hand side is a whole
// multiple of 1/sc.
func onLattice(bs []interval, eqs []reducedEq, sc float64) bool {
	for _, b := range bs {
		if !integralish(b.lo*sc) || !b.inf && !integralish(b.hi*sc) {
			return false
		}
	}
	for _, eq := range eqs {
		if !integralish(eq.rhs * sc) {
			return false
		}
	}
	return true
}

// solveBufs are a solve's working arrays, kept between solves.
type solveBufs struct {
	bs           []interval
	lo, hi, base []int64
	vars         []int
	coefs        []int64
	ieqs         []ieq
}

var solveBufsPool = sync.Pool{New: func() any { return new(solveBufs) }}

// scaledBounds writes bounds into lo and hi as whole multiples of
// 1/scale, rounded inwards (open ends excluded), never below zero.
func scaledBounds(bs []interval, scale float64, lo, hi []int64) {
	for i, b := range bs {
		x := b.lo * scale
		if b.loOpen {
			lo[i] = int64(math.Floor(x+1e-9)) + 1
		} else {
			lo[i] = int64(math.Ceil(x - 1e-9))
		}
		lo[i] = max(lo[i], 0)
		if b.inf {
			hi[i] = unbounded
			continue
		}
		y := b.hi * scale
		if b.hiOpen {
			hi[i] = int64(math.Ceil(y-1e-9)) - 1
		} else {
			hi[i] = int64(math.Floor(y + 1e-9))
		}
	}
}

// scaledEqs writes equations over local unknown numbers on the lattice of
// scale, their terms in the buffers' slabs.
func (sb *solveBufs) scaledEqs(eqs []reducedEq, local []int32, scale float64) []ieq {
	n := 0
	for _, eq := range eqs {
		n += len(eq.terms)
	}
	vars, coefs := sized(sb.vars, n)[:0], sized(sb.coefs, n)[:0]
	ieqs := sized(sb.ieqs, len(eqs))
	for i, eq := range eqs {
		from := len(vars)
		for _, tm := range eq.terms {
			vars = append(vars, int(local[tm.v]))
			coefs = append(coefs, tm.a)
		}
		ieqs[i] = ieq{vars: vars[from:len(vars):len(vars)], coefs: coefs[from:len(coefs):len(coefs)], rhs: int64(math.Round(eq.rhs * scale))}
	}
	sb.vars, sb.coefs, sb.ieqs = vars, coefs, ieqs
	return ieqs
}

// cacheKey writes a solve's inputs as the key of its remembered result.
func cacheKey(scale float64, vars []int, lo, hi []int64, ieqs []ieq, targets []int) string {
	key := make([]byte, 0, 16*(len(vars)+len(targets)+len(ieqs)))
	key = strconv.AppendFloat(key, scale, 'g', -1, 64)
	for i, v := range vars {
		key = append(key, ';')
		key = strconv.AppendInt(key, int64(v), 36)
		key = append(key, ':')
		key = strconv.AppendInt(key, lo[i], 36)
		key = append(key, ':')
		key = strconv.AppendInt(key, hi[i], 36)
	}
	for _, e := range ieqs {
		key = append(key, '|')
		for i, v := range e.vars {
			key = strconv.AppendInt(key, e.coefs[i], 36)
			key = append(key, '*')
			key = strconv.AppendInt(key, int64(v), 36)
			key = append(key, '+')
		}
		key = append(key, '=')
		key = strconv.AppendInt(key, e.rhs, 36)
	}
	key = append(key, 't')
	for _, v := range targets {
		key = strconv.AppendInt(key, int64(v), 36)
		key = append(key, ',')
	}
	return string(key)
}

// truthPoint writes into base (which holds the lower bounds) the
// unknowns' true values on the lattice of scale, where known, as a start
// for witness searches.
func (m *model) truthPoint(vars []int, base []int64, scale float64) []int64 {
	for i, v := range vars {
		if av := &m.vars[v]; av.hasTruth {
			base[i] = int64(math.Round(av.truth * scale))
		}
	}
	return base
}

// parallelFrom is the number of blocks from which an audit run solves
// them on every processor: blocks share nothing but the result cache.
const parallelFrom = 64

// eachInParallel calls fn(0) … fn(n-1), on GOMAXPROCS goroutines when n
// is large enough to be worth it.
func (m *model) eachInParallel(n int, fn func(int)) {
	if n < parallelFrom {
		for i := range n {
			fn(i)
		}
		return
	}
	inParallel(n, fn)
}

// cached returns a remembered component result.
func (m *model) cached(key string) (compResult, bool) {
	if !m.caching {
		return nil, false
	}
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	r, ok := m.cache[key]
	return r, ok
}

// remember keeps a component result for later audit runs.
func (m *model) remember(key string, r compResult) {
	if !m.caching {
		return
	}
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	m.cache[key] = r
}
