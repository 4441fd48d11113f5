-- The rows of release files, one partition per release and file: writing a
-- file's rows drops its partition first (synchronous), and removing a
-- release drops its files' partitions, so a retried write never leaves two
-- copies. Within a file rows are in row-number order, which is the order
-- every read returns and the key of keyset pagination.
CREATE TABLE IF NOT EXISTS dataset_rows (
    release_id UInt64,
    file       String,
    number     UInt64,
    cells      Array(String)
) ENGINE = MergeTree() PARTITION BY (release_id, file) ORDER BY (file, number);
