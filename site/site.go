// Package site is Candour's public web site: a Fiber app that renders the
// published view of the catalogue as server-side HTML (usable without
// JavaScript) with the NHS design system's styles, and serves release files
// for download.
//
// # Shape
//
//   - routes.go holds the whole URL surface in one table.
//   - Handlers gather data with plain functions into typed page structs and
//     return errors; errors.go is the one place that maps an error to a
//     status, a page and a log line.
//   - Templates and assets are embedded and parsed once at start
//     (render.go, assets.go); a test renders every template.
//   - Security headers are set on every response, with a Content Security
//     Policy that allows no inline script or style at all.
//   - Charts (charts.go) are ECharts options built with go-echarts and
//     embedded as JSON in data-chart attributes; static/charts.js draws
//     them with the locally served ECharts. Each sits beside a table and a
//     one-sentence summary, and is hidden without JavaScript.
//   - Public pages are cached in memory (cache.go) until the publisher
//     reports a change to what is public, and for at most a minute.
//   - Scorecards and indicator pages, the long tail, are materialised
//     (materialise.go): rendered by their own handlers after every public
//     change into files served as a static server would, and rendered per
//     request only while they are being rebuilt.
//   - Pooled patient feedback (feedback.go): "What patients say" on each
//     scorecard (visible items only, each attributed to its source with a
//     link back), its JSON, and the administrators' moderation page, whose
//     decisions go through the moderator in Deps and clear the page cache.
//
// # What it must not do
//
// Public pages read the catalogue only through catalogue.Public (the
// published view), rows only with the visible set that view gives, and the
// workflow only through publisher methods that take that view. The
// workspace (behind a session, with an anti-forgery token on every form)
// goes through publisher.Service, which checks roles and separation of
// duties itself. The site never imports a storage adapter, database/sql or
// a driver (enforced by a test in cmd/candour), and never serves an
// original (pre-disclosure) file on a public route.
package site

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // UK times on pages, whatever the machine's zone files

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/content"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/site/websub"
)

// Rows is the row store as the site reads it.
type Rows interface {
	Rows(ctx context.Context, visible datasets.Visible, q datasets.RowQuery) iter.Seq2[datasets.StoredRow, error]
}

// Blobs is the blob store as the site reads it.
type Blobs interface {
	Open(ctx context.Context, sha256 string) (*os.File, datasets.Blob, error)
}

// Config is the site's presentation settings, built by cmd.
type Config struct {
	// SiteName is shown in the header and page titles.
	SiteName string
	// WebSubPrivateCallbacks lets WebSub subscribers use callbacks on
	// loopback and private addresses (tests, closed networks).
	WebSubPrivateCallbacks bool
	// NHSBranding shows the NHS logo; only for deployments run by an NHS
	// organisation, since that identity is reserved.
	NHSBranding bool
	// Version is the program's version, shown in the footer.
	Version string
	// PageCache keeps rendered public pages in memory until what is
	// published changes (or PageCacheTTL passes).
	PageCache    bool
	PageCacheTTL time.Duration
	// PageCacheBytes is the page cache's budget (default 64 MiB).
	PageCacheBytes int64
	// MaterialisedPages is the folder of the materialised pages
	// (materialise.go), emptied at start; "" for none (every page is
	// rendered when asked for).
	MaterialisedPages string
	// APIRate is how many requests a minute one client may make to the
	// public API (0: unlimited).
	APIRate int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (client.go); empty: none, the connection's address counts.
	TrustedProxies []netip.Prefix
	// Limits (limits.go); zero takes the default.
	MaxUploadBytes    int64
	ReadTimeout       time.Duration
	UploadReadTimeout time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxInFlight       int
	QueueWait         time.Duration
	// SubmitWait is how long the workspace's submit form waits for a
	// submission's checks before showing a progress page (default 2 s).
	SubmitWait time.Duration
	// ReadOnly serves the public pages only (a read node on a public
	// snapshot): the sign-in and workspace pages and the submission API
	// are not routed, and answer 404.
	ReadOnly bool
}

// DefaultPageCacheBytes is the page cache's budget unless Config sets one.
const DefaultPageCacheBytes = 64 << 20

// Deps are what the site reads from.
type Deps struct {
	Catalogue *catalogue.Public
	Rows      Rows
	Blobs     Blobs
	Content   *content.Library
	Log       *slog.Logger
	// Publisher runs the workflow behind the workspace; public pages use
	// only its methods that take the published view.
	Publisher *publisher.Service
	// Auth signs people in to the workspace.
	Auth Auth
	// Register is the data release register.
	Register Register
	// Observations holds indicator definitions and observations; the site
	// reads them only for releases the published view shows.
	Observations indicators.ObservationStore
	// Audits holds clinical audit outcomes; the site reads them only for
	// releases the published view shows.
	Audits audit.Store
	// Search is the catalogue's search index; every query passes the
	// published view's visible releases.
	Search catalogue.SearchIndex
	// Accounts administers accounts (accounts.go); nil on a read node,
	// which has none.
	Accounts Accounts
	// WebSub keeps the WebSub hub's subscriptions (hub.go); nil for no
	// hub (a read node has none).
	WebSub websub.Store
	// AreaFeedback pools patient feedback on local area pages and packs
	// (areas.go): the feedback store; nil for none.
	AreaFeedback AreaFeedback
	// Feedback is pooled patient feedback (feedback.go), shown on
	// scorecards; nil for none.
	Feedback Feedback
	// Moderator records administrators' moderation of feedback; nil for
	// no moderation page (a read node has none).
	Moderator FeedbackModerator
}

// Site is the web application.
type Site struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	pages   *renderer
	assets  *assetSet
	started time.Time
	// gzipDigests holds each release file's gzip Repr-Digest by SHA-256
	// (downloads.go): a file's bytes never change.
	gzipDigests sync.Map
	hub         *websub.Hub // nil when there is none
	cache       *pageCache
	mat         *materialiser // nil when pages are not materialised
	shed        atomic.Int64  // requests answered 503 by shedLoad or for want of an export turn
	// exportTurns bounds the filtered exports streaming at once; see
	// exportStreams.
	exportTurns *turns
	// jobs are the workspace form's submissions (submitjobs.go).
	jobs    submitJobs
	metrics *siteMetrics
	// outcodes are the postcode district centres, read once.
	outcodes outcodeCentres
}

// New builds the site, parsing templates and loading assets once. It fails
// if a template does not parse; missing third-party assets (npm files not
// copied in) are logged and the site runs unstyled.
func New(cfg Config, deps Deps) (*Site, error) {
	if deps.Catalogue == nil || deps.Rows == nil || deps.Blobs == nil || deps.Content == nil || deps.Log == nil ||
		deps.Publisher == nil || deps.Auth == nil || deps.Register == nil || deps.Observations == nil || deps.Audits == nil || deps.Search == nil {
		return nil, errors.New("site: every dependency is required")
	}
	if cfg.SiteName == "" {
		cfg.SiteName = "Candour"
	}
	pages, err := newRenderer()
	if err != nil {
		return nil, err
	}
	assets, missing, err := loadAssets()
	if err != nil {
		return nil, err
	}
	for _, m := range missing {
		deps.Log.Warn("front-end asset missing; pages will be served unstyled (run `make assets`)", "file", m)
	}
	deps.Observations = &definitionsCache{ObservationStore: deps.Observations}
	cfg.limitsOr()
	site := &Site{cfg: cfg, deps: deps, log: deps.Log, pages: pages, assets: assets, started: time.Now()}
	site.hub = site.newHub(deps.WebSub)
	site.metrics = newSiteMetrics(site)
	site.exportTurns = newTurns(exportStreams(cfg.MaxInFlight), cfg.QueueWait)
	if cfg.PageCache {
		ttl := cfg.PageCacheTTL
		if ttl <= 0 {
			ttl = time.Minute
		}
		budget := cfg.PageCacheBytes
		if budget <= 0 {
			budget = DefaultPageCacheBytes
		}
		site.cache = newPageCache(ttl, budget)
	}
	if cfg.MaterialisedPages != "" {
		if site.mat, err = newMaterialiser(cfg.MaterialisedPages); err != nil {
			return nil, err
		}
		site.mat.render = site.materialRoutes().Handler()
	}
	return site, nil
}

// App returns the Fiber application serving the site.
func (s *Site) App() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               s.cfg.SiteName,
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		// The limits are explained in limits.go; requestConfig narrows the
		// body limit and timeouts per request from its headers.
		BodyLimit: int(s.cfg.MaxUploadBytes + multipartOverhead),
		// No write timeout by default: requestConfig gives every answer but
		// streamed downloads and exports one (fasthttp takes a request's
		// zero as "the server's").
		ReadTimeout:    s.cfg.ReadTimeout,
		IdleTimeout:    s.cfg.IdleTimeout,
		ReadBufferSize: headerBufferBytes,
		// Bodies are streamed and read by readBodies (bodies.go), so that
		// an upload is spooled to disk as it arrives.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
	})
	app.Server().HeaderReceived = s.requestConfig
	s.routes(app)
	return app
}
