package disclosure

import (
	"fmt"
	"strconv"
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
}

// AuditCell is the feasible interval of one suppressed cell.
type AuditCell struct {
	File        string   `json:"file"`
	Version     int      `json:"version,omitempty"` // the earlier release, for a cell suppressed there
	Row         int      `json:"row"`
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

// auditCells lists one AuditCell per suppressed cell of each target.
func (m *model) auditCells(ar auditResult) []AuditCell {
	var cells []AuditCell
	for _, vi := range ar.targets {
		vr := ar.res[vi]
		for _, o := range m.vars[vi].obs {
			if _, supp, ok := m.obsInterval(o); !ok || !supp {
				continue
			}
			t := m.tables[o.t]
			tr := tOther
			if t.treat != nil {
				tr = t.treat[o.r][o.c]
			}
			ac := AuditCell{
				File: t.name, Version: t.version, Row: t.records[o.r], Column: o.c + 1,
				Field: t.schema.Fields[o.c].Name, Cell: m.label(vi),
				Suppression: suppressionName(tr, t.version), Published: t.cells[o.r][o.c],
				Min: vr.lo, Values: vr.values, Protection: ar.prot[vi], Method: vr.method, Pass: ar.pass[vi],
			}
			if !vr.unbounded {
				hi := vr.hi
				ac.Max = &hi
			}
			cells = append(cells, ac)
		}
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
		mv := m.vars[eq.terms[0].v]
		for _, tm := range eq.terms {
			if tm.a > 0 {
				mv = m.vars[tm.v]
			}
		}
		what := "it was left out of the audit"
		if involves {
			what = "it involves a suppressed cell, so the audit cannot vouch for the suppression: correct the margin or its parts"
		}
		c.add(Finding{Kind: KindNotAdditive, Blocking: involves, File: t.label(), Row: t.records[eq.at.r], Column: eq.at.c + 1,
			Field: t.schema.Fields[eq.at.c].Name, Value: formatNumber(mv.truth),
			Message: fmt.Sprintf("Row %d, column %d (%s) is a margin of %d parts, but in the original it is %s and its parts sum to %s; %s.",
				t.records[eq.at.r], eq.at.c+1, t.schema.Fields[eq.at.c].Name, eq.parts, formatNumber(mv.truth), formatNumber(eq.sum), what)})
	}
	for _, vi := range ar.failing {
		vr := ar.res[vi]
		v := m.vars[vi]
		for _, o := range v.obs {
			if _, supp, ok := m.obsInterval(o); !ok || !supp {
				continue
			}
			t := m.tables[o.t]
			name := t.schema.Fields[o.c].Name
			f := Finding{Kind: KindRecoverable, Blocking: true, File: t.label(), Row: t.records[o.r], Column: o.c + 1, Field: name}
			if t.version == 0 {
				f.Value = t.orig[o.r][o.c].Text
			}
			where := fmt.Sprintf("Row %d, column %d (%s)", t.records[o.r], o.c+1, name)
			if t.version != 0 {
				where += fmt.Sprintf(" of version %d, suppressed there,", t.version)
			}
			switch {
			case vr.empty:
				f.Kind = KindAuditIncomplete
				f.Message = fmt.Sprintf("%s is suppressed, but no value fits everything published about it (the margins, roundings and earlier releases contradict each other), so the audit cannot vouch for it.", where)
			case vr.incomplete:
				f.Kind = KindAuditIncomplete
				f.Message = fmt.Sprintf("%s is suppressed, but the audit could not finish for it; simplify the table or its margins.", where)
			default:
				f.Message = fmt.Sprintf("%s is suppressed, but what is published lets it be worked out to between %s and %s (%d possible %s; at least %d needed; %s).",
					where, formatNumber(vr.lo), formatNumber(vr.hi), vr.values, plural(vr.values, "value", "values"), ar.prot[vi], methodWords(vr.method))
			}
			c.add(f)
		}
	}
}

func methodWords(method string) string {
	switch method {
	case MethodExact:
		return "found by exact search over the published relations"
	case MethodLP:
		return "bounded by linear programming over the published relations"
	case MethodMarker:
		return "its marker alone discloses this range"
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
