-- A counter of changes to releases: every insert, update or delete of a
-- release adds one, in the same transaction. Which releases' content is
-- public depends only on the releases table (state and published_at), so a
-- reader that saw the counter at n and sees n again knows no release has
-- changed meanwhile, whichever process wrote (see visiblecache.go).
CREATE TABLE release_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO release_changes (id, n) VALUES (1, 0);
CREATE TRIGGER releases_changed_insert AFTER INSERT ON releases
BEGIN UPDATE release_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER releases_changed_update AFTER UPDATE ON releases
BEGIN UPDATE release_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER releases_changed_delete AFTER DELETE ON releases
BEGIN UPDATE release_changes SET n = n + 1 WHERE id = 1; END;
