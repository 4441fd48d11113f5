// Package indicators owns indicator definitions, their observations and
// the statistics computed from them, and provider scorecards.
//
//   - [Definition]: an indicator shipped with a release beside its Table
//     Schema (an indicator file, JSON): numerator and denominator or value
//     fields, unit, polarity, method, benchmark, the smallest numbers shown
//     and compared, and who wrote and checked it. [ParseDefinitions] and
//     [Definition.Validate] name the field at fault.
//   - [Compute]: observations (organisation × indicator × period → value,
//     95% and 99.8% limits, comparison with the benchmark through polarity,
//     quintile, and the reason when a value is not shown or not compared),
//     computed from the PUBLIC version of a release's files at submission
//     and stored tagged with the release, so pages read only what was
//     computed then.
//   - The methods follow PHE's indicator toolkit (statistics.md B4): Wilson
//     score intervals for proportions; exact Poisson limits below 10 events
//     and Byar's from 10 for rates and observed/expected ratios; a normal
//     interval for means from the standard deviation and n; comparison of
//     the 95% interval with the benchmark value (entirely above or below is
//     significant); PHE quintiles with ties at the minimum rank.
//   - [BuildScorecard]: an organisation's indicators, latest period first,
//     with the series behind each.
//   - [ObservationStore]: the storage interface; observationsqlite
//     implements it and observationstest is the contract suite.
//
// Not yet here (the rest of the indicators issue): recent trend markers,
// DSR, funnel limits and overdispersion, composites, charts.
//
// # What it must not do
//
// It imports only package datasets of Candour. It never decides which
// releases are public: every read takes the visible-release set from its
// caller, who got it from the catalogue's published view; and it never
// reads a release's original (pre-disclosure) file.
package indicators
