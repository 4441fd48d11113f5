// Package datasets owns the shape and bytes of published data: Frictionless
// Table Schema with Candour's extension properties, reading and validating
// CSV against a schema, writing CSV as a stream, the content-addressed blob
// store that holds release files, and the row store interface through which
// rows of releases are written and read.
//
// # What it owns
//
//   - [Schema], [Field], [Resource] and [Dialect]: a release file's
//     description. Codes are strings with a checked pattern; counts may be
//     numbers (the half-patients of cancer waiting times); suppression markers
//     parse to a typed suppressed value, never to zero.
//   - [Reader] and [Validate]: every problem is reported with the file, row,
//     column, field and value (or the byte offset for encoding errors), so a
//     publisher can fix the file; nothing is guessed.
//   - [Writer]: CSV out, one row per call, flushed on Close.
//   - [BlobStore]: files named by their SHA-256, written atomically (temp
//     file, fsync, rename), so a file's URL and hash never disagree.
//   - [RowStore]: the interface implemented by the storage adapters
//     (rowsqlite now, ClickHouse later) and its contract suite in rowstoretest.
//
// # What it must not do
//
// It imports no other Candour package, and it never decides which releases
// are public: every read of rows takes a [Visible] set from its caller, who
// got it from the catalogue's published view. Storage adapters that need
// database/sql live in subpackages; this package does not import a driver.
package datasets
