-- The audit log's chain head as of a release's publication entry (sequence
-- number and hash), recorded in the publication's transaction and carried in
-- the release's manifest; 0 and '' until the release is published. Written
-- once: see TxWriter.RecordAuditHead.
ALTER TABLE releases ADD COLUMN audit_head_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE releases ADD COLUMN audit_head_hash TEXT NOT NULL DEFAULT '';
