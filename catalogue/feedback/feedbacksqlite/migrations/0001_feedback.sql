-- Pooled patient feedback: the sources polled, the items read from their
-- feeds (keyed by source and the source's own id), and every moderator's
-- decision. Instants are fixed-width UTC text, so text order is time order.
CREATE TABLE feedback_sources (
    name          TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    feed_url      TEXT NOT NULL,
    format        TEXT NOT NULL CHECK (format IN ('atom', 'rss', 'json')),
    interval_secs INTEGER NOT NULL,
    homepage      TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE feedback_items (
    source        TEXT NOT NULL REFERENCES feedback_sources (name),
    item_id       TEXT NOT NULL,
    organisation  TEXT NOT NULL,
    link          TEXT NOT NULL DEFAULT '',
    published     TEXT NOT NULL,
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 0 AND 5),
    title         TEXT NOT NULL DEFAULT '',
    comment       TEXT NOT NULL DEFAULT '',
    response      TEXT NOT NULL DEFAULT '',
    responded     TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('visible', 'held', 'hidden')),
    reason        TEXT NOT NULL DEFAULT '',
    moderated_by  TEXT NOT NULL DEFAULT '',
    moderated_at  TEXT NOT NULL DEFAULT '',
    first_seen    TEXT NOT NULL,
    last_changed  TEXT NOT NULL,
    PRIMARY KEY (source, item_id)
);

-- A scorecard's recent items and distributions.
CREATE INDEX feedback_items_by_organisation ON feedback_items (organisation, state, published);
-- The moderation queue.
CREATE INDEX feedback_items_by_state ON feedback_items (state, published);

CREATE TABLE feedback_moderations (
    id       INTEGER PRIMARY KEY,
    source   TEXT NOT NULL,
    item_id  TEXT NOT NULL,
    action   TEXT NOT NULL CHECK (action IN ('hide', 'release')),
    reason   TEXT NOT NULL,
    by_user  TEXT NOT NULL,
    at       TEXT NOT NULL,
    FOREIGN KEY (source, item_id) REFERENCES feedback_items (source, item_id)
);
CREATE INDEX feedback_moderations_by_item ON feedback_moderations (source, item_id, id);
