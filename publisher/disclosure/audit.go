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
	truth    float64
	integral bool // every file types it integer
	hasTruth bool // its original value is known (published in this release, not suppressed at source)
	current  bool // published in this release
	margin   bool // the margin of some relation
	// (The flags last: 40 bytes, not 48, for each of millions.)
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
	vars   []avar
	eqs    []equation
	// relSlab[relStart[v]:relStart[v+1]] are the relations unknown v is in
	// (see relationsOf: worked out when first asked for).
	relStart []int32
	relSlab  []int32
	relsOnce sync.Once
	varAt    [][]int32 // per table, row by row and additive column: the unknown + 1 (0: none)
	varCol   [][]int32 // per table, by column: 1 + its place among the additive columns, or 0; then their count
	// Static components: unknowns connected by relations that add up,
	// whatever is published. A suppression changes only its own
	// component's audit (and, by making a file's markers ambiguous, can
	// only widen intervals elsewhere). Worked out when first asked for
	// (see staticComponents): only secondary suppression and text
	// findings need them, and a release without either does not pay for
	// them.
	compOf    []int
	compVars  [][]int
	compEqs   [][]int
	compsOnce sync.Once
	c         *checker
	// caching: remember each solve's result by its inputs, for audits that
	// solve the same blocks again (secondary suppression, text trials).
	caching bool
	cache   map[string]compResult
	// localPool lends solves an array by unknown (see localIndex).
	localPool sync.Pool
	cacheMu   sync.Mutex
	// pins are values assumed for unknowns, as a figure in the release's
	// text would state them (see textFindings); nil otherwise.
	pins map[int]interval
	// chosenFor records, for each secondary suppression the heuristic
	// kept, the cells failing when it was chosen.
	chosenFor map[int][]int
}

// multipleOfFive reports whether x is a whole multiple of 5, as
// math.Mod(x, 5) == 0 does, without math.Mod's cost for the millions of
// counts a large release has.
func multipleOfFive(x float64) bool {
	if math.Abs(x) < 1<<53 { // whole numbers here are exact in an int64
		return x == math.Trunc(x) && int64(x)%5 == 0
	}
	return math.Mod(x, 5) == 0
}

// preimage returns the true values that the nhs-digital rule publishes as
// x: 0 is exactly 0, 10 is 8–12 and r ≥ 15 is r−2 … r+2 (for non-integer
// counts, the values that round to those whole numbers). Anything else is
// not an output of the rule and is read as exact.
func preimage(x float64, number bool) interval {
	mod5 := multipleOfFive(x)
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
			case rule == datasets.DisclosureThreshold && (!t.treat.known() || t.treat.at(o.r, o.c) != tSource) && fi.number:
				return interval{lo: 0, loOpen: true, inf: true}, true, true
			case rule == datasets.DisclosureThreshold && (!t.treat.known() || t.treat.at(o.r, o.c) != tSource):
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
		return fmt.Sprintf("%s in row %d of %s", field, t.rows[o.r].Record, t.label())
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

// shares reports whether cell (row r, field name) of t is the same
// unknown as the cell of its identity in the current release: always for
// a current table; for an earlier one, when it is linked and its row (or,
// for a corrected release, the cell itself) is unchanged.
func (t *table) shares(r int, name string) bool {
	switch {
	case t.version == 0:
		return true
	case t.links != nil:
		return t.links[name+"\x00"+t.rowIdentity(r)]
	}
	return !t.except[t.rowKey(r)]
}

// rowParts returns the unknowns of the given columns of row r of table
// ti, or nil when the set is empty or some part is not an unknown.
func (m *model) rowParts(ti, r int, cols []int) []int {
	var parts []int
	for _, pc := range cols {
		pv, ok := m.varOf(obs{ti, r, pc})
		if !ok {
			return nil
		}
		parts = append(parts, pv)
	}
	return parts
}

// staticComponents works out the static components (compOf, compVars,
// compEqs) unless they have been already. The relations must be complete.
func (m *model) staticComponents() { m.compsOnce.Do(m.components) }

// components works out the static components.
func (m *model) components() {
	sets := newUnionFind(len(m.vars))
	for _, eq := range m.eqs {
		if eq.broken {
			continue
		}
		for _, tm := range eq.terms[1:] {
			sets.union(eq.terms[0].v, tm.v)
		}
	}
	find := sets.find
	m.compOf = make([]int, len(m.vars))
	compOfRoot := make([]int32, len(m.vars))
	var sizes []int
	for v := range m.vars {
		r := find(v)
		if compOfRoot[r] == 0 {
			sizes = append(sizes, 0)
			compOfRoot[r] = int32(len(sizes))
		}
		c := int(compOfRoot[r]) - 1
		m.compOf[v] = c
		sizes[c]++
	}
	slab := make([]int, len(m.vars))
	m.compVars = make([][]int, len(sizes))
	m.compEqs = make([][]int, len(sizes))
	at := 0
	for c, n := range sizes {
		m.compVars[c] = slab[at : at : at+n]
		at += n
	}
	for v, c := range m.compOf {
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
	m.staticComponents()
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
