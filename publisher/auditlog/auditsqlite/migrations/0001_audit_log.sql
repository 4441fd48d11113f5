-- The hash-chained audit log (package auditlog documents the hashing).
-- Append-only: the triggers refuse any change or removal through SQL.

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,     -- UTC, RFC 3339 with nanoseconds, exactly as hashed
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    release_id   INTEGER NOT NULL DEFAULT 0,
    files        TEXT NOT NULL,     -- JSON [{name, sha256}]
    details      TEXT NOT NULL,     -- JSON, '' when none
    payload_hash TEXT NOT NULL,
    prev         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_by_release ON audit_log (release_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
