package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
)

const backupSummary = `Writes a consistent backup of the data folder into OUT, which must not
exist or must be empty. It is safe to run while the server is serving and
publishing:

  - every SQLite database (candour.db: catalogue, workflow, accounts, audit
    log, rows and observations) is copied with SQLite's own VACUUM INTO,
    a consistent snapshot of one instant, never a copy of the live file;
  - the release files (blobs/) are named by their SHA-256 and never change
    once written, so they are copied after the snapshot, and each is
    checked against its name as it is copied; the backup fails if one that
    a published release names is missing or damaged;
  - with --clickhouse (or CANDOUR_CLICKHOUSE_DSN), as the server runs,
    the dataset rows, indicator observations and audit outcomes held on
    ClickHouse are copied into the backup's candour.db, release by release,
    each read back and compared, so that the backup is whole without
    ClickHouse: restored, it serves as an embedded deployment, and
    candour migrate-to-clickhouse moves it onto a server again;
  - the search index (search/) is not copied: it is derived entirely from
    the database, and a copy taken while the server updates it could be
    torn. candour restore rebuilds it from the restored database (a server
    would also rebuild a missing index when it starts).

The backup is written into a hidden folder beside OUT and renamed to OUT
only when it is complete, so a folder named OUT is always a whole backup.
OUT/backup.json lists every file with its size and SHA-256, and the audit
log's chain head at the snapshot (keep the printed SHA-256 of backup.json
to check the backup later). Restore with candour restore OUT --data-dir DIR.`

// backupFormat names the layout of backup.json.
const backupFormat = "candour-backup/1"

// backupIndex is backup.json: what the backup holds.
type backupIndex struct {
	Format    string `json:"format"`
	CreatedAt string `json:"createdAt"`
	Version   string `json:"candourVersion"`
	DataDir   string `json:"dataDir"`
	// AuditChain is the audit log's head in the snapshot of candour.db.
	AuditChain backupChain `json:"auditChain"`
	// ClickHouse says what was copied from ClickHouse into candour.db,
	// when the deployment keeps its figures there (see backupclickhouse.go).
	ClickHouse *backupClickHouse `json:"clickhouse,omitempty"`
	Files      []backupFile      `json:"files"`
	Excluded   []backupExcept    `json:"excluded,omitempty"`
}

type backupChain struct {
	Sequence int64  `json:"sequence"`
	Hash     string `json:"hash"`
	// Verifies says whether the snapshot's chain verified when the backup
	// was made; Problem says why not.
	Verifies bool   `json:"verifies"`
	Problem  string `json:"problem,omitempty"`
}

// backupFile is one file of the backup; Path is relative to the backup's
// folder, with forward slashes.
type backupFile struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"` // "database", "blob" or "file"
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

type backupExcept struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

const (
	kindDatabase = "database"
	kindBlob     = "blob"
	kindFile     = "file"
	backupJSON   = "backup.json"
)

func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("backup", backupSummary, "OUT", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return &usageError{"candour backup: want one OUT folder (see candour backup --help)"}
	}
	if fi, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("data folder %s: %w", cfg.DataDir, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("data folder %s is not a folder", cfg.DataDir)
	}
	start := time.Now()
	var fromClickHouse func(snapshot string) (*backupClickHouse, error)
	if cfg.ClickHouseDSN != "" {
		fromClickHouse = func(snapshot string) (*backupClickHouse, error) {
			return copyClickHouseInto(ctx, snapshot, cfg.ClickHouseDSN, cfg.ClickHouseCluster, cfg.logger(stderr), stdout)
		}
	}
	idx, sum, err := writeBackup(ctx, cfg.DataDir, rest[0], cfg.logger(stderr), fromClickHouse)
	if err != nil {
		return err
	}
	var bytes int64
	counts := map[string]int{}
	for _, f := range idx.Files {
		bytes += f.Bytes
		counts[f.Kind]++
	}
	fmt.Fprintf(stdout, "Backup written to %s in %s: %d database%s, %d release file%s, %d other file%s, %s.\n",
		rest[0], time.Since(start).Round(time.Millisecond), counts[kindDatabase], pluralS(counts[kindDatabase]),
		counts[kindBlob], pluralS(counts[kindBlob]), counts[kindFile], pluralS(counts[kindFile]), humanBytes(bytes))
	if c := idx.ClickHouse; c != nil {
		fmt.Fprintf(stdout, "From ClickHouse, into candour.db: %d release%s, %d observations, %d audit outcomes, %d dataset rows.\n",
			c.Releases, pluralS(c.Releases), c.Observations, c.Outcomes, c.Rows)
	}
	fmt.Fprintf(stdout, "Audit chain head at the snapshot: %d:%s.\n", idx.AuditChain.Sequence, idx.AuditChain.Hash)
	fmt.Fprintf(stdout, "SHA-256 of backup.json (keep it to check the backup later): %s\n", sum)
	if !idx.AuditChain.Verifies {
		fmt.Fprintf(stderr, "WARNING: the audit log in this backup does not verify: %s\n", idx.AuditChain.Problem)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkEmptyTarget refuses a target that exists and is not an empty
// folder; what names the command for messages.
func checkEmptyTarget(what, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return fmt.Errorf("%s: %s exists and is not a folder", what, dir)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s: %s is not empty (it holds %s): give a folder that does not exist or is empty", what, dir, entries[0].Name())
	}
	return nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// partialDir makes the hidden folder beside final that a backup or restore
// is written into before it is renamed to final.
func partialDir(final, purpose string) (string, error) {
	abs, err := filepath.Abs(final)
	if err != nil {
		return "", err
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return "", err
	}
	return os.MkdirTemp(parent, "."+filepath.Base(abs)+"."+purpose+"-")
}

// moveIntoPlace renames the finished folder tmp to final (replacing final
// if it is an empty folder) and syncs the parent folder.
func moveIntoPlace(tmp, final string) error {
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Remove(final); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", final, err) // not empty: someone wrote into it meanwhile
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	abs, err := filepath.Abs(final)
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(abs))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// sqliteMagic opens every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

func isSQLite(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return bytes.Equal(head[:n], sqliteMagic), nil
}

// isBlobPath reports whether rel (slash-separated) is where the blob store
// keeps a blob: blobs/<first two hex digits>/<64 hex digits>.
func isBlobPath(rel string) bool {
	dir, name := path.Split(rel)
	if len(name) != 2*sha256.Size || dir != blobsDir+"/"+name[:2]+"/" {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

// writeBackup backs up dataDir into out and returns the index and the
// SHA-256 of backup.json.
func writeBackup(ctx context.Context, dataDir, out string, log *slog.Logger, fromClickHouse func(snapshot string) (*backupClickHouse, error)) (backupIndex, string, error) {
	idx := backupIndex{Format: backupFormat, Version: version}
	absData, err := filepath.Abs(dataDir)
	if err != nil {
		return idx, "", err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return idx, "", err
	}
	if within(absOut, absData) || within(absData, absOut) {
		return idx, "", fmt.Errorf("backup: %s and the data folder %s must not contain each other", out, dataDir)
	}
	if err := checkEmptyTarget("backup", out); err != nil {
		return idx, "", err
	}
	if fromClickHouse == nil {
		if err := refuseWithoutClickHouse(dataDir, "backup"); err != nil {
			return idx, "", err
		}
	}
	idx.DataDir = absData
	tmp, err := partialDir(out, "partial")
	if err != nil {
		return idx, "", fmt.Errorf("backup: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()

	// Sort what the data folder holds. Databases are snapshotted first:
	// every blob a snapshot names was written before the commit that named
	// it, so copying blobs afterwards finds them all.
	var databases, blobs, others []string
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != dataDir {
				return nil // removed while we looked (a temporary file)
			}
			return err
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case d.IsDir() && rel == searchDir:
			idx.Excluded = append(idx.Excluded, backupExcept{Path: rel, Reason: "the search index is derived from the database; restore rebuilds it"})
			return fs.SkipDir
		case d.IsDir() && rel == materialisedDir:
			idx.Excluded = append(idx.Excluded, backupExcept{Path: rel, Reason: "materialised pages are rendered from the database; the server renders them again when it starts"})
			return fs.SkipDir
		case d.IsDir() && (rel == publicDir || strings.HasPrefix(rel, snapshotBuildPrefix)):
			idx.Excluded = append(idx.Excluded, backupExcept{Path: rel, Reason: "public snapshots for read nodes are derived from the database; the server writes a new one when it starts"})
			return fs.SkipDir
		case rel == clickHouseMarkerFile && fromClickHouse != nil:
			idx.Excluded = append(idx.Excluded, backupExcept{Path: rel, Reason: "the figures on ClickHouse are copied into the backup's database, which restores as an embedded deployment"})
			return nil
		case d.IsDir() && rel == blobsDir+"/tmp":
			idx.Excluded = append(idx.Excluded, backupExcept{Path: rel, Reason: "release files still being written; none is named by the database yet"})
			return fs.SkipDir
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			log.Warn("backup: skipping what is not a regular file", "path", rel, "type", d.Type().String())
			idx.Excluded = append(idx.Excluded, backupExcept{Path: rel, Reason: "not a regular file"})
			return nil
		case strings.HasSuffix(rel, "-wal") || strings.HasSuffix(rel, "-shm") || strings.HasSuffix(rel, "-journal"):
			return nil // part of a live database, which is snapshotted whole
		case rel == lockFile:
			return nil // held by running processes; each opening makes it anew
		case isBlobPath(rel):
			blobs = append(blobs, rel)
			return nil
		}
		db, err := isSQLite(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if db {
			databases = append(databases, rel)
		} else {
			others = append(others, rel)
		}
		return nil
	})
	if err != nil {
		return idx, "", fmt.Errorf("backup: read the data folder: %w", err)
	}
	if !slices.Contains(databases, databaseFile) {
		return idx, "", fmt.Errorf("backup: %s holds no %s: is it a Candour data folder?", dataDir, databaseFile)
	}

	for _, rel := range databases {
		f, err := snapshotDatabase(ctx, filepath.Join(dataDir, filepath.FromSlash(rel)), filepath.Join(tmp, filepath.FromSlash(rel)))
		if err != nil {
			return idx, "", fmt.Errorf("backup: %s: %w", rel, err)
		}
		f.Path = rel
		idx.Files = append(idx.Files, f)
	}
	idx.CreatedAt = time.Now().UTC().Format(time.RFC3339Nano)

	if fromClickHouse != nil {
		if err := copyFromClickHouse(&idx, tmp, fromClickHouse); err != nil {
			return idx, "", fmt.Errorf("backup: %w", err)
		}
	} else if err := checkRowsHeld(ctx, filepath.Join(tmp, databaseFile)); err != nil {
		return idx, "", fmt.Errorf("backup: %w", err)
	}

	// The snapshot's audit chain, and the release files it names.
	named, err := inspectSnapshot(ctx, filepath.Join(tmp, databaseFile), &idx.AuditChain)
	if err != nil {
		return idx, "", fmt.Errorf("backup: read the snapshot: %w", err)
	}

	for _, rel := range blobs {
		f, err := copyFile(filepath.Join(dataDir, filepath.FromSlash(rel)), filepath.Join(tmp, filepath.FromSlash(rel)), "")
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since we looked: not named by any release (start-up sweep)
		}
		if err != nil {
			return idx, "", fmt.Errorf("backup: %s: %w", rel, err)
		}
		if want := path.Base(rel); f.SHA256 != want {
			return idx, "", fmt.Errorf("backup: release file %s is damaged: its content has SHA-256 %s, not the %s it is stored under; restore that file from an earlier backup", rel, f.SHA256, want)
		}
		f.Path, f.Kind = rel, kindBlob
		idx.Files = append(idx.Files, f)
		delete(named, f.SHA256)
	}
	var missingPublic []string
	for sum, public := range named {
		if public {
			missingPublic = append(missingPublic, sum)
		} else {
			log.Warn("backup: a release file the database names is not in the blob store (an unpublished release's)", "sha256", sum)
		}
	}
	if len(missingPublic) > 0 {
		slices.Sort(missingPublic)
		return idx, "", fmt.Errorf("backup: the blob store lacks %d file%s of published releases (SHA-256 %s): the data folder is damaged", len(missingPublic), pluralS(len(missingPublic)), strings.Join(missingPublic, ", "))
	}

	for _, rel := range others {
		f, err := copyFile(filepath.Join(dataDir, filepath.FromSlash(rel)), filepath.Join(tmp, filepath.FromSlash(rel)), "")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return idx, "", fmt.Errorf("backup: %s: %w", rel, err)
		}
		log.Warn("backup: copied a file that is neither a database nor a release file as it is", "path", rel)
		f.Path, f.Kind = rel, kindFile
		idx.Files = append(idx.Files, f)
	}
	slices.SortFunc(idx.Files, func(a, b backupFile) int { return strings.Compare(a.Path, b.Path) })

	raw, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return idx, "", err
	}
	raw = append(raw, '\n')
	if err := writeSynced(filepath.Join(tmp, backupJSON), raw); err != nil {
		return idx, "", fmt.Errorf("backup: %w", err)
	}
	if err := syncTree(tmp); err != nil {
		return idx, "", fmt.Errorf("backup: %w", err)
	}
	if err := moveIntoPlace(tmp, out); err != nil {
		return idx, "", fmt.Errorf("backup: %w", err)
	}
	done = true
	sum := sha256.Sum256(raw)
	return idx, hex.EncodeToString(sum[:]), nil
}

// copyFromClickHouse fills the snapshot of candour.db in tmp with what
// ClickHouse holds of its releases and records its new size and hash.
func copyFromClickHouse(idx *backupIndex, tmp string, copyInto func(snapshot string) (*backupClickHouse, error)) error {
	snapshot := filepath.Join(tmp, databaseFile)
	var err error
	if idx.ClickHouse, err = copyInto(snapshot); err != nil {
		return err
	}
	f, err := hashFile(snapshot)
	if err != nil {
		return err
	}
	for i := range idx.Files {
		if idx.Files[i].Path == databaseFile {
			idx.Files[i].Bytes, idx.Files[i].SHA256 = f.Bytes, f.SHA256
		}
	}
	return nil
}

// snapshotDatabase writes a consistent copy of the live SQLite database src
// to dst with VACUUM INTO (which reads one snapshot, however the server
// writes meanwhile), syncs it, and returns its size and hash.
func snapshotDatabase(ctx context.Context, src, dst string) (backupFile, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return backupFile{}, err
	}
	db, err := sql.Open("sqlite3", "file:"+src+"?_busy_timeout=10000")
	if err != nil {
		return backupFile{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return backupFile{}, fmt.Errorf("snapshot: %w", err)
	}
	if err := db.Close(); err != nil {
		return backupFile{}, err
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return backupFile{}, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return backupFile{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return backupFile{}, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return backupFile{}, err
	}
	return backupFile{Kind: kindDatabase, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, f.Close()
}

// inspectSnapshot reads a snapshot of candour.db (a plain file nobody
// writes): it verifies its audit chain into chain, and returns the SHA-256
// of every release file it names, each with whether a published release
// names it.
func inspectSnapshot(ctx context.Context, file string, chain *backupChain) (map[string]bool, error) {
	db, err := sql.Open("sqlite3", "file:"+file+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	log := auditsqlite.New(db)
	head, err := log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit log head: %w", err)
	}
	chain.Sequence, chain.Hash = head.Seq, head.Hash
	if _, err := auditlog.Verify(log.Entries(ctx, 0)); err != nil {
		chain.Problem = err.Error()
	} else {
		chain.Verifies = true
	}
	return cataloguesqlite.New(db, nil).FileHashes(ctx)
}

// copyFile copies src to dst (creating dst's folder), syncs it, and
// returns its size and SHA-256, computed from the bytes as they were
// copied. When want is not "", the copy fails if the hash differs.
func copyFile(src, dst, want string) (backupFile, error) {
	in, err := os.Open(src)
	if err != nil {
		return backupFile{}, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return backupFile{}, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return backupFile{}, err
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err != nil {
		return backupFile{}, err
	}
	f := backupFile{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if want != "" && f.SHA256 != want {
		return f, fmt.Errorf("SHA-256 %s, want %s", f.SHA256, want)
	}
	if err := out.Sync(); err != nil {
		return f, err
	}
	return f, out.Close()
}

func writeSynced(file string, b []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// syncTree syncs every folder under root, so the renames and creations
// inside it are durable before the whole is renamed into place.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}
