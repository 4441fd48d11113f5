package site

import (
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// materialFiles writes a page's two files and returns the page.
func materialFiles(t *testing.T, m *materialiser, gen uint64, name string) *materialPage {
	t.Helper()
	p := &materialPage{gen: gen, made: time.Now(), file: filepath.Join(m.dir, name+".html"), gzFile: filepath.Join(m.dir, name+".html.gz")}
	for _, f := range []string{p.file, p.gzFile} {
		if err := os.WriteFile(f, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// A page is served only in the generation it was rendered in: a public
// change makes every page stale at once, a page rendered across a change
// is never kept, and replaced or dropped pages leave no files.
func TestMaterialisedGenerations(t *testing.T) {
	m, err := newMaterialiser(filepath.Join(t.TempDir(), "pages"))
	if err != nil {
		t.Fatal(err)
	}
	first := materialFiles(t, m, m.generation(), "a1")
	m.put("/a", first)
	if m.get("/a") != first || m.current.Load() != 1 {
		t.Fatalf("a page just put is not served (%d current)", m.current.Load())
	}

	rendering := m.generation()
	m.invalidate() // a publication lands
	if m.get("/a") != nil || m.current.Load() != 0 {
		t.Fatal("a page of the generation before a publication is served after it")
	}
	late := materialFiles(t, m, rendering, "a2")
	m.put("/a", late) // rendered before the publication, put after it
	if m.get("/a") != nil || exists(late.file) || exists(late.gzFile) {
		t.Error("a page rendered across a publication was kept, or its files were")
	}

	fresh := materialFiles(t, m, m.generation(), "a3")
	m.put("/a", fresh)
	if m.get("/a") != fresh || exists(first.file) || exists(first.gzFile) {
		t.Error("the page rendered after the publication is not served, or the one it replaced left its files")
	}
	other := materialFiles(t, m, m.generation(), "b1")
	m.put("/b", other)
	m.keep([]string{"/b"}) // /a is no longer listed
	if m.get("/a") != nil || exists(fresh.file) || m.get("/b") != other {
		t.Error("keep did not drop the unlisted page and its files, or dropped a listed one")
	}

	old := materialFiles(t, m, m.generation(), "c1")
	old.made = time.Now().Add(-3 * m.maxAge)
	m.put("/c", old)
	if m.get("/c") != nil {
		t.Error("a page older than twice the rebuild interval is served")
	}
}

// The filter form sends empty parameters; a page asked for with them is
// the materialised page without them. A parameter the site does not read
// is never materialised.
func TestMaterialKeys(t *testing.T) {
	app := fiber.New()
	app.Get("/*", func(c *fiber.Ctx) error {
		key, ok := materialKey(c)
		return c.SendString(fmt.Sprint(ok, " ", key))
	})
	for _, c := range []struct{ url, want string }{
		{"/indicators/x?region=Y56&icb=", "true /indicators/x?region=Y56"},
		{"/indicators/x?icb=&region=Y56", "true /indicators/x?region=Y56"},
		{"/indicators/x?region=&icb=", "true /indicators/x"},
		{"/indicators/x?region=Y56&format=csv", "true /indicators/x?format=csv&region=Y56"},
		{"/organisations/RR8", "true /organisations/RR8"},
		{"/organisations/RR8?junk=1", "false "},
	} {
		res, err := app.Test(httptest.NewRequest("GET", c.url, nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if string(body) != c.want {
			t.Errorf("%s: %q, want %q", c.url, body, c.want)
		}
	}
}
