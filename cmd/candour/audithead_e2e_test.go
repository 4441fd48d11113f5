package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// releaseHead is a published release and the audit chain head its record
// keeps.
type releaseHead struct {
	slug    string
	version int
	seq     int64
	hash    string
}

// newestReleaseHead reads, from the data folder's database, the release
// whose recorded chain head is the newest.
func newestReleaseHead(t *testing.T, dataDir string) releaseHead {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dataDir, databaseFile)+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var h releaseHead
	if err := db.QueryRow(`SELECT d.slug, r.version, r.audit_head_seq, r.audit_head_hash FROM releases r
		JOIN datasets d ON d.id = r.dataset_id WHERE r.audit_head_seq > 0 ORDER BY r.audit_head_seq DESC LIMIT 1`).
		Scan(&h.slug, &h.version, &h.seq, &h.hash); err != nil {
		t.Fatalf("the newest release's audit chain head: %v", err)
	}
	return h
}

// copyFolder copies a data folder that no process has open.
func copyFolder(t *testing.T, from, to string) {
	t.Helper()
	if err := copyTree(from, to, nil); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the folder from into to, leaving out what skip (when
// not nil) names; a skipped folder is left out whole.
func copyTree(from, to string, skip func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		if skip != nil && skip(rel, d) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o750)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// TestAuditChainHeadDetectsTruncation publishes the demo's releases through
// the workflow, checks the newest one's manifest and the transparency page
// carry the chain head of its publication, and shows that removing the
// newest audit entries from a copy of the data folder makes candour audit
// verify fail naming that head, while the untouched folder verifies.
func TestAuditChainHeadDetectsTruncation(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo; skipped with -short")
	}
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	s := startCandour(t, "demo", dataDir)
	newest := newestReleaseHead(t, dataDir)
	releasePath := fmt.Sprintf("/datasets/%s/releases/%d", newest.slug, newest.version)

	// The manifest carries the head; it is the release's own publication
	// entry in the public audit log.
	var m struct {
		Version        int `json:"version"`
		AuditChainHead *struct {
			Sequence int64  `json:"sequence"`
			Hash     string `json:"hash"`
		} `json:"auditChainHead"`
	}
	if err := json.Unmarshal([]byte(s.mustGet(t, releasePath+"/manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	if m.AuditChainHead == nil || m.AuditChainHead.Sequence != newest.seq || m.AuditChainHead.Hash != newest.hash {
		t.Fatalf("%s/manifest.json carries the chain head %+v, want %d:%s", releasePath, m.AuditChainHead, newest.seq, newest.hash)
	}
	exported := s.mustGet(t, "/transparency/audit-log.jsonl")
	var publication struct {
		Seq    int64  `json:"seq"`
		Action string `json:"action"`
		Hash   string `json:"hash"`
	}
	for _, line := range strings.Split(strings.TrimSpace(exported), "\n") {
		if strings.Contains(line, `"seq":`+strconv.FormatInt(newest.seq, 10)+`,`) {
			if err := json.Unmarshal([]byte(line), &publication); err != nil {
				t.Fatal(err)
			}
		}
	}
	if publication.Action != "release.published" || publication.Hash != newest.hash {
		t.Errorf("audit log entry %d is %+v, want the release's publication with hash %s", newest.seq, publication, newest.hash)
	}
	if head := verifyExport(t, exported); head.Seq < newest.seq {
		t.Errorf("the exported chain ends at %d, before the newest publication's head %d", head.Seq, newest.seq)
	}
	// The transparency page shows the newest publication's head, and each
	// release's head where it lists them.
	transparency := s.mustGet(t, "/transparency")
	if !strings.Contains(transparency, `id="published-chain-seq">`+strconv.FormatInt(newest.seq, 10)+"<") || !strings.Contains(transparency, newest.hash) {
		t.Errorf("the transparency page does not show the newest publication's chain head %d:%s", newest.seq, newest.hash)
	}
	// The rows are the header and one per release; the newest head is shown
	// once more above the table.
	if got, want := strings.Count(transparency, "Entry "), strings.Count(transparency, `<tr class="nhsuk-table__row">`); got != want {
		t.Errorf("the transparency page shows %d chain heads, want one per listed release and the newest (%d)", got, want)
	}
	if page := s.mustGet(t, releasePath); !strings.Contains(page, `id="audit-chain-head"`) || !strings.Contains(page, newest.hash) {
		t.Errorf("%s does not show its chain head", releasePath)
	}
	s.stop()

	// The untouched folder verifies, with every manifest's head and one
	// given by hand.
	head := fmt.Sprintf("%d:%s", newest.seq, newest.hash)
	if out, err := s.candour(t, "audit", "verify", "--expect-head", head); err != nil || !strings.Contains(out, "verifies") || !strings.Contains(out, "all found in it") {
		t.Fatalf("audit verify on the untouched folder: %v\n%s", err, out)
	}

	// Remove the newest entries, from the newest publication's on, in a copy.
	copied := filepath.Join(t.TempDir(), "truncated")
	copyFolder(t, dataDir, copied)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(copied, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	var removed int64
	if _, err := db.Exec(`DROP TRIGGER audit_log_no_delete`); err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`DELETE FROM audit_log WHERE seq >= ?`, newest.seq)
	if err != nil {
		t.Fatal(err)
	}
	if removed, _ = res.RowsAffected(); removed == 0 {
		t.Fatal("no audit entry removed")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("removed the newest %d audit entries, from entry %d on", removed, newest.seq)
	verify := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"audit", "verify", "--data-dir", copied, "--log-level", "warn"}, args...), noEnv, &out, &errOut)
		return out.String() + errOut.String(), err
	}

	// What is left is a valid chain: only the heads kept outside it show
	// that it was cut short.
	if out, err := verify("--release-heads=false"); err != nil {
		t.Fatalf("the truncated chain on its own: %v\n%s", err, out)
	}
	out, err := verify()
	if err == nil {
		t.Fatalf("audit verify passed on a log whose newest %d entries were removed:\n%s", removed, out)
	}
	for _, want := range []string{
		fmt.Sprintf("entry %d with hash %s", newest.seq, newest.hash),
		fmt.Sprintf("release %s version %d", newest.slug, newest.version),
		"removed from its end",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the failure does not say %q:\n%v", want, err)
		}
	}
	// A head given by hand is checked the same way.
	if _, err := verify("--release-heads=false", "--expect-head", head); err == nil || !strings.Contains(err.Error(), "--expect-head "+head) {
		t.Errorf("--expect-head %s on the truncated log: %v, want a failure naming it", head, err)
	}
}
