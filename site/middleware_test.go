package site

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestConditionalGET(t *testing.T) {
	app := fiber.New()
	app.Use(conditionalGET)
	app.Get("/page", func(c *fiber.Ctx) error { return c.SendString("the same page") })
	app.Get("/feed", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderLastModified, "Thu, 12 Feb 2026 09:30:00 GMT")
		return c.SendString("<feed/>")
	})
	app.Get("/private", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.SendString("signed in")
	})
	app.Get("/own", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderETag, `"abc"`)
		return c.SendString("a file")
	})
	app.Get("/stream", func(c *fiber.Ctx) error {
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) { w.WriteString("rows") })
		return nil
	})
	app.Get("/missing", func(c *fiber.Ctx) error { return c.Status(404).SendString("no") })
	do := func(path string, headers ...string) (*http.Response, string) {
		t.Helper()
		resp, b := getWith(t, app, path, headers...)
		return resp, string(b)
	}
	first, _ := do("/page")
	tag := first.Header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) {
		t.Fatalf("ETag %q, want a weak tag", tag)
	}
	for _, inm := range []string{tag, strings.TrimPrefix(tag, "W/"), `"other", ` + tag, "*"} {
		if r, body := do("/page", "If-None-Match", inm); r.StatusCode != 304 || body != "" {
			t.Errorf("If-None-Match %s: %d %q", inm, r.StatusCode, body)
		}
	}
	if r, body := do("/page", "If-None-Match", `"other"`); r.StatusCode != 200 || body != "the same page" {
		t.Errorf("another tag: %d %q", r.StatusCode, body)
	}
	for since, want := range map[string]int{"Thu, 12 Feb 2026 09:30:00 GMT": 304, "Fri, 13 Feb 2026 00:00:00 GMT": 304, "Wed, 11 Feb 2026 00:00:00 GMT": 200} {
		if r, _ := do("/feed", "If-Modified-Since", since); r.StatusCode != want {
			t.Errorf("feed If-Modified-Since %s: %d, want %d", since, r.StatusCode, want)
		}
	}
	// If-None-Match wins over If-Modified-Since.
	if r, _ := do("/feed", "If-Modified-Since", "Fri, 13 Feb 2026 00:00:00 GMT", "If-None-Match", `"other"`); r.StatusCode != 200 {
		t.Errorf("If-None-Match did not win: %d", r.StatusCode)
	}
	for path, want := range map[string]string{"/private": "", "/own": `"abc"`, "/stream": "", "/missing": ""} {
		if r, _ := do(path); r.Header.Get("ETag") != want {
			t.Errorf("%s: ETag %q, want %q", path, r.Header.Get("ETag"), want)
		}
	}
}

// getWith sends GET path to app with headers (name, value, …) and
// returns the answer and its body.
func getWith(t *testing.T, app *fiber.App, path string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}
