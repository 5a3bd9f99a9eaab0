package egress

import "net/netip"

// refusedRanges are the addresses an allowed domain name may never lead to; the first match names
// the refusal, so a more specific prefix comes before the one holding it. Only an operator's
// endpoint reaches them.
var refusedRanges = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("169.254.169.254/32"), "the cloud metadata address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "the cloud metadata address"},
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a reserved address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::/96"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a private address"},
	{netip.MustParsePrefix("100::/64"), "a reserved address"},
	{netip.MustParsePrefix("fc00::/7"), "a private address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// Prefixes whose addresses carry an IPv4 address that a gateway would connect to.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96") // the IPv4 address in the last 32 bits
	sixTo4 = netip.MustParsePrefix("2002::/16")    // the IPv4 address in bits 16-47
)

// addrRefusal returns what a is ("a loopback address") when an allowed domain name must not lead
// to it, or "" when it may. IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4 address
// they carry; an address with a zone is refused.
func addrRefusal(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return "not an address"
	}
	if a.Zone() != "" {
		return "a scoped address"
	}
	if a.Is6() {
		b := a.As16()
		var v4 netip.Addr
		switch {
		case nat64.Contains(a):
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		case sixTo4.Contains(a):
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if v4.IsValid() {
			if why := addrRefusal(v4); why != "" {
				return "a translation of " + v4.String() + ", " + why
			}
		}
	}
	for _, r := range refusedRanges {
		if r.prefix.Contains(a) {
			return r.what
		}
	}
	return ""
}
