-- The publishing workflow's records: disclosure reports, provider preview
-- windows and queries, panel reviews and the pre-release access list. The
-- release states themselves live in the catalogue's tables and the audit
-- log in audit_log; Apply writes all three in one transaction.

CREATE TABLE workflow_reports (
    release_id INTEGER PRIMARY KEY REFERENCES releases (id),
    report     TEXT NOT NULL               -- JSON, private: it names cells
);

CREATE TABLE workflow_previews (
    release_id INTEGER PRIMARY KEY REFERENCES releases (id),
    opened_at  TEXT NOT NULL,
    until      TEXT NOT NULL,
    opened_by  TEXT NOT NULL
);

CREATE TABLE workflow_queries (
    id           INTEGER PRIMARY KEY,
    release_id   INTEGER NOT NULL REFERENCES releases (id),
    organisation TEXT NOT NULL,
    raised_by    TEXT NOT NULL,
    text         TEXT NOT NULL,
    raised_at    TEXT NOT NULL,
    resolution   TEXT NOT NULL DEFAULT '',
    resolved_by  TEXT NOT NULL DEFAULT '',
    resolved_at  TEXT
);

CREATE TABLE workflow_reviews (
    id            INTEGER PRIMARY KEY,
    release_id    INTEGER NOT NULL REFERENCES releases (id),
    reviewer      TEXT NOT NULL,
    reviewer_name TEXT NOT NULL,
    answers       TEXT NOT NULL,           -- JSON array of seven answers
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'approve-with-change', 'reject')),
    change_asked  TEXT NOT NULL DEFAULT '',
    reasons       TEXT NOT NULL DEFAULT '',
    files         TEXT NOT NULL,           -- JSON [{name, sha256}]: the public files decided on
    at            TEXT NOT NULL
);
CREATE INDEX workflow_reviews_by_release ON workflow_reviews (release_id, id);

CREATE TABLE workflow_access (
    release_id INTEGER NOT NULL REFERENCES releases (id),
    username   TEXT NOT NULL,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    first_at   TEXT NOT NULL,
    last_at    TEXT NOT NULL,
    PRIMARY KEY (release_id, username, role)
);

-- Reviews are evidence: they are never changed or removed.
CREATE TRIGGER workflow_reviews_no_update BEFORE UPDATE ON workflow_reviews
BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
CREATE TRIGGER workflow_reviews_no_delete BEFORE DELETE ON workflow_reviews
BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
