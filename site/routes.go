package site

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
)

// Pages, lists, JSON and CSV go out compressed (gzip or Brotli, as the
// client accepts): an audit's consultant table is ten times smaller.
// Release files are left alone: their gzip variant has its own ETag, and
// ranges apply to the identity encoding (downloads.go).
var pageCompression = compress.Config{Level: compress.LevelBestSpeed, Next: isReleaseFile}

func isReleaseFile(c *fiber.Ctx) bool {
	p := c.Path()
	return strings.HasPrefix(p, "/datasets/") && strings.Contains(p, "/files/")
}

// varyOnEncoding says Vary: Accept-Encoding on every answer the
// compression middleware chose an encoding for, the uncompressed ones
// included: the middleware says it only when it compresses, so a shared
// cache could keep an identity answer and give it to every client after.
// Release files say it themselves (downloads.go).
func varyOnEncoding(c *fiber.Ctx) error {
	err := c.Next()
	if !isReleaseFile(c) {
		c.Vary(fiber.HeaderAcceptEncoding)
	}
	return err
}

// routes is the site's whole URL surface.
func (s *Site) routes(app *fiber.App) {
	app.Use(s.logRequests, s.securityHeaders, s.readBodies, s.shedLoad(), refuseEncodedBodies)
	app.Use(varyOnEncoding, compress.New(pageCompression), conditionalGET)

	app.Get("/healthz", s.healthz)
	app.Get("/metrics", s.serveMetrics())

	app.Get("/", s.cached, s.home)
	app.Get("/datasets", s.cached, s.datasetList)
	app.Get("/datasets/:slug", s.cached, s.dataset)
	app.Get("/datasets/:slug/changes", s.cached, s.changes)
	app.Get("/datasets/:slug/releases/:version", s.cached, s.release)
	app.Get("/datasets/:slug/releases/:version/files/:name", s.download)
	app.Get("/datasets/:slug/releases/:version/manifest.json", s.cached, s.releaseManifest)
	app.Get("/datasets/:slug/releases/:version/datapackage.json", s.cached, s.dataPackage)
	app.Get("/datasets/:slug/releases/:version/csv-metadata.json", s.cached, s.csvMetadata)
	app.Get("/datasets/:slug/releases/:version/rows/:name", s.rowsExport) // streamed: not cached
	app.Get("/datasets/:slug/releases/:version/extract", s.extract)
	app.Get("/organisations", s.cached, s.organisationList)
	app.Get("/organisations/:code", s.fromMaterialised, s.cached, s.organisation)
	app.Get("/areas", s.cached, s.areas)
	app.Get("/areas/:code", s.cached, s.area)
	app.Get("/areas/:code/pack.zip", s.areaPack) // streamed: not cached
	app.Get("/pages/:slug", s.cached, s.contentPage)
	app.Get("/indicators", s.cached, s.indicatorList)
	app.Get("/indicators/:id", s.fromMaterialised, s.cached, s.indicator)
	app.Get("/indicators/:id/download.csv", s.cached, s.indicatorDownload)
	app.Get("/indicators/:id/breakdown", s.cached, s.indicatorBreakdown)
	app.Get("/compare", s.cached, s.compare)
	app.Get("/map", s.cached, s.organisationMap)
	app.Get("/feeds/releases.:format", s.cached, s.feed)
	app.Get("/catalog.jsonld", s.cached, s.dcatCatalog)
	app.Get("/publishers/:slug", s.cached, s.publisher)
	app.Get("/search", s.cached, s.searchPage)
	// The public read API, before the token-protected group (which would
	// otherwise answer every /api/v1 path).
	app.Get("/api", s.cached, s.apiDocs)
	s.ckanRoutes(app)
	pub := app.Group("/api/v1", s.apiRateLimit(s.cfg.APIRate), allowAnyOrigin)
	pub.Get("/search", s.cached, s.apiSearch)
	pub.Get("/openapi.json", s.openAPI)
	pub.Get("/datasets", s.apiErrors(s.apiDatasets))
	pub.Get("/datasets/:slug", s.apiErrors(s.apiDataset))
	pub.Get("/datasets/:slug/releases/:version", s.apiErrors(s.apiRelease))
	pub.Get("/datasets/:slug/releases/:version/rows/:name", s.apiErrors(s.apiRows))
	pub.Get("/organisations", s.apiErrors(s.apiOrganisations))
	pub.Get("/organisations/:code", s.apiErrors(s.apiOrganisation))
	pub.Get("/organisations/:code/feedback", s.apiErrors(s.apiOrganisationFeedback))
	pub.Get("/indicators", s.apiErrors(s.apiIndicators))
	pub.Get("/indicators/:id/observations", s.apiErrors(s.apiObservations))
	app.Get("/audits", s.cached, s.auditList)
	app.Get("/audits/:audit", s.cached, s.auditOverview)
	app.Get("/audits/:audit/outcomes.csv", s.cached, s.auditDownload)
	app.Get("/audits/:audit/units/:level/:code", s.cached, s.auditUnit)
	app.Get("/calendar", s.calendar)
	app.Get("/calendar.ics", s.calendarICS)
	app.Get("/sitemap.xml", s.sitemap) // streamed: not for the page cache, which keeps bodies
	app.Get("/transparency", s.transparency)
	app.Get("/transparency/audit-log.jsonl", s.auditLogExport)
	app.Get("/register", s.register)
	app.Get("/register.csv", s.registerCSV)

	// Accounts, the workspace and the submission API: not on a read node,
	// which has no accounts (they answer 404 there).
	if !s.cfg.ReadOnly {
		app.Get("/account/login", s.loginForm)
		app.Post("/account/login", s.login)
		app.Post("/account/logout", s.requireSession, s.logout)

		ws := app.Group("/workspace", s.requireSession)
		ws.Get("/", s.workspace)
		ws.Get("/submit", s.submitForm)
		ws.Post("/submit", s.submit)
		ws.Get("/submissions/:job", s.submissionProgress)
		ws.Get("/releases/:id", s.workspaceRelease)
		ws.Get("/releases/:id/preview", s.workspacePreview)
		ws.Get("/releases/:id/files/:role/:name", s.workspaceFile)
		ws.Post("/releases/:id/outliers/respond", s.respondToOutlier)
		ws.Post("/releases/:id/:action", s.workspaceAction)
		ws.Post("/announce", s.announce)
		ws.Get("/register", s.registerForm)
		ws.Post("/register", s.registerAdd)
		if s.deps.Accounts != nil {
			ws.Get("/account", s.account)
			ws.Post("/account/password", s.changePassword)
			ws.Post("/account/tokens", s.createToken)
			ws.Post("/account/tokens/:token/revoke", s.revokeOwnToken)
			admin := ws.Group("/accounts", s.requireAdministrator)
			admin.Get("/", s.accountList)
			admin.Post("/", s.addAccount)
			admin.Post("/tokens/:token/revoke", s.revokeAnyToken)
			admin.Post("/:username/:action", s.changeAccount)
		}

		if s.deps.Feedback != nil && s.deps.Moderator != nil {
			mod := ws.Group("/feedback", s.requireModerator)
			mod.Get("/", s.feedbackModeration)
			mod.Post("/:action", s.moderateFeedback)
		}

		// The token guards these routes only, so that an address the API
		// does not have is 404 and a wrong method 405 (apiFallback).
		if s.hub != nil {
			app.Post("/websub", s.apiRateLimit(s.cfg.APIRate), s.websubRequest)
		}
		app.Post("/api/v1/submissions", s.requireAPIToken, s.apiSubmit)
		app.Get("/api/v1/releases/:id", s.requireAPIToken, s.apiReleaseStatus)
		app.Get("/api/v1/submissions/:id", s.requireAPIToken, s.apiSubmission)
	}
	app.Get("/api/v1", s.apiIndex)
	app.All("/api/v1", s.apiFallback)
	app.All("/api/v1/*", s.apiFallback)

	app.Get("/assets/*", s.asset) // nhsuk-frontend, copied from npm
	app.Get("/static/*", s.asset) // Candour's own CSS and scripts
	app.Get("/favicon.ico", s.asset)
	app.Get("/:short", s.shortAddress)

	app.Use(func(c *fiber.Ctx) error { return errNotFound })
}
