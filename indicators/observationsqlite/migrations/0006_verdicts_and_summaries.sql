-- One verdict per indicator: the funnel's control limits at each
-- organisation's size and the comparison shown beside the verdict are
-- stored with the observation. Recent trends are no longer stored: they
-- depend on which periods are published, so they are derived from the
-- visible series, in period order, when read.
ALTER TABLE observations ADD COLUMN funnel_lower95 REAL;
ALTER TABLE observations ADD COLUMN funnel_upper95 REAL;
ALTER TABLE observations ADD COLUMN funnel_lower998 REAL;
ALTER TABLE observations ADD COLUMN funnel_upper998 REAL;
ALTER TABLE observations ADD COLUMN beside TEXT NOT NULL DEFAULT '';
ALTER TABLE observations DROP COLUMN trend;
ALTER TABLE observations DROP COLUMN trend_reason;

-- What a release says of an indicator as a whole: its period (so the
-- latest period is found without reading observations), the funnel it
-- fitted and its benchmark rows (England, regions).
CREATE TABLE indicator_summaries (
    release_id   INTEGER NOT NULL,
    indicator    TEXT NOT NULL,
    period       TEXT NOT NULL,
    period_start TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL, -- JSON
    PRIMARY KEY (release_id, indicator)
);
CREATE INDEX indicator_summaries_by_period ON indicator_summaries (indicator, period_start, release_id);

-- Releases stored before summaries existed get one per indicator from
-- their observations (no funnel or benchmark rows: those are computed
-- at submission).
INSERT INTO indicator_summaries (release_id, indicator, period, period_start, summary)
SELECT release_id, indicator, MAX(period), MAX(period_start),
    json_object('Release', release_id, 'Indicator', indicator, 'Period', MAX(period), 'PeriodStart', MAX(period_start), 'Organisations', COUNT(*))
FROM observations GROUP BY release_id, indicator;
