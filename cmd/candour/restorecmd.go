package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/candour/candour/publisher/auditlog"
)

const restoreSummary = `Restores a backup made by candour backup into a data folder that does
not exist or is empty (--data-dir), then checks it:

  1. backup.json is read and every file it lists is checked against its
     recorded size and SHA-256 as it is copied; a file that is missing,
     altered or not listed refuses the whole restore, naming the file, and
     nothing is left behind;
  2. the files are written into a hidden folder beside the data folder,
     the database is brought up to this program's schema (as serve would),
     the search index is rebuilt from it, and the folder is renamed into
     place only when all of that succeeded;
  3. the audit log of the restored folder is verified as candour audit
     verify does: the whole chain, the head each published release carries
     in its manifest, and the head backup.json recorded at the snapshot.

Restore with the same version of Candour that made the backup, or a newer
one; an older program refuses a database whose schema it does not know.
Run it with no server using the target folder.`

func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("restore", restoreSummary, "BACKUP", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return &usageError{"candour restore: want one BACKUP folder (see candour restore --help)"}
	}
	backup := rest[0]
	idx, err := readBackupIndex(backup)
	if err != nil {
		return err
	}
	if err := checkEmptyTarget("restore", cfg.DataDir); err != nil {
		return err
	}
	absBackup, err := filepath.Abs(backup)
	if err != nil {
		return err
	}
	absData, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if within(absData, absBackup) || within(absBackup, absData) {
		return fmt.Errorf("restore: the backup %s and the data folder %s must not contain each other", backup, cfg.DataDir)
	}
	log := cfg.logger(stderr)
	start := time.Now()

	tmp, err := partialDir(cfg.DataDir, "restoring")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	var total int64
	for _, f := range idx.Files {
		src := filepath.Join(backup, filepath.FromSlash(f.Path))
		got, err := copyFile(src, filepath.Join(tmp, filepath.FromSlash(f.Path)), "")
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore: the backup is incomplete: %s is listed in backup.json but missing; nothing was restored", f.Path)
		}
		if err != nil {
			return fmt.Errorf("restore: %s: %w", f.Path, err)
		}
		if got.SHA256 != f.SHA256 || got.Bytes != f.Bytes {
			return fmt.Errorf("restore: the backup's file %s does not match backup.json (%d bytes with SHA-256 %s, recorded %d bytes with SHA-256 %s): it was altered or damaged; nothing was restored",
				f.Path, got.Bytes, got.SHA256, f.Bytes, f.SHA256)
		}
		total += got.Bytes
	}

	// Open the restored folder as serve would (applying any newer
	// migrations), and rebuild the search index the backup left out.
	tcfg := cfg
	tcfg.DataDir = tmp
	a, err := openApp(ctx, tcfg, log)
	if err != nil {
		return fmt.Errorf("restore: open the restored database: %w", err)
	}
	idxStart := time.Now()
	search, err := a.buildSearch(ctx)
	if err == nil {
		search.Close()
	}
	a.Close()
	if err != nil {
		return fmt.Errorf("restore: rebuild the search index: %w", err)
	}
	log.Info("search index rebuilt", "took", time.Since(idxStart).Round(time.Millisecond))
	if err := syncTree(tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := moveIntoPlace(tmp, cfg.DataDir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	done = true
	fmt.Fprintf(stdout, "Restored %d files (%s) from %s into %s in %s; search index rebuilt.\n",
		len(idx.Files), humanBytes(total), backup, cfg.DataDir, time.Since(start).Round(time.Millisecond))

	// Verify the restored audit log, with the head the backup recorded.
	a, err = openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	var expected []auditlog.KnownHead
	if idx.AuditChain.Sequence > 0 {
		expected = append(expected, auditlog.KnownHead{Head: auditlog.Head{Seq: idx.AuditChain.Sequence, Hash: idx.AuditChain.Hash},
			Source: "the backup's backup.json (" + backup + ")"})
	}
	head, checked, err := a.verifyAudit(ctx, true, expected)
	if err != nil {
		return fmt.Errorf("restore: the files are restored into %s, but %w; investigate before serving it", cfg.DataDir, err)
	}
	fmt.Fprintf(stdout, "The audit log verifies: %d entries, chain head %s; it holds all %d chain heads recorded outside it.\n",
		head.Seq, head.Hash, checked)
	return nil
}

// readBackupIndex reads and checks a backup's backup.json: its format, and
// that it and the folder list the same files, each at a safe path.
func readBackupIndex(backup string) (backupIndex, error) {
	var idx backupIndex
	raw, err := os.ReadFile(filepath.Join(backup, backupJSON))
	if errors.Is(err, fs.ErrNotExist) {
		return idx, fmt.Errorf("restore: %s holds no backup.json: it is not a whole backup made by candour backup", backup)
	}
	if err != nil {
		return idx, fmt.Errorf("restore: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&idx); err != nil {
		return idx, fmt.Errorf("restore: %s/backup.json: %w", backup, err)
	}
	if idx.Format != backupFormat {
		return idx, fmt.Errorf("restore: %s/backup.json is format %q; this program reads %q", backup, idx.Format, backupFormat)
	}
	listed := map[string]bool{}
	hasDatabase := false
	for _, f := range idx.Files {
		native := filepath.FromSlash(f.Path)
		if !filepath.IsLocal(native) || strings.Contains(f.Path, "\\") || f.Path == backupJSON {
			return idx, fmt.Errorf("restore: backup.json lists %q, which is not a path inside the backup", f.Path)
		}
		if listed[f.Path] {
			return idx, fmt.Errorf("restore: backup.json lists %s twice", f.Path)
		}
		if len(f.SHA256) != 64 || f.Bytes < 0 {
			return idx, fmt.Errorf("restore: backup.json: %s has no valid size and SHA-256", f.Path)
		}
		listed[f.Path] = true
		hasDatabase = hasDatabase || f.Path == databaseFile
	}
	if !hasDatabase {
		return idx, fmt.Errorf("restore: backup.json lists no %s", databaseFile)
	}
	// Nothing may have been added to the backup: it would be restored
	// unchecked.
	err = filepath.WalkDir(backup, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(backup, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() || rel == backupJSON {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("the backup holds %s, which is not a regular file; nothing was restored", rel)
		}
		if !listed[rel] {
			return fmt.Errorf("the backup holds %s, which backup.json does not list: it was added after the backup was made; nothing was restored", rel)
		}
		return nil
	})
	if err != nil {
		return idx, fmt.Errorf("restore: %w", err)
	}
	return idx, nil
}
