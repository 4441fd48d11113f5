package disclosure

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/candour/candour/datasets"
)

// interval is a set of real numbers between lo and hi, each end open or
// closed; inf means no upper end.
type interval struct {
	lo, hi         float64
	loOpen, hiOpen bool
	inf            bool
}

func point(x float64) interval { return interval{lo: x, hi: x} }

var nonNegative = interval{inf: true}

func (a interval) intersect(b interval) interval {
	out := a
	if b.lo > out.lo || b.lo == out.lo && b.loOpen {
		out.lo, out.loOpen = b.lo, b.loOpen
	}
	switch {
	case out.inf:
		out.hi, out.hiOpen, out.inf = b.hi, b.hiOpen, b.inf
	case b.inf:
	case b.hi < out.hi || b.hi == out.hi && b.hiOpen:
		out.hi, out.hiOpen = b.hi, b.hiOpen
	}
	return out
}

func (a interval) empty() bool {
	if a.inf {
		return false
	}
	return a.lo > a.hi || a.lo == a.hi && (a.loOpen || a.hiOpen)
}

func (a interval) isPoint() bool { return !a.inf && a.lo == a.hi && !a.loOpen && !a.hiOpen }

func (a interval) contains(x float64) bool {
	const eps = 1e-9
	if x < a.lo-eps || a.loOpen && x <= a.lo+eps {
		return false
	}
	if a.inf {
		return true
	}
	return x <= a.hi+eps && !(a.hiOpen && x >= a.hi-eps)
}

// obs is one published cell: table, row and column.
type obs struct{ t, r, c int }

// avar is one unknown of the audit: a cell identity, published in one or
// more files.
type avar struct {
	obs      []obs
	integral bool // every file types it integer
	truth    float64
	hasTruth bool // its original value is known (published in this release, not suppressed at source)
	current  bool // published in this release
	margin   bool // the margin of some relation
}

type term struct {
	v int
	a int64
}

// equation says Σ a·v = 0: a margin less its parts.
type equation struct {
	terms  []term
	at     obs // the margin cell
	broken bool
	sum    float64 // parts' sum in the original, when broken
	parts  int
}

// model is the audit's picture of what the release (with linked earlier
// releases) publishes.
type model struct {
	tables []*table
	vars   []*avar
	eqs    []equation
	varEqs [][]int
	varOf  map[obs]int
	// Static components: unknowns connected by relations that add up,
	// whatever is published. A suppression changes only its own
	// component's audit (and, by making a file's markers ambiguous, can
	// only widen intervals elsewhere).
	compOf   []int
	compVars [][]int
	compEqs  [][]int
	c        *checker
	cache    map[string]compResult
	cacheMu  sync.Mutex
	// pins are values assumed for unknowns, as a figure in the release's
	// text would state them (see textFindings); nil otherwise.
	pins map[int]interval
	// chosenFor records, for each secondary suppression the heuristic
	// kept, the cells failing when it was chosen.
	chosenFor map[int][]int
}

// preimage returns the true values that the nhs-digital rule publishes as
// x: 0 is exactly 0, 10 is 8–12 and r ≥ 15 is r−2 … r+2 (for non-integer
// counts, the values that round to those whole numbers). Anything else is
// not an output of the rule and is read as exact.
func preimage(x float64, number bool) interval {
	mod5 := math.Mod(x, 5) == 0
	switch {
	case x == 0:
		return point(0)
	case x == 10 && !number:
		return interval{lo: 8, hi: 12}
	case x == 10:
		return interval{lo: 7.5, hi: 12.5, hiOpen: true}
	case x >= 15 && mod5 && !number:
		return interval{lo: x - 2, hi: x + 2}
	case x >= 15 && mod5:
		return interval{lo: x - 2.5, hi: x + 2.5, hiOpen: true}
	}
	return point(x)
}

// obsInterval returns what a published cell discloses about its true
// value, whether it is suppressed, and false when it is missing.
func (m *model) obsInterval(o obs) (interval, bool, bool) {
	t := m.tables[o.t]
	fi := t.fields[o.c]
	x, supp, miss := t.cellState(o.r, o.c)
	if miss {
		return interval{}, false, false
	}
	rule := t.rule.Rule
	sub := !t.national[o.r]
	if supp {
		if fi.count {
			switch {
			case rule == datasets.DisclosureNHSDigital && sub && fi.number:
				return interval{lo: 0, loOpen: true, hi: 7.5, hiOpen: true}, true, true
			case rule == datasets.DisclosureNHSDigital && sub:
				return interval{lo: 1, hi: 7}, true, true
			case rule == datasets.DisclosureThreshold && !t.ambiguousCached() && fi.number:
				return interval{lo: 0, loOpen: true, hi: float64(t.rule.Threshold)}, true, true
			case rule == datasets.DisclosureThreshold && !t.ambiguousCached():
				return interval{lo: 1, hi: float64(t.rule.Threshold)}, true, true
			case rule == datasets.DisclosureThreshold && (t.treat == nil || t.treat[o.r][o.c] != tSource) && fi.number:
				return interval{lo: 0, loOpen: true, inf: true}, true, true
			case rule == datasets.DisclosureThreshold && (t.treat == nil || t.treat[o.r][o.c] != tSource):
				// Primary or secondary: never a zero, which the rule
				// publishes and the heuristic does not suppress. (In an
				// earlier public file a marker may hide a zero suppressed
				// at source; assuming it does not only narrows the
				// audit's intervals, so fails safe.)
				return interval{lo: 1, inf: true}, true, true
			}
		}
		return nonNegative, true, true
	}
	if fi.count && !fi.exact && rule == datasets.DisclosureNHSDigital && sub {
		return preimage(x, fi.number), false, true
	}
	return point(x), false, true
}

// ambiguousCached is ambiguous, remembered until the table's treatments
// change.
func (t *table) ambiguousCached() bool {
	if t.ambig == 0 {
		t.ambig = 1
		if t.ambiguous() {
			t.ambig = 2
		}
	}
	return t.ambig == 2
}

// rowIdentity returns the canonical identity of a row: the identity
// fields by name, leaving out a dimension whose value is one of its total
// values.
func (t *table) rowIdentity(r int) string {
	if len(t.identCols) == 0 {
		return fmt.Sprintf("#%s#%d#%d", t.name, t.version, r)
	}
	ps := make([]identityPair, 0, len(t.identCols))
	for _, c := range t.identCols {
		f := t.schema.Fields[c]
		v := t.cells[r][c]
		if slices.Contains(f.TotalValues, v) {
			continue
		}
		ps = append(ps, identityPair{f.Name, v})
	}
	return canonicalIdentity(ps)
}

// identityPair is one field of a cell's identity and its value.
type identityPair struct{ name, value string }

// canonicalIdentity writes an identity as its pairs in field-name order,
// quoted: "age"="15-24","practice"="A81001".
func canonicalIdentity(ps []identityPair) string {
	sort.Slice(ps, func(i, j int) bool { return ps[i].name < ps[j].name })
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(p.name))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(p.value))
	}
	return b.String()
}

// label names unknown vi in words: its field and the identity of the first
// row that publishes it.
func (m *model) label(vi int) string {
	o := m.vars[vi].obs[0]
	t := m.tables[o.t]
	field := t.schema.Fields[o.c].Name
	if len(t.identCols) == 0 {
		return fmt.Sprintf("%s in row %d of %s", field, t.records[o.r], t.label())
	}
	var parts []string
	for _, c := range t.identCols {
		f := t.schema.Fields[c]
		if v := t.cells[o.r][c]; !slices.Contains(f.TotalValues, v) {
			parts = append(parts, fmt.Sprintf("%s = %q", f.Name, v))
		}
	}
	if len(parts) == 0 {
		return field + " (all)"
	}
	return field + " for " + strings.Join(parts, ", ")
}

// identityWithout removes the named field from a canonical identity.
func identityWithout(id, name string) string {
	prefix := strconv.Quote(name) + "="
	parts := strings.Split(id, ",")
	out := parts[:0]
	for _, p := range parts {
		if !strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return strings.Join(out, ",")
}

// shares reports whether cell (row r, field name, identity id) of t is
// the same unknown as the cell of that identity in the current release:
// always for a current table; for an earlier one, when it is linked and
// its row (or, for a corrected release, the cell itself) is unchanged.
func (t *table) shares(r int, name, id string) bool {
	switch {
	case t.version == 0:
		return true
	case t.links != nil:
		return t.links[name+"\x00"+id]
	}
	return !t.except[t.rowKeys[r]]
}

// buildModel gathers the unknowns and relations of the release and the
// linked earlier releases.
func buildModel(current, earlier []*table, parents map[string]parentLink, c *checker) *model {
	m := &model{varOf: map[obs]int{}, c: c, cache: map[string]compResult{}, chosenFor: map[int][]int{}}
	m.tables = append(append(m.tables, current...), earlier...)
	byID := map[string]int{}
	// index[release][field \x00 identity] is the var of a cell of that release.
	index := map[int]map[string]int{}
	idents := make([][]string, len(m.tables))

	for ti, t := range m.tables {
		if index[t.version] == nil {
			index[t.version] = map[string]int{}
		}
		idents[ti] = make([]string, len(t.cells))
		for r := range t.cells {
			id := t.rowIdentity(r)
			idents[ti][r] = id
			for col, fi := range t.fields {
				if !fi.additive {
					continue
				}
				o := obs{ti, r, col}
				iv, _, ok := m.obsInterval(o)
				if !ok {
					continue
				}
				name := t.schema.Fields[col].Name
				ns := "R"
				if !t.shares(r, name, id) {
					ns = "E" + strconv.Itoa(t.version)
				}
				key := ns + "\x00" + name + "\x00" + id
				var truth float64
				hasTruth := false
				if t.version == 0 {
					if v := t.orig[r][col]; v.Kind == datasets.KindInteger || v.Kind == datasets.KindNumber {
						truth, hasTruth = v.Float, true
					}
				}
				if vi, ok := byID[key]; ok {
					v := m.vars[vi]
					clash := ""
					switch {
					case slices.ContainsFunc(v.obs, func(p obs) bool { return p.t == ti }):
						first := v.obs[0]
						clash = "dup"
						c.add(Finding{Kind: KindDuplicateCell, File: t.label(), Row: t.records[r], Column: col + 1, Field: name,
							Message: fmt.Sprintf("Row %d, column %d (%s) has the same key and dimension values as row %d; the two are audited as different cells.",
								t.records[r], col+1, name, m.tables[first.t].records[first.r])})
					case t.version == 0 && hasTruth && v.hasTruth && math.Abs(truth-v.truth) > 1e-9:
						first := v.obs[0]
						clash = "value"
						c.add(Finding{Kind: KindInconsistent, File: t.label(), Row: t.records[r], Column: col + 1, Field: name, Value: t.orig[r][col].Text,
							Message: fmt.Sprintf("Row %d, column %d (%s) is the same cell as row %d of %s but has a different value; the two are audited as different cells.",
								t.records[r], col+1, name, m.tables[first.t].records[first.r], m.tables[first.t].label())})
					case t.version != 0 && v.hasTruth && !iv.contains(v.truth):
						clash = "changed"
						c.add(Finding{Kind: KindInconsistent, File: t.label(), Row: t.records[r], Column: col + 1, Field: name, Value: t.cells[r][col],
							Message: fmt.Sprintf("Row %d, column %d (%s) of version %d is declared unchanged, but this release's value differs from what version %d published; list its row key (%q) among the changed rows.",
								t.records[r], col+1, name, t.version, t.version, t.rowKeys[r])})
					}
					if clash == "" {
						// A cell shared with another release is still this
						// release's cell: its margins hold with its parts.
						if _, ok := index[t.version][name+"\x00"+id]; !ok {
							index[t.version][name+"\x00"+id] = vi
						}
						v.obs = append(v.obs, o)
						v.integral = v.integral && !fi.number
						v.current = v.current || t.version == 0
						m.varOf[o] = vi
						continue
					}
					key += fmt.Sprintf("\x00%s#%d#%d#%d", clash, ti, r, col)
				}
				vi := len(m.vars)
				byID[key] = vi
				if _, ok := index[t.version][name+"\x00"+id]; !ok {
					index[t.version][name+"\x00"+id] = vi
				}
				m.vars = append(m.vars, &avar{
					obs: []obs{o}, integral: !fi.number,
					truth: truth, hasTruth: hasTruth, current: t.version == 0,
				})
				m.varOf[o] = vi
			}
		}
	}

	seen := map[string]bool{}
	addEq := func(margin int, parts []int, at obs) {
		coef := map[int]int64{margin: 1}
		for _, p := range parts {
			coef[p]--
		}
		var terms []term
		for v, a := range coef {
			if a != 0 {
				terms = append(terms, term{v, a})
			}
		}
		if len(terms) == 0 {
			return
		}
		sort.Slice(terms, func(i, j int) bool { return terms[i].v < terms[j].v })
		var key strings.Builder
		for _, tm := range terms {
			fmt.Fprintf(&key, "%d:%d,", tm.v, tm.a)
		}
		if seen[key.String()] {
			return
		}
		seen[key.String()] = true
		eq := equation{terms: terms, at: at, parts: len(parts)}
		known := m.vars[margin].hasTruth
		sum := 0.0
		for _, p := range parts {
			known = known && m.vars[p].hasTruth
			sum += m.vars[p].truth
		}
		if known {
			tv := m.vars[margin].truth
			if math.Abs(tv-sum) > 1e-6*(1+math.Abs(tv)) {
				eq.broken, eq.sum = true, sum
			}
		}
		m.vars[margin].margin = true
		m.eqs = append(m.eqs, eq)
	}

	for ti, t := range m.tables {
		// Total columns.
		for r := range t.cells {
			for col, fi := range t.fields {
				if !fi.total {
					continue
				}
				mv, ok := m.varOf[obs{ti, r, col}]
				if !ok {
					continue
				}
				for _, set := range append([][]int{fi.parts}, fi.extraParts...) {
					if parts := m.rowParts(ti, r, set); parts != nil {
						addEq(mv, parts, obs{ti, r, col})
					}
				}
			}
		}
		// Margin rows.
		for _, dc := range t.identCols {
			d := t.schema.Fields[dc]
			if len(d.TotalValues) == 0 {
				continue
			}
			for col, fi := range t.fields {
				if !fi.additive {
					continue
				}
				name := t.schema.Fields[col].Name
				type group struct {
					parts   []int
					bad     bool
					changed bool // some part is in a row changed since an earlier release
				}
				var order []string
				groups := map[string]*group{}
				for r := range t.cells {
					if slices.Contains(d.TotalValues, t.cells[r][dc]) {
						continue
					}
					rest := identityWithout(idents[ti][r], d.Name)
					g, ok := groups[rest]
					if !ok {
						g = &group{}
						groups[rest] = g
						order = append(order, rest)
					}
					if pv, ok := m.varOf[obs{ti, r, col}]; ok {
						g.parts = append(g.parts, pv)
					} else {
						g.bad = true
					}
					g.changed = g.changed || !t.shares(r, name, idents[ti][r])
				}
				for _, rest := range order {
					g := groups[rest]
					if g.bad {
						continue
					}
					// The margin: in the same release, else (for unchanged
					// cells) in another release the cell is shared with.
					mv, ok := index[t.version][name+"\x00"+rest]
					if !ok && !g.changed {
						mv, ok = byID["R\x00"+name+"\x00"+rest]
					}
					if !ok {
						continue
					}
					addEq(mv, g.parts, m.vars[mv].obs[0])
				}
			}
		}
	}
	m.hierarchyRelations(parents, index, addEq)
	m.varEqs = make([][]int, len(m.vars))
	for ei, eq := range m.eqs {
		for _, tm := range eq.terms {
			m.varEqs[tm.v] = append(m.varEqs[tm.v], ei)
		}
	}
	m.components()
	return m
}

// rowParts returns the unknowns of the given columns of row r of table
// ti, or nil when the set is empty or some part is not an unknown.
func (m *model) rowParts(ti, r int, cols []int) []int {
	var parts []int
	for _, pc := range cols {
		pv, ok := m.varOf[obs{ti, r, pc}]
		if !ok {
			return nil
		}
		parts = append(parts, pv)
	}
	return parts
}

// components works out the static components.
func (m *model) components() {
	parent := make([]int, len(m.vars))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, eq := range m.eqs {
		if eq.broken {
			continue
		}
		for _, tm := range eq.terms[1:] {
			if a, b := find(eq.terms[0].v), find(tm.v); a != b {
				parent[a] = b
			}
		}
	}
	m.compOf = make([]int, len(m.vars))
	index := map[int]int{}
	for v := range m.vars {
		r := find(v)
		c, ok := index[r]
		if !ok {
			c = len(m.compVars)
			index[r] = c
			m.compVars = append(m.compVars, nil)
			m.compEqs = append(m.compEqs, nil)
		}
		m.compOf[v] = c
		m.compVars[c] = append(m.compVars[c], v)
	}
	for ei, eq := range m.eqs {
		if !eq.broken {
			c := m.compOf[eq.terms[0].v]
			m.compEqs[c] = append(m.compEqs[c], ei)
		}
	}
}

// auditComponents audits the union of the static components of the given
// unknowns.
func (m *model) auditComponents(vs ...int) auditResult {
	var vars, eqs []int
	seen := map[int]bool{}
	for _, v := range vs {
		c := m.compOf[v]
		if seen[c] {
			continue
		}
		seen[c] = true
		vars = append(vars, m.compVars[c]...)
		eqs = append(eqs, m.compEqs[c]...)
	}
	return m.auditOn(vars, eqs)
}
