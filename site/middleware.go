package site

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// contentSecurityPolicy allows only this origin's scripts, styles, images
// and fonts, and no inline script or style at all.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries.
func (s *Site) securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	return c.Next()
}

// requestTimeout bounds the work a request may ask of the stores.
const requestTimeout = 30 * time.Second

// workTimeout is how long a request's work may take: requestTimeout,
// except a submission (an upload route's POST), whose checks and storing
// grow with its files and may take as long as --upload-timeout allows for
// receiving them (with 30 s, a submission of a few million rows was
// answered 500 when the checks outlasted the deadline).
func (s *Site) workTimeout(method, path string) time.Duration {
	if _, upload := uploadRoute(path); upload && method == fiber.MethodPost {
		return max(requestTimeout, s.cfg.UploadReadTimeout)
	}
	return requestTimeout
}

// logRequests gives each request its own context (fasthttp's request
// context is recycled and must not reach database/sql, which watches a
// context from another goroutine), and writes one log line per request
// after it is answered.
//
// The log line is the access log: method, path, route pattern, status,
// bytes of the body (-1 while it streams), the client's address (as
// client.go decides it), the user agent and the time taken; with
// --log-format json each is a field. The same request is counted in the
// metrics (metrics.go).
func (s *Site) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), s.workTimeout(c.Method(), c.Path()))
	defer cancel()
	c.SetUserContext(ctx)
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response now so the status is known.
		if herr := s.handleError(c, err); herr != nil {
			return herr
		}
	}
	took := time.Since(start)
	s.metrics.observe(c, took)
	// Body() would read a streamed body to its end into memory: a
	// streamed answer's size is not known here.
	bodyBytes := -1
	if !c.Response().IsBodyStream() {
		bodyBytes = len(c.Response().Body())
	}
	s.log.Info("request", "method", c.Method(), "path", c.Path(), "route", c.Route().Path, "status", c.Response().StatusCode(),
		"bytes", bodyBytes, "client", s.clientAddress(c), "user_agent", c.Get(fiber.HeaderUserAgent),
		"duration", took.Round(time.Microsecond))
	return nil
}

// localBodyTag is the request local in which the page cache hands
// conditionalGET the tag of the page it sends, worked out once when the
// page was stored: hashing a 385 KB scorecard took about as long as
// sending it from the cache.
const localBodyTag = "candour-body-tag"

// bodyTag is the opaque part of a body's ETag: the first 12 bytes of its
// SHA-256, quoted.
func bodyTag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// conditionalGET gives every complete public answer (pages, lists, API
// JSON, CSV twins, feeds, metadata) a weak ETag from its bytes, and
// answers 304 Not Modified when the client already has them: by
// If-None-Match, or else by If-Modified-Since when the answer says when it
// last changed (feeds). Feed readers and harvesters poll; this spares them
// the body. Answers with their own validator (release files, assets),
// streamed ones (exports) and ones not to be stored (signed-in pages) are
// left as they are. It runs inside compression, so the tag is the
// identity body's, and weak: the same for every encoding of it.
func conditionalGET(c *fiber.Ctx) error {
	if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodHead {
		return c.Next()
	}
	if err := c.Next(); err != nil {
		return err
	}
	resp := c.Response()
	if resp.StatusCode() != fiber.StatusOK || resp.IsBodyStream() || len(resp.Header.Peek(fiber.HeaderETag)) > 0 ||
		strings.Contains(string(resp.Header.Peek(fiber.HeaderCacheControl)), "no-store") {
		return nil
	}
	opaque, _ := c.Locals(localBodyTag).(string) // a cached page's, made when it was stored
	if opaque == "" {
		opaque = bodyTag(resp.Body())
	}
	c.Set(fiber.HeaderETag, "W/"+opaque)
	notModified := false
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" {
		notModified = etagMatches(inm, opaque)
	} else if ims, lm := c.Get(fiber.HeaderIfModifiedSince), string(resp.Header.Peek(fiber.HeaderLastModified)); ims != "" && lm != "" {
		since, err1 := http.ParseTime(ims)
		modified, err2 := http.ParseTime(lm)
		notModified = err1 == nil && err2 == nil && !modified.After(since)
	}
	if notModified {
		resp.ResetBody()
		resp.SetStatusCode(fiber.StatusNotModified)
	}
	return nil
}
