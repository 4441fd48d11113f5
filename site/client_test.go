package site

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 127.0.0.1, 10.0.0.0/8 ,::1,")
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8, proxy.local"); err == nil || !strings.Contains(err.Error(), `"proxy.local"`) {
		t.Errorf("a host name: %v, want an error naming it", err)
	}
}

func TestClientAddress(t *testing.T) {
	// fiber's app.Test connects from 0.0.0.0.
	cases := []struct {
		name    string
		trusted string
		xff     []string
		want    string
	}{
		{"no proxy trusted: the header is ignored", "", []string{"203.0.113.9"}, "0.0.0.0"},
		{"a trusted proxy: its client", "0.0.0.0", []string{"203.0.113.9"}, "203.0.113.9"},
		{"a spoofed entry on the left is not believed", "0.0.0.0", []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"},
		{"a chain of trusted proxies is walked", "0.0.0.0, 10.0.0.0/8", []string{"203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"headers repeated are read as one list", "0.0.0.0, 10.0.0.0/8", []string{"198.51.100.1", "203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"garbage ends the chain", "0.0.0.0", []string{"not-an-address"}, "0.0.0.0"},
		{"no header", "0.0.0.0", nil, "0.0.0.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			trusted, err := ParseTrustedProxies(c.trusted)
			if err != nil {
				t.Fatal(err)
			}
			s := &Site{cfg: Config{TrustedProxies: trusted}}
			app := fiber.New()
			app.Get("/", func(ctx *fiber.Ctx) error { return ctx.SendString(s.clientAddress(ctx)) })
			req := httptest.NewRequest("GET", "/", nil)
			for _, h := range c.xff {
				req.Header.Add("X-Forwarded-For", h)
			}
			resp, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			if string(got) != c.want {
				t.Errorf("client %q, want %q", got, c.want)
			}
		})
	}
}
