package site

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// Materialised pages: the long tail of the public site, rendered when what
// the public sees changes rather than when someone asks.
//
// A national portal's traffic is a long tail: thousands of organisations'
// scorecards and every indicator in every region, each asked for now and
// then, so most requests miss any cache of what was recently asked for,
// and a scorecard (about 400 KB of HTML over 150 indicators) costs
// milliseconds of CPU to build. Those pages change only when a
// publication (or a withdrawal, a feedback moderation, a day's passing)
// changes them. So the site renders each of them once after every public
// change, in the background, into files, and answers them from the files
// with sendfile as a static server would: the same bytes the live path
// gives, made by the same handlers through the same published view, read
// as one read model rather than rebuilt per request. The page cache stays
// what it was, an optimisation for what is asked often; these pages do not
// depend on it, and a page that is not materialised (another filter, a
// twin, a page being rebuilt) is rendered live as before.
//
// What is materialised (materialKeys): the scorecard of every organisation
// with an observation in a visible release, and every visible indicator's
// page, unfiltered and filtered to each region any observed organisation
// is in. The key is the path and its non-empty parameters in canonical
// order, so the filter form's `?region=Y56&icb=` is the page of
// `?region=Y56`.
//
// Never stale after a change: each public change (InvalidateCache) moves
// the generation on, and a page of an earlier generation is never served;
// the build starts again from the first page. Pages are also rebuilt every
// materialAge, for what changes with time (a figure's age) or by another
// process without a notice to this one, and a page older than twice that
// is not served. Files of replaced pages are removed as they are replaced,
// and the folder is emptied when the site starts.
//
// The build runs in one goroutine, so it takes at most one core from the
// requests it serves alongside.
type materialiser struct {
	dir    string
	render fasthttp.RequestHandler // the materialised routes alone, without the public middleware
	maxAge time.Duration
	// ctx is RunMaterialiser's, which renders: a page being rendered when
	// the server stops is cut short.
	ctx context.Context

	mu    sync.RWMutex
	gen   uint64
	pages map[string]*materialPage
	kick  chan struct{}

	files    atomic.Int64 // names files uniquely
	building atomic.Bool
	current  atomic.Int64 // pages of the current generation
}

// materialPage is one materialised page: its identity and gzip bodies in
// files, with what the answer needs besides.
type materialPage struct {
	gen          uint64
	made         time.Time
	file, gzFile string
	size, gzSize int64
	contentType  string
	tag          string // bodyTag of the identity body
}

// materialAge is how often every page is rebuilt without a public change.
const materialAge = 15 * time.Minute

// materialTimeout bounds the rendering of one page.
const materialTimeout = 2 * time.Minute

// newMaterialiser empties dir (pages of an earlier run are not trusted)
// and prepares to fill it.
func newMaterialiser(dir string) (*materialiser, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("materialised pages: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("materialised pages: %w", err)
	}
	return &materialiser{dir: dir, maxAge: materialAge, ctx: context.Background(), pages: map[string]*materialPage{}, kick: make(chan struct{}, 1)}, nil
}

// invalidate makes every page stale and asks for a new build.
func (m *materialiser) invalidate() {
	m.mu.Lock()
	m.gen++
	m.mu.Unlock()
	m.current.Store(0)
	m.ask()
}

func (m *materialiser) ask() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *materialiser) generation() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen
}

// get returns the page of key if it is of the current generation and not
// too old.
func (m *materialiser) get(key string) *materialPage {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p := m.pages[key]
	if p == nil || p.gen != m.gen || time.Since(p.made) > 2*m.maxAge {
		return nil
	}
	return p
}

// put stores p as the page of key if no change happened while it was
// rendered, and removes the files of the page it replaces (or of p, when
// it came too late).
func (m *materialiser) put(key string, p *materialPage) {
	m.mu.Lock()
	old := p
	if p.gen == m.gen {
		old = m.pages[key]
		if old == nil || old.gen != m.gen {
			m.current.Add(1)
		}
		m.pages[key] = p
	}
	m.mu.Unlock()
	if old != nil {
		os.Remove(old.file)
		os.Remove(old.gzFile)
	}
}

// keep drops the pages whose keys are not in keys (an organisation no
// longer observed, an indicator withdrawn), with their files.
func (m *materialiser) keep(keys []string) {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	m.mu.Lock()
	var gone []*materialPage
	for k, p := range m.pages {
		if !want[k] {
			gone = append(gone, p)
			delete(m.pages, k)
		}
	}
	m.mu.Unlock()
	for _, p := range gone {
		os.Remove(p.file)
		os.Remove(p.gzFile)
	}
}

// RunMaterialiser builds the materialised pages now, after every public
// change and every materialAge, until ctx ends. It does nothing when the
// site has none (Config.MaterialisedPages empty).
func (s *Site) RunMaterialiser(ctx context.Context) {
	m := s.mat
	if m == nil {
		return
	}
	m.ctx = ctx
	refresh := time.NewTicker(m.maxAge)
	defer refresh.Stop()
	m.ask()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-refresh.C:
		}
		if err := s.buildMaterialised(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("materialised pages: build stopped; pages not built are rendered live", "err", err)
		}
	}
}

// MaterialisedStats reports how many pages of the current generation are
// materialised and whether a build is running.
func (s *Site) MaterialisedStats() (pages int64, building bool) {
	if s.mat == nil {
		return 0, false
	}
	return s.mat.current.Load(), s.mat.building.Load()
}

// buildMaterialised renders every page materialKeys lists, unless a
// public change makes it start over.
func (s *Site) buildMaterialised(ctx context.Context) error {
	m := s.mat
	m.building.Store(true)
	defer m.building.Store(false)
	gen := m.generation()
	keys, err := s.materialKeys(ctx)
	if err != nil {
		return err
	}
	for _, key := range keys {
		if ctx.Err() != nil || m.generation() != gen {
			return nil // a later change: the build starts again
		}
		p, err := s.materialise(key, gen)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if p != nil {
			m.put(key, p)
		}
	}
	if m.generation() == gen {
		m.keep(keys)
	}
	return nil
}

// materialKeys lists the pages to materialise: every observed
// organisation's scorecard, and every visible indicator's page unfiltered
// and in each region any observed organisation is in.
func (s *Site) materialKeys(ctx context.Context) ([]string, error) {
	v := s.deps.Catalogue.View()
	ids, err := v.ContentVisibleReleases(ctx)
	if err != nil {
		return nil, err
	}
	visible := datasets.NewVisible(ids...)
	codes, err := s.deps.Observations.ObservedOrganisations(ctx, indicators.ObservationQuery{Visible: visible})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(codes))
	for _, code := range codes {
		keys = append(keys, "/organisations/"+code)
	}
	orgs, err := v.OrganisationsByCode(ctx, codes)
	if err != nil {
		return nil, err
	}
	regions := map[string]bool{}
	for _, o := range orgs {
		if o.RegionCode != "" {
			regions[o.RegionCode] = true
		}
	}
	defs, err := s.deps.Observations.Definitions(ctx, visible)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		path := "/indicators/" + d.Definition.ID
		keys = append(keys, path)
		for _, r := range sortedKeys(regions) {
			keys = append(keys, canonicalAddress(path, [][2]string{{"region", r}}))
		}
	}
	return slices.Compact(keys), nil
}

// materialise renders key through the materialised routes and writes its
// bodies; nil when the answer is not a page to keep (not 200: a page
// that does not exist, an error).
func (s *Site) materialise(key string, gen uint64) (*materialPage, error) {
	m := s.mat
	var req fasthttp.Request
	req.Header.SetMethod(fiber.MethodGet)
	req.SetRequestURI(key)
	var rc fasthttp.RequestCtx
	rc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	m.render(&rc)
	if rc.Response.StatusCode() != fiber.StatusOK || rc.Response.IsBodyStream() {
		return nil, nil
	}
	body := rc.Response.Body()
	name := filepath.Join(m.dir, strconv.FormatUint(gen, 10)+"-"+strconv.FormatInt(m.files.Add(1), 10))
	p := &materialPage{gen: gen, made: time.Now(), file: name + ".html", gzFile: name + ".html.gz",
		size: int64(len(body)), contentType: string(rc.Response.Header.ContentType()), tag: bodyTag(body)}
	gz := fasthttp.AppendGzipBytesLevel(nil, body, fasthttp.CompressBestSpeed)
	p.gzSize = int64(len(gz))
	if err := os.WriteFile(p.file, body, 0o640); err != nil {
		os.Remove(p.file)
		return nil, err
	}
	if err := os.WriteFile(p.gzFile, gz, 0o640); err != nil {
		os.Remove(p.file)
		return nil, err
	}
	return p, nil
}

// materialRoutes is the app that renders materialised pages: the pages'
// own handlers, without logging, metrics, load shedding, compression or
// the caches, and with the work timeout a request has.
func (s *Site) materialRoutes() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: s.handleError})
	app.Use(func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(s.mat.ctx, materialTimeout)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	})
	app.Get("/organisations/:code", s.organisation)
	app.Get("/indicators/:id", s.indicator)
	return app
}

// fromMaterialised answers a GET of a materialised page from its file,
// with the ETag it was made with (304 when the client has it), gzip when
// the client accepts it; anything else goes on to the cache and the
// handler.
func (s *Site) fromMaterialised(c *fiber.Ctx) error {
	if s.mat == nil || c.Method() != fiber.MethodGet {
		return c.Next()
	}
	key, ok := materialKey(c)
	if !ok {
		return c.Next()
	}
	p := s.mat.get(key)
	if p == nil {
		return c.Next()
	}
	gz := c.Request().Header.HasAcceptEncoding("gzip")
	name, size := p.file, p.size
	if gz {
		name, size = p.gzFile, p.gzSize
	}
	etag := "W/" + p.tag
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, p.tag) {
		c.Set(fiber.HeaderETag, etag)
		c.Set("X-Candour-Cache", "materialised")
		return c.SendStatus(fiber.StatusNotModified)
	}
	f, err := os.Open(name)
	if err != nil {
		return c.Next() // replaced meanwhile: render it live
	}
	c.Set(fiber.HeaderContentType, p.contentType)
	c.Set(fiber.HeaderETag, etag)
	c.Set("X-Candour-Cache", "materialised")
	c.Vary(fiber.HeaderAcceptEncoding)
	if gz {
		c.Set(fiber.HeaderContentEncoding, "gzip")
	}
	c.Response().SetBodyStream(newFileBody(f, 0, size, c.Context().Conn()), int(size))
	return nil
}

// materialKey is the key of the page c asks for: its path and non-empty
// query parameters in canonical order; false when a parameter is not one
// the site reads (such a page is never materialised).
func materialKey(c *fiber.Ctx) (string, bool) {
	var pairs [][2]string
	known := true
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if !cacheableParams[string(k)] {
			known = false
		}
		if len(v) > 0 {
			pairs = append(pairs, [2]string{string(k), string(v)})
		}
	})
	if !known {
		return "", false
	}
	return canonicalAddress(c.Path(), pairs), true
}
