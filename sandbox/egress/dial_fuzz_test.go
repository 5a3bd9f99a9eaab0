package egress

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// fuzzOwnAddr stands for an address of this host in FuzzDial: public, yet refused like loopback.
var fuzzOwnAddr = netip.MustParseAddr("198.51.100.7")

// fuzzAddrs reads a resolver's answer from b: 16 bytes make an IPv6 address (IPv4-mapped, NAT64
// and 6to4 ones included), 4 bytes left over an IPv4 one.
func fuzzAddrs(b []byte) []netip.Addr {
	var out []netip.Addr
	for len(b) >= 4 {
		if len(b) >= 16 {
			out = append(out, netip.AddrFrom16([16]byte(b[:16])))
			b = b[16:]
			continue
		}
		out = append(out, netip.AddrFrom4([4]byte(b[:4])))
		b = b[4:]
	}
	return out
}

// answerResolver answers every name with the same addresses.
type answerResolver []netip.Addr

func (a answerResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return a, nil
}

// FuzzDial runs the proxy's whole dial decision (rules, resolution, address vetting) for arbitrary
// rules, destinations and resolver answers, without a network: the dial's context is cancelled,
// so it stops before its first connect. It checks what the package documentation promises:
//
//   - a destination the rules deny is refused before any lookup;
//   - an endpoint is dialled whatever its addresses are;
//   - otherwise only an address that is not loopback, link-local, private, CGNAT, multicast,
//     unspecified, reserved or the host's own is ever dialled (checked on what vet keeps), and a
//     destination left with none is refused: so an IP literal in those ranges, however spelled and
//     even when it is an allowed domain, is refused unless an endpoint allows it;
//   - a refusal is one line.
func FuzzDial(f *testing.F) {
	for _, s := range fuzzRulesSeeds {
		f.Add(s.allowed, s.denied, s.endpoints, s.host, s.port, []byte{93, 184, 216, 34})
	}
	f.Add("*.example.com", "", "", "a.example.com", uint16(443), []byte{127, 0, 0, 1, 8, 8, 8, 8})
	f.Add("*.example.com", "", "", "a.example.com", uint16(443), fuzzOwnAddr.AsSlice())
	f.Add("example.com", "", "", "example.com", uint16(80),
		netip.MustParseAddr("::ffff:10.0.0.1").AsSlice())
	f.Add("example.com", "", "", "example.com", uint16(80), netip.MustParseAddr("64:ff9b::a9fe:a9fe").AsSlice())
	f.Add("example.com", "", "", "example.com", uint16(80), netip.MustParseAddr("2002:7f00:1::1").AsSlice())
	f.Add("10.0.0.1\n169.254.169.254\n[::1]", "", "", "2852039166", uint16(80), []byte(nil))
	f.Add("", "", "gateway.internal:9000", "gateway.internal", uint16(9000), []byte{10, 0, 0, 9})

	log := slog.New(slog.DiscardHandler)
	own := func() ([]netip.Addr, error) { return []netip.Addr{fuzzOwnAddr}, nil }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f.Fuzz(func(t *testing.T, allowed, denied, endpoints, host string, port uint16, answer []byte) {
		r := Rules{AllowedDomains: lines(allowed), DeniedDomains: lines(denied), Endpoints: lines(endpoints)}
		addrs := fuzzAddrs(answer)
		d := &dialer{rules: r, resolver: answerResolver(addrs), hostAddrs: own, log: log}
		v := r.Check(host, port)
		conn, err := d.dial(cancelled, host, port)
		if conn != nil {
			conn.Close()
			t.Fatalf("dial(%q, %d) connected on a cancelled context", host, port)
		}
		var refusal *deniedError
		refused := errors.As(err, &refusal)
		if refused && strings.ContainsAny(refusal.reason, "\r\n") {
			t.Fatalf("dial(%q, %d) refusal %q is not one line", host, port, refusal.reason)
		}
		if !v.Allow {
			if !refused || refusal.reason != v.Reason {
				t.Fatalf("%+v: dial(%q, %d) = %v, want the rules' refusal %q", r, host, port, err, v.Reason)
			}
			return
		}

		// What dial vets: the literal's address, or each answer once, unmapped.
		if v.IP.IsValid() {
			addrs = []netip.Addr{v.IP}
		} else {
			var unique []netip.Addr
			for _, a := range addrs {
				if a = a.Unmap(); !slices.Contains(unique, a) {
					unique = append(unique, a)
				}
			}
			addrs = unique
		}
		if v.Endpoint {
			if refused {
				t.Fatalf("%+v: endpoint %q:%d on %v refused: %v", r, host, port, addrs, err)
			}
			return
		}
		kept, vetErr := d.vet(v, addrs)
		for _, a := range kept {
			if why := addrRefusal(a); why != "" || a == fuzzOwnAddr {
				t.Fatalf("%+v: %q:%d would dial %s (%s)", r, host, port, a, why)
			}
		}
		if len(addrs) > 0 && (len(kept) == 0) != refused {
			t.Fatalf("%+v: dial(%q, %d) on %v kept %v (%v), yet dial says %v", r, host, port, addrs, kept, vetErr, err)
		}
		if v.IP.IsValid() && (addrRefusal(v.IP) != "" || v.IP == fuzzOwnAddr) && !refused {
			t.Fatalf("%+v: the IP literal %q (%s) was not refused: %v", r, host, v.IP, err)
		}
	})
}

// FuzzAddrRefusal checks addrRefusal against the standard library's classification of addresses
// and the translations the package documents: every address that is not global unicast, or is
// private, is refused; an IPv4-mapped address is judged as its IPv4 address, and a NAT64 or 6to4
// one is refused when the IPv4 address it carries is.
func FuzzAddrRefusal(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "::1", "fe80::1",
		"fd00:ec2::254", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "2606:4700::1111", "ff02::1"} {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:])
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) < 16 {
			raw = append(make([]byte, 16-len(raw)), raw...)
		}
		b := [16]byte(raw)
		a := netip.AddrFrom16(b)
		why := addrRefusal(a)
		u := a.Unmap()
		if got := addrRefusal(u); got != why {
			t.Fatalf("addrRefusal(%s) = %q, but for its unmapped %s %q", a, why, u, got)
		}
		if (!u.IsGlobalUnicast() || u.IsPrivate()) && why == "" {
			t.Fatalf("addrRefusal(%s) allows an address that is not public", a)
		}
		if v4 := netip.AddrFrom4([4]byte(b[12:16])); nat64.Contains(u) && addrRefusal(v4) != "" && why == "" {
			t.Fatalf("addrRefusal(%s) allows a NAT64 translation of refused %s", a, v4)
		}
		if v4 := netip.AddrFrom4([4]byte(b[2:6])); sixTo4.Contains(u) && addrRefusal(v4) != "" && why == "" {
			t.Fatalf("addrRefusal(%s) allows a 6to4 translation of refused %s", a, v4)
		}
		if zoned := u.WithZone("eth0"); u.Is6() && addrRefusal(zoned) == "" {
			t.Fatalf("addrRefusal(%s) allows a scoped address", zoned)
		}
	})
}
