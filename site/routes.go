package site

import (
	"github.com/gofiber/fiber/v2"
)

// routes is the site's whole URL surface.
func (s *Site) routes(app *fiber.App) {
	app.Use(s.logRequests, s.securityHeaders)

	app.Get("/healthz", s.healthz)

	app.Get("/", s.home)
	app.Get("/datasets", s.datasetList)
	app.Get("/datasets/:slug", s.dataset)
	app.Get("/datasets/:slug/releases/:version", s.release)
	app.Get("/datasets/:slug/releases/:version/files/:name", s.download)
	app.Get("/organisations", s.organisationList)
	app.Get("/organisations/:code", s.organisation)
	app.Get("/pages/:slug", s.contentPage)

	app.Get("/assets/*", s.asset) // nhsuk-frontend, copied from npm
	app.Get("/static/*", s.asset) // Candour's own CSS and scripts
	app.Get("/favicon.ico", s.asset)

	app.Use(func(c *fiber.Ctx) error { return errNotFound })
}
