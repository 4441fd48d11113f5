package site

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// pageCache keeps rendered public pages in memory. Public pages are the
// same for everyone and change only when what is published changes, so
// the publisher's notice of a publication, withdrawal or supersession
// clears the cache at once (Site.InvalidateCache); a short lifetime bounds
// staleness from changes made by another process on the same data folder.
// Workspace pages, the API, downloads and pages that change with every
// workflow step (calendar, transparency) are never cached.
type pageCache struct {
	mu      sync.RWMutex
	entries map[string]cachedPage
	ttl     time.Duration
	max     int
}

type cachedPage struct {
	body        []byte
	contentType string
	headers     [][2]string // of cachedHeaders, as the response set them
	stored      time.Time
}

// cachedHeaders are the response headers a cached page keeps besides its
// type: a CSV twin's file name, CORS and licence links, a feed's Last-Modified.
var cachedHeaders = []string{fiber.HeaderContentDisposition, fiber.HeaderAccessControlAllowOrigin, "Link", "X-Candour-Note", fiber.HeaderLastModified}

func newPageCache(ttl time.Duration, max int) *pageCache {
	return &pageCache{entries: map[string]cachedPage{}, ttl: ttl, max: max}
}

func (p *pageCache) get(key string) (cachedPage, bool) {
	p.mu.RLock()
	e, ok := p.entries[key]
	p.mu.RUnlock()
	if !ok || time.Since(e.stored) > p.ttl {
		return cachedPage{}, false
	}
	return e, true
}

func (p *pageCache) put(key string, e cachedPage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.entries) >= p.max {
		for k := range p.entries { // evict an arbitrary entry
			delete(p.entries, k)
			break
		}
	}
	p.entries[key] = e
}

func (p *pageCache) clear() {
	p.mu.Lock()
	p.entries = map[string]cachedPage{}
	p.mu.Unlock()
}

// InvalidateCache drops every cached page. The publisher calls it whenever
// what the public may see changes.
func (s *Site) InvalidateCache() {
	if s.cache != nil {
		s.cache.clear()
	}
}

// cached serves a public page from the cache, or renders it and keeps it
// when it was a success.
func (s *Site) cached(c *fiber.Ctx) error {
	if s.cache == nil || c.Method() != fiber.MethodGet {
		return c.Next()
	}
	// fasthttp reuses the request's buffers: the key must be a copy, not a
	// view of them, or a later request rewrites it inside the map.
	key := strings.Clone(c.OriginalURL())
	if e, ok := s.cache.get(key); ok {
		c.Set(fiber.HeaderContentType, e.contentType)
		for _, h := range e.headers {
			c.Set(h[0], h[1])
		}
		c.Set("X-Candour-Cache", "hit")
		return c.Send(e.body)
	}
	if err := c.Next(); err != nil {
		return err
	}
	if c.Response().StatusCode() == fiber.StatusOK {
		body := append([]byte(nil), c.Response().Body()...)
		var headers [][2]string
		for _, h := range cachedHeaders {
			if v := c.Response().Header.Peek(h); len(v) > 0 {
				headers = append(headers, [2]string{h, string(v)})
			}
		}
		s.cache.put(key, cachedPage{body: body, contentType: string(c.Response().Header.ContentType()), headers: headers, stored: time.Now()})
	}
	return nil
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
		return defs, nil
	}
	d.mu.Unlock()
	defs, err := d.ObservationStore.Definitions(ctx, visible)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.key, d.defs = key, defs
	d.mu.Unlock()
	return defs, nil
}
