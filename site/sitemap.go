package site

import (
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators/audit"
)

// sitemap.xml lists every public page for search engines: the fixed pages,
// every listed dataset, every published release, every public
// organisation, indicator, clinical audit (and its units) and content
// page. It reads the published view only. (The sitemap protocol allows
// 50,000 addresses in one file; beyond that it would need an index of
// several files.)

type sitemapURL struct {
	Loc     string
	LastMod time.Time
}

// sitemapURLs lists the public pages.
func (s *Site) sitemapURLs(ctx context.Context, visibleIDs []int64) ([]sitemapURL, error) {
	v := s.deps.Catalogue.View()
	var out []sitemapURL
	for _, p := range []string{"/", "/search", "/datasets", "/organisations", "/indicators", "/map", "/audits", "/calendar", "/transparency", "/register"} {
		out = append(out, sitemapURL{Loc: p})
	}
	for offset := 0; ; offset += 500 {
		page, err := v.Datasets(ctx, catalogue.DatasetQuery{Offset: offset, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, d := range page.Datasets {
			u := sitemapURL{Loc: "/datasets/" + d.Slug, LastMod: d.UpdatedAt}
			if d.Latest != nil {
				u.LastMod = d.Latest.PublishedAt
			}
			out = append(out, u)
			rs, err := v.Releases(ctx, d.ID)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if r.ContentVisible || r.State == catalogue.StateWithdrawn {
					out = append(out, sitemapURL{Loc: fmt.Sprintf("/datasets/%s/releases/%d", d.Slug, r.Version), LastMod: r.StateChangedAt})
				}
			}
		}
		if offset+500 >= page.Total {
			break
		}
	}
	for offset := 0; ; offset += 5000 {
		page, err := v.Organisations(ctx, catalogue.OrganisationQuery{Offset: offset, Limit: 5000})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Organisations {
			out = append(out, sitemapURL{Loc: "/organisations/" + o.Code})
		}
		if offset+5000 >= page.Total {
			break
		}
	}
	areas, err := s.areaSitemap(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, areas...)
	visible := datasets.NewVisible(visibleIDs...)
	defs, err := s.deps.Observations.Definitions(ctx, visible)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		out = append(out, sitemapURL{Loc: "/indicators/" + d.ID})
		for _, b := range d.Breakdowns {
			out = append(out, sitemapURL{Loc: "/indicators/" + d.ID + "/breakdown?by=" + b.ID})
		}
	}
	audits, err := s.deps.Audits.Audits(ctx, visible)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, a := range audits {
		if seen[a.Definition.ID] {
			continue
		}
		seen[a.Definition.ID] = true
		out = append(out, sitemapURL{Loc: "/audits/" + a.Definition.ID})
		outcomes, err := s.deps.Audits.Outcomes(ctx, audit.Query{Visible: visible, Audit: a.Definition.ID})
		if err != nil {
			return nil, err
		}
		units := map[string]bool{}
		for _, o := range outcomes {
			u := unitURL(o.Audit, o.Level, o.Code)
			if !units[u] {
				units[u] = true
				out = append(out, sitemapURL{Loc: u})
			}
		}
	}
	for _, p := range s.deps.Content.Pages() {
		out = append(out, sitemapURL{Loc: "/pages/" + p.Slug})
	}
	return out, nil
}

func (s *Site) sitemap(c *fiber.Ctx) error {
	ids, err := s.deps.Catalogue.View().ContentVisibleReleases(c.UserContext())
	if err != nil {
		return err
	}
	urls, err := s.sitemapURLs(c.UserContext(), ids)
	if err != nil {
		return err
	}
	base := c.BaseURL()
	c.Set(fiber.HeaderContentType, "application/xml; charset=utf-8")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		w.WriteString(xml.Header + `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
		for _, u := range urls {
			w.WriteString("  <url><loc>")
			xml.EscapeText(w, []byte(base+u.Loc))
			w.WriteString("</loc>")
			if !u.LastMod.IsZero() {
				w.WriteString("<lastmod>" + u.LastMod.UTC().Format(time.RFC3339) + "</lastmod>")
			}
			w.WriteString("</url>\n")
		}
		w.WriteString("</urlset>\n")
	})
	return nil
}
