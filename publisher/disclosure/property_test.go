package disclosure

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/datasets"
)

// A property test of disclosure control. For random small releases, every
// release Check accepts must leave each suppressed cell with at least three
// possible values (the default protection), where "possible" is decided by
// a brute-force enumerator written only for this test. The enumerator sees
// only what the public sees: the public files, the rule declared, which
// rows and columns are margins (anyone can add up), the published mapping
// of areas to regions, and the public files of the release a correction
// corrects, with the correction notice saying which cells changed. It
// shares no code with the package's own audit.

const (
	propCases   = 300
	propWant    = 3       // the default protection, in possible values
	propNodeCap = 200_000 // search nodes per release before the enumerator gives up
)

var (
	propAreaNames = []string{"A", "B", "C"}
	propColNames  = []string{"f", "m", "u"}
)

// propCase is one generated release, with the truth the test knows.
type propCase struct {
	name        string // a regression case's name; "" for a generated one
	seed        uint64
	rule        string // datasets.DisclosureThreshold or datasets.DisclosureNHSDigital
	threshold   int
	long        bool // one row per area and sex, a single count column n
	declMargins bool // the Total row and all column are declared margins
	declCounts  bool // the counts declare candour:countOfIndividuals
	national    bool // the Total row is national (nhs-digital only)
	areas       []string
	cols        []string // interior columns (wide) or sex values (long)
	region      []string // each area's region; nil without regions.csv
	inheritRule bool     // regions.csv declares no rule
	values      [][]int  // the interior of the original
	before      [][]int  // the interior of the release corrected; nil when not a correction
	pre         [][]bool // interior cells suppressed in the submitted original; nil when none
}

// propValue draws a count: some zeros, many small counts, some larger.
func propValue(rng *rand.Rand) int {
	switch r := rng.IntN(20); {
	case r < 3:
		return 0
	case r < 11:
		return 1 + rng.IntN(7)
	default:
		return 8 + rng.IntN(18)
	}
}

// genPropCase draws a release from seed: rule, shape, declarations,
// regions and whether it corrects an earlier release.
func genPropCase(seed uint64) propCase {
	rng := rand.New(rand.NewPCG(seed, 0xca4d0))
	c := propCase{seed: seed, rule: datasets.DisclosureThreshold, threshold: 3 + rng.IntN(3)}
	if rng.IntN(2) == 0 {
		c.rule, c.threshold = datasets.DisclosureNHSDigital, 0
		c.national = rng.IntN(4) == 0
	}
	c.long = rng.IntN(3) == 0
	c.declMargins = rng.IntN(2) == 0
	c.declCounts = rng.IntN(2) == 0
	nr, nc := 2+rng.IntN(2), 2+rng.IntN(2)
	c.areas, c.cols = propAreaNames[:nr], propColNames[:nc]
	if rng.IntN(3) == 0 {
		c.region = make([]string, nr)
		for i := range c.region {
			c.region[i] = "R" + strconv.Itoa(1+rng.IntN(2))
		}
		c.inheritRule = rng.IntN(4) == 0
	}
	c.values = make([][]int, nr)
	for i := range c.values {
		c.values[i] = make([]int, nc)
		for j := range c.values[i] {
			c.values[i][j] = propValue(rng)
		}
	}
	if rng.IntN(2) == 0 {
		c.correct(rng)
	}
	return c
}

// correct makes the case a correction: the current values differ from the
// release corrected in one or two interior cells, and some cells that did
// not change may arrive already suppressed.
func (c *propCase) correct(rng *rand.Rand) {
	nr, nc := len(c.areas), len(c.cols)
	c.before = c.values
	c.values = make([][]int, nr)
	for i := range c.values {
		c.values[i] = slices.Clone(c.before[i])
	}
	order := rng.Perm(nr * nc)
	changes := 1 + rng.IntN(2)
	for _, k := range order[:changes] {
		i, j := k/nc, k%nc
		for c.values[i][j] == c.before[i][j] {
			c.values[i][j] = propValue(rng)
		}
	}
	if rng.IntN(2) == 0 {
		return
	}
	want, chosen := 1+rng.IntN(2), 0
	anyValue := rng.IntN(4) == 0
	pre := make([][]bool, nr)
	for i := range pre {
		pre[i] = make([]bool, nc)
	}
	for _, k := range order[changes:] {
		i, j := k/nc, k%nc
		if v := c.values[i][j]; chosen < want && (anyValue || v >= 1 && v <= 7) {
			pre[i][j] = true
			chosen++
		}
	}
	if chosen > 0 {
		c.pre = pre
	}
}

// asPlain returns the case as a release of the given values with no
// earlier release and nothing suppressed at source.
func (c propCase) asPlain(values [][]int) propCase {
	c.values, c.before, c.pre = values, nil, nil
	return c
}

// describe names the case and its choices, for messages.
func (c propCase) describe() string {
	var b strings.Builder
	if c.name != "" {
		fmt.Fprintf(&b, "case %q: rule %s", c.name, c.rule)
	} else {
		fmt.Fprintf(&b, "seed %d: rule %s", c.seed, c.rule)
	}
	if c.rule == datasets.DisclosureThreshold {
		fmt.Fprintf(&b, " (threshold %d)", c.threshold)
	}
	fmt.Fprintf(&b, ", %dx%d interior, long %v, margins declared %v, counts declared %v, national Total %v",
		len(c.areas), len(c.cols), c.long, c.declMargins, c.declCounts, c.national)
	if c.region != nil {
		fmt.Fprintf(&b, ", regions %v (rule inherited %v)", c.region, c.inheritRule)
	}
	if c.before != nil {
		fmt.Fprintf(&b, ", correction (pre-suppressed %v)", c.pre != nil)
	}
	return b.String()
}

// regions returns the regions in use, in order.
func (c propCase) regions() []string {
	out := slices.Clone(c.region)
	slices.Sort(out)
	return slices.Compact(out)
}

func (c propCase) colLabels() []string { return append(slices.Clone(c.cols), "all") }

func (c propCase) areaLabels() []string { return append(slices.Clone(c.areas), "Total") }

// fullGrid returns the areas table: the interior with its row totals (last
// column) and column totals (last row).
func fullGrid(v [][]int) [][]int {
	nr, nc := len(v), len(v[0])
	g := make([][]int, nr+1)
	for i := range g {
		g[i] = make([]int, nc+1)
	}
	for i := range v {
		for j, x := range v[i] {
			g[i][j] += x
			g[i][nc] += x
			g[nr][j] += x
			g[nr][nc] += x
		}
	}
	return g
}

// regionGrid returns the regions table: each region's sums, all column
// last.
func (c propCase) regionGrid(v [][]int) [][]int {
	g := fullGrid(v)
	var out [][]int
	for _, r := range c.regions() {
		row := make([]int, len(c.cols)+1)
		for i, reg := range c.region {
			if reg == r {
				for j := range row {
					row[j] += g[i][j]
				}
			}
		}
		out = append(out, row)
	}
	return out
}

// tableCSV writes a table, wide (a column per label) or long (a row per
// label, count n), with text giving each cell.
func (c propCase) tableCSV(key string, rows []string, text func(i, j int) string) string {
	cols := c.colLabels()
	var b strings.Builder
	if c.long {
		fmt.Fprintf(&b, "%s,sex,n\n", key)
		for i, r := range rows {
			for j, s := range cols {
				fmt.Fprintf(&b, "%s,%s,%s\n", r, s, text(i, j))
			}
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s,%s\n", key, strings.Join(cols, ","))
	for i, r := range rows {
		b.WriteString(r)
		for j := range cols {
			b.WriteString("," + text(i, j))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c propCase) areasCSV(v [][]int, pre [][]bool) string {
	g := fullGrid(v)
	return c.tableCSV("area", c.areaLabels(), func(i, j int) string {
		if pre != nil && i < len(v) && j < len(v[0]) && pre[i][j] {
			return "*"
		}
		return strconv.Itoa(g[i][j])
	})
}

func (c propCase) regionsCSV(v [][]int) string {
	g := c.regionGrid(v)
	return c.tableCSV("region", c.regions(), func(i, j int) string { return strconv.Itoa(g[i][j]) })
}

func (c propCase) mapCSV() string {
	var b strings.Builder
	b.WriteString("area,region\n")
	for i, a := range c.areas {
		fmt.Fprintf(&b, "%s,%s\n", a, c.region[i])
	}
	return b.String()
}

// countField declares one count field.
func (c propCase) countField(name string, total bool) string {
	s := fmt.Sprintf(`{"name": %q, "type": "integer", "candour:role": "measure"`, name)
	if c.declCounts {
		s += `, "candour:countOfIndividuals": true`
	}
	if total && c.declMargins {
		s += `, "candour:total": true`
	}
	if c.pre != nil {
		s += `, "candour:suppressed": ["*"]`
	}
	return s + "}"
}

func (c propCase) ruleJSON() string {
	if c.rule == datasets.DisclosureThreshold {
		return fmt.Sprintf(`{"rule": "threshold", "threshold": %d}`, c.threshold)
	}
	return `{"rule": "nhs-digital"}`
}

// tableSchema declares a table keyed by keyField (a complete field
// declaration), with the case's count fields.
func (c propCase) tableSchema(key, keyField string, withRule bool) string {
	fields := []string{keyField}
	pk := strconv.Quote(key)
	if c.long {
		sex := `{"name": "sex", "candour:role": "dimension"`
		if c.declMargins {
			sex += `, "candour:totalValues": ["all"]`
		}
		fields = append(fields, sex+"}", c.countField("n", false))
		pk = fmt.Sprintf(`[%q, "sex"]`, key)
	} else {
		for _, col := range c.cols {
			fields = append(fields, c.countField(col, false))
		}
		fields = append(fields, c.countField("all", true))
	}
	s := fmt.Sprintf(`{"fields": [%s], "primaryKey": %s`, strings.Join(fields, ", "), pk)
	if withRule {
		s += `, "candour:disclosure": ` + c.ruleJSON()
	}
	return s + "}"
}

func (c propCase) areasSchema() string {
	f := `{"name": "area", "candour:role": "key"`
	if c.declMargins {
		f += `, "candour:totalValues": ["Total"]`
	}
	if c.national {
		f += `, "candour:nationalValues": ["Total"]`
	}
	if c.region != nil {
		f += `, "candour:parent": {"field": "region", "mapping": "map.csv"}`
	}
	return c.tableSchema("area", f+"}", true)
}

func (c propCase) regionsSchema() string {
	return c.tableSchema("region", `{"name": "region", "candour:role": "key"}`, !c.inheritRule)
}

const propMapSchema = `{"fields": [{"name": "area"}, {"name": "region"}], "primaryKey": "area"}`

// propFile is one original file as text.
type propFile struct{ name, schema, csv string }

// originals returns the original files of a release of values.
func (c propCase) originals(values [][]int, pre [][]bool) []propFile {
	out := []propFile{{"areas.csv", c.areasSchema(), c.areasCSV(values, pre)}}
	if c.region != nil {
		out = append(out,
			propFile{"regions.csv", c.regionsSchema(), c.regionsCSV(values)},
			propFile{"map.csv", propMapSchema, c.mapCSV()})
	}
	return out
}

func parsePropFiles(t *testing.T, fs []propFile) []File {
	t.Helper()
	var out []File
	for _, f := range fs {
		out = append(out, parseFile(t, f.name, f.schema, f.csv))
	}
	return out
}

// The enumerator. Unknowns are the interior cells of the current release
// (and, in a correction, the earlier values of the cells it changed); every
// other cell is a sum of unknowns. A published cell says its sum lies in an
// interval; the search assigns whole numbers 0..bound to the unknowns,
// narrowing the others' ranges by every constraint at each step.

const bfInf = int64(1) << 50

type bfTerm struct {
	v int
	a int64 // +1 or −1
}

type bfExpr []bfTerm

// bfCons says lo ≤ Σ a·x ≤ hi.
type bfCons struct {
	e      bfExpr
	lo, hi int64
	what   string
}

// bfCell is one count cell of a public file.
type bfCell struct {
	file           string
	record, column int // as the audit report numbers them
	row, col       int // indices into the table's row and column labels
	text           string
	marker         bool
}

func (p bfCell) String() string {
	return fmt.Sprintf("%s row %d column %d (%q)", p.file, p.record, p.column, p.text)
}

type bfTarget struct {
	cell  bfCell
	label string // row and column labels
	e     bfExpr
}

type bfProblem struct {
	bound   int64
	cons    []bfCons
	truth   []int64
	targets []bfTarget
}

func (e bfExpr) eval(x []int64) int64 {
	var s int64
	for _, t := range e {
		s += t.a * x[t.v]
	}
	return s
}

// publicCells reads the count cells of a public file of the areas or
// regions table.
func (c propCase) publicCells(p PublicFile, rowLabels []string) ([]bfCell, error) {
	cols := c.colLabels()
	var out []bfCell
	add := func(r int, row []string, k int, colLabel string) error {
		ri, cj := slices.Index(rowLabels, row[0]), slices.Index(cols, colLabel)
		if ri < 0 || cj < 0 {
			return fmt.Errorf("%s: unexpected cell %q/%q", p.Name, row[0], colLabel)
		}
		marker := slices.Contains(p.Resource.Schema.Fields[k].Suppressed, row[k])
		out = append(out, bfCell{file: p.Name, record: r + 2, column: k + 1, row: ri, col: cj, text: row[k], marker: marker})
		return nil
	}
	for r, row := range p.Rows {
		if c.long {
			if err := add(r, row, 2, row[1]); err != nil {
				return nil, err
			}
			continue
		}
		for k := 1; k < len(row); k++ {
			if err := add(r, row, k, p.Header[k]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// disclosed returns the interval a published cell tells the public its
// value lies in: pre says the generator suppressed it in the original.
func (c propCase) disclosed(p bfCell, national, pre bool) (int64, int64, error) {
	if p.marker {
		switch {
		case pre:
			return 0, bfInf, nil
		case c.rule == datasets.DisclosureNHSDigital:
			return 1, 7, nil
		}
		return 1, bfInf, nil
	}
	x, err := strconv.ParseInt(p.text, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%v: not a number or marker", p)
	}
	if c.rule == datasets.DisclosureThreshold || national || x == 0 {
		return x, x, nil
	}
	return max(8, x-2), x + 2, nil
}

// areaExpr is the cell of the areas table at row ri (len(areas) for
// Total) and column cj (len(cols) for all).
func (c propCase) areaExpr(vars [][]int, ri, cj int) bfExpr {
	var e bfExpr
	for i := range c.areas {
		for j := range c.cols {
			if (ri == len(c.areas) || ri == i) && (cj == len(c.cols) || cj == j) {
				e = append(e, bfTerm{vars[i][j], 1})
			}
		}
	}
	return e
}

// regionExpr is the cell of the regions table at row ri and column cj.
func (c propCase) regionExpr(vars [][]int, ri, cj int) bfExpr {
	reg := c.regions()[ri]
	var e bfExpr
	for i := range c.areas {
		if c.region[i] == reg {
			e = append(e, c.areaExpr(vars, i, cj)...)
		}
	}
	return e
}

// bfRelease is one release's public files and unknowns.
type bfRelease struct {
	files   []PublicFile
	vars    [][]int
	targets bool // its markers are the cells to protect (the current release)
}

// addRelease adds the constraints (and targets) of one release's public
// files.
func (c propCase) addRelease(p *bfProblem, rel bfRelease, version int) error {
	for _, f := range rel.files {
		var cells []bfCell
		var err error
		expr := func(b bfCell) bfExpr { return c.areaExpr(rel.vars, b.row, b.col) }
		rows := c.areaLabels()
		switch f.Name {
		case "areas.csv":
			cells, err = c.publicCells(f, rows)
		case "regions.csv":
			rows = c.regions()
			cells, err = c.publicCells(f, rows)
			expr = func(b bfCell) bfExpr { return c.regionExpr(rel.vars, b.row, b.col) }
		default:
			continue
		}
		if err != nil {
			return err
		}
		for _, cell := range cells {
			national := c.national && f.Name == "areas.csv" && cell.row == len(c.areas)
			pre := rel.targets && c.pre != nil && f.Name == "areas.csv" &&
				cell.row < len(c.areas) && cell.col < len(c.cols) && c.pre[cell.row][cell.col]
			lo, hi, err := c.disclosed(cell, national, pre)
			if err != nil {
				return err
			}
			label := rows[cell.row] + "/" + c.colLabels()[cell.col]
			e := expr(cell)
			p.cons = append(p.cons, bfCons{e: e, lo: lo, hi: hi,
				what: fmt.Sprintf("version %d %v (%s) in [%d, %s]", version, cell, label, lo, bfShow(hi))})
			if cell.marker && rel.targets {
				p.targets = append(p.targets, bfTarget{cell: cell, label: label, e: e})
			}
			if x, err := strconv.ParseInt(cell.text, 10, 64); err == nil && !cell.marker {
				p.bound = max(p.bound, x+10)
			}
		}
	}
	return nil
}

func bfShow(x int64) string {
	if x >= bfInf {
		return "∞"
	}
	return strconv.FormatInt(x, 10)
}

// attackProblem sets up what the public knows about the case, from the
// current public files and, in a correction, the public files of the
// release corrected.
func (c propCase) attackProblem(current, earlier []PublicFile) (*bfProblem, error) {
	nr, nc := len(c.areas), len(c.cols)
	p := &bfProblem{bound: 10} // the largest number published (at least 0), plus 10
	cur := make([][]int, nr)
	for i := range cur {
		cur[i] = make([]int, nc)
		for j := range cur[i] {
			cur[i][j] = len(p.truth)
			p.truth = append(p.truth, int64(c.values[i][j]))
		}
	}
	if err := c.addRelease(p, bfRelease{files: current, vars: cur, targets: true}, 0); err != nil {
		return nil, err
	}
	if c.before == nil {
		return p, nil
	}
	// Cells the correction changed are separate unknowns in the release
	// corrected; every other interior cell is the same unknown.
	old := make([][]int, nr)
	for i := range old {
		old[i] = slices.Clone(cur[i])
		for j := range old[i] {
			if c.before[i][j] != c.values[i][j] {
				old[i][j] = len(p.truth)
				p.truth = append(p.truth, int64(c.before[i][j]))
			}
		}
	}
	if err := c.addRelease(p, bfRelease{files: earlier, vars: old}, 1); err != nil {
		return nil, err
	}
	c.unchangedSums(p, cur, old)
	return p, nil
}

// unchangedSums adds, for every margin and regional cell whose value the
// correction did not change, that it is the same in both releases (the
// correction notice lists the cells that changed).
func (c propCase) unchangedSums(p *bfProblem, cur, old [][]int) {
	nr, nc := len(c.areas), len(c.cols)
	same := func(now, was bfExpr, what string) {
		if now.eval(p.truth) != was.eval(p.truth) {
			return
		}
		e := slices.Clone(now)
		for _, t := range was {
			e = append(e, bfTerm{t.v, -t.a})
		}
		p.cons = append(p.cons, bfCons{e: e, what: what + " unchanged by the correction"})
	}
	for ri := 0; ri <= nr; ri++ {
		for cj := 0; cj <= nc; cj++ {
			if ri < nr && cj < nc {
				continue
			}
			same(c.areaExpr(cur, ri, cj), c.areaExpr(old, ri, cj), fmt.Sprintf("areas %s/%s", c.areaLabels()[ri], c.colLabels()[cj]))
		}
	}
	if c.region == nil {
		return
	}
	for ri, r := range c.regions() {
		for cj := 0; cj <= nc; cj++ {
			same(c.regionExpr(cur, ri, cj), c.regionExpr(old, ri, cj), fmt.Sprintf("regions %s/%s", r, c.colLabels()[cj]))
		}
	}
}

// violations lists the constraints the truth breaks: the enumerator must
// count the true original among the consistent candidates.
func (p *bfProblem) violations() []string {
	var out []string
	for i, x := range p.truth {
		if x < 0 || x > p.bound {
			out = append(out, fmt.Sprintf("unknown %d is %d, outside 0..%d", i, x, p.bound))
		}
	}
	for _, k := range p.cons {
		if s := k.e.eval(p.truth); s < k.lo || s > k.hi {
			out = append(out, fmt.Sprintf("%s, but the truth is %d", k.what, s))
		}
	}
	return out
}

// bfSolver searches for candidates consistent with every constraint and
// the extra one.
type bfSolver struct {
	p       *bfProblem
	extra   *bfCons
	nodes   int
	limit   int
	aborted bool
}

// narrow tightens the ranges of k's unknowns; false when k cannot hold.
func narrow(k *bfCons, lo, hi []int64) (ok, changed bool) {
	var mn, mx int64
	for _, t := range k.e {
		if t.a > 0 {
			mn, mx = mn+lo[t.v], mx+hi[t.v]
		} else {
			mn, mx = mn-hi[t.v], mx-lo[t.v]
		}
	}
	if mn > k.hi || mx < k.lo {
		return false, false
	}
	for _, t := range k.e {
		l, h := lo[t.v], hi[t.v]
		nl, nh := l, h
		if t.a > 0 {
			nl = max(l, k.lo-(mx-h))
			nh = min(h, k.hi-(mn-l))
		} else {
			nl = max(l, (mn+h)-k.hi)
			nh = min(h, (mx+l)-k.lo)
		}
		if nl > nh {
			return false, false
		}
		if nl != l || nh != h {
			lo[t.v], hi[t.v], changed = nl, nh, true
		}
	}
	return true, changed
}

// tighten narrows by every constraint until nothing changes.
func (s *bfSolver) tighten(lo, hi []int64) bool {
	for {
		changed := false
		for i := range s.p.cons {
			ok, ch := narrow(&s.p.cons[i], lo, hi)
			if !ok {
				return false
			}
			changed = changed || ch
		}
		if s.extra != nil {
			ok, ch := narrow(s.extra, lo, hi)
			if !ok {
				return false
			}
			changed = changed || ch
		}
		if !changed {
			return true
		}
	}
}

// search returns a consistent candidate within lo..hi, or nil.
func (s *bfSolver) search(lo, hi []int64) []int64 {
	if s.nodes++; s.nodes > s.limit {
		s.aborted = true
		return nil
	}
	if !s.tighten(lo, hi) {
		return nil
	}
	best := -1
	for v := range lo {
		if lo[v] < hi[v] && (best < 0 || hi[v]-lo[v] < hi[best]-lo[best]) {
			best = v
		}
	}
	if best < 0 {
		return slices.Clone(lo)
	}
	for x := lo[best]; x <= hi[best]; x++ {
		l, h := slices.Clone(lo), slices.Clone(hi)
		l[best], h[best] = x, x
		if sol := s.search(l, h); sol != nil || s.aborted {
			return sol
		}
	}
	return nil
}

// bfVerdict is what the enumerator found: each target's possible values
// (complete when fewer than were wanted), or that it gave up.
type bfVerdict struct {
	values  []map[int64]bool
	aborted bool
	nodes   int
}

// enumerate finds, for each target, want possible values or all of them.
func (p *bfProblem) enumerate(want, limit int) bfVerdict {
	s := &bfSolver{p: p, limit: limit}
	v := bfVerdict{values: make([]map[int64]bool, len(p.targets))}
	for k, tg := range p.targets {
		v.values[k] = map[int64]bool{tg.e.eval(p.truth): true}
	}
	lo, hi := make([]int64, len(p.truth)), make([]int64, len(p.truth))
	for i := range hi {
		hi[i] = p.bound
	}
	if !s.tighten(lo, hi) {
		v.aborted = true // cannot be: the truth is consistent (checked first)
		return v
	}
	for k, tg := range p.targets {
		mn, mx := bfRange(tg.e, lo, hi)
		for x := mn; x <= mx && len(v.values[k]) < want; x++ {
			if v.values[k][x] {
				continue
			}
			s.extra = &bfCons{e: tg.e, lo: x, hi: x}
			sol := s.search(slices.Clone(lo), slices.Clone(hi))
			if s.aborted {
				v.aborted, v.nodes = true, s.nodes
				return v
			}
			for j, other := range p.targets {
				if sol != nil {
					v.values[j][other.e.eval(sol)] = true
				}
			}
		}
	}
	v.nodes = s.nodes
	return v
}

func bfRange(e bfExpr, lo, hi []int64) (int64, int64) {
	var mn, mx int64
	for _, t := range e {
		mn, mx = mn+lo[t.v], mx+hi[t.v]
	}
	return mn, mx
}

func sortedValues(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for x := range m {
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

// The test.

// propTally counts the releases judged.
type propTally struct {
	releases, accepted, blocked, skipped, inconclusive int
	corrections, hierarchies, undeclared, targets      int
	maxNodes                                           int
}

// propRegressions are cases that longer runs of the generator (with every
// case a correction) found failing, kept so that every run checks them.
var propRegressions = []struct {
	name string
	c    propCase
}{
	// In the release corrected, B/m (4) was a secondary marker, so at
	// least 1: with A/m = 8 − A/f there, C/m ≤ A/f, which rules out
	// C/m = 3 now. Reading the earlier marker as 0 or more does not.
	{"earlier markers hide no zero", propCase{rule: datasets.DisclosureThreshold, threshold: 4, declMargins: true,
		areas: propAreaNames[:3], cols: propColNames[:2],
		before: [][]int{{4, 4}, {3, 4}, {1, 1}}, values: [][]int{{4, 1}, {3, 3}, {1, 1}}}},
	// The same, with cells suppressed at source in the correction.
	{"earlier markers hide no zero, suppressed at source", propCase{rule: datasets.DisclosureThreshold, threshold: 4, declMargins: true,
		areas: propAreaNames[:3], cols: propColNames[:2],
		before: [][]int{{1, 2}, {2, 13}, {0, 3}}, values: [][]int{{1, 25}, {2, 7}, {0, 3}},
		pre: [][]bool{{false, false}, {true, false}, {false, true}}}},
	// B/all and the grand total are unchanged while their parts changed:
	// in the release corrected, B/all was still B/f + B/m.
	{"unchanged margin of changed parts", propCase{rule: datasets.DisclosureNHSDigital, long: true, declMargins: true,
		areas: propAreaNames[:2], cols: propColNames[:2],
		before: [][]int{{9, 20}, {3, 0}}, values: [][]int{{9, 20}, {2, 1}}}},
	// The correction leaves column m all zeros; all is still f + m, as
	// the release corrected shows in every row.
	{"undeclared total over a zero column", propCase{rule: datasets.DisclosureThreshold, threshold: 3, declCounts: true,
		areas: propAreaNames[:2], cols: propColNames[:2],
		before: [][]int{{9, 0}, {19, 15}}, values: [][]int{{1, 0}, {19, 0}}}},
}

func TestPropertySuppressedCellsKeepProtection(t *testing.T) {
	start := time.Now()
	var tally propTally
	for _, r := range propRegressions {
		c := r.c
		c.name = r.name
		t.Run("regression/"+r.name, func(t *testing.T) { runPropCase(t, c, &tally) })
	}
	for i := range propCases {
		c := genPropCase(uint64(i + 1))
		t.Run(fmt.Sprintf("seed=%d", c.seed), func(t *testing.T) { runPropCase(t, c, &tally) })
	}
	t.Logf("%d releases checked: %d accepted, %d blocked; %d corrections skipped (release corrected blocked); "+
		"%d accepted corrections, %d accepted with regions, %d accepted with undeclared margins; "+
		"%d suppressed cells enumerated; %d inconclusive; at most %d search nodes; %v",
		tally.releases, tally.accepted, tally.blocked, tally.skipped, tally.corrections, tally.hierarchies,
		tally.undeclared, tally.targets, tally.inconclusive, tally.maxNodes, time.Since(start).Round(time.Millisecond))
	if tally.accepted*3 < tally.releases {
		t.Errorf("only %d of %d releases accepted: the property proves little", tally.accepted, tally.releases)
	}
	if tally.corrections == 0 || tally.hierarchies == 0 {
		t.Errorf("no accepted correction (%d) or release with regions (%d)", tally.corrections, tally.hierarchies)
	}
}

// runPropCase checks one generated case: the release corrected first, for
// a correction, then the release itself.
func runPropCase(t *testing.T, c propCase, tally *propTally) {
	if c.before == nil {
		files := c.originals(c.values, nil)
		res := mustCheck(t, Input{Files: parsePropFiles(t, files)})
		judgeRelease(t, c, res, files, nil, tally)
		return
	}
	plain := c.asPlain(c.before)
	earlierFiles := plain.originals(c.before, nil)
	earlierOrig := parsePropFiles(t, earlierFiles)
	first := mustCheck(t, Input{Files: earlierOrig})
	judgeRelease(t, plain, first, earlierFiles, nil, tally)
	if first.Blocked {
		tally.skipped++
		return
	}
	var earlierPublic []File
	for _, p := range first.Public {
		earlierPublic = append(earlierPublic, reparse(t, p))
	}
	files := c.originals(c.values, c.pre)
	res := mustCheck(t, Input{Files: parsePropFiles(t, files),
		Earlier: []Earlier{{Version: 1, Linked: true, Files: earlierPublic, Originals: earlierOrig}}})
	judgeRelease(t, c, res, files, &propEarlier{files: earlierFiles, public: first.Public}, tally)
}

// propEarlier is the release a correction corrects.
type propEarlier struct {
	files  []propFile
	public []PublicFile
}

// judgeRelease checks the property on one release Check accepted.
func judgeRelease(t *testing.T, c propCase, res Result, files []propFile, earlier *propEarlier, tally *propTally) {
	t.Helper()
	tally.releases++
	if res.Blocked {
		tally.blocked++
		return
	}
	tally.accepted++
	if earlier != nil {
		tally.corrections++
	}
	if c.region != nil {
		tally.hierarchies++
	}
	if !c.declMargins {
		tally.undeclared++
	}
	var earlierPublic []PublicFile
	if earlier != nil {
		earlierPublic = earlier.public
	}
	p, err := c.attackProblem(res.Public, earlierPublic)
	if err != nil {
		t.Fatalf("%s: %v\n%s", c.describe(), err, propDump(c, res, files, earlier))
	}
	tally.targets += len(p.targets)
	if bad := p.violations(); len(bad) > 0 {
		t.Fatalf("%s: the true original is not a consistent candidate:\n  %s\n%s",
			c.describe(), strings.Join(bad, "\n  "), propDump(c, res, files, earlier))
	}
	v := p.enumerate(propWant, propNodeCap)
	tally.maxNodes = max(tally.maxNodes, v.nodes)
	if v.aborted {
		tally.inconclusive++
		t.Logf("%s: enumeration gave up after %d nodes", c.describe(), v.nodes)
		return
	}
	bad := p.underProtected(v, res)
	if len(bad) > 0 {
		t.Errorf("%s: Check accepted the release, but suppressed cells have fewer than %d possible values:\n  %s\n%s",
			c.describe(), propWant,
			strings.Join(bad, "\n  "), propDump(c, res, files, earlier))
	}
}

// underProtected names each target cell the enumeration found fewer than
// propWant possible values for, with what the audit said of it.
func (p *bfProblem) underProtected(v bfVerdict, res Result) []string {
	var bad []string
	for k, tg := range p.targets {
		if len(v.values[k]) < propWant {
			bad = append(bad, fmt.Sprintf("%v (%s, true value %d): possible values %v; the audit says %s",
				tg.cell, tg.label, tg.e.eval(p.truth), sortedValues(v.values[k]), auditEntry(res, tg.cell)))
		}
	}
	return bad
}

// auditEntry returns the audit report's entry for a cell of the current
// release, in words.
func auditEntry(res Result, cell bfCell) string {
	for _, a := range res.Report.Audit.Cells {
		if a.File == cell.file && a.Version == 0 && a.Row == cell.record && a.Column == cell.column {
			return fmt.Sprintf("[%v, %s], %d values, method %s, suppression %s, pass %v",
				a.Min, propMax(a.Max), a.Values, a.Method, a.Suppression, a.Pass)
		}
	}
	return "nothing (no audit entry)"
}

func propMax(x *float64) string {
	if x == nil {
		return "∞"
	}
	return strconv.FormatFloat(*x, 'f', -1, 64)
}

// propDump gives a case's files, original and public, for a failure
// message.
func propDump(c propCase, res Result, files []propFile, earlier *propEarlier) string {
	var b strings.Builder
	if earlier != nil {
		b.WriteString("release corrected (version 1):\n")
		for _, f := range earlier.files {
			fmt.Fprintf(&b, "original %s:\n%s", f.name, f.csv)
		}
		for _, p := range earlier.public {
			fmt.Fprintf(&b, "public %s:\n%s", p.Name, publicText(p))
		}
		b.WriteString("correction:\n")
	}
	for _, f := range files {
		fmt.Fprintf(&b, "schema %s: %s\noriginal %s:\n%s", f.name, f.schema, f.name, f.csv)
	}
	for _, p := range res.Public {
		fmt.Fprintf(&b, "public %s:\n%s", p.Name, publicText(p))
	}
	var kinds []string
	for _, f := range res.Report.Findings {
		kinds = append(kinds, f.Kind)
	}
	fmt.Fprintf(&b, "findings: %v\n", kinds)
	return b.String()
}

// The enumerator itself, on cases worked out by hand.

// propPublic reads a public file as Check would return it; its count
// fields declare the marker "*".
func propPublic(t *testing.T, c propCase, name, csv string) PublicFile {
	t.Helper()
	c.pre = [][]bool{} // declares the marker only
	schema := c.areasSchema()
	if name == "regions.csv" {
		schema = c.regionsSchema()
	}
	f := parseFile(t, name, schema, csv)
	p := PublicFile{Name: name, Resource: f.Resource, Header: f.Header}
	for _, r := range f.Rows {
		p.Rows = append(p.Rows, r.Cells)
	}
	return p
}

func TestPropertyEnumeratorKnownCases(t *testing.T) {
	threshold := func(values [][]int) propCase {
		c := propCase{rule: datasets.DisclosureThreshold, threshold: 3, declMargins: true,
			areas: propAreaNames[:len(values)], cols: propColNames[:len(values[0])], values: values}
		return c
	}
	nhs := threshold([][]int{{9, 1}, {54, 3}})
	nhs.rule = datasets.DisclosureNHSDigital
	corrected := threshold([][]int{{3, 10}, {5, 20}})
	corrected.before = [][]int{{3, 12}, {5, 20}}
	regional := threshold([][]int{{3, 10}, {5, 20}})
	regional.region = []string{"R1", "R2"}
	tests := []struct {
		name     string
		c        propCase
		public   map[string]string // current public files
		earlier  string            // public areas.csv of the release corrected
		cell     string            // row/column labels of the cell audited
		min, max int64
		n        int
	}{
		// TestNHSDigitalAudited: rounded margins narrow a marker to [1, 3].
		{"nhs-digital rounding", nhs, map[string]string{"areas.csv": "area,f,m,all\nA,10,*,10\nB,55,*,55\nTotal,65,*,65\n"},
			"", "A/m", 1, 3, 3},
		// TV19 Table 1 with a rectangle suppressed: markers never hide 0.
		{"threshold rectangle", threshold([][]int{{10, 1}, {13, 111}, {15, 17}}),
			map[string]string{"areas.csv": "area,f,m,all\nA,*,*,11\nB,13,111,124\nC,*,*,32\nTotal,38,129,167\n"},
			"", "A/m", 1, 10, 10},
		// Two markers summing to 2 are both 1.
		{"markers are not zero", threshold([][]int{{0, 1}, {19, 1}, {10, 10}}),
			map[string]string{"areas.csv": "area,f,m,all\nA,0,*,*\nB,19,*,*\nC,10,10,20\nTotal,29,12,41\n"},
			"", "B/all", 20, 20, 1},
		{"correction: unchanged cell published before", corrected,
			map[string]string{"areas.csv": "area,f,m,all\nA,*,10,*\nB,*,20,*\nTotal,8,30,38\n"},
			"area,f,m,all\nA,3,12,15\nB,5,20,25\nTotal,8,32,40\n", "A/f", 3, 3, 1},
		{"correction: only margins before", corrected,
			map[string]string{"areas.csv": "area,f,m,all\nA,*,10,*\nB,*,20,*\nTotal,8,30,38\n"},
			"area,f,m,all\nA,*,12,*\nB,*,20,*\nTotal,8,32,40\n", "A/all", 11, 17, 7},
		{"a region with one area", regional,
			map[string]string{"areas.csv": "area,f,m,all\nA,*,10,*\nB,*,20,*\nTotal,8,30,38\n",
				"regions.csv": "region,f,m,all\nR1,3,10,13\nR2,5,20,25\n"},
			"", "A/f", 3, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var current, earlier []PublicFile
			for _, name := range []string{"areas.csv", "regions.csv"} {
				if csv, ok := tt.public[name]; ok {
					current = append(current, propPublic(t, tt.c, name, csv))
				}
			}
			if tt.earlier != "" {
				earlier = append(earlier, propPublic(t, tt.c, "areas.csv", tt.earlier))
			}
			p, err := tt.c.attackProblem(current, earlier)
			if err != nil {
				t.Fatal(err)
			}
			if bad := p.violations(); len(bad) > 0 {
				t.Fatalf("the truth is not consistent: %v", bad)
			}
			v := p.enumerate(1000, propNodeCap)
			if v.aborted {
				t.Fatalf("gave up after %d nodes", v.nodes)
			}
			k := slices.IndexFunc(p.targets, func(tg bfTarget) bool { return tg.label == tt.cell })
			if k < 0 {
				t.Fatalf("no suppressed cell %s", tt.cell)
			}
			got := sortedValues(v.values[k])
			if len(got) != tt.n || got[0] != tt.min || got[len(got)-1] != tt.max {
				t.Errorf("%s: possible values %v, want %d values in [%d, %d]", tt.cell, got, tt.n, tt.min, tt.max)
			}
		})
	}
}
