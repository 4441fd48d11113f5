package audit

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/candour/candour/datasets"
)

// The outcomes file of an audit release has one row per unit, measure and
// period, with these columns (any order; further columns, such as a note,
// are kept in the file and ignored here):
//
//	period           e.g. 2024/25 (periods sort as text)
//	level            hospital, team or consultant
//	provider_code    the provider where the unit's cases were treated
//	provider_name
//	team_code        a team's code (teams and consultants)
//	team_name
//	consultant_code  a consultant's registration number (consultants)
//	consultant_name
//	measure          the id of one of the definition's measures
//	cases            procedures or patients (a whole number ≥ 0)
//	observed         events among them (0 ≤ observed ≤ cases)
//	expected         events expected from the audit's risk model (> 0 and
//	                 ≤ cases; required for ratio measures, blank when the
//	                 audit has no risk model)
//
// A consultant working at two providers has a row at each (with the team
// there): outliers are notified through the provider where the cases were
// treated.
const (
	ColPeriod         = "period"
	ColLevel          = "level"
	ColProvider       = "provider_code"
	ColProviderName   = "provider_name"
	ColTeam           = "team_code"
	ColTeamName       = "team_name"
	ColConsultant     = "consultant_code"
	ColConsultantName = "consultant_name"
	ColMeasure        = "measure"
	ColCases          = "cases"
	ColObserved       = "observed"
	ColExpected       = "expected"
)

// Columns are the columns an outcomes file must have.
var Columns = []string{ColPeriod, ColLevel, ColProvider, ColProviderName, ColTeam, ColTeamName, ColConsultant, ColConsultantName,
	ColMeasure, ColCases, ColObserved, ColExpected}

// Row is one checked row of an outcomes file. Counts are nil when the
// public version suppressed them.
type Row struct {
	Record                                                             int // as datasets.Problem.Row
	Period                                                             string
	Level                                                              Level
	Provider, ProviderName, Team, TeamName, Consultant, ConsultantName string
	Measure                                                            string
	Cases, Observed                                                    *int
	Expected                                                           *float64
}

// Code is the unit's code at its level.
func (r Row) Code() string {
	switch r.Level {
	case Team:
		return r.Team
	case Consultant:
		return r.Consultant
	}
	return r.Provider
}

// Name is the unit's name at its level.
func (r Row) Name() string {
	switch r.Level {
	case Team:
		return r.TeamName
	case Consultant:
		return r.ConsultantName
	}
	return r.ProviderName
}

// Checker checks the rows of an outcomes file against a definition,
// collecting problems that name the row and column. It keeps one key per
// row to find units listed twice.
type Checker struct {
	def      Definition
	file     string
	idx      map[string]int
	seen     map[string]int
	problems datasets.Problems
}

// maxProblems bounds what one file reports.
const maxProblems = 100

// NewChecker returns a checker for a file with the header; a missing
// column is a problem naming it.
func NewChecker(def Definition, file string, header []string) (*Checker, error) {
	c := &Checker{def: def, file: file, idx: map[string]int{}, seen: map[string]int{}}
	for i, h := range header {
		c.idx[strings.TrimSpace(h)] = i
	}
	var missing datasets.Problems
	for _, col := range Columns {
		if _, ok := c.idx[col]; !ok {
			missing = append(missing, datasets.Problem{File: file, Row: 1, Field: col, Offset: -1,
				Message: fmt.Sprintf("an audit outcomes file needs a column %q (the columns are %s)", col, strings.Join(Columns, ", "))})
		}
	}
	if len(missing) > 0 {
		return nil, missing
	}
	return c, nil
}

// Problems returns the problems found so far.
func (c *Checker) Problems() datasets.Problems { return c.problems }

// Full reports whether enough problems were found to stop.
func (c *Checker) Full() bool { return len(c.problems) >= maxProblems }

func (c *Checker) problem(r datasets.Row, col, format string, args ...any) {
	i := c.idx[col]
	value := ""
	if i < len(r.Cells) {
		value = r.Cells[i]
	}
	c.problems = append(c.problems, datasets.Problem{File: c.file, Row: r.Record, Line: r.Line, Column: i + 1, Field: col,
		Value: value, Offset: -1, Message: fmt.Sprintf(format, args...)})
}

func (c *Checker) cell(r datasets.Row, col string) (text string, suppressed bool) {
	i := c.idx[col]
	if i >= len(r.Cells) {
		return "", false
	}
	if r.Values != nil && i < len(r.Values) {
		switch r.Values[i].Kind {
		case datasets.KindSuppressed:
			return r.Cells[i], true
		case datasets.KindMissing:
			return "", false
		}
	}
	return strings.TrimSpace(r.Cells[i]), false
}

// count reads a whole, non-negative count; ok is false after a problem.
func (c *Checker) count(r datasets.Row, col, what string) (v *int, ok bool) {
	text, suppressed := c.cell(r, col)
	if suppressed {
		return nil, true
	}
	if text == "" {
		c.problem(r, col, "%s is required", what)
		return nil, false
	}
	f, err := strconv.ParseFloat(text, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		c.problem(r, col, "%s %q is not a number", what, text)
		return nil, false
	case f < 0:
		c.problem(r, col, "%s is negative (%s): counts cannot be below zero", what, text)
		return nil, false
	case f != math.Trunc(f) || f > math.MaxInt32:
		c.problem(r, col, "%s %s is not a whole number", what, text)
		return nil, false
	}
	n := int(f)
	return &n, true
}

// Check checks one row, returning it parsed when it has no problem.
func (c *Checker) Check(r datasets.Row) (Row, bool) {
	before := len(c.problems)
	out := Row{Record: r.Record}
	text := func(col string) string { t, _ := c.cell(r, col); return t }
	out.Period = text(ColPeriod)
	if out.Period == "" {
		c.problem(r, ColPeriod, "the period is required")
	}
	out.Level = Level(text(ColLevel))
	out.Provider, out.ProviderName = text(ColProvider), text(ColProviderName)
	out.Team, out.TeamName = text(ColTeam), text(ColTeamName)
	out.Consultant, out.ConsultantName = text(ColConsultant), text(ColConsultantName)
	if out.Provider == "" {
		c.problem(r, ColProvider, "the provider where the unit's cases were treated is required")
	}
	switch out.Level {
	case Hospital:
		if out.Team != "" {
			c.problem(r, ColTeam, "a hospital-level row has no team (leave team_code blank)")
		}
		if out.Consultant != "" {
			c.problem(r, ColConsultant, "a hospital-level row has no consultant (leave consultant_code blank)")
		}
	case Team:
		if out.Team == "" {
			c.problem(r, ColTeam, "a team-level row needs the team's code")
		}
		if out.Consultant != "" {
			c.problem(r, ColConsultant, "a team-level row has no consultant (leave consultant_code blank)")
		}
	case Consultant:
		if out.Team == "" {
			c.problem(r, ColTeam, "a consultant-level row needs the consultant's team in this provider")
		}
		if out.Consultant == "" {
			c.problem(r, ColConsultant, "a consultant-level row needs the consultant's registration number")
		}
	default:
		c.problem(r, ColLevel, "level %q is not one of hospital, team, consultant", out.Level)
	}
	out.Measure = text(ColMeasure)
	m, known := c.def.Measure(out.Measure)
	if !known {
		ids := make([]string, len(c.def.Measures))
		for i, m := range c.def.Measures {
			ids[i] = m.ID
		}
		c.problem(r, ColMeasure, "measure %q is not defined by the audit (its measures are %s)", out.Measure, strings.Join(ids, ", "))
	}
	var okCases, okObserved bool
	out.Cases, okCases = c.count(r, ColCases, "the number of cases")
	out.Observed, okObserved = c.count(r, ColObserved, "the number of observed events")
	if okCases && okObserved && out.Cases != nil && out.Observed != nil && *out.Observed > *out.Cases {
		c.problem(r, ColObserved, "observed events (%d) are more than the cases (%d)", *out.Observed, *out.Cases)
	}
	if e, suppressed := c.cell(r, ColExpected); !suppressed {
		if e == "" {
			if known && m.Statistic == Ratio {
				c.problem(r, ColExpected, "measure %s is a ratio of observed to expected events, so expected events are required", m.ID)
			}
		} else if f, err := strconv.ParseFloat(e, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			c.problem(r, ColExpected, "expected events %q is not a number", e)
		} else if f < 0 {
			c.problem(r, ColExpected, "expected events are negative (%s)", e)
		} else if f == 0 {
			c.problem(r, ColExpected, "expected events of zero: a risk model gives every case some risk, and observed ÷ expected cannot be computed (leave blank when the audit has no risk model)")
		} else if okCases && out.Cases != nil && f > float64(*out.Cases) {
			c.problem(r, ColExpected, "expected events (%s) are more than the cases (%d)", e, *out.Cases)
		} else {
			out.Expected = &f
		}
	}
	if len(c.problems) == before {
		var key, what string
		switch out.Level {
		case Hospital:
			key = strings.Join([]string{out.Period, out.Measure, "h", out.Provider}, "\x00")
			what = fmt.Sprintf("hospital %s", out.Provider)
		case Team:
			key = strings.Join([]string{out.Period, out.Measure, "t", out.Provider, out.Team}, "\x00")
			what = fmt.Sprintf("team %s at %s", out.Team, out.Provider)
		case Consultant:
			key = strings.Join([]string{out.Period, out.Measure, "c", out.Team, out.Consultant}, "\x00")
			what = fmt.Sprintf("consultant %s in team %s", out.Consultant, out.Team)
		}
		if first, dup := c.seen[key]; dup {
			col := map[Level]string{Hospital: ColProvider, Team: ColTeam, Consultant: ColConsultant}[out.Level]
			c.problem(r, col, "%s is listed twice for period %s and measure %s (first at row %d)", what, out.Period, out.Measure, first)
		} else {
			c.seen[key] = r.Record
		}
	}
	return out, len(c.problems) == before
}
