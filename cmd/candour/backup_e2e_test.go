package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// publicState is what the public sees of a catalogue: machine-readable
// listings (with the server's address taken out) and the SHA-256 of every
// published release file, downloaded.
type publicState struct {
	pages map[string]string
	files map[string]string // download path -> SHA-256 of the bytes served
}

func readPublicState(t *testing.T, s *server) publicState {
	t.Helper()
	st := publicState{pages: map[string]string{}, files: map[string]string{}}
	for _, p := range []string{"/api/v1/datasets?limit=100", "/catalog.jsonld"} {
		st.pages[p] = strings.ReplaceAll(s.mustGet(t, p), s.base, "http://candour.test")
	}
	var list struct {
		Items []struct {
			Slug   string `json:"slug"`
			Status string `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(st.pages["/api/v1/datasets?limit=100"]), &list); err != nil {
		t.Fatal(err)
	}
	for _, d := range list.Items {
		if d.Status != "published" {
			continue
		}
		var ds struct {
			Releases []struct {
				URL   string `json:"url"`
				State string `json:"state"`
			} `json:"releases"`
		}
		body := s.mustGet(t, "/api/v1/datasets/"+d.Slug)
		if err := json.Unmarshal([]byte(body), &ds); err != nil {
			t.Fatal(err)
		}
		for _, r := range ds.Releases {
			manifest := s.mustGet(t, r.URL+"/manifest.json")
			st.pages[r.URL+"/manifest.json"] = manifest
			var m struct {
				Files []struct {
					URL    string `json:"url"`
					SHA256 string `json:"sha256"`
				} `json:"files"`
			}
			if err := json.Unmarshal([]byte(manifest), &m); err != nil {
				t.Fatal(err)
			}
			for _, f := range m.Files {
				sum := sha256.Sum256([]byte(s.mustGet(t, f.URL)))
				got := hex.EncodeToString(sum[:])
				if got != f.SHA256 {
					t.Errorf("%s serves bytes with SHA-256 %s; its manifest says %s", f.URL, got, f.SHA256)
				}
				st.files[f.URL] = got
			}
		}
	}
	return st
}

// runCandour runs a one-shot command and returns its output.
func runCandour(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), append(args, "--log-level", "warn"), noEnv, &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestBackupAndRestore backs up the demo's data folder while a server is
// serving it and accounts are being added (so the database is written
// during the backup), restores the backup into an empty folder, serves
// that, and checks the public sees the same catalogue and the same release
// files and that the restored audit log verifies. It also checks the
// refusals: a backup into a folder that is not empty, and a restore of a
// backup with one file altered.
func TestBackupAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo; skipped with -short")
	}
	root := t.TempDir()
	dataDir := filepath.Join(root, "candour-data")
	s := startCandour(t, "demo", dataDir)

	// Write while the backup runs: each account added is a committed
	// transaction with its own audit entry.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes int
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		env := func(k string) string {
			if k == "CANDOUR_PASSWORD" {
				return "correct horse battery"
			}
			return ""
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{"user", "add", fmt.Sprintf("backup-writer-%d", i), "--role", "reviewer",
				"--data-dir", dataDir, "--log-level", "warn"}, env, &out, &errOut); err != nil {
				writeErr = fmt.Errorf("%v: %s", err, errOut.String())
				return
			}
			writes++
		}
	}()
	time.Sleep(200 * time.Millisecond)
	backupDir := filepath.Join(root, "backup")
	out, err := runCandour("backup", "--data-dir", dataDir, backupDir)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup while serving: %v\n%s", err, out)
	}
	if writeErr != nil {
		t.Fatalf("adding accounts during the backup: %v", writeErr)
	}
	t.Logf("%d accounts added while backing up; %s", writes, strings.TrimSpace(out))

	// backup.json lists every file with its size and SHA-256, and the chain
	// head of a chain that verifies.
	idx, err := readBackupIndex(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	if !idx.AuditChain.Verifies || idx.AuditChain.Sequence == 0 || len(idx.AuditChain.Hash) != 64 {
		t.Errorf("backup.json's audit chain: %+v", idx.AuditChain)
	}
	kinds := map[string]int{}
	for _, f := range idx.Files {
		kinds[f.Kind]++
		b, err := os.ReadFile(filepath.Join(backupDir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Bytes {
			t.Errorf("backup.json's size or SHA-256 of %s is wrong", f.Path)
		}
		if f.Kind == kindBlob && filepath.Base(f.Path) != f.SHA256 {
			t.Errorf("release file %s has SHA-256 %s", f.Path, f.SHA256)
		}
		if strings.HasPrefix(f.Path, searchDir+"/") || strings.HasSuffix(f.Path, "-wal") {
			t.Errorf("the backup holds %s", f.Path)
		}
	}
	if kinds[kindDatabase] != 1 || kinds[kindBlob] == 0 {
		t.Errorf("the backup holds %v files by kind, want one database and the release files", kinds)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Errorf("beside the backup: %v, want only the data folder and the backup (no partial folder left)", entries)
	}

	before := readPublicState(t, s)
	s.stop()

	// Backing up into a folder that is not empty is refused, and changes
	// nothing in it.
	if out, err := runCandour("backup", "--data-dir", dataDir, backupDir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a backup into a folder that is not empty: %v\n%s", err, out)
	}

	// Restore into an empty folder, serve it: the same catalogue, the same
	// release files, and an audit log that verifies.
	restored := filepath.Join(root, "restored")
	if err := os.Mkdir(restored, 0o750); err != nil {
		t.Fatal(err)
	}
	out, err = runCandour("restore", backupDir, "--data-dir", restored)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if !strings.Contains(out, "The audit log verifies") {
		t.Errorf("restore did not verify the audit log:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(restored, searchDir)); err != nil {
		t.Errorf("restore did not rebuild the search index: %v", err)
	}
	if out, err := runCandour("audit", "verify", "--data-dir", restored); err != nil || !strings.Contains(out, "verifies") {
		t.Errorf("audit verify on the restored folder: %v\n%s", err, out)
	}
	r := startCandour(t, "serve", restored)
	after := readPublicState(t, r)
	for p, want := range before.pages {
		if got := after.pages[p]; got != want {
			t.Errorf("%s differs after the restore (%d bytes before, %d after)", p, len(want), len(got))
		}
	}
	if len(before.files) == 0 {
		t.Fatal("no release file downloaded")
	}
	for u, want := range before.files {
		if got := after.files[u]; got != want {
			t.Errorf("%s: SHA-256 %s after the restore, %s before", u, got, want)
		}
	}
	if len(after.files) != len(before.files) {
		t.Errorf("%d release files after the restore, %d before", len(after.files), len(before.files))
	}
	if status, body, _ := r.get(t, "/search?q=mortality"); status != http.StatusOK || !strings.Contains(body, "/datasets/shmi") {
		t.Errorf("search on the restored folder: %d, finds no SHMI", status)
	}
	r.stop()

	// A backup with one file altered is refused, naming the file, and
	// nothing is restored.
	altered := filepath.Join(root, "altered")
	copyFolder(t, backupDir, altered)
	var victim backupFile
	for _, f := range idx.Files {
		if f.Kind == kindBlob {
			victim = f
			break
		}
	}
	file := filepath.Join(altered, filepath.FromSlash(victim.Path))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(file, b, 0o640); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "from-altered")
	out, err = runCandour("restore", altered, "--data-dir", target)
	if err == nil || !strings.Contains(err.Error(), victim.Path) || !strings.Contains(err.Error(), "does not match backup.json") {
		t.Errorf("restore of a backup with %s altered: %v\n%s", victim.Path, err, out)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s behind: %v", target, err)
	}
	// Restoring into a folder that is not empty is refused.
	if out, err := runCandour("restore", backupDir, "--data-dir", restored); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a restore into a folder that is not empty: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 4 {
		t.Errorf("left in the test folder: %v, want the data folder, the backup, its altered copy and the restore", entries)
	}
}
