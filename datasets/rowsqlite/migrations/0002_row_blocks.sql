-- Rows of release files in blocks of consecutive rows (see block.go): an
-- export reads a few thousand blocks rather than millions of rows, and a
-- block whose column summary rules out an equality filter is not decoded.
-- Rows written before this migration stay in dataset_rows until
-- Store.Upgrade moves them.
CREATE TABLE row_blocks (
    release_id INTEGER NOT NULL,
    file_name  TEXT    NOT NULL,
    first_row  INTEGER NOT NULL, -- row number of the block's first row
    row_count  INTEGER NOT NULL,
    data       BLOB    NOT NULL
);
CREATE UNIQUE INDEX row_blocks_file ON row_blocks (release_id, file_name, first_row);
