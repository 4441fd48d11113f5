-- Clinical audit definitions, funnels and unit outcomes, one partition per
-- release: rewriting or removing a release's audit drops its partitions
-- (synchronous), so a retried publication keeps one copy. The columns a
-- query selects on are columns; the rest of an outcome is JSON.
CREATE TABLE IF NOT EXISTS audit_releases (
    release_id UInt64,
    audit      String,
    dataset    String,
    version    Int64,
    definition String,
    funnels    String
) ENGINE = MergeTree() PARTITION BY release_id ORDER BY audit;

CREATE TABLE IF NOT EXISTS audit_outcomes (
    release_id UInt64,
    audit      String,
    measure    String,
    period     String,
    level      String,
    provider   String,
    team       String,
    code       String,
    status     String,
    outcome    String
) ENGINE = MergeTree() PARTITION BY release_id ORDER BY (audit, measure, period, level, provider, team, code);
