package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/cmd/candour/websubsqlite"
	"github.com/candour/candour/site"
)

const serveSummary = `Serves the site from the data folder: the public catalogue, dataset and
release pages, organisation pages, downloads, release calendar and
transparency pages, and the workspace where publishers submit releases and
the transparency panel reviews them (sign in at /account/login; create the
first administrator with candour user add). Only published releases are
public. Releases are published by the built-in scheduler at their embargo
instants. Stops gracefully on SIGINT or SIGTERM.

At start-up and after each publication it writes a public snapshot into
DATA/public for read nodes. With --read-only (CANDOUR_READ_ONLY=true) it is
a read node: --data-dir names such a public folder (or a copy of it), and it
serves the public pages only, from the current snapshot, switching to each
new one as it appears.`

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	args, readOnly, err := cutReadOnly(args, getenv)
	if err != nil {
		return err
	} else if readOnly {
		return runReadNode(ctx, args, getenv, stdout, stderr)
	}
	cfg, rest, err := parseConfig("serve", serveSummary, "", true, args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("candour serve: unexpected argument %q", rest[0])}
	}
	log := cfg.logger(stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	// CANDOUR_CPU_PROFILE names a file to write a CPU profile into, from
	// the moment the server listens until it stops (for benchmarks: see
	// cmd/candour-bench).
	a.cpuProfile = getenv("CANDOUR_CPU_PROFILE")
	if empty, err := a.empty(ctx); err != nil {
		return err
	} else if empty {
		log.Warn("the data folder is empty; load data with `candour import` or run `candour demo`", "data_dir", cfg.DataDir)
	}
	return serve(ctx, a, stdout)
}

// serve runs the site until ctx is cancelled, then shuts down gracefully.
// It prints one line to stdout once it is listening, with the address.
func serve(ctx context.Context, a *app, stdout io.Writer) error {
	pages := a.content
	if err := a.openSearch(ctx); err != nil {
		return err
	}
	// kickSnapshot asks for a public snapshot; set before anything that
	// calls it can run (the listener, the poller).
	var kickSnapshot func()
	s, err := site.New(site.Config{SiteName: a.cfg.SiteName, NHSBranding: a.cfg.NHSBranding, Version: version,
		PageCache: a.cfg.PageCache, PageCacheBytes: a.cfg.PageCacheBytes, MaterialisedPages: materialisedPages(a.cfg),
		APIRate:        a.cfg.APIRate,
		TrustedProxies: a.cfg.TrustedProxies, MaxUploadBytes: a.cfg.MaxUploadBytes,
		ReadTimeout: a.cfg.ReadTimeout, UploadReadTimeout: a.cfg.UploadTimeout, WriteTimeout: a.cfg.WriteTimeout,
		MaxInFlight: a.cfg.MaxInFlight, QueueWait: a.cfg.QueueWait, SubmitWait: a.cfg.SubmitWait,
		WebSubPrivateCallbacks: a.cfg.WebSubPrivate}, site.Deps{
		Catalogue:    catalogue.NewPublic(a.catalogue, a.now),
		Rows:         a.rows,
		Blobs:        a.blobs,
		Content:      pages,
		Log:          a.log,
		Publisher:    a.publisher,
		Auth:         siteAuth{a.accounts},
		Register:     siteRegister{a.register},
		Observations: a.observations,
		Audits:       a.audits,
		Search:       a.search,
		Accounts:     a.accounts,
		WebSub:       websubsqlite.New(a.db),
		Feedback:     a.feedback,
		AreaFeedback: a.feedback,
		Moderator:    a.moderator(func() { kickSnapshot() }),
	})
	if err != nil {
		return err
	}
	a.publisher.OnPublicChange(func() { s.InvalidateCache(); s.NudgeHub() })
	stopSnapshots, kick := startPublicSnapshots(a) // for read nodes (snapshot.go)
	defer stopSnapshots()
	kickSnapshot = kick
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	app := s.App()
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	// The scheduler publishes releases at their embargo instants, catching
	// up first on any that fell due while the server was stopped.
	schedCtx, stopScheduler := context.WithCancel(context.Background())
	scheduled := make(chan error, 1)
	go func() { scheduled <- a.publisher.RunScheduler(schedCtx) }()
	defer func() { stopScheduler(); <-scheduled }()
	// Scorecards and indicator pages are materialised in the background
	// (site/materialise.go).
	matCtx, stopMaterialiser := context.WithCancel(context.Background())
	matDone := make(chan struct{})
	go func() { s.RunMaterialiser(matCtx); close(matDone) }()
	defer func() { stopMaterialiser(); <-matDone }()
	// The WebSub hub delivers what publication changes in the feeds.
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { s.RunHub(hubCtx); close(hubDone) }()
	defer func() { stopHub(); <-hubDone }()
	// The feedback poller reads the feedback sources' feeds on their
	// schedules (feedback.go).
	stopPoller, err := startFeedbackPoller(a, func() { s.InvalidateCache(); kickSnapshot() })
	if err != nil {
		return err
	}
	defer stopPoller()
	if a.cpuProfile != "" {
		f, err := os.Create(a.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	url := "http://" + ln.Addr().String()
	a.log.Info("serving", "url", url, "data_dir", a.cfg.DataDir)
	fmt.Fprintf(stdout, "Candour is serving %s (data folder %s). Press Ctrl+C to stop.\n", url, a.cfg.DataDir)

	select {
	case err := <-served:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	shutdown, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := app.ShutdownWithContext(shutdown); errors.Is(err, context.DeadlineExceeded) {
		// Clients still connected when the timeout ends (a keep-alive
		// connection part-way through a request, a stalled upload) are cut
		// off as the process exits: the timeout is the promise.
		a.log.Warn("connections still open at the shutdown timeout are closed", "timeout", a.cfg.ShutdownTimeout)
		return nil
	} else if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	a.log.Info("stopped")
	return nil
}

// materialisedDir is the data folder's folder of materialised pages
// (site/materialise.go): derived, emptied at every start, never backed up.
const materialisedDir = "pages"

// materialisedPages is the folder of the site's materialised pages, or ""
// when they are turned off (and the folder, which would only hold pages
// of an earlier run, is removed).
func materialisedPages(cfg Config) string {
	dir := filepath.Join(cfg.DataDir, materialisedDir)
	if !cfg.MaterialisePages {
		os.RemoveAll(dir)
		return ""
	}
	return dir
}
