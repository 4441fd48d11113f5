package content

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestDefaultPages(t *testing.T) {
	lib, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, p := range lib.Pages() {
		slugs = append(slugs, p.Slug)
		if p.Title == "" || p.HTML == "" {
			t.Errorf("page %s: empty title or body", p.Slug)
		}
	}
	if got, want := strings.Join(slugs, ","), "about,licence,privacy,accessibility,publishing,how-to-read-a-scorecard,how-we-compare,funnel-plots,risk-adjusted,your-data,developers"; got != want {
		t.Errorf("pages in order %s, want %s", got, want)
	}
	p, ok := lib.Page("licence")
	if !ok || !strings.Contains(string(p.HTML), `href="https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"`) {
		t.Errorf("licence page does not link the OGL: %q", p.HTML)
	}
}

func TestMarkdownIsSafe(t *testing.T) {
	cases := []struct {
		name, in      string
		want, notWant string
	}{
		{"raw html dropped", "Hi <script>alert(1)</script> there", "Hi", "<script"},
		{"javascript link emptied", "[x](javascript:alert(1))", `<a href="">x</a>`, "javascript:"},
		{"event handler dropped", "Look <img src=x onerror=alert(1)> <a href=\"#\" onclick=\"steal()\">here</a>", "Look", "onerror"},
		{"event handler in a block dropped", "<div onmouseover=\"steal()\">x</div>\n\ntext", "text", "onmouseover"},
		{"mixed-case scheme emptied", "[x](JaVaScRiPt:alert(1))", `<a href="">x</a>`, "alert"},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", "<table>", ""},
		{"emphasis", "**bold**", "<strong>bold</strong>", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Markdown(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), c.want) || (c.notWant != "" && strings.Contains(string(got), c.notWant)) {
				t.Errorf("Markdown(%q) = %q, want it to contain %q and not %q", c.in, got, c.want, c.notWant)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		data string
		want string
	}{
		{"no title", "a.md", "---\nsummary: x\n---\nbody", "no title"},
		{"unterminated", "a.md", "---\ntitle: x\nbody", "never ends"},
		{"unknown key", "a.md", "---\ntitle: x\nauthor: y\n---\n", `unknown front matter key "author"`},
		{"bad order", "a.md", "---\ntitle: x\norder: first\n---\n", `order "first"`},
		{"bad name", "About Us.md", "---\ntitle: x\n---\n", "must be a slug"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{c.file: {Data: []byte(c.data)}})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
				t.Errorf("got %v, want an error naming %s and containing %q", err, c.file, c.want)
			}
		})
	}
}

// Editorial pages' headings carry ids, so a page can link to its own
// sections; Markdown written by publishers gets none.
func TestPageHeadingsHaveIDs(t *testing.T) {
	lib, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := lib.Page("publishing")
	if !ok || !strings.Contains(string(p.HTML), `<h2 id="the-descriptor">`) {
		t.Errorf("the publishing guide's headings have no ids")
	}
	html, err := Markdown("## Files\n")
	if err != nil || strings.Contains(string(html), "id=") {
		t.Errorf("a publisher's heading got an id: %s %v", html, err)
	}
}
