package disclosure

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// AuditReport is the outcome of the recoverability audit.
type AuditReport struct {
	Passed         bool           `json:"passed"`
	Unknowns       int            `json:"unknowns"`        // distinct cells in sums, across files and linked releases
	Relations      int            `json:"relations"`       // published margins (each equals the sum of its parts)
	LeftOut        int            `json:"leftOut"`         // relations that do not add up in the original
	SecondaryAdded int            `json:"secondaryAdded"`  // cells the heuristic suppressed
	CellsByMethod  map[string]int `json:"cellsByMethod"`   // audited cells by the method that bounded them
	Cells          []AuditCell    `json:"cells"`           // every suppressed cell in a sum
	Notes          []string       `json:"notes,omitempty"` // anything the audit could not reconcile
	Criterion      string         `json:"criterion"`       // the rule applied, in words
	LinkedReleases []int          `json:"linkedReleases,omitempty"`
	// Streamed says the files were checked as they were read, with no sum
	// audited because nothing is suppressed (see Streamable).
	Streamed bool `json:"streamed,omitempty"`
	// Secondary lists the cells Candour suppressed to protect others,
	// each with the cells it was chosen for; SecondaryMethod says how
	// they were chosen.
	Secondary       []SecondaryCell `json:"secondary"`
	SecondaryMethod string          `json:"secondaryMethod,omitempty"`
}

// SecondaryCell is a cell suppressed to protect others.
type SecondaryCell struct {
	File     string   `json:"file"`
	Row      int      `json:"row"`
	Column   int      `json:"column"`
	Field    string   `json:"field"`
	Key      string   `json:"key"`      // the row's key values
	Value    string   `json:"value"`    // its original value (private)
	Protects []string `json:"protects"` // the cells failing when it was chosen
}

const secondaryMethod = "Greedy, to keep the number and the size of suppressed cells small: while a suppressed cell can be worked out too closely, try the smallest few non-zero cells in a published relation with it (interior cells before margins) and keep the one after which the fewest cells fail; when every cell passes, give back each added cell, largest first, that the audit does not need. The result passes the audit but is not guaranteed to be the smallest possible pattern."

// AuditCell is the feasible interval of one suppressed cell.
type AuditCell struct {
	File        string   `json:"file"`
	Version     int      `json:"version,omitempty"` // the earlier release, for a cell suppressed there
	Row         int      `json:"row"`
	Key         string   `json:"key"` // the row's key values, e.g. "RR8, 15-24, M"
	Column      int      `json:"column"`
	Field       string   `json:"field"`
	Cell        string   `json:"cell"`        // the cell's identity in words
	Suppression string   `json:"suppression"` // primary, secondary, source, earlier
	Published   string   `json:"published"`   // the marker
	Min         float64  `json:"min"`
	Max         *float64 `json:"max"`            // null when unbounded
	Values      int64    `json:"possibleValues"` // −1 when unbounded
	Protection  int      `json:"protection"`
	Method      string   `json:"method"`
	Pass        bool     `json:"pass"`
}

const criterion = "Every published value is an interval (exact values as points, base-5 roundings as the values that round to them, markers as the range they disclose); every margin equals the sum of its parts, in this release, across files released together and across linked earlier releases. Each suppressed cell's feasible interval over non-negative whole (or, for non-integer counts, fractional-lattice) solutions must hold at least the declared protection in possible values (default 3)."

func suppressionName(tr treatment, version int) string {
	if version != 0 {
		return "earlier"
	}
	switch tr {
	case tPrimary:
		return "primary"
	case tSecondary:
		return "secondary"
	case tSource:
		return "source"
	}
	return ""
}

// auditCells lists one AuditCell per suppressed cell of each target, in
// the targets' order. A release can have hundreds of thousands, each
// named in words, so they are made in parallel, a slice of targets each.
func (m *model) auditCells(ar auditResult) []AuditCell {
	for _, t := range m.tables {
		t.ambiguousCached() // worked out before cells are read in parallel
	}
	const per = 1 << 12
	parts := make([][]AuditCell, (len(ar.targets)+per-1)/per)
	inParallel(len(parts), func(p int) {
		for _, vi := range ar.targets[p*per : min(len(ar.targets), (p+1)*per)] {
			parts[p] = m.appendAuditCells(parts[p], ar, vi)
		}
	})
	total := 0
	for _, part := range parts {
		total += len(part)
	}
	cells := make([]AuditCell, 0, total)
	for _, part := range parts {
		cells = append(cells, part...)
	}
	return cells
}

// appendAuditCells appends the AuditCell of each suppressed cell of
// target vi.
func (m *model) appendAuditCells(cells []AuditCell, ar auditResult, vi int) []AuditCell {
	vr := ar.res[vi]
	for _, o := range m.vars[vi].obs {
		if _, supp, ok := m.obsInterval(o); !ok || !supp {
			continue
		}
		t := m.tables[o.t]
		tr := tOther
		if t.treat.known() {
			tr = t.treat.at(o.r, o.c)
		}
		ac := AuditCell{
			File: t.name, Version: t.version, Row: t.rows[o.r].Record, Column: o.c + 1,
			Field: t.schema.Fields[o.c].Name, Key: t.keyText(o.r), Cell: m.label(vi),
			Suppression: suppressionName(tr, t.version), Published: t.cells[o.r][o.c],
			Min: vr.lo, Values: vr.values, Protection: ar.prot[vi], Method: vr.method, Pass: ar.pass[vi],
		}
		if !vr.unbounded {
			hi := vr.hi
			ac.Max = &hi
		}
		cells = append(cells, ac)
	}
	return cells
}

// auditReport summarises the final audit.
func (m *model) auditReport(ar auditResult, added int) AuditReport {
	rep := AuditReport{
		Passed: len(ar.failing) == 0, Unknowns: len(m.vars), SecondaryAdded: added,
		CellsByMethod: map[string]int{}, Notes: ar.notes, Criterion: criterion,
	}
	for _, eq := range m.eqs {
		rep.Relations++
		if eq.broken {
			rep.LeftOut++
		}
	}
	rep.Cells = m.auditCells(ar)
	rep.Secondary = m.secondaryCells()
	if len(rep.Secondary) > 0 {
		rep.SecondaryMethod = secondaryMethod
	}
	if rep.Cells == nil {
		rep.Cells = []AuditCell{}
	}
	for _, c := range rep.Cells {
		rep.CellsByMethod[c.Method]++
	}
	seen := map[int]bool{}
	for _, t := range m.tables {
		if t.version != 0 && !seen[t.version] {
			seen[t.version] = true
			rep.LinkedReleases = append(rep.LinkedReleases, t.version)
		}
	}
	return rep
}

func formatNumber(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// auditFindings turns the final audit into findings.
func (c *checker) auditFindings(m *model, ar auditResult) {
	suppressedVar := map[int]bool{}
	for _, vi := range ar.targets {
		suppressedVar[vi] = true
	}
	for _, eq := range m.eqs {
		if !eq.broken {
			continue
		}
		involves := false
		for _, tm := range eq.terms {
			involves = involves || suppressedVar[tm.v]
		}
		t := m.tables[eq.at.t]
		mv := &m.vars[eq.terms[0].v]
		for _, tm := range eq.terms {
			if tm.a > 0 {
				mv = &m.vars[tm.v]
			}
		}
		what := "it was left out of the audit"
		if involves {
			what = "it involves a suppressed cell, so the audit cannot vouch for the suppression: correct the margin or its parts"
		}
		c.add(Finding{Kind: KindNotAdditive, Blocking: involves, File: t.label(), Row: t.rows[eq.at.r].Record, Column: eq.at.c + 1,
			Field: t.schema.Fields[eq.at.c].Name, Key: t.keyText(eq.at.r), Value: formatNumber(mv.truth),
			Message: fmt.Sprintf("%s is a margin of %d parts, but in the original it is %s and its parts sum to %s; %s.",
				capitalise(t.where(eq.at.r, eq.at.c)), eq.parts, formatNumber(mv.truth), formatNumber(eq.sum), what)})
	}
	for _, t := range m.tables {
		t.ambiguousCached() // worked out before the cells are read in parallel
	}
	found := make([][]Finding, len(ar.failing))
	inParallel(len(ar.failing), func(i int) { found[i] = m.recoverableFindings(ar, ar.failing[i]) })
	for _, fs := range found {
		for _, f := range fs {
			c.add(f)
		}
	}
}

// recoverableFindings describes a failing suppressed cell, once for each
// file that suppresses it.
func (m *model) recoverableFindings(ar auditResult, vi int) []Finding {
	var out []Finding
	vr := ar.res[vi]
	v := &m.vars[vi]
	because := m.giveaways(vi)
	for _, o := range v.obs {
		if _, supp, ok := m.obsInterval(o); !ok || !supp {
			continue
		}
		t := m.tables[o.t]
		name := t.schema.Fields[o.c].Name
		f := Finding{Kind: KindRecoverable, Blocking: true, File: t.label(), Row: t.rows[o.r].Record, Column: o.c + 1, Field: name,
			Key: t.keyText(o.r), Because: because}
		if t.version == 0 {
			f.Value = t.rows[o.r].Values[o.c].Text
		}
		where := capitalise(t.where(o.r, o.c))
		if t.version != 0 {
			where += fmt.Sprintf(" of version %d, suppressed there,", t.version)
		}
		by := ""
		if len(because) > 0 {
			by = "; what gives it away: " + strings.Join(because, "; ")
		}
		switch {
		case vr.empty:
			f.Kind = KindAuditIncomplete
			f.Message = fmt.Sprintf("%s is suppressed, but no value fits everything published about it (the margins, roundings and earlier releases contradict each other), so the audit cannot vouch for it%s.", where, by)
		case vr.incomplete:
			f.Kind = KindAuditIncomplete
			f.Message = fmt.Sprintf("%s is suppressed, but the audit could not finish for it; simplify the table or its margins.", where)
		default:
			f.Message = fmt.Sprintf("%s is suppressed, but what is published lets it be worked out to between %s and %s (%d possible %s; at least %d needed; %s)%s.",
				where, formatNumber(vr.lo), formatNumber(vr.hi), vr.values, plural(vr.values, "value", "values"), ar.prot[vi], methodWords(vr.method), by)
		}
		out = append(out, f)
	}
	return out
}

// giveaways names what publishes a relation or a value of unknown v: the
// margins and parts it is in (with their files), and the other files or
// linked releases that publish it.
func (m *model) giveaways(v int) []string {
	const most = 8
	var out []string
	add := func(s string) {
		if len(out) < most && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, o := range m.vars[v].obs {
		t := m.tables[o.t]
		if _, supp, ok := m.obsInterval(o); ok && !supp {
			add(fmt.Sprintf("it is published as %s in %s, %s", t.cells[o.r][o.c], t.label(), t.where(o.r, o.c)))
		}
	}
	for _, ei := range m.relationsOf(v) {
		eq := m.eqs[ei]
		if eq.broken {
			continue
		}
		margin := eq.terms[0].v
		for _, tm := range eq.terms {
			if tm.a > 0 {
				margin = tm.v
			}
		}
		files := m.filesOf(eq)
		if margin == v {
			add(fmt.Sprintf("its %d parts (%s)", len(eq.terms)-1, files))
			continue
		}
		add(fmt.Sprintf("the margin %s (%s)", m.label(margin), files))
	}
	return out
}

// filesOf names the files (and linked releases) publishing a relation's
// cells.
// A national relation has thousands of terms, so the walk stops once
// every table has been named.
func (m *model) filesOf(eq equation) string {
	var names []string
	seen, unseen := make([]bool, len(m.tables)), len(m.tables)
	for _, tm := range eq.terms {
		for _, o := range m.vars[tm.v].obs {
			if seen[o.t] {
				continue
			}
			seen[o.t], unseen = true, unseen-1
			if l := m.tables[o.t].label(); !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
		if unseen == 0 {
			break
		}
	}
	return "in " + joinWords(names)
}

// secondaryCells lists the secondary suppressions kept, with the cells
// each was chosen for.
func (m *model) secondaryCells() []SecondaryCell {
	out := []SecondaryCell{}
	vars := make([]int, 0, len(m.chosenFor))
	for v := range m.chosenFor {
		vars = append(vars, v)
	}
	slices.Sort(vars)
	for _, v := range vars {
		var protects []string
		for _, f := range m.chosenFor[v] {
			protects = append(protects, m.label(f))
		}
		for _, o := range m.vars[v].obs {
			t := m.tables[o.t]
			if t.version != 0 || t.treat.at(o.r, o.c) != tSecondary {
				continue
			}
			out = append(out, SecondaryCell{File: t.name, Row: t.rows[o.r].Record, Column: o.c + 1, Field: t.schema.Fields[o.c].Name,
				Key: t.keyText(o.r), Value: t.rows[o.r].Values[o.c].Text, Protects: protects})
		}
	}
	return out
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func methodWords(method string) string {
	switch method {
	case MethodExact:
		return "found by exact search over the published relations"
	case MethodLP:
		return "bounded by linear programming over the published relations"
	case MethodMarker:
		return "its marker alone discloses this range"
	case MethodRestricted:
		return "found with the rest of a very large table held at its true values, so the full range is at least this wide"
	case MethodPinned:
		return "it is published exactly elsewhere: in another file of this release or a linked earlier release"
	}
	return method
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
