package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// TestEmbargoCrawler proves that no byte of an unpublished release appears
// on any public surface before its embargo instant, and that all of it
// appears after.
//
// It builds a data folder holding published releases and, beside them, a
// release in every state the workflow has before publication, each with
// its own marker strings (dataset title and slug, release title, summary,
// change notes, quality statement, period, a value in every row, an
// organisation code and name, a new name for a published organisation,
// file names, an indicator, a clinical audit and a consultant, a
// correction notice), the SHA-256 of every file as submitted and as made
// public, and a row count that no public file has and that no row number
// of a file published during the test reaches:
//
//	drf  draft: a submission that stopped after storing its files and rows
//	     (what a crash leaves until start-up recovery removes it; written
//	     through the stores, as the running server cannot be stopped there)
//	chk  checked
//	prv  in provider preview
//	rev  in panel review, with one approval and an indicator
//	apr  approved, with a clinical audit, its dataset announced on the
//	     calendar (provisional month)
//	sna  scheduled: the first release of a new dataset, with an indicator
//	     and a clinical audit
//	snv  scheduled: version 2 of a published dataset, correcting version 1
//	     (so version 1 becomes superseded at the embargo), with new values
//	     for that dataset's published indicator
//	rej  rejected by a panel member
//	can  cancelled after one approval
//	wdn  published and then withdrawn: its values and files must be gone
//	     (its page, title and reason stay, by design)
//
// It crawls every public URL it can reach from the home page and the
// machine surfaces (the APIs, with every status filter; CKAN actions;
// feeds, with their dataset, publisher and topic filters; the sitemap and
// every address in it; DCAT; the calendar and its twins; the transparency
// page and audit log export; the register; search pages, facet links and
// typeahead for every marker; error pages), plus guessed URLs: every
// version of every dataset up to two past its newest, each unpublished
// file, manifest, datapackage, CSVW metadata, rows export and API rows,
// release and submission ids, organisation codes, indicator ids, and
// conditional requests naming the unpublished files' SHA-256 (the only
// place a route takes a hash: the download ETag; no route takes a blob id).
// It crawls with the page cache on and then again on a second server, with
// the page cache off and a search index rebuilt from the database, serving
// a backup of the same folder restored elsewhere (a second server cannot
// share the folder: the running server holds the search index's lock).
// Searches for markers must find nothing and count nothing in any facet;
// the kind facet's count of releases for a word all release titles share
// must count only published releases; the corrected dataset's indicator
// values and a renamed organisation must read exactly as before; and
// another organisation's publisher, with an API token, must be shown none
// of it either.
//
// /metrics is left out: it holds counters labelled by route pattern,
// method and status, never a release's content, and reading it while
// other requests are served is at present a data race (the method label
// keeps fiber's unsafe view of a request buffer that a later request
// rewrites, so the registry also comes to hold two series labelled "GETT"
// and answers 500).
//
// What is announced and what is embargoed. architecture.md §1 ("What the
// embargo covers") makes a release calendar entry — the dataset, the period
// covered, the provisional month or confirmed date, reasons for a change of
// date — public from its announcement, and the catalogue lists a dataset
// with a calendar entry so that the calendar can link to it
// (cataloguesqlite/visibility.go). So for the two scheduled releases and
// the announced approved one, the dataset's catalogue entry (title, slug,
// summary, description) and the period label are announced and may appear
// before the embargo. Everything else is embargoed and must not: the
// release's title and summary (they differ from the calendar entry),
// change notes, quality statement, correction notice, values, organisation
// codes and names, file names, file hashes, row counts, indicator
// definitions and values, and the release's own address. For every other
// unpublished release nothing at all is announced. The original
// (pre-disclosure-control) files' hashes are never public, even after
// publication.
//
// The audit log export is public in full only for published releases:
// entries about any other release keep their header (sequence, instant,
// actor, action, release id, payload hash, chain links), so that the chain
// still verifies, but lose their files and details (publisher.WriteAuditLog,
// auditlog.Entry.Redacted). The test asserts exactly that promise, and that
// the chain verifies from the export alone.
//
// The scheduled releases are first scheduled ten minutes ahead, so that
// however slow the machine the crawls finish well before the embargo; they
// are then rescheduled (with a reason, as the calendar requires) a few
// seconds ahead, and the server's own scheduler publishes them. After the
// embargo the crawl runs again: every marker of the scheduled releases
// must now appear somewhere (so the absence before means something), and
// the other releases' markers must still appear nowhere.
func TestEmbargoCrawler(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a catalogue and crawls it three times; skipped with -short")
	}
	began := time.Now()
	last := began
	lap := func(what string) {
		t.Logf("%-58s %6.1f s (%5.1f s in all)", what, time.Since(last).Seconds(), time.Since(began).Seconds())
		last = time.Now()
	}
	root := t.TempDir()
	dataDir := filepath.Join(root, "candour-data")
	addAccounts(t, dataDir, []account{
		{"pam", "publisher", embPublisher}, {"rita", "reviewer", ""}, {"rob", "reviewer", "other-body"},
		{"ada", "administrator", ""}, {"olga", "publisher", "other-stats"},
	})
	pamToken, olgaToken := embToken(t, dataDir, "pam"), embToken(t, dataDir, "olga")
	// The crawl makes far more API requests than one client may in a
	// minute; the limit is not what is under test.
	s := startCandour(t, "serve", dataDir, "--api-rate", "0", "--websub-private-callbacks", "true")
	pam, rita, rob, ada := newBrowser(t, s), newBrowser(t, s), newBrowser(t, s), newBrowser(t, s)
	for b, name := range map[*browser]string{pam: "pam", rita: "rita", rob: "rob", ada: "ada"} {
		b.login(name, "correct horse battery")
	}

	lap("accounts and server")

	// The public part: a baseline dataset (version 1 published, with an
	// indicator) and a release published and then withdrawn.
	base := &embRelease{key: "bas", slug: "emb-baseline", rows: 120, indicator: "emb-base-ind", indicatorYear: 2021}
	wdn := &embRelease{key: "wdn", slug: "emb-withdrawn", rows: 1013}
	for _, r := range []*embRelease{base, wdn} {
		r.submit(t, s, pamToken)
		mustAction(t, pam, r.ids(), "send-to-review", nil)
		embReview(t, rita, r.ids(), "approve", "")
		embReview(t, rob, r.ids(), "approve", "")
	}
	embSchedule(t, pam, []*embRelease{base, wdn}, time.Now().Add(2*time.Second))
	embAwaitPublication(t, s, base, wdn)
	mustAction(t, ada, wdn.ids(), "withdraw", url.Values{"reason": {"Withdrawn by the embargo crawler test."}})
	if status, _, _ := s.get(t, wdn.path()+"/files/"+wdn.fileNames()[0]); status == http.StatusOK {
		t.Fatalf("the withdrawn release's file is still served")
	}
	lap("baseline and withdrawn release published")
	// What the public sees of the baseline's indicator and of an
	// organisation the unpublished releases rename; it must not change
	// until the correction is published.
	frozen := map[string]string{}
	for _, u := range []string{"/api/v1/indicators/emb-base-ind/observations", "/api/v1/indicators/emb-base-ind/observations?organisation=RR8",
		"/api/v1/organisations/RR8", "/indicators/emb-base-ind/download.csv"} {
		frozen[u] = s.mustGet(t, u)
	}

	// The unpublished releases, one in every state.
	mk := func(key string, rows int) *embRelease {
		return &embRelease{key: key, slug: "emq" + key + "slgz", rows: rows, newDataset: true}
	}
	drf, chk, prv, rev, apr := mk("drf", 1187), mk("chk", 1291), mk("prv", 1373), mk("rev", 1459), mk("apr", 1567)
	sna, rej, can := mk("sna", 1103), mk("rej", 1847), mk("can", 1931)
	rev.indicator, rev.indicatorYear = "emqrevindz", 2020
	sna.indicator, sna.indicatorYear = "emqsnaindz", 2019
	sna.audit, apr.audit = true, true
	snv := &embRelease{key: "snv", slug: base.slug, rows: 1151, corrects: 1, indicator: base.indicator, indicatorYear: 2022}
	unpublished := []*embRelease{drf, chk, prv, rev, apr, sna, snv, rej, can}
	scheduled := []*embRelease{sna, snv}
	still := []*embRelease{drf, chk, prv, rev, apr, rej, can}

	drf.storeStuckDraft(t, dataDir)
	for _, r := range unpublished[1:] {
		r.submit(t, s, pamToken)
	}
	mustAction(t, pam, prv.ids(), "preview", url.Values{"until-date": {time.Now().In(london()).AddDate(0, 0, 2).Format("2006-01-02")}})
	for _, r := range []*embRelease{rev, apr, sna, snv, rej, can} {
		mustAction(t, pam, r.ids(), "send-to-review", nil)
	}
	embReview(t, rita, rev.ids(), "approve", "")
	for _, r := range []*embRelease{apr, sna, snv} {
		embReview(t, rita, r.ids(), "approve", "")
		embReview(t, rob, r.ids(), "approve", "")
	}
	embReview(t, rob, rej.ids(), "reject", "Rejected: "+rej.marker("rsn"))
	embReview(t, rob, can.ids(), "approve", "")
	mustAction(t, pam, can.ids(), "cancel", url.Values{"reason": {"Cancelled: " + can.marker("rsn")}})
	if status, body, _ := pam.post("/workspace/announce", url.Values{"csrf": {pam.token()}, "dataset": {apr.slug},
		"period": {apr.period()}, "month": {time.Now().In(london()).AddDate(0, 2, 0).Format("2006-01")}}); status != http.StatusSeeOther {
		t.Fatalf("announcing %s: %d %s", apr.slug, status, body)
	}
	embSchedule(t, pam, scheduled, time.Now().Add(10*time.Minute))
	apr.announced, sna.announced, snv.announced = true, true, true

	// A secret row count must be a number nothing public says by chance:
	// the counts above are above every row number of the files published
	// during the test, every value in them, and (checked here) the size
	// of every file that is or becomes public.
	for _, r := range []*embRelease{base, wdn, sna, snv} {
		for name, n := range r.bytes {
			for _, u := range unpublished {
				if u != r && n == int64(u.rows) {
					t.Fatalf("%s's %s is %d bytes, the %s release's secret row count: choose another count", r.key, name, n, u.key)
				}
			}
		}
	}

	// Every release is in the state it is meant to be in.
	want := map[*embRelease]catalogue.ReleaseState{drf: catalogue.StateDraft, chk: catalogue.StateChecked, prv: catalogue.StateInPreview,
		rev: catalogue.StateInReview, apr: catalogue.StateApproved, sna: catalogue.StateScheduled, snv: catalogue.StateScheduled,
		rej: catalogue.StateRejected, can: catalogue.StateCancelled, base: catalogue.StatePublished, wdn: catalogue.StateWithdrawn}
	embCheckStates(t, dataDir, want)
	lap(fmt.Sprintf("%d unpublished releases, %d markers", len(unpublished), embCountMarkers(unpublished)))

	// Before the embargo: the server with its page cache, then a second
	// server with none, on a restored backup of the same folder.
	seeds := embSeeds(unpublished, base, wdn)
	for u := range frozen {
		seeds = append(seeds, u)
	}
	before := embCrawl(t, s.base, seeds, embCrawlLimit)
	lap(fmt.Sprintf("crawl before, page cache on: %d URLs", len(before)))
	t.Logf("  %d seeds (entry points and guesses); answers: %s", len(seeds), embStatuses(before))
	embAssertAbsent(t, "before the embargo", before, unpublished, wdn)
	embAssertSearchEmpty(t, "before the embargo", before, unpublished)
	embAssertNoOracle(t, "before the embargo", before, unpublished)
	embAssertConditional(t, s.base, unpublished)
	embAssertOtherOrganisation(t, s, olgaToken, unpublished)
	embAssertAuditExport(t, before["/transparency/audit-log.jsonl"].body, unpublished, nil)
	embAssertAnnounced(t, before, []*embRelease{apr, sna, snv})
	for u, body := range frozen {
		if got := before[u]; got.body != body {
			t.Errorf("before the embargo, %s changed since the baseline was published:\n%s\nnow:\n%s", u, body, got.body)
		}
	}
	if n := embReleaseFacet(t, s.base); n != 1 {
		t.Errorf("before the embargo, the search's kind facet counts %d releases titled Quillfeather, want 1 (the published baseline)", n)
	}

	lap("checks of that crawl")

	backup := filepath.Join(root, "backup")
	if out, err := runCandour("backup", "--data-dir", dataDir, backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	copyDir := filepath.Join(root, "restored")
	if err := os.Mkdir(copyDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := runCandour("restore", backup, "--data-dir", copyDir); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	uncached := startCandour(t, "serve", copyDir, "--api-rate", "0", "--page-cache=false")
	lap("backup, restore, second server")
	second := embCrawl(t, uncached.base, seeds, embCrawlLimit)
	lap(fmt.Sprintf("crawl before, page cache off: %d URLs", len(second)))
	t.Logf("  answers: %s", embStatuses(second))
	embAssertAbsent(t, "before the embargo (no page cache)", second, unpublished, wdn)
	embAssertSearchEmpty(t, "before the embargo (no page cache)", second, unpublished)
	uncached.stop()
	lap("checks of that crawl")

	// WebSub: a subscriber to the scheduled dataset's feed and one to the
	// whole site's, with a secret; nothing reaches them before the embargo.
	hubSub := newWebSubSubscriber(t)
	datasetTopic := s.base + "/feeds/releases.atom?dataset=" + sna.slug
	siteTopic := s.base + "/feeds/releases.json"
	hubSub.subscribe(t, s.base, datasetTopic, "/dataset", "")
	hubSub.subscribe(t, s.base, siteTopic, "/site", "a shared secret")

	// A CKAN harvester's runs before the embargo: the second, asking for
	// what changed since the first began, fetches nothing. (The real
	// harvester asks from an hour before its last run; everything here
	// changed within the hour, so it would fetch all again, as it would
	// from CKAN itself.)
	firstRun := time.Now()
	harvested := ckanHarvest(t, s.base, nil, nil, time.Time{})
	names := harvestedNames(harvested)
	slices.Sort(names)
	// The announced datasets are public catalogue entries already.
	if want := []string{base.slug, wdn.slug, apr.slug, sna.slug}; !slices.Equal(names, slices.Sorted(slices.Values(want))) {
		t.Errorf("the first harvest before the embargo took %v, want %v", names, want)
	}
	secondRun := time.Now()
	if again := ckanHarvest(t, s.base, nil, nil, firstRun); len(again) != 0 {
		t.Errorf("a harvest of what changed since the first fetched %v", harvestedNames(again))
	}
	lap("CKAN harvests before the embargo")

	// The embargo: brought forward to a few seconds from now, and the
	// server's scheduler publishes both scheduled releases.
	for _, r := range scheduled {
		if !time.Now().Before(r.embargo) {
			t.Fatalf("the crawls took until after the first embargo (%s)", r.embargo)
		}
	}
	embargo := time.Now().Add(3 * time.Second).Truncate(time.Second)
	for _, r := range scheduled {
		mustAction(t, pam, r.ids(), "reschedule", url.Values{"date": {embargo.In(london()).Format("2006-01-02")},
			"time": {embargo.In(london()).Format("15:04:05")}, "reason": {"Brought forward by the embargo crawler test."}})
	}
	// Just before the instant, the release pages are still not there.
	for _, r := range scheduled {
		if status, _, _ := s.get(t, r.path()); status != http.StatusNotFound && time.Now().Before(embargo) {
			t.Errorf("%s answers %d before its embargo", r.path(), status)
		}
	}
	embAwaitPublication(t, s, sna, snv)
	if late := time.Since(embargo); late > 10*time.Second {
		t.Errorf("published %s after the embargo", late.Round(time.Millisecond))
	}
	delete(want, sna)
	delete(want, snv)
	want[base] = catalogue.StateSuperseded

	lap("embargo brought forward and passed")
	// WebSub: before the instant nothing was delivered; within seconds
	// after it both subscribers have the release, the site-wide one signed.
	for _, d := range hubSub.received() {
		if d.at.Before(embargo) {
			t.Errorf("WebSub delivered before the embargo (%s): %.200s", d.at.Format(time.RFC3339Nano), d.body)
		}
	}
	got := hubSub.awaitDelivery(t, sna.marker("ttl"), 15*time.Second)
	if late := got.at.Sub(embargo); late > 10*time.Second || late < 0 {
		t.Errorf("the WebSub delivery came %s after the embargo", late)
	}
	// The two subscribers' deliveries go out side by side: the second
	// may land a moment after the first.
	for deadline := time.Now().Add(15 * time.Second); len(hubSub.received()) < 2 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, d := range hubSub.received() {
		if strings.Contains(d.header.Get("Content-Type"), "json") && !websubSigned(d, "a shared secret") {
			t.Errorf("the site-wide delivery is not signed with the subscriber's secret: %q", d.header.Get("X-Hub-Signature"))
		}
		if !strings.Contains(strings.Join(d.header.Values("Link"), ","), `rel="hub"`) {
			t.Errorf("a delivery without the hub's Link: %v", d.header)
		}
		for _, u := range still {
			if strings.Contains(d.body, u.marker("ttl")) {
				t.Errorf("WebSub delivered the unpublished %s release", u.key)
			}
		}
	}
	if n := len(hubSub.received()); n < 2 {
		t.Errorf("%d WebSub deliveries, want one to each subscriber", n)
	}
	// The next harvest fetches exactly what the embargo published: the
	// new dataset and the corrected one, and for an organisation filter
	// only its own.
	changed := harvestedNames(ckanHarvest(t, s.base, nil, nil, secondRun))
	slices.Sort(changed)
	if wantChanged := []string{base.slug, sna.slug}; !slices.Equal(changed, wantChanged) {
		t.Errorf("the harvest after the embargo fetched %v, want %v", changed, wantChanged)
	}
	if other := ckanHarvest(t, s.base, []string{"other-stats"}, nil, secondRun); len(other) != 0 {
		t.Errorf("a harvest of another organisation fetched %v", harvestedNames(other))
	}
	if rest := ckanHarvest(t, s.base, nil, []string{embPublisher}, secondRun); len(rest) != 0 {
		t.Errorf("a harvest excluding %s fetched %v", embPublisher, harvestedNames(rest))
	}
	after := embCrawl(t, s.base, seeds, embCrawlLimit)
	lap(fmt.Sprintf("crawl after: %d URLs", len(after)))
	t.Logf("  answers: %s", embStatuses(after))
	embAssertAbsent(t, "after the embargo", after, still, wdn)
	embAssertSearchEmpty(t, "after the embargo", after, still)
	embAssertNoOracle(t, "after the embargo", after, still)
	embAssertPresent(t, after, scheduled)
	embAssertAuditExport(t, after["/transparency/audit-log.jsonl"].body, still, scheduled)
	for u, body := range frozen {
		if strings.Contains(u, "observations") && after[u].body == body {
			t.Errorf("after the embargo, %s still shows the baseline's values", u)
		}
	}
	if n := embReleaseFacet(t, s.base); n != 3 {
		t.Errorf("after the embargo, the search's kind facet counts %d releases titled Quillfeather, want 3", n)
	}
	embCheckStates(t, dataDir, want)
	lap("checks after")
}

// embCrawlLimit bounds each crawl.
const embCrawlLimit = 2500

// embPublisher is the organisation publishing every test dataset.
const embPublisher = "emb-stats"

// embRelease is one release of the test: its markers, files and where it
// is.
type embRelease struct {
	key     string // three letters naming the release's state, in every marker
	slug    string
	rows    int // data rows of its main file: a count no public file has
	version int
	id      int64
	// newDataset: the release creates its dataset, whose entry is then
	// as secret as the release (unless announced).
	newDataset bool
	// corrects is the version this release corrects (0: none).
	corrects int
	// indicator is the id of the indicator the release ships ("" for
	// none), computed from the year's file.
	indicator     string
	indicatorYear int
	// audit: the release ships a clinical audit (the hip fracture audit of
	// audit_e2e_test.go under the release's own name and consultant).
	audit bool
	// files are the submitted bytes by file name; publicSums and
	// originalSums their SHA-256 as published and as submitted.
	files        map[string]string
	publicSums   map[string]string
	originalSums map[string]string
	bytes        map[string]int64 // of the public files
	// announced: the dataset and period are on the public calendar.
	announced bool
	// embargo is the instant the release was first scheduled for.
	embargo time.Time
}

// marker is the release's marker of one kind: one word, lower case, that
// appears nowhere else.
func (r *embRelease) marker(kind string) string { return "emq" + r.key + kind + "z" }

func (r *embRelease) ids() string  { return strconv.FormatInt(r.id, 10) }
func (r *embRelease) path() string { return fmt.Sprintf("/datasets/%s/releases/%d", r.slug, r.version) }

func (r *embRelease) period() string {
	if r.key == "bas" {
		return "Quarter baseline"
	}
	return "Quarter " + r.marker("per")
}

func (r *embRelease) orgCode() string { return "Q" + strings.ToUpper(r.key) + "1" }

func (r *embRelease) fileNames() []string {
	names := []string{r.marker("fil") + "-rows.csv", r.marker("fil") + "-small.csv"}
	if r.key == "bas" {
		names = []string{"baseline-rows.csv", "baseline-small.csv"}
	}
	if r.indicator != "" {
		names = append(names, strings.TrimSuffix(names[0], "-rows.csv")+"-ind.csv")
	}
	if r.audit {
		names = append(names, strings.TrimSuffix(names[0], "-rows.csv")+"-audit.csv")
	}
	return names
}

// auditFile is the name of the audit's outcomes file ("" for none).
func (r *embRelease) auditFile() string {
	if !r.audit {
		return ""
	}
	names := r.fileNames()
	return names[len(names)-1]
}

// indicatorFile is the name of the indicator's file ("" for none).
func (r *embRelease) indicatorFile() string {
	for _, n := range r.fileNames() {
		if strings.HasSuffix(n, "-ind.csv") {
			return n
		}
	}
	return ""
}

// The schema of each release's main file: an organisation, an item and a
// count, published as they are.
const embRowsSchema = `{"fields": [
	{"name": "Code", "type": "string", "candour:role": "key", "constraints": {"required": true, "pattern": "[A-Z0-9]{3,5}"},
	 "candour:organisation": {"nameField": "Name"}},
	{"name": "Name", "type": "string", "candour:role": "dimension"},
	{"name": "Item", "type": "string", "candour:role": "key"},
	{"name": "Count", "type": "integer", "candour:role": "measure"}],
	"candour:disclosure": {"rule": "none", "reason": "Counts of activity, not of people."}}`

// orgNames are the organisations each release names: its own (code and
// name are markers), a published one under a new name (a marker), and two
// as published.
func (r *embRelease) orgNames() [][2]string {
	if r.key == "bas" {
		return [][2]string{{"RR8", "LEEDS TEACHING HOSPITALS"}, {"RX1", "NOTTINGHAM UNIVERSITY HOSPITALS"}, {"RA2", "ROYAL SURREY"}}
	}
	return [][2]string{{r.orgCode(), r.marker("org") + " CLINIC"}, {"RR8", "LEEDS " + r.marker("ren")},
		{"RX1", "NOTTINGHAM UNIVERSITY HOSPITALS"}, {"RA2", "ROYAL SURREY"}}
}

// makeFiles writes the release's files: the main file of r.rows rows (a
// marker in every row; counts of three digits, so no row count of the test
// appears in a value), a small file whose count of 3 disclosure control
// suppresses (so the public bytes differ from the original), and the
// indicator's and the audit's files when the release ships them.
func (r *embRelease) makeFiles() {
	names := r.fileNames()
	orgs := r.orgNames()
	var b strings.Builder
	b.WriteString("Code,Name,Item,Count\r\n")
	item := r.marker("row")
	if r.key == "bas" {
		item = "baseline"
	}
	for i := 1; i <= r.rows; i++ {
		o := orgs[i%len(orgs)]
		fmt.Fprintf(&b, "%s,%s,%s-%04d,%d\r\n", o[0], o[1], item, i, 100+(i*37)%900)
	}
	r.files = map[string]string{names[0]: b.String()}
	r.files[names[1]] = fmt.Sprintf("Code,Name,Patients\r\n%s,%s,3\r\n%s,%s,24\r\n%s,%s,1234\r\n",
		orgs[0][0], orgs[0][1], orgs[1][0], orgs[1][1], orgs[2][0], orgs[2][1])
	if r.indicator != "" {
		r.files[r.indicatorFile()] = periodCSV(r.indicatorYear)
	}
	if r.audit {
		r.files[r.auditFile()] = strings.ReplaceAll(e2eAuditCSV, "E2E Consultant Adams", "Consultant "+r.marker("cns"))
	}
	r.originalSums = map[string]string{}
	for name, content := range r.files {
		sum := sha256.Sum256([]byte(content))
		r.originalSums[name] = hex.EncodeToString(sum[:])
	}
}

// descriptor is the release's submission descriptor.
func (r *embRelease) descriptor() string {
	names := r.fileNames()
	title, summary, description := "Embargo crawler baseline", "Published before the test's releases.", "The baseline."
	if r.newDataset {
		title, summary, description = "Embargo crawler "+r.marker("dst"), "Summary "+r.marker("dsm"), "Description "+r.marker("dsd")
	} else if r.key == "wdn" {
		title, summary, description = "Embargo crawler withdrawn", "Published, then withdrawn.", "Withdrawn."
	}
	release := map[string]any{
		"title": "Quillfeather " + r.marker("ttl"), "summary": "Summary " + r.marker("sum"), "periodLabel": r.period(),
		"changeNotes": "Notes " + r.marker("not"), "quality": map[string]string{"coverage": "Coverage " + r.marker("cov")},
	}
	if r.key == "bas" {
		release = map[string]any{"title": "Quillfeather baseline", "periodLabel": r.period()}
	}
	if r.corrects != 0 {
		release["corrects"] = r.corrects
		release["correctionNotice"] = "Correction " + r.marker("cor")
	}
	resources := []map[string]any{
		{"name": r.key + "-rows", "path": names[0], "schema": json.RawMessage(embRowsSchema)},
		{"name": r.key + "-small", "path": names[1], "schema": json.RawMessage(e2eSchema)},
	}
	d := map[string]any{
		"dataset": map[string]any{"slug": r.slug, "title": title, "summary": summary, "description": description,
			"publisher": map[string]string{"slug": embPublisher, "name": "Embargo Test Statistics"},
			"topics":    []string{"Embargo testing"}, "frequency": "Quarterly", "granularity": "NHS trust"},
		"release": release,
	}
	if r.indicator != "" {
		resources = append(resources, map[string]any{"name": r.key + "-ind", "path": r.indicatorFile(), "schema": json.RawMessage(periodSchema)})
		def := strings.Replace(fmt.Sprintf(periodDefinition, r.indicator), `"data.csv"`, strconv.Quote(r.indicatorFile()), 1)
		indicatorTitle := "Share seen in time, embargo baseline"
		if r.indicator != "emb-base-ind" {
			indicatorTitle = "Share seen in time " + r.marker("ind")
		}
		def = strings.Replace(def, "E2E share seen within the standard", indicatorTitle, 1)
		d["indicators"] = json.RawMessage(def)
	}
	if r.audit {
		resources = append(resources, map[string]any{"name": r.key + "-audit", "path": r.auditFile(), "schema": json.RawMessage(e2eAuditSchema)})
		def := strings.NewReplacer(`"id": "e2e-hip-audit"`, `"id": "`+r.marker("aud")+`"`,
			"E2E Hip Fracture Audit", "Hip audit "+r.marker("aud"), `"file": "outcomes.csv"`, `"file": "`+r.auditFile()+`"`).Replace(e2eAuditDefinition)
		d["audit"] = json.RawMessage(def)
	}
	d["resources"] = resources
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// submit uploads the release through the submission API and records what
// the answer says of it.
func (r *embRelease) submit(t *testing.T, s *server, token string) {
	t.Helper()
	r.makeFiles()
	status, body := postSubmission(t, s, token, r.descriptor(), r.files)
	if status != http.StatusCreated {
		t.Fatalf("submitting %s: %d %s", r.key, status, body)
	}
	var answer struct {
		ID      int64
		Version int
		State   string
		Files   []struct {
			Name, SHA256 string
			Bytes        int64
		}
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("submitting %s: %v %s", r.key, err, body)
	}
	r.id, r.version = answer.ID, answer.Version
	r.publicSums, r.bytes = map[string]string{}, map[string]int64{}
	for _, f := range answer.Files {
		r.publicSums[f.Name] = f.SHA256
		r.bytes[f.Name] = f.Bytes
	}
	if len(r.publicSums) != len(r.files) {
		t.Fatalf("submitting %s: the answer lists %d public files, want %d: %s", r.key, len(r.publicSums), len(r.files), body)
	}
	small := r.fileNames()[1]
	if r.publicSums[small] == r.originalSums[small] {
		t.Fatalf("submitting %s: disclosure control left %s as it was; the test needs its original bytes to differ", r.key, small)
	}
}

// storeStuckDraft stores the release as a submission that stopped after
// its files, release record and rows were stored (state draft): a crash
// at submit.rows-stored leaves this, and only the next start's recovery
// removes it. The running server shares the folder, so it is written here
// through the stores, beside the server.
func (r *embRelease) storeStuckDraft(t *testing.T, dataDir string) {
	t.Helper()
	r.makeFiles()
	ctx := context.Background()
	a, err := openApp(ctx, Config{DataDir: dataDir, Approvals: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p, err := a.catalogue.PutPublisher(ctx, catalogue.Publisher{Slug: embPublisher, Name: "Embargo Test Statistics"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.catalogue.CreateDataset(ctx, catalogue.Dataset{Slug: r.slug, Title: "Embargo crawler " + r.marker("dst"),
		Summary: "Summary " + r.marker("dsm"), Description: "Description " + r.marker("dsd"), Publisher: p,
		Topics: []string{"Embargo testing"}, Licence: catalogue.DefaultLicence, Frequency: "Quarterly", Granularity: "NHS trust",
		Status: catalogue.DatasetPlanned})
	if err != nil {
		t.Fatal(err)
	}
	schemas := []string{embRowsSchema, e2eSchema}
	var files []catalogue.File
	r.publicSums = map[string]string{}
	for i, name := range r.fileNames() {
		blob, err := a.blobs.Put(ctx, strings.NewReader(r.files[name]))
		if err != nil {
			t.Fatal(err)
		}
		r.publicSums[name] = blob.SHA256
		res, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("%s-%d", r.key, i), "path": name, "encoding": "utf-8",
			"schema": json.RawMessage(schemas[i])})
		for _, role := range []catalogue.FileRole{catalogue.RolePublic, catalogue.RoleOriginal} {
			files = append(files, catalogue.File{Name: name, Title: name, Role: role, MediaType: "text/csv", Encoding: "utf-8",
				SHA256: blob.SHA256, Bytes: blob.Bytes, Rows: int64(strings.Count(r.files[name], "\n") - 1), Resource: res})
		}
	}
	var mentions []catalogue.Mention
	for _, o := range r.orgNames() {
		mentions = append(mentions, catalogue.Mention{Code: o[0], Name: o[1]})
	}
	rel, err := a.catalogue.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: "Quillfeather " + r.marker("ttl"),
		Summary: "Summary " + r.marker("sum"), PeriodLabel: r.period(), ChangeNotes: "Notes " + r.marker("not"),
		Quality: catalogue.Quality{Coverage: "Coverage " + r.marker("cov")}, SubmittedBy: "pam"}, files, mentions)
	if err != nil {
		t.Fatal(err)
	}
	r.id, r.version = rel.ID, rel.Version
	for _, name := range r.fileNames() {
		lines := strings.Split(strings.TrimSuffix(r.files[name], "\r\n"), "\r\n")[1:]
		rows := iter.Seq2[[]string, error](func(yield func([]string, error) bool) {
			for _, l := range lines {
				if !yield(strings.Split(l, ","), nil) {
					return
				}
			}
		})
		if _, err := a.rows.WriteRows(ctx, datasets.FileRef{Release: rel.ID, File: name}, rows); err != nil {
			t.Fatal(err)
		}
	}
}

// embToken creates an API token for an account.
func embToken(t *testing.T, dataDir, user string) string {
	t.Helper()
	out, err := runCandour("user", "token", user, "--label", "embargo crawler", "--data-dir", dataDir)
	if err != nil {
		t.Fatalf("user token %s: %v\n%s", user, err, out)
	}
	m := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("user token %s printed no token:\n%s", user, out)
	}
	return m[1]
}

// embReview records a panel member's decision on the seven considerations,
// bound to the files as the review page lists them.
func embReview(t *testing.T, b *browser, id, decision, reasons string) {
	t.Helper()
	_, page := b.get("/workspace/releases/" + id)
	form := url.Values{"decision": {decision}, "files": {"[]"}}
	if m := regexp.MustCompile(`name="files" value="([^"]*)"`).FindStringSubmatch(page); m != nil {
		// The page lists the files in the order the release stores them,
		// but the service compares them sorted by name
		// (publisher.publicHashes), so a release whose files were not
		// submitted in name order cannot be reviewed from the form as it
		// stands. Send them sorted by name, as the service expects.
		var files []struct {
			Name   string `json:"name"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &files); err != nil {
			t.Fatalf("the review form's files: %v", err)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
		sorted, _ := json.Marshal(files)
		form.Set("files", string(sorted))
	}
	if decision == "approve" {
		acceptAll(form, page)
	}
	for i := 1; i <= 7; i++ {
		form.Set(fmt.Sprintf("consideration-%d", i), "Considered by the embargo crawler test")
	}
	if reasons != "" {
		form.Set("reasons", reasons)
	}
	mustAction(t, b, id, "review", form)
}

// embSchedule schedules approved releases at an instant (whole seconds).
func embSchedule(t *testing.T, pam *browser, releases []*embRelease, at time.Time) {
	t.Helper()
	at = at.Truncate(time.Second).Add(time.Second)
	for _, r := range releases {
		mustAction(t, pam, r.ids(), "schedule", url.Values{"date": {at.In(london()).Format("2006-01-02")}, "time": {at.In(london()).Format("15:04:05")}})
		r.embargo = at
	}
}

// embAwaitPublication waits until the scheduler has published releases.
func embAwaitPublication(t *testing.T, s *server, releases ...*embRelease) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, r := range releases {
		for {
			status, _, _ := s.get(t, r.path())
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s was not published (last status %d)", r.path(), status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// embCheckStates reads every release's state as the operator sees it.
func embCheckStates(t *testing.T, dataDir string, want map[*embRelease]catalogue.ReleaseState) {
	t.Helper()
	ctx := context.Background()
	a, err := openApp(ctx, Config{DataDir: dataDir, Approvals: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for r, state := range want {
		got, err := a.catalogue.ReleaseByID(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != state {
			t.Errorf("release %s (%s version %d) is %s, want %s", r.key, r.slug, r.version, got.State, state)
		}
	}
}

// embMarker is one thing that must not be public before the embargo.
type embMarker struct {
	what string
	text string // lower case; or
	// re, for numbers and addresses, tried only where needle (a plain
	// string every match holds) is found: a regular expression over
	// thousands of answers is slow under the race detector.
	re     *regexp.Regexp
	needle string
}

func (m embMarker) in(body string) bool {
	if m.re != nil {
		return strings.Contains(body, m.needle) && m.re.MatchString(body)
	}
	return strings.Contains(body, m.text)
}

func (m embMarker) String() string {
	if m.re != nil {
		return m.what + " " + m.re.String()
	}
	return m.what + " " + m.text
}

// countPattern matches a number as a page, JSON or CSV would write it
// (1723 or 1,723), not as part of a longer number, word or hash.
func countPattern(n int) *regexp.Regexp {
	s := strconv.Itoa(n)
	digits := regexp.QuoteMeta(s)
	if n >= 1000 {
		digits = regexp.QuoteMeta(s[:len(s)-3]) + ",?" + regexp.QuoteMeta(s[len(s)-3:])
	}
	return regexp.MustCompile(`(?:^|[^0-9a-z.])` + digits + `(?:[^0-9a-z]|$)`)
}

// secrets are the release's embargoed markers. Before publication none
// may appear; after, all of them but the original files' hashes must.
func (r *embRelease) secrets() []embMarker {
	var out []embMarker
	add := func(what, text string) { out = append(out, embMarker{what: what, text: strings.ToLower(text)}) }
	for _, kind := range []struct{ k, what string }{{"ttl", "release title"}, {"sum", "release summary"}, {"not", "change notes"},
		{"cov", "quality statement"}, {"row", "row value"}, {"org", "organisation name"}, {"ren", "new name of RR8"}, {"fil", "file name"}} {
		add(kind.what, r.marker(kind.k))
	}
	add("organisation code", r.orgCode())
	if r.key == "rej" || r.key == "can" {
		add("reason for the rejection or cancellation", r.marker("rsn"))
	}
	if r.corrects != 0 {
		add("correction notice", r.marker("cor"))
	}
	if r.indicator != "" && r.newDataset {
		add("indicator", r.marker("ind"))
	}
	if r.audit {
		add("clinical audit", r.marker("aud"))
		add("consultant name", r.marker("cns"))
	}
	if !r.announced {
		add("period", r.marker("per"))
		if r.newDataset {
			add("dataset title", r.marker("dst"))
			add("dataset summary", r.marker("dsm"))
			add("dataset description", r.marker("dsd"))
			add("dataset slug", r.slug)
		}
	}
	for name, sum := range r.publicSums {
		add("SHA-256 of public "+name, sum)
	}
	count := strconv.Itoa(r.rows)
	out = append(out, embMarker{what: "row count", re: countPattern(r.rows), needle: count[len(count)-3:]})
	out = append(out, embMarker{what: "release address", re: regexp.MustCompile(regexp.QuoteMeta(r.path()) + `(?:[^0-9]|$)`), needle: r.path()})
	return append(out, r.originalSecrets()...)
}

// originalSecrets are the hashes of the files as submitted where they
// differ from the public ones: never public.
func (r *embRelease) originalSecrets() []embMarker {
	var out []embMarker
	for name, sum := range r.originalSums {
		if sum != r.publicSums[name] {
			out = append(out, embMarker{what: "SHA-256 of original " + name, text: sum})
		}
	}
	return out
}

// withdrawnSecrets are what a withdrawn release no longer shows: its
// values, the rows and files they are in.
func (r *embRelease) withdrawnSecrets() []embMarker {
	out := []embMarker{{what: "row value of the withdrawn release", text: r.marker("row")}}
	for name, sum := range r.publicSums {
		out = append(out, embMarker{what: "SHA-256 of withdrawn " + name, text: sum})
	}
	return append(out, r.originalSecrets()...)
}

func embCountMarkers(rs []*embRelease) int {
	n := 0
	for _, r := range rs {
		n += len(r.secrets())
	}
	return n
}

// searchable are markers a search could find: words in the release's
// metadata, its organisations and its dataset.
func (r *embRelease) searchable() []string {
	out := []string{r.marker("ttl"), r.marker("sum"), r.marker("not"), r.marker("cov"), r.marker("org"), r.marker("ren"),
		r.marker("row"), r.marker("fil"), r.orgCode()}
	if r.corrects != 0 {
		out = append(out, r.marker("cor"))
	}
	if r.indicator != "" && r.newDataset {
		out = append(out, r.marker("ind"))
	}
	if r.audit {
		out = append(out, r.marker("aud"), r.marker("cns"))
	}
	if !r.announced {
		out = append(out, r.marker("per"))
		if r.newDataset {
			out = append(out, r.marker("dst"), r.marker("dsd"))
		}
	}
	return out
}

// embSeeds are where the crawl starts: the site's entry points, every
// machine surface and every URL a guesser would try.
func embSeeds(unpublished []*embRelease, published ...*embRelease) []string {
	seeds := []string{"/", "/datasets", "/organisations", "/indicators", "/audits", "/compare", "/pages/about",
		"/calendar", "/calendar?format=json", "/calendar?format=csv", "/calendar.ics",
		"/transparency", "/transparency/audit-log.jsonl", "/register", "/register.csv",
		"/sitemap.xml", "/catalog.jsonld", "/catalog.jsonld?page=2", "/catalog.jsonld?page=3",
		"/search", "/search?q=quillfeather", "/search?kind=release", "/search?q=emq", "/search?q=emq*", "/search?sort=updated",
		"/api", "/api/v1/openapi.json", "/api/v1/datasets", "/api/v1/datasets?limit=100", "/api/v1/organisations", "/api/v1/organisations?limit=100",
		"/api/v1/organisations?q=emq", "/api/v1/indicators", "/api/v1/search?q=quillfeather", "/api/v1/search?q=quillfeather&kind=release",
		"/api/v1/search?q=emq&snippets=false&limit=8", "/api/v1/search?q=embargo", "/api/v1/search?q=leeds",
		"/api/3/action/status_show", "/api/3/action/package_list", "/api/3/action/organization_list",
		"/api/3/action/organization_list?all_fields=true", "/api/3/action/group_list", "/api/3/action/tag_list",
		"/api/3/action/organization_show?id=" + embPublisher + "&include_datasets=true", "/api/3/action/package_search",
		"/api/3/action/package_search?rows=1000", "/api/3/action/package_search?q=quillfeather",
		`/api/3/action/package_search?facet.field=["organization","tags","groups","res_format","license_id"]`,
		"/feeds/releases.atom?publisher=" + embPublisher, "/feeds/releases.rss?publisher=" + embPublisher,
		"/feeds/releases.json?publisher=" + embPublisher, "/feeds/releases.atom?topic=embargo-testing", "/feeds/releases.json?topic=Embargo%20testing",
		"/no/such/page", "/datasets?page=zero", "/datasets/no-such-dataset", "/organisations/NOPE1", "/healthz", "/account/login",
		"/compare?org=RR8&org=RX1", "/compare?org=RR8&org=RX1&org=RA2", "/organisations/RR8", "/organisations/RR8?format=json", "/organisations/RR8?format=csv"}
	for _, f := range []string{"atom", "rss", "json"} {
		seeds = append(seeds, "/feeds/releases."+f)
	}
	for _, st := range []string{"published", "planned", "not-open", "withdrawn", "announced", "scheduled", "draft"} {
		seeds = append(seeds, "/datasets?status="+st, "/api/v1/datasets?status="+st)
	}
	all := append(slices.Clone(unpublished), published...)
	maxID := int64(0)
	for _, r := range all {
		maxID = max(maxID, r.id)
	}
	for id := int64(1); id <= maxID+2; id++ {
		i := strconv.FormatInt(id, 10)
		seeds = append(seeds, "/api/v1/releases/"+i, "/api/v1/submissions/"+i, "/workspace/releases/"+i)
	}
	for _, r := range all {
		d := "/datasets/" + r.slug
		seeds = append(seeds, d, d+"?format=json", d+"?format=csv", d+"/changes?from=1&to="+strconv.Itoa(r.version),
			"/api/v1/datasets/"+r.slug, "/api/3/action/package_show?id="+r.slug,
			"/feeds/releases.atom?dataset="+r.slug, "/feeds/releases.rss?dataset="+r.slug, "/feeds/releases.json?dataset="+r.slug,
			"/organisations/"+r.orgCode(), "/api/v1/organisations/"+r.orgCode(), "/compare?org=RR8&org="+r.orgCode())
		for v := 1; v <= r.version+2; v++ {
			p := fmt.Sprintf("%s/releases/%d", d, v)
			api := fmt.Sprintf("/api/v1/datasets/%s/releases/%d", r.slug, v)
			seeds = append(seeds, p, p+"/manifest.json", api)
			if v != r.version && v != r.version+1 {
				continue
			}
			for _, name := range r.fileNames() {
				seeds = append(seeds, p+"/files/"+name, p+"/rows/"+name, api+"/rows/"+name)
			}
			if v != r.version {
				continue
			}
			seeds = append(seeds, p+"?format=json", p+"/datapackage.json", p+"/csv-metadata.json")
			for _, name := range r.fileNames() {
				seeds = append(seeds, p+"/rows/"+name+"?format=json", p+"/rows/"+name+"?format=csv", p+"/rows/"+name+"?eq.Code="+r.orgCode())
			}
		}
		for _, name := range r.fileNames() {
			seeds = append(seeds, fmt.Sprintf("/workspace/releases/%d/files/public/%s", r.id, name),
				fmt.Sprintf("/workspace/releases/%d/files/original/%s", r.id, name))
		}
		seeds = append(seeds, fmt.Sprintf("/workspace/releases/%d/preview", r.id))
		if r.audit {
			a := "/audits/" + r.marker("aud")
			seeds = append(seeds, a, a+"?level=consultant", a+"/outcomes.csv", a+"/units/hospital/RR8", a+"/units/consultant/C1234567",
				"/organisations/C1234567", "/organisations/T-LEEDS-1", "/api/v1/organisations/C1234567")
		}
		if r.indicator != "" {
			seeds = append(seeds, "/indicators/"+r.indicator, "/indicators/"+r.indicator+"/download.csv",
				"/indicators/"+r.indicator+"?format=json", "/api/v1/indicators/"+r.indicator+"/observations",
				"/api/v1/indicators/"+r.indicator+"/observations?all-periods=true")
		}
		for _, sum := range r.publicSums {
			seeds = append(seeds, "/static/"+sum, "/assets/"+sum, "/search?q="+sum, "/api/v1/search?q="+sum)
		}
		// The search page runs the same search as the API, whose counts
		// are checked; it is asked for a few words, the API for all.
		for _, w := range []string{r.marker("ttl"), r.marker("org"), r.marker("dst"), r.marker("per")} {
			seeds = append(seeds, "/search?q="+url.QueryEscape(w))
		}
		for _, w := range r.searchable() {
			seeds = append(seeds, embSearchURL(w), embTypeaheadURL(w), embCKANSearchURL(w))
		}
		seeds = append(seeds, "/api/v1/organisations?q="+r.orgCode(), "/api/v1/organisations?q="+r.marker("org"), "/api/v1/organisations?q="+r.marker("ren"),
			"/organisations?q="+r.marker("org"))
	}
	return seeds
}

// embFetched is one answer.
type embFetched struct {
	status int
	header http.Header
	body   string
}

// text is everything the answer says: its headers and body, in lower
// case.
func (f embFetched) text() string {
	var b strings.Builder
	keys := make([]string, 0, len(f.header))
	for k := range f.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Date" || k == "Content-Length" {
			continue // a length could equal a row count by chance
		}
		b.WriteString(k + ": " + strings.Join(f.header[k], ", ") + "\n")
	}
	b.WriteString(f.body)
	return strings.ToLower(b.String())
}

var (
	embAttrLink = regexp.MustCompile(`(?:href|src|action)="([^"]+)"`)
	embJSONLink = regexp.MustCompile(`"(/(?:datasets|organisations|indicators|audits|api|feeds|search|calendar|transparency|register|pages|compare|catalog|sitemap)[^"]*)"`)
	embXMLLink  = regexp.MustCompile(`<(?:loc|link|id|guid)>([^<]+)</`)
	embPageNum  = regexp.MustCompile(`[?&](?:page|start)=(\d+)`)
	embOffset   = regexp.MustCompile(`[?&]offset=(\d+)`)
)

// embLinks returns the site addresses an answer links to.
func embLinks(base, body string) []string {
	var raw []string
	for _, m := range embAttrLink.FindAllStringSubmatch(body, -1) {
		raw = append(raw, html.UnescapeString(m[1]))
	}
	unescaped := strings.NewReplacer(`\u0026`, "&", `\/`, "/").Replace(body)
	for _, m := range embJSONLink.FindAllStringSubmatch(unescaped, -1) {
		raw = append(raw, m[1])
	}
	for _, m := range embXMLLink.FindAllStringSubmatch(body, -1) {
		raw = append(raw, html.UnescapeString(strings.TrimSpace(m[1])))
	}
	for _, m := range regexp.MustCompile(regexp.QuoteMeta(base)+`(/[^"'<>\s\\]*)`).FindAllStringSubmatch(unescaped, -1) {
		raw = append(raw, html.UnescapeString(m[1]))
	}
	var out []string
	for _, l := range raw {
		l = strings.TrimPrefix(l, base)
		// A feed carries HTML escaped inside XML: once unescaped, the
		// address ends where the markup starts.
		if i := strings.IndexAny(l, "\"'<> "); i >= 0 {
			l = l[:i]
		}
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if !strings.HasPrefix(l, "/") || strings.HasPrefix(l, "//") {
			continue
		}
		skip := false
		for _, p := range []string{"/assets/", "/static/", "/favicon.ico", "/account/", "/workspace", "/metrics"} {
			skip = skip || strings.HasPrefix(l, p)
		}
		if m := embPageNum.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			skip = skip || n > 3
		}
		if m := embOffset.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			skip = skip || n > 200
		}
		if !skip {
			out = append(out, l)
		}
	}
	return out
}

// embCrawl fetches the seeds and then every site address the answers link
// to, breadth first, four at a time, at most limit addresses in all and at
// most 40 found by links for any one path (query strings aside: facet and
// pagination links multiply), without following
// redirects (their targets are queued like links). Any 5xx fails the test.
func embCrawl(t *testing.T, base string, seeds []string, limit int) map[string]embFetched {
	t.Helper()
	transport := baseTransport().Clone()
	defer transport.CloseIdleConnections() // so that the server stops at once
	client := &http.Client{Timeout: 30 * time.Second, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pages := map[string]embFetched{}
	seen := map[string]bool{}
	perPath := map[string]int{}
	queue := slices.Clone(seeds)
	isSeed := map[string]bool{}
	for _, u := range seeds {
		isSeed[u] = true
	}
	var mu sync.Mutex
	var failures []string
	for len(queue) > 0 && len(pages) < limit {
		var batch []string
		for len(queue) > 0 && len(pages)+len(batch) < limit {
			u := queue[0]
			queue = queue[1:]
			p, _, _ := strings.Cut(u, "?")
			if seen[u] || !isSeed[u] && perPath[p] >= 40 {
				continue
			}
			seen[u] = true
			if !isSeed[u] {
				perPath[p]++
			}
			batch = append(batch, u)
		}
		work := make(chan string)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for u := range work {
					resp, err := client.Get(base + u)
					if err != nil {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("GET %s: %v", u, err))
						mu.Unlock()
						continue
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					mu.Lock()
					if err != nil {
						failures = append(failures, fmt.Sprintf("GET %s: %v", u, err))
					} else if resp.StatusCode >= 500 {
						failures = append(failures, fmt.Sprintf("GET %s: %d %.3000s", u, resp.StatusCode, b))
					}
					pages[u] = embFetched{status: resp.StatusCode, header: resp.Header, body: string(b)}
					mu.Unlock()
				}
			}()
		}
		for _, u := range batch {
			work <- u
		}
		close(work)
		wg.Wait()
		for _, u := range batch {
			f := pages[u]
			if loc := f.header.Get("Location"); loc != "" {
				queue = append(queue, embLinks(base, `href="`+html.EscapeString(loc)+`"`)...)
			}
			if f.status == http.StatusOK {
				queue = append(queue, embLinks(base, f.body)...)
			}
		}
	}
	for _, f := range failures {
		t.Error(f)
	}
	return pages
}

// embStatuses counts a crawl's answers by status.
func embStatuses(pages map[string]embFetched) string {
	n := map[int]int{}
	for _, f := range pages {
		n[f.status]++
	}
	var parts []string
	for _, st := range slices.Sorted(func(yield func(int) bool) {
		for st := range n {
			if !yield(st) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%d× %d", n[st], st))
	}
	return strings.Join(parts, ", ")
}

// withoutEcho removes from an answer what merely repeats the request: the
// address itself and the search text; for an answer other than 200 (an
// error may quote what it could not find) also its path and any query
// value or path segment naming a marker; for a 200 only query values that
// are themselves secret (a comparison page may say it has no such
// organisation). A value that names an announced or public dataset is left
// alone, so that a feed filtered by it still shows a leak of a release's
// address. Search answers are also checked by their counts
// (embAssertSearchEmpty).
func withoutEcho(u string, status int, text string, secret map[string]bool) string {
	echoes := []string{u, html.EscapeString(u)}
	if parsed, err := url.Parse(u); err == nil {
		if status != http.StatusOK {
			echoes = append(echoes, parsed.Path)
		}
		var words []string
		for k, vs := range parsed.Query() {
			for _, v := range vs {
				if k == "q" || secret[strings.ToLower(v)] || status != http.StatusOK && embNamesMarker(v) {
					words = append(words, v)
				}
			}
		}
		for _, seg := range strings.Split(parsed.Path, "/") {
			if status != http.StatusOK && embNamesMarker(seg) {
				words = append(words, seg)
			}
		}
		for _, w := range words {
			echoes = append(echoes, w, url.QueryEscape(w), html.EscapeString(w), url.PathEscape(w))
		}
	}
	sort.Slice(echoes, func(i, j int) bool { return len(echoes[i]) > len(echoes[j]) })
	for _, e := range echoes {
		if len(e) >= 3 {
			text = strings.ReplaceAll(text, strings.ToLower(e), " ")
		}
	}
	return text
}

var embMarkerWord = regexp.MustCompile(`(?i)emq[a-z]{3}|^q[a-z]{3}1$|^[0-9a-f]{64}$`)

// embNamesMarker reports whether a query value or path segment names one
// of the test's markers (a word, an organisation code or a hash).
func embNamesMarker(s string) bool { return embMarkerWord.MatchString(s) }

// embAssertAbsent checks that no answer shows a marker of the unpublished
// releases, nor the values or files of the withdrawn one.
func embAssertAbsent(t *testing.T, when string, pages map[string]embFetched, unpublished []*embRelease, withdrawn *embRelease) {
	t.Helper()
	type check struct {
		release string
		m       embMarker
	}
	var checks []check
	for _, r := range unpublished {
		for _, m := range r.secrets() {
			checks = append(checks, check{r.key, m})
		}
	}
	for _, m := range withdrawn.withdrawnSecrets() {
		checks = append(checks, check{withdrawn.key, m})
	}
	secret := map[string]bool{}
	for _, c := range checks {
		if c.m.text != "" {
			secret[c.m.text] = true
		}
	}
	urls := slices.Sorted(func(yield func(string) bool) {
		for u := range pages {
			if !yield(u) {
				return
			}
		}
	})
	leaks := 0
	for _, u := range urls {
		f := pages[u]
		text := withoutEcho(u, f.status, f.text(), secret)
		for _, c := range checks {
			if c.m.in(text) {
				if leaks++; leaks <= 40 {
					t.Errorf("%s, %s (%d) shows the %s release's %s", when, u, f.status, c.release, c.m)
				}
			}
		}
	}
	if leaks > 40 {
		t.Errorf("%s: %d leaks in all (the first 40 are listed)", when, leaks)
	}
}

// embAssertNoOracle checks that an unpublished release's addresses answer
// exactly as those of a version that does not exist (the next one): the
// same status and the same body, so that not even the release's existence
// shows.
func embAssertNoOracle(t *testing.T, when string, pages map[string]embFetched, releases []*embRelease) {
	t.Helper()
	compared := 0
	for _, r := range releases {
		next := &embRelease{slug: r.slug, version: r.version + 1}
		name := r.fileNames()[0]
		for _, suffix := range []string{"", "/manifest.json", "/files/" + name, "/rows/" + name} {
			for _, pair := range [][2]string{{r.path(), next.path()},
				{"/api/v1" + r.path(), "/api/v1" + next.path()}} {
				u, v := pair[0]+suffix, pair[1]+suffix
				a, okA := pages[u]
				b, okB := pages[v]
				if !okA || !okB {
					continue // not both asked (the API has no manifest)
				}
				compared++
				if a.status != b.status || strings.ReplaceAll(a.body, u, "") != strings.ReplaceAll(b.body, v, "") {
					t.Errorf("%s, %s answers %d and %s answers %d, or their bodies differ: the release's existence shows\n%.300s\n%.300s",
						when, u, a.status, v, b.status, a.body, b.body)
				}
			}
		}
	}
	if compared < 5*len(releases) {
		t.Errorf("%s, only %d pairs of addresses were compared for existence", when, compared)
	}
}

// embAssertPresent is the positive control: after publication every
// embargoed marker of the released releases appears on some public page
// (the hashes of original files excepted: they are never public).
func embAssertPresent(t *testing.T, pages map[string]embFetched, released []*embRelease) {
	t.Helper()
	texts := map[string]string{}
	for u, f := range pages {
		if f.status == http.StatusOK {
			texts[u] = withoutEcho(u, f.status, f.text(), nil)
		}
	}
	for _, r := range released {
		originals := map[string]bool{}
		for _, m := range r.originalSecrets() {
			originals[m.what] = true
		}
		for _, m := range r.secrets() {
			if originals[m.what] {
				continue
			}
			found := false
			for _, text := range texts {
				if m.in(text) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("after the embargo, no public page shows the %s release's %s: its absence before proves nothing", r.key, m)
			}
		}
	}
}

// The search addresses asked for each searchable marker: the search API,
// typeahead (the word less its last letter, as someone still typing) and
// CKAN's package_search.
func embSearchURL(w string) string { return "/api/v1/search?q=" + url.QueryEscape(w) }
func embTypeaheadURL(w string) string {
	return "/api/v1/search?q=" + url.QueryEscape(w[:len(w)-1]) + "&snippets=false&limit=8"
}
func embCKANSearchURL(w string) string {
	return "/api/3/action/package_search?q=" + url.QueryEscape(w)
}

// embAssertSearchEmpty checks, in a crawl's answers, that searching for any
// of the releases' markers finds nothing: no hit and no facet count, on
// the search API, in typeahead and through CKAN.
func embAssertSearchEmpty(t *testing.T, when string, pages map[string]embFetched, releases []*embRelease) {
	t.Helper()
	read := func(u string, into any) bool {
		f, ok := pages[u]
		if !ok || f.status != http.StatusOK {
			t.Errorf("%s, %s was not crawled or answered %d", when, u, f.status)
			return false
		}
		if err := json.Unmarshal([]byte(f.body), into); err != nil {
			t.Errorf("%s, %s: %v", when, u, err)
			return false
		}
		return true
	}
	for _, r := range releases {
		for _, w := range r.searchable() {
			for _, u := range []string{embSearchURL(w), embTypeaheadURL(w)} {
				var a struct {
					Total  int
					Facets map[string][]struct {
						Value string
						Count int
					}
				}
				if !read(u, &a) {
					continue
				}
				if a.Total != 0 {
					t.Errorf("%s, %s finds %d results", when, u, a.Total)
				}
				for facet, values := range a.Facets {
					for _, v := range values {
						if v.Count != 0 {
							t.Errorf("%s, %s counts %d in facet %s=%s", when, u, v.Count, facet, v.Value)
						}
					}
				}
			}
			var ckan struct{ Result struct{ Count int } }
			if read(embCKANSearchURL(w), &ckan) && ckan.Result.Count != 0 {
				t.Errorf("%s, CKAN package_search for %s finds %d datasets", when, w, ckan.Result.Count)
			}
		}
	}
}

func embGetJSON(t *testing.T, u string, into any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d %.300s", u, resp.StatusCode, b)
		return
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Errorf("GET %s: %v", u, err)
	}
}

// embReleaseFacet is the kind facet's count of releases in a search for
// the word every test release's title carries.
func embReleaseFacet(t *testing.T, base string) int {
	t.Helper()
	var a struct {
		Facets map[string][]struct {
			Value string
			Count int
		}
	}
	embGetJSON(t, base+"/api/v1/search?q=quillfeather", &a)
	for _, f := range a.Facets["kind"] {
		if f.Value == "release" {
			return f.Count
		}
	}
	return 0
}

// embAssertConditional asks for each unpublished file with its SHA-256 as
// the ETag a client would hold: the answer must be the same 404 as for any
// other missing file, never 304 Not Modified.
func embAssertConditional(t *testing.T, base string, releases []*embRelease) {
	t.Helper()
	for _, r := range releases {
		for _, name := range r.fileNames() {
			sum := r.publicSums[name]
			for _, tag := range []string{`"` + sum + `"`, `"` + sum + `-gzip"`, `W/"` + sum + `"`} {
				req, _ := http.NewRequest(http.MethodGet, base+r.path()+"/files/"+name, nil)
				req.Header.Set("If-None-Match", tag)
				req.Header.Set("Range", "bytes=0-10")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s with If-None-Match %s: %d, want 404", r.path()+"/files/"+name, tag, resp.StatusCode)
				}
				if strings.Contains(strings.ToLower(string(b)+fmt.Sprint(resp.Header)), sum) {
					t.Errorf("%s with If-None-Match %s repeats the hash", r.path()+"/files/"+name, tag)
				}
			}
		}
	}
}

// embAssertOtherOrganisation asks for each unpublished release with the
// API token of another organisation's publisher: whatever the status, the
// answer shows none of the release's markers.
func embAssertOtherOrganisation(t *testing.T, s *server, token string, releases []*embRelease) {
	t.Helper()
	for _, r := range releases {
		for _, u := range []string{"/api/v1/releases/" + r.ids(), "/api/v1/submissions/" + r.ids()} {
			req, _ := http.NewRequest(http.MethodGet, s.base+u, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("another organisation's publisher reads %s: %d", u, resp.StatusCode)
			}
			text := strings.ToLower(string(b))
			for _, m := range r.secrets() {
				if m.in(text) {
					t.Errorf("another organisation's publisher asking for %s (%d) is shown the %s release's %s", u, resp.StatusCode, r.key, m)
				}
			}
		}
	}
}

// embAssertAuditExport checks the public audit log's promise: every entry
// about a release whose content is not public keeps its header but not its
// files or details; entries about published releases are complete; the
// chain verifies from the export alone.
func embAssertAuditExport(t *testing.T, jsonl string, hidden, published []*embRelease) {
	t.Helper()
	verifyExport(t, jsonl)
	secret := map[int64]string{}
	for _, r := range hidden {
		secret[r.id] = r.key
	}
	shown := map[int64]*embRelease{}
	for _, r := range published {
		shown[r.id] = r
	}
	seenFiles := map[int64]map[string]bool{}
	entries := 0
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		var e struct {
			Release  int64
			Action   string
			Files    []struct{ Name, SHA256 string }
			Details  json.RawMessage
			Redacted bool
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		if key, ok := secret[e.Release]; ok {
			entries++
			if !e.Redacted || len(e.Files) > 0 || (len(e.Details) > 0 && string(e.Details) != "null") {
				t.Errorf("the audit log export shows the files or details of the %s release's %s entry: %s", key, e.Action, line)
			}
		}
		if r, ok := shown[e.Release]; ok {
			if e.Redacted {
				t.Errorf("after publication, the audit log export still redacts the %s release's %s entry", r.key, e.Action)
			}
			if seenFiles[e.Release] == nil {
				seenFiles[e.Release] = map[string]bool{}
			}
			for _, f := range e.Files {
				seenFiles[e.Release][f.SHA256] = true
			}
		}
	}
	if len(hidden) > 0 && entries == 0 {
		t.Error("the audit log export has no entry about the unpublished releases: the redaction check checked nothing")
	}
	for _, r := range published {
		for name, sum := range r.publicSums {
			if !seenFiles[r.id][sum] {
				t.Errorf("after publication, the audit log export does not show the %s release's %s hash", r.key, name)
			}
		}
	}
}

// embAssertAnnounced checks what the calendar shows before the embargo of
// an announced or scheduled release: its dataset and period, by design.
func embAssertAnnounced(t *testing.T, pages map[string]embFetched, announced []*embRelease) {
	t.Helper()
	calendar := strings.ToLower(pages["/calendar"].body)
	for _, r := range announced {
		if !strings.Contains(calendar, r.marker("per")) {
			t.Errorf("the calendar does not announce the %s release's period", r.key)
		}
		if r.newDataset && !strings.Contains(calendar, r.marker("dst")) {
			t.Errorf("the calendar does not announce the %s release's dataset", r.key)
		}
	}
}
