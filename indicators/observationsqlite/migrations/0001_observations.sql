-- Indicator definitions and observations, tagged with the release they
-- come from. Public reads filter by the visible-release set.

CREATE TABLE indicator_definitions (
    release_id INTEGER NOT NULL,
    id         TEXT NOT NULL,
    definition TEXT NOT NULL, -- JSON
    PRIMARY KEY (release_id, id)
);

CREATE TABLE observations (
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
    PRIMARY KEY (release_id, indicator, organisation)
);
CREATE INDEX observations_by_organisation ON observations (organisation, indicator, period_start);
CREATE INDEX observations_by_indicator ON observations (indicator, release_id);
