// Package audit owns clinical audit outcomes: an audit's definition (name,
// clinical area, audit body, period, methodology, outcome measures with
// their funnel method and conventions), the outcomes file format and its
// checks, and each unit's result — a hospital, a clinical team or a
// consultant at one provider — placed on a funnel plot with limits at 95%
// ("alert") and 99.8% ("alarm"), adjusted for overdispersion where the
// measure declares it (statistics.md B1–B3). It also generates the demo's
// synthetic audit, deterministically from a seed, with fictional hospitals
// that cannot be mistaken for real ones and five planted high-outcome
// hospitals, so the funnel statistics have something real to find.
//
// # Decisions
//
//   - A measure is either a crude proportion (observed ÷ cases, always
//     labelled "not risk-adjusted") or a ratio of observed to expected
//     events from the audit's risk model, shown also as a risk-adjusted
//     rate (the ratio times the national crude rate). A risk-adjusted
//     proportion with binomial limits around the national rate would treat
//     the risk model's expected events as if they were cases; the O/E
//     funnel is the standard form (SHMI, NICOR).
//   - The limit method, the interpolation convention for exact limits and
//     the on-limit convention are declared per measure in the definition,
//     which ships with the release: switching them is a change of
//     configuration, and the classification a panel approved is the one
//     the public sees (it is computed at submission, not at request).
//   - Overdispersion: a multiplicative φ widens normal limits, an additive
//     τ² (DerSimonian–Laird) widens arcsine (proportions) or log-scale
//     (ratios) limits; exact limits take no adjustment. Each funnel (a
//     measure's units at one level in one period) has its own estimate,
//     from the classified units only, and the adjustment applies only when
//     the units are overdispersed (I·φ > I − 1), with φ at least 1.
//   - A unit with fewer cases than the audit's minimum, or whose counts
//     disclosure control suppressed, is listed without a rate and never
//     classified; a suppressed unit's expected count is not shown either.
//
// # What it must not do
//
// It never decides what is public: its store reads only the releases its
// caller says are visible. It never links synthetic units to real
// organisations.
package audit
