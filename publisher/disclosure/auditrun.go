package disclosure

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Audit methods, as the report states them.
const (
	MethodExact  = "exact"              // search with constraint propagation over integer solutions
	MethodLP     = "linear-programming" // LP bound, rounded inwards to whole units; may be wider than the integer interval
	MethodMarker = "marker"             // in no published relation: what its marker (with other publications) discloses
	MethodPinned = "pinned"             // published exactly elsewhere (another file or an earlier release)
	MethodNone   = "not-audited"        // inconsistent or unfinished
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
func (m *model) audit() auditResult {
	n := len(m.vars)
	bounds := make([]interval, n)
	suppCur := make([]bool, n)
	suppEarlier := make([]bool, n)
	for vi, v := range m.vars {
		b := nonNegative
		for _, o := range v.obs {
			iv, supp, ok := m.obsInterval(o)
			if !ok {
				continue
			}
			b = b.intersect(iv)
			if supp {
				if m.tables[o.t].version == 0 {
					suppCur[vi] = true
				} else {
					suppEarlier[vi] = true
				}
			}
		}
		bounds[vi] = b
	}
	ar := auditResult{res: map[int]varResult{}, prot: map[int]int{}, pass: map[int]bool{}}

	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	type reduced struct {
		terms []term
		rhs   float64
	}
	red := make([]reduced, len(m.eqs))
	for ei, eq := range m.eqs {
		if eq.broken {
			continue
		}
		var rt []term
		rhs := 0.0
		for _, tm := range eq.terms {
			if bounds[tm.v].isPoint() {
				rhs -= float64(tm.a) * bounds[tm.v].lo
			} else {
				rt = append(rt, tm)
			}
		}
		red[ei] = reduced{rt, rhs}
		if len(rt) == 0 {
			if math.Abs(rhs) > 1e-6*(1+math.Abs(bounds[eq.terms[0].v].lo)) {
				ar.notes = append(ar.notes, fmt.Sprintf("published exact values do not satisfy the relation of %s", m.label(eq.terms[0].v)))
			}
			continue
		}
		for _, tm := range rt[1:] {
			a, b := find(rt[0].v), find(tm.v)
			if a != b {
				parent[a] = b
			}
		}
	}
	comps := map[int][]int{}
	compEqs := map[int][]int{}
	compCurrent := map[int]bool{}
	for vi := 0; vi < n; vi++ {
		if bounds[vi].isPoint() {
			continue
		}
		r := find(vi)
		comps[r] = append(comps[r], vi)
		compCurrent[r] = compCurrent[r] || m.vars[vi].current
	}
	for ei := range m.eqs {
		if len(red[ei].terms) > 0 {
			r := find(red[ei].terms[0].v)
			compEqs[r] = append(compEqs[r], ei)
		}
	}
	isTarget := func(vi int) bool {
		if suppCur[vi] {
			return true
		}
		if !suppEarlier[vi] {
			return false
		}
		if bounds[vi].isPoint() {
			return m.vars[vi].current
		}
		return compCurrent[find(vi)]
	}
	compTargets := map[int][]int{}
	for vi := 0; vi < n; vi++ {
		if !isTarget(vi) {
			continue
		}
		ar.targets = append(ar.targets, vi)
		b := bounds[vi]
		switch {
		case b.empty():
			ar.res[vi] = varResult{empty: true, method: MethodNone}
		case b.isPoint():
			ar.res[vi] = varResult{lo: b.lo, hi: b.lo, values: 1, method: MethodPinned}
		default:
			r := find(vi)
			compTargets[r] = append(compTargets[r], vi)
		}
	}
	roots := make([]int, 0, len(compTargets))
	for r := range compTargets {
		roots = append(roots, r)
	}
	sort.Ints(roots)
	for _, r := range roots {
		eqIdx := compEqs[r]
		var eqs []reducedEq
		for _, ei := range eqIdx {
			eqs = append(eqs, reducedEq{terms: red[ei].terms, rhs: red[ei].rhs})
		}
		res := m.solveComponent(comps[r], eqs, bounds, compTargets[r])
		for vi, vr := range res {
			if len(eqIdx) == 0 && vr.method == MethodExact {
				vr.method = MethodMarker
			}
			ar.res[vi] = vr
		}
	}

	for _, vi := range ar.targets {
		prot, pp := 0, 0.0
		for _, o := range m.vars[vi].obs {
			if _, supp, ok := m.obsInterval(o); ok && supp {
				rule := m.tables[o.t].rule
				prot = max(prot, rule.ProtectionValues())
				pp = math.Max(pp, rule.ProtectionPercent)
			}
		}
		ar.prot[vi] = prot
		vr := ar.res[vi]
		pass := false
		switch {
		case vr.empty || vr.incomplete:
		case vr.unbounded:
			pass = true
		default:
			pass = vr.values >= int64(prot)
			if pass && pp > 0 && m.vars[vi].hasTruth {
				pass = vr.hi-vr.lo >= pp/100*math.Abs(m.vars[vi].truth)
			}
		}
		ar.pass[vi] = pass
		if !pass {
			ar.failing = append(ar.failing, vi)
		}
	}
	return ar
}

// reducedEq is an equation over unknowns that are not pinned: Σ a·v = rhs.
type reducedEq struct {
	terms []term
	rhs   float64
}

// solveComponent computes the feasible intervals of targets within one
// connected component of unknowns.
func (m *model) solveComponent(vars []int, eqs []reducedEq, bounds []interval, targets []int) compResult {
	// The lattice: whole units unless some value or unknown needs finer.
	integral := true
	var nums []float64
	for _, v := range vars {
		integral = integral && m.vars[v].integral
		nums = append(nums, bounds[v].lo)
		if !bounds[v].inf {
			nums = append(nums, bounds[v].hi)
		}
	}
	for _, eq := range eqs {
		nums = append(nums, eq.rhs)
	}
	scale := scales[len(scales)-1]
	for _, sc := range scales {
		if sc == 1 && !integral {
			continue
		}
		ok := true
		for _, x := range nums {
			if !integralish(x * sc) {
				ok = false
				break
			}
		}
		if ok {
			scale = sc
			break
		}
	}
	local := map[int]int{}
	lo := make([]int64, len(vars))
	hi := make([]int64, len(vars))
	for i, v := range vars {
		local[v] = i
		b := bounds[v]
		x := b.lo * scale
		if b.loOpen {
			lo[i] = int64(math.Floor(x+1e-9)) + 1
		} else {
			lo[i] = int64(math.Ceil(x - 1e-9))
		}
		lo[i] = max(lo[i], 0)
		if b.inf {
			hi[i] = unbounded
		} else {
			y := b.hi * scale
			if b.hiOpen {
				hi[i] = int64(math.Ceil(y-1e-9)) - 1
			} else {
				hi[i] = int64(math.Floor(y + 1e-9))
			}
		}
	}
	var ieqs []ieq
	for _, eq := range eqs {
		e := ieq{rhs: int64(math.Round(eq.rhs * scale))}
		for _, tm := range eq.terms {
			e.vars = append(e.vars, local[tm.v])
			e.coefs = append(e.coefs, tm.a)
		}
		ieqs = append(ieqs, e)
	}

	var key strings.Builder
	fmt.Fprintf(&key, "s%g;", scale)
	for i, v := range vars {
		fmt.Fprintf(&key, "%d:%d:%d;", v, lo[i], hi[i])
	}
	for _, e := range ieqs {
		for i, v := range e.vars {
			fmt.Fprintf(&key, "%d*%d+", e.coefs[i], v)
		}
		fmt.Fprintf(&key, "=%d;", e.rhs)
	}
	key.WriteString("t")
	for _, v := range targets {
		key.WriteString(strconv.Itoa(v) + ",")
	}
	if r, ok := m.cache[key.String()]; ok {
		return r
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
			m.cache[key.String()] = res
			return res
		}
	}

	done := false
	if len(vars) <= exactLimit {
		sys := newISys(len(vars), ieqs, exactBudget)
		exact := compResult{}
		done = true
		for _, v := range targets {
			minV, maxV, unb, ok, err := sys.extremes(local[v], lo, hi)
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
			mn, err1 := sx.extreme(local[v], false)
			mx, err2 := sx.extreme(local[v], true)
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
	m.cache[key.String()] = res
	return res
}
