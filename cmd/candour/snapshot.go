package main

// Public snapshots: what a publishing node writes for read nodes.
//
// At start-up and after each change to what the public sees (publisher's
// OnPublicChange, debounced), `candour serve` writes a public snapshot of
// its data folder into DATA/public:
//
//	public/CURRENT                       the current generation's name, replaced by rename
//	public/snapshots/<generation>/
//	    candour.db                       the database, pruned to the published view
//	    blobs/<2 hex>/<sha256>           public files of releases whose content is public
//	    snapshot.json                    what the snapshot holds, with the database's SHA-256
//
// A snapshot is built in DATA/.public-build-* (outside public/, so that
// shipping public/ never sees the unpruned copy) and renamed into
// public/snapshots/ only once it is complete and synced; CURRENT is then
// replaced by rename, so a reader of CURRENT always finds a whole
// generation. The previous generations stay (keptSnapshots in all) for
// read nodes still serving them and for copies being shipped.
//
// The database is copied with VACUUM INTO (snapshotDatabase, as candour
// backup does: one consistent instant however the server writes), then
// pruned by allowlist (snapshottables.go) to what the published view
// shows at the snapshot's instant, then vacuumed again so that no freed
// page keeps a deleted byte. Release files are hard-linked into the
// snapshot (from the previous generation when it has them, else from the
// blob store, checked against their SHA-256 the first time), or copied
// and checked when the file system refuses links.
//
// Besides public changes, the audit log's head is looked at every
// snapshotRecheck: entries written by another process (candour import,
// candour user) appear, redacted, in the public audit-log export, so a
// new head makes a new snapshot too.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/workflowsqlite"
)

// The public snapshot's layout.
const (
	publicDir           = "public"
	snapshotsDir        = "snapshots"
	currentFile         = "CURRENT"
	snapshotJSON        = "snapshot.json"
	snapshotFormat      = "candour-public-snapshot/1"
	snapshotBuildPrefix = ".public-build-"
	// keptSnapshots is how many generations stay in public/snapshots,
	// the current one included.
	keptSnapshots = 3
)

// Timing of snapshot writes; variables so tests can shorten them.
var (
	// snapshotDebounce is how long a public change waits for the next
	// before the snapshot is written (a publication morning makes several
	// changes in a row); snapshotMaxDelay bounds the wait.
	snapshotDebounce = time.Second
	snapshotMaxDelay = 10 * time.Second
	// snapshotRecheck is how often the audit log's head is compared with
	// the current snapshot's.
	snapshotRecheck = 5 * time.Minute
	// snapshotRetry is how soon a failed write is tried again.
	snapshotRetry = 30 * time.Second
)

// generationName is a generation's name: the snapshot's instant, with an
// optional counter.
var generationName = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{9}Z(-[0-9]+)?$`)

// sha256Hex is a blob's name.
var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// snapshotIndex is snapshot.json.
type snapshotIndex struct {
	Format     string `json:"format"`
	Generation string `json:"generation"`
	// At is the instant of the published view the snapshot holds.
	At       string       `json:"at"`
	Version  string       `json:"candourVersion"`
	Database backupFile   `json:"database"`
	Audit    backupChain  `json:"auditChain"`
	Tables   []string     `json:"tables"`
	Counts   publicCounts `json:"counts"`
	// Files are the release files in blobs/, by SHA-256.
	Files []snapshotBlob `json:"files"`
}

type snapshotBlob struct {
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// publicCounts is what the published view shows, counted before and after
// pruning: pruning must not change it.
type publicCounts struct {
	Datasets        int    `json:"datasets"`
	Organisations   int    `json:"organisations"`
	Releases        int    `json:"releases"`
	ContentReleases int    `json:"releasesWithContent"`
	CalendarEntries int    `json:"calendarEntries"`
	AuditExport     string `json:"auditExportSha256"`
}

// startPublicSnapshots writes a snapshot now and after every public change
// until stop is called (which waits for a write under way to end). changed
// asks for a snapshot after a change publisher does not report (patient
// feedback read or moderated), debounced like the others.
func startPublicSnapshots(a *app) (stop, changed func()) {
	ctx, cancel := context.WithCancel(context.Background())
	kick := make(chan struct{}, 1)
	changed = func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	a.publisher.OnPublicChange(changed)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runPublicSnapshots(ctx, a, kick)
	}()
	return func() { cancel(); <-done }, changed
}

func runPublicSnapshots(ctx context.Context, a *app, kick <-chan struct{}) {
	log := a.log.With("component", "public-snapshot")
	if err := removeSnapshotLeftovers(a.cfg.DataDir); err != nil {
		log.Warn("could not remove an unfinished public snapshot", "err", err)
	}
	var written auditlog.Head
	var retry <-chan time.Time
	write := func(why string) {
		retry = nil
		start := time.Now()
		idx, err := writePublicSnapshot(ctx, a.cfg.DataDir, a.now, log)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("public snapshot not written; the read nodes keep the previous one", "why", why, "err", err, "retry_in", snapshotRetry)
			retry = time.After(snapshotRetry)
			return
		}
		written = auditlog.Head{Seq: idx.Audit.Sequence, Hash: idx.Audit.Hash}
		log.Info("public snapshot written", "why", why, "generation", idx.Generation, "took", time.Since(start).Round(time.Millisecond),
			"database", humanBytes(idx.Database.Bytes), "files", len(idx.Files), "releases", idx.Counts.Releases)
	}
	write("start-up")
	recheck := time.NewTicker(snapshotRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry:
			write("retry")
		case <-recheck.C:
			head, err := auditsqlite.New(a.db).Head(ctx)
			if err == nil && head != written {
				write("audit log changed")
			}
		case <-kick:
			// Debounce: write once the changes stop for snapshotDebounce,
			// or snapshotMaxDelay after the first.
			quiet := time.NewTimer(snapshotDebounce)
			limit := time.NewTimer(snapshotMaxDelay)
		wait:
			for {
				select {
				case <-ctx.Done():
					quiet.Stop()
					limit.Stop()
					return
				case <-kick:
					quiet.Reset(snapshotDebounce)
				case <-quiet.C:
					break wait
				case <-limit.C:
					break wait
				}
			}
			quiet.Stop()
			limit.Stop()
			write("public change")
		}
	}
}

// removeSnapshotLeftovers removes snapshot folders, and new CURRENT files,
// a crash left unfinished.
func removeSnapshotLeftovers(dataDir string) error {
	var errs []error
	for _, leftover := range []struct{ dir, prefix string }{
		{dataDir, snapshotBuildPrefix}, {filepath.Join(dataDir, publicDir), "." + currentFile + "-"}} {
		entries, err := os.ReadDir(leftover.dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), leftover.prefix) {
				errs = append(errs, os.RemoveAll(filepath.Join(leftover.dir, e.Name())))
			}
		}
	}
	return errors.Join(errs...)
}

// writePublicSnapshot writes a new generation of dataDir's public snapshot
// and makes it current.
func writePublicSnapshot(ctx context.Context, dataDir string, now func() time.Time, log *slog.Logger) (snapshotIndex, error) {
	idx := snapshotIndex{Format: snapshotFormat, Version: version}
	build, err := os.MkdirTemp(dataDir, snapshotBuildPrefix)
	if err != nil {
		return idx, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(build)
		}
	}()
	dbFile := filepath.Join(build, databaseFile)
	if _, err := snapshotDatabase(ctx, filepath.Join(dataDir, databaseFile), dbFile); err != nil {
		return idx, err
	}
	// The view's instant comes after the copy: whatever the copy holds as
	// published was published by then.
	at := now().UTC()
	idx.At = at.Format(time.RFC3339Nano)
	pruned, err := prunePublicSnapshot(ctx, dbFile, at)
	if err != nil {
		return idx, fmt.Errorf("prune the public snapshot: %w", err)
	}
	idx.Tables, idx.Counts, idx.Audit, idx.Files = pruned.tables, pruned.counts, pruned.audit, pruned.blobs
	if idx.Database, err = hashFile(dbFile); err != nil {
		return idx, err
	}
	idx.Database.Path, idx.Database.Kind = databaseFile, kindDatabase

	pub := filepath.Join(dataDir, publicDir)
	var previous string
	if gen, err := readCurrent(pub); err == nil {
		previous = filepath.Join(pub, snapshotsDir, gen, blobsDir)
	}
	if err := shipBlobs(ctx, filepath.Join(dataDir, blobsDir), previous, filepath.Join(build, blobsDir), idx.Files); err != nil {
		return idx, err
	}

	if err := os.MkdirAll(filepath.Join(pub, snapshotsDir), 0o755); err != nil {
		return idx, err
	}
	idx.Generation = at.Format("20060102T150405.000000000Z")
	for n := 2; ; n++ {
		if _, err := os.Lstat(filepath.Join(pub, snapshotsDir, idx.Generation)); errors.Is(err, fs.ErrNotExist) {
			break
		}
		idx.Generation = fmt.Sprintf("%s-%d", at.Format("20060102T150405.000000000Z"), n)
	}
	raw, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return idx, err
	}
	if err := writeSynced(filepath.Join(build, snapshotJSON), append(raw, '\n')); err != nil {
		return idx, err
	}
	if err := os.Chmod(filepath.Join(build, snapshotJSON), 0o644); err != nil {
		return idx, err
	}
	// Readable by a read node running as another user; nothing in it is
	// private.
	if err := os.Chmod(build, 0o755); err != nil {
		return idx, err
	}
	if err := syncTree(build); err != nil {
		return idx, err
	}
	final := filepath.Join(pub, snapshotsDir, idx.Generation)
	if err := os.Rename(build, final); err != nil {
		return idx, err
	}
	done = true
	if err := syncDir(filepath.Join(pub, snapshotsDir)); err != nil {
		return idx, err
	}
	if err := writeCurrent(pub, idx.Generation); err != nil {
		return idx, err
	}
	if err := removeOldSnapshots(pub, idx.Generation); err != nil {
		log.Warn("could not remove an old public snapshot", "err", err)
	}
	return idx, nil
}

// prunedSnapshot is what prunePublicSnapshot leaves.
type prunedSnapshot struct {
	tables []string
	counts publicCounts
	audit  backupChain
	blobs  []snapshotBlob
}

// prunePublicSnapshot reduces the database copy in file to what the
// published view at instant at shows, then vacuums it.
func prunePublicSnapshot(ctx context.Context, file string, at time.Time) (prunedSnapshot, error) {
	var out prunedSnapshot
	db, err := sql.Open("sqlite3", "file:"+file+"?_busy_timeout=10000")
	if err != nil {
		return out, err
	}
	defer db.Close()
	fixed := func() time.Time { return at }

	// What the public sees, read through the site's own read path.
	keep, before, err := publicKeepSets(ctx, db, at)
	if err != nil {
		return out, err
	}

	// Prune on one connection: the keep-sets are TEMP tables, which live
	// in that connection's temporary schema, never in the file.
	conn, err := db.Conn(ctx)
	if err != nil {
		return out, err
	}
	if err := pruneTables(ctx, conn, keep); err != nil {
		conn.Close()
		return out, err
	}
	rows, err := conn.QueryContext(ctx, `SELECT sha256, MAX(bytes) FROM release_files
		WHERE role = 'public' AND release_id IN (SELECT id FROM snap_content) GROUP BY sha256 ORDER BY sha256`)
	if err != nil {
		conn.Close()
		return out, err
	}
	for rows.Next() {
		var b snapshotBlob
		if err := rows.Scan(&b.SHA256, &b.Bytes); err != nil {
			rows.Close()
			conn.Close()
			return out, err
		}
		out.blobs = append(out.blobs, b)
	}
	rows.Close()
	for _, t := range keepSetTables {
		if _, err := conn.ExecContext(ctx, `DROP TABLE temp.`+t); err != nil {
			conn.Close()
			return out, err
		}
	}
	if err := conn.Close(); err != nil {
		return out, err
	}

	// Pruning must not change what the public sees.
	_, after, err := publicKeepSets(ctx, db, at)
	if err != nil {
		return out, fmt.Errorf("read the pruned snapshot: %w", err)
	}
	if after != before {
		return out, fmt.Errorf("pruning changed what the published view shows (before %+v, after %+v)", before, after)
	}
	internal, err := cataloguesqlite.New(db, fixed).ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal()})
	if err != nil {
		return out, err
	}
	for _, r := range internal {
		if !r.State.Listed() {
			return out, fmt.Errorf("pruning left release %d in state %s", r.ID, r.State)
		}
	}
	out.counts = after

	head, err := auditsqlite.New(db).Head(ctx)
	if err != nil {
		return out, err
	}
	out.audit = backupChain{Sequence: head.Seq, Hash: head.Hash}
	// The chain still verifies: redacted entries are checked by their
	// headers, the rest by their payloads too.
	if _, err := auditlog.Verify(redactedEntries(auditsqlite.New(db).Entries(ctx, 0))); err != nil {
		out.audit.Problem = err.Error()
	} else {
		out.audit.Verifies = true
	}

	// Rewrite the file without the freed pages, in rollback-journal mode
	// (a read node opens it immutable, with no -wal beside it).
	for _, stmt := range []string{`PRAGMA journal_mode = DELETE`, `VACUUM`} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return out, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	out.tables, err = tableNames(ctx, db)
	if err != nil {
		return out, err
	}
	for _, t := range out.tables {
		if _, ok := publicTable(t); !ok && !strings.HasPrefix(t, "sqlite_") {
			return out, fmt.Errorf("table %s is still in the snapshot", t)
		}
	}
	return out, db.Close()
}

// redactedEntries marks entries whose payload the snapshot left out
// (files "[]", no details, though the payload hash says otherwise) as
// withheld, as the public export does.
func redactedEntries(entries iter.Seq2[auditlog.Entry, error]) iter.Seq2[auditlog.Entry, error] {
	return func(yield func(auditlog.Entry, error) bool) {
		for e, err := range entries {
			if err == nil && len(e.Files) == 0 && len(e.Details) == 0 && e.ComputePayloadHash() != e.PayloadHash {
				e.Withheld = true
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

// keepSetTables are the TEMP tables pruneTables fills.
var keepSetTables = []string{"snap_listed", "snap_content", "snap_listed_datasets", "snap_datasets", "snap_calendar", "snap_redacted"}

// keepSets are the ids of what the published view shows.
type keepSets struct {
	listed, content, listedDatasets, datasets, calendar, redacted []int64
}

// publicKeepSets reads what the published view at instant at shows, and
// counts it.
func publicKeepSets(ctx context.Context, db *sql.DB, at time.Time) (keepSets, publicCounts, error) {
	var k keepSets
	var c publicCounts
	fixed := func() time.Time { return at }
	store := cataloguesqlite.New(db, fixed)
	view := catalogue.Published(store, at)
	listed, err := view.LatestReleases(ctx, 0)
	if err != nil {
		return k, c, err
	}
	for _, r := range listed {
		k.listed = append(k.listed, r.ID)
	}
	if k.content, err = view.ContentVisibleReleases(ctx); err != nil {
		return k, c, err
	}
	for offset := 0; ; {
		page, err := view.Datasets(ctx, catalogue.DatasetQuery{Offset: offset, Limit: 500})
		if err != nil {
			return k, c, err
		}
		for _, d := range page.Datasets {
			k.listedDatasets = append(k.listedDatasets, d.ID)
		}
		offset += len(page.Datasets)
		if len(page.Datasets) == 0 || offset >= page.Total {
			c.Datasets = page.Total
			break
		}
	}
	k.datasets = slices.Clone(k.listedDatasets)
	entries, err := view.Calendar(ctx)
	if err != nil {
		return k, c, err
	}
	for _, e := range entries {
		k.calendar = append(k.calendar, e.ID)
		k.datasets = append(k.datasets, e.DatasetID)
	}
	orgs, err := view.Organisations(ctx, catalogue.OrganisationQuery{Limit: 1})
	if err != nil {
		return k, c, err
	}
	// The public audit-log export says which entries are redacted; its
	// hash is compared before and after pruning.
	pub := publisher.New(publisher.Options{Catalogue: store, Workflow: workflowsqlite.New(db, store), Now: fixed})
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(pub.WriteAuditLog(ctx, view, pw)) }()
	h := sha256.New()
	dec := json.NewDecoder(io.TeeReader(pr, h))
	for {
		var e struct {
			Seq      int64 `json:"seq"`
			Redacted bool  `json:"redacted"`
		}
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			pr.CloseWithError(err)
			return k, c, fmt.Errorf("public audit-log export: %w", err)
		}
		if e.Redacted {
			k.redacted = append(k.redacted, e.Seq)
		}
	}
	c.Organisations, c.Releases, c.ContentReleases, c.CalendarEntries = orgs.Total, len(k.listed), len(k.content), len(entries)
	c.AuditExport = hex.EncodeToString(h.Sum(nil))
	return k, c, nil
}

// pruneTables fills the keep-sets, prunes the public tables and drops
// every other table, view and trigger.
func pruneTables(ctx context.Context, conn *sql.Conn, k keepSets) error {
	exec := func(q string, args ...any) error {
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q), " "), err)
		}
		return nil
	}
	for _, pragma := range []string{`PRAGMA temp_store = MEMORY`, `PRAGMA foreign_keys = OFF`} {
		if err := exec(pragma); err != nil {
			return err
		}
	}
	sets := map[string][]int64{"snap_listed": k.listed, "snap_content": k.content, "snap_listed_datasets": k.listedDatasets,
		"snap_datasets": k.datasets, "snap_calendar": k.calendar, "snap_redacted": k.redacted}
	if err := exec(`BEGIN`); err != nil {
		return err
	}
	for _, t := range keepSetTables {
		col := "id"
		if t == "snap_redacted" {
			col = "seq"
		}
		if err := exec(`CREATE TEMP TABLE ` + t + ` (` + col + ` INTEGER PRIMARY KEY)`); err != nil {
			return err
		}
		for _, id := range sets[t] {
			if err := exec(`INSERT OR IGNORE INTO temp.`+t+` VALUES (?)`, id); err != nil {
				return err
			}
		}
	}
	if err := exec(`COMMIT`); err != nil {
		return err
	}

	// Triggers (the append-only guards) and views go first: the snapshot
	// is never written again after this.
	type object struct{ kind, name string }
	var objects []object
	rows, err := conn.QueryContext(ctx, `SELECT type, name FROM main.sqlite_master WHERE type IN ('trigger', 'view', 'table') ORDER BY type = 'table', name`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.kind, &o.name); err != nil {
			rows.Close()
			return err
		}
		objects = append(objects, o)
	}
	rows.Close()
	if err := exec(`BEGIN`); err != nil {
		return err
	}
	var kept []string
	for _, o := range objects {
		switch {
		case o.kind == "trigger":
			if err := exec(`DROP TRIGGER main.` + quoteIdent(o.name)); err != nil {
				return err
			}
		case o.kind == "view":
			if err := exec(`DROP VIEW main.` + quoteIdent(o.name)); err != nil {
				return err
			}
		case strings.HasPrefix(o.name, "sqlite_"):
			// SQLite's own (sqlite_sequence, sqlite_stat*): handled below.
		default:
			t, public := publicTable(o.name)
			if !public {
				// Not on the allowlist: dropped, decided or not.
				if err := exec(`DROP TABLE main.` + quoteIdent(o.name)); err != nil {
					return err
				}
				continue
			}
			for _, stmt := range t.prune {
				if err := exec(stmt); err != nil {
					return err
				}
			}
			kept = append(kept, o.name)
		}
	}
	// SQLite's own tables name other tables: keep only the lines about
	// tables that stay.
	in := "('" + strings.Join(kept, "', '") + "')" // names from the allowlist, never from input
	for _, o := range objects {
		switch {
		case o.name == "sqlite_sequence":
			if err := exec(`DELETE FROM main.sqlite_sequence WHERE name NOT IN ` + in); err != nil {
				return err
			}
		case strings.HasPrefix(o.name, "sqlite_stat"):
			if err := exec(`DELETE FROM main.` + quoteIdent(o.name) + ` WHERE tbl NOT IN ` + in); err != nil {
				return err
			}
		}
	}
	return exec(`COMMIT`)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// tableNames lists the tables of db's main schema.
func tableNames(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// shipBlobs puts each blob into dst (a blob store's layout): a hard link
// to the previous generation's copy when it has one (checked when it was
// shipped), else a hard link to the blob store's file, checked against its
// SHA-256, else a checked copy.
func shipBlobs(ctx context.Context, store, previous, dst string, blobs []snapshotBlob) error {
	if err := os.MkdirAll(filepath.Join(dst, "tmp"), 0o755); err != nil {
		return err
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !sha256Hex.MatchString(b.SHA256) {
			return fmt.Errorf("release file %q: not a SHA-256", b.SHA256)
		}
		rel := filepath.Join(b.SHA256[:2], b.SHA256)
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if previous != "" {
			if fi, err := os.Stat(filepath.Join(previous, rel)); err == nil && fi.Size() == b.Bytes && os.Link(filepath.Join(previous, rel), target) == nil {
				continue
			}
		}
		src := filepath.Join(store, rel)
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("release file %s of a published release: %w", b.SHA256, err)
		}
		if err := os.Link(src, target); err == nil {
			f, err := hashFile(target)
			if err != nil {
				return err
			}
			if f.SHA256 != b.SHA256 || f.Bytes != b.Bytes {
				return fmt.Errorf("release file %s is damaged in the blob store: its content has SHA-256 %s and %d bytes", b.SHA256, f.SHA256, f.Bytes)
			}
			continue
		}
		// No hard links here (another file system, or not allowed): copy.
		if _, err := copyFile(src, target, b.SHA256); err != nil {
			return fmt.Errorf("release file %s: %w", b.SHA256, err)
		}
	}
	return nil
}

// hashFile returns a file's size and SHA-256.
func hashFile(file string) (backupFile, error) {
	f, err := os.Open(file)
	if err != nil {
		return backupFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return backupFile{}, err
	}
	return backupFile{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// readCurrent reads the current generation's name from a public folder.
func readCurrent(pub string) (string, error) {
	b, err := os.ReadFile(filepath.Join(pub, currentFile))
	if err != nil {
		return "", err
	}
	gen := strings.TrimSpace(string(b))
	if !generationName.MatchString(gen) {
		return "", fmt.Errorf("%s: %q is not a snapshot generation", filepath.Join(pub, currentFile), gen)
	}
	return gen, nil
}

// writeCurrent makes gen current: a new CURRENT, synced, renamed over the
// old one.
func writeCurrent(pub, gen string) error {
	tmp, err := os.CreateTemp(pub, "."+currentFile+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(gen + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(pub, currentFile)); err != nil {
		return err
	}
	return syncDir(pub)
}

// removeOldSnapshots keeps the newest keptSnapshots generations and the
// current one.
func removeOldSnapshots(pub, current string) error {
	entries, err := os.ReadDir(filepath.Join(pub, snapshotsDir))
	if err != nil {
		return err
	}
	var gens []string
	for _, e := range entries {
		if e.IsDir() && generationName.MatchString(e.Name()) {
			gens = append(gens, e.Name())
		}
	}
	slices.SortFunc(gens, compareGenerations)
	var errs []error
	for i, g := range gens {
		if i < len(gens)-keptSnapshots && g != current {
			errs = append(errs, os.RemoveAll(filepath.Join(pub, snapshotsDir, g)))
		}
	}
	return errors.Join(errs...)
}

// compareGenerations orders generation names by instant, then counter.
func compareGenerations(a, b string) int {
	at, an, _ := strings.Cut(a, "-")
	bt, bn, _ := strings.Cut(b, "-")
	if c := strings.Compare(at, bt); c != 0 {
		return c
	}
	if c := len(an) - len(bn); c != 0 {
		return c
	}
	return strings.Compare(an, bn)
}
