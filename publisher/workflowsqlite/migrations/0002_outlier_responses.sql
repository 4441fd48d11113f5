-- Providers' answers to clinical audit outlier notifications. They are
-- evidence for the panel, kept with the release: never changed or removed.
CREATE TABLE workflow_outlier_responses (
    id          INTEGER PRIMARY KEY,
    release_id  INTEGER NOT NULL REFERENCES releases (id),
    provider    TEXT NOT NULL,
    measure     TEXT NOT NULL,
    period      TEXT NOT NULL,
    level       TEXT NOT NULL,
    team        TEXT NOT NULL,
    code        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX workflow_outlier_responses_by_release ON workflow_outlier_responses (release_id, id);

CREATE TRIGGER workflow_outlier_responses_no_update BEFORE UPDATE ON workflow_outlier_responses
BEGIN SELECT RAISE(ABORT, 'outlier responses are append-only'); END;
CREATE TRIGGER workflow_outlier_responses_no_delete BEFORE DELETE ON workflow_outlier_responses
BEGIN SELECT RAISE(ABORT, 'outlier responses are append-only'); END;
