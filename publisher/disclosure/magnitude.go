package disclosure

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/candour/candour/datasets"
)

// MagnitudeReport describes the cells of a magnitude table.
type MagnitudeReport struct {
	Contributions      int             `json:"contributions"` // rows of the original
	Cells              int             `json:"cells"`         // cells of the public table (rows × magnitude fields)
	Dominance          string          `json:"dominance,omitempty"`
	PPercent           float64         `json:"pPercent,omitempty"`
	SensitiveDominance int             `json:"sensitiveByDominance"`
	SensitivePPercent  int             `json:"sensitiveByPPercent"`
	Sensitive          []MagnitudeCell `json:"sensitive,omitempty"`
}

// MagnitudeCell is a sensitive cell of a magnitude table.
type MagnitudeCell struct {
	Row          int      `json:"row"` // record number in the public file
	Field        string   `json:"field"`
	Cell         string   `json:"cell"`
	Contributors int      `json:"contributors"`
	Rules        []string `json:"rules"`
}

// Dominant reports whether a cell is sensitive under the (n,k) dominance
// rule: its n largest contributions are more than k per cent of its total.
// A cell with fewer than n contributors and a positive total is sensitive.
func Dominant(contributions []float64, n int, k float64) bool {
	xs := sortedDesc(contributions)
	var total, top float64
	for i, x := range xs {
		total += x
		if i < n {
			top += x
		}
	}
	return total > 0 && 100*top > k*total
}

// PPercentSensitive reports whether a cell is sensitive under the p% rule:
// with contributions x1 ≥ x2 ≥ … and total T, T − x1 − x2 < (p/100)·x1, so
// that the second-largest contributor could estimate the largest to within
// p per cent. The comparison is strict.
func PPercentSensitive(contributions []float64, p float64) bool {
	xs := sortedDesc(contributions)
	if len(xs) == 0 {
		return false
	}
	var total float64
	for _, x := range xs {
		total += x
	}
	rest := total - xs[0]
	if len(xs) > 1 {
		rest -= xs[1]
	}
	return 100*rest < p*xs[0]
}

func sortedDesc(xs []float64) []float64 {
	s := slices.Clone(xs)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	return s
}

// decimals returns the number of digits after the point in a number's text.
func decimals(text string) int {
	if strings.ContainsAny(text, "eE") {
		return 6
	}
	if i := strings.IndexByte(text, '.'); i >= 0 {
		return len(text) - i - 1
	}
	return 0
}

// aggregate turns a file of magnitude contributions into the public table
// of cells: one row per combination of the dimension fields (in order of
// first appearance), each magnitude field summed, sensitive cells
// suppressed.
func (t *table) aggregate(f File, c *checker) error {
	s := f.Resource.Schema
	var dims, mags []int
	for i, fl := range s.Fields {
		fi := t.fields[i]
		switch {
		case fi.count || fi.statistic || fi.total && !fi.magnitude:
			return fmt.Errorf("disclosure: file %q: field %q: a file of magnitude contributions may hold only dimension, magnitude and identifying fields; put counts, totals and statistics in another file", f.Name, fl.Name)
		case fi.magnitude:
			mags = append(mags, i)
		case fl.Role == datasets.RoleDimension:
			dims = append(dims, i)
		default:
			t.dropped = append(t.dropped, fl.Name)
		}
	}
	pub := datasets.Schema{MissingValues: s.MissingValues, Disclosure: s.Disclosure}
	for _, i := range dims {
		pub.Fields = append(pub.Fields, s.Fields[i])
		pub.PrimaryKey = append(pub.PrimaryKey, s.Fields[i].Name)
	}
	for _, i := range mags {
		fl := s.Fields[i]
		fl.Constraints.Unique = false
		pub.Fields = append(pub.Fields, fl)
	}

	type group struct {
		first int
		rows  []int
	}
	var order []string
	groups := map[string]*group{}
	for r, row := range f.Rows {
		parts := make([]string, len(dims))
		for j, i := range dims {
			parts[j] = row.Cells[i]
		}
		key := strings.Join(parts, "\x1f")
		g, ok := groups[key]
		if !ok {
			g = &group{first: r}
			groups[key] = g
			order = append(order, key)
		}
		g.rows = append(g.rows, r)
	}

	rule := datasets.DisclosureRule{}
	if s.Disclosure != nil {
		rule = *s.Disclosure
	}
	rep := &MagnitudeReport{Contributions: len(f.Rows), PPercent: rule.PPercent}
	if rule.Dominance == nil && rule.PPercent == 0 {
		c.add(Finding{Kind: KindMagnitude, File: f.Name,
			Message: "The file holds magnitude contributions but the schema declares neither a dominance nor a p% rule, so cell totals are published however few contributors dominate them."})
	}
	if d := rule.Dominance; d != nil {
		rep.Dominance = fmt.Sprintf("(%d,%s)", d.N, strconv.FormatFloat(d.K, 'f', -1, 64))
	}
	t.markers, t.addMarker = nil, nil
	for _, fl := range pub.Fields {
		m, add := chooseMarker(fl, pub.MissingValues)
		t.markers = append(t.markers, m)
		t.addMarker = append(t.addMarker, add)
	}
	missingText, addMissing := "", true
	if len(pub.MissingValues) > 0 {
		missingText, addMissing = pub.MissingValues[0], false
	}
	needMissing := false

	t.rows, t.cells, t.treat = nil, nil, treatments{width: len(pub.Fields)}
	for n, key := range order {
		g := groups[key]
		first := f.Rows[g.first]
		var vals []datasets.Value
		var cells []string
		var treats []treatment
		for _, i := range dims {
			vals = append(vals, first.Values[i])
			cells = append(cells, first.Cells[i])
			treats = append(treats, tOther)
		}
		for j, i := range mags {
			col := len(dims) + j
			var xs []float64
			source, dec := false, 0
			for _, r := range g.rows {
				v := f.Rows[r].Values[i]
				switch v.Kind {
				case datasets.KindSuppressed:
					source = true
				case datasets.KindInteger, datasets.KindNumber:
					xs = append(xs, v.Float)
					dec = max(dec, decimals(v.Text))
				}
			}
			var sum float64
			for _, x := range xs {
				sum += x
			}
			if s.Fields[i].Type == datasets.TypeInteger {
				dec = 0
			}
			text := strconv.FormatFloat(sum, 'f', dec, 64)
			kind := datasets.KindNumber
			if s.Fields[i].Type == datasets.TypeInteger {
				kind = datasets.KindInteger
			}
			v := datasets.Value{Kind: kind, Text: text, Float: sum, Int: int64(sum)}
			tr := tUnchanged
			var rules []string
			switch {
			case source:
				v, text, tr = datasets.Value{Kind: datasets.KindSuppressed, Text: t.markers[col]}, t.markers[col], tSource
			case len(xs) == 0:
				v, text, tr = datasets.Value{Kind: datasets.KindMissing, Text: missingText}, missingText, tMissing
				needMissing = needMissing || addMissing
			default:
				negative := slices.ContainsFunc(xs, func(x float64) bool { return x < 0 })
				if d := rule.Dominance; d != nil && (negative || Dominant(xs, d.N, d.K)) {
					rules = append(rules, "dominance "+rep.Dominance)
					rep.SensitiveDominance++
				}
				if rule.PPercent > 0 && (negative || PPercentSensitive(xs, rule.PPercent)) {
					rules = append(rules, fmt.Sprintf("p%% (p = %s)", strconv.FormatFloat(rule.PPercent, 'f', -1, 64)))
					rep.SensitivePPercent++
				}
				if len(rules) > 0 {
					text, tr = t.markers[col], tPrimary
				}
			}
			rep.Cells++
			if len(rules) > 0 {
				rep.Sensitive = append(rep.Sensitive, MagnitudeCell{Row: n + 2, Field: s.Fields[i].Name,
					Cell: describeRow(pub, cells[:len(dims)]), Contributors: len(xs), Rules: rules})
			}
			vals = append(vals, v)
			cells = append(cells, text)
			treats = append(treats, tr)
		}
		t.rows = append(t.rows, datasets.Row{Record: n + 2, Values: vals})
		t.cells = append(t.cells, cells)
		t.treat.appendRow(treats)
	}
	if needMissing {
		pub.MissingValues = append(slices.Clone(pub.MissingValues), "")
	}
	t.schema = pub
	t.res.Schema = pub
	t.fields = classify(pub)
	t.header = pub.FieldNames()
	t.national = make([]bool, len(t.cells))
	t.aggregated = true
	t.editable = true
	t.magnitude = rep
	return nil
}

// describeRow names a row by its identity fields, e.g. `Region = "North"`.
func describeRow(s datasets.Schema, values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%s = %q", s.Fields[i].Name, v)
	}
	return strings.Join(parts, ", ")
}
