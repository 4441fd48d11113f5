package main

// Read nodes: `candour serve --read-only`.
//
// A read node serves the public site from a public snapshot (snapshot.go)
// and nothing else: its data folder is a publishing node's DATA/public, or
// a copy of it shipped to another machine. It opens the current
// generation's database read-only (immutable: no migration, no journal, no
// lock, so the folder may be on a read-only file system), runs no
// scheduler and no start-up recovery, and has no accounts: the sign-in and
// workspace pages and the submission API are not routed (site.Config
// ReadOnly) and answer 404. The search index is built from the first
// snapshot into a temporary folder, and brought up to date from each new
// one (publisher.Service.SyncSearch, by difference, as the publishing node
// keeps its own) just before the swap: for that second or two, search may
// list a dataset or organisation of the new generation, all of it public
// already.
//
// # Swapping generations
//
// The read node looks at CURRENT every readNodePoll. When it names another
// generation, the node checks it (snapshot.json present, the database's
// SHA-256 as recorded, every release file present with its size, the
// schema the one this program knows), opens it beside the one it serves,
// builds its search index and its site, and then swaps in-process: one
// listener, one HTTP server, whose handler forwards each request to the
// generation current when the request arrives (an atomic pointer). A
// request always sees one generation from start to end; the page cache of
// the new generation starts empty, so nothing rendered from the old one is
// served after the swap. The old generation is retired once no request is
// in its handlers, and closed readNodeRetireAfter later, so that streamed
// bodies (filtered exports, the sitemap) that began on it can finish. A
// generation that cannot be opened (still being copied, say) is logged and
// tried again; the node keeps serving the one it has.
//
// In-process swapping was chosen over exiting for a supervisor to restart:
// no connection is refused or cut at a publication, there is no window in
// which the node is down, and no supervisor setting is needed. Its cost is
// that two generations' databases are open for a while, and that a stream still running readNodeRetireAfter after
// a swap ends short (as it would on any database error mid-stream).
// Prometheus counters at /metrics start again at each swap.

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
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/catalogue/feedback/feedbacksqlite"
	"github.com/candour/candour/catalogue/searchbleve"
	"github.com/candour/candour/content"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/indicators/audit/outcomesqlite"
	"github.com/candour/candour/indicators/observationsqlite"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/register"
	"github.com/candour/candour/publisher/register/registersqlite"
	"github.com/candour/candour/publisher/workflowsqlite"
	"github.com/candour/candour/site"
)

// Timing of a read node; variables so tests can shorten them.
var (
	// readNodePoll is how often CURRENT is read.
	readNodePoll = 2 * time.Second
	// readNodeRetryFailed is how soon a generation that could not be
	// opened is tried again.
	readNodeRetryFailed = 30 * time.Second
	// readNodeRetireAfter is how long a generation stays open after the
	// last request handler using it returned.
	readNodeRetireAfter = 10 * time.Minute
)

// cutReadOnly takes --read-only (or --read-only=BOOL, or
// CANDOUR_READ_ONLY) out of serve's arguments.
func cutReadOnly(args []string, getenv func(string) string) (rest []string, readOnly bool, err error) {
	given := false
	for _, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "read-only" {
			rest = append(rest, a)
			continue
		}
		given, readOnly = true, true
		if hasValue {
			if readOnly, err = strconv.ParseBool(value); err != nil {
				return nil, false, &usageError{fmt.Sprintf("candour serve: --read-only %q: want true or false", value)}
			}
		}
	}
	if v := getenv("CANDOUR_READ_ONLY"); v != "" && !given {
		if readOnly, err = strconv.ParseBool(v); err != nil {
			return nil, false, &usageError{fmt.Sprintf("candour serve: CANDOUR_READ_ONLY %q: want true or false", v)}
		}
	}
	return rest, readOnly, nil
}

// readNode serves the current generation of a public snapshot.
type readNode struct {
	cfg Config
	log *slog.Logger
	pub string // the folder holding CURRENT and snapshots/
	cur atomic.Pointer[generation]
	// search is the node's search index, in searchTmp, shared by the
	// generations and brought up to date from each new one.
	search    *searchbleve.Index
	searchTmp string
	// retiring are the generations swapped out and not yet closed.
	retiring sync.WaitGroup
	// clickhouse holds rows, observations and outcomes when --clickhouse
	// names the publishing node's server (shared by every generation);
	// otherwise each generation reads them from its snapshot.
	clickhouse analytics
}

// generation is one opened snapshot generation and the site over it.
type generation struct {
	name string
	db   *sql.DB
	app  *fiber.App
	// The generation's own server hooks, which the listening server's
	// forward to.
	handler        fasthttp.RequestHandler
	headerReceived func(*fasthttp.RequestHeader) fasthttp.RequestConfig
	errorHandler   func(*fasthttp.RequestCtx, error)
	refs           atomic.Int64 // requests in its handlers
	closing        atomic.Bool  // swapped out: takes no new request
}

func runReadNode(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("serve", serveSummary, "", true, args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("candour serve: unexpected argument %q", rest[0])}
	}
	if cfg.FeedbackSources != "" {
		return &usageError{"candour serve: --feedback-sources is for the publishing node: a read node polls nothing and shows the feedback its snapshots hold"}
	}
	log := cfg.logger(stderr)
	n := &readNode{cfg: cfg, log: log, pub: cfg.DataDir}
	if cfg.ClickHouseDSN != "" {
		if n.clickhouse, err = openClickHouse(ctx, cfg.ClickHouseDSN, cfg.ClickHouseCluster, false, log); err != nil {
			return fmt.Errorf("read-only: %w", err)
		}
		defer n.clickhouse.close()
	}
	gen, err := readCurrent(n.pub)
	if errors.Is(err, fs.ErrNotExist) {
		// The publishing node's data folder itself: its public/ is meant.
		if g, perr := readCurrent(filepath.Join(cfg.DataDir, publicDir)); perr == nil {
			n.pub, gen, err = filepath.Join(cfg.DataDir, publicDir), g, nil
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read-only: %s holds no public snapshot (no %s): give the publishing node's DATA/%s folder, or a copy of it", cfg.DataDir, currentFile, publicDir)
	}
	if err != nil {
		return fmt.Errorf("read-only: %w", err)
	}
	start := time.Now()
	first, err := n.open(ctx, gen)
	if err != nil {
		if n.search != nil {
			n.search.Close()
			os.RemoveAll(n.searchTmp)
		}
		return fmt.Errorf("read-only: public snapshot %s: %w", gen, err)
	}
	n.cur.Store(first)
	log.Info("read node opened the public snapshot", "generation", gen, "took", time.Since(start).Round(time.Millisecond))
	defer func() {
		n.cur.Load().close()
		n.search.Close()
		os.RemoveAll(n.searchTmp)
	}()

	// The first generation's server listens; its hooks forward to the
	// current generation's.
	front := first.app
	srv := front.Server()
	srv.Handler = n.handle
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig { return n.cur.Load().headerReceived(h) }
	srv.ErrorHandler = func(c *fasthttp.RequestCtx, err error) { n.cur.Load().errorHandler(c, err) }
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- front.Listener(ln) }()

	retireCtx, stopRetiring := context.WithCancel(context.Background())
	watchCtx, stopWatching := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); n.watch(watchCtx, retireCtx) }()
	defer func() {
		stopWatching()
		<-watched
		stopRetiring()
		n.retiring.Wait()
	}()

	url := "http://" + ln.Addr().String()
	log.Info("serving read-only", "url", url, "public_snapshot", n.pub, "generation", gen)
	fmt.Fprintf(stdout, "Candour is serving %s read-only (public snapshot %s, generation %s). Press Ctrl+C to stop.\n", url, n.pub, gen)

	select {
	case err := <-served:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := front.ShutdownWithContext(shutdown); errors.Is(err, context.DeadlineExceeded) {
		log.Warn("connections still open at the shutdown timeout are closed", "timeout", cfg.ShutdownTimeout)
		return nil
	} else if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

// handle passes a request to the current generation, holding it open
// until the handler returns.
func (n *readNode) handle(c *fasthttp.RequestCtx) {
	for {
		g := n.cur.Load()
		g.refs.Add(1)
		if !g.closing.Load() {
			defer g.refs.Add(-1)
			g.handler(c)
			return
		}
		// Swapped out between the load and the count: take the new one.
		g.refs.Add(-1)
	}
}

// watch swaps in each new generation CURRENT names until ctx ends.
func (n *readNode) watch(ctx, retireCtx context.Context) {
	tick := time.NewTicker(readNodePoll)
	defer tick.Stop()
	failed := map[string]time.Time{}
	var unreadable string
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		gen, err := readCurrent(n.pub)
		if err != nil {
			if err.Error() != unreadable {
				n.log.Warn("read node: cannot read the current public snapshot's name; still serving the one it has", "err", err)
				unreadable = err.Error()
			}
			continue
		}
		unreadable = ""
		old := n.cur.Load()
		if gen == old.name {
			continue
		}
		if at, ok := failed[gen]; ok && time.Since(at) < readNodeRetryFailed {
			continue
		}
		start := time.Now()
		g, err := n.open(ctx, gen)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.log.Warn("read node: the new public snapshot cannot be opened yet; still serving the previous one", "generation", gen,
				"serving", old.name, "err", err, "retry_in", readNodeRetryFailed)
			failed[gen] = time.Now()
			continue
		}
		delete(failed, gen)
		n.cur.Store(g)
		n.log.Info("read node: public snapshot changed; now serving the new generation", "generation", gen, "previous", old.name,
			"took", time.Since(start).Round(time.Millisecond))
		n.retiring.Add(1)
		go func() {
			defer n.retiring.Done()
			n.retire(retireCtx, old)
		}()
	}
}

// retire closes a swapped-out generation once no handler uses it and
// readNodeRetireAfter has passed, or when ctx ends.
func (n *readNode) retire(ctx context.Context, g *generation) {
	g.closing.Store(true)
	for g.refs.Load() > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-time.After(readNodeRetireAfter):
	case <-ctx.Done():
	}
	g.close()
	n.log.Debug("read node: closed a previous generation", "generation", g.name)
}

// open checks and opens a generation of the public snapshot.
func (n *readNode) open(ctx context.Context, gen string) (g *generation, err error) {
	dir := filepath.Join(n.pub, snapshotsDir, gen)
	idx, err := checkSnapshot(dir, gen)
	if err != nil {
		return nil, err
	}
	g = &generation{name: gen}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	// Immutable: SQLite takes no lock and looks for no journal, so the
	// folder may be read-only and is never written.
	if g.db, err = sql.Open("sqlite3", "file:"+filepath.Join(dir, databaseFile)+"?mode=ro&immutable=1"); err != nil {
		return g, err
	}
	if err := checkSnapshotSchema(ctx, g.db); err != nil {
		return g, err
	}
	now := func() time.Time { return time.Now().UTC() }
	cat := cataloguesqlite.New(g.db, now)
	blobs, err := datasets.OpenBlobStore(filepath.Join(dir, blobsDir))
	if err != nil {
		return g, err
	}
	stores := analytics{rows: rowsqlite.New(g.db), observations: observationsqlite.New(g.db), audits: outcomesqlite.New(g.db)}
	if n.clickhouse.server != nil {
		stores = n.clickhouse
	}
	rows, observations, audits := stores.rows, stores.observations, stores.audits
	fb := feedbacksqlite.New(g.db, now)
	pages, err := content.Default()
	if err != nil {
		return g, err
	}
	pub := publisher.New(publisher.Options{Catalogue: cat, Rows: rows, Blobs: blobs, Workflow: workflowsqlite.New(g.db, cat),
		Observations: observations, Audits: audits, Content: pages, Now: now, Log: n.log,
		Approvals: n.cfg.Approvals, MaxUploadBytes: n.cfg.MaxUploadBytes})
	if n.search == nil {
		if n.searchTmp, err = os.MkdirTemp("", "candour-read-node-search-"); err != nil {
			return g, err
		}
		if n.search, err = searchbleve.Create(ctx, filepath.Join(n.searchTmp, searchDir), func(ctx context.Context, x *searchbleve.Index) error {
			return pub.FillSearch(ctx, x)
		}); err != nil {
			os.RemoveAll(n.searchTmp)
			return g, fmt.Errorf("build the search index: %w", err)
		}
	}
	cfg := n.cfg
	s, err := site.New(site.Config{SiteName: cfg.SiteName, NHSBranding: cfg.NHSBranding, Version: version, ReadOnly: true,
		PageCache: cfg.PageCache, PageCacheBytes: cfg.PageCacheBytes, APIRate: cfg.APIRate,
		TrustedProxies: cfg.TrustedProxies, MaxUploadBytes: cfg.MaxUploadBytes,
		ReadTimeout: cfg.ReadTimeout, UploadReadTimeout: cfg.UploadTimeout, WriteTimeout: cfg.WriteTimeout,
		MaxInFlight: cfg.MaxInFlight, QueueWait: cfg.QueueWait}, site.Deps{
		Catalogue:    catalogue.NewPublic(cat, now),
		Rows:         rows,
		Blobs:        blobs,
		Content:      pages,
		Log:          n.log,
		Publisher:    pub,
		Auth:         noAccounts{},
		Register:     siteRegister{register.New(registersqlite.New(g.db), now)},
		Observations: observations,
		Audits:       audits,
		Search:       n.search,
		Feedback:     fb,
		AreaFeedback: fb,
	})
	if err != nil {
		return g, err
	}
	// Last, as it changes the index the current generation searches: bring
	// it up to date with this one (the first is already).
	sync, stop := context.WithCancel(ctx)
	err = pub.UseSearch(sync, n.search)
	stop()
	if err != nil {
		return g, fmt.Errorf("bring the search index up to date: %w", err)
	}
	g.app = s.App()
	g.handler = g.app.Handler()
	g.headerReceived = g.app.Server().HeaderReceived
	g.errorHandler = g.app.Server().ErrorHandler
	n.log.Debug("read node opened a generation", "generation", gen, "at", idx.At, "releases", idx.Counts.Releases, "files", len(idx.Files))
	return g, nil
}

// close releases what the generation holds.
func (g *generation) close() {
	if g.db != nil {
		g.db.Close()
	}
}

// checkSnapshot reads a generation's snapshot.json and checks the
// generation is whole: its database as recorded, every release file
// present with its size. A generation still being copied fails here.
func checkSnapshot(dir, gen string) (snapshotIndex, error) {
	var idx snapshotIndex
	raw, err := os.ReadFile(filepath.Join(dir, snapshotJSON))
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return idx, fmt.Errorf("%s: %w", snapshotJSON, err)
	}
	if idx.Format != snapshotFormat {
		return idx, fmt.Errorf("%s: format %q, want %q", snapshotJSON, idx.Format, snapshotFormat)
	}
	if idx.Generation != gen {
		return idx, fmt.Errorf("%s: generation %q, not %q", snapshotJSON, idx.Generation, gen)
	}
	db, err := hashFile(filepath.Join(dir, databaseFile))
	if err != nil {
		return idx, err
	}
	if db.SHA256 != idx.Database.SHA256 || db.Bytes != idx.Database.Bytes {
		return idx, fmt.Errorf("%s has SHA-256 %s (%d bytes), but %s records %s (%d bytes): incomplete or damaged",
			databaseFile, db.SHA256, db.Bytes, snapshotJSON, idx.Database.SHA256, idx.Database.Bytes)
	}
	for _, f := range idx.Files {
		if !sha256Hex.MatchString(f.SHA256) {
			return idx, fmt.Errorf("%s: release file %q is not a SHA-256", snapshotJSON, f.SHA256)
		}
		fi, err := os.Stat(filepath.Join(dir, blobsDir, f.SHA256[:2], f.SHA256))
		if err != nil {
			return idx, fmt.Errorf("release file: %w", err)
		}
		if fi.Size() != f.Bytes {
			return idx, fmt.Errorf("release file %s has %d bytes, want %d: incomplete or damaged", f.SHA256, fi.Size(), f.Bytes)
		}
	}
	return idx, nil
}

// checkSnapshotSchema checks that the snapshot's database was migrated by
// exactly this program's migrations: a read node never migrates, and a
// schema it does not know could answer its queries wrongly.
func checkSnapshotSchema(ctx context.Context, db *sql.DB) error {
	want := map[string]string{}
	for _, set := range appMigrations() {
		entries, err := fs.ReadDir(set.Files, ".")
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || path.Ext(e.Name()) != ".sql" {
				continue
			}
			prefix, _, _ := strings.Cut(e.Name(), "_")
			v, err := strconv.Atoi(prefix)
			if err != nil {
				return fmt.Errorf("migration %s: %w", e.Name(), err)
			}
			b, err := fs.ReadFile(set.Files, e.Name())
			if err != nil {
				return err
			}
			want[fmt.Sprintf("%s %d", set.Component, v)] = sha256Text(b)
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT component, version, sha256 FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read the snapshot's schema: %w", err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var component, sum string
		var v int
		if err := rows.Scan(&component, &v, &sum); err != nil {
			return err
		}
		got[fmt.Sprintf("%s %d", component, v)] = sum
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for k, sum := range want {
		if g, ok := got[k]; !ok {
			return fmt.Errorf("the snapshot's database lacks migration %s: it was written by an older Candour than this read node (%s); run the same version on both", k, version)
		} else if g != sum {
			return fmt.Errorf("the snapshot's migration %s differs from this program's: run the same version of Candour on the publishing node and the read nodes", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return fmt.Errorf("the snapshot's database has migration %s, unknown to this read node (%s): upgrade the read node", k, version)
		}
	}
	return nil
}

func sha256Text(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// noAccounts is the Auth of a read node: nobody signs in.
type noAccounts struct{}

func (noAccounts) Login(context.Context, string, string, string) (string, error) {
	return "", site.ErrBadLogin
}
func (noAccounts) Session(context.Context, string) (site.Session, error) {
	return site.Session{}, site.ErrNoSession
}
func (noAccounts) Logout(context.Context, string) error { return nil }
func (noAccounts) APIToken(context.Context, string) (publisher.Actor, error) {
	return publisher.Actor{}, site.ErrNoSession
}
