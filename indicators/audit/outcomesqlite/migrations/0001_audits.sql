-- Clinical audit definitions, funnels and unit outcomes, tagged with the
-- release they come from. Public reads filter by the visible-release set.

CREATE TABLE audit_releases (
    release_id INTEGER PRIMARY KEY,
    audit      TEXT NOT NULL,
    dataset    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL, -- JSON
    funnels    TEXT NOT NULL  -- JSON
);
CREATE INDEX audit_releases_by_audit ON audit_releases (audit, release_id);

-- One row per unit, measure and period. The columns a query selects on
-- are columns; the rest of the outcome is JSON.
CREATE TABLE audit_outcomes (
    release_id INTEGER NOT NULL,
    audit      TEXT NOT NULL,
    measure    TEXT NOT NULL,
    period     TEXT NOT NULL,
    level      TEXT NOT NULL,
    provider   TEXT NOT NULL,
    team       TEXT NOT NULL,
    code       TEXT NOT NULL,
    status     TEXT NOT NULL,
    outcome    TEXT NOT NULL, -- JSON
    PRIMARY KEY (release_id, measure, period, level, provider, team, code)
) WITHOUT ROWID;
CREATE INDEX audit_outcomes_by_code ON audit_outcomes (code, level);
CREATE INDEX audit_outcomes_by_provider ON audit_outcomes (provider, release_id);
