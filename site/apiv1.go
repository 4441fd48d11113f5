package site

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// /api/v1 behaves as a public API does whatever the request: an index at
// /api/v1, 404 for an address it does not have and 405 with Allow for a
// method an address does not answer, both in the one error format
// ({"error": {"code", "message"}}), and CORS preflight for every address.
// The token only guards the routes that need it; an address the API does
// not have is never answered "an API token is required".

// submissionRoutes are the /api/v1 routes that need an API token (none on
// a read node), with their methods.
var submissionRoutes = map[string][]string{
	"/api/v1/submissions":      {fiber.MethodPost},
	"/api/v1/submissions/{id}": {fiber.MethodGet, fiber.MethodHead},
	"/api/v1/releases/{id}":    {fiber.MethodGet, fiber.MethodHead},
}

// apiMethods returns the methods the route at path answers (OPTIONS
// aside), or nil when /api/v1 has no such address.
func (s *Site) apiMethods(path string) []string {
	path = strings.TrimSuffix(path, "/")
	if path == "/api/v1" {
		return []string{fiber.MethodGet, fiber.MethodHead}
	}
	for _, r := range apiRoutes {
		if matchRoute(r.Path, path) {
			return []string{fiber.MethodGet, fiber.MethodHead}
		}
	}
	if s.cfg.ReadOnly {
		return nil
	}
	for pattern, methods := range submissionRoutes {
		if matchRoute(pattern, path) {
			return methods
		}
	}
	return nil
}

// matchRoute reports whether path fits pattern, whose {name} segments
// stand for any one non-empty segment.
func matchRoute(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return true
}

// apiFallback answers every /api/v1 request no route took: a CORS
// preflight, 405 with Allow, or 404.
func (s *Site) apiFallback(c *fiber.Ctx) error {
	c.Set("Access-Control-Allow-Origin", "*")
	methods := s.apiMethods(c.Path())
	if methods == nil {
		return apiError(c, http.StatusNotFound, "the API has no address "+c.Path()+": its index is /api/v1 and its description /api/v1/openapi.json", nil)
	}
	allow := strings.Join(append(slices.Clone(methods), fiber.MethodOptions), ", ")
	c.Set(fiber.HeaderAllow, allow)
	if c.Method() == fiber.MethodOptions {
		c.Set("Access-Control-Allow-Methods", allow)
		c.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-None-Match, If-Modified-Since, Range")
		c.Set("Access-Control-Expose-Headers", "ETag, Link, Retry-After, X-Total-Count")
		c.Set("Access-Control-Max-Age", "86400")
		return c.SendStatus(http.StatusNoContent)
	}
	return apiError(c, http.StatusMethodNotAllowed, c.Method()+" is not allowed on "+c.Path()+": it answers "+allow, nil)
}

// apiIndexBody is the document at /api/v1.
type apiIndexBody struct {
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	OpenAPI       string          `json:"openapi"`
	Documentation string          `json:"documentation"`
	CKAN          string          `json:"ckan"`
	Routes        []apiIndexRoute `json:"routes"`
}

type apiIndexRoute struct {
	Path    string   `json:"path"`
	Methods []string `json:"methods"`
	Summary string   `json:"summary"`
	Token   bool     `json:"token,omitempty"` // needs an API token
}

// apiIndex is the API's index: where its description and documentation
// are, and every route.
func (s *Site) apiIndex(c *fiber.Ctx) error {
	base := c.BaseURL()
	body := apiIndexBody{Name: s.cfg.SiteName + " public API", Version: "v1", OpenAPI: base + "/api/v1/openapi.json",
		Documentation: base + "/api", CKAN: base + "/api/3/action/"}
	for _, r := range apiRoutes {
		body.Routes = append(body.Routes, apiIndexRoute{Path: r.Path, Methods: []string{fiber.MethodGet}, Summary: r.Summary})
	}
	if !s.cfg.ReadOnly {
		for _, path := range []string{"/api/v1/submissions", "/api/v1/submissions/{id}", "/api/v1/releases/{id}"} {
			summary := "A submission's state and disclosure report"
			switch path {
			case "/api/v1/submissions":
				summary = "Submit a release (multipart: a descriptor and its files)"
			case "/api/v1/releases/{id}":
				summary = "A release's state in the workflow"
			}
			body.Routes = append(body.Routes, apiIndexRoute{Path: path, Methods: submissionRoutes[path][:1], Summary: summary, Token: true})
		}
	}
	c.Set("Access-Control-Allow-Origin", "*")
	return c.JSON(body)
}
