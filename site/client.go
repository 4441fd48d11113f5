package site

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Client addresses. Rate limits and sign-in throttling count by the
// client's address. Behind a reverse proxy every connection comes from the
// proxy, so the address that counts is the one the proxy forwards in
// X-Forwarded-For, but only when the connection comes from a proxy the
// operator trusts (Config.TrustedProxies, --trusted-proxy): anyone else
// could write any address into that header.
//
// X-Forwarded-For is read from the right: each proxy appends the address it
// received the request from, so the rightmost address that is not itself a
// trusted proxy is the client as far as the trusted chain can vouch. The
// leftmost entry is whatever the client wrote and is never believed.

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// ranges ("127.0.0.1, 10.0.0.0/8, ::1").
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR range (such as 127.0.0.1 or 10.0.0.0/8)", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (s *Site) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddress is the address of the client a request comes from (see
// the comment at the top of this file).
func (s *Site) clientAddress(c *fiber.Ctx) string {
	remote, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.Context().RemoteIP().String()
	}
	remote = remote.Unmap()
	if !s.trusted(remote) {
		return remote.String()
	}
	client := remote
	hops := c.Context().Request.Header.PeekAll(fiber.HeaderXForwardedFor)
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(string(hops[i]), ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client.String() // a malformed entry ends what can be vouched for
			}
			client = a.Unmap()
			if !s.trusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}
