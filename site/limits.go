package site

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Limits on what a request may cost, each set deliberately (and listed in
// the README's "Limits" section):
//
//   - Headers: the request line and headers must fit in headerBufferBytes
//     (fasthttp's read buffer); larger answers 431.
//   - Bodies: formBodyBytes for every request except a signed-in upload
//     (POST /workspace/submit with a live session, POST /api/v1/submissions
//     with a valid API token), whose limit is the --max-upload size plus
//     room for the multipart framing. The limit is chosen from the headers,
//     before a byte of the body is read, so nobody who has not signed in
//     can make the server hold more than formBodyBytes. Bodies are
//     streamed and readBodies (bodies.go) enforces the limit: upload files
//     are spooled to temporary files as they arrive, 8 KiB of them held in
//     memory.
//   - Compressed bodies: a request body with a Content-Encoding other than
//     identity is refused with 415 (and its limit is encodedBodyBytes), so
//     no body is ever inflated: a small gzip body cannot become gigabytes.
//   - Time: ReadTimeout (reading one request's headers and body; a slow
//     client is cut off) and UploadReadTimeout for uploads; WriteTimeout
//     for every answer except streamed downloads and exports, which may
//     take as long as the client's connection needs; IdleTimeout between
//     requests on a kept-alive connection; requestTimeout (middleware.go)
//     for the work one request may ask of the stores.
//   - Concurrency: at most MaxInFlight requests are handled at once; a
//     request waits up to QueueWait for a turn and is then answered 503
//     with Retry-After, so an overload sheds work instead of queueing into
//     answers that take half a minute. /healthz and /metrics never wait.
const (
	headerBufferBytes = 16 << 10
	formBodyBytes     = 256 << 10
	encodedBodyBytes  = 64 << 10
	multipartOverhead = 1 << 20
)

// Defaults of the limits Config may change.
const (
	DefaultReadTimeout       = 30 * time.Second
	DefaultUploadReadTimeout = 30 * time.Minute
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultQueueWait         = 2 * time.Second
	DefaultMaxUploadBytes    = 200 << 20
)

// DefaultMaxInFlight is four requests a CPU. A request's work here is CPU
// (SQLite reads from the page cache, templates, compression), so requests
// let in beyond that only share the CPUs and stretch every answer: with 64
// at once on 2 CPUs, a request that got its turn after the full queue wait
// took seconds more, and the load test's overload phase saw 7 to 9 s
// answers. With four a CPU both CPUs stay busy (one request waiting on the
// disk leaves room for another), a request let in is answered in a
// fraction of a second, and the queue wait bounds the answer time.
func DefaultMaxInFlight() int { return 4 * runtime.NumCPU() }

// limitsOr fills the limits Config leaves at zero with their defaults.
func (cfg *Config) limitsOr() {
	or := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	or(&cfg.ReadTimeout, DefaultReadTimeout)
	or(&cfg.UploadReadTimeout, DefaultUploadReadTimeout)
	or(&cfg.WriteTimeout, DefaultWriteTimeout)
	or(&cfg.IdleTimeout, DefaultIdleTimeout)
	or(&cfg.QueueWait, DefaultQueueWait)
	or(&cfg.SubmitWait, DefaultSubmitWait)
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight()
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
}

// uploadRoutes are the POST paths that take files, with how each proves
// who is sending before the body is read.
var uploadRoutes = map[string]func(s *Site, h *fasthttp.RequestHeader) bool{
	"/workspace/submit":   (*Site).hasSession,
	"/api/v1/submissions": (*Site).hasAPIToken,
}

// amendPath matches the form that replaces a release's files.
var amendPath = regexp.MustCompile(`^/workspace/releases/[0-9]+/amend$`)

// uploadRoute returns how a request to path proves it may upload, when
// path takes files: the submission routes and a release's amendment.
func uploadRoute(path string) (func(s *Site, h *fasthttp.RequestHeader) bool, bool) {
	if proves, ok := uploadRoutes[path]; ok {
		return proves, true
	}
	if amendPath.MatchString(path) {
		return (*Site).hasSession, true
	}
	return nil, false
}

// requestConfig chooses a request's body limit and timeouts from its
// headers alone (fasthttp calls it before reading the body), and passes
// the decision on to readBodies in bodyHeader. A body over its limit, or
// compressed, is announced to fasthttp as empty so that none of it is
// read: readBodies refuses the request and closes the connection.
func (s *Site) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	rc := fasthttp.RequestConfig{MaxRequestBodySize: formBodyBytes, ReadTimeout: s.cfg.ReadTimeout, WriteTimeout: s.cfg.WriteTimeout}
	path := string(h.RequestURI())
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if streamedPath(path) {
		rc.WriteTimeout = 0 // the server's: none; a download lasts as long as the connection needs
	}
	h.Del(bodyHeader) // Candour's own; a client's is not believed
	if encodedBody(h) {
		// Never read (refuseEncodedBodies answers 415).
		rc.MaxRequestBodySize = encodedBodyBytes
		h.Set(bodyHeader, bodyRefused)
		h.SetContentLength(0)
		return rc
	}
	limit, upload := s.bodyLimit(h, path)
	rc.MaxRequestBodySize = limit
	if upload {
		rc.ReadTimeout = s.cfg.UploadReadTimeout
	}
	h.Set(bodyHeader, bodyDecision(limit, upload))
	if h.ContentLength() > limit {
		// Refused before a byte of the body is read: fasthttp reads
		// nothing of a body it is told is empty, readBodies answers 413
		// and the connection is closed.
		h.Set(bodyHeader, bodyTooLargeFor(limit))
		h.SetContentLength(0)
	}
	return rc
}

// streamedPath reports whether answers at path are streamed files or
// exports, which have no write timeout.
func streamedPath(path string) bool {
	return strings.HasPrefix(path, "/datasets/") && (strings.Contains(path, "/files/") || strings.Contains(path, "/rows/")) ||
		strings.HasPrefix(path, "/api/v1/datasets/") && strings.Contains(path, "/rows/") ||
		path == "/sitemap.xml" || path == "/transparency/audit-log.jsonl"
}

// hasSession reports whether the request carries a live session cookie.
func (s *Site) hasSession(h *fasthttp.RequestHeader) bool {
	token := string(h.Cookie(sessionCookie))
	if token == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.deps.Auth.Session(ctx, token)
	return err == nil
}

// hasAPIToken reports whether the request carries a valid API token.
func (s *Site) hasAPIToken(h *fasthttp.RequestHeader) bool {
	token, ok := strings.CutPrefix(string(h.Peek(fiber.HeaderAuthorization)), "Bearer ")
	if !ok || token == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.deps.Auth.APIToken(ctx, token)
	return err == nil
}

// refuseEncodedBodies answers 415 to a request whose body is compressed:
// Candour never inflates a request body (a 130 KB gzip body can expand to
// gigabytes), so the client must send it as it is.
func refuseEncodedBodies(c *fiber.Ctx) error {
	ce := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding))
	if ce == "" || strings.EqualFold(ce, "identity") {
		return c.Next()
	}
	c.Set(fiber.HeaderAcceptEncoding, "identity")
	return &userError{status: http.StatusUnsupportedMediaType,
		message: fmt.Sprintf("Request bodies must be sent uncompressed; this one has Content-Encoding %q. Send it again without compressing it.", ce)}
}

// turns lets at most cap(ch) holders at once; take waits up to wait for
// one to give its turn back.
type turns struct {
	ch   chan struct{}
	wait time.Duration
}

func newTurns(n int, wait time.Duration) *turns {
	return &turns{ch: make(chan struct{}, max(1, n)), wait: wait}
}

// take gets a turn, waiting up to t.wait (in arrival order), and reports
// whether it did; a holder must give the turn back.
func (t *turns) take() bool {
	select {
	case t.ch <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(t.wait)
	defer timer.Stop()
	select {
	case t.ch <- struct{}{}:
		return true
	case <-timer.C:
		return false
	}
}

func (t *turns) give() { <-t.ch }

// busy answers 503 with Retry-After (the queue wait, at least a second)
// and counts the request as shed.
func (s *Site) busy(c *fiber.Ctx) error {
	s.shed.Add(1)
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(s.cfg.QueueWait.Seconds()))))
	return &userError{status: http.StatusServiceUnavailable,
		message: "The service is busy. Try again in a few seconds."}
}

// shedLoad lets at most MaxInFlight requests be handled at once; one that
// cannot get a turn within QueueWait is answered 503 with Retry-After.
// A streamed export's rows are read after its handler returns, so exports
// also take one of exportTurns for as long as they stream (exports.go).
func (s *Site) shedLoad() fiber.Handler {
	inFlight := newTurns(s.cfg.MaxInFlight, s.cfg.QueueWait)
	return func(c *fiber.Ctx) error {
		if p := c.Path(); p == "/healthz" || p == "/metrics" {
			return c.Next()
		}
		if !inFlight.take() {
			return s.busy(c)
		}
		defer inFlight.give()
		return c.Next()
	}
}
