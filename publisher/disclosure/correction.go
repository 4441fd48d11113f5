package disclosure

import (
	"math"
	"slices"

	"github.com/candour/candour/datasets"
)

// A correction is linked to the release it corrects cell by cell. The
// correction notice and the portal's what-changed page (a cell-level
// difference of the two public versions) tell anyone which cells the
// correction changed, so the audit takes every other cell as known to be
// equal in both releases: one unknown. Which cells changed is decided from
// the two releases' originals, so a cell whose public text differs only
// because its suppression differs (8 in the first release, * in the
// correction) is still the same unknown — and is pinned by the earlier
// publication, which is what a reader comparing the two would find.

// origCell is a cell's original value: a number, or the marker of a cell
// suppressed at source.
type origCell struct {
	x      float64
	marker string
}

func (a origCell) equal(b origCell) bool {
	if a.marker != "" || b.marker != "" {
		return a.marker == b.marker
	}
	return math.Abs(a.x-b.x) <= 1e-9*math.Max(1, math.Abs(a.x))
}

// originalCells maps the additive cells of tables (field name, NUL, cell
// identity) to their original values. A margin the tables do not hold is
// worked out from its parts when every part is a number, so that a cell
// published as a margin in one release and as parts in the other can be
// compared.
func originalCells(tables []*table) map[string]origCell {
	out := map[string]origCell{}
	for _, t := range tables {
		for r := range t.rows {
			id := t.rowIdentity(r)
			for col, fi := range t.fields {
				if !fi.additive {
					continue
				}
				key := t.schema.Fields[col].Name + "\x00" + id
				switch v := t.rows[r].Values[col]; v.Kind {
				case datasets.KindInteger, datasets.KindNumber:
					out[key] = origCell{x: v.Float}
				case datasets.KindSuppressed:
					out[key] = origCell{marker: v.Text}
				}
			}
		}
	}
	// Each table and dimension gives its own sums; two that disagree
	// leave the margin out.
	derived := map[string]origCell{}
	broken := map[string]bool{}
	for _, t := range tables {
		for _, dc := range t.identCols {
			d := t.schema.Fields[dc]
			if len(d.TotalValues) == 0 {
				continue
			}
			sums := map[string]origCell{}
			for r := range t.rows {
				if slices.Contains(d.TotalValues, t.cells[r][dc]) {
					continue
				}
				rest := identityWithout(t.rowIdentity(r), d.Name)
				for col, fi := range t.fields {
					if !fi.additive {
						continue
					}
					key := t.schema.Fields[col].Name + "\x00" + rest
					if _, ok := out[key]; ok {
						continue
					}
					v := t.rows[r].Values[col]
					if v.Kind != datasets.KindInteger && v.Kind != datasets.KindNumber {
						broken[key] = true
						continue
					}
					c := sums[key]
					c.x += v.Float
					sums[key] = c
				}
			}
			for key, c := range sums {
				if was, ok := derived[key]; ok && !was.equal(c) {
					broken[key] = true
				}
				derived[key] = c
			}
		}
	}
	for key, c := range derived {
		if !broken[key] {
			out[key] = c
		}
	}
	return out
}

// correctionLinks returns the cells of an earlier release (from its
// original files) that the current release keeps: those whose original
// value is unchanged, and — failing safe — those the publisher submitted
// already suppressed, unless their row is listed among the changed rows
// (except): a suppressed cell cannot be compared, and a reader of the
// correction notice takes whatever it does not list as unchanged.
func correctionLinks(current, before []*table, except map[string]bool) map[string]bool {
	now := originalCells(current)
	listed := listedCells(current, except)
	links := map[string]bool{}
	for key, was := range originalCells(before) {
		is, ok := now[key]
		if ok && (is.equal(was) || is.marker != "" && !listed[key]) {
			links[key] = true
		}
	}
	return links
}

// originalTables prepares the originals of a release being corrected.
// The margins found in them are looked for in the current files too (and
// those found in the current files in them), so that a relation the
// public saw in either version is audited in both.
func originalTables(originals []File, version int, rule datasets.DisclosureRule, current []*table) ([]*table, error) {
	var before []*table
	for _, f := range originals {
		t, err := newEarlierTable(f, version, nil, rule, current)
		if err != nil {
			return nil, err
		}
		if smallNumberRule(t.rule.Rule) {
			t.detectTotals(&checker{})
		}
		for _, cur := range current {
			if cur.name == t.name {
				cur.adoptFound(t)
			}
		}
		before = append(before, t)
	}
	return before, nil
}

// listedCells returns the additive cells (field name, NUL, identity) of
// the rows whose keys are listed as changed.
func listedCells(tables []*table, except map[string]bool) map[string]bool {
	out := map[string]bool{}
	if len(except) == 0 {
		return out
	}
	for _, t := range tables {
		for r := range t.rows {
			if !except[t.rowKey(r)] {
				continue
			}
			id := t.rowIdentity(r)
			for col, fi := range t.fields {
				if fi.additive {
					out[t.schema.Fields[col].Name+"\x00"+id] = true
				}
			}
		}
	}
	return out
}
