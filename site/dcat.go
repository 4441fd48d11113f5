package site

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
)

// The catalogue as DCAT-AP 3 JSON-LD (/catalog.jsonld?page=N), for
// harvesters: every listed dataset with its publisher, licence,
// frequency, temporal coverage, landing page and, for its newest
// published release, one distribution per public file with its download
// URL, media type, size and SHA-256 checksum. The JSON-LD context is
// inline (no remote context is fetched), and pages link each other with
// Hydra's paging terms.

const dcatPageSize = 50

// dcatContext maps the terms the documents use.
var dcatContext = map[string]any{
	"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
	"xsd": "http://www.w3.org/2001/XMLSchema#", "spdx": "http://spdx.org/rdf/terms#", "hydra": "http://www.w3.org/ns/hydra/core#",
	"skos":  "http://www.w3.org/2004/02/skos/core#",
	"title": map[string]any{"@id": "dct:title", "@language": "en"}, "description": map[string]any{"@id": "dct:description", "@language": "en"},
	"publisher": map[string]any{"@id": "dct:publisher", "@type": "@id"}, "license": map[string]any{"@id": "dct:license", "@type": "@id"},
	"issued": map[string]any{"@id": "dct:issued", "@type": "xsd:dateTime"}, "modified": map[string]any{"@id": "dct:modified", "@type": "xsd:dateTime"},
	"homepage": map[string]any{"@id": "foaf:homepage", "@type": "@id"}, "dataset": map[string]any{"@id": "dcat:dataset", "@type": "@id"},
	"distribution": map[string]any{"@id": "dcat:distribution", "@type": "@id"}, "keyword": map[string]any{"@id": "dcat:keyword", "@language": "en"},
	"landingPage": map[string]any{"@id": "dcat:landingPage", "@type": "@id"}, "accessURL": map[string]any{"@id": "dcat:accessURL", "@type": "@id"},
	"downloadURL": map[string]any{"@id": "dcat:downloadURL", "@type": "@id"}, "mediaType": map[string]any{"@id": "dcat:mediaType", "@type": "@id"},
	"format": map[string]any{"@id": "dct:format", "@type": "@id"}, "byteSize": map[string]any{"@id": "dcat:byteSize", "@type": "xsd:nonNegativeInteger"},
	"checksum": map[string]any{"@id": "spdx:checksum", "@type": "@id"}, "algorithm": map[string]any{"@id": "spdx:algorithm", "@type": "@id"},
	"checksumValue":      map[string]any{"@id": "spdx:checksumValue", "@type": "xsd:hexBinary"},
	"accrualPeriodicity": map[string]any{"@id": "dct:accrualPeriodicity", "@type": "@id"}, "temporal": map[string]any{"@id": "dct:temporal", "@type": "@id"},
	"startDate": map[string]any{"@id": "dcat:startDate", "@type": "xsd:date"}, "endDate": map[string]any{"@id": "dcat:endDate", "@type": "xsd:date"},
	"name": "foaf:name", "prefLabel": map[string]any{"@id": "skos:prefLabel", "@language": "en"},
	"view": map[string]any{"@id": "hydra:view", "@type": "@id"}, "next": map[string]any{"@id": "hydra:next", "@type": "@id"},
	"previous": map[string]any{"@id": "hydra:previous", "@type": "@id"}, "first": map[string]any{"@id": "hydra:first", "@type": "@id"},
	"last": map[string]any{"@id": "hydra:last", "@type": "@id"}, "totalItems": map[string]any{"@id": "hydra:totalItems", "@type": "xsd:nonNegativeInteger"},
}

// frequencies maps a dataset's frequency to the EU frequency vocabulary.
var frequencies = map[string]string{
	"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "quarterly": "QUARTERLY", "annually": "ANNUAL", "annual": "ANNUAL",
	"yearly": "ANNUAL", "biannually": "ANNUAL_2", "twice a year": "ANNUAL_2", "irregular": "IRREG", "ad hoc": "IRREG", "one-off": "NEVER",
}

func frequencyURI(freq string) string {
	if code, ok := frequencies[strings.ToLower(strings.TrimSpace(freq))]; ok {
		return "http://publications.europa.eu/resource/authority/frequency/" + code
	}
	return ""
}

func (s *Site) dcatCatalog(c *fiber.Ctx) error {
	ctx := c.UserContext()
	page := 1
	if p := c.Query("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100000 {
			return badParam("page", p, "it must be a whole number from 1")
		}
		page = n
	}
	v := s.deps.Catalogue.View()
	list, err := v.Datasets(ctx, catalogue.DatasetQuery{Offset: (page - 1) * dcatPageSize, Limit: dcatPageSize})
	if err != nil {
		return err
	}
	pages := max(1, (list.Total+dcatPageSize-1)/dcatPageSize)
	if page > pages {
		return &userError{status: http.StatusNotFound, message: fmt.Sprintf("The catalogue has %d pages.", pages)}
	}
	base := c.BaseURL()
	licenceNode := func(id string) map[string]any {
		l, _ := catalogue.LookupLicence(id)
		return map[string]any{"@id": l.URL, "@type": "dct:LicenseDocument"}
	}
	var datasets []map[string]any
	for _, d := range list.Datasets {
		desc := strings.TrimSpace(d.Summary)
		if desc == "" {
			desc = strings.TrimSpace(d.Description)
		}
		if desc == "" {
			desc = d.Title
		}
		ds := map[string]any{"@id": base + "/datasets/" + d.Slug, "@type": "dcat:Dataset", "title": d.Title, "description": desc,
			"publisher": publisherAgent(base, ckanOrgFor(d.Dataset)), "landingPage": map[string]any{"@id": base + "/datasets/" + d.Slug, "@type": "foaf:Document"},
			"modified": d.UpdatedAt.UTC().Format(time.RFC3339)}
		if len(d.Topics) > 0 {
			ds["keyword"] = d.Topics
		}
		if f := frequencyURI(d.Frequency); f != "" {
			ds["accrualPeriodicity"] = map[string]any{"@id": f, "@type": "dct:Frequency"}
		}
		if err := s.dcatReleases(c, d.Dataset, ds, licenceNode(d.Licence)); err != nil {
			return err
		}
		datasets = append(datasets, ds)
	}
	self := func(n int) string { return base + "/catalog.jsonld?page=" + strconv.Itoa(n) }
	view := map[string]any{"@id": self(page), "@type": "hydra:PartialCollectionView", "first": self(1), "last": self(pages)}
	if page > 1 {
		view["previous"] = self(page - 1)
	}
	if page < pages {
		view["next"] = self(page + 1)
	}
	doc := map[string]any{
		"@context": dcatContext, "@id": base + "/catalog.jsonld", "@type": "dcat:Catalog",
		"title":       s.cfg.SiteName + ": open health and care data",
		"description": "Datasets about hospitals, GP practices, indicators and clinical audits, each release checked by disclosure control and approved by an independent transparency panel before publication.",
		"publisher":   map[string]any{"@id": base + "/", "@type": []string{"foaf:Agent", "foaf:Organization"}, "name": s.cfg.SiteName},
		"license":     licenceNode(catalogue.DefaultLicence), "homepage": map[string]any{"@id": base + "/", "@type": "foaf:Document"},
		"dataset": datasets, "view": view, "totalItems": strconv.Itoa(list.Total),
	}
	c.Set(fiber.HeaderContentType, "application/ld+json")
	c.Set("Access-Control-Allow-Origin", "*")
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return c.Send(raw)
}

// dcatReleases describes every published release of d in ds: each
// public file of each release whose content is public (newest first) is
// a distribution, with the release's publication as dct:issued; the
// newest release gives the dataset's issued, modified and temporal
// coverage. Releases are distributions of the one dataset rather than
// member datasets of a dcat:DatasetSeries so that the catalogue says what
// the CKAN API says (every file of every release is a resource of the
// package), and a harvester that maps distributions to resources, as
// ckanext-dcat does, gets the same files by either road.
func (s *Site) dcatReleases(c *fiber.Ctx, d catalogue.Dataset, ds map[string]any, licence map[string]any) error {
	ctx, base := c.UserContext(), c.BaseURL()
	v := s.deps.Catalogue.View()
	rs, err := v.Releases(ctx, d.ID)
	if err != nil {
		return err
	}
	slices.SortStableFunc(rs, func(a, b catalogue.Release) int { return b.Version - a.Version })
	var dists []map[string]any
	for _, brief := range rs {
		if !brief.ContentVisible {
			continue
		}
		r, err := v.Release(ctx, d.Slug, brief.Version)
		if err != nil {
			return err
		}
		if dists == nil {
			ds["issued"] = r.PublishedAt.UTC().Format(time.RFC3339)
			ds["modified"] = r.PublishedAt.UTC().Format(time.RFC3339)
			if !r.PeriodStart.IsZero() && !r.PeriodEnd.IsZero() {
				ds["temporal"] = map[string]any{"@type": "dct:PeriodOfTime", "startDate": r.PeriodStart.String(), "endDate": r.PeriodEnd.String()}
			}
		}
		for _, f := range r.Files {
			if f.Role != catalogue.RolePublic {
				continue
			}
			mt := f.MediaType
			if mt == "" {
				mt = "text/csv"
			}
			dists = append(dists, map[string]any{
				"@id": base + fileURL(d.Slug, r.Version, f.Name) + "#distribution", "@type": "dcat:Distribution",
				"title": fmt.Sprintf("%s (version %d: %s)", f.Name, r.Version, r.Title), "issued": r.PublishedAt.UTC().Format(time.RFC3339),
				"accessURL":   base + fmt.Sprintf("/datasets/%s/releases/%d", d.Slug, r.Version),
				"downloadURL": base + fileURL(d.Slug, r.Version, f.Name),
				"mediaType":   map[string]any{"@id": "http://www.iana.org/assignments/media-types/" + mt, "@type": "dct:MediaType"},
				"format":      map[string]any{"@id": "http://publications.europa.eu/resource/authority/file-type/CSV", "@type": "dct:MediaTypeOrExtent"},
				"license":     licence, "byteSize": strconv.FormatInt(f.Bytes, 10),
				// DCAT-AP 3 wants the algorithm typed, with SPDX's https
				// address (its checksum algorithm restriction).
				"checksum": map[string]any{"@type": "spdx:Checksum", "checksumValue": f.SHA256,
					"algorithm": map[string]any{"@id": "https://spdx.org/rdf/terms#checksumAlgorithm_sha256", "@type": "spdx:ChecksumAlgorithm"}},
			})
		}
	}
	if len(dists) > 0 {
		ds["distribution"] = dists
	}
	return nil
}

// schemaOrgDataset is a dataset's schema.org description, for the
// dataset page: its name, description, licence, publisher, keywords,
// temporal coverage and the newest release's files as downloads. It is
// JSON with <, > and & escaped, so it cannot close its script element.
func schemaOrgDataset(base string, d catalogue.Dataset, licence catalogue.Licence, latest *catalogue.Release) (template.JS, error) {
	desc := strings.TrimSpace(d.Summary)
	if desc == "" {
		desc = d.Title
	}
	doc := map[string]any{
		"@context": "https://schema.org", "@type": "Dataset", "name": d.Title, "description": desc, "url": base + "/datasets/" + d.Slug,
		"license": licence.URL, "isAccessibleForFree": true,
		"publisher": map[string]any{"@type": "Organization", "name": ckanOrgFor(d).Title},
		"creator":   map[string]any{"@type": "Organization", "name": ckanOrgFor(d).Title},
	}
	if len(d.Topics) > 0 {
		doc["keywords"] = d.Topics
	}
	if latest != nil {
		doc["dateModified"] = latest.PublishedAt.UTC().Format(time.RFC3339)
		if !latest.PeriodStart.IsZero() && !latest.PeriodEnd.IsZero() {
			doc["temporalCoverage"] = latest.PeriodStart.String() + "/" + latest.PeriodEnd.String()
		}
		var downloads []map[string]any
		for _, f := range latest.Files {
			if f.Role == catalogue.RolePublic {
				downloads = append(downloads, map[string]any{"@type": "DataDownload", "encodingFormat": "text/csv", "name": f.Name,
					"contentUrl": base + fileURL(d.Slug, latest.Version, f.Name), "contentSize": strconv.FormatInt(f.Bytes, 10) + " B",
					"sha256": f.SHA256})
			}
		}
		if len(downloads) > 0 {
			doc["distribution"] = downloads
		}
	}
	raw, err := json.Marshal(doc) // escapes <, > and & as \u003c, \u003e, \u0026
	return template.JS(raw), err
}
