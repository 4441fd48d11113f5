package disclosure

import (
	"math"
	"slices"
	"sort"
)

// Secondary suppression, a greedy heuristic: while some suppressed cell
// fails the audit, gather the candidate cells — published exactly, not
// zero, in a file the heuristic may change (threshold rule, or a magnitude
// table), and in a published relation with a failing cell (or, for a cell
// in no relation, anywhere in its file, which makes its marker ambiguous)
// — try the smallest few (interior cells before margins), and suppress the
// one after which the fewest cells fail (ties: interior before margin,
// then the smaller value). Cells that are pinned by something the
// heuristic cannot change (an earlier release, a file under another rule)
// are left for the reviewers as blocking findings. Every step re-runs the
// full audit, so the final pattern is the one the audit accepts. When the
// audit passes, each secondary cell is given back in turn, largest first,
// if the audit still passes without it.

const (
	maxCandidates = 8
	maxSteps      = 500
)

// eligible reports whether the heuristic may suppress unknown v: every
// cell publishing it is an exactly published, unsuppressed, non-zero cell
// of an editable current file.
func (m *model) eligible(v int) bool {
	av := &m.vars[v]
	if !av.hasTruth || av.truth == 0 {
		return false
	}
	open := 0
	for _, o := range av.obs {
		t := m.tables[o.t]
		if t.version != 0 {
			return false
		}
		tr := t.treat.at(o.r, o.c)
		if tr.suppressed() {
			continue
		}
		if !t.editable || tr != tUnchanged || t.fields[o.c].exact {
			return false
		}
		open++
	}
	return open > 0
}

// pinnedOutside reports whether a failing unknown is published exactly
// somewhere the heuristic cannot change.
func (m *model) pinnedOutside(v int) bool {
	for _, o := range m.vars[v].obs {
		iv, supp, ok := m.obsInterval(o)
		if !ok || supp || !iv.isPoint() {
			continue
		}
		t := m.tables[o.t]
		if t.version != 0 || !t.editable || t.treat.at(o.r, o.c) != tUnchanged || t.fields[o.c].exact {
			return true
		}
	}
	return false
}

// suppress suppresses every open cell of unknown v as secondary, and
// returns a function that undoes it.
func (m *model) suppress(v int) func() {
	type saved struct {
		o    obs
		text string
		tr   treatment
	}
	var undo []saved
	for _, o := range m.vars[v].obs {
		t := m.tables[o.t]
		if tr := t.treat.at(o.r, o.c); tr.suppressed() {
			continue
		}
		undo = append(undo, saved{o, t.cells[o.r][o.c], t.treat.at(o.r, o.c)})
		t.cells[o.r][o.c] = t.markers[o.c]
		t.treat.set(o.r, o.c, tSecondary)
		t.ambig = 0
	}
	return func() {
		for _, s := range undo {
			t := m.tables[s.o.t]
			t.cells[s.o.r][s.o.c] = s.text
			t.treat.set(s.o.r, s.o.c, s.tr)
			t.ambig = 0
		}
	}
}

// candidates returns the unknowns the heuristic may suppress next, best
// first.
func (m *model) candidates(ar auditResult) []int {
	set := map[int]bool{}
	for _, f := range ar.failing {
		if ar.res[f].empty || ar.res[f].incomplete || m.pinnedOutside(f) {
			continue
		}
		if m.eligible(f) { // suppressed in one file, published in another
			set[f] = true
		}
		found := false
		for _, ei := range m.relationsOf(f) {
			if m.eqs[ei].broken {
				continue
			}
			for _, tm := range m.eqs[ei].terms {
				if tm.v != f && m.eligible(tm.v) {
					set[tm.v] = true
					found = true
				}
			}
		}
		if found || len(m.relationsOf(f)) > 0 {
			continue
		}
		// In no relation: its marker alone discloses too little range, as
		// with a threshold below the protection. Suppressing another cell
		// of its file makes the marker ambiguous.
		for _, o := range m.vars[f].obs {
			t := m.tables[o.t]
			if t.version != 0 || !t.editable {
				continue
			}
			for r := range t.cells {
				for c := range t.fields {
					if u, ok := m.varOf(obs{o.t, r, c}); ok && u != f && t.fields[c].count && m.eligible(u) {
						set[u] = true
					}
				}
			}
		}
	}
	out := make([]int, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &m.vars[out[i]], &m.vars[out[j]]
		if a.margin != b.margin {
			return !a.margin
		}
		if a.truth != b.truth {
			return a.truth < b.truth
		}
		return out[i] < out[j]
	})
	return out
}

// secondary adds secondary suppressions until the audit passes or no
// candidate is left; it returns how many unknowns it suppressed. It works
// one static component at a time, auditing only the components a trial
// touches.
func (m *model) secondary() int {
	if !slices.ContainsFunc(m.tables, func(t *table) bool { return t.version == 0 && t.editable }) {
		return 0
	}
	ar := m.audit()
	m.staticComponents()
	var work []int // failing unknowns, one per static component
	seen := map[int]bool{}
	for _, f := range ar.failing {
		if c := m.compOf[f]; !seen[c] {
			seen[c] = true
			work = append(work, f)
		}
	}
	total := 0
	for _, f := range work {
		total += m.secondaryIn(f)
	}
	return total
}

// secondaryIn runs the heuristic on the static component of unknown f.
func (m *model) secondaryIn(f int) int {
	type step struct {
		v    int
		undo func()
	}
	var added []step
	passed := false
	limit := min(maxSteps, len(m.compVars[m.compOf[f]])+maxCandidates)
	for len(added) < limit {
		ar := m.auditComponents(f)
		if len(ar.failing) == 0 {
			passed = true
			break
		}
		cands := m.candidates(ar)
		if len(cands) == 0 {
			break
		}
		best, bestFail := -1, math.MaxInt
		for _, v := range cands[:min(len(cands), maxCandidates)] {
			undo := m.suppress(v)
			fails := len(m.auditComponents(f, v).failing)
			undo()
			if fails < bestFail {
				best, bestFail = v, fails
			}
		}
		added = append(added, step{best, m.suppress(best)})
		m.chosenFor[best] = slices.Clone(ar.failing)
	}
	if !passed {
		return len(added)
	}
	// Prune: give back any secondary cell, largest first, that the audit
	// does not need.
	sort.SliceStable(added, func(i, j int) bool { return m.vars[added[i].v].truth > m.vars[added[j].v].truth })
	kept := 0
	for _, st := range added {
		st.undo()
		if len(m.auditComponents(f, st.v).failing) > 0 {
			m.suppress(st.v)
			kept++
			continue
		}
		delete(m.chosenFor, st.v)
	}
	return kept
}
