-- Catalogue: publishers, organisations, datasets, releases and their files.
-- Instants are UTC text in a fixed-width layout (2006-01-02T15:04:05.000000Z),
-- so text order is time order; civil dates are YYYY-MM-DD, '' when unknown.

CREATE TABLE publishers (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    url  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE organisations (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL DEFAULT '',  -- '' outside the directory: names come from releases
    type           TEXT NOT NULL,
    address        TEXT NOT NULL DEFAULT '[]', -- JSON array of lines
    postcode       TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    opened         TEXT NOT NULL DEFAULT '',
    closed         TEXT NOT NULL DEFAULT '',
    parent_code    TEXT NOT NULL DEFAULT '',
    region_code    TEXT NOT NULL DEFAULT '',
    successor_code TEXT NOT NULL DEFAULT '',
    in_directory   INTEGER NOT NULL,
    source         TEXT NOT NULL,
    details        TEXT NOT NULL DEFAULT '[]'  -- JSON array of {"label","value"}
);
CREATE INDEX organisations_by_type ON organisations (type, status, name);
CREATE INDEX organisations_by_parent ON organisations (parent_code);

CREATE TABLE datasets (
    id           INTEGER PRIMARY KEY,
    slug         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    publisher_id INTEGER REFERENCES publishers (id),
    topics       TEXT NOT NULL DEFAULT '[]',
    licence      TEXT NOT NULL,
    attribution  TEXT NOT NULL DEFAULT '',
    frequency    TEXT NOT NULL DEFAULT '',
    granularity  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    announced    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE inventory_entries (
    dataset_id   INTEGER PRIMARY KEY REFERENCES datasets (id),
    source       TEXT NOT NULL,
    line         INTEGER NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    release_date TEXT NOT NULL,
    frequency    TEXT NOT NULL,
    ogl          TEXT NOT NULL,
    granularity  TEXT NOT NULL,
    publisher    TEXT NOT NULL
);

CREATE TABLE releases (
    id               INTEGER PRIMARY KEY,
    dataset_id       INTEGER NOT NULL REFERENCES datasets (id),
    version          INTEGER NOT NULL,
    title            TEXT NOT NULL,
    summary          TEXT NOT NULL DEFAULT '',
    period_label     TEXT NOT NULL DEFAULT '',
    period_start     TEXT NOT NULL DEFAULT '',
    period_end       TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    state_changed_at TEXT NOT NULL,
    published_at     TEXT,                       -- NULL until published
    withdrawn_reason TEXT NOT NULL DEFAULT '',
    change_notes     TEXT NOT NULL DEFAULT '',
    quality          TEXT NOT NULL DEFAULT '{}', -- JSON data quality statement
    UNIQUE (dataset_id, version)
);
CREATE INDEX releases_by_state ON releases (state, published_at);

CREATE TABLE release_files (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases (id),
    name       TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL CHECK (role IN ('public', 'original')),
    media_type TEXT NOT NULL,
    encoding   TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    rows       INTEGER NOT NULL,
    resource   TEXT NOT NULL, -- Frictionless Data Resource descriptor (JSON)
    UNIQUE (release_id, role, name)
);

-- Which organisation codes a release uses, with the name and type it gives.
CREATE TABLE organisation_mentions (
    code       TEXT NOT NULL REFERENCES organisations (code),
    release_id INTEGER NOT NULL REFERENCES releases (id),
    name       TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code, release_id)
) WITHOUT ROWID;
CREATE INDEX organisation_mentions_by_release ON organisation_mentions (release_id);

CREATE TABLE release_events (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases (id),
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX release_events_by_release ON release_events (release_id, id);
