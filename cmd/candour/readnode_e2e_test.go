package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Markers of what a public snapshot must never hold: the drafts' (the
// e2e secrets), and an account's.
const (
	readNodeUser     = "secret-account-user"
	readNodeName     = "Zebedee SECRETACCOUNTNAME Quill"
	readNodePassword = "SECRETPASSWORD correct horse"
)

// TestReadNodeServesPublicSnapshot runs a publishing node on the demo data
// with two drafts and a signed-in account, then a read node on its public
// snapshot, and checks that the snapshot holds nothing it must not, that
// the read node serves the same public pages and no account pages, and
// that it follows a new publication within seconds.
func TestReadNodeServesPublicSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo; skipped with -short")
	}
	// Shorter waits; put back by the first cleanup registered, which runs
	// last, once the servers have stopped reading them.
	d, c, p, r := snapshotDebounce, snapshotRecheck, readNodePoll, readNodeRetireAfter
	t.Cleanup(func() { snapshotDebounce, snapshotRecheck, readNodePoll, readNodeRetireAfter = d, c, p, r })
	snapshotDebounce, snapshotRecheck, readNodePoll, readNodeRetireAfter = 200*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond, time.Second

	data := filepath.Join(t.TempDir(), "candour-data")
	pub := filepath.Join(data, publicDir)
	start := time.Now()
	s := startCandour(t, "demo", data)
	// (a) The publishing node writes a snapshot at start-up.
	first := waitForGeneration(t, pub, "")
	t.Logf("demo serving, with its first public snapshot %s, in %s", first, time.Since(start).Round(time.Millisecond))

	// Drafts with marker strings, imported by other processes (one-shot
	// commands), and an account with a password that signs in on the
	// publishing node.
	for _, d := range []string{"draft-new", "draft-version"} {
		if out, err := s.candour(t, "import", "release", filepath.Join("testdata", d, "descriptor.json")); err != nil || !strings.Contains(out, "state checked") {
			t.Fatalf("import %s: %v\n%s", d, err, out)
		}
	}
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(readNodePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := s.candour(t, "user", "add", readNodeUser, "--role", "publisher", "--name", readNodeName, "--org", "nhs-england", "--password-file", pwFile); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	newBrowser(t, s).login(readNodeUser, readNodePassword)
	if out, err := s.candour(t, "user", "token", readNodeUser, "--label", "SECRETTOKENLABEL"); err != nil {
		t.Fatalf("user token: %v\n%s", err, out)
	}
	// None of that is a public change, but each wrote to the audit log
	// (the token last, after the sign-in), whose public export shows every
	// entry: the publishing node sees its new head and writes a snapshot.
	var head int64
	var sessions int
	src := openSnapshotDB(t, filepath.Join(data, databaseFile)+"?mode=ro")
	src.QueryRow(`SELECT max(seq) FROM audit_log`).Scan(&head)
	src.QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions)
	if sessions == 0 {
		t.Fatal("the sign-in left no session: the snapshot check would prove little")
	}
	start = time.Now()
	second := first
	for {
		second = waitForGeneration(t, pub, second)
		idx, err := checkSnapshot(filepath.Join(pub, snapshotsDir, second), second)
		if err != nil {
			t.Fatal(err)
		}
		if idx.Audit.Sequence >= head {
			break
		}
	}
	t.Logf("snapshot %s, with the drafts and the account in the source, written %s after them", second, time.Since(start).Round(time.Millisecond))
	snap := filepath.Join(pub, snapshotsDir, second)

	// (b) Nothing private in the snapshot.
	t.Run("snapshot holds nothing private", func(t *testing.T) {
		markers := append(slices.Clone(secrets), "SECRETTITLE2", "SECRETPERIOD", readNodeUser, "SECRETACCOUNTNAME", readNodePassword,
			"SECRETTOKENLABEL", "$argon2id$")
		found := scanSnapshot(t, snap, markers)
		for m, where := range found {
			t.Errorf("the public snapshot holds %q (%s)", m, strings.Join(where, ", "))
		}
		db := openSnapshotDB(t, filepath.Join(snap, databaseFile))
		tables := map[string]bool{}
		names, err := tableNames(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			tables[n] = true
		}
		for name := range privateTables {
			if tables[name] {
				t.Errorf("the snapshot has the private table %s", name)
			}
		}
		for _, n := range []string{"users", "sessions", "api_tokens", "login_attempts"} {
			if tables[n] {
				t.Errorf("the snapshot has table %s", n)
			}
		}
		var originals, unlisted int
		db.QueryRow(`SELECT count(*) FROM release_files WHERE role <> 'public'`).Scan(&originals)
		db.QueryRow(`SELECT count(*) FROM releases WHERE state NOT IN ('published', 'superseded', 'withdrawn')`).Scan(&unlisted)
		if originals != 0 || unlisted != 0 {
			t.Errorf("the snapshot records %d original files and %d unlisted releases", originals, unlisted)
		}

		// The release files are exactly the public files of releases whose
		// content is public, and no file of any other release (nor any
		// original) is there, or even named.
		want := hashSet(t, src, `SELECT DISTINCT f.sha256 FROM release_files f JOIN releases r ON r.id = f.release_id
			WHERE f.role = 'public' AND r.state IN ('published', 'superseded')`)
		private := hashSet(t, src, `SELECT DISTINCT f.sha256 FROM release_files f JOIN releases r ON r.id = f.release_id
			WHERE f.role <> 'public' OR r.state NOT IN ('published', 'superseded', 'withdrawn')`)
		var unpublished int
		src.QueryRow(`SELECT count(*) FROM releases WHERE state NOT IN ('published', 'superseded', 'withdrawn')`).Scan(&unpublished)
		if unpublished < 2 || len(private) < 3 {
			t.Fatalf("the source holds %d unpublished releases and %d private files: the check would prove little", unpublished, len(private))
		}
		got := map[string]bool{}
		filepath.WalkDir(filepath.Join(snap, blobsDir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				got[d.Name()] = true
			}
			return err
		})
		if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(want)) {
			t.Errorf("the snapshot's release files are %v, want the public files of published releases %v", sortedKeys(got), sortedKeys(want))
		}
		raw, err := os.ReadFile(filepath.Join(snap, databaseFile))
		if err != nil {
			t.Fatal(err)
		}
		for sum := range private {
			if want[sum] {
				continue // the same bytes are also a published file (disclosure control changed nothing)
			}
			if got[sum] || bytes.Contains(raw, []byte(sum)) {
				t.Errorf("the snapshot holds or names file %s of an unpublished release or an original", sum)
			}
		}
	})

	// (c) A read node on the snapshot serves the same public pages.
	start = time.Now()
	rn := startCandour(t, "serve", pub, "--read-only", "--log-level", "info")
	t.Logf("read node serving in %s", time.Since(start).Round(time.Millisecond))
	t.Run("same public pages", func(t *testing.T) {
		start := time.Now()
		pages := crawl(t, s, 250)
		extra := []string{"/calendar", "/calendar.ics", "/transparency", "/transparency/audit-log.jsonl", "/register", "/register.csv",
			"/sitemap.xml", "/feeds/releases.atom", "/feeds/releases.rss", "/catalog.jsonld", "/indicators", "/audits", "/api",
			"/api/v1/datasets", "/api/v1/organisations?limit=20", "/api/v1/indicators", "/api/3/action/package_list",
			"/search?q=cancer", "/search?q=mortality", "/api/v1/search?q=hospital", "/pages/about", "/healthz"}
		for _, u := range extra {
			if _, ok := pages[u]; !ok {
				status, body, _ := s.get(t, u)
				if status != http.StatusOK {
					t.Errorf("publishing node: %s answered %d", u, status)
					continue
				}
				pages[u] = body
			}
		}
		compared := comparePages(t, s, rn, pages)
		t.Logf("compared %d pages (%d crawled, downloads included) in %s", compared, len(pages), time.Since(start).Round(time.Millisecond))
	})

	// (d) No accounts on the read node.
	t.Run("no accounts on the read node", func(t *testing.T) {
		for _, u := range []string{"/account/login", "/workspace", "/workspace/", "/workspace/submit", "/workspace/register", "/workspace/releases/1"} {
			if status, _, _ := rn.get(t, u); status != http.StatusNotFound {
				t.Errorf("read node: GET %s answered %d, want 404", u, status)
			}
			if status, _, _ := s.get(t, u); status == http.StatusNotFound {
				t.Errorf("publishing node: GET %s answered 404: the contrast proves nothing", u)
			}
		}
		for _, u := range []string{"/account/login", "/account/logout", "/api/v1/submissions", "/workspace/submit"} {
			resp, err := http.PostForm(rn.base+u, url.Values{"username": {readNodeUser}, "password": {readNodePassword}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("read node: POST %s answered %d, want 404", u, resp.StatusCode)
			}
		}
	})

	// (e) A publication reaches the read node within seconds.
	t.Run("follows a publication", func(t *testing.T) {
		publishThroughWorkflow(t, s, map[string]int{"winter-pressures-secret": 1, "cancer-waiting-times-by-provider": 2})
		published := time.Now()
		const page = "/datasets/winter-pressures-secret/releases/1"
		for {
			status, _, _ := rn.get(t, page)
			if status == http.StatusOK {
				break
			}
			if time.Since(published) > 60*time.Second {
				t.Fatalf("the read node does not serve %s 60 s after its publication\nread node log:\n%s", page, rn.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("the read node served the new release %s after its publication", time.Since(published).Round(time.Millisecond))
		for _, log := range []string{s.stderr.String(), rn.stderr.String()} {
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, "public snapshot") {
					t.Log(line)
				}
			}
		}
		if !strings.Contains(rn.stderr.String(), "public snapshot changed") {
			t.Errorf("the read node did not log the change of snapshot:\n%s", rn.stderr)
		}
		pages := map[string]string{}
		for _, u := range []string{"/", page, "/datasets/winter-pressures-secret", "/datasets/winter-pressures-secret/releases/1/files/secret-pressures.csv",
			"/datasets/cancer-waiting-times-by-provider", "/datasets/cancer-waiting-times-by-provider/releases/2",
			"/organisations/ZZZ99", "/transparency", "/transparency/audit-log.jsonl", "/calendar", "/search?q=SECRETTITLE"} {
			pages[u] = s.mustGet(t, u)
		}
		comparePages(t, s, rn, pages)
		// Positive control: the markers absent before are in the new
		// snapshot, so the scan above could have found them.
		gen, err := readCurrent(pub)
		if err != nil {
			t.Fatal(err)
		}
		if gen == second {
			t.Errorf("the publication wrote no new public snapshot (CURRENT still names %s)", gen)
		}
		found := scanSnapshot(t, filepath.Join(pub, snapshotsDir, gen), []string{"SECRETTITLE", "SECRET CLINIC", "SECRETROWVALUE"})
		if len(found) != 3 {
			t.Errorf("after publication the snapshot shows only %v of the draft markers: the scan could not tell", found)
		}

		// A withdrawal: the read node keeps the page with its reason and
		// the approval record, and the snapshot loses the release's data.
		var id int64
		src := openSnapshotDB(t, filepath.Join(data, databaseFile)+"?mode=ro")
		if err := src.QueryRow(`SELECT r.id FROM releases r JOIN datasets d ON d.id = r.dataset_id WHERE d.slug = 'winter-pressures-secret' AND r.version = 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		withdrawn := time.Now()
		ada := newBrowser(t, s)
		ada.login("admin", "demo-admin-password")
		mustAction(t, ada, fmt.Sprint(id), "withdraw", url.Values{"reason": {"Withdrawn by the read node test: WITHDRAWNREASON."}})
		for {
			if _, body, _ := rn.get(t, page); strings.Contains(body, "WITHDRAWNREASON") {
				break
			}
			if time.Since(withdrawn) > 60*time.Second {
				t.Fatalf("the read node does not show the withdrawal 60 s after it\nread node log:\n%s", rn.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("the read node showed the withdrawal %s after it", time.Since(withdrawn).Round(time.Millisecond))
		pages = map[string]string{}
		for _, u := range []string{"/", "/datasets", page, "/datasets/winter-pressures-secret", "/transparency", "/transparency/audit-log.jsonl",
			"/calendar", "/feeds/releases.atom", "/organisations/RR8", "/api/v1/datasets/winter-pressures-secret"} {
			pages[u] = s.mustGet(t, u)
		}
		comparePages(t, s, rn, pages)
		for _, u := range []string{"/datasets/winter-pressures-secret/releases/1/files/secret-pressures.csv", "/organisations/ZZZ99"} {
			if a, _, _ := s.get(t, u); a != http.StatusNotFound {
				t.Errorf("publishing node: %s answered %d after the withdrawal, want 404", u, a)
			}
			if b, _, _ := rn.get(t, u); b != http.StatusNotFound {
				t.Errorf("read node: %s answered %d after the withdrawal, want 404", u, b)
			}
		}
		gen, err = readCurrent(pub)
		if err != nil {
			t.Fatal(err)
		}
		if found := scanSnapshot(t, filepath.Join(pub, snapshotsDir, gen), []string{"SECRET CLINIC", "WITHDRAWNREASON"}); len(found["SECRET CLINIC"]) > 0 || len(found["WITHDRAWNREASON"]) == 0 {
			t.Errorf("after the withdrawal the snapshot holds the withdrawn release's data, or not its reason: %v", found)
		}
	})
}

// waitForGeneration waits for CURRENT to name a generation other than
// previous and returns it.
func waitForGeneration(t *testing.T, pub, previous string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if gen, err := readCurrent(pub); err == nil && gen != previous {
			if _, err := os.Stat(filepath.Join(pub, snapshotsDir, gen, snapshotJSON)); err != nil {
				t.Fatalf("CURRENT names %s, which is not whole: %v", gen, err)
			}
			return gen
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new public snapshot in %s within 2 minutes (previous %q)", pub, previous)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func openSnapshotDB(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func hashSet(t *testing.T, db *sql.DB, query string) map[string]bool {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out[s] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scanSnapshot looks for each marker in every value of every table of the
// snapshot's database and in the bytes of every file under the snapshot,
// and returns where it found each.
func scanSnapshot(t *testing.T, dir string, markers []string) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	note := func(where string, b []byte) {
		for _, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				found[m] = append(found[m], where)
			}
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		note("file "+rel, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db := openSnapshotDB(t, filepath.Join(dir, databaseFile)+"?mode=ro&immutable=1")
	tables, err := tableNames(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM ` + quoteIdent(table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case string:
					note("table "+table+"."+cols[i], []byte(v))
				case []byte:
					note("table "+table+"."+cols[i], v)
				}
			}
		}
		rows.Close()
	}
	for m, where := range found {
		slices.Sort(where)
		found[m] = slices.Compact(where)
	}
	return found
}

// comparePages fetches each page from the read node and compares it with
// the publishing node's body. What is node-specific is normalised first:
// each node's own address (sitemaps, feeds and linked data are absolute,
// and feeds and the calendar name the host), the calendar's DTSTAMP (the
// instant the file was made), and the order of search results (ranking
// reads the index's term statistics, and the publishing node's index also
// holds unpublished releases' documents, filtered out of every answer but
// counted): a search page's results are compared as a set when they fit
// on one page, and the rest of the page (counts, facets) byte for byte.
// Account and workspace pages are left out (test (d) covers them). It
// returns how many pages it compared.
func comparePages(t *testing.T, publishing, read *server, pages map[string]string) int {
	t.Helper()
	var urls []string
	for u := range pages {
		if strings.HasPrefix(u, "/account") || strings.HasPrefix(u, "/workspace") {
			continue
		}
		urls = append(urls, u)
	}
	sort.Strings(urls)
	n := 0
	for _, u := range urls {
		status, body, _ := read.get(t, u)
		if status != http.StatusOK {
			t.Errorf("read node: %s answered %d; the publishing node 200", u, status)
			continue
		}
		want := normalisePage(u, pages[u], publishing.base)
		got := normalisePage(u, body, read.base)
		if got != want {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s differs at byte %d:\n publishing node: %q\n read node:       %q", u, i, excerpt(want, i), excerpt(got, i))
			continue
		}
		n++
	}
	return n
}

var (
	dtstamp     = regexp.MustCompile(`DTSTAMP:[0-9]{8}T[0-9]{6}Z`)
	resultsList = regexp.MustCompile(`(?s)<ul class="nhsuk-list" id="results">.*?\n    </ul>`)
)

func normalisePage(u, body, base string) string {
	body = strings.ReplaceAll(body, base, "BASE")
	body = strings.ReplaceAll(body, strings.TrimPrefix(base, "http://"), "HOST")
	body = dtstamp.ReplaceAllString(body, "DTSTAMP:X")
	if strings.HasPrefix(u, "/search") {
		body = resultsList.ReplaceAllStringFunc(body, func(list string) string {
			if strings.Contains(body, "page=2") {
				return "RESULTS (more than a page: order and membership of page 1 depend on ranking)"
			}
			lines := strings.Split(list, "\n")
			slices.Sort(lines)
			return strings.Join(lines, "\n")
		})
	}
	return body
}

func excerpt(s string, i int) string {
	from, to := max(i-80, 0), min(i+80, len(s))
	return s[from:to]
}
