package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/candour/candour/indicators"
)

// Statistic is what a measure plots on its funnel.
type Statistic string

// Statistics. A proportion is the crude rate observed ÷ cases, never
// risk-adjusted (and labelled so); a ratio is observed ÷ expected events
// from the audit's risk model, shown also as a risk-adjusted rate.
const (
	Proportion Statistic = "proportion"
	Ratio      Statistic = "ratio"
)

// LimitMethod is how a measure's funnel limits are drawn
// (statistics.md B1).
type LimitMethod string

// Limit methods. Proportions: normal approximation (also what PHE's
// Wilson inversion gives), exact binomial with interpolation, arcsine.
// Ratios: exact Poisson with interpolation, log scale (SHMI), normal, and
// the chi-square "exact CI" form.
const (
	LimitNormal        LimitMethod = "normal"
	LimitExactBinomial LimitMethod = "exact-binomial"
	LimitArcsine       LimitMethod = "arcsine"
	LimitExactPoisson  LimitMethod = "exact-poisson"
	LimitLogScale      LimitMethod = "log-scale"
	LimitChiSquare     LimitMethod = "chi-square"
)

// Interpolation is the convention for exact limits: Spiegelhalter's
// interpolated limit (r − α)/n, or the funnel4 variant whose upper limit
// is (r + 1 − α)/n, 1/n higher (statistics.md B1).
type Interpolation string

// Interpolation conventions.
const (
	Interpolated          Interpolation = "interpolated"
	InterpolatedUpperPlus Interpolation = "interpolated-upper-plus-one"
)

// OnLimit is the convention for a unit exactly on a limit: "within" (the
// comparison is strict, as FunnelPlotR and PHE do) or "outside".
type OnLimit string

// On-limit conventions.
const (
	OnLimitWithin  OnLimit = "within"
	OnLimitOutside OnLimit = "outside"
)

// Trim is how outlying z-scores are kept from inflating the overdispersion
// estimate.
type Trim string

// Trims: Spiegelhalter's winsorising, NHS Digital's truncation (SHMI), or
// none.
const (
	TrimNone      Trim = "none"
	TrimWinsorise Trim = "winsorise"
	TrimTruncate  Trim = "truncate"
)

// Adjustment is how overdispersion widens the limits.
type Adjustment string

// Adjustments: none, multiplicative φ (normal limits), additive τ²
// (DerSimonian–Laird random effects, on the arcsine or log scale).
const (
	AdjustNone           Adjustment = "none"
	AdjustMultiplicative Adjustment = "multiplicative"
	AdjustAdditive       Adjustment = "additive"
)

// OverdispersionSpec declares a measure's overdispersion handling.
type OverdispersionSpec struct {
	Adjustment Adjustment `json:"adjustment"`
	Trim       Trim       `json:"trim,omitempty"`
	// TrimBy is the share trimmed at each end (default 0.1).
	TrimBy float64 `json:"trimBy,omitempty"`
}

// Measure is one outcome measure of an audit.
type Measure struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"` // plain language
	// Outcome names the event counted, e.g. "death within 30 days".
	Outcome   string              `json:"outcome"`
	Statistic Statistic           `json:"statistic"`
	Polarity  indicators.Polarity `json:"polarity"`
	Limits    LimitMethod         `json:"limits"`
	Interp    Interpolation       `json:"interpolation,omitempty"`
	OnLimit   OnLimit             `json:"onLimit,omitempty"`
	Overdisp  OverdispersionSpec  `json:"overdispersion"`
	RiskModel string              `json:"riskModel,omitempty"` // what the expected events come from
}

// RiskAdjusted reports whether the measure uses the audit's risk model.
func (m Measure) RiskAdjusted() bool { return m.Statistic == Ratio }

// Definition describes a clinical audit. It ships with each release of the
// audit's dataset beside the outcomes file it describes.
type Definition struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ClinicalArea string `json:"clinicalArea"`
	AuditBody    string `json:"auditBody"`
	// Period is the period the release covers, in words.
	Period string `json:"period"`
	// Coverage says who and what is included.
	Coverage string `json:"coverage"`
	// Methodology is a Markdown page: the risk model, data collection,
	// case ascertainment, the outlier policy.
	Methodology string `json:"methodology"`
	// File is the release file holding the unit outcomes (the format in
	// file.go).
	File string `json:"file"`
	// MinCases is the smallest number of cases for which a unit's rate is
	// shown and classified; MinCasesReason says why, in words.
	MinCases       int    `json:"minCases"`
	MinCasesReason string `json:"minCasesReason"`
	// Synthetic marks generated demonstration data: labelled on every
	// page and in every download.
	Synthetic bool      `json:"synthetic,omitempty"`
	Measures  []Measure `json:"measures"`
}

// Measure returns the measure with the id.
func (d Definition) Measure(id string) (Measure, bool) {
	i := slices.IndexFunc(d.Measures, func(m Measure) bool { return m.ID == id })
	if i < 0 {
		return Measure{}, false
	}
	return d.Measures[i], true
}

// ErrInvalid marks a definition that breaks a rule; the message names the
// field.
var ErrInvalid = errors.New("invalid audit definition")

// FieldError is a problem with one field of a definition.
type FieldError struct {
	Field   string // e.g. "measures[1].limits"
	Message string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("audit definition: %s: %s", e.Field, e.Message)
}
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Which limit methods suit which statistic, and which adjustment each
// allows.
var (
	methodsFor = map[Statistic][]LimitMethod{
		Proportion: {LimitNormal, LimitExactBinomial, LimitArcsine},
		Ratio:      {LimitExactPoisson, LimitLogScale, LimitNormal, LimitChiSquare},
	}
	adjustmentFor = map[LimitMethod]Adjustment{
		LimitNormal: AdjustMultiplicative, LimitArcsine: AdjustAdditive, LimitLogScale: AdjustAdditive,
	}
)

// Validate checks a definition on its own, filling in the defaults of
// optional conventions.
func (d *Definition) Validate() error {
	if !idPattern.MatchString(d.ID) {
		return fieldErr("id", "%q must be 2–63 lower-case letters, digits and hyphens", d.ID)
	}
	for _, f := range []struct{ name, value string }{
		{"name", d.Name}, {"clinicalArea", d.ClinicalArea}, {"auditBody", d.AuditBody}, {"period", d.Period},
		{"coverage", d.Coverage}, {"methodology", d.Methodology}, {"file", d.File},
	} {
		if strings.TrimSpace(f.value) == "" {
			return fieldErr(f.name, "required")
		}
	}
	if d.MinCases < 1 {
		return fieldErr("minCases", "must be at least 1 (got %d): a unit with no cases cannot be classified", d.MinCases)
	}
	if strings.TrimSpace(d.MinCasesReason) == "" {
		return fieldErr("minCasesReason", "say why units below %d cases are not shown", d.MinCases)
	}
	if len(d.Measures) == 0 {
		return fieldErr("measures", "an audit needs at least one outcome measure")
	}
	seen := map[string]bool{}
	for i := range d.Measures {
		m := &d.Measures[i]
		field := fmt.Sprintf("measures[%d]", i)
		if !idPattern.MatchString(m.ID) {
			return fieldErr(field+".id", "%q must be 2–63 lower-case letters, digits and hyphens", m.ID)
		}
		if seen[m.ID] {
			return fieldErr(field+".id", "%q appears twice", m.ID)
		}
		seen[m.ID] = true
		if strings.TrimSpace(m.Title) == "" {
			return fieldErr(field+".title", "required")
		}
		if strings.TrimSpace(m.Outcome) == "" {
			return fieldErr(field+".outcome", "name the event counted, such as \"death within 30 days\"")
		}
		methods, ok := methodsFor[m.Statistic]
		if !ok {
			return fieldErr(field+".statistic", "%q is not one of proportion, ratio", m.Statistic)
		}
		if !slices.Contains([]indicators.Polarity{indicators.HigherIsBetter, indicators.LowerIsBetter, indicators.NoJudgement}, m.Polarity) {
			return fieldErr(field+".polarity", "%q is not one of higher-is-better, lower-is-better, no-judgement", m.Polarity)
		}
		if !slices.Contains(methods, m.Limits) {
			return fieldErr(field+".limits", "%q is not a limit method for a %s; use one of %s", m.Limits, m.Statistic, joinMethods(methods))
		}
		if m.Statistic == Ratio && strings.TrimSpace(m.RiskModel) == "" {
			return fieldErr(field+".riskModel", "a ratio of observed to expected events needs the risk model the expected events come from")
		}
		switch m.Interp {
		case "":
			m.Interp = Interpolated
		case Interpolated, InterpolatedUpperPlus:
		default:
			return fieldErr(field+".interpolation", "%q is not one of interpolated, interpolated-upper-plus-one", m.Interp)
		}
		if m.Interp == InterpolatedUpperPlus && m.Limits != LimitExactBinomial && m.Limits != LimitExactPoisson {
			return fieldErr(field+".interpolation", "the upper-plus-one convention applies only to exact limits, not %s", m.Limits)
		}
		switch m.OnLimit {
		case "":
			m.OnLimit = OnLimitWithin
		case OnLimitWithin, OnLimitOutside:
		default:
			return fieldErr(field+".onLimit", "%q is not one of within, outside", m.OnLimit)
		}
		od := &m.Overdisp
		if od.Adjustment == "" {
			od.Adjustment = AdjustNone
		}
		switch od.Adjustment {
		case AdjustNone:
			if od.Trim == "" {
				od.Trim = TrimNone
			}
		case AdjustMultiplicative, AdjustAdditive:
			if want := adjustmentFor[m.Limits]; want != od.Adjustment {
				if want == "" {
					return fieldErr(field+".overdispersion.adjustment", "%s limits cannot be adjusted for overdispersion; use normal limits (multiplicative) or %s limits (additive)",
						m.Limits, map[Statistic]string{Proportion: "arcsine", Ratio: "log-scale"}[m.Statistic])
				}
				return fieldErr(field+".overdispersion.adjustment", "%s limits take a %s adjustment, not %s", m.Limits, want, od.Adjustment)
			}
			if od.Trim == "" {
				od.Trim = TrimWinsorise
			}
		default:
			return fieldErr(field+".overdispersion.adjustment", "%q is not one of none, multiplicative, additive", od.Adjustment)
		}
		if !slices.Contains([]Trim{TrimNone, TrimWinsorise, TrimTruncate}, od.Trim) {
			return fieldErr(field+".overdispersion.trim", "%q is not one of none, winsorise, truncate", od.Trim)
		}
		if od.TrimBy == 0 && od.Trim != TrimNone {
			od.TrimBy = 0.1
		}
		if od.TrimBy < 0 || od.TrimBy >= 0.5 {
			return fieldErr(field+".overdispersion.trimBy", "%g must be at least 0 and below 0.5", od.TrimBy)
		}
	}
	return nil
}

func joinMethods(ms []LimitMethod) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// ParseDefinition reads and validates an audit definition (JSON; unknown
// fields are refused).
func ParseDefinition(data []byte) (Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	return d, nil
}

// Describe says in words how a measure's limits are drawn, for the page.
func (m Measure) Describe() string {
	var b strings.Builder
	switch m.Limits {
	case LimitNormal:
		if m.Statistic == Proportion {
			b.WriteString("Normal approximation to the binomial around the national rate (the same limits as PHE's Wilson inversion)")
		} else {
			b.WriteString("Normal approximation to the Poisson, 1 ± z·√(1/E)")
		}
	case LimitExactBinomial:
		b.WriteString("Exact binomial limits around the national rate, with Spiegelhalter's interpolation")
	case LimitArcsine:
		b.WriteString("Arcsine (variance-stabilised) limits around the national rate")
	case LimitExactPoisson:
		b.WriteString("Exact Poisson limits around 1, with Spiegelhalter's interpolation")
	case LimitLogScale:
		b.WriteString("Log-scale limits around 1, exp(±z·√(1/E))")
	case LimitChiSquare:
		b.WriteString("Chi-square \"exact confidence interval\" limits around 1 (a confidence-based, not prediction-based, limit)")
	}
	b.WriteString(", at 95% (alert, z = 1.96) and 99.8% (alarm, z = 3.09).")
	if m.Interp == InterpolatedUpperPlus {
		b.WriteString(" Upper limits use the (r + 1 − α)/n convention, 1/n above the interpolated limit.")
	}
	switch m.Overdisp.Adjustment {
	case AdjustMultiplicative:
		fmt.Fprintf(&b, " Limits are widened for overdispersion by a multiplicative factor φ estimated from %s z-scores (%.0f%% at each end).", m.Overdisp.Trim.past(), m.Overdisp.TrimBy*100)
	case AdjustAdditive:
		fmt.Fprintf(&b, " Limits are widened for overdispersion by an additive random effect τ² (DerSimonian–Laird) estimated from %s z-scores (%.0f%% at each end).", m.Overdisp.Trim.past(), m.Overdisp.TrimBy*100)
	default:
		b.WriteString(" No adjustment for overdispersion.")
	}
	if m.OnLimit == OnLimitWithin {
		b.WriteString(" A unit exactly on a limit counts as within it.")
	} else {
		b.WriteString(" A unit exactly on a limit counts as outside it.")
	}
	return b.String()
}

func (t Trim) past() string {
	switch t {
	case TrimWinsorise:
		return "winsorised"
	case TrimTruncate:
		return "truncated"
	}
	return "untrimmed"
}
