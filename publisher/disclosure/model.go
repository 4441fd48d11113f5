package disclosure

import (
	"fmt"
	"iter"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/candour/candour/datasets"
)

// Building the audit model. A release of millions of rows has millions of
// unknowns, so the model is built with interned identities (identities.go)
// and dense per-table arrays rather than maps of quoted strings; the
// unknowns and their observations are allocated in slabs.

// varKey finds the unknown of a cell: its namespace (0 for the cells
// shared with the current release, else the version of an earlier release
// whose cell is not shared), field and identity.
type varKey struct {
	ns    int32
	field uint32
	ident int32
}

// indexKey finds a release's cell of a field and identity (which may be
// an unknown shared with another release).
type indexKey struct {
	version int32
	field   uint32
	ident   int32
}

// modelBuilder holds what buildModel needs only while it builds.
type modelBuilder struct {
	m        *model
	ids      *identities
	fieldIDs [][]uint32 // per table, per column: the field's number
	order    [][]int    // per table: the identity columns in field-name order
	// vals[ti][k][r] is the value number of row r's k-th identity column
	// in field-name order, or noValue for a total value.
	vals [][][]uint32
	// digits[ti][k] is the digit of table ti's k-th identity column in
	// the identities' mixed-radix numbers, or −1 (see denseRowKey).
	digits [][]int32
	byID   map[varKey]int32 // cells of earlier releases not shared with the current one
	// shared[identity] is the offset in sharedSlab of the identity's
	// unknowns by additive field (1 + the unknown; 0 for none), or −1: the
	// unknowns of namespace 0, the cells shared with the current release,
	// which are most cells, kept in arrays rather than a map. A field
	// additive in no table has no slot, and its cells (none are unknowns)
	// would be kept in byID.
	shared     []int32
	sharedSlab []int32
	slotOf     []int32 // by field number − 1: 1 + its place among the additive fields, or 0
	slots      int     // additive fields
	index      map[indexKey]int32
	// The relations added, by the first unknown of their merged terms:
	// firstOf[v] is 1 + the last relation whose first unknown is v (0 for
	// none), sameFirst[i] 1 + the one before relation i with the same
	// first unknown. An unknown is the first of a few relations at most,
	// so a relation is compared in full with a handful of others: an
	// array read rather than a map of millions of hashes.
	firstOf   []int32
	sameFirst []int32
	pairs     []idPair
	obsSlab   []obs // slab of their first observations
}

// buildModel gathers the unknowns and relations of the release and the
// linked earlier releases.
func buildModel(current, earlier []*table, parents map[string]parentLink, c *checker) *model {
	return buildModelWithin(current, earlier, parents, c, denseIdentityLimit(append(slices.Clone(current), earlier...)))
}

// buildModelWithin is buildModel with identities numbered in an array of
// at most denseLimit entries (see identities.useDense).
func buildModelWithin(current, earlier []*table, parents map[string]parentLink, c *checker, denseLimit int) *model {
	m := &model{c: c, cache: map[string]compResult{}, chosenFor: map[int][]int{}}
	m.tables = append(append(m.tables, current...), earlier...)
	b := newModelBuilder(m)
	var identFields []uint32
	for ti, t := range m.tables {
		b.internRows(ti)
		for _, c := range t.identCols {
			identFields = append(identFields, b.fieldIDs[ti][c])
		}
	}
	b.ids.useDense(identFields, denseLimit)
	for ti := range m.tables {
		b.addVars(ti)
	}
	for ti := range m.tables {
		b.addTotalColumns(ti)
		b.addMarginRows(ti)
	}
	b.hierarchyRelations(parents)
	return m
}

// denseIdentityLimit is the largest array of identities (see identities)
// worth making for tables: a few entries a row.
func denseIdentityLimit(tables []*table) int {
	rows := 0
	for _, t := range tables {
		rows += len(t.cells)
	}
	return max(1<<16, 4*rows)
}

func newModelBuilder(m *model) *modelBuilder {
	rows := 0
	for _, t := range m.tables {
		rows += len(t.cells)
	}
	b := &modelBuilder{m: m, ids: newIdentities(rows)}
	cells := 0
	b.fieldIDs = make([][]uint32, len(m.tables))
	b.order = make([][]int, len(m.tables))
	b.vals = make([][][]uint32, len(m.tables))
	b.digits = make([][]int32, len(m.tables))
	m.varAt = make([][]int32, len(m.tables))
	m.varCol = make([][]int32, len(m.tables))
	for ti, t := range m.tables {
		b.fieldIDs[ti] = make([]uint32, len(t.schema.Fields))
		for col, f := range t.schema.Fields {
			b.fieldIDs[ti][col] = b.ids.field(f.Name)
		}
		b.slotAdditive(ti)
		b.order[ti] = slices.Clone(t.identCols)
		slices.SortStableFunc(b.order[ti], func(x, y int) int {
			return strings.Compare(t.schema.Fields[x].Name, t.schema.Fields[y].Name)
		})
		additive := m.columnSlots(ti)
		m.varAt[ti] = make([]int32, len(t.cells)*additive)
		cells += additive * len(t.cells)
	}
	b.byID = map[varKey]int32{}
	b.shared = make([]int32, 0, rows)
	b.sharedSlab = make([]int32, 0, rows*b.slots)
	b.index = map[indexKey]int32{}
	b.obsSlab = make([]obs, 0, cells)
	m.vars = make([]avar, 0, cells)
	m.eqs = make([]equation, 0, cells/2)
	return b
}

// slotAdditive gives each field additive in table ti a place in
// sharedSlab's runs, unless an earlier table has.
func (b *modelBuilder) slotAdditive(ti int) {
	for col, fi := range b.m.tables[ti].fields {
		if !fi.additive {
			continue
		}
		f := int(b.fieldIDs[ti][col])
		for len(b.slotOf) < f {
			b.slotOf = append(b.slotOf, 0)
		}
		if b.slotOf[f-1] == 0 {
			b.slots++
			b.slotOf[f-1] = int32(b.slots)
		}
	}
}

// slot is field's place in sharedSlab's runs (1 …), or 0 for none.
func (b *modelBuilder) slot(field uint32) int {
	if int(field) > len(b.slotOf) {
		return 0
	}
	return int(b.slotOf[field-1])
}

// columnSlots numbers table ti's additive columns for varAt (varCol, whose
// last entry is how many there are: a row's width in varAt) and returns
// how many there are.
func (m *model) columnSlots(ti int) int {
	t := m.tables[ti]
	m.varCol[ti] = make([]int32, len(t.fields)+1)
	n := 0
	for col, fi := range t.fields {
		if fi.additive {
			n++
			m.varCol[ti][col] = int32(n)
		}
	}
	m.varCol[ti][len(t.fields)] = int32(n)
	return n
}

// noValue stands for a total value, which identities leave out.
const noValue = ^uint32(0)

// internRows numbers the identity values of every row of table ti.
func (b *modelBuilder) internRows(ti int) {
	t := b.m.tables[ti]
	order := b.order[ti]
	b.vals[ti] = make([][]uint32, len(order))
	// A column at a time, the columns in parallel: each numbers its own
	// field's values (one map a field), in row order.
	numbered := t.identNumbers
	t.identNumbers = identNumbers{}
	inParallel(len(order), func(k int) {
		c := order[k]
		field, f := b.fieldIDs[ti][c], t.schema.Fields[c]
		if i := slices.Index(t.identCols, c); len(numbered.ids) == len(t.identCols) && i >= 0 {
			b.vals[ti][k] = b.renumber(field, f, numbered.ids[i], numbered.values[i])
			return
		}
		vals := make([]uint32, len(t.cells))
		last, lastID := "", noValue
		for r := range t.cells {
			v := t.cells[r][c]
			if lastID == noValue || v != last {
				last, lastID = v, b.ids.value(field, v)
				if isTotal(f, v) {
					lastID = noValue
				}
			}
			vals[r] = lastID
		}
		b.vals[ti][k] = vals
	})
}

// renumber turns a column's value numbers ids, of values (numbered as
// first met in row order), into the identities' numbers of field (f),
// noValue for a total value, in place: the identities number the values
// in the same order as if they met them row by row.
func (b *modelBuilder) renumber(field uint32, f datasets.Field, ids []uint32, values []string) []uint32 {
	to := make([]uint32, len(values))
	for n, v := range values {
		to[n] = b.ids.value(field, v)
		if isTotal(f, v) {
			to[n] = noValue
		}
	}
	for r, n := range ids {
		ids[r] = to[n]
	}
	return ids
}

// isTotal reports whether v is one of field f's total values.
func isTotal(f datasets.Field, v string) bool { return slices.Contains(f.TotalValues, v) }

// rowIdentity is the identity of row r of table ti (without the field of
// column skip, unless skip is −1), as table.rowIdentity gives in words.
func (b *modelBuilder) rowIdentity(ti, r, skip int) int32 {
	t := b.m.tables[ti]
	if len(t.identCols) == 0 {
		f := b.ids.field("\x00row of " + t.label())
		return b.ids.of([]idPair{{f, b.ids.value(f, strconv.Itoa(r))}})
	}
	if key, ok := b.denseRowKey(ti, r, skip); ok {
		return b.ids.ofDense(key)
	}
	b.pairs = b.rowPairs(ti, r, skip, b.pairs[:0])
	return b.ids.of(b.pairs)
}

// rowPairs appends to pairs the (field, value) pairs of row r of table ti
// in field-name order, leaving out total values and the field of column
// skip.
func (b *modelBuilder) rowPairs(ti, r, skip int, pairs []idPair) []idPair {
	for k, c := range b.order[ti] {
		if v := b.vals[ti][k][r]; c != skip && v != noValue {
			pairs = append(pairs, idPair{b.fieldIDs[ti][c], v})
		}
	}
	return pairs
}

// denseRowKey is the mixed-radix number of row r's identity (without the
// field of column skip) that identities.denseNumber gives its pairs, if
// it has one, worked out from the row's value numbers without the pairs.
func (b *modelBuilder) denseRowKey(ti, r, skip int) (uint64, bool) {
	d := &b.ids.dense
	if d.ids == nil {
		return 0, false
	}
	order, digits, vals := b.order[ti], b.digitsOf(ti), b.vals[ti]
	var key uint64
	for k, c := range order {
		v := vals[k][r]
		if v == noValue || c == skip {
			continue
		}
		slot := digits[k]
		if slot < 0 || uint64(v)+1 >= d.radix[slot] {
			return 0, false
		}
		key += (uint64(v) + 1) * d.stride[slot]
	}
	return key, true
}

// digitsOf returns digits[ti], working it out the first time.
func (b *modelBuilder) digitsOf(ti int) []int32 {
	if b.digits[ti] == nil {
		fields := make([]uint32, len(b.order[ti]))
		for k, c := range b.order[ti] {
			fields[k] = b.fieldIDs[ti][c]
		}
		b.digits[ti] = b.ids.digits(fields)
	}
	return b.digits[ti]
}

// parentIdentity is the identity of the parent cell of row r of table ti
// whose child field (column dc) nests in parent (see hierarchy.go): the
// row's identity without dc, with the parent field set to parentCode.
func (b *modelBuilder) parentIdentity(ti, r, dc int, parent, parentCode string) int32 {
	t := b.m.tables[ti]
	var pairs []idPair
	for _, c := range t.identCols {
		f := t.schema.Fields[c]
		v := t.cells[r][c]
		if c == dc || f.Name == parent || isTotal(f, v) {
			continue
		}
		pairs = append(pairs, idPair{b.fieldIDs[ti][c], b.ids.value(b.fieldIDs[ti][c], v)})
	}
	pf := b.ids.field(parent)
	pairs = append(pairs, idPair{pf, b.ids.value(pf, parentCode)})
	return b.ids.of(b.ids.inOrder(pairs))
}

// addVars gathers the unknowns of table ti. The unknowns are numbered
// here, row after row; what each row's cells disclose (and the number of
// its identity, when it has one in the identities' array) is read from
// the table ahead of them, a chunk of rows at a time, on another
// goroutine (reading the tables only), since for a table of millions of
// rows that reading is about half the work.
func (b *modelBuilder) addVars(ti int) {
	t := b.m.tables[ti]
	var cols []int
	for col, fi := range t.fields {
		if fi.additive {
			cols = append(cols, col)
		}
	}
	if len(cols) == 0 {
		return
	}
	for _, tb := range b.m.tables {
		tb.ambiguousCached() // worked out before the cells are read on another goroutine
	}
	b.digitsOf(ti) // likewise
	for ch := range b.readAhead(ti, cols) {
		for i, r := 0, ch.from; r < ch.to; i, r = i+1, r+1 {
			id := int32(0)
			if rk := ch.rows[i]; rk.dense {
				id = b.ids.ofDense(rk.key)
			} else {
				id = b.rowIdentity(ti, r, -1)
			}
			for k, col := range cols {
				if cv := ch.cells[i*len(cols)+k]; cv.published {
					b.addCell(ti, r, col, id, cv)
				}
			}
		}
	}
}

// cellsRead is what readAhead gives of rows from to to: each row's
// identity number, if it has one in the array, and what each of its
// additive cells discloses, row after row.
type cellsRead struct {
	from, to int
	rows     []rowKey
	cells    []cellRead
}

// rowKey is the number of a row's identity (or of its identity without
// a dimension) in the identities' array, when it has one (see
// denseRowKey).
type rowKey struct {
	key   uint64
	dense bool
}

// cellRead is what a published cell discloses about its true value, and
// that value when the current release has it.
type cellRead struct {
	iv        interval
	truth     float64
	published bool // not missing
	hasTruth  bool
}

// readAhead reads table ti's rows' identity numbers and the cells of
// columns cols, a chunk of rows at a time, on a goroutine of its own; the
// chunks come in order, each valid until the next is asked for, and the
// goroutine stops when the caller stops ranging. Three chunks' arrays are
// reused throughout.
func (b *modelBuilder) readAhead(ti int, cols []int) iter.Seq[cellsRead] {
	const per, buffers = 1 << 13, 3
	t := b.m.tables[ti]
	return func(yield func(cellsRead) bool) {
		out, free := make(chan cellsRead, buffers), make(chan cellsRead, buffers)
		for range buffers {
			free <- cellsRead{rows: make([]rowKey, per), cells: make([]cellRead, per*len(cols))}
		}
		stop := make(chan struct{})
		go func() {
			defer close(out)
			for from := 0; from < len(t.cells); from += per {
				select {
				case ch := <-free:
					out <- b.readRows(ch, ti, cols, from, min(len(t.cells), from+per))
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			for range out { // let the goroutine finish
			}
		}()
		for ch := range out {
			if !yield(ch) {
				return
			}
			free <- ch
		}
	}
}

// readRows is readAhead's chunk of rows from to to, in ch's arrays.
func (b *modelBuilder) readRows(ch cellsRead, ti int, cols []int, from, to int) cellsRead {
	m, t := b.m, b.m.tables[ti]
	ch.from, ch.to = from, to
	clear(ch.cells)
	for i, r := 0, from; r < to; i, r = i+1, r+1 {
		ch.rows[i] = rowKey{}
		if len(t.identCols) > 0 {
			ch.rows[i].key, ch.rows[i].dense = b.denseRowKey(ti, r, -1)
		}
		for k, col := range cols {
			cv := &ch.cells[i*len(cols)+k]
			cv.iv, _, cv.published = m.obsInterval(obs{ti, r, col})
			if t.version == 0 {
				if v := t.rows[r].Values[col]; v.Kind == datasets.KindInteger || v.Kind == datasets.KindNumber {
					cv.truth, cv.hasTruth = v.Float, true
				}
			}
		}
	}
	return ch
}

// addCell makes cell (r, col) of table ti, published as cv says, an
// unknown, or an observation of the unknown of its identity.
func (b *modelBuilder) addCell(ti, r, col int, id int32, cv cellRead) {
	m, t := b.m, b.m.tables[ti]
	o := obs{ti, r, col}
	iv, truth, hasTruth := cv.iv, cv.truth, cv.hasTruth
	field := b.fieldIDs[ti][col]
	key := varKey{field: field, ident: id}
	if !t.shares(r, t.schema.Fields[col].Name) {
		key.ns = int32(t.version)
	}
	if vi, ok := b.lookup(key); ok && !b.clashes(int(vi), o, iv, truth, hasTruth) {
		b.indexCell(t.version, field, id, vi)
		v := &m.vars[vi]
		v.obs = append(v.obs, o)
		v.integral = v.integral && !t.fields[col].number
		v.current = v.current || t.version == 0
		m.setVar(o, int(vi))
		return
	} else if !ok {
		b.register(key, int32(len(m.vars)))
	}
	vi := int32(len(m.vars))
	b.indexCell(t.version, field, id, vi)
	b.obsSlab = append(b.obsSlab, o)
	m.vars = append(m.vars, avar{
		obs: b.obsSlab[len(b.obsSlab)-1 : len(b.obsSlab) : len(b.obsSlab)], integral: !t.fields[col].number,
		truth: truth, hasTruth: hasTruth, current: t.version == 0,
	})
	m.setVar(o, int(vi))
}

// lookup returns the unknown registered under key.
func (b *modelBuilder) lookup(key varKey) (int32, bool) {
	slot := b.slot(key.field)
	if key.ns != 0 || slot == 0 {
		vi, ok := b.byID[key]
		return vi, ok
	}
	if int(key.ident) >= len(b.shared) || b.shared[key.ident] < 0 {
		return 0, false
	}
	vi := b.sharedSlab[int(b.shared[key.ident])+slot-1]
	return vi - 1, vi > 0
}

// register records unknown vi under key.
func (b *modelBuilder) register(key varKey, vi int32) {
	slot := b.slot(key.field)
	if key.ns != 0 || slot == 0 {
		b.byID[key] = vi
		return
	}
	for int(key.ident) >= len(b.shared) {
		b.shared = append(b.shared, -1)
	}
	if b.shared[key.ident] < 0 {
		b.shared[key.ident] = int32(len(b.sharedSlab))
		b.sharedSlab = append(b.sharedSlab, make([]int32, b.slots)...)
	}
	b.sharedSlab[int(b.shared[key.ident])+slot-1] = vi + 1
}

// indexCell records that unknown vi is a cell of release version, unless
// the release already has one of that field and identity. The current
// release's cells are found through byID instead (see cellOf).
func (b *modelBuilder) indexCell(version int, field uint32, id, vi int32) {
	if version == 0 {
		return
	}
	at := indexKey{int32(version), field, id}
	if _, ok := b.index[at]; !ok {
		b.index[at] = vi
	}
}

// cellOf returns the unknown of release version's cell of this field and
// identity: for the current release, the unknown registered under that
// identity if the release publishes it (the first cell registered is the
// first current one, since the current tables come first).
func (b *modelBuilder) cellOf(version int, field uint32, id int32) (int32, bool) {
	if version == 0 {
		vi, ok := b.lookup(varKey{0, field, id})
		return vi, ok && b.m.vars[vi].current
	}
	vi, ok := b.index[indexKey{int32(version), field, id}]
	return vi, ok
}

// clashes reports (as a finding) whether cell o cannot be the unknown vi
// that has its identity: a second cell of the same file, a different
// original value, or a changed cell of an earlier release declared
// unchanged. The two are then audited as different cells.
func (b *modelBuilder) clashes(vi int, o obs, iv interval, truth float64, hasTruth bool) bool {
	m, t := b.m, b.m.tables[o.t]
	v := &m.vars[vi]
	r, col := o.r, o.c
	name := t.schema.Fields[col].Name
	first := v.obs[0]
	switch {
	case slices.ContainsFunc(v.obs, func(p obs) bool { return p.t == o.t }):
		m.c.add(Finding{Kind: KindDuplicateCell, File: t.label(), Row: t.rows[r].Record, Column: col + 1, Field: name,
			Message: fmt.Sprintf("Row %d, column %d (%s) has the same key and dimension values as row %d; the two are audited as different cells.",
				t.rows[r].Record, col+1, name, m.tables[first.t].rows[first.r].Record)})
	case t.version == 0 && hasTruth && v.hasTruth && math.Abs(truth-v.truth) > 1e-9:
		m.c.add(Finding{Kind: KindInconsistent, File: t.label(), Row: t.rows[r].Record, Column: col + 1, Field: name, Value: t.rows[r].Values[col].Text,
			Message: fmt.Sprintf("Row %d, column %d (%s) is the same cell as row %d of %s but has a different value; the two are audited as different cells.",
				t.rows[r].Record, col+1, name, m.tables[first.t].rows[first.r].Record, m.tables[first.t].label())})
	case t.version != 0 && v.hasTruth && !iv.contains(v.truth):
		m.c.add(Finding{Kind: KindInconsistent, File: t.label(), Row: t.rows[r].Record, Column: col + 1, Field: name, Value: t.cells[r][col],
			Message: fmt.Sprintf("Row %d, column %d (%s) of version %d is declared unchanged, but this release's value differs from what version %d published; list its row key (%q) among the changed rows.",
				t.rows[r].Record, col+1, name, t.version, t.version, t.rowKey(r))})
	default:
		return false
	}
	return true
}

// addTotalColumns adds the relations of table ti's total columns.
func (b *modelBuilder) addTotalColumns(ti int) {
	m, t := b.m, b.m.tables[ti]
	for r := range t.cells {
		for col, fi := range t.fields {
			if !fi.total {
				continue
			}
			mv, ok := m.varOf(obs{ti, r, col})
			if !ok {
				continue
			}
			for _, set := range append([][]int{fi.parts}, fi.extraParts...) {
				if parts := m.rowParts(ti, r, set); parts != nil {
					b.addEq(mv, parts, obs{ti, r, col})
				}
			}
		}
	}
}

// marginGroup is the cells that add up to one margin.
type marginGroup struct {
	parts   []int
	bad     bool // some part is not an unknown
	changed bool // some part is in a row changed since an earlier release
}

// addMarginRows adds the relations of table ti's margin rows: for each
// dimension with total values, the rows that differ only in it add up to
// the row with its total value (in this release, else in a release the
// cell is shared with).
func (b *modelBuilder) addMarginRows(ti int) {
	t := b.m.tables[ti]
	var dims []int
	for _, dc := range t.identCols {
		if len(t.schema.Fields[dc].TotalValues) > 0 {
			dims = append(dims, dc)
		}
	}
	// The dimensions' rows are grouped in parallel when they are grouped
	// by their value numbers (reading the model only), else one after the
	// other; the groups' identities are then numbered dimension after
	// dimension, group after group, as they were first met.
	b.digitsOf(ti)
	groupings := make([]marginGroups, len(dims))
	group := func(i int) { groupings[i] = b.marginGroups(ti, dims[i]) }
	if slices.ContainsFunc(dims, func(dc int) bool { return !b.groupedByValues(ti, dc) }) {
		for i := range dims {
			group(i)
		}
	} else {
		inParallel(len(dims), group)
	}
	for i, dc := range dims {
		gs := groupings[i]
		gs.ident = make([]int32, len(gs.keys))
		for g, k := range gs.keys {
			if k.dense {
				gs.ident[g] = b.ids.ofDense(k.key)
			} else {
				gs.ident[g] = b.rowIdentity(ti, int(gs.rows[gs.start[g]]), dc)
			}
		}
		groupings[i] = marginGroups{}
		var cols []int
		for col, fi := range t.fields {
			if fi.additive {
				cols = append(cols, col)
			}
		}
		// Each column's groups in parts, the parts of every column in
		// parallel (a table of one count column has millions of groups),
		// committed in order: columns, then groups.
		const per = 1 << 14
		partsPerCol := (len(gs.ident) + per - 1) / per
		pending := make([][]pendingEq, len(cols)*partsPerCol)
		inParallel(len(pending), func(i int) {
			col, part := cols[i/partsPerCol], i%partsPerCol
			pending[i] = b.marginColumn(ti, col, gs, part*per, min(len(gs.ident), (part+1)*per))
		})
		for _, ps := range pending {
			for _, p := range ps {
				b.commit(p)
			}
		}
	}
}

// marginGroups are the rows of a table that differ only in one dimension,
// grouped: rows[start[g]:start[g+1]] are group g's rows (in row order),
// ident[g] their identity without the dimension (the identity of their
// margin), once numbered from keys[g] (see addMarginRows).
type marginGroups struct {
	ident []int32
	keys  []rowKey
	start []int32
	rows  []int32
}

// marginGroups groups the rows of table ti whose column dc is not a total
// value by their identity without dc.
func (b *modelBuilder) marginGroups(ti, dc int) marginGroups {
	t := b.m.tables[ti]
	d := t.schema.Fields[dc]
	groupOf := make([]int32, len(t.cells))
	var gs marginGroups
	var sizes []int32
	// Rows are grouped by the numbers of their other identity values (a
	// small map of this table's groups); each group's identity is looked
	// up once.
	//
	// Rows of one group are often next to each other (when dc is the
	// last dimension of the sort order), so the last row's group is
	// tried before the index.
	// About one group for every value of dc a row can take: sized at
	// once, the index is not rebuilt as it grows to millions of groups.
	expected := len(t.cells) / max(1, b.ids.valuesOf(b.fieldIDs[ti][dc]))
	group, index := b.groupIndex(ti, dc, expected)
	gs.keys = make([]rowKey, 0, expected)
	sizes = make([]int32, 0, expected)
	lastKey, lastGroup := uint64(0), int32(-1)
	for r := range t.cells {
		groupOf[r] = -1
		if isTotal(d, t.cells[r][dc]) {
			continue
		}
		key := group(r)
		g := lastGroup
		if g < 0 || key != lastKey {
			var ok bool
			if g, ok = index.get(key); !ok {
				g = int32(len(gs.keys))
				index.put(key, g)
				var rk rowKey
				rk.key, rk.dense = b.denseRowKey(ti, r, dc)
				gs.keys = append(gs.keys, rk)
				sizes = append(sizes, 0)
			}
			lastKey, lastGroup = key, g
		}
		groupOf[r] = g
		sizes[g]++
	}
	gs.start = make([]int32, len(sizes)+1)
	for g, n := range sizes {
		gs.start[g+1] = gs.start[g] + n
	}
	gs.rows = make([]int32, gs.start[len(sizes)])
	next := slices.Clone(gs.start[:len(sizes)])
	for r, g := range groupOf {
		if g >= 0 {
			gs.rows[next[g]] = int32(r)
			next[g]++
		}
	}
	return gs
}

// groupIndex returns the keys that group the rows of table ti differing
// only in column dc, and an index from key to group for about expected
// groups: an array when the keys can be numbered densely (the other
// identity values' numbers as the digits of one number, which for a
// table of practices, ages and sexes is a few million at most), else a
// map (see groupKeys). The array does without millions of map reads.
func (b *modelBuilder) groupIndex(ti, dc, expected int) (func(r int) uint64, groupIndex) {
	if key, span, ok := b.denseGroupKeys(ti, dc, b.groupSpanLimit(ti)); ok {
		return key, groupIndex{dense: make([]int32, span)}
	}
	return b.groupKeys(ti, dc), groupIndex{sparse: make(map[uint64]int32, expected)}
}

// groupSpanLimit is the largest array groupIndex makes for table ti.
func (b *modelBuilder) groupSpanLimit(ti int) int { return max(1<<16, 2*len(b.m.tables[ti].cells)) }

// groupedByValues reports whether groupIndex groups the rows of table ti
// without column dc by their value numbers alone, not by their
// identities (which numbering them would change).
func (b *modelBuilder) groupedByValues(ti, dc int) bool {
	_, _, dense := b.denseGroupKeys(ti, dc, b.groupSpanLimit(ti))
	return dense || b.packedGroupKeys(ti, dc) != nil
}

// groupIndex is a group number by key: dense holds 1 + the group by key
// (0: none), else sparse holds it.
type groupIndex struct {
	dense  []int32
	sparse map[uint64]int32
}

func (x groupIndex) get(key uint64) (int32, bool) {
	if x.dense != nil {
		g := x.dense[key]
		return g - 1, g > 0
	}
	g, ok := x.sparse[key]
	return g, ok
}

func (x groupIndex) put(key uint64, g int32) {
	if x.dense != nil {
		x.dense[key] = g + 1
		return
	}
	x.sparse[key] = g
}

// denseGroupKeys returns keys for groupIndex's array, below span, when
// span (the product of each other identity field's count of values, one
// more for its total) is at most limit.
func (b *modelBuilder) denseGroupKeys(ti, dc, limit int) (key func(r int) uint64, span int, ok bool) {
	order := b.order[ti]
	if len(b.m.tables[ti].identCols) == 0 {
		return nil, 0, false
	}
	radix := make([]uint64, len(order))
	span = 1
	for k, c := range order {
		if c == dc {
			continue
		}
		radix[k] = uint64(b.ids.valuesOf(b.fieldIDs[ti][c]) + 1) // the last stands for noValue
		if span > limit/int(radix[k]) {
			return nil, 0, false
		}
		span *= int(radix[k])
	}
	return b.digitKeys(ti, dc, radix), span, true
}

// digitKeys returns the keys whose digits, in radix[k] for the k-th
// identity column in field-name order, are each row's value numbers of
// the identity columns other than dc (radix[k] − 1 for a total value).
// Every value number must be below its radix less one.
func (b *modelBuilder) digitKeys(ti, dc int, radix []uint64) func(r int) uint64 {
	order, vals := b.order[ti], b.vals[ti]
	return func(r int) uint64 {
		var key uint64
		for k, c := range order {
			if c == dc {
				continue
			}
			v := uint64(vals[k][r])
			if v == uint64(noValue) {
				v = radix[k] - 1
			}
			key = key*radix[k] + v
		}
		return key
	}
}

// groupKeys returns what groups the rows of table ti that differ only in
// column dc: their other identity values' numbers packed into 64 bits,
// or (when they do not fit) their identity without dc.
func (b *modelBuilder) groupKeys(ti, dc int) func(r int) uint64 {
	if key := b.packedGroupKeys(ti, dc); key != nil {
		return key
	}
	return func(r int) uint64 { return uint64(b.rowIdentity(ti, r, dc)) }
}

// packedGroupKeys is groupKeys' packed keys, or nil when they do not fit.
func (b *modelBuilder) packedGroupKeys(ti, dc int) func(r int) uint64 {
	order := b.order[ti]
	others := len(order) - 1
	if others < 1 || len(b.m.tables[ti].identCols) == 0 {
		return nil
	}
	bits := 64 / others
	most := 0
	for _, c := range order {
		if c != dc {
			most = max(most, b.ids.valuesOf(b.fieldIDs[ti][c]))
		}
	}
	if bits < 32 && most >= 1<<bits-1 {
		return nil
	}
	radix := make([]uint64, len(order)) // bits each: packed
	for k := range radix {
		radix[k] = uint64(1) << bits
	}
	return b.digitKeys(ti, dc, radix)
}

// marginColumn works out one column's margin relations of groups from
// to to (reading the model only, so that columns, and parts of a
// column's groups, are worked out in parallel).
func (b *modelBuilder) marginColumn(ti, col int, gs marginGroups, from, to int) []pendingEq {
	m, t := b.m, b.m.tables[ti]
	name := t.schema.Fields[col].Name
	field := b.fieldIDs[ti][col]
	out := make([]pendingEq, 0, to-from)
	var parts []int
	// The relations' terms share one slab (a relation's terms are its
	// parts and its margin): a part of millions of relations makes one
	// allocation, not one a relation.
	slab := make([]term, 0, int(gs.start[to]-gs.start[from])+(to-from))
	for g := from; g < to; g++ {
		id := gs.ident[g]
		parts = parts[:0]
		bad, changed := false, false
		for _, r := range gs.rows[gs.start[g]:gs.start[g+1]] {
			if pv, ok := m.varOf(obs{ti, int(r), col}); ok {
				parts = append(parts, pv)
			} else {
				bad = true
				break
			}
			changed = changed || !t.shares(int(r), name)
		}
		if bad {
			continue
		}
		mv, ok := b.cellOf(t.version, field, id)
		if !ok && !changed {
			mv, ok = b.lookup(varKey{0, field, id})
		}
		if ok {
			var p pendingEq
			p, slab = newPendingEqIn(slab, m, int(mv), parts, m.vars[mv].obs[0])
			out = append(out, p)
		}
	}
	return out
}

// inParallel calls fn(0) … fn(n−1), on up to GOMAXPROCS goroutines.
func inParallel(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers < 2 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// pendingEq is a relation margin = Σ parts, its terms merged, not yet in
// the model.
type pendingEq struct {
	margin int
	terms  []term
	parts  int
	at     obs
	known  bool    // every true value is known
	sum    float64 // the parts' true sum
}

func newPendingEq(m *model, margin int, parts []int, at obs) pendingEq {
	p, _ := newPendingEqIn(nil, m, margin, parts, at)
	return p
}

// newPendingEqIn is newPendingEq with the terms appended to slab (a new
// array when it has no room), which it returns.
func newPendingEqIn(slab []term, m *model, margin int, parts []int, at obs) (pendingEq, []term) {
	if cap(slab)-len(slab) < len(parts)+1 {
		slab = make([]term, 0, len(parts)+1)
	}
	from := len(slab)
	terms := slab[from:from:cap(slab)]
	terms = append(terms, term{margin, 1})
	p := pendingEq{margin: margin, parts: len(parts), at: at, known: m.vars[margin].hasTruth}
	for _, v := range parts {
		terms = append(terms, term{v, -1})
		p.known = p.known && m.vars[v].hasTruth
		p.sum += m.vars[v].truth
	}
	merged := mergeTerms(terms)
	p.terms = merged[:len(merged):len(merged)]
	return p, slab[:from+len(terms)]
}

// addEq adds the relation margin = Σ parts, unless the same relation is
// already there.
func (b *modelBuilder) addEq(margin int, parts []int, at obs) {
	b.commit(newPendingEq(b.m, margin, parts, at))
}

// commit adds a relation to the model, unless the same one is there.
func (b *modelBuilder) commit(p pendingEq) {
	m := b.m
	if len(p.terms) == 0 || b.added(p.terms) {
		return
	}
	eq := equation{terms: p.terms, at: p.at, parts: p.parts}
	if tv := m.vars[p.margin].truth; p.known && math.Abs(tv-p.sum) > 1e-6*(1+math.Abs(tv)) {
		eq.broken, eq.sum = true, p.sum
	}
	m.vars[p.margin].margin = true
	m.eqs = append(m.eqs, eq)
}

// mergeTerms sorts terms by unknown, adds the coefficients of the same
// unknown and drops those that cancel.
func mergeTerms(terms []term) []term {
	slices.SortFunc(terms, func(a, b term) int { return a.v - b.v })
	out := terms[:0]
	for _, tm := range terms {
		if n := len(out); n > 0 && out[n-1].v == tm.v {
			out[n-1].a += tm.a
			continue
		}
		out = append(out, tm)
	}
	return slices.DeleteFunc(out, func(tm term) bool { return tm.a == 0 })
}

// added reports whether a relation with these merged terms (at least
// one) is already in the model, and otherwise records that it will be the
// next.
func (b *modelBuilder) added(terms []term) bool {
	first := terms[0].v
	if first >= len(b.firstOf) {
		b.firstOf = append(b.firstOf, make([]int32, max(len(b.m.vars), first+1)-len(b.firstOf))...)
	}
	for i := b.firstOf[first]; i != 0; i = b.sameFirst[i-1] {
		if slices.Equal(b.m.eqs[i-1].terms, terms) {
			return true
		}
	}
	b.sameFirst = append(b.sameFirst, b.firstOf[first])
	b.firstOf[first] = int32(len(b.m.eqs)) + 1
	return false
}

// setVar records that cell o is an observation of unknown vi.
func (m *model) setVar(o obs, vi int) {
	slot := m.varCol[o.t][o.c]
	if slot == 0 {
		panic(fmt.Sprintf("disclosure: cell of column %d of %s, which takes part in no sum, made an unknown", o.c+1, m.tables[o.t].label()))
	}
	width := int(m.varCol[o.t][len(m.tables[o.t].fields)])
	m.varAt[o.t][o.r*width+int(slot)-1] = int32(vi) + 1
}

// varOf returns the unknown that cell o observes, if it is one.
func (m *model) varOf(o obs) (int, bool) {
	slot := m.varCol[o.t][o.c]
	if slot == 0 {
		return 0, false
	}
	width := int(m.varCol[o.t][len(m.tables[o.t].fields)])
	vi := m.varAt[o.t][o.r*width+int(slot)-1]
	return int(vi) - 1, vi > 0
}

// indexRelations lists each unknown's relations (relationsOf, which calls
// it once, when first asked), in one slab of int32 with an offset by
// unknown: a million-cell release has millions of entries, and a slice
// header by unknown would triple them.
func (m *model) indexRelations() {
	start := make([]int32, len(m.vars)+1)
	for _, eq := range m.eqs {
		for _, tm := range eq.terms {
			start[tm.v+1]++
		}
	}
	for v := range m.vars {
		start[v+1] += start[v]
	}
	slab := make([]int32, start[len(m.vars)])
	next := slices.Clone(start[:len(m.vars)])
	for ei, eq := range m.eqs {
		for _, tm := range eq.terms {
			slab[next[tm.v]] = int32(ei)
			next[tm.v]++
		}
	}
	m.relStart, m.relSlab = start, slab
}

// relationsOf returns the relations unknown v is in, in order.
func (m *model) relationsOf(v int) []int32 {
	m.relsOnce.Do(m.indexRelations)
	return m.relSlab[m.relStart[v]:m.relStart[v+1]]
}
