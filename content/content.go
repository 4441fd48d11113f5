// Package content owns Candour's editorial pages and its Markdown
// rendering.
//
// Pages are Markdown files with a short front matter block:
//
//	---
//	title: About Candour
//	summary: One sentence for lists and search.
//	---
//	Body in Markdown.
//
// The defaults (about, licence, privacy, accessibility) are embedded; a
// deployment may hand Load another fs.FS. Markdown is rendered with
// goldmark (GitHub-flavoured tables, strikethrough, autolinks, footnotes).
// Raw HTML in Markdown is dropped and unsafe link schemes are removed, so
// descriptions written by publishers cannot inject script.
//
// It must not import other Candour packages or know about HTTP.
package content

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

//go:embed pages/*.md
var embedded embed.FS

// Page is one rendered page.
type Page struct {
	Slug    string // file name without .md; the page's URL segment
	Title   string
	Summary string
	Order   int // position in lists; lower first
	HTML    template.HTML
}

// Library is a set of pages, by slug.
type Library struct {
	pages map[string]Page
}

// Default returns the embedded pages.
func Default() (*Library, error) {
	sub, err := fs.Sub(embedded, "pages")
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Load reads every .md file at the root of fsys. A file without a title, or
// with a name that is not a slug, is an error naming the file.
func Load(fsys fs.FS) (*Library, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	lib := &Library{pages: map[string]Page{}}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".md" {
			continue
		}
		slug := strings.TrimSuffix(e.Name(), ".md")
		if !slugPattern.MatchString(slug) {
			return nil, fmt.Errorf("content page %s: file name must be a slug (lower-case letters, digits, hyphens)", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		p, err := parsePage(slug, b)
		if err != nil {
			return nil, fmt.Errorf("content page %s: %w", e.Name(), err)
		}
		lib.pages[slug] = p
	}
	return lib, nil
}

// Page returns the page with the slug.
func (l *Library) Page(slug string) (Page, bool) {
	p, ok := l.pages[slug]
	return p, ok
}

// Pages returns every page, in order then by title.
func (l *Library) Pages() []Page {
	out := make([]Page, 0, len(l.pages))
	for _, p := range l.pages {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Title < out[j].Title
	})
	return out
}

func parsePage(slug string, b []byte) (Page, error) {
	p := Page{Slug: slug}
	body := b
	if bytes.HasPrefix(b, []byte("---\n")) {
		end := bytes.Index(b[4:], []byte("\n---\n"))
		if end < 0 {
			return p, fmt.Errorf("front matter starts with --- but never ends")
		}
		sc := bufio.NewScanner(bytes.NewReader(b[4 : 4+end]))
		line := 1
		for sc.Scan() {
			line++
			text := strings.TrimSpace(sc.Text())
			if text == "" {
				continue
			}
			key, value, ok := strings.Cut(text, ":")
			if !ok {
				return p, fmt.Errorf("line %d: want key: value", line)
			}
			value = strings.TrimSpace(value)
			switch strings.TrimSpace(key) {
			case "title":
				p.Title = value
			case "summary":
				p.Summary = value
			case "order":
				if _, err := fmt.Sscanf(value, "%d", &p.Order); err != nil {
					return p, fmt.Errorf("line %d: order %q is not a number", line, value)
				}
			default:
				return p, fmt.Errorf("line %d: unknown front matter key %q (title, summary, order)", line, key)
			}
		}
		body = b[4+end+5:]
	}
	if p.Title == "" {
		return p, fmt.Errorf("front matter has no title")
	}
	html, err := render(pageMarkdown, string(body))
	if err != nil {
		return p, err
	}
	p.HTML = html
	return p, nil
}

var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Footnote))

// pageMarkdown renders the editorial pages: as markdown, with an id on
// each heading so that a page can link to its own sections (publishers'
// text never gets them, so it cannot clash with a page's own ids).
var pageMarkdown = goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Footnote),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()))

// Markdown renders Markdown to HTML that is safe to embed: raw HTML is
// dropped and javascript: links are emptied (goldmark's defaults, which
// this package never relaxes).
func Markdown(md string) (template.HTML, error) { return render(markdown, md) }

func render(m goldmark.Markdown, md string) (template.HTML, error) {
	var buf bytes.Buffer
	if err := m.Convert([]byte(md), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return template.HTML(buf.String()), nil // #nosec: goldmark's safe mode output
}
