package site

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/content"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pageNames lists every page template; each is parsed with layout.html.
// The test that renders every template reads this list.
var pageNames = []string{"home", "datasets", "dataset", "release", "organisations", "organisation", "content", "error",
	"login", "workspace", "workspace_release", "workspace_preview", "workspace_submit", "workspace_account", "workspace_accounts", "workspace_feedback", "workspace_progress", "calendar", "transparency",
	"register", "register_form", "indicators", "indicator", "breakdown", "map", "compare", "audits", "audit", "audit_unit", "search", "changes", "api", "publisher",
	"areas", "area"}

type renderer struct {
	pages map[string]*template.Template
}

func newRenderer() (*renderer, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	r := &renderer{pages: map[string]*template.Template{}}
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	known := map[string]bool{"layout": true, "partials": true}
	for _, name := range pageNames {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFiles, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		r.pages[name] = t
		known[name] = true
	}
	for _, f := range files {
		if name := strings.TrimSuffix(path.Base(f), ".html"); !known[name] {
			return nil, fmt.Errorf("template %s is not registered in pageNames", f)
		}
	}
	return r, nil
}

// render executes a page into a buffer first, so a template error never
// leaves half a page on the wire.
func (s *Site) render(c *fiber.Ctx, name string, data any) error {
	t, ok := s.pages.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	if handled, err := renderTwin(c, data); handled {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

// layout is what every page's frame needs.
type layout struct {
	SiteName    string
	Title       string
	NHSBranding bool
	Section     string // "datasets", "organisations", "about"; highlights the menu
	Breadcrumbs []crumb
	FooterPages []content.Page
	Version     string
	// SignedIn and CSRF are set on workspace pages only: public pages are
	// the same for everyone.
	SignedIn bool
	CSRF     string
	// Feeds are the page's feed discovery links.
	Feeds []feedLink
	// Here is the page's path and query, for links to its twins.
	Here string
}

type crumb struct {
	Href, Text string
}

func (s *Site) layout(c *fiber.Ctx, title string, crumbs ...crumb) layout {
	section := ""
	p := c.Path()
	switch {
	case strings.HasPrefix(p, "/datasets"):
		section = "datasets"
	case strings.HasPrefix(p, "/organisations"):
		section = "organisations"
	case strings.HasPrefix(p, "/pages/about"):
		section = "about"
	case strings.HasPrefix(p, "/indicators"), strings.HasPrefix(p, "/compare"):
		section = "indicators"
	case strings.HasPrefix(p, "/search"):
		section = "search"
	case strings.HasPrefix(p, "/audits"):
		section = "audits"
	case strings.HasPrefix(p, "/calendar"):
		section = "calendar"
	case strings.HasPrefix(p, "/transparency"), strings.HasPrefix(p, "/register"):
		section = "transparency"
	}
	return layout{
		SiteName: s.cfg.SiteName, Title: title, NHSBranding: s.cfg.NHSBranding, Section: section,
		Breadcrumbs: crumbs, FooterPages: s.deps.Content.Pages(), Version: s.cfg.Version,
		Feeds: feedLinksFor(feedFilter{}, s.cfg.SiteName+": new releases"),
		Here:  string(c.Request().URI().RequestURI()),
	}
}

var london = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

var funcs = template.FuncMap{
	// deref gives the value of an optional number (a feasible interval's
	// upper end).
	"deref": func(p *float64) float64 { return *p },
	// date formats a civil date as "1 April 1974".
	"date": func(d catalogue.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.Time().Format("2 January 2006")
	},
	// instant formats a moment in UK time, e.g. "15 January 2026, 9:30am".
	"instant": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(london).Format("2 January 2006, 3:04pm")
	},
	// age says "from January 2014, 12 years old" of a figure whose
	// period began over a year ago (periodAge), "" otherwise.
	"age": func(o indicators.Observation) string { return periodAge(o.PeriodStart, o.Period, time.Now()) },
	// isoInstant is for <time datetime>.
	"isoInstant": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"bytes":      humanBytes,
	"count":      thousands,
	"licence": func(id string) catalogue.Licence {
		l, _ := catalogue.LookupLicence(id)
		return l
	},
	"orgType": func(t catalogue.OrganisationType) string { return t.Label() },
	// plain writes a directory's capitals in normal case ("LEEDS" →
	// "Leeds"); the directory's own form stays in the details and data.
	"plain": catalogue.TitleCase,
	// town is the end of an address: its town and county, which the
	// directory writes as the last two lines of three or more.
	"town": func(places []string) string {
		if len(places) >= 3 {
			places = places[len(places)-2:]
		} else if len(places) == 2 {
			places = places[1:]
		}
		out := make([]string, len(places))
		for i, p := range places {
			out[i] = catalogue.TitleCase(p)
		}
		return strings.Join(out, ", ")
	},
	"orgTypeName": func(t string) string { return catalogue.OrganisationType(t).Label() },
	"orgStatus":   func(s string) string { return catalogue.OrganisationStatus(s).Label() },
	"lower":       strings.ToLower,
	"add":         func(a, b int) int { return a + b },
	// list gives its arguments as a slice, for ranging over a few names.
	"list": func(items ...string) []string { return items },
	// seq gives 1…n, for numbered form fields.
	"seq": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	},
	"join": strings.Join,
	// dict builds a map from key, value pairs, for passing several values
	// to a sub-template.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict needs key, value pairs")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	// value formats an observation's value in its indicator's unit.
	"value": func(d indicators.Definition, v *float64) string { return d.FormatValue(v) },
	// verdict says in words how an observation compares with its benchmark.
	"verdict": func(d indicators.Definition, o indicators.Observation) string { return d.Sentence(o) },
	// pctShare writes a share such as 0.1 as "10%".
	"pctShare": func(x float64) string { return strconv.FormatFloat(x*100, 'f', -1, 64) + "%" },
	// areaLevel names a level of area in words.
	"areaLevel": func(level string) string {
		switch level {
		case "region":
			return "Region"
		case "icb":
			return "Integrated care board area"
		}
		return "Area"
	},
	// tone colours a verdict through the indicator's polarity.
	// direction says which way is better, and what the indicator is
	// compared with, in words.
	"direction": directionWords,
	"tone":      func(d indicators.Definition, c indicators.Comparison) string { return c.Tone(d.Polarity) },
	// pct formats a proportion as a percentage, "" for none.
	"pct": func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
	},
	// pctf formats a proportion as a percentage.
	"pctf": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" },
	// f64 takes a number's address, for the formatters that take pointers.
	"f64": func(v float64) *float64 { return &v },
	// dec2 formats a number to two decimal places, "" for none.
	"dec2": func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 2, 64)
	},
	// optCount formats a count that disclosure control may have
	// suppressed.
	"optCount": func(v *int) string {
		if v == nil {
			return "suppressed"
		}
		return thousands(int64(*v))
	},
	// auditValue formats what a measure's funnel plots.
	"auditValue": func(m audit.Measure, v *float64) string {
		if v == nil {
			return ""
		}
		if m.Statistic == audit.Proportion {
			return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
		}
		return strconv.FormatFloat(*v, 'f', 2, 64)
	},
	"releaseURL": func(slug string, version int) string {
		return "/datasets/" + slug + "/releases/" + strconv.Itoa(version)
	},
}

// humanBytes formats a size as "2.6 MB" (decimal units, as downloads are
// usually described).
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// thousands formats an integer with comma separators: 16685 → "16,685".
func thousands(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	default:
		return fmt.Sprint(n)
	}
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
