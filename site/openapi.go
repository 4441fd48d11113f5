package site

import (
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The OpenAPI 3.0 document of the public read API, built once. Every
// path parameter carries an example from the demo data, so a test can
// request every documented route.

type apiRoute struct {
	Path, Summary, Description string
	Params                     []apiParam
}

type apiParam struct {
	Name, In, Description, Type, Example string
	Required                             bool
	Min, Max                             *int     // bounds of an integer
	Enum                                 []string // allowed values of a string
}

func intBound(n int) *int { return &n }

var pagingParams = []apiParam{
	{Name: "limit", In: "query", Description: "how many items (1 to 500, default 50)", Type: "integer", Min: intBound(1), Max: intBound(apiMaxLimit)},
	{Name: "offset", In: "query", Description: "how many items to skip", Type: "integer", Min: intBound(0), Max: intBound(10_000_000)},
}

var apiRoutes = []apiRoute{
	{Path: "/api/v1/datasets", Summary: "List datasets", Description: "Every listed dataset: published, planned, not open or withdrawn.",
		Params: append([]apiParam{{Name: "status", In: "query", Description: "planned, published, not-open or withdrawn", Type: "string",
			Enum: []string{"planned", "published", "not-open", "withdrawn"}}}, pagingParams...)},
	{Path: "/api/v1/datasets/{slug}", Summary: "A dataset and its releases",
		Params: []apiParam{{Name: "slug", In: "path", Required: true, Type: "string", Example: "shmi", Description: "the dataset's slug"}}},
	{Path: "/api/v1/datasets/{slug}/releases/{version}", Summary: "A published release and its files",
		Params: []apiParam{{Name: "slug", In: "path", Required: true, Type: "string", Example: "shmi", Description: "the dataset's slug"},
			{Name: "version", In: "path", Required: true, Type: "integer", Example: "10", Description: "the release's version", Min: intBound(1)}}},
	{Path: "/api/v1/datasets/{slug}/releases/{version}/rows/{file}", Summary: "A published file's rows, filtered",
		Description: "eq.FIELD (repeatable), gte.FIELD and lte.FIELD on key and dimension fields; JSON pages with a next link (keyset).",
		Params: []apiParam{{Name: "slug", In: "path", Required: true, Type: "string", Example: "shmi", Description: "the dataset's slug"},
			{Name: "version", In: "path", Required: true, Type: "integer", Example: "10", Description: "the release's version", Min: intBound(1)},
			{Name: "file", In: "path", Required: true, Type: "string", Example: "shmi-2014-01.csv", Description: "the file's name"},
			{Name: "format", In: "query", Type: "string", Description: "json (default here), csv or ndjson", Enum: []string{"json", "csv", "ndjson"}},
			{Name: "limit", In: "query", Type: "integer", Description: "rows in a JSON page (1 to 10,000)", Min: intBound(1), Max: intBound(10_000)},
			{Name: "after", In: "query", Type: "integer", Description: "the row number the next page starts after", Min: intBound(0)},
			{Name: "filters", In: "query", Type: "object", Description: "eq.FIELD=value (repeatable: any of them), gte.FIELD=value and lte.FIELD=value, on the file's key and dimension fields"}}},
	{Path: "/api/v1/organisations", Summary: "List organisations",
		Params: append([]apiParam{{Name: "q", In: "query", Type: "string", Description: "a code prefix or part of a name"},
			{Name: "type", In: "query", Type: "string", Description: "an organisation type, such as nhs-trust"}}, pagingParams...)},
	{Path: "/api/v1/organisations/{code}", Summary: "An organisation",
		Params: []apiParam{{Name: "code", In: "path", Required: true, Type: "string", Example: "RR8", Description: "its ODS code"}}},
	{Path: "/api/v1/organisations/{code}/feedback", Summary: "What patients say about an organisation",
		Description: "Pooled patient feedback, as its scorecard shows it: for each feedback service with items about the organisation, the service (name, title, homepage), " +
			"its rating distribution (stars: counts of one to five stars; ratings: how many rated; items: how many shown; mean: the mean rating, null without ratings) " +
			"and its most recent items (at most five), each with its link back to the service, its date, rating (null when none), title, comment and the provider's published response (null when none). " +
			"Only items shown publicly are counted or given: items held for moderation or hidden by a moderator never are.",
		Params: []apiParam{{Name: "code", In: "path", Required: true, Type: "string", Example: "RR8", Description: "its ODS code"}}},
	{Path: "/api/v1/indicators", Summary: "List indicators"},
	{Path: "/api/v1/indicators/{id}/observations", Summary: "An indicator's observations",
		Description: "Each organisation's observation in the latest period (or every period, in period order), with the same names as the indicator page's CSV twin: " +
			"organisation_code, indicator_id, period, period_start, numerator, denominator, value, lower_95, upper_95, lower_99_8, upper_99_8, benchmark, " +
			"verdict (the indicator's one verdict: better, similar, worse, higher, lower, higher-than-expected, as-expected, lower-than-expected or not-compared), " +
			"verdict_words, verdict_sentence, beside_verdict (shown beside the verdict, not the verdict), funnel_position, funnel_lower_95, funnel_upper_95, " +
			"funnel_lower_99_8, funnel_upper_99_8, quintile, trend, trend_reason, category, reason, dataset and version.",
		Params: append([]apiParam{{Name: "id", In: "path", Required: true, Type: "string", Example: "shmi", Description: "the indicator's id"},
			{Name: "organisation", In: "query", Type: "string", Description: "one organisation's code"},
			{Name: "all-periods", In: "query", Type: "string", Description: "true for every period, not only the latest", Enum: []string{"true", "false"}}}, pagingParams...)},
	{Path: "/api/v1/search", Summary: "Search", Description: "The site's search, with facets: for typeahead and intermediaries.",
		Params: []apiParam{{Name: "q", In: "query", Type: "string", Description: "words, a code, a postcode or a town"},
			{Name: "kind", In: "query", Type: "string", Description: "dataset, release, organisation, indicator, audit, page or calendar",
				Enum: []string{"dataset", "release", "organisation", "indicator", "audit", "page", "calendar"}},
			{Name: "near", In: "query", Type: "string", Description: "for a postcode: open (open GP practices and hospitals, the default) or all (closed and dormant ones and other prescribing cost centres as well)",
				Enum: []string{"open", "all"}},
			{Name: "limit", In: "query", Type: "integer", Description: "results (1 to 50)", Min: intBound(1), Max: intBound(50)},
			{Name: "page", In: "query", Type: "integer", Description: "the page of results", Min: intBound(1)}}},
	{Path: "/api/v1/openapi.json", Summary: "This document"},
}

// openAPIDocument builds the document for a server base URL.
func openAPIDocument(base string) map[string]any {
	errorRef := map[string]any{"$ref": "#/components/schemas/Error"}
	errorResponse := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errorRef}}}
	}
	paths := map[string]any{}
	schemas := responseSchemas()
	for _, r := range append([]apiRoute{{Path: "/api/v1", Summary: "The API's index: its routes and where it is described"}}, apiRoutes...) {
		var params []map[string]any
		for _, p := range r.Params {
			params = append(params, p.openAPI())
		}
		ok := map[string]any{"application/json": map[string]any{"schema": schemas[r.Path]}}
		if strings.Contains(r.Path, "/rows/") {
			ok["text/csv"] = map[string]any{"schema": map[string]any{"type": "string"}}
			ok["application/x-ndjson"] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		op := map[string]any{"summary": r.Summary, "operationId": operationID(r.Path),
			"responses": map[string]any{
				"200": map[string]any{"description": "OK", "content": ok},
				"304": map[string]any{"description": "Not modified since the ETag or date the request gave."},
				"400": errorResponse("A parameter is not valid; the message names it."),
				"404": errorResponse("No such published resource."),
				"429": map[string]any{"description": "Too many requests from this client; wait for Retry-After seconds.",
					"headers": map[string]any{"Retry-After": map[string]any{"schema": map[string]any{"type": "integer"}}},
					"content": map[string]any{"application/json": map[string]any{"schema": errorRef}}},
				"503": errorResponse("The server is busy, or a data store it reads is not answering; try again after Retry-After seconds."),
			}}
		if r.Description != "" {
			op["description"] = r.Description
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		path := strings.TrimPrefix(r.Path, "/api/v1")
		if path == "" {
			path = "/"
		}
		paths[path] = map[string]any{"get": op}
	}
	for path, item := range submissionPaths(errorResponse) {
		paths[path] = item
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Candour public API", "version": "1.0.0",
			"description": "Read-only access to everything Candour publishes (only published releases are ever returned), and the submission API for publishers with an API token. " +
				"Every answer names its fields in snake_case, as the CSV downloads and twins name their columns (a filtered export's rows are keyed by the file's own field names); " +
				"names do not change within v1.",
			"license": map[string]any{"name": "Open Government Licence v3.0", "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"}},
		"servers": []map[string]any{{"url": base + "/api/v1"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": map[string]any{"Error": errorSchema},
			"securitySchemes": map[string]any{"token": map[string]any{"type": "http", "scheme": "bearer",
				"description": "A publisher's API token (candour user token), sent as Authorization: Bearer <token>."}},
		},
	}
}

// errorSchema is every API error's shape. The code is one of bad-parameter
// or bad-request (400), unauthorised (401), not-found (404; also for what
// the caller may not see), too-large (413), unsupported-media-type (415),
// rejected (422: a submission refused, nothing stored), rate-limited
// (429), busy or unavailable (503: the server is busy, or a data store it
// reads is not answering) and internal (500).
var errorSchema = map[string]any{
	"type": "object", "required": []string{"error"},
	"properties": map[string]any{"error": map[string]any{"type": "object", "required": []string{"code", "message"},
		"properties": map[string]any{
			"code":    map[string]any{"type": "string", "description": "what kind of error, for programs: bad-parameter, bad-request, unauthorised, not-found, too-large, unsupported-media-type, rejected, rate-limited, busy, unavailable or internal"},
			"message": map[string]any{"type": "string", "description": "what went wrong and what to do, for people"},
			"problems": map[string]any{"type": "array", "description": "a refused submission's problems, each naming its field, or its file, row and column",
				"items": map[string]any{"type": "object", "required": []string{"message"}, "properties": map[string]any{
					"file": map[string]any{"type": "string"}, "row": map[string]any{"type": "integer"}, "column": map[string]any{"type": "integer"},
					"field": map[string]any{"type": "string"}, "value": map[string]any{"type": "string"}, "offset": map[string]any{"type": "integer"},
					"message": map[string]any{"type": "string"}}}},
			"disclosure": map[string]any{"type": "array", "description": "a refused submission's blocking disclosure findings",
				"items": map[string]any{"type": "object"}},
		}}},
}

// submissionPaths documents the submission API: publishers' uploads with
// an API token. These need the token, so they are not in apiRoutes (whose
// every route a test requests without one).
func submissionPaths(errorResponse func(string) map[string]any) map[string]any {
	secured := []map[string]any{{"token": []string{}}}
	object := map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
	idParam := []map[string]any{{"name": "id", "in": "path", "required": true, "description": "the release's id, as the upload's answer gives it",
		"schema": map[string]any{"type": "integer"}}}
	common := func(op map[string]any) map[string]any {
		op["security"] = secured
		responses := op["responses"].(map[string]any)
		responses["401"] = errorResponse("No API token, or one that is not valid or has been revoked.")
		responses["404"] = errorResponse("No such release, or one the token's holder may not see (the same answer).")
		return op
	}
	return map[string]any{
		"/submissions": map[string]any{"post": common(map[string]any{
			"summary": "Submit a release", "operationId": "postSubmissions",
			"description": "A multipart upload: a part named descriptor holding the submission descriptor (JSON with dataset, release and resources, " +
				"as candour import release reads) and one part per resource file, named by the resource's path. The release is validated and " +
				"put through disclosure control; it is stored (state checked) only if nothing blocks it, and becomes public only after the " +
				"transparency panel's review and its embargo. Request bodies must not be compressed.",
			"parameters": []map[string]any{{"name": "check", "in": "query", "required": false, "schema": map[string]any{"type": "string", "enum": []string{"only"}},
				"description": "only: run every check, disclosure control included, and store nothing; the answer (200) gives the report a submission would"}},
			"requestBody": map[string]any{"required": true, "content": map[string]any{"multipart/form-data": map[string]any{
				"schema": map[string]any{"type": "object", "required": []string{"descriptor"},
					"properties":           map[string]any{"descriptor": map[string]any{"type": "string", "format": "binary"}},
					"additionalProperties": map[string]any{"type": "string", "format": "binary"}}}}},
			"responses": map[string]any{
				"200": map[string]any{"description": "With check=only: every check passed and nothing was stored; the answer gives the warnings, the disclosure summary and report.", "content": object},
				"201": map[string]any{"description": "Stored as checked; the answer is the release, with its warnings.", "content": object},
				"400": errorResponse("The upload is not a multipart form with one descriptor part, or the descriptor does not parse."),
				"413": errorResponse("The upload is larger than the server's --max-upload."),
				"415": errorResponse("The body was compressed (Content-Encoding); send it uncompressed."),
				"422": errorResponse("Refused, and nothing stored: problems name each field, or file, row and column; disclosure gives the blocking findings."),
				"503": errorResponse("The server is busy, or a data store (such as ClickHouse) stopped answering while the release was stored: nothing was stored; try again after Retry-After seconds."),
			}})},
		"/submissions/{id}": map[string]any{"get": common(map[string]any{
			"summary": "A submission and its disclosure report", "operationId": "getSubmission", "parameters": idParam,
			"description": "The release with its full disclosure-control report: every finding, each suppressed cell's feasible interval and the method that proved it, and the extra suppressions chosen.",
			"responses":   map[string]any{"200": map[string]any{"description": "OK", "content": object}}})},
		"/releases/{id}": map[string]any{"get": common(map[string]any{
			"summary": "A submitted release's state", "operationId": "getReleaseState", "parameters": idParam,
			"responses": map[string]any{"200": map[string]any{"description": "OK", "content": object}}})},
	}
}

// openAPI is the parameter as the document gives it.
func (p apiParam) openAPI() map[string]any {
	schema := map[string]any{"type": p.Type}
	if p.Min != nil {
		schema["minimum"] = *p.Min
	}
	if p.Max != nil {
		schema["maximum"] = *p.Max
	}
	if len(p.Enum) > 0 {
		schema["enum"] = p.Enum
	}
	param := map[string]any{"name": p.Name, "in": p.In, "required": p.Required, "description": p.Description, "schema": schema}
	if p.Type == "object" { // arbitrary parameters: the rows' filters
		schema["additionalProperties"] = map[string]any{"type": "string"}
		param["style"], param["explode"] = "form", true
	}
	if p.Example != "" {
		param["example"] = p.Example
		if n, err := strconv.Atoi(p.Example); err == nil && p.Type == "integer" {
			param["example"] = n
		}
	}
	return param
}

func operationID(path string) string {
	parts := strings.FieldsFunc(strings.TrimPrefix(path, "/api/v1/"), func(r rune) bool { return r == '/' || r == '.' || r == '{' || r == '}' || r == '-' })
	return "get" + strings.Join(func() []string {
		for i, p := range parts {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
		return parts
	}(), "")
}

func (s *Site) openAPI(c *fiber.Ctx) error {
	c.Set("Access-Control-Allow-Origin", "*")
	return c.JSON(openAPIDocument(c.BaseURL()))
}

type apiPage struct {
	layout
	Routes []apiRoute
}

func (s *Site) apiDocs(c *fiber.Ctx) error {
	routes := append([]apiRoute(nil), apiRoutes...)
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Path < routes[j].Path })
	return s.render(c, "api", apiPage{layout: s.layout(c, "Public API", crumb{"/", "Home"}), Routes: routes})
}
