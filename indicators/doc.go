// Package indicators owns indicator definitions, their observations and
// the statistics computed from them, and provider scorecards.
//
//   - [Definition]: an indicator shipped with a release beside its Table
//     Schema (an indicator file, JSON): numerator and denominator or value
//     fields, unit, polarity, method, benchmark, the smallest numbers shown
//     and compared, and who wrote and checked it. [ParseDefinitions] and
//     [Definition.Validate] name the field at fault.
//   - [Compute]: observations (organisation × indicator × period → value,
//     95% and 99.8% limits, the verdict, quintile, funnel position and
//     limits, and the reason when a value is not shown or not compared)
//     and a [Summary] per indicator (period, funnel fit, benchmark rows),
//     computed from the PUBLIC version of a release's files at submission
//     and stored tagged with the release, so pages read only what was
//     computed then.
//   - One verdict per indicator (funnel.go): the definition's [Verdict]
//     declares how organisations are compared — the interval against the
//     benchmark (Fingertips) or funnel control limits with their
//     overdispersion handling (the SHMI) — and that one comparison is
//     stored as Observation.Comparison, which every surface shows. The
//     other, when asked for, is Observation.Beside, labelled as not the
//     verdict.
//   - Benchmark rows are areas, not organisations: England (E92000001 or
//     declared values), regions and other ONS/ODS area codes
//     (datasets.AreaLevel) and declared areas become the Summary's Areas
//     and serve as the England or regional benchmark.
//   - Period order (read.go): series are ordered by the period they cover,
//     never by submission; recent trends and the latest period are
//     derived from the visible series when read ([BuildScorecard],
//     [ReadIndicator], [ReadSeries]), so a late release for an earlier
//     period changes every surface at the instant it becomes visible.
//   - The methods (stats.go, trend.go) follow PHE's indicator toolkit
//     (statistics.md B4): Wilson score intervals for proportions; exact
//     Poisson limits below 10 events and Byar's from 10 for counts, rates
//     and observed/expected ratios (SMR, ISR); Dobson's DSR with ESP2013
//     weights, withheld below 10 events; an interval for means from
//     the standard deviation and n using Student's t on n − 1 degrees of
//     freedom as phe_mean does; comparison of the 95% interval with the
//     benchmark value through polarity; PHE quantiles with ties at the
//     minimum rank; recent trends over the five latest non-overlapping
//     periods (χ² > 9.5495) with the leave-one-out check: for
//     proportions the chi-square test for trend in proportions over the
//     numerators and denominators (as R's prop.trend.test; reference
//     values in testdata), for other methods a weighted least-squares
//     slope. Exact Poisson, exact binomial and chi-square limits are
//     computed from regularised incomplete gamma and beta functions
//     (gonum) with bounded searches, correct from E = 0.1 to 10⁶ and n up
//     to 10⁷ against R (testdata/limits-reference.*). For ratios, Spiegelhalter's funnel limits
//     (normal, log-scale, exact Poisson with interpolation, without the
//     +1/n variant) and DerSimonian–Laird overdispersion on the log scale
//     with optional 10% winsorising, and FunnelPlotR's chi-square "CI"
//     form; for proportions, normal (equal to PHE's Wilson inversion),
//     exact binomial with interpolation and arcsine limits; units are
//     classified within / alert / alarm with strict comparisons, so a
//     unit exactly on a limit is within it (B1). Composites normalise by sample
//     z-score or min-max, flip lower-is-better indicators and weight
//     equally unless told otherwise (B5). statistics.md's vectors TV-1 to
//     TV-10, TV-12 to TV-15, TV-23 and TV-25 are tests.
//   - Local areas (areas.go): [ReadArea] gives a region's or an
//     integrated care board's value of each indicator from its
//     organisations' numerators and denominators (never by averaging
//     rates), with the indicator's own interval method and verdict
//     against England; if any of the area's organisations has a
//     suppressed or missing figure the area has no value (never counted
//     as zero). The area page, its twin and its local pack all read it.
//   - Breakdowns (breakdown.go): where a definition declares a field
//     holding a deprivation quintile or decile, an age band or sex,
//     Compute also gives the indicator's value for each group (its
//     organisations pooled, suppressed ones left out and counted, never
//     zero), with the same interval method and benchmark, and for
//     deprivation the gap between the most and least deprived groups;
//     they are stored in the Summary, so every surface reads one result.
//   - [BuildScorecard]: an organisation's indicators, latest period first,
//     with the series behind each.
//   - Pages read what they show: a series they only draw, count or take a
//     trend from is read as [Point]s (period, value, counts, 95% limits),
//     and whole observations only for the latest period ([BuildScorecard],
//     [ReadIndicatorWhere], which also reads only the organisations a
//     filter keeps). The trend is computed from points, one computation
//     for every surface.
//   - [ObservationStore]: the storage interface; observationsqlite
//     implements it and observationstest is the contract suite.
//
// # What it must not do
//
// It imports only package datasets of Candour. It never decides which
// releases are public: every read takes the visible-release set from its
// caller, who got it from the catalogue's published view; and it never
// reads a release's original (pre-disclosure) file.
package indicators
