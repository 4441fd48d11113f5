-- Rows of release files, tagged with their release. Visibility is never
-- decided here: readers pass the set of releases they may see.
CREATE TABLE dataset_rows (
    release_id INTEGER NOT NULL,
    file_name  TEXT    NOT NULL,
    row_number INTEGER NOT NULL,
    cells      TEXT    NOT NULL, -- JSON array of the cells as text
    PRIMARY KEY (release_id, file_name, row_number)
) WITHOUT ROWID;
