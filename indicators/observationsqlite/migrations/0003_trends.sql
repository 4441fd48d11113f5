-- The recent-trend marker of each observation, computed at submission
-- from the series up to it.
ALTER TABLE observations ADD COLUMN trend TEXT NOT NULL DEFAULT '';
ALTER TABLE observations ADD COLUMN trend_reason TEXT NOT NULL DEFAULT '';
