package site

import (
	"context"
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

// logRequests gives each request its own context (fasthttp's request
// context is recycled and must not reach database/sql, which watches a
// context from another goroutine), and writes one log line per request
// after it is answered.
func (s *Site) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	err := c.Next()
	if err != nil {
		// Let the error handler write the response now so the status is known.
		if herr := s.handleError(c, err); herr != nil {
			return herr
		}
	}
	s.log.Info("request", "method", c.Method(), "path", c.Path(), "status", c.Response().StatusCode(),
		"duration", time.Since(start).Round(time.Microsecond))
	return nil
}
