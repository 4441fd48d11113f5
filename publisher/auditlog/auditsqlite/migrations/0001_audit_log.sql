-- The hash-chained audit log (see publisher/auditlog). Rows are only ever
-- inserted; the triggers refuse updates and deletes.
CREATE TABLE audit_log (
	seq          INTEGER PRIMARY KEY CHECK (seq > 0),
	at           TEXT    NOT NULL, -- UTC, YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ
	actor        TEXT    NOT NULL,
	action       TEXT    NOT NULL,
	release_id   INTEGER NOT NULL DEFAULT 0,
	files        TEXT    NOT NULL DEFAULT '[]', -- JSON array of {"name","sha256"}
	details      TEXT,                          -- canonical JSON, NULL when none
	payload_hash TEXT    NOT NULL,
	prev         TEXT    NOT NULL,
	hash         TEXT    NOT NULL UNIQUE
);

CREATE INDEX audit_log_release ON audit_log (release_id) WHERE release_id <> 0;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
