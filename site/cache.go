package site

import (
	"container/list"
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// pageCache keeps rendered public pages in memory. Public pages are the
// same for everyone and change only when what is published changes, so
// the publisher's notice of any public change (a publication, withdrawal,
// supersession, announcement or schedule) clears the cache at once
// (Site.InvalidateCache); a short lifetime bounds staleness from changes
// made by another process on the same data folder. Workspace pages, the
// API's row and release answers, downloads and pages that change with every
// workflow step (calendar, transparency) are never cached.
//
// The cache is bounded by bytes, not entries: the least recently used
// pages go first once the budget is spent, and expired pages are freed as
// they are met and by a sweep once per lifetime. Its keys are the path and
// the query parameters the site reads (cacheableParams), in a canonical
// order; a request with any other parameter, or a very long address, is
// answered without being stored, so junk in query strings cannot fill
// memory. Each clear starts a new generation, and a page is stored only if
// no clear happened while it was rendered, so a page rendered before a
// publication is never kept after it.
//
// Misses are rendered once: while one request renders a page, others
// asking for the same key wait for it (up to flightWait) and are served
// what it stored, rather than all rendering the same page at once when a
// popular page expires or a publication clears the cache. A waiter whose
// page was not stored (an error, a stream, a clear meanwhile) renders it
// itself.
type pageCache struct {
	mu        sync.Mutex
	entries   map[string]*list.Element // of *cachedPage
	flights   map[string]chan struct{} // keys being rendered: closed when done
	recency   *list.List               // most recently used first
	bytes     int64                    // held by entries
	budget    int64
	ttl       time.Duration
	gen       uint64
	lastSweep time.Time
	hits      atomic.Int64
	misses    atomic.Int64
}

type cachedPage struct {
	key         string
	body        []byte
	contentType string
	tag         string      // bodyTag(body)
	headers     [][2]string // of cachedHeaders, as the response set them
	stored      time.Time
	size        int64 // counted against the budget, variants included (under pageCache.mu)

	variantMu sync.Mutex
	variants  map[string][]byte // the body compressed, by encoding, made when first asked for
}

// cachedHeaders are the response headers a cached page keeps besides its
// type: a CSV twin's file name, CORS and licence links, a feed's Last-Modified.
var cachedHeaders = []string{fiber.HeaderContentDisposition, fiber.HeaderAccessControlAllowOrigin, "Link", "X-Candour-Note", fiber.HeaderLastModified}

// entryOverhead is what an entry costs beyond its key, body and headers
// (map slot, list element, struct), counted against the budget.
const entryOverhead = 256

// maxCacheKey is the longest address (scheme, host, path and canonical
// query) stored.
const maxCacheKey = 1024

func newPageCache(ttl time.Duration, budget int64) *pageCache {
	return &pageCache{entries: map[string]*list.Element{}, flights: map[string]chan struct{}{}, recency: list.New(), ttl: ttl, budget: budget, lastSweep: time.Now()}
}

// flightWait is the longest a request waits for another to render the
// page it asked for before rendering it itself.
const flightWait = 10 * time.Second

// lead makes the caller the renderer of key and returns what ends its
// flight, or, when another request is already rendering key, the channel
// closed when that one is done.
func (p *pageCache) lead(key string) (land func(), wait <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.flights[key]; ok {
		return nil, ch
	}
	ch := make(chan struct{})
	p.flights[key] = ch
	return func() {
		p.mu.Lock()
		delete(p.flights, key)
		p.mu.Unlock()
		close(ch)
	}, nil
}

// generation is the number of clears so far; put stores a page only under
// the generation it was rendered in.
func (p *pageCache) generation() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

func (p *pageCache) get(key string) (*cachedPage, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	el, ok := p.entries[key]
	if !ok {
		p.misses.Add(1)
		return nil, false
	}
	e := el.Value.(*cachedPage)
	if time.Since(e.stored) > p.ttl {
		p.remove(el)
		p.misses.Add(1)
		return nil, false
	}
	p.recency.MoveToFront(el)
	p.hits.Add(1)
	return e, true
}

// put stores a page rendered in generation gen, unless the cache has been
// cleared since or the page alone exceeds the budget.
func (p *pageCache) put(gen uint64, e *cachedPage) {
	e.size = int64(len(e.key)+len(e.body)+len(e.contentType)+len(e.tag)) + entryOverhead
	for _, h := range e.headers {
		e.size += int64(len(h[0]) + len(h[1]))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen || e.size > p.budget {
		return
	}
	if time.Since(p.lastSweep) > p.ttl {
		p.sweep()
	}
	if old, ok := p.entries[e.key]; ok {
		p.remove(old)
	}
	for p.bytes+e.size > p.budget {
		p.remove(p.recency.Back())
	}
	p.entries[e.key] = p.recency.PushFront(e)
	p.bytes += e.size
}

// sweep frees every expired page; the caller holds mu.
func (p *pageCache) sweep() {
	for el := p.recency.Back(); el != nil; {
		prev := el.Prev()
		if time.Since(el.Value.(*cachedPage).stored) > p.ttl {
			p.remove(el)
		}
		el = prev
	}
	p.lastSweep = time.Now()
}

// remove drops one entry; the caller holds mu.
func (p *pageCache) remove(el *list.Element) {
	e := p.recency.Remove(el).(*cachedPage)
	delete(p.entries, e.key)
	p.bytes -= e.size
}

func (p *pageCache) clear() {
	p.mu.Lock()
	p.entries = map[string]*list.Element{}
	p.recency.Init()
	p.bytes = 0
	p.gen++
	p.mu.Unlock()
}

// CacheStats is what the page cache holds and how it has done.
type CacheStats struct {
	Entries      int
	Bytes        int64
	Budget       int64
	Hits, Misses int64
}

// CacheStats reports the page cache's size and hit counts (all zero when
// the cache is off).
func (s *Site) CacheStats() CacheStats {
	if s.cache == nil {
		return CacheStats{}
	}
	p := s.cache
	p.mu.Lock()
	defer p.mu.Unlock()
	return CacheStats{Entries: len(p.entries), Bytes: p.bytes, Budget: p.budget, Hits: p.hits.Load(), Misses: p.misses.Load()}
}

// InvalidateCache drops every cached page and makes every materialised
// page stale (rebuilt in the background). The publisher calls it whenever
// what the public may see changes.
func (s *Site) InvalidateCache() {
	if s.cache != nil {
		s.cache.clear()
	}
	if s.mat != nil {
		s.mat.invalidate()
	}
}

// cacheableParams are the query parameters public pages read; a request
// with any other parameter is served without the cache. A parameter left
// out here only costs speed (such requests are rendered each time), never
// correctness.
//
// uncachedParams are the parameters read only by pages the cache never
// holds (signed-in pages, streamed exports). A test reads every query
// parameter the package's handlers ask for and fails when one is in
// neither list, so a new parameter is a decision, not an accident.
var uncachedParams = []string{"done", "next", "after", "check"}

var cacheableParams = func() map[string]bool {
	names := []string{"format", "page", "status", "type", "q", "sort", "limit", "offset", "snippets",
		"measure", "level", "period", "region", "icb", "org", "from", "to", "file",
		"publisher", "dataset", "topic", "id", "all_fields", "include_datasets", "include_private", "rows", "start", "fq", "facet.field",
		"organisation", "all-periods", "near", "by", "indicator", "km"}
	m := map[string]bool{}
	for _, n := range append(names, catalogue.Facets...) {
		m[n] = true
	}
	return m
}()

// cacheKey is the request's scheme and host, path and query in canonical
// order (parameters sorted by name, the values of one name in the order
// given), or false when the request must not be stored: an unknown
// parameter, or too long.
//
// The scheme and host are part of the key because feeds, DCAT, the CKAN
// API and the search API write absolute links from them (c.BaseURL): keyed
// by path alone, one request with a forged Host header put its host in
// the links every later reader of those pages was served until the page
// expired. A page made for one host is now served only to requests for
// that host; junk hosts cost cache space, which the byte budget bounds.
func cacheKey(c *fiber.Ctx) (string, bool) {
	var pairs [][2]string
	known := true
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if !cacheableParams[string(k)] {
			known = false
		}
		pairs = append(pairs, [2]string{string(k), string(v)})
	})
	if !known {
		return "", false
	}
	key := c.BaseURL() + canonicalAddress(c.Path(), pairs)
	if len(key) > maxCacheKey {
		return "", false
	}
	return key, true
}

// canonicalAddress is path with the query pairs sorted by name (the values
// of one name in the order given), escaped.
func canonicalAddress(path string, pairs [][2]string) string {
	slices.SortStableFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var key strings.Builder
	key.WriteString(path)
	for i, p := range pairs {
		key.WriteByte("?&"[min(i, 1)])
		key.WriteString(url.QueryEscape(p[0]))
		key.WriteByte('=')
		key.WriteString(url.QueryEscape(p[1]))
	}
	return key.String()
}

// cached serves a public page from the cache, or renders it and keeps it
// when it was a success.
func (s *Site) cached(c *fiber.Ctx) error {
	if s.cache == nil || c.Method() != fiber.MethodGet {
		return c.Next()
	}
	// The key is built from copies (strings), not views of fasthttp's
	// buffers, which a later request would rewrite inside the map.
	key, ok := cacheKey(c)
	if !ok {
		c.Set("X-Candour-Cache", "bypass")
		return c.Next()
	}
	if e, ok := s.cache.get(key); ok {
		return s.sendCached(c, e, "hit")
	}
	land, wait := s.cache.lead(key)
	if wait != nil {
		select {
		case <-wait:
			if e, ok := s.cache.get(key); ok {
				return s.sendCached(c, e, "shared")
			}
		case <-time.After(flightWait):
		}
	} else {
		defer land()
	}
	gen := s.cache.generation()
	if err := c.Next(); err != nil {
		return err
	}
	if c.Response().StatusCode() == fiber.StatusOK && !c.Response().IsBodyStream() {
		body := append([]byte(nil), c.Response().Body()...)
		var headers [][2]string
		for _, h := range cachedHeaders {
			if v := c.Response().Header.Peek(h); len(v) > 0 {
				headers = append(headers, [2]string{h, string(v)})
			}
		}
		s.cache.put(gen, &cachedPage{key: key, body: body, tag: bodyTag(body), contentType: string(c.Response().Header.ContentType()), headers: headers, stored: time.Now()})
	}
	return nil
}

// sendCached answers with a stored page, compressed as the client
// accepts (see variant).
func (s *Site) sendCached(c *fiber.Ctx, e *cachedPage, how string) error {
	c.Set(fiber.HeaderContentType, e.contentType)
	for _, h := range e.headers {
		c.Set(h[0], h[1])
	}
	c.Set("X-Candour-Cache", how)
	c.Locals(localBodyTag, e.tag)
	if encoding, body := s.cache.variant(e, c); body != nil {
		c.Set(fiber.HeaderContentEncoding, encoding)
		c.Vary(fiber.HeaderAcceptEncoding)
		return c.Send(body)
	}
	return c.Send(e.body)
}

// Compressed variants. Pages go out compressed by the compression
// middleware (routes.go), which compressed a cached page again on every
// hit: a browser asks for Brotli or gzip, and compressing a 385 KB
// scorecard costs many times what sending it does. The cache keeps each
// encoding a page was asked for, made once with the middleware's choice
// of encoding and level (so the bytes are the same), counted against its
// budget; the middleware leaves an answer with an encoding alone.

// minCompressedBody is the smallest body compressed, as the middleware
// (fasthttp) has it.
const minCompressedBody = 200

// variant returns the encoding and body of e to send to the client of c,
// making it the first time; nil when e goes out as it is.
func (p *pageCache) variant(e *cachedPage, c *fiber.Ctx) (string, []byte) {
	encoding := acceptedEncoding(c)
	if encoding == "" || len(e.body) < minCompressedBody || !compressible(e.contentType) {
		return "", nil
	}
	e.variantMu.Lock()
	body, ok := e.variants[encoding]
	if !ok {
		if encoding == "br" {
			body = fasthttp.AppendBrotliBytesLevel(nil, e.body, fasthttp.CompressBrotliBestSpeed)
		} else {
			body = fasthttp.AppendGzipBytesLevel(nil, e.body, fasthttp.CompressBestSpeed)
		}
		if e.variants == nil {
			e.variants = map[string][]byte{}
		}
		e.variants[encoding] = body
	}
	e.variantMu.Unlock()
	if !ok {
		p.grow(e, int64(len(body)))
	}
	return encoding, body
}

// acceptedEncoding is the encoding the middleware would choose for c:
// Brotli, else gzip, else none (deflate is left to the middleware).
func acceptedEncoding(c *fiber.Ctx) string {
	h := &c.Request().Header
	switch {
	case h.HasAcceptEncoding("br"):
		return "br"
	case h.HasAcceptEncoding("gzip"):
		return "gzip"
	}
	return ""
}

// compressible reports whether the middleware compresses a body of this
// type.
func compressible(contentType string) bool {
	for _, prefix := range []string{"text/", "application/", "image/svg", "image/x-icon", "font/", "multipart/"} {
		if strings.HasPrefix(contentType, prefix) {
			return true
		}
	}
	return false
}

// grow counts n more bytes of entry e against the budget, if e is still
// stored, freeing the least recently used others as put does.
func (p *pageCache) grow(e *cachedPage, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if el, ok := p.entries[e.key]; !ok || el.Value != e {
		return
	}
	e.size += n
	p.bytes += n
	for p.bytes > p.budget {
		p.remove(p.recency.Back())
	}
}

// definitionsCache remembers the indicator definitions of the visible
// releases: they change only when the visible set does, and every
// scorecard needs them.
type definitionsCache struct {
	indicators.ObservationStore
	mu   sync.Mutex
	key  string
	defs []indicators.ReleasedDefinition
}

func (d *definitionsCache) Definitions(ctx context.Context, visible datasets.Visible) ([]indicators.ReleasedDefinition, error) {
	ids := visible.IDs()
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	key := strings.Join(parts, ",")
	d.mu.Lock()
	if d.defs != nil && d.key == key {
		defs := d.defs
		d.mu.Unlock()
		// A copy: a caller that sorts what it is given (the map sorts
		// by title) must not reorder every other page's list.
		return slices.Clone(defs), nil
	}
	d.mu.Unlock()
	defs, err := d.ObservationStore.Definitions(ctx, visible)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.key, d.defs = key, slices.Clone(defs)
	d.mu.Unlock()
	return defs, nil
}
