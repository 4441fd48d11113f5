-- Which release page each observation comes from (dataset and version),
-- so scorecards link every number to its release.
ALTER TABLE observations ADD COLUMN dataset TEXT NOT NULL DEFAULT '';
ALTER TABLE observations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
