-- An indicator's points, release by release, from the index alone: the
-- index an indicator's pages search by (indicator, release) now also
-- holds each point's columns, so the organisations of a period, their
-- series for the recent trend and a region's share of them are read from
-- one contiguous range of the index, without looking up a row of the
-- table (clustered by organisation) for each organisation.
DROP INDEX observations_by_indicator;
CREATE INDEX observations_by_indicator ON observations (indicator, release_id, organisation, period_start, period,
    numerator, denominator, value, lower95, upper95);
