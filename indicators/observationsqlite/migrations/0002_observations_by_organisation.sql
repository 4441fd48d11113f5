-- Keep each organisation's observations together on disk (a table
-- clustered on organisation, indicator, release) so that a scorecard is
-- one contiguous range read, however large the store grows.

CREATE TABLE observations_clustered (
    release_id   INTEGER NOT NULL,
    indicator    TEXT NOT NULL,
    organisation TEXT NOT NULL,
    period       TEXT NOT NULL,
    period_start TEXT NOT NULL DEFAULT '',
    numerator    REAL,
    denominator  REAL,
    value        REAL,
    category     TEXT NOT NULL DEFAULT '',
    lower95      REAL,
    upper95      REAL,
    lower998     REAL,
    upper998     REAL,
    benchmark    REAL,
    comparison   TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    quintile     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (organisation, indicator, release_id)
) WITHOUT ROWID;

INSERT INTO observations_clustered SELECT release_id, indicator, organisation, period, period_start, numerator, denominator,
    value, category, lower95, upper95, lower998, upper998, benchmark, comparison, reason, quintile FROM observations;
DROP TABLE observations;
ALTER TABLE observations_clustered RENAME TO observations;
CREATE INDEX observations_by_indicator ON observations (indicator, release_id);
CREATE INDEX observations_by_release ON observations (release_id);
