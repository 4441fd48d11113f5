-- Releases whose derived data (rows, indicator observations, audit
-- outcomes) must be rewritten from their files: marked in the commit that
-- replaces a release's files (an amendment), cleared once they are
-- rewritten. Start-up recovery (publisher.Service.Recover) finishes any
-- mark a crash left behind.
CREATE TABLE workflow_unfinished (
    release_id INTEGER PRIMARY KEY REFERENCES releases (id),
    since      TEXT NOT NULL
);
