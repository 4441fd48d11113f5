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

// A read-only subset of CKAN's action API (API version 3) under
// /api/3/action/, so CKAN clients and harvesters (such as data.gov.uk's)
// read Candour unchanged: package_search, package_show, package_list,
// organization_list, organization_show, group_list, tag_list and
// status_show. A dataset is a package; its publisher an organization; its
// topics are both tags and groups; every public file of every published
// release is a resource (newest release first). Answers have CKAN's
// envelope {"help", "success", "result"}, errors {"success": false,
// "error": {"__type", "message"}}.

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
	Organization     *ckanOrg       `json:"organization"` // null for an inventory entry without a publisher
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
}

var ckanNameRe = regexp.MustCompile(`[^a-z0-9_-]+`)

// ckanName is a topic as a CKAN name (lower case, hyphens).
func ckanName(s string) string {
	return strings.Trim(ckanNameRe.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func ckanTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

func ckanOrgOf(p catalogue.Publisher) ckanOrg {
	return ckanOrg{ID: p.Slug, Name: p.Slug, Title: p.Name, Type: "organization", State: "active", IsOrg: true}
}

// ckanPackageOf maps a dataset and its visible releases.
func (s *Site) ckanPackageOf(ctx context.Context, base string, d catalogue.Dataset) (ckanPackage, error) {
	v := s.deps.Catalogue.View()
	licence, _ := catalogue.LookupLicence(d.Licence)
	p := ckanPackage{ID: d.Slug, Name: d.Slug, Title: d.Title, Notes: strings.TrimSpace(d.Summary + "\n\n" + d.Description), URL: base + "/datasets/" + d.Slug,
		LicenseID: d.Licence, LicenseTitle: licence.Title, LicenseURL: licence.URL, OwnerOrg: d.Publisher.Slug,
		Tags: []ckanTag{}, Groups: []ckanGroup{}, Resources: []ckanResource{}, MetadataCreated: ckanTime(d.CreatedAt),
		MetadataModified: ckanTime(d.UpdatedAt), State: "active", Type: "dataset",
		Extras: []ckanExtra{{"frequency", d.Frequency}, {"granularity", d.Granularity}, {"status", string(d.Status)}}}
	if d.Publisher.Slug != "" {
		o := ckanOrgOf(d.Publisher)
		p.Organization = &o
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
		if !r.ContentVisible {
			continue
		}
		full, err := v.Release(ctx, d.Slug, r.Version)
		if err != nil {
			return p, err
		}
		if p.Version == "" {
			p.Version = strconv.Itoa(r.Version)
			p.MetadataModified = ckanTime(r.PublishedAt)
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

// ckanFilter is one fq term: field:value.
type ckanFilter struct{ field, value string }

var fqTerm = regexp.MustCompile(`([a-z_]+):("([^"]*)"|\S+)`)

func parseFQ(fq string) ([]ckanFilter, error) {
	var out []ckanFilter
	rest := fqTerm.ReplaceAllStringFunc(fq, func(m string) string {
		sm := fqTerm.FindStringSubmatch(m)
		value := sm[2]
		if sm[3] != "" || strings.HasPrefix(value, `"`) {
			value = sm[3]
		}
		out = append(out, ckanFilter{field: sm[1], value: value})
		return ""
	})
	rest = strings.TrimSpace(strings.ReplaceAll(rest, "AND", ""))
	if rest != "" {
		return nil, fmt.Errorf("fq: %q is not a field:value filter (supported: organization, tags, groups, res_format, license_id, name)", rest)
	}
	for _, f := range out {
		switch f.field {
		case "organization", "tags", "groups", "res_format", "license_id", "name":
		default:
			return nil, fmt.Errorf("fq: the field %q cannot filter (supported: organization, tags, groups, res_format, license_id, name)", f.field)
		}
	}
	return out, nil
}

func (p ckanPackage) matches(f ckanFilter) bool {
	switch f.field {
	case "organization":
		return p.Organization != nil && p.Organization.Name == f.value
	case "tags":
		return slices.ContainsFunc(p.Tags, func(t ckanTag) bool { return t.Name == f.value })
	case "groups":
		return slices.ContainsFunc(p.Groups, func(g ckanGroup) bool { return g.Name == f.value })
	case "res_format":
		return strings.EqualFold(f.value, "csv") && len(p.Resources) > 0
	case "license_id":
		return p.LicenseID == f.value
	}
	return p.Name == f.value
}

func (s *Site) ckanAction(c *fiber.Ctx) error {
	ctx := c.UserContext()
	base := c.BaseURL()
	c.Set("Access-Control-Allow-Origin", "*")
	switch c.Params("action") {
	case "status_show":
		return ckanOK(c, fiber.Map{"ckan_version": "2.10.4", "site_title": s.cfg.SiteName, "site_url": base,
			"site_description": "Open health and care data, each release checked and approved before publication.", "api_version": 3,
			"extensions": []string{}, "locale_default": "en_GB"})
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
		id := c.Query("id")
		if id == "" {
			return ckanError(c, http.StatusConflict, "Validation Error", "id: Missing value")
		}
		d, err := s.deps.Catalogue.View().Dataset(ctx, id)
		if err != nil {
			return ckanError(c, http.StatusNotFound, "Not Found Error", "Not found")
		}
		p, err := s.ckanPackageOf(ctx, base, d)
		if err != nil {
			return err
		}
		return ckanOK(c, p)
	case "organization_list", "group_list":
		ds, err := s.allDatasets(ctx)
		if err != nil {
			return err
		}
		counts := map[string]int{}
		items := map[string]ckanOrg{}
		for _, d := range ds {
			if c.Params("action") == "organization_list" {
				if d.Publisher.Slug == "" {
					continue // an inventory entry with no publisher
				}
				o := ckanOrgOf(d.Publisher)
				items[o.Name], counts[o.Name] = o, counts[o.Name]+1
				continue
			}
			for _, t := range d.Topics {
				g := ckanOrg{ID: ckanName(t), Name: ckanName(t), Title: t, Type: "group", State: "active"}
				items[g.Name], counts[g.Name] = g, counts[g.Name]+1
			}
		}
		names := make([]string, 0, len(items))
		for n := range items {
			names = append(names, n)
		}
		sort.Strings(names)
		if c.Query("all_fields") == "true" {
			var out []fiber.Map
			for _, n := range names {
				o := items[n]
				out = append(out, fiber.Map{"id": o.ID, "name": o.Name, "title": o.Title, "display_name": o.Title, "type": o.Type,
					"state": o.State, "is_organization": o.IsOrg, "package_count": counts[n]})
			}
			return ckanOK(c, out)
		}
		return ckanOK(c, names)
	case "organization_show":
		id := c.Query("id")
		ds, err := s.allDatasets(ctx)
		if err != nil {
			return err
		}
		var org *ckanOrg
		var pkgs []ckanPackage
		for _, d := range ds {
			if id == "" || d.Publisher.Slug != id {
				continue
			}
			o := ckanOrgOf(d.Publisher)
			org = &o
			if c.Query("include_datasets") == "true" {
				p, err := s.ckanPackageOf(ctx, base, d)
				if err != nil {
					return err
				}
				pkgs = append(pkgs, p)
			}
		}
		if org == nil {
			return ckanError(c, http.StatusNotFound, "Not Found Error", "Not found")
		}
		count := 0
		for _, d := range ds {
			if d.Publisher.Slug == id {
				count++
			}
		}
		out := fiber.Map{"id": org.ID, "name": org.Name, "title": org.Title, "display_name": org.Title, "type": org.Type, "state": org.State,
			"is_organization": true, "package_count": count, "description": org.Description}
		if pkgs != nil {
			out["packages"] = pkgs
		}
		return ckanOK(c, out)
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
		return s.ckanPackageSearch(c)
	}
	return ckanError(c, http.StatusBadRequest, "Bad request", fmt.Sprintf("Action name not known: %s (this is a read-only subset of CKAN's API)", c.Params("action")))
}

func (s *Site) ckanPackageSearch(c *fiber.Ctx) error {
	ctx := c.UserContext()
	rows, start := 10, 0
	if r := c.Query("rows"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 0 || n > 1000 {
			return ckanError(c, http.StatusConflict, "Validation Error", "rows: must be a whole number from 0 to 1000")
		}
		rows = n
	}
	if st := c.Query("start"); st != "" {
		n, err := strconv.Atoi(st)
		if err != nil || n < 0 {
			return ckanError(c, http.StatusConflict, "Validation Error", "start: must be a whole number from 0")
		}
		start = n
	}
	filters, err := parseFQ(c.Query("fq"))
	if err != nil {
		return ckanError(c, http.StatusConflict, "Validation Error", err.Error())
	}
	var facetFields []string
	if ff := c.Query("facet.field"); ff != "" {
		if err := json.Unmarshal([]byte(ff), &facetFields); err != nil {
			return ckanError(c, http.StatusConflict, "Validation Error", `facet.field: must be a JSON list, such as ["organization","tags"]`)
		}
	}
	ds, err := s.allDatasets(ctx)
	if err != nil {
		return err
	}
	// Free text: ranked by the site's search index, datasets only.
	order := map[string]int{}
	if q := strings.TrimSpace(c.Query("q")); q != "" && q != "*:*" {
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
			order[strings.TrimPrefix(h.Document.ID, "dataset:")] = i + 1
		}
		kept := ds[:0]
		for _, d := range ds {
			if order[d.Slug] > 0 {
				kept = append(kept, d)
			}
		}
		ds = kept
		sort.SliceStable(ds, func(i, j int) bool { return order[ds[i].Slug] < order[ds[j].Slug] })
	}
	var matched []ckanPackage
	for _, d := range ds {
		p, err := s.ckanPackageOf(ctx, c.BaseURL(), d)
		if err != nil {
			return err
		}
		ok := true
		for _, f := range filters {
			ok = ok && p.matches(f)
		}
		if ok {
			matched = append(matched, p)
		}
	}
	facets := fiber.Map{}
	searchFacets := fiber.Map{}
	for _, field := range facetFields {
		counts := map[string]int{}
		titles := map[string]string{}
		for _, p := range matched {
			switch field {
			case "organization":
				if p.Organization != nil {
					counts[p.Organization.Name]++
					titles[p.Organization.Name] = p.Organization.Title
				}
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
				return ckanError(c, http.StatusConflict, "Validation Error", fmt.Sprintf("facet.field: %q is not a facet here (organization, tags, groups, license_id, res_format)", field))
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
	results := []ckanPackage{}
	if start < len(matched) {
		results = matched[start:min(len(matched), start+rows)]
	}
	return ckanOK(c, fiber.Map{"count": len(matched), "sort": "score desc, metadata_modified desc", "results": results,
		"facets": facets, "search_facets": searchFacets})
}
