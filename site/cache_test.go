package site

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/valyala/fasthttp"
)

func page(key string, n int) *cachedPage {
	return &cachedPage{key: key, body: []byte(strings.Repeat("x", n)), contentType: "text/html", stored: time.Now()}
}

func TestPageCacheKeepsToItsByteBudget(t *testing.T) {
	p := newPageCache(time.Minute, 10_000)
	for i := range 100 {
		p.put(p.generation(), page(fmt.Sprintf("/p/%d", i), 1000))
		if p.bytes > p.budget {
			t.Fatalf("after %d pages: %d bytes held, budget %d", i+1, p.bytes, p.budget)
		}
	}
	if len(p.entries) == 0 || len(p.entries) > 10 {
		t.Errorf("%d entries of ~1.3 KB in a 10 KB budget", len(p.entries))
	}
	// The least recently used go first: touch the oldest survivor, add one,
	// and it is still there.
	oldest := p.recency.Back().Value.(*cachedPage).key
	if _, ok := p.get(oldest); !ok {
		t.Fatal("oldest survivor missing")
	}
	p.put(p.generation(), page("/new", 1000))
	if _, ok := p.get(oldest); !ok {
		t.Error("a page just used was evicted before older ones")
	}
	// A page bigger than the whole budget is not stored.
	p.put(p.generation(), page("/huge", 20_000))
	if _, ok := p.get("/huge"); ok {
		t.Error("a page over the budget was stored")
	}
}

func TestPageCacheGenerations(t *testing.T) {
	p := newPageCache(time.Minute, 1<<20)
	gen := p.generation() // rendering starts
	p.clear()             // a publication lands meanwhile
	p.put(gen, page("/", 10))
	if _, ok := p.get("/"); ok {
		t.Error("a page rendered before a publication was stored after it")
	}
	p.put(p.generation(), page("/", 10))
	if _, ok := p.get("/"); !ok {
		t.Error("a page rendered after the publication was not stored")
	}
}

func TestPageCacheFreesExpiredPages(t *testing.T) {
	p := newPageCache(20*time.Millisecond, 1<<20)
	for i := range 50 {
		p.put(p.generation(), page(fmt.Sprintf("/old/%d", i), 100))
	}
	time.Sleep(30 * time.Millisecond)
	p.put(p.generation(), page("/fresh", 100)) // sweeps: a lifetime has passed since the last sweep
	if len(p.entries) != 1 || p.bytes != p.entries["/fresh"].Value.(*cachedPage).size {
		t.Errorf("after expiry: %d entries, %d bytes; want only /fresh", len(p.entries), p.bytes)
	}
	time.Sleep(30 * time.Millisecond)
	if _, ok := p.get("/fresh"); ok || len(p.entries) != 0 || p.bytes != 0 {
		t.Errorf("an expired page was served or kept: %d entries, %d bytes", len(p.entries), p.bytes)
	}
}

func TestCacheKeys(t *testing.T) {
	app := fiber.New()
	app.Get("/*", func(c *fiber.Ctx) error {
		key, ok := cacheKey(c)
		return c.SendString(fmt.Sprint(ok, " ", key))
	})
	cases := []struct{ host, url, want string }{
		{"example.com", "/organisations", "true http://example.com/organisations"},
		{"example.com", "/organisations?type=gp-practice&format=json", "true http://example.com/organisations?format=json&type=gp-practice"},
		{"example.com", "/organisations?format=json&type=gp-practice", "true http://example.com/organisations?format=json&type=gp-practice"},
		{"example.com", "/compare?org=RR8&org=RX1", "true http://example.com/compare?org=RR8&org=RX1"},
		{"example.com", "/compare?org=RX1&org=RR8", "true http://example.com/compare?org=RX1&org=RR8"},
		{"example.com", "/organisations?format=json&junk=1", "false "},
		{"example.com", "/search?q=" + strings.Repeat("a", 2000), "false "},
		// Feeds and DCAT write absolute links from the host: a page made
		// for one host is never another host's.
		{"evil.example", "/catalog.jsonld", "true http://evil.example/catalog.jsonld"},
		{"127.0.0.1:8080", "/catalog.jsonld", "true http://127.0.0.1:8080/catalog.jsonld"},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", c.url, nil)
		req.Host = c.host
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != c.want {
			t.Errorf("%s: key %q, want %q", c.url, body, c.want)
		}
	}
}

// TestPageCacheRendersAMissOnce sends many requests for one uncached page
// at once: the page is rendered once and every request gets it; a page
// that is not stored (an error) is rendered by each request.
func TestPageCacheRendersAMissOnce(t *testing.T) {
	s := &Site{cache: newPageCache(time.Minute, 1<<20)}
	var renders atomic.Int64
	app := fiber.New()
	app.Get("/slow", s.cached, func(c *fiber.Ctx) error {
		renders.Add(1)
		time.Sleep(200 * time.Millisecond)
		return c.SendString("the page")
	})
	app.Get("/failing", s.cached, func(c *fiber.Ctx) error {
		renders.Add(1)
		time.Sleep(50 * time.Millisecond)
		return c.Status(fiber.StatusServiceUnavailable).SendString("unavailable")
	})
	for _, tc := range []struct {
		path    string
		status  int
		renders int64
	}{
		{"/slow", 200, 1},
		{"/failing", 503, 12},
	} {
		renders.Store(0)
		var wg sync.WaitGroup
		errs := make(chan error, 12)
		for range 12 {
			wg.Go(func() {
				res, err := app.Test(httptest.NewRequest("GET", tc.path, nil), 5000)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != tc.status {
					errs <- fmt.Errorf("%s: %d %q", tc.path, res.StatusCode, body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := renders.Load(); got != tc.renders {
			t.Errorf("%s rendered %d times for 12 concurrent requests, want %d", tc.path, got, tc.renders)
		}
	}
	if _, ok := s.cache.get("http://example.com/slow"); !ok {
		t.Error("the page rendered once was not stored")
	}
}

// A page served from the cache has the ETag it had when it was rendered,
// from the tag stored with it (not the body hashed again), and a client
// holding it gets 304 from the cache as from the handler.
func TestCachedPagesKeepTheirTag(t *testing.T) {
	s := &Site{cache: newPageCache(time.Minute, 1<<20)}
	app := fiber.New()
	app.Use(conditionalGET)
	app.Get("/page", s.cached, func(c *fiber.Ctx) error { return c.SendString("a scorecard") })
	get := func(headers ...string) (*http.Response, string) {
		t.Helper()
		res, body := getWith(t, app, "/page", headers...)
		return res, string(body)
	}
	miss, _ := get()
	hit, body := get()
	tag := miss.Header.Get("ETag")
	if hit.Header.Get("X-Candour-Cache") != "hit" || body != "a scorecard" || tag == "" || hit.Header.Get("ETag") != tag {
		t.Fatalf("miss ETag %q; then %s, ETag %q, %q", tag, hit.Header.Get("X-Candour-Cache"), hit.Header.Get("ETag"), body)
	}
	if res, body := get("If-None-Match", tag); res.StatusCode != 304 || body != "" || res.Header.Get("X-Candour-Cache") != "hit" {
		t.Errorf("If-None-Match on a hit: %d %q %s", res.StatusCode, body, res.Header.Get("X-Candour-Cache"))
	}
	e, ok := s.cache.get("http://example.com/page")
	if !ok || e.tag != bodyTag([]byte("a scorecard")) {
		t.Fatalf("stored tag %q", e.tag)
	}
	e.tag = `"stored"`
	if res, _ := get(); res.Header.Get("ETag") != `W/"stored"` {
		t.Errorf("a hit's ETag %q is not the stored tag", res.Header.Get("ETag"))
	}
}

// A cached page asked for compressed is compressed once per encoding, with
// the bytes the compression middleware gives a miss, keeps the identity
// body's tag, and its variants count against the cache's budget.
func TestCachedPagesAreCompressedOnce(t *testing.T) {
	s := &Site{cache: newPageCache(time.Minute, 1<<20)}
	page := strings.Repeat("<tr><td>RR8</td><td>Leeds Teaching Hospitals</td><td>96.1</td></tr>\n", 200)
	renders := 0
	app := fiber.New()
	app.Use(varyOnEncoding, compress.New(pageCompression), conditionalGET)
	app.Get("/page", s.cached, func(c *fiber.Ctx) error {
		renders++
		c.Type("html")
		return c.SendString(page)
	})
	get := func(encoding string, headers ...string) (*http.Response, []byte) {
		t.Helper()
		return getWith(t, app, "/page", append([]string{"Accept-Encoding", encoding}, headers...)...)
	}
	miss, missBody := get("gzip, deflate, br")
	if miss.Header.Get("X-Candour-Cache") == "hit" || miss.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("first answer: %s, encoding %q", miss.Header.Get("X-Candour-Cache"), miss.Header.Get("Content-Encoding"))
	}
	if vary := strings.Join(miss.Header.Values("Vary"), ", "); vary != "Accept-Encoding" { // the middleware's and ours, once
		t.Errorf("first answer: Vary %q", vary)
	}
	before := s.CacheStats().Bytes
	tag := miss.Header.Get("ETag")
	for _, tc := range []struct{ accept, encoding string }{
		{"gzip, deflate, br", "br"}, {"br", "br"}, {"gzip", "gzip"}, {"gzip, deflate", "gzip"}, {"", ""}, {"identity", ""},
	} {
		res, body := get(tc.accept)
		if res.Header.Get("X-Candour-Cache") != "hit" || res.Header.Get("Content-Encoding") != tc.encoding || res.Header.Get("ETag") != tag {
			t.Errorf("Accept-Encoding %q: %s, encoding %q, ETag %q (want %q)", tc.accept, res.Header.Get("X-Candour-Cache"),
				res.Header.Get("Content-Encoding"), res.Header.Get("ETag"), tag)
		}
		if vary := strings.Join(res.Header.Values("Vary"), ", "); vary != "Accept-Encoding" { // once, whatever the encoding
			t.Errorf("Accept-Encoding %q: Vary %q", tc.accept, res.Header.Get("Vary"))
		}
		if tc.encoding == "br" && !bytes.Equal(body, missBody) {
			t.Errorf("the cached Brotli variant differs from what the middleware sent")
		}
		if got := decoded(t, tc.encoding, body); got != page {
			t.Errorf("Accept-Encoding %q: the body is not the page (%d bytes)", tc.accept, len(got))
		}
	}
	if res, body := get("br", "If-None-Match", tag); res.StatusCode != 304 || len(body) != 0 {
		t.Errorf("If-None-Match on a compressed hit: %d, %d bytes", res.StatusCode, len(body))
	}
	e, _ := s.cache.get("http://example.com/page")
	if renders != 1 || len(e.variants) != 2 {
		t.Errorf("%d renders, variants %d", renders, len(e.variants))
	}
	if grown := s.CacheStats().Bytes - before; grown != int64(len(e.variants["br"])+len(e.variants["gzip"])) {
		t.Errorf("the cache grew by %d bytes for variants of %d and %d", grown, len(e.variants["br"]), len(e.variants["gzip"]))
	}
}

// decoded is body decoded from encoding ("" for none).
func decoded(t *testing.T, encoding string, body []byte) string {
	t.Helper()
	var out []byte
	var err error
	switch encoding {
	case "":
		return string(body)
	case "br":
		out, err = fasthttp.AppendUnbrotliBytes(nil, body)
	case "gzip":
		out, err = fasthttp.AppendGunzipBytes(nil, body)
	}
	if err != nil {
		t.Fatalf("%s: %v", encoding, err)
	}
	return string(out)
}
