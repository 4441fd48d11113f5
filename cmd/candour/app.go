package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/catalogue/feedback/feedbacksqlite"
	"github.com/candour/candour/catalogue/searchbleve"
	"github.com/candour/candour/cmd/candour/websubsqlite"
	"github.com/candour/candour/content"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/indicators/audit/outcomesqlite"
	"github.com/candour/candour/indicators/observationsqlite"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/accounts"
	"github.com/candour/candour/publisher/accounts/accountsqlite"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/register"
	"github.com/candour/candour/publisher/register/registersqlite"
	"github.com/candour/candour/publisher/workflowsqlite"
)

// app is an opened data directory and the services over it.
type app struct {
	cfg Config
	// cpuProfile is the file serve writes a CPU profile into, "" for none.
	cpuProfile string
	log        *slog.Logger
	now        func() time.Time
	db         *sql.DB
	catalogue  *cataloguesqlite.Store
	rows       datasets.RowStore
	blobs      *datasets.BlobStore
	workflow   *workflowsqlite.Store
	// observations holds indicator definitions and observations.
	observations indicators.ObservationStore
	// audits holds clinical audit definitions and outcomes.
	audits audit.Store
	// analytics is where rows, observations and outcomes live (SQLite,
	// or ClickHouse with --clickhouse).
	analytics analytics
	publisher *publisher.Service
	// search is the search index, once serving opens it.
	search *searchbleve.Index
	// content is the editorial pages.
	content  *content.Library
	accounts *accounts.Service
	register *register.Service
	// feedback holds pooled patient feedback (its sources, items and
	// moderators' decisions).
	feedback *feedbacksqlite.Store
	// lock is this process's hold on the data folder (datalock.go).
	lock *folderLock
}

// databaseFile and blobsDir are the data directory's layout.
const (
	databaseFile = "candour.db"
	blobsDir     = "blobs"
)

// openApp opens (creating if needed) the data directory: the SQLite
// database with every store's migrations applied, and the blob store.
// When no other process has the folder open it first runs start-up
// recovery, which finishes or removes whatever a crash left half-stored
// (publisher.Service.Recover).
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (a *app, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	lock, alone, err := lockFolder(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	db, err := sqlitedb.Open(ctx, filepath.Join(cfg.DataDir, databaseFile))
	if err != nil {
		return nil, err
	}
	if err := sqlitedb.Migrate(ctx, db,
		sqlitedb.Set{Component: cataloguesqlite.Component, Files: cataloguesqlite.Migrations()},
		rowsqlite.Migrations(),
		auditsqlite.Migrations(),
		workflowsqlite.Migrations(),
		accountsqlite.Migrations(),
		registersqlite.Migrations(),
		observationsqlite.Migrations(),
		outcomesqlite.Migrations(),
		websubsqlite.Migrations(),
		sqlitedb.Set{Component: feedbacksqlite.Component, Files: feedbacksqlite.Migrations()},
	); err != nil {
		db.Close()
		return nil, err
	}
	rows := rowsqlite.New(db)
	if moved, err := rows.Upgrade(ctx); err != nil {
		db.Close()
		return nil, err
	} else if moved > 0 {
		log.Info("row store upgraded to blocks", "files", moved)
	}
	blobs, err := datasets.OpenBlobStore(filepath.Join(cfg.DataDir, blobsDir))
	if err != nil {
		db.Close()
		return nil, err
	}
	stores := analytics{rows: rows, observations: observationsqlite.New(db), audits: outcomesqlite.New(db)}
	if cfg.ClickHouseDSN != "" {
		if stores, err = openClickHouse(ctx, cfg.ClickHouseDSN, cfg.ClickHouseCluster, true, log); err != nil {
			db.Close()
			return nil, err
		}
		err = markOnClickHouse(cfg.DataDir, cfg.ClickHouseDSN, cfg.ClickHouseCluster, time.Now())
	} else if !cfg.embeddedOnPurpose {
		err = refuseWithoutClickHouse(cfg.DataDir, "candour")
	}
	if err != nil {
		stores.close()
		db.Close()
		return nil, err
	}
	now := func() time.Time { return time.Now().UTC() }
	a = &app{cfg: cfg, log: log, now: now, db: db, blobs: blobs,
		catalogue: cataloguesqlite.New(db, now), lock: lock, analytics: stores,
		rows: stores.rows, observations: stores.observations, audits: stores.audits}
	a.workflow = workflowsqlite.New(db, a.catalogue)
	a.feedback = feedbacksqlite.New(db, now)
	if a.content, err = content.Default(); err != nil {
		stores.close()
		db.Close()
		return nil, err
	}
	a.publisher = publisher.New(publisher.Options{Catalogue: a.catalogue, Rows: a.rows, Blobs: a.blobs, Workflow: a.workflow,
		Observations: a.observations, Audits: a.audits, Content: a.content,
		Now: now, Log: log, Approvals: cfg.Approvals, MaxUploadBytes: cfg.MaxUploadBytes})
	if err := a.openAccounts(db); err != nil {
		stores.close()
		db.Close()
		return nil, err
	}
	if err := a.recover(ctx, alone); err != nil {
		stores.close()
		db.Close()
		return nil, err
	}
	return a, nil
}

// recover runs start-up recovery when this process holds the data folder
// alone, then shares the folder with any process that opens it next. A
// recovery that fails is logged, not fatal: what it would have removed is
// never public, and the next start tries again.
func (a *app) recover(ctx context.Context, alone bool) error {
	if !alone {
		a.log.Debug("start-up recovery skipped: another process has the data folder open", "data_dir", a.cfg.DataDir)
		return nil
	}
	done, err := a.publisher.Recover(ctx)
	if err != nil {
		a.log.Error("start-up recovery failed; it runs again at the next start", "err", err)
	} else if !done.Empty() {
		a.log.Warn("start-up recovery finished what a crash left", "amendments_finished", len(done.Finished),
			"drafts_removed", len(done.Removed), "files_removed", len(done.Blobs), "temporary_files_removed", done.Temporary)
	}
	return a.lock.share()
}

func (a *app) Close() error {
	if a.search != nil {
		a.search.Close()
	}
	a.analytics.close()
	err := a.db.Close()
	a.lock.Close()
	return err
}

// empty reports whether nothing has been loaded: no dataset and no
// organisation in any state.
func (a *app) empty(ctx context.Context) (bool, error) {
	page, err := a.catalogue.ListDatasets(ctx, catalogue.DatasetQuery{Visibility: catalogue.Internal(), Limit: 1})
	if err != nil {
		return false, err
	}
	orgs, err := a.catalogue.ListOrganisations(ctx, catalogue.OrganisationQuery{Visibility: catalogue.Internal(), Limit: 1})
	if err != nil {
		return false, err
	}
	return page.Total == 0 && orgs.Total == 0, nil
}
