-- Each organisation's points (what a series needs of an observation:
-- indicator, period, period start, numerator, denominator, value and 95%
-- limits) packed per release as one JSON array ordered by indicator, so
-- that a scorecard reads a row per release rather than a row per
-- indicator and period (10 rows instead of 1,500 on the benchmark's
-- scorecards). WriteObservations keeps it in step with observations.
CREATE TABLE observation_points (
    organisation TEXT NOT NULL,
    release_id   INTEGER NOT NULL,
    points       TEXT NOT NULL, -- JSON: [[indicator, period, period_start, numerator, denominator, value, lower95, upper95], …]
    PRIMARY KEY (organisation, release_id)
) WITHOUT ROWID;
CREATE INDEX observation_points_by_release ON observation_points (release_id);

INSERT INTO observation_points (organisation, release_id, points)
SELECT organisation, release_id,
    json_group_array(json_array(indicator, period, period_start, numerator, denominator, value, lower95, upper95) ORDER BY indicator)
FROM observations GROUP BY organisation, release_id;
