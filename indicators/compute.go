package indicators

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/candour/candour/datasets"
)

// Table is a public release file as Compute reads it: its schema, its
// header and its cells as published.
type Table struct {
	Name   string
	Schema datasets.Schema
	Header []string
	Rows   [][]string
}

// Period says which period the observations are for.
type Period struct {
	Label string
	Start string // YYYY-MM-DD, "" when not known
}

// Compute materialises the observations of the definitions from the
// public files of one release, and a summary of each indicator (its
// period, funnel and benchmark rows). It reads only the public version: a
// suppressed cell makes its organisation's value "not shown" with the
// reason. Rows of areas (England, regions; see datasets.AreaLevel) are
// benchmarks, never organisations. Errors name the indicator and the row.
func Compute(defs []Definition, tables []Table, period Period) ([]Observation, []Summary, error) {
	var out []Observation
	var sums []Summary
	for _, d := range defs {
		i := slices.IndexFunc(tables, func(t Table) bool { return t.Name == d.File })
		if i < 0 {
			return nil, nil, invalid(d.ID, "file", "the release has no file %q", d.File)
		}
		obs, sum, err := computeOne(d, tables[i], period)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, obs...)
		sums = append(sums, sum)
	}
	return out, sums, nil
}

// group is one organisation's rows of an indicator.
type group struct {
	code       string
	num, den   float64
	value      float64
	hasValue   bool
	lower      float64
	category   string
	suppressed bool
	missing    bool
	peer       string       // the peer-group value, for peer-group benchmarks
	bands      [][2]float64 // per ESP2013 band: count, population (DSR)
}

func computeOne(d Definition, t Table, period Period) ([]Observation, Summary, error) {
	sum := Summary{Indicator: d.ID, Period: period.Label, PeriodStart: period.Start}
	col := func(name string) int {
		if name == "" {
			return -1
		}
		return slices.Index(t.Header, name)
	}
	org, num, den, val, low := col(d.Organisation), col(d.Numerator), col(d.Denominator), col(d.Value), col(d.Lower)
	age, peer := col(d.AgeBand), col(d.Benchmark.Field)
	if org < 0 {
		return nil, sum, invalid(d.ID, "organisation", "the file %s has no field %q", t.Name, d.Organisation)
	}
	filters := map[int]string{}
	for f, v := range d.Filter {
		c := col(f)
		if c < 0 {
			return nil, sum, invalid(d.ID, "filter", "the file %s has no field %q", t.Name, f)
		}
		filters[c] = v
	}
	fields := map[int]datasets.Field{}
	for _, c := range []int{num, den, val, low} {
		if c >= 0 {
			fi := t.Schema.FieldIndex(t.Header[c])
			if fi < 0 {
				return nil, sum, invalid(d.ID, "file", "the schema of %s has no field %q", t.Name, t.Header[c])
			}
			fields[c] = t.Schema.Fields[fi]
		}
	}
	parse := func(c int, text string) (float64, bool, bool, error) { // value, suppressed, missing
		v, err := fields[c].Parse(text, t.Schema.MissingValues)
		if err != nil {
			return 0, false, false, err
		}
		switch v.Kind {
		case datasets.KindSuppressed:
			return 0, true, false, nil
		case datasets.KindMissing:
			return 0, false, true, nil
		case datasets.KindInteger, datasets.KindNumber:
			return v.Float, false, false, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		return f, false, false, err
	}
	// accumulate adds one row's figures to an organisation's group (or an
	// area's, or the organisation's part of a breakdown's group).
	accumulate := func(g *group, row []string, r int) error {
		add := func(c int, into *float64) error {
			if c < 0 {
				return nil
			}
			x, supp, miss, err := parse(c, row[c])
			if err != nil {
				return fmt.Errorf("indicator %s: %s row %d, column %q: %w", d.ID, t.Name, r+2, t.Header[c], err)
			}
			g.suppressed = g.suppressed || supp
			g.missing = g.missing || miss
			*into += x
			return nil
		}
		if d.Method == MethodDSR {
			band := slices.Index(d.AgeBands, strings.TrimSpace(row[age]))
			if band < 0 {
				return fmt.Errorf("indicator %s: %s row %d, column %q: %q is not one of the declared age bands", d.ID, t.Name, r+2, d.AgeBand, row[age])
			}
			if g.bands == nil {
				g.bands = make([][2]float64, len(d.AgeBands))
			}
			var x, n float64
			if err := add(num, &x); err != nil {
				return err
			}
			if err := add(den, &n); err != nil {
				return err
			}
			g.bands[band][0] += x
			g.bands[band][1] += n
			g.num, g.den = g.num+x, g.den+n
			return nil
		}
		if err := add(num, &g.num); err != nil {
			return err
		}
		if err := add(den, &g.den); err != nil {
			return err
		}
		if val >= 0 {
			if d.Method == MethodCategory {
				g.category = strings.TrimSpace(row[val])
				g.hasValue = g.category != ""
				return nil
			}
			g.hasValue = true
			if err := add(val, &g.value); err != nil {
				return err
			}
		}
		return add(low, &g.lower)
	}
	var breakdowns []*breakdownGroups
	for _, b := range d.Breakdowns {
		c := col(b.Field)
		if c < 0 {
			return nil, sum, invalid(d.ID, "breakdowns."+b.ID+".field", "the file %s has no field %q", t.Name, b.Field)
		}
		breakdowns = append(breakdowns, &breakdownGroups{b: b, column: c, groups: map[string]map[string]*group{}, notKnown: map[string]bool{}})
	}
	areas := areaCodes(d, t.Schema)
	groups, areaGroups := map[string]*group{}, map[string]*group{}
	var order, areaOrder []string
rows:
	for r, row := range t.Rows {
		for c, v := range filters {
			if c >= len(row) || row[c] != v {
				continue rows
			}
		}
		code := strings.TrimSpace(row[org])
		if code == "" || slices.Contains(t.Schema.MissingValues, code) {
			sum.Unattributed++ // no organisation: the row cannot be attributed
			continue
		}
		into, list := groups, &order
		_, area := areas.level(code)
		if area {
			into, list = areaGroups, &areaOrder
		}
		g := into[code]
		if g == nil {
			g = &group{code: code}
			into[code] = g
			*list = append(*list, code)
		}
		if peer >= 0 && g.peer == "" {
			g.peer = row[peer]
		}
		if err := accumulate(g, row, r); err != nil {
			return nil, sum, err
		}
		if area {
			continue // areas are benchmarks: in no group of a breakdown
		}
		for _, bg := range breakdowns {
			value := strings.TrimSpace(row[bg.column])
			if value == "" || slices.Contains(t.Schema.MissingValues, value) {
				bg.notKnown[code] = true
				continue
			}
			if !slices.Contains(bg.b.Groups, value) {
				return nil, sum, fmt.Errorf("indicator %s: %s row %d, column %q: %q is not one of the groups breakdown %s declares", d.ID, t.Name, r+2, bg.b.Field, value, bg.b.ID)
			}
			if err := accumulate(bg.into(value, code), row, r); err != nil {
				return nil, sum, err
			}
		}
	}

	sort.Strings(areaOrder)
	for _, code := range areaOrder {
		sum.Areas = append(sum.Areas, areaValue(d, areaGroups[code], areas))
	}
	benchFor := benchmarks(d, groups, areaGroups, areas)
	for _, bg := range breakdowns {
		var england *float64
		if d.Benchmark.Kind != "target" && d.Benchmark.Kind != "none" && d.Benchmark.Kind != "" {
			england = englandValue(d, groups, areaGroups, areas)
		}
		sum.Breakdowns = append(sum.Breakdowns, breakdownResult(d, bg, groups, england))
	}
	sort.Strings(order)
	var out []Observation
	for _, code := range order {
		g := groups[code]
		o := observe(d, g, benchFor(g))
		o.Indicator, o.Organisation, o.Period, o.PeriodStart = d.ID, code, period.Label, period.Start
		out = append(out, o)
	}
	assignQuintiles(d, out)
	fit, err := applyVerdict(d, out)
	if err != nil {
		return nil, sum, err
	}
	sum.Funnel, sum.Organisations = fit, len(out)
	return out, sum, nil
}

// benchmarks returns what each organisation is compared with: a target,
// the England row (else the pooled value of every organisation), its
// region's row (else the pooled value of its region), or the pooled
// value of its peer group.
func benchmarks(d Definition, groups, areaGroups map[string]*group, areas areaSet) func(*group) *float64 {
	rowValue := func(g *group) *float64 {
		if g == nil || g.suppressed || g.missing {
			return nil
		}
		if v, ok := pointValue(d, g); ok {
			return &v
		}
		return nil
	}
	switch d.Benchmark.Kind {
	case "target":
		return func(*group) *float64 { return d.Benchmark.Value }
	case "england":
		bench := englandValue(d, groups, areaGroups, areas)
		return func(*group) *float64 { return bench }
	case "peer-group", "region":
		byPeer := map[string]*float64{}
		for _, g := range groups {
			if _, done := byPeer[g.peer]; done {
				continue
			}
			peer := g.peer
			if d.Benchmark.Kind == "region" {
				if v := rowValue(areaGroups[peer]); v != nil {
					byPeer[peer] = v
					continue
				}
			}
			byPeer[peer] = pooledValue(d, groups, func(h *group) bool { return h.peer == peer })
		}
		return func(g *group) *float64 { return byPeer[g.peer] }
	}
	return func(*group) *float64 { return nil }
}

// englandValue is the England row's value, else the pooled value of
// every organisation.
func englandValue(d Definition, groups, areaGroups map[string]*group, areas areaSet) *float64 {
	if g := areaGroups[areas.england(areaGroups)]; g != nil && !g.suppressed && !g.missing {
		if v, ok := pointValue(d, g); ok {
			return &v
		}
	}
	return pooledValue(d, groups, func(*group) bool { return true })
}

// areaSet recognises the area codes of a definition's file: those
// datasets.AreaLevel knows, England's declared values and declared areas.
type areaSet struct{ englandValues, declared map[string]bool }

// The schema's own list of codes in the organisation field that are not
// organisations ("national totals such as Total, England") counts as
// England's values.
func areaCodes(d Definition, schema datasets.Schema) areaSet {
	a := areaSet{englandValues: map[string]bool{}, declared: map[string]bool{}}
	for _, e := range d.Benchmark.EnglandValues {
		a.englandValues[e] = true
	}
	if i := schema.FieldIndex(d.Organisation); i >= 0 && schema.Fields[i].Organisation != nil {
		for _, e := range schema.Fields[i].Organisation.NotOrganisations {
			a.englandValues[e] = true
		}
	}
	for _, e := range d.Benchmark.Areas {
		a.declared[e] = true
	}
	return a
}

// level is the level of area code names, and whether it is one.
func (a areaSet) level(code string) (string, bool) {
	switch {
	case a.englandValues[code]:
		return "national", true
	case a.declared[code]:
		return "area", true
	}
	return datasets.AreaLevel(code)
}

// england is the code of the England row among the area rows: a declared
// England value, else E92000001; "" when there is none.
func (a areaSet) england(rows map[string]*group) string {
	for code := range rows {
		if a.englandValues[code] {
			return code
		}
	}
	if rows[datasets.EnglandCode] != nil {
		return datasets.EnglandCode
	}
	return ""
}

// areaValue is an area row's value with its interval, as a benchmark.
func areaValue(d Definition, g *group, areas areaSet) AreaValue {
	level, _ := areas.level(g.code)
	o := observe(Definition{Method: d.Method, Unit: d.Unit, PerN: d.PerN, Numerator: d.Numerator, Denominator: d.Denominator,
		Categories: d.Categories, Polarity: NoJudgement}, g, nil)
	return AreaValue{Code: g.code, Level: level, Value: o.Value, Lower95: o.Lower95, Upper95: o.Upper95, Reason: areaReason(o)}
}

func areaReason(o Observation) string {
	if o.Value != nil {
		return ""
	}
	return o.Reason
}

func fptr(x float64) *float64 { return &x }

// pooledValue is the value of the organisations in, taken together:
// Σ numerators / Σ denominators, or for means the mean weighted by the
// number of individuals. Suppressed and missing organisations are left
// out. The sums run in code order, so the same release gives the same
// value to the last digit every time it is computed.
func pooledValue(d Definition, groups map[string]*group, in func(*group) bool) *float64 {
	if d.Numerator == "" && d.Method != MethodMeanSD {
		return nil
	}
	pooled := &group{hasValue: true}
	weighted := 0.0
	for _, code := range slices.Sorted(maps.Keys(groups)) {
		if g := groups[code]; in(g) && !g.suppressed && !g.missing {
			pooled.num += g.num
			pooled.den += g.den
			weighted += g.value * g.den
		}
	}
	if d.Method == MethodMeanSD && pooled.den > 0 {
		pooled.value = weighted / pooled.den
	}
	if d.Method == MethodDSR {
		return nil // a pooled DSR needs the pooled age bands: not offered
	}
	if v, ok := pointValue(d, pooled); ok {
		return &v
	}
	return nil
}

// pointValue is a group's value in the indicator's unit, without limits.
func pointValue(d Definition, g *group) (float64, bool) {
	switch d.Method {
	case MethodWilson:
		if g.den <= 0 {
			return 0, false
		}
		return g.num / g.den * scaleOf(d), true
	case MethodPoisson:
		if g.den <= 0 {
			return 0, false
		}
		return g.num / g.den * d.PerN, true
	case MethodDSR:
		if g.bands == nil {
			return 0, false
		}
		counts, pops := splitBands(g.bands)
		v, _, err := DSR(counts, pops, ESP2013, d.PerN, 0.95)
		return v, err == nil
	case MethodOERatio:
		if g.den <= 0 {
			return 0, false
		}
		return g.num / g.den, true
	case MethodMeanSD, MethodAsGiven:
		return g.value, g.hasValue
	}
	return 0, false
}

func scaleOf(d Definition) float64 {
	if d.Unit == UnitPercentage {
		return 100
	}
	return 1
}

// Reasons an organisation's figures are not in the published data, as
// Observation.Reason gives them.
const (
	ReasonSuppressed = "suppressed in the published data to protect confidentiality"
	ReasonMissing    = "not available in the published data"
)

// observe computes one organisation's observation.
func observe(d Definition, g *group, bench *float64) Observation {
	o := Observation{Benchmark: bench, Comparison: NotCompared}
	if d.Numerator != "" {
		o.Numerator = fptr(g.num)
	}
	if d.Denominator != "" {
		o.Denominator = fptr(g.den)
	}
	if g.suppressed {
		o.Numerator, o.Denominator = nil, nil
		o.Reason = ReasonSuppressed
		return o
	}
	if g.missing {
		o.Reason = ReasonMissing
		return o
	}
	if d.Method == MethodCategory {
		o.Category = g.category
		if g.category == "" {
			o.Reason = "no rating in the published data"
		}
		return o
	}
	size := g.den
	if d.Method == MethodAsGiven {
		size = math.Inf(1)
	}
	if d.MinimumToShow > 0 && size < d.MinimumToShow {
		o.Reason = fmt.Sprintf("too few to show reliably (%s, fewer than %s)", trim(size), trim(d.MinimumToShow))
		return o
	}
	if d.Method == MethodDSR && g.num < 10 {
		o.Reason = "not calculated: fewer than 10 events (a standardised rate from so few is not reliable)"
		return o
	}
	v, ok := pointValue(d, g)
	if !ok {
		o.Reason = "cannot be calculated: the denominator is zero"
		return o
	}
	o.Value = fptr(v)
	lims, err := limits(d, g)
	if err != nil {
		o.Reason = "the confidence interval cannot be calculated: " + err.Error()
		return o
	}
	o.Lower95, o.Upper95, o.Lower998, o.Upper998 = lims[0], lims[1], lims[2], lims[3]
	switch {
	case bench == nil:
		o.Reason = "no benchmark to compare with"
	case d.MinimumToCompare > 0 && size < d.MinimumToCompare:
		o.Reason = fmt.Sprintf("too few to compare (%s, fewer than %s)", trim(size), trim(d.MinimumToCompare))
	case o.Lower95 == nil:
		o.Reason = "no confidence interval to compare with"
	default:
		lo, hi := o.Lower95, o.Upper95
		if d.Verdict.Conf() == 0.998 {
			lo, hi = o.Lower998, o.Upper998
		}
		o.Comparison = compare(*lo, *hi, *bench, d.Polarity)
	}
	return o
}

func trim(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// assignQuintiles gives shown values quintiles, 1 the highest.
func assignQuintiles(d Definition, obs []Observation) {
	var idx []int
	var values []float64
	for i, o := range obs {
		if o.Value != nil {
			idx = append(idx, i)
			values = append(values, *o.Value)
		}
	}
	if len(values) < 5 {
		return
	}
	for k, q := range Quantiles(values, 5, true) {
		obs[idx[k]].Quintile = q
	}
}

func splitBands(b [][2]float64) ([]float64, []float64) {
	counts, pops := make([]float64, len(b)), make([]float64, len(b))
	for i, x := range b {
		counts[i], pops[i] = x[0], x[1]
	}
	return counts, pops
}
