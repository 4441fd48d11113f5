package site

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
)

// The reading half of CKAN's action API (version 3), where CKAN serves it
// (/api/action/ and /api/{1,2,3}/action/, GET and POST), so that CKAN's
// clients and its CKAN-to-CKAN harvester read Candour as they read CKAN:
// package_search (with the fq subset and sort of ckanquery.go),
// package_show, package_list, organization_list, organization_show,
// group_list, group_show, tag_list and status_show. A dataset is a
// package; its publisher an organization (every package has one: see
// ckanOrgFor); its topics are both tags and groups; every public file of
// every published release is a resource (newest release first). Answers
// have CKAN's envelope {"help", "success", "result"}, errors {"success":
// false, "error": {"__type", "message"}}, for every address and method
// under those prefixes. It reads only the published view.

type ckanResource struct {
	ID           string `json:"id"`
	PackageID    string `json:"package_id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	URL          string `json:"url"`
	Format       string `json:"format"`
	Mimetype     string `json:"mimetype"`
	Size         int64  `json:"size"`
	Hash         string `json:"hash"`
	Created      string `json:"created"`
	LastModified string `json:"last_modified"`
	Position     int    `json:"position"`
	State        string `json:"state"`
}

type ckanTag struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

type ckanGroup struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	DisplayName string `json:"display_name"`
}

type ckanOrg struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Type        string `json:"type"`
	State       string `json:"state"`
	IsOrg       bool   `json:"is_organization"`
}

type ckanExtra struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type ckanPackage struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Title            string         `json:"title"`
	Notes            string         `json:"notes"`
	URL              string         `json:"url"`
	LicenseID        string         `json:"license_id"`
	LicenseTitle     string         `json:"license_title"`
	LicenseURL       string         `json:"license_url"`
	IsOpen           bool           `json:"isopen"`
	Organization     *ckanOrg       `json:"organization"` // never null (see ckanOrgFor)
	OwnerOrg         string         `json:"owner_org"`
	Tags             []ckanTag      `json:"tags"`
	Groups           []ckanGroup    `json:"groups"`
	Resources        []ckanResource `json:"resources"`
	NumResources     int            `json:"num_resources"`
	NumTags          int            `json:"num_tags"`
	Extras           []ckanExtra    `json:"extras"`
	MetadataCreated  string         `json:"metadata_created"`
	MetadataModified string         `json:"metadata_modified"`
	State            string         `json:"state"`
	Private          bool           `json:"private"`
	Type             string         `json:"type"`
	Version          string         `json:"version,omitempty"`

	modified, created time.Time // for fq and sort
}

var ckanNameRe = regexp.MustCompile(`[^a-z0-9_-]+`)

// ckanName is a topic as a CKAN name (lower case, hyphens).
func ckanName(s string) string {
	return strings.Trim(ckanNameRe.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func ckanTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

func ckanOrgOf(p catalogue.Publisher) ckanOrg {
	title := p.Name
	if strings.TrimSpace(title) == "" {
		title = p.Slug
	}
	return ckanOrg{ID: p.Slug, Name: p.Slug, Title: title, Type: "organization", State: "active", IsOrg: true}
}

// ckanOrgFor is a dataset's organization. A harvester reads
// package["organization"]["name"], so every package has one: its
// publisher; for an inventory entry that has none yet, the inventory that
// promised it (the publisher it names, free text, is in the package's
// extras as publisher_as_written); else "not-attributed".
func ckanOrgFor(d catalogue.Dataset) ckanOrg {
	switch {
	case d.Publisher.Slug != "":
		return ckanOrgOf(d.Publisher)
	case d.Inventory != nil && ckanName(d.Inventory.Source) != "":
		name := "inventory-" + ckanName(d.Inventory.Source)
		if len(name) > 100 {
			name = strings.TrimRight(name[:100], "-")
		}
		return ckanOrg{ID: name, Name: name, Title: "Promised in " + d.Inventory.Source, Type: "organization", State: "active", IsOrg: true,
			Description: "Datasets promised by " + d.Inventory.Source + " that have no publisher on Candour yet; each names the body it expected to publish it."}
	}
	return ckanOrg{ID: "not-attributed", Name: "not-attributed", Title: "Not attributed to a publisher", Type: "organization", State: "active", IsOrg: true,
		Description: "Catalogue entries that name no publisher."}
}

// ckanPackageOf maps a dataset and its visible releases.
func (s *Site) ckanPackageOf(ctx context.Context, base string, d catalogue.Dataset) (ckanPackage, error) {
	v := s.deps.Catalogue.View()
	licence, _ := catalogue.LookupLicence(d.Licence)
	org := ckanOrgFor(d)
	p := ckanPackage{ID: d.Slug, Name: d.Slug, Title: d.Title, Notes: strings.TrimSpace(d.Summary + "\n\n" + d.Description), URL: base + "/datasets/" + d.Slug,
		LicenseID: d.Licence, LicenseTitle: licence.Title, LicenseURL: licence.URL, IsOpen: licence.Open, OwnerOrg: org.ID, Organization: &org,
		modified: d.UpdatedAt.UTC(), created: d.CreatedAt.UTC(),
		Tags: []ckanTag{}, Groups: []ckanGroup{}, Resources: []ckanResource{}, MetadataCreated: ckanTime(d.CreatedAt),
		State: "active", Type: "dataset",
		Extras: []ckanExtra{{"frequency", d.Frequency}, {"granularity", d.Granularity}, {"status", string(d.Status)}}}
	if d.Publisher.Slug == "" && d.Inventory != nil && d.Inventory.Publisher != "" {
		p.Extras = append(p.Extras, ckanExtra{"publisher_as_written", d.Inventory.Publisher})
	}
	for _, t := range d.Topics {
		p.Tags = append(p.Tags, ckanTag{Name: t, DisplayName: t})
		p.Groups = append(p.Groups, ckanGroup{ID: ckanName(t), Name: ckanName(t), Title: t, DisplayName: t})
	}
	rs, err := v.Releases(ctx, d.ID)
	if err != nil {
		return p, err
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Version > rs[j].Version })
	for _, r := range rs {
		// metadata_modified moves with every public event of the
		// dataset — a publication, a correction superseding a release,
		// a withdrawal — so a harvester asking for changes since its last
		// run sees each one.
		event := r.PublishedAt
		if r.State == catalogue.StateWithdrawn || r.State == catalogue.StateSuperseded {
			event = r.StateChangedAt
		}
		if event.After(p.modified) {
			p.modified = event.UTC()
		}
		if !r.ContentVisible {
			continue
		}
		full, err := v.Release(ctx, d.Slug, r.Version)
		if err != nil {
			return p, err
		}
		if p.Version == "" {
			p.Version = strconv.Itoa(r.Version)
		}
		for _, f := range full.Files {
			if f.Role != catalogue.RolePublic {
				continue
			}
			mt := f.MediaType
			if mt == "" {
				mt = "text/csv"
			}
			p.Resources = append(p.Resources, ckanResource{ID: fmt.Sprintf("%s-v%d-%s", d.Slug, r.Version, ckanName(f.Name)), PackageID: d.Slug,
				Name: fmt.Sprintf("%s (version %d)", f.Name, r.Version), Description: r.Title, URL: base + fileURL(d.Slug, r.Version, f.Name),
				Format: "CSV", Mimetype: mt, Size: f.Bytes, Hash: "sha256:" + f.SHA256, Created: ckanTime(r.PublishedAt),
				LastModified: ckanTime(r.PublishedAt), Position: len(p.Resources), State: "active"})
		}
	}
	p.NumResources, p.NumTags = len(p.Resources), len(p.Tags)
	p.MetadataModified = ckanTime(p.modified)
	return p, nil
}

// allDatasets lists every listed dataset.
func (s *Site) allDatasets(ctx context.Context) ([]catalogue.Dataset, error) {
	var out []catalogue.Dataset
	v := s.deps.Catalogue.View()
	for offset := 0; ; offset += 500 {
		page, err := v.Datasets(ctx, catalogue.DatasetQuery{Offset: offset, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, d := range page.Datasets {
			out = append(out, d.Dataset)
		}
		if offset+500 >= page.Total {
			return out, nil
		}
	}
}

// ckanError answers with CKAN's error envelope.
func ckanError(c *fiber.Ctx, status int, kind, message string) error {
	c.Status(status)
	return c.JSON(fiber.Map{"help": c.BaseURL() + "/api/3/action/help_show?name=" + c.Params("action"), "success": false,
		"error": fiber.Map{"__type": kind, "message": message}})
}

func ckanOK(c *fiber.Ctx, result any) error {
	return c.JSON(fiber.Map{"help": c.BaseURL() + "/api/3/action/help_show?name=" + c.Params("action"), "success": true, "result": result})
}

// ckanParams are an action's parameters: the query string of a GET, the
// JSON object or form of a POST (as CKAN's clients send them). JSON values
// that are not strings are read as CKAN reads them: true and false, numbers
// as written, lists and objects as JSON text (facet.field).
type ckanParams map[string]string

func (p ckanParams) get(name string) string { return p[name] }

// flag reads a boolean parameter as CKAN's asbool does.
func (p ckanParams) flag(name string) bool {
	switch strings.ToLower(strings.TrimSpace(p[name])) {
	case "true", "yes", "on", "y", "t", "1":
		return true
	}
	return false
}

// ckanParamsOf reads the parameters of c, or says why it cannot.
func ckanParamsOf(c *fiber.Ctx) (ckanParams, error) {
	p := ckanParams{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { p[string(k)] = string(v) })
	if c.Method() != fiber.MethodPost || len(c.Body()) == 0 {
		return p, nil
	}
	if strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationForm) {
		c.Context().PostArgs().VisitAll(func(k, v []byte) { p[string(k)] = string(v) })
		return p, nil
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		return nil, fmt.Errorf("the request body must be a JSON object of the action's parameters (or a form): %v", err)
	}
	for k, raw := range body {
		var text string
		if json.Unmarshal(raw, &text) == nil {
			p[k] = text
			continue
		}
		p[k] = strings.TrimSpace(string(raw))
		if p[k] == "null" {
			delete(p, k)
		}
	}
	return p, nil
}

// ckanRoutes serves CKAN's action API where CKAN does: /api/action/ and
// /api/{1,2,3}/action/, GET and POST; /api/3 (and /api/2) with the API
// version; /api/util/status; and CKAN's error envelope for every other
// address and method under those prefixes.
func (s *Site) ckanRoutes(app *fiber.App) {
	limit := s.apiRateLimit(s.cfg.APIRate)
	for _, prefix := range []string{"/api/action", "/api/1/action", "/api/2/action", "/api/3/action"} {
		app.Get(prefix+"/:action", limit, allowAnyOrigin, s.cached, s.ckanAction)
		app.Post(prefix+"/:action", limit, allowAnyOrigin, s.ckanAction)
		app.Options(prefix+"/:action", allowAnyOrigin, ckanPreflight)
		app.All(prefix+"/:action", allowAnyOrigin, ckanWrongMethod)
		app.All(prefix, allowAnyOrigin, ckanNotFound)
		app.All(prefix+"/*", allowAnyOrigin, ckanNotFound)
	}
	for _, version := range []string{"/api/1", "/api/2", "/api/3"} {
		n, _ := strconv.Atoi(strings.TrimPrefix(version, "/api/"))
		app.Get(version, allowAnyOrigin, func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"version": n}) })
	}
	app.Get("/api/util/status", limit, allowAnyOrigin, func(c *fiber.Ctx) error { return c.JSON(s.ckanStatus(c.BaseURL())) })
	app.All("/api/util/*", allowAnyOrigin, ckanNotFound)
	for _, version := range []string{"/api/1", "/api/2", "/api/3"} {
		app.All(version+"/*", allowAnyOrigin, ckanNotFound)
	}
}

func ckanNotFound(c *fiber.Ctx) error {
	return ckanError(c, http.StatusNotFound, "Not Found Error", "Not found: "+c.Path()+" (Candour serves CKAN's action API at /api/3/action/{name}, reading only)")
}

func ckanWrongMethod(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAllow, "GET, HEAD, POST, OPTIONS")
	return ckanError(c, http.StatusMethodNotAllowed, "Method Not Allowed", c.Method()+" is not allowed: the action API answers GET and POST")
}

func ckanPreflight(c *fiber.Ctx) error {
	c.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
	c.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-CKAN-API-Key")
	c.Set("Access-Control-Max-Age", "86400")
	return c.SendStatus(http.StatusNoContent)
}

// ckanStatus is status_show's result, which /api/util/status also gives.
func (s *Site) ckanStatus(base string) fiber.Map {
	return fiber.Map{"ckan_version": "2.10.4", "site_title": s.cfg.SiteName, "site_url": base,
		"site_description": "Open health and care data, each release checked and approved before publication.", "api_version": 3,
		"extensions": []string{}, "locale_default": "en_GB"}
}

func (s *Site) ckanAction(c *fiber.Ctx) error {
	p, err := ckanParamsOf(c)
	if err != nil {
		return ckanError(c, http.StatusBadRequest, "Bad request", err.Error())
	}
	ctx := c.UserContext()
	base := c.BaseURL()
	switch c.Params("action") {
	case "status_show":
		return ckanOK(c, s.ckanStatus(base))
	case "package_list":
		ds, err := s.allDatasets(ctx)
		if err != nil {
			return err
		}
		names := []string{}
		for _, d := range ds {
			names = append(names, d.Slug)
		}
		return ckanOK(c, names)
	case "package_show":
		id := p.get("id")
		if id == "" {
			return ckanError(c, http.StatusConflict, "Validation Error", "id: Missing value")
		}
		d, err := s.deps.Catalogue.View().Dataset(ctx, id)
		if err != nil {
			return ckanError(c, http.StatusNotFound, "Not Found Error", "Not found")
		}
		pkg, err := s.ckanPackageOf(ctx, base, d)
		if err != nil {
			return err
		}
		return ckanOK(c, pkg)
	case "organization_list", "group_list":
		return s.ckanOrgList(c, p)
	case "organization_show", "group_show":
		return s.ckanOrgShow(c, p)
	case "tag_list":
		ds, err := s.allDatasets(ctx)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		tags := []string{}
		for _, d := range ds {
			for _, t := range d.Topics {
				if !seen[t] {
					seen[t] = true
					tags = append(tags, t)
				}
			}
		}
		sort.Strings(tags)
		return ckanOK(c, tags)
	case "package_search":
		return s.ckanPackageSearch(c, p)
	}
	return ckanError(c, http.StatusBadRequest, "Bad request", fmt.Sprintf("Action name not known: %s (this is a read-only subset of CKAN's API)", c.Params("action")))
}

// ckanOrgsOf lists the organizations (or groups) of the datasets, by
// name, with how many datasets each has.
func ckanOrgsOf(ds []catalogue.Dataset, groups bool) (map[string]ckanOrg, map[string][]catalogue.Dataset) {
	items := map[string]ckanOrg{}
	members := map[string][]catalogue.Dataset{}
	for _, d := range ds {
		if !groups {
			o := ckanOrgFor(d)
			items[o.Name], members[o.Name] = o, append(members[o.Name], d)
			continue
		}
		for _, t := range d.Topics {
			g := ckanOrg{ID: ckanName(t), Name: ckanName(t), Title: t, Type: "group", State: "active"}
			items[g.Name], members[g.Name] = g, append(members[g.Name], d)
		}
	}
	return items, members
}

func ckanOrgDict(o ckanOrg, count int) fiber.Map {
	return fiber.Map{"id": o.ID, "name": o.Name, "title": o.Title, "display_name": o.Title, "type": o.Type,
		"state": o.State, "is_organization": o.IsOrg, "package_count": count, "description": o.Description, "approval_status": "approved"}
}

// ckanOrgList is organization_list and group_list: names, or with
// all_fields each one's dictionary (include_dataset_count is always on).
func (s *Site) ckanOrgList(c *fiber.Ctx, p ckanParams) error {
	ds, err := s.allDatasets(c.UserContext())
	if err != nil {
		return err
	}
	items, members := ckanOrgsOf(ds, c.Params("action") == "group_list")
	names := make([]string, 0, len(items))
	for n := range items {
		names = append(names, n)
	}
	sort.Strings(names)
	if !p.flag("all_fields") {
		return ckanOK(c, names)
	}
	out := []fiber.Map{}
	for _, n := range names {
		out = append(out, ckanOrgDict(items[n], len(members[n])))
	}
	return ckanOK(c, out)
}

// ckanOrgShow is organization_show and group_show, with the packages when
// include_datasets is set.
func (s *Site) ckanOrgShow(c *fiber.Ctx, p ckanParams) error {
	ctx := c.UserContext()
	ds, err := s.allDatasets(ctx)
	if err != nil {
		return err
	}
	items, members := ckanOrgsOf(ds, c.Params("action") == "group_show")
	o, ok := items[p.get("id")]
	if !ok {
		return ckanError(c, http.StatusNotFound, "Not Found Error", "Not found")
	}
	out := ckanOrgDict(o, len(members[o.Name]))
	if p.flag("include_datasets") {
		pkgs := []ckanPackage{}
		for _, d := range members[o.Name] {
			pkg, err := s.ckanPackageOf(ctx, c.BaseURL(), d)
			if err != nil {
				return err
			}
			pkgs = append(pkgs, pkg)
		}
		out["packages"] = pkgs
	}
	return ckanOK(c, out)
}

func (s *Site) ckanPackageSearch(c *fiber.Ctx, p ckanParams) error {
	ctx := c.UserContext()
	rows, start := 10, 0
	if r := p.get("rows"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 0 || n > 1000 {
			return ckanError(c, http.StatusConflict, "Validation Error", "rows: must be a whole number from 0 to 1000")
		}
		rows = n
	}
	if st := p.get("start"); st != "" {
		n, err := strconv.Atoi(st)
		if err != nil || n < 0 {
			return ckanError(c, http.StatusConflict, "Validation Error", "start: must be a whole number from 0")
		}
		start = n
	}
	filter, err := parseFQ(p.get("fq"), time.Now())
	if err != nil {
		return ckanError(c, http.StatusConflict, "Validation Error", err.Error())
	}
	sortKeys, err := parseCKANSort(p.get("sort"))
	if err != nil {
		return ckanError(c, http.StatusConflict, "Validation Error", err.Error())
	}
	var facetFields []string
	if ff := p.get("facet.field"); ff != "" {
		if err := json.Unmarshal([]byte(ff), &facetFields); err != nil {
			return ckanError(c, http.StatusConflict, "Validation Error", `facet.field: must be a JSON list, such as ["organization","tags"]`)
		}
	}
	// include_private is read and ignored: nothing private is ever served.
	ds, err := s.allDatasets(ctx)
	if err != nil {
		return err
	}
	// Free text: ranked by the site's search index, datasets only.
	rank := map[string]int{}
	if q := strings.TrimSpace(p.get("q")); q != "" && q != "*:*" {
		ids, err := s.deps.Catalogue.View().ContentVisibleReleases(ctx)
		if err != nil {
			return err
		}
		res, err := s.deps.Search.Search(ctx, catalogue.SearchQuery{Text: q, Size: 1000, Visible: ids,
			Filters: map[string][]string{catalogue.FacetKind: {catalogue.KindDataset}}})
		if err != nil {
			return ckanError(c, http.StatusConflict, "Validation Error", "q: "+err.Error())
		}
		for i, h := range res.Hits {
			rank[strings.TrimPrefix(h.Document.ID, "dataset:")] = i + 1
		}
		ds = slices.DeleteFunc(ds, func(d catalogue.Dataset) bool { return rank[d.Slug] == 0 })
	}
	matched := []ckanPackage{}
	for _, d := range ds {
		pkg, err := s.ckanPackageOf(ctx, c.BaseURL(), d)
		if err != nil {
			return err
		}
		if filter(pkg) {
			matched = append(matched, pkg)
		}
	}
	sortPackages(matched, sortKeys, rank)
	facets, searchFacets, err := ckanFacets(matched, facetFields)
	if err != nil {
		return ckanError(c, http.StatusConflict, "Validation Error", err.Error())
	}
	results := []ckanPackage{}
	if start < len(matched) {
		results = matched[start:min(len(matched), start+rows)]
	}
	sortText := p.get("sort")
	if sortText == "" {
		sortText = "score desc, metadata_modified desc"
	}
	return ckanOK(c, fiber.Map{"count": len(matched), "sort": sortText, "results": results,
		"facets": facets, "search_facets": searchFacets})
}

// ckanFacets counts the matched packages by each facet field.
func ckanFacets(matched []ckanPackage, fields []string) (fiber.Map, fiber.Map, error) {
	facets := fiber.Map{}
	searchFacets := fiber.Map{}
	for _, field := range fields {
		counts := map[string]int{}
		titles := map[string]string{}
		for _, p := range matched {
			switch field {
			case "organization":
				counts[p.Organization.Name]++
				titles[p.Organization.Name] = p.Organization.Title
			case "tags":
				for _, t := range p.Tags {
					counts[t.Name]++
					titles[t.Name] = t.DisplayName
				}
			case "groups":
				for _, g := range p.Groups {
					counts[g.Name]++
					titles[g.Name] = g.Title
				}
			case "license_id":
				counts[p.LicenseID]++
				titles[p.LicenseID] = p.LicenseTitle
			case "res_format":
				if len(p.Resources) > 0 {
					counts["CSV"]++
					titles["CSV"] = "CSV"
				}
			default:
				return nil, nil, fmt.Errorf("facet.field: %q is not a facet here (organization, tags, groups, license_id, res_format)", field)
			}
		}
		items := []fiber.Map{}
		for name, n := range counts {
			items = append(items, fiber.Map{"name": name, "display_name": titles[name], "count": n})
		}
		sort.Slice(items, func(i, j int) bool {
			if items[i]["count"].(int) != items[j]["count"].(int) {
				return items[i]["count"].(int) > items[j]["count"].(int)
			}
			return items[i]["name"].(string) < items[j]["name"].(string)
		})
		facets[field] = counts
		searchFacets[field] = fiber.Map{"title": field, "items": items}
	}
	return facets, searchFacets, nil
}
