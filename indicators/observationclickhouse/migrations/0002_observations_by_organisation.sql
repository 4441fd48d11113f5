-- A second copy of the observations ordered by organisation, for
-- scorecards. observations is ordered by indicator first, and 18.16 cannot
-- skip granules on its second key column alone (it has no projections
-- either), so a scorecard read every granule of every visible release:
-- about 10 million rows per page at 7,000 organisations × 150 indicators ×
-- 10 periods. An organisation has a few hundred rows in a release, so
-- granules are 256 rows rather than 8,192: a scorecard's read of ten
-- releases took 35 ms with 8,192 and 14 ms with 256 on that benchmark (and
-- its latest release 25 ms and 6 ms). The copy is filled by the
-- materialised view below, inside the same INSERT into observations, so
-- nothing writes it separately; a release's partition is dropped from both
-- tables together. Existing observations are copied once, after the view
-- exists, each release only if the copy holds none of it (so a migration
-- cut off part-way and run again copies nothing twice); migrations run at
-- start, before anything publishes.
CREATE TABLE IF NOT EXISTS observations_by_organisation (
    release_id      UInt64,
    indicator       String,
    organisation    String,
    period          String,
    period_start    String,
    numerator       Nullable(Float64),
    denominator     Nullable(Float64),
    value           Nullable(Float64),
    category        String,
    lower95         Nullable(Float64),
    upper95         Nullable(Float64),
    lower998        Nullable(Float64),
    upper998        Nullable(Float64),
    benchmark       Nullable(Float64),
    comparison      String,
    reason          String,
    quintile        Int64,
    dataset         String,
    version         Int64,
    funnel          String,
    funnel_lower95  Nullable(Float64),
    funnel_upper95  Nullable(Float64),
    funnel_lower998 Nullable(Float64),
    funnel_upper998 Nullable(Float64),
    beside          String
) ENGINE = MergeTree() PARTITION BY release_id ORDER BY (organisation, indicator, period_start)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS observations_by_organisation_feed TO observations_by_organisation AS
SELECT release_id, indicator, organisation, period, period_start, numerator,
    denominator, value, category, lower95, upper95, lower998, upper998, benchmark, comparison, reason, quintile,
    dataset, version, funnel, funnel_lower95, funnel_upper95, funnel_lower998, funnel_upper998, beside FROM observations;

INSERT INTO observations_by_organisation SELECT release_id, indicator, organisation, period, period_start, numerator,
    denominator, value, category, lower95, upper95, lower998, upper998, benchmark, comparison, reason, quintile,
    dataset, version, funnel, funnel_lower95, funnel_upper95, funnel_lower998, funnel_upper998, beside FROM observations
WHERE release_id NOT IN (SELECT DISTINCT release_id FROM observations_by_organisation);
