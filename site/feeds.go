package site

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/feeds"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/content"
)

// Feeds of what was published: new releases, corrections and withdrawals,
// as Atom, RSS 2.0 and JSON Feed, site-wide or for one publisher, dataset
// or topic (/feeds/releases.atom?dataset=shmi). Every entry links the
// release, its files and its change notes.
//
// gorilla/feeds builds them, with two of its defects put right before
// writing (tech-notes.md): its Atom feed has no rel="self" link and uses
// the site's link as the feed's id, so the Atom document is written from
// Candour's own struct with both links and a tag: URI id (entries get
// stable tag: ids too); and its RSS <author> holds a name where RSS wants
// an e-mail address, so RSS items carry no author (the publisher is the
// item's category instead).

const feedEntries = 50

// feedFilter is which releases a feed follows.
type feedFilter struct {
	Publisher, Dataset, Topic string
}

func (f feedFilter) query() string {
	for _, kv := range [][2]string{{"publisher", f.Publisher}, {"dataset", f.Dataset}, {"topic", f.Topic}} {
		if kv[1] != "" {
			return "?" + kv[0] + "=" + strings.ReplaceAll(kv[1], " ", "+")
		}
	}
	return ""
}

// feedEvent is one entry: a release published (or correcting another),
// or withdrawn.
type feedEvent struct {
	Release   catalogue.Release
	Dataset   catalogue.Dataset
	Withdrawn bool
	At        time.Time
}

// errNoSuchFeed is a feed for a dataset, publisher or topic the
// catalogue does not have: answered 404 with an empty feed in the
// requested format saying so.
type errNoSuchFeed struct{ message string }

func (e *errNoSuchFeed) Error() string { return e.message }

// feedEvents lists what the feed shows, newest first, its title, and when
// it last changed when it has no entries (see below).
func (s *Site) feedEvents(ctx context.Context, f feedFilter) ([]feedEvent, string, time.Time, error) {
	v := s.deps.Catalogue.View()
	title := s.cfg.SiteName + ": new releases, corrections and withdrawals"
	all, err := s.allDatasets(ctx)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	covered := slices.DeleteFunc(slices.Clone(all), func(d catalogue.Dataset) bool { return !f.covers(d) })
	switch {
	case f.Dataset != "":
		if len(covered) == 0 {
			return nil, "", time.Time{}, &errNoSuchFeed{fmt.Sprintf("There is no dataset %q: a dataset's feed is named by its slug, such as shmi.", f.Dataset)}
		}
		title = s.cfg.SiteName + ": " + covered[0].Title
	case f.Publisher != "":
		if len(covered) == 0 {
			return nil, "", time.Time{}, &errNoSuchFeed{fmt.Sprintf("There is no publisher %q with a listed dataset: a publisher's feed is named by its slug.", f.Publisher)}
		}
		title = s.cfg.SiteName + ": releases from " + covered[0].Publisher.Name
	case f.Topic != "":
		if len(covered) == 0 {
			return nil, "", time.Time{}, &errNoSuchFeed{fmt.Sprintf("No listed dataset has the topic %q.", f.Topic)}
		}
		topic := covered[0].Topics[slices.IndexFunc(covered[0].Topics, func(t string) bool { return strings.EqualFold(t, f.Topic) })]
		title = s.cfg.SiteName + ": releases about " + topic
	}
	// An empty feed was last updated when it began: when its newest
	// dataset was added to the catalogue (which no workflow step moves, so
	// an empty feed does not change before its first release).
	updated := s.started.UTC().Truncate(time.Second)
	if len(covered) > 0 {
		updated = time.Time{}
		for _, d := range covered {
			if d.CreatedAt.After(updated) {
				updated = d.CreatedAt
			}
		}
	}
	rs, err := v.LatestReleases(ctx, 500)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	datasets := map[string]catalogue.Dataset{}
	for _, d := range all {
		datasets[d.Slug] = d
	}
	var out []feedEvent
	for _, r := range rs {
		d, ok := datasets[r.Dataset.Slug]
		if !ok {
			if d, err = v.Dataset(ctx, r.Dataset.Slug); err != nil {
				return nil, "", time.Time{}, err
			}
			datasets[d.Slug] = d
		}
		if !f.covers(d) {
			continue
		}
		if !r.PublishedAt.IsZero() {
			if full, err := v.Release(ctx, d.Slug, r.Version); err == nil {
				r = full // with its public files
			}
			out = append(out, feedEvent{Release: r, Dataset: d, At: r.PublishedAt})
		}
		if r.State == catalogue.StateWithdrawn {
			out = append(out, feedEvent{Release: r, Dataset: d, Withdrawn: true, At: r.StateChangedAt})
		}
	}
	slices.SortStableFunc(out, func(a, b feedEvent) int { return b.At.Compare(a.At) })
	if len(out) > feedEntries {
		out = out[:feedEntries]
	}
	return out, title, updated, nil
}

// covers reports whether the feed follows dataset d (topics match in any
// case).
func (f feedFilter) covers(d catalogue.Dataset) bool {
	switch {
	case f.Dataset != "":
		return d.Slug == f.Dataset
	case f.Publisher != "":
		return d.Publisher.Slug == f.Publisher
	case f.Topic != "":
		return slices.ContainsFunc(d.Topics, func(t string) bool { return strings.EqualFold(t, f.Topic) })
	}
	return true
}

// tagID is a stable tag: URI (RFC 4151) for a feed or entry.
func tagID(host, path string) string {
	h, _, _ := strings.Cut(host, ":")
	return "tag:" + h + ",2026:" + path
}

// idPath is the path of the feed's tag: id, one per feed: site-wide
// "feeds/releases", else "feeds/releases/dataset/shmi" and the like
// (topics in lower case, as they match).
func (f feedFilter) idPath() string {
	for _, kv := range [][2]string{{"publisher", f.Publisher}, {"dataset", f.Dataset}, {"topic", strings.ToLower(f.Topic)}} {
		if kv[1] != "" {
			return "feeds/releases/" + kv[0] + "/" + strings.ReplaceAll(kv[1], " ", "-")
		}
	}
	return "feeds/releases"
}

// buildFeed turns events into a gorilla feed with absolute links; idPath
// names it (feedFilter.idPath) and updated is when it last changed.
func buildFeed(base, host, title, self, idPath string, updated time.Time, events []feedEvent) (*feeds.Feed, error) {
	f := &feeds.Feed{Title: title, Link: &feeds.Link{Href: base + "/datasets"}, Id: tagID(host, idPath), Updated: updated,
		Description: "Releases published on " + host + ": new data, corrections and withdrawals, under the licence each dataset states.",
		Copyright:   "Open Government Licence v3.0 unless a dataset states otherwise"}
	if len(events) > 0 {
		f.Updated = events[0].At
		f.Created = events[len(events)-1].At
	} else {
		f.Created = updated
	}
	for _, e := range events {
		r := e.Release
		link := base + fmt.Sprintf("/datasets/%s/releases/%d", r.Dataset.Slug, r.Version)
		item := &feeds.Item{Link: &feeds.Link{Href: link}, Created: e.At, Updated: e.At,
			Id: tagID(host, fmt.Sprintf("release/%d", r.ID))}
		var body strings.Builder
		switch {
		case e.Withdrawn:
			item.Title = "Withdrawn: " + r.Title
			item.Id += "/withdrawn"
			fmt.Fprintf(&body, "<p>This release was withdrawn: %s</p>", escape(r.WithdrawnReason))
		case !r.Corrects.IsZero():
			item.Title = "Correction: " + r.Title
			fmt.Fprintf(&body, "<p>Corrects version %d. %s</p>", r.Corrects.Version, escape(r.CorrectionNotice))
		default:
			item.Title = "New release: " + r.Title
		}
		item.Description = r.Summary
		if r.Summary == "" {
			item.Description = strings.TrimSuffix(e.Dataset.Title+", "+r.PeriodLabel, ", ")
		}
		fmt.Fprintf(&body, "<p>%s</p>", escape(item.Description))
		if notes := strings.TrimSpace(r.ChangeNotes); notes != "" && !e.Withdrawn {
			html, err := content.Markdown(notes)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&body, "<h2>What changed</h2>%s", html)
		}
		if !e.Withdrawn {
			var files []string
			for _, file := range r.Files {
				if file.Role == catalogue.RolePublic {
					files = append(files, fmt.Sprintf(`<li><a href="%s">%s</a> (%s, SHA-256 %s)</li>`, base+fileURL(r.Dataset.Slug, r.Version, file.Name),
						escape(file.Name), humanBytes(file.Bytes), file.SHA256))
				}
			}
			if len(files) > 0 {
				fmt.Fprintf(&body, "<h2>Files</h2><ul>%s</ul>", strings.Join(files, ""))
			}
		}
		item.Content = body.String()
		item.Author = &feeds.Author{Name: e.Dataset.Publisher.Name}
		f.Items = append(f.Items, item)
	}
	return f, nil
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// atomFeed is gorilla's Atom feed with several links (alternate and
// self) instead of one.
type atomFeed struct {
	XMLName  xml.Name          `xml:"feed"`
	Xmlns    string            `xml:"xmlns,attr"`
	Title    string            `xml:"title"`
	ID       string            `xml:"id"`
	Updated  string            `xml:"updated"`
	Rights   string            `xml:"rights,omitempty"`
	Subtitle string            `xml:"subtitle,omitempty"`
	Links    []feeds.AtomLink  `xml:"link"`
	Author   *feeds.AtomAuthor `xml:"author,omitempty"`
	Entries  []*feeds.AtomEntry
}

// writeAtom writes the feed as Atom with its self link, its WebSub hub
// (unless hub is "") and tag: ids.
func writeAtom(f *feeds.Feed, self, hub string) ([]byte, error) {
	g := (&feeds.Atom{Feed: f}).AtomFeed()
	a := atomFeed{Xmlns: g.Xmlns, Title: g.Title, ID: f.Id, Updated: g.Updated, Rights: g.Rights, Subtitle: g.Subtitle,
		Links:   []feeds.AtomLink{{Href: f.Link.Href, Rel: "alternate", Type: "text/html"}, {Href: self, Rel: "self", Type: "application/atom+xml"}},
		Author:  &feeds.AtomAuthor{AtomPerson: feeds.AtomPerson{Name: "Candour"}},
		Entries: g.Entries}
	if hub != "" {
		a.Links = append(a.Links, feeds.AtomLink{Href: hub, Rel: "hub"})
	}
	if a.Updated == "" || f.Updated.IsZero() {
		a.Updated = f.Updated.UTC().Format(time.RFC3339)
	}
	for i, e := range a.Entries {
		e.Xmlns = ""
		e.Summary = &feeds.AtomSummary{Content: f.Items[i].Description, Type: "text"}
	}
	out, err := xml.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// writeRSS writes the feed as RSS 2.0, without gorilla's name-only
// <author>, with the publisher as each item's category.
func writeRSS(f *feeds.Feed) ([]byte, error) {
	r := (&feeds.Rss{Feed: f}).RssFeed()
	for i, item := range r.Items {
		item.Author = ""
		if a := f.Items[i].Author; a != nil {
			item.Category = a.Name
		}
		if item.Content != nil {
			item.Content.Content = xmlChars(item.Content.Content)
		}
	}
	r.ManagingEditor = ""
	x := r.FeedXml().(*feeds.RssFeedXml)
	out, err := xml.MarshalIndent(x, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// xmlChars replaces what XML 1.0 does not allow in a document (control
// characters other than tab, line feed and carriage return, U+FFFE,
// U+FFFF, and bytes that are not UTF-8) with U+FFFD, as encoding/xml does
// in the text it escapes. encoding/xml writes a CDATA section as it is, so
// RSS's content:encoded needs this, or a release's text holding such a
// character would make the whole feed unreadable.
func xmlChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
			return r
		}
		return utf8.RuneError
	}, s)
}

// jsonFeed is gorilla's JSON Feed with items always present, as JSON
// Feed 1.1 requires (gorilla leaves an empty list out).
type jsonFeed struct {
	*feeds.JSONFeed
	Items []*feeds.JSONItem `json:"items"`
}

func writeJSONFeed(f *feeds.Feed, self, hub string) ([]byte, error) {
	j := (&feeds.JSON{Feed: f}).JSONFeed()
	j.FeedUrl = self
	if hub != "" {
		j.Hubs = []*feeds.JSONHub{{Type: "WebSub", Url: hub}}
	}
	out := jsonFeed{JSONFeed: j, Items: j.Items}
	if out.Items == nil {
		out.Items = []*feeds.JSONItem{}
	}
	return json.MarshalIndent(out, "", "  ")
}

// feedTypes are the feeds' media types, by format.
var feedTypes = map[string]string{"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8",
	"json": "application/feed+json; charset=utf-8"}

// renderedFeed is a feed as it is served.
type renderedFeed struct {
	body         []byte
	contentType  string
	notFound     bool      // the dataset, publisher or topic does not exist: an empty feed saying so
	lastModified time.Time // its newest entry's instant; zero when empty
}

func (s *Site) feed(c *fiber.Ctx) error {
	format := c.Params("format")
	if _, ok := feedTypes[format]; !ok {
		return &userError{status: http.StatusNotFound, message: "Feeds are releases.atom, releases.rss and releases.json."}
	}
	f := feedFilter{Publisher: c.Query("publisher"), Dataset: c.Query("dataset"), Topic: c.Query("topic")}
	if f.count() > 1 {
		return badParam("dataset", f.Dataset+f.Publisher+f.Topic, "a feed follows one dataset, one publisher or one topic; give only one of them")
	}
	out, err := s.renderFeed(c.UserContext(), c.BaseURL(), c.Hostname(), format, f)
	if err != nil {
		return err
	}
	if out.notFound {
		c.Status(http.StatusNotFound)
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	c.Set(fiber.HeaderContentType, out.contentType)
	c.Set("Access-Control-Allow-Origin", "*")
	if path := s.hubPath(); path != "" {
		// WebSub discovery: the hub, and the topic's own address.
		c.Append("Link", "<"+c.BaseURL()+path+`>; rel="hub"`, "<"+c.BaseURL()+"/feeds/releases."+format+f.query()+`>; rel="self"`)
	}
	if !out.lastModified.IsZero() {
		c.Set(fiber.HeaderLastModified, out.lastModified.UTC().Format(http.TimeFormat))
	}
	return c.Send(out.body)
}

// count is how many of dataset, publisher and topic are given.
func (f feedFilter) count() int {
	n := 0
	for _, v := range []string{f.Publisher, f.Dataset, f.Topic} {
		if v != "" {
			n++
		}
	}
	return n
}

// renderFeed writes the feed of format for f, at base on host: what the
// feed route serves and the WebSub hub delivers.
func (s *Site) renderFeed(ctx context.Context, base, host, format string, f feedFilter) (renderedFeed, error) {
	self := base + "/feeds/releases." + format + f.query()
	out := renderedFeed{contentType: feedTypes[format]}
	events, title, updated, err := s.feedEvents(ctx, f)
	var missing *errNoSuchFeed
	if errors.As(err, &missing) {
		// 404, in the feed's own format: an empty feed that says why.
		out.notFound = true
		events, title, updated, err = nil, s.cfg.SiteName+": no such feed. "+missing.message, s.started, nil
	}
	if err != nil {
		return out, err
	}
	built, err := buildFeed(base, host, title, self, f.idPath(), updated, events)
	if err != nil {
		return out, err
	}
	hub := ""
	if path := s.hubPath(); path != "" {
		hub = base + path
	}
	switch format {
	case "atom":
		out.body, err = writeAtom(built, self, hub)
	case "rss":
		out.body, err = writeRSS(built)
	default:
		out.body, err = writeJSONFeed(built, self, hub)
	}
	if len(events) > 0 {
		out.lastModified = events[0].At
	}
	return out, err
}

// feedLinks are the discovery links a page's head carries.
type feedLink struct{ Title, Type, Href string }

func feedLinksFor(f feedFilter, title string) []feedLink {
	q := f.query()
	return []feedLink{
		{title + " (Atom)", "application/atom+xml", "/feeds/releases.atom" + q},
		{title + " (RSS)", "application/rss+xml", "/feeds/releases.rss" + q},
		{title + " (JSON Feed)", "application/feed+json", "/feeds/releases.json" + q},
	}
}
