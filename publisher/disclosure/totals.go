package disclosure

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/candour/candour/datasets"
)

// Undeclared totals. A row that equals the sum of the rows differing from
// it only in one key or dimension (a national or regional row, an "All
// ages" row), or a column that equals the sum of other columns in every
// row, is a margin whether or not the schema says so: anyone can see it
// adds up, and subtract. Such margins are found from the original values
// and audited like declared ones, with a finding that names them.
//
// A value v of a dimension is a margin value when, in every group of rows
// that differ only in that dimension and whose counts are all numbers, v's
// row holds exactly half the group's sum in every count column, and some
// such group has at least two other rows and a non-zero sum. A column is a
// total of a set of other count columns when it equals their sum in every
// row whose counts are all numbers (a single part is a copy, which
// discloses as much); sets are tried exhaustively for up to maxPartColumns
// candidate parts, and only "all the others" beyond that.

// maxPartColumns bounds the exhaustive search for a total's parts.
const maxPartColumns = 12

// sampleRows is how many rows screen the candidate part sets before the
// survivors are checked on every row.
const sampleRows = 64

// detectTotals finds undeclared margin rows and total columns of a current
// table and adds them to the audit's schema and field information.
func (t *table) detectTotals(c *checker) {
	counts := t.countColumns()
	if len(counts) == 0 || len(t.rows) < 2 {
		return
	}
	t.detectMarginRows(c, counts)
	t.detectTotalColumns(c, counts)
}

// countColumns returns the count columns that are not declared totals.
func (t *table) countColumns() []int {
	var out []int
	for col, fi := range t.fields {
		if fi.count && !t.schema.Fields[col].Total {
			out = append(out, col)
		}
	}
	return out
}

// interned gives each distinct value of a column a small number.
func (t *table) interned(col int) ([]uint32, []string) {
	ids := make([]uint32, len(t.rows))
	index := map[string]uint32{}
	var values []string
	last, lastID := "", uint32(0)
	for r := range t.rows {
		v := t.rows[r].Values[col].Text
		if r > 0 && v == last { // sorted files repeat a value row after row
			ids[r] = lastID
			continue
		}
		id, ok := index[v]
		if !ok {
			id = uint32(len(values))
			index[v] = id
			values = append(values, v)
		}
		ids[r], last, lastID = id, v, id
	}
	return ids, values
}

// groupsWithout numbers the groups of rows that agree on every identity
// column but skip.
func groupsWithout(skip int, cols []int, ids [][]uint32, cards []int, n int) ([]int32, int) {
	radix := uint64(1)
	fits := true
	for i, col := range cols {
		if col == skip {
			continue
		}
		hi, lo := bits.Mul64(radix, uint64(cards[i]))
		if hi != 0 || lo > 1<<62 {
			fits = false
			break
		}
		radix = lo
	}
	groupOf := make([]int32, n)
	if fits {
		keyOf := func(r int) uint64 {
			var key uint64
			for i, col := range cols {
				if col != skip {
					key = key*uint64(cards[i]) + uint64(ids[i][r])
				}
			}
			return key
		}
		if radix <= uint64(4*n+1024) {
			return groupsDense(keyOf, radix, groupOf)
		}
		return groupsHashed(keyOf, groupOf)
	}
	index := map[string]int32{}
	key := make([]byte, 0, 4*len(cols))
	for r := 0; r < n; r++ {
		key = key[:0]
		for i, col := range cols {
			if col != skip {
				key = append(key, byte(ids[i][r]), byte(ids[i][r]>>8), byte(ids[i][r]>>16), byte(ids[i][r]>>24))
			}
		}
		g, ok := index[string(key)]
		if !ok {
			g = int32(len(index))
			index[string(key)] = g
		}
		groupOf[r] = g
	}
	return groupOf, len(index)
}

// groupsDense numbers groups by their keys (all below radix) through an
// array indexed by key, which a key space no larger than a few times the
// rows allows: no hash table to grow or miss in.
func groupsDense(keyOf func(r int) uint64, radix uint64, groupOf []int32) ([]int32, int) {
	index := make([]int32, radix) // group + 1; 0 for none yet
	groups := int32(0)
	for r := range groupOf {
		key := keyOf(r)
		if index[key] == 0 {
			groups++
			index[key] = groups
		}
		groupOf[r] = index[key] - 1
	}
	return groupOf, int(groups)
}

// groupsHashed numbers groups by their keys through a hash table.
func groupsHashed(keyOf func(r int) uint64, groupOf []int32) ([]int32, int) {
	index := make(map[uint64]int32, len(groupOf)/4)
	for r := range groupOf {
		key := keyOf(r)
		g, ok := index[key]
		if !ok {
			g = int32(len(index))
			index[key] = g
		}
		groupOf[r] = g
	}
	return groupOf, len(index)
}

// numeric returns a cell's original value and whether it is a number.
func (t *table) numeric(r, col int) (float64, bool) {
	v := t.rows[r].Values[col]
	if v.Kind == datasets.KindInteger || v.Kind == datasets.KindNumber {
		return v.Float, true
	}
	return 0, false
}

func sameSum(a, b float64) bool { return math.Abs(a-b) <= 1e-6*(1+math.Abs(a)) }

// detectMarginRows finds the margin values of each identity column that
// declares none.
func (t *table) detectMarginRows(c *checker, counts []int) {
	if len(t.identCols) < 1 {
		return
	}
	n := len(t.rows)
	ids := make([][]uint32, len(t.identCols))
	values := make([][]string, len(t.identCols))
	cards := make([]int, len(t.identCols))
	// The columns are interned, and then searched for margin values, in
	// parallel: each search reads only the numbers and the counts.
	inParallel(len(t.identCols), func(i int) {
		ids[i], values[i] = t.interned(t.identCols[i])
		cards[i] = len(values[i])
	})
	t.identNumbers = identNumbers{ids: ids, values: values}
	found := make([][]string, len(t.identCols))
	inParallel(len(t.identCols), func(i int) {
		dc := t.identCols[i]
		if len(t.schema.Fields[dc].TotalValues) > 0 || cards[i] < 2 {
			return
		}
		found[i] = t.marginValues(dc, ids, cards, i, values[i], counts, n)
	})
	for i, dc := range t.identCols {
		f := &t.schema.Fields[dc]
		found := found[i]
		if len(found) == 0 {
			continue
		}
		f.TotalValues = found
		quoted := make([]string, len(found))
		for k, v := range found {
			quoted[k] = fmt.Sprintf("%q", v)
		}
		c.add(Finding{Kind: KindUndeclaredTotal, File: t.name, Column: dc + 1, Field: f.Name, Value: strings.Join(found, ", "),
			Message: fmt.Sprintf("Rows whose %s is %s equal the sum of the rows that differ from them only in %s, in every count column, but the schema does not declare them margins; they were audited as margins. Declare them with candour:totalValues to say so.",
				f.Name, joinWords(quoted), f.Name)})
	}
}

// marginValues returns the values of identity column dc (the i-th) whose
// rows are margins over dc.
func (t *table) marginValues(dc int, ids [][]uint32, cards []int, i int, values []string, counts []int, n int) []string {
	groupOf, groups := groupsWithout(dc, t.identCols, ids, cards, n)
	sums := make([]float64, groups*len(counts))
	whole := make([]bool, groups*len(counts)) // every cell of the group is a number
	size := make([]int32, groups)
	for k := range whole {
		whole[k] = true
	}
	for r := 0; r < n; r++ {
		g := int(groupOf[r])
		size[g]++
		for j, col := range counts {
			if x, ok := t.numeric(r, col); ok {
				sums[g*len(counts)+j] += x
			} else {
				whole[g*len(counts)+j] = false
			}
		}
	}
	bad := make([]bool, cards[i])
	good := make([]bool, cards[i])
	for r := 0; r < n; r++ {
		g, v := int(groupOf[r]), ids[i][r]
		if bad[v] {
			continue
		}
		for j, col := range counts {
			k := g*len(counts) + j
			if !whole[k] || sums[k] == 0 {
				continue
			}
			x, _ := t.numeric(r, col)
			if !sameSum(2*x, sums[k]) {
				bad[v] = true
				break
			}
			if size[g] >= 3 {
				good[v] = true
			}
		}
	}
	var out []string
	for v := range values {
		if good[v] && !bad[v] {
			out = append(out, values[v])
		}
	}
	return out
}

// detectTotalColumns finds count columns that equal the sum of others.
func (t *table) detectTotalColumns(c *checker, counts []int) {
	if len(counts) < 3 {
		return
	}
	rows := t.wholeRows(counts)
	if len(rows) == 0 {
		return
	}
	for _, col := range counts {
		parts := t.candidateParts(col, counts, rows)
		for _, set := range t.matchingSets(col, parts, rows) {
			t.addTotal(col, set)
			names := make([]string, len(set))
			for k, p := range set {
				names[k] = t.schema.Fields[p].Name
			}
			c.add(Finding{Kind: KindUndeclaredTotal, File: t.name, Column: col + 1, Field: t.schema.Fields[col].Name,
				Message: fmt.Sprintf("Column %d (%s) equals %s in every row, but the schema does not declare it a total; it was audited as one. Declare it with candour:total and candour:totalOf to say so.",
					col+1, t.schema.Fields[col].Name, sumWords(names))})
		}
	}
}

// sumWords says "the sum of a and b", or names a single column.
func sumWords(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return "the sum of " + joinWords(names)
}

// wholeRows returns the rows whose count columns all hold numbers.
func (t *table) wholeRows(counts []int) []int {
	var out []int
	for r := range t.rows {
		ok := true
		for _, col := range counts {
			if _, num := t.numeric(r, col); !num {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// candidateParts returns the count columns other than col that are not
// zero in every row.
func (t *table) candidateParts(col int, counts []int, rows []int) []int {
	var out []int
	for _, p := range counts {
		if p == col {
			continue
		}
		for _, r := range rows {
			if x, _ := t.numeric(r, p); x != 0 {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// matchingSets returns the sets of two or more parts whose sum is col in
// every row, none containing another.
func (t *table) matchingSets(col int, parts []int, rows []int) [][]int {
	if len(parts) < 2 {
		return nil
	}
	var masks []uint32
	if len(parts) > maxPartColumns {
		masks = []uint32{1<<len(parts) - 1}
	} else {
		for m := uint32(1); m < 1<<len(parts); m++ {
			masks = append(masks, m)
		}
	}
	sample := rows[:min(len(rows), sampleRows)]
	masks = t.keepMatching(col, parts, masks, sample)
	masks = t.keepMatching(col, parts, masks, rows)
	var out [][]int
	for _, m := range masks {
		if slices.ContainsFunc(masks, func(o uint32) bool { return o != m && o&m == o }) {
			continue // a smaller set already adds up
		}
		var set []int
		for k, p := range parts {
			if m&(1<<k) != 0 {
				set = append(set, p)
			}
		}
		out = append(out, set)
	}
	return out
}

// keepMatching keeps the masks whose parts sum to col in every row given.
func (t *table) keepMatching(col int, parts []int, masks []uint32, rows []int) []uint32 {
	if len(parts) > 32 {
		return nil
	}
	out := masks[:0:0]
	for _, m := range masks {
		ok := true
		for _, r := range rows {
			total, _ := t.numeric(r, col)
			sum := 0.0
			for k, p := range parts {
				if m&(1<<k) != 0 {
					x, _ := t.numeric(r, p)
					sum += x
				}
			}
			if !sameSum(total, sum) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// holdsIn reports whether column col equals the sum of the columns set
// in every row of t whose cells there are all numbers.
func (t *table) holdsIn(col int, set []int) bool {
	for r := range t.rows {
		total, ok := t.numeric(r, col)
		if !ok {
			continue
		}
		sum, whole := 0.0, true
		for _, p := range set {
			x, ok := t.numeric(r, p)
			whole = whole && ok
			sum += x
		}
		if whole && !sameSum(total, sum) {
			return false
		}
	}
	return true
}

// marginHolds reports whether the rows whose identity column dc holds v
// are half their group's sum in every count column, wherever the group's
// cells are all numbers.
func (t *table) marginHolds(dc int, v string, counts []int) bool {
	groups := map[string][]int{}
	for r := range t.rows {
		key := identityWithout(t.rowIdentityAll(r), t.schema.Fields[dc].Name)
		groups[key] = append(groups[key], r)
	}
	for _, rows := range groups {
		for _, col := range counts {
			sum, margin, whole, has := 0.0, 0.0, true, false
			for _, r := range rows {
				x, ok := t.numeric(r, col)
				whole = whole && ok
				sum += x
				if t.cells[r][dc] == v {
					margin, has = x, true
				}
			}
			if whole && has && !sameSum(2*margin, sum) {
				return false
			}
		}
	}
	return true
}

// rowIdentityAll is a row's identity with no field left out as a total.
func (t *table) rowIdentityAll(r int) string {
	ps := make([]identityPair, len(t.identCols))
	for i, c := range t.identCols {
		ps[i] = identityPair{t.schema.Fields[c].Name, t.cells[r][c]}
	}
	return canonicalIdentity(ps)
}

// adoptFound takes the margins found in another version of the same file
// (a corrected release's original) where they hold in t's own values: a
// relation the public saw in one version they will look for in the other.
func (t *table) adoptFound(from *table) {
	counts := t.countColumns()
	for i, f := range from.schema.Fields {
		j := t.schema.FieldIndex(f.Name)
		if j < 0 {
			continue
		}
		if len(t.schema.Fields[j].TotalValues) == 0 && len(f.TotalValues) > 0 && slices.Contains(t.identCols, j) {
			var keep []string
			for _, v := range f.TotalValues {
				if t.marginHolds(j, v, counts) {
					keep = append(keep, v)
				}
			}
			if len(keep) > 0 {
				t.schema.Fields[j].TotalValues = keep
			}
		}
		for _, set := range from.fields[i].extraParts {
			mine, ok := sameColumns(t.schema, from.schema, set)
			if ok && t.holdsIn(j, mine) && !slices.ContainsFunc(t.fields[j].extraParts, func(s []int) bool { return slices.Equal(s, mine) }) {
				t.addTotal(j, mine)
			}
		}
	}
}

// sameColumns maps columns of schema from to the same-named columns of s.
func sameColumns(s, from datasets.Schema, set []int) ([]int, bool) {
	var out []int
	for _, p := range set {
		k := s.FieldIndex(from.Fields[p].Name)
		if k < 0 {
			return nil, false
		}
		out = append(out, k)
	}
	return out, true
}

// addTotal records that column col is the sum of the columns set.
func (t *table) addTotal(col int, set []int) {
	fi := &t.fields[col]
	fi.total, fi.additive = true, true
	fi.extraParts = append(fi.extraParts, set)
	for _, p := range set {
		t.fields[p].additive = true
	}
}
