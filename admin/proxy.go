package admin

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// proxies are the reverse proxies in front of Sesame (TRUSTED_PROXIES): only a request that comes
// straight from one of them has its X-Forwarded-For believed.
type proxies []netip.Prefix

// parseProxies reads TRUSTED_PROXIES: each item an IP address (one proxy) or a CIDR (a range).
func parseProxies(items []string) (proxies, error) {
	var p proxies
	for _, item := range items {
		if strings.Contains(item, "/") {
			prefix, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8: %w", item, err)
			}
			if prefix.Addr().Is4In6() && prefix.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
				prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
			}
			p = append(p, prefix.Masked())
			continue
		}
		addr, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not an IP address such as 10.0.0.1: %w", item, err)
		}
		addr = addr.Unmap().WithZone("")
		p = append(p, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return p, nil
}

func (p proxies) trust(a netip.Addr) bool {
	for _, prefix := range p {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address a request came from: the peer's, unless the peer is a trusted proxy.
// Then it is the right-most X-Forwarded-For address that is not itself a trusted proxy: each proxy
// appends the address it saw, so everything to the left of that one was written by the client and
// proves nothing. The zero Addr means the peer has no IP address (a Unix socket).
func (p proxies) clientAddr(r *http.Request) netip.Addr {
	peer := parseHop(r.RemoteAddr)
	if !peer.IsValid() || !p.trust(peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := parseHop(hops[i])
		if !hop.IsValid() {
			break // not written by a proxy we trust: the last trusted hop is as far as we can see
		}
		client = hop
		if !p.trust(hop) {
			break
		}
	}
	return client
}

// parseHop reads an address as proxies write it: an IP, with or without a port ("1.2.3.4:5",
// "[::1]:5"). IPv4 written as IPv6 counts as IPv4.
func parseHop(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// source is how the sign-in limits name a client: its IPv4 address, or the /64 an IPv6 address is
// in (one subscriber's network, whose addresses cost nothing to change).
func source(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is6():
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
