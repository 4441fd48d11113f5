-- Observations, one partition per release: replacing or removing a
-- release's observations drops its partition (synchronous, unlike ALTER
-- DELETE, which 18.16 runs as a background mutation), so a publication
-- retried after a failure never leaves two copies. Within a partition rows
-- are ordered by what pages look up: an indicator's page reads one
-- indicator, a scorecard one organisation across the few indicators.
CREATE TABLE IF NOT EXISTS observations (
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
) ENGINE = MergeTree() PARTITION BY release_id ORDER BY (indicator, organisation, period_start);

CREATE TABLE IF NOT EXISTS indicator_definitions (
    release_id UInt64,
    id         String,
    definition String
) ENGINE = MergeTree() PARTITION BY release_id ORDER BY id;

CREATE TABLE IF NOT EXISTS indicator_summaries (
    release_id   UInt64,
    indicator    String,
    period       String,
    period_start String,
    summary      String
) ENGINE = MergeTree() PARTITION BY release_id ORDER BY (indicator, period_start);
