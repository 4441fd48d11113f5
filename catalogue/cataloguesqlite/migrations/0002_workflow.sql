-- The publishing workflow's catalogue records: scheduling, corrections,
-- withdrawals with replacements, disclosure summaries, and the release
-- calendar.

ALTER TABLE releases ADD COLUMN embargo_at TEXT;                        -- scheduled publication instant
ALTER TABLE releases ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN corrects INTEGER REFERENCES releases (id);
ALTER TABLE releases ADD COLUMN correction_notice TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN replaced_by INTEGER REFERENCES releases (id);
ALTER TABLE releases ADD COLUMN disclosure_summary TEXT NOT NULL DEFAULT '';

CREATE INDEX releases_by_embargo ON releases (state, embargo_at);

CREATE TABLE calendar_entries (
    id                INTEGER PRIMARY KEY,
    dataset_id        INTEGER NOT NULL REFERENCES datasets (id),
    release_id        INTEGER UNIQUE REFERENCES releases (id),
    period_label      TEXT NOT NULL,
    provisional_month TEXT NOT NULL DEFAULT '',
    confirmed_at      TEXT,
    announced_at      TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'announced'
);

CREATE TABLE calendar_changes (
    id        INTEGER PRIMARY KEY,
    entry_id  INTEGER NOT NULL REFERENCES calendar_entries (id),
    at        TEXT NOT NULL,
    from_text TEXT NOT NULL,
    to_text   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    actor     TEXT NOT NULL
);
