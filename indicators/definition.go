package indicators

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Unit is what an indicator's value measures.
type Unit string

// Units.
const (
	UnitPercentage Unit = "percentage" // numerator / denominator × 100
	UnitRate       Unit = "rate"       // per PerN of the denominator
	UnitRatio      Unit = "ratio"      // observed / expected
	UnitScore      Unit = "score"      // a published score, such as an adjusted health gain
	UnitCategory   Unit = "category"   // a rating, such as CQC's
)

// Polarity says which direction is better.
type Polarity string

// Polarities.
const (
	HigherIsBetter Polarity = "higher-is-better"
	LowerIsBetter  Polarity = "lower-is-better"
	NoJudgement    Polarity = "no-judgement"
)

// Method is how an indicator's value and confidence interval are computed.
type Method string

// Methods.
const (
	MethodWilson   Method = "wilson"    // proportion with a Wilson score interval
	MethodPoisson  Method = "poisson"   // rate: exact Poisson below 10 events, Byar's from 10
	MethodDSR      Method = "dsr"       // directly standardised rate, Dobson, ESP2013
	MethodOERatio  Method = "oe-ratio"  // observed / expected with Byar's or exact Poisson limits
	MethodMeanSD   Method = "mean-sd"   // mean with a standard deviation and n
	MethodCategory Method = "category"  // a category, no interval
	MethodAsGiven  Method = "published" // the value (and limits, when given) as published
)

var (
	units      = []Unit{UnitPercentage, UnitRate, UnitRatio, UnitScore, UnitCategory}
	polarities = []Polarity{HigherIsBetter, LowerIsBetter, NoJudgement}
	methods    = []Method{MethodWilson, MethodPoisson, MethodDSR, MethodOERatio, MethodMeanSD, MethodCategory, MethodAsGiven}
)

// Benchmark is what an indicator's values are compared with.
type Benchmark struct {
	// Kind is "england" (the value of the England row: a row whose
	// organisation field holds England's area code E92000001 or one of
	// EnglandValues, or the pooled value of all organisations when there
	// is none), "region" (the value of the row of the area whose code an
	// organisation's row holds in Field, such as its NHS England region,
	// else the pooled value of the organisations sharing it),
	// "peer-group" (the pooled value of the organisations that share the
	// value of Field, such as a trust type or rurality), "target"
	// (Value), or "none".
	Kind          string   `json:"kind"`
	Field         string   `json:"field,omitempty"`
	Value         *float64 `json:"value,omitempty"` // the target, in the indicator's unit
	Label         string   `json:"label,omitempty"` // e.g. "Constitutional standard 85%"
	EnglandValues []string `json:"englandValues,omitempty"`
	// Areas are further codes in the organisation field that name areas
	// (a region, an ICB) rather than organisations, when they are not
	// ONS (GSS) or NHS England region codes, which are recognised
	// anyway. Their rows are benchmarks, never organisations.
	Areas []string `json:"areas,omitempty"`
	// Notes are further reference points shown beside the benchmark, such
	// as a planning target.
	Notes []string `json:"notes,omitempty"`
}

// Definition is one indicator, shipped with a release beside its Table
// Schema. Field names refer to the release file's fields.
type Definition struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Description  string `json:"description"`  // plain language
	WhyItMatters string `json:"whyItMatters"` // plain language
	File         string `json:"file"`         // the release file it is computed from
	// Organisation is the field holding organisation codes.
	Organisation string `json:"organisation"`
	// Filter selects the rows that count: field → value.
	Filter      map[string]string `json:"filter,omitempty"`
	Numerator   string            `json:"numerator,omitempty"`
	Denominator string            `json:"denominator,omitempty"`
	// AgeBand and AgeBands are for a directly standardised rate: the field
	// holding each row's age band, and its values in the order of the
	// ESP2013 bands (0–4, 5–9, …, 90+), nineteen of them.
	AgeBand  string   `json:"ageBand,omitempty"`
	AgeBands []string `json:"ageBands,omitempty"`
	// Value is the field holding a published value (ratios, scores,
	// categories); Lower and Upper hold published limits when given.
	Value    string   `json:"value,omitempty"`
	Lower    string   `json:"lower,omitempty"`
	Upper    string   `json:"upper,omitempty"`
	Unit     Unit     `json:"unit"`
	PerN     float64  `json:"perN,omitempty"` // for rates, e.g. 100000
	Polarity Polarity `json:"polarity"`
	Method   Method   `json:"method"`
	// Categories lists a categorical indicator's values from best to
	// worst (for polarity) and is required for MethodCategory.
	Categories []string  `json:"categories,omitempty"`
	Benchmark  Benchmark `json:"benchmark"`
	// MinimumToShow and MinimumToCompare are the smallest denominators
	// (or expected counts) for which a value is shown, and compared with
	// the benchmark.
	MinimumToShow    float64 `json:"minimumToShow,omitempty"`
	MinimumToCompare float64 `json:"minimumToCompare,omitempty"`
	// OverlappingPeriods marks indicators whose periods overlap (rolling
	// twelve months): no trend can be calculated from them.
	OverlappingPeriods bool   `json:"overlappingPeriods,omitempty"`
	AuthoredBy         string `json:"authoredBy"`
	CheckedBy          string `json:"checkedBy"`
	NextReview         string `json:"nextReview,omitempty"` // YYYY-MM
	// Headline marks one of the few measures a scorecard leads with.
	Headline bool `json:"headline,omitempty"`
	// Verdict declares how organisations are compared: the one verdict
	// every surface shows. Left out, it is the 95% interval against the
	// benchmark (the Fingertips way).
	Verdict Verdict `json:"verdict,omitzero"`
	// Breakdowns are the fields its values can be broken down by:
	// deprivation, age band, sex (breakdown.go).
	Breakdowns []Breakdown `json:"breakdowns,omitempty"`
}

// VerdictMethod is how an indicator's verdict is reached.
type VerdictMethod string

// Verdict methods: a confidence interval against the benchmark value
// (Fingertips: better, similar, worse), or funnel control limits around
// the target (the SHMI: higher than expected, as expected, lower than
// expected).
const (
	VerdictInterval VerdictMethod = "interval"
	VerdictFunnel   VerdictMethod = "funnel"
)

// Verdict declares an indicator's one way of comparing organisations.
type Verdict struct {
	Method VerdictMethod `json:"method,omitempty"`
	// Level is the confidence or control level that decides, 95 or 99.8
	// (default 95).
	Level float64 `json:"level,omitempty"`
	// Limits are a funnel's control limits: for observed/expected ratios
	// "log-scale" (the SHMI), "normal", "exact-poisson" or "chi-square";
	// for proportions "normal", "exact-binomial" or "arcsine".
	Limits string `json:"limits,omitempty"`
	// Overdispersion is how a funnel allows for variation between
	// organisations beyond chance: "none", "additive" (a random-effects
	// τ², with log-scale or arcsine limits) or "multiplicative" (φ, with
	// normal limits).
	Overdispersion string `json:"overdispersion,omitempty"`
	// Trim keeps outlying organisations from inflating the estimate:
	// "truncate" (NHS Digital's SHMI: leave out the most extreme share at
	// each end), "winsorise" (Spiegelhalter: pull them in) or "none";
	// TrimBy is that share (default 0.1).
	Trim   string  `json:"trim,omitempty"`
	TrimBy float64 `json:"trimBy,omitempty"`
	// AlsoShow names the other comparison shown beside the verdict, for
	// information ("interval" or "funnel"); Why says why the verdict's
	// method is the one that decides. Why is required with AlsoShow.
	AlsoShow VerdictMethod `json:"alsoShow,omitempty"`
	Why      string        `json:"why,omitempty"`
}

// Decides returns the verdict's method, interval when none is declared.
func (v Verdict) Decides() VerdictMethod {
	if v.Method == "" {
		return VerdictInterval
	}
	return v.Method
}

// Conf is the verdict's level as a probability: 0.95 or 0.998.
func (v Verdict) Conf() float64 {
	if v.Level == 99.8 {
		return 0.998
	}
	return 0.95
}

// HasFunnel says whether the indicator's organisations are placed on a
// funnel plot, as the verdict or beside it.
func (v Verdict) HasFunnel() bool {
	return v.Decides() == VerdictFunnel || v.AlsoShow == VerdictFunnel
}

var (
	ratioFunnelLimits      = []string{"log-scale", "normal", "exact-poisson", "chi-square"}
	proportionFunnelLimits = []string{"normal", "exact-binomial", "arcsine"}
	overdispersionFor      = map[string]string{"log-scale": "additive", "arcsine": "additive", "normal": "multiplicative"}
)

// validate checks a verdict against its indicator's method.
func (v Verdict) validate(d Definition) error {
	switch v.Decides() {
	case VerdictInterval, VerdictFunnel:
	default:
		return invalid(d.ID, "verdict.method", "%q: choose interval or funnel", v.Method)
	}
	if v.Level != 0 && v.Level != 95 && v.Level != 99.8 {
		return invalid(d.ID, "verdict.level", "%v: choose 95 or 99.8", v.Level)
	}
	switch v.AlsoShow {
	case "":
	case VerdictInterval, VerdictFunnel:
		if v.AlsoShow == v.Decides() {
			return invalid(d.ID, "verdict.alsoShow", "%q is already the verdict's method", v.AlsoShow)
		}
		if strings.TrimSpace(v.Why) == "" {
			return invalid(d.ID, "verdict.why", "required with alsoShow: say why %s decides the verdict and %s is shown only beside it", v.Decides(), v.AlsoShow)
		}
	default:
		return invalid(d.ID, "verdict.alsoShow", "%q: choose interval or funnel", v.AlsoShow)
	}
	if !v.HasFunnel() {
		if v.Limits != "" || v.Overdispersion != "" || v.Trim != "" {
			return invalid(d.ID, "verdict.limits", "limits, overdispersion and trim describe a funnel, but the verdict uses none")
		}
		return nil
	}
	var allowed []string
	switch d.Method {
	case MethodOERatio:
		allowed = ratioFunnelLimits
	case MethodWilson:
		allowed = proportionFunnelLimits
	default:
		return invalid(d.ID, "verdict.method", "a funnel needs observed/expected ratios (oe-ratio) or proportions (wilson), not %s", d.Method)
	}
	if !slices.Contains(allowed, v.Limits) {
		return invalid(d.ID, "verdict.limits", "%q: for the method %s choose one of %s", v.Limits, d.Method, strings.Join(allowed, ", "))
	}
	switch v.Overdispersion {
	case "", "none":
	case "additive", "multiplicative":
		if overdispersionFor[v.Limits] != v.Overdispersion {
			return invalid(d.ID, "verdict.overdispersion", "%s adjustment does not apply to %s limits (additive goes with log-scale or arcsine, multiplicative with normal)", v.Overdispersion, v.Limits)
		}
	default:
		return invalid(d.ID, "verdict.overdispersion", "%q: choose none, additive or multiplicative", v.Overdispersion)
	}
	switch v.Trim {
	case "", "none", "truncate", "winsorise":
	default:
		return invalid(d.ID, "verdict.trim", "%q: choose truncate, winsorise or none", v.Trim)
	}
	if v.TrimBy < 0 || v.TrimBy >= 0.5 {
		return invalid(d.ID, "verdict.trimBy", "%v: a share at each end, from 0 to below 0.5", v.TrimBy)
	}
	if d.Method == MethodWilson && d.Benchmark.Kind != "england" && d.Benchmark.Kind != "target" {
		return invalid(d.ID, "benchmark.kind", "a funnel for proportions is centred on the England value or a target: choose england or target")
	}
	return nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ErrInvalid marks a definition that breaks a rule; the message names
// the indicator and field.
var ErrInvalid = errors.New("invalid indicator definition")

func invalid(id, field, format string, args ...any) error {
	if id == "" {
		id = "(no id)"
	}
	return fmt.Errorf("%w: indicator %s: %s: %s", ErrInvalid, id, field, fmt.Sprintf(format, args...))
}

// Validate checks a definition against the fields of the file it is
// computed from (names, a field's presence); fields may be nil to check
// the definition alone.
func (d Definition) Validate(fields []string) error {
	if !idPattern.MatchString(d.ID) {
		return invalid(d.ID, "id", "%q must be 2–63 lower-case letters, digits and hyphens", d.ID)
	}
	if strings.TrimSpace(d.Title) == "" {
		return invalid(d.ID, "title", "required")
	}
	if strings.TrimSpace(d.Description) == "" {
		return invalid(d.ID, "description", "required: say in plain language what it measures")
	}
	if !slices.Contains(units, d.Unit) {
		return invalid(d.ID, "unit", "%q: choose one of %s", d.Unit, list(units))
	}
	if d.Polarity == "" {
		return invalid(d.ID, "polarity", "required: %s", list(polarities))
	}
	if !slices.Contains(polarities, d.Polarity) {
		return invalid(d.ID, "polarity", "%q: choose one of %s", d.Polarity, list(polarities))
	}
	if !slices.Contains(methods, d.Method) {
		return invalid(d.ID, "method", "%q is not a known method: choose one of %s", d.Method, list(methods))
	}
	if d.Organisation == "" {
		return invalid(d.ID, "organisation", "required: the field holding organisation codes")
	}
	needs := map[Method][]struct{ field, value string }{
		MethodWilson:   {{"numerator", d.Numerator}, {"denominator", d.Denominator}},
		MethodPoisson:  {{"numerator", d.Numerator}, {"denominator", d.Denominator}},
		MethodOERatio:  {{"numerator", d.Numerator}, {"denominator", d.Denominator}},
		MethodMeanSD:   {{"value", d.Value}, {"denominator", d.Denominator}, {"lower", d.Lower}},
		MethodCategory: {{"value", d.Value}},
		MethodAsGiven:  {{"value", d.Value}},
		MethodDSR:      {{"numerator", d.Numerator}, {"denominator", d.Denominator}},
	}
	for _, n := range needs[d.Method] {
		if n.value == "" {
			return invalid(d.ID, n.field, "required by the method %s", d.Method)
		}
	}
	if d.Method == MethodDSR && (d.AgeBand == "" || len(d.AgeBands) != len(ESP2013)) {
		return invalid(d.ID, "ageBands", "a directly standardised rate needs ageBand and the %d ESP2013 age bands in order", len(ESP2013))
	}
	if d.Method == MethodCategory && len(d.Categories) == 0 {
		return invalid(d.ID, "categories", "required by the method category: list the values from best to worst")
	}
	if d.Unit == UnitRate && d.PerN <= 0 {
		return invalid(d.ID, "perN", "required for a rate, e.g. 100000")
	}
	switch d.Benchmark.Kind {
	case "peer-group", "region":
		if d.Benchmark.Field == "" {
			return invalid(d.ID, "benchmark.field", "required for a %s benchmark: the field whose value forms the group", d.Benchmark.Kind)
		}
	case "england", "none", "":
	case "target":
		if d.Benchmark.Value == nil {
			return invalid(d.ID, "benchmark.value", "required for a target")
		}
	default:
		return invalid(d.ID, "benchmark.kind", "%q: choose england, region, peer-group, target or none", d.Benchmark.Kind)
	}
	if err := d.Verdict.validate(d); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, b := range d.Breakdowns {
		if err := b.validate(d, seen); err != nil {
			return err
		}
	}
	if strings.TrimSpace(d.AuthoredBy) == "" || strings.TrimSpace(d.CheckedBy) == "" {
		return invalid(d.ID, "authoredBy", "authoredBy and checkedBy are required: who wrote the definition, and who checked it")
	}
	if fields != nil {
		named := map[string]string{"organisation": d.Organisation, "numerator": d.Numerator, "denominator": d.Denominator,
			"value": d.Value, "lower": d.Lower, "upper": d.Upper, "ageBand": d.AgeBand, "benchmark.field": d.Benchmark.Field}
		for _, k := range []string{"organisation", "numerator", "denominator", "value", "lower", "upper", "ageBand", "benchmark.field"} {
			if v := named[k]; v != "" && !slices.Contains(fields, v) {
				return invalid(d.ID, k, "the file %s has no field %q", d.File, v)
			}
		}
		for _, b := range d.Breakdowns {
			if !slices.Contains(fields, b.Field) {
				return invalid(d.ID, "breakdowns."+b.ID+".field", "the file %s has no field %q", d.File, b.Field)
			}
		}
		for f := range d.Filter {
			if !slices.Contains(fields, f) {
				return invalid(d.ID, "filter", "the file %s has no field %q", d.File, f)
			}
		}
	}
	return nil
}

func list[T ~string](xs []T) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return strings.Join(out, ", ")
}

// ParseDefinitions reads a JSON array of definitions (an indicator file),
// refusing unknown properties, and checks each (without a file's fields).
func ParseDefinitions(data []byte) ([]Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var defs []Definition
	if err := dec.Decode(&defs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	seen := map[string]bool{}
	for _, d := range defs {
		if err := d.Validate(nil); err != nil {
			return nil, err
		}
		if seen[d.ID] {
			return nil, invalid(d.ID, "id", "appears twice")
		}
		seen[d.ID] = true
	}
	return defs, nil
}
