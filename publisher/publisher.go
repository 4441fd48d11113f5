// Package publisher owns how data becomes public: submissions, the release
// state machine, publication, and the importers that feed the catalogue.
//
// # The model
//
// A release is the unit of publishing (architecture.md §1). A submission
// (CSV files, each with its Table Schema, plus dataset and release metadata
// and a data quality statement) is validated completely before anything is
// written: every problem is reported with its file, row and column, and a
// submission with any problem stores nothing. A valid submission's files go
// to the blob store, its rows to the row store and its record to the
// catalogue, all tagged with the new release's id and invisible to the
// public, and the release moves from draft to checked.
//
// Publication is one catalogue transaction that moves the release to
// published and records its publication instant; everything the release
// needs was written before it, so a crash before the transaction leaves
// nothing public and a crash after it leaves everything public.
//
// Until the review workflow exists, the only way to publish is
// [Service.PublishChecked], which the operator runs from the command line.
// Nothing else moves a release to published: importers and the demo create
// releases with Submit and publish them through the same call.
//
// Directory importers (ODS practices and trusts) and the inventory importer
// load reference data that is public on arrival: national directories are
// already public, and inventory entries are announcements.
//
// # What it must not do
//
// It never serves anything and never reads a release's original file for a
// public purpose. It depends on the interfaces declared here, satisfied by
// the stores cmd wires in.
package publisher

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// Blobs is the blob store as the publisher uses it.
type Blobs interface {
	Put(ctx context.Context, r io.Reader) (datasets.Blob, error)
	Open(ctx context.Context, sha256 string) (*os.File, datasets.Blob, error)
}

// Service runs submissions, publication and imports.
type Service struct {
	catalogue catalogue.Store
	rows      datasets.RowStore
	blobs     Blobs
	now       func() time.Time
	log       *slog.Logger
}

// New returns a publisher over the given stores. now gives the current
// instant (injectable for tests).
func New(cat catalogue.Store, rows datasets.RowStore, blobs Blobs, now func() time.Time, log *slog.Logger) *Service {
	return &Service{catalogue: cat, rows: rows, blobs: blobs, now: now, log: log}
}

// Progress receives progress through a long step: what is being done, and
// how many of how many bytes are done (total -1 when unknown).
type Progress func(step string, done, total int64)

// noProgress is used when the caller passes nil.
func noProgress(string, int64, int64) {}
