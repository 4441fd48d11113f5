-- The inventory's free-text release date, read into a typed value by the
-- importer's documented table (the original text stays in release_date):
-- "YYYY-MM-DD" for a day, "YYYY-MM" for a month, '' when no rule applies.
ALTER TABLE inventory_entries ADD COLUMN expected TEXT NOT NULL DEFAULT '';
