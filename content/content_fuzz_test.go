package content

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

// What goldmark, with the extensions Markdown uses and raw HTML dropped,
// may write: every '<' in the output opens one of these tags (or closes
// it), or the comment that marks omitted raw HTML; everything else is
// escaped.
var (
	fuzzTag  = regexp.MustCompile(`^<(/?)([a-z][a-z0-9]*)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*/?>`)
	fuzzAttr = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
	// fuzzTags are the elements goldmark writes for CommonMark, GFM
	// (tables, strikethrough, task lists, autolinks) and footnotes.
	fuzzTags = map[string]bool{
		"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
		"em": true, "strong": true, "del": true, "a": true, "img": true, "code": true, "pre": true,
		"blockquote": true, "ul": true, "ol": true, "li": true, "hr": true, "br": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
		"input": true, "div": true, "sup": true,
	}
	fuzzAttrs = map[string]bool{
		"href": true, "src": true, "alt": true, "title": true, "id": true, "class": true, "role": true,
		"start": true, "checked": true, "disabled": true, "type": true, "style": true, "align": true,
	}
)

const omittedHTML = "<!-- raw HTML omitted -->"

// FuzzMarkdown renders arbitrary Markdown. content's promise (its package
// doc) is that raw HTML is dropped and unsafe link schemes removed, so
// publishers' text cannot inject script. Markdown must not panic or fail;
// its output must hold no <script (in any case); every tag in it must be
// one goldmark writes for Markdown, with no event-handler attribute; and
// no href or src may, as a browser reads it (entities decoded, leading
// spaces and controls dropped, tabs and line breaks removed, any case),
// use the javascript:, vbscript: or a non-image data: scheme.
func FuzzMarkdown(f *testing.F) {
	f.Add("Hi <script>alert(1)</script> [x](javascript:alert(1))")
	f.Fuzz(func(t *testing.T, md string) {
		out, err := Markdown(md)
		if err != nil {
			t.Fatalf("Markdown(%q): %v", md, err)
		}
		s := string(out)
		if strings.Contains(strings.ToLower(s), "<script") {
			t.Fatalf("Markdown(%q) = %q: a script tag", md, s)
		}
		for i := strings.IndexByte(s, '<'); i >= 0; i = strings.IndexByte(s, '<') {
			s = s[i:]
			if strings.HasPrefix(s, omittedHTML) {
				s = s[len(omittedHTML):]
				continue
			}
			m := fuzzTag.FindStringSubmatch(s)
			if m == nil {
				t.Fatalf("Markdown(%q) = %q: unescaped '<' at %q", md, out, shortText(s))
			}
			if !fuzzTags[m[2]] {
				t.Fatalf("Markdown(%q) = %q: tag <%s>", md, out, m[2])
			}
			for _, a := range fuzzAttr.FindAllStringSubmatch(m[3], -1) {
				name, value := a[1], html.UnescapeString(a[2])
				if !fuzzAttrs[name] || strings.HasPrefix(name, "on") {
					t.Fatalf("Markdown(%q) = %q: attribute %s on <%s>", md, out, name, m[2])
				}
				if (name == "href" || name == "src") && dangerousURL(value) {
					t.Fatalf("Markdown(%q) = %q: %s=%q", md, out, name, value)
				}
			}
			s = s[len(m[0]):]
		}
	})
}

// dangerousURL reports whether a browser would run u as script (or
// render it as a document from nowhere): it strips leading and trailing
// spaces and C0 controls and removes tabs and line breaks anywhere before
// reading the scheme, in any case.
func dangerousURL(u string) bool {
	u = strings.TrimFunc(u, func(r rune) bool { return r <= 0x20 })
	u = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(u)
	u = strings.ToLower(u)
	for _, scheme := range []string{"javascript:", "vbscript:"} {
		if strings.HasPrefix(u, scheme) {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		for _, image := range []string{"image/png", "image/gif", "image/jpeg", "image/webp"} {
			if strings.HasPrefix(rest, image) {
				return false
			}
		}
		return true
	}
	return false
}

func shortText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
