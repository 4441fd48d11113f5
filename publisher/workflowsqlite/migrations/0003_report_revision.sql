-- The revision a submission declared ("unchanged since version N except
-- these rows"), kept with its disclosure report so that an amendment is
-- audited against the same earlier release. JSON; NULL when none.
ALTER TABLE workflow_reports ADD COLUMN revision TEXT;
