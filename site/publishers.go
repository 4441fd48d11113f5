package site

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
)

// A publisher's page, /publishers/{slug}: the address the DCAT catalogue
// gives each dataset's publisher (dct:publisher), so that it resolves —
// to a page listing the publisher's datasets, with its FOAF description as
// JSON-LD in the page and alone at ?format=jsonld. Publishers are those of
// the listed datasets, named as everywhere else (ckanOrgFor): a
// publisher's name, or for inventory entries with no publisher yet, the
// inventory that promised them; never an empty name.

type publisherPage struct {
	layout
	Slug, Name, Description string
	Datasets                []catalogue.Dataset
	JSONLD                  template.JS
}

// publisherAgent is a publisher as a DCAT foaf:Agent.
func publisherAgent(base string, o ckanOrg) map[string]any {
	return map[string]any{"@id": base + "/publishers/" + o.Name, "@type": []string{"foaf:Agent", "foaf:Organization"}, "name": o.Title}
}

func (s *Site) publisher(c *fiber.Ctx) error {
	ds, err := s.allDatasets(c.UserContext())
	if err != nil {
		return err
	}
	orgs, members := ckanOrgsOf(ds, false)
	o, ok := orgs[c.Params("slug")]
	if !ok {
		return &userError{status: http.StatusNotFound, message: "No listed dataset has this publisher."}
	}
	agent := publisherAgent(c.BaseURL(), o)
	agent["@context"] = map[string]any{"foaf": "http://xmlns.com/foaf/0.1/", "name": "foaf:name",
		"homepage": map[string]any{"@id": "foaf:homepage", "@type": "@id"}}
	agent["homepage"] = c.BaseURL() + "/publishers/" + o.Name
	raw, err := json.Marshal(agent)
	if err != nil {
		return err
	}
	switch c.Query("format") {
	case "":
	case "jsonld":
		c.Set(fiber.HeaderContentType, "application/ld+json")
		c.Set("Access-Control-Allow-Origin", "*")
		return c.Send(raw)
	default:
		return badParam("format", c.Query("format"), "the only format is jsonld")
	}
	datasets := slices.Clone(members[o.Name])
	slices.SortFunc(datasets, func(a, b catalogue.Dataset) int { return strings.Compare(a.Title, b.Title) })
	return s.render(c, "publisher", publisherPage{layout: s.layout(c, o.Title, crumb{"/", "Home"}, crumb{"/datasets", "Datasets"}),
		Slug: o.Name, Name: o.Title, Description: o.Description, Datasets: datasets, JSONLD: template.JS(raw)}) // json.Marshal escapes <, > and &
}
