package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/indicators/audit/outcomesqlite"
	"github.com/candour/candour/indicators/observationsqlite"
)

// A deployment running with --clickhouse keeps its dataset rows, indicator
// observations and audit outcomes on ClickHouse, not in candour.db. Its
// backup (candour backup --clickhouse DSN, or CANDOUR_CLICKHOUSE_DSN set
// as the server has it) copies them, release by release, from ClickHouse
// into the backup's snapshot of candour.db, into the same tables the
// embedded store uses, and reads each release back and compares it (the
// counts and the SHA-256 of every item, as migrate-to-clickhouse does).
// The backup is then whole on its own: restored, it serves as an embedded
// deployment, and migrate-to-clickhouse moves it onto a new server.
//
// The releases copied are those the snapshot lists: anything published
// after the snapshot is in neither. Published figures never change on
// ClickHouse once written (a correction is a new release), so copying
// them after the snapshot gives the figures the snapshot's releases had.

// backupClickHouse is backup.json's account of what came from ClickHouse.
type backupClickHouse struct {
	Releases     int    `json:"releases"`
	Observations int    `json:"observations"`
	Definitions  int    `json:"definitions"`
	Summaries    int    `json:"summaries"`
	Audits       int    `json:"audits"`
	Outcomes     int    `json:"outcomes"`
	Rows         int    `json:"rows"`
	Note         string `json:"note"`
}

// copyClickHouseInto copies what the ClickHouse server or cluster dsns
// names holds of every release listed in the snapshot file into the
// snapshot, verifying each release, and prints a line a release to
// progress.
func copyClickHouseInto(ctx context.Context, snapshot, dsns, cluster string, log *slog.Logger, progress io.Writer) (*backupClickHouse, error) {
	source, err := openClickHouse(ctx, dsns, cluster, false, log)
	if err != nil {
		return nil, err
	}
	defer source.close()
	// A rollback journal, not WAL: the snapshot must stay one file.
	db, err := sql.Open("sqlite3", "file:"+snapshot+"?_journal_mode=DELETE&_foreign_keys=on&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	target := analytics{rows: rowsqlite.New(db), observations: observationsqlite.New(db), audits: outcomesqlite.New(db)}
	cat := cataloguesqlite.New(db, nil)
	listed, err := cat.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal()})
	if err != nil {
		return nil, fmt.Errorf("the snapshot's releases: %w", err)
	}
	got := &backupClickHouse{Note: "rows, observations and audit outcomes were on ClickHouse; they are copied into candour.db, so the backup restores as an embedded deployment (then migrate-to-clickhouse to move them onto a server)"}
	for i, l := range listed {
		r, err := cat.ReleaseByID(ctx, l.ID)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("release %d (%s version %d, %s)", r.ID, r.Dataset.Slug, r.Version, r.State)
		want, err := releaseDigest(ctx, source, r)
		if err != nil {
			return nil, fmt.Errorf("%s, on ClickHouse: %w", name, err)
		}
		if err := copyRelease(ctx, source, target, r); err != nil {
			return nil, fmt.Errorf("%s: copying from ClickHouse: %w", name, err)
		}
		copied, err := releaseDigest(ctx, target, r)
		if err != nil {
			return nil, fmt.Errorf("%s, in the backup: %w", name, err)
		}
		if copied != want {
			return nil, fmt.Errorf("%s: the backup reads back %s, ClickHouse holds %s", name, copied.counts(), want.counts())
		}
		got.add(want)
		fmt.Fprintf(progress, "[%d/%d] %s: copied from ClickHouse and verified (%s)\n", i+1, len(listed), name, want.counts())
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(snapshot + "-wal"); err == nil {
		return nil, fmt.Errorf("the snapshot %s was left with a write-ahead log", snapshot)
	}
	return got, nil
}

// add counts one release's digest.
func (b *backupClickHouse) add(d digest) {
	b.Releases++
	b.Observations += d.observations
	b.Definitions += d.definitions
	b.Summaries += d.summaries
	b.Audits += d.audits
	b.Outcomes += d.outcomes
	b.Rows += d.rows
}

// checkRowsHeld refuses a backup, made without --clickhouse, of a data
// folder whose published data releases have no rows in candour.db: the
// deployment keeps them on ClickHouse, and a backup without them would
// restore releases whose figures are gone. (Every embedded deployment
// stores the rows of each published CSV file it publishes.)
func checkRowsHeld(ctx context.Context, snapshot string) error {
	db, err := sql.Open("sqlite3", "file:"+snapshot+"?mode=ro&immutable=1")
	if err != nil {
		return err
	}
	defer db.Close()
	var published int
	var held bool
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM releases r WHERE r.state IN ('published', 'superseded')
		AND EXISTS (SELECT 1 FROM release_files f WHERE f.release_id = r.id AND f.role = 'public' AND f.media_type LIKE 'text/csv%')`).Scan(&published); err != nil {
		return fmt.Errorf("count the published releases: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM row_blocks) OR EXISTS (SELECT 1 FROM dataset_rows)`).Scan(&held); err != nil {
		return fmt.Errorf("look for dataset rows: %w", err)
	}
	if published > 0 && !held {
		return fmt.Errorf("the data folder's database holds no dataset rows for its %d published data release%s: this deployment keeps its rows, observations and outcomes on ClickHouse; give --clickhouse (or CANDOUR_CLICKHOUSE_DSN) as the server has it, and --clickhouse-cluster for a cluster, so that the backup holds them", published, pluralS(published))
	}
	return nil
}
