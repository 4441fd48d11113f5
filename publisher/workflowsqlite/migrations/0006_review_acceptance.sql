-- The findings of a release's disclosure report that a reviewer accepted
-- explicitly with their review (a JSON array of finding keys; see
-- disclosure.Finding.AcceptanceKey).
ALTER TABLE workflow_reviews ADD COLUMN accepted TEXT NOT NULL DEFAULT '[]';
