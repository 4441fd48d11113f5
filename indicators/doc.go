// Package indicators will own indicator definitions, observations and the
// statistics computed from them: confidence intervals (Wilson, exact Poisson
// and Byar's), benchmark comparisons through polarity, quintiles, trends,
// composites, funnel limits and overdispersion, provider scorecards, and
// clinical audit measures and their outcomes per unit.
//
// The foundation declares the package so the layout and its import rule
// (indicators may import datasets, nothing else of Candour) are fixed from
// the start; the indicators issue fills it. It holds no code yet.
//
// It must never decide which releases are public: observations are
// materialised at publication from the public version of a release, and
// every public read takes the visible-release set from its caller.
package indicators
