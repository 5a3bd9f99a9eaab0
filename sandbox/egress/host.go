package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// canonicalHost returns host in the one form the rules compare, following the WHATWG URL host
// parser (the inet_aton spellings browsers and curl accept):
//
//   - "[v6]" or a bare string with a colon is an IPv6 literal; an IPv4-mapped one becomes its
//     IPv4 address; zones are refused;
//   - a name whose last label is a number (digits, or 0x followed by hex digits) is an IPv4
//     literal of one to four parts, each decimal, octal (leading 0) or hex (0x), the last part
//     filling the remaining bytes: 127.1, 2130706433, 0x7f000001 and 0177.0.0.1 all become
//     127.0.0.1; one that does not parse as IPv4 is invalid, not a name;
//   - anything else is a domain name: ASCII letters, digits, '-' and '_' in non-empty labels of
//     at most 63 bytes, lower-cased, with one trailing dot removed.
//
// ip is valid exactly when host is an IP literal; name is then ip's canonical string. The error
// is a one-line description fit for a denial reason.
func canonicalHost(host string) (name string, ip netip.Addr, err error) {
	if host == "" {
		return "", netip.Addr{}, errors.New("the host name is empty")
	}
	invalid := fmt.Errorf("%.80q is not a valid host name", host)
	if len(host) > 260 {
		return "", netip.Addr{}, invalid
	}
	if host[0] == '[' {
		if !strings.HasSuffix(host, "]") {
			return "", netip.Addr{}, invalid
		}
		return parseIPv6(host[1:len(host)-1], invalid)
	}
	if strings.Contains(host, ":") {
		return parseIPv6(host, invalid)
	}
	name = strings.ToLower(strings.TrimSuffix(host, "."))
	if !validName(name) {
		return "", netip.Addr{}, invalid
	}
	if endsInNumber(name) {
		ip, ok := parseIPv4(name)
		if !ok {
			return "", netip.Addr{}, fmt.Errorf("%.80q is neither a host name nor a valid IP address", host)
		}
		return ip.String(), ip, nil
	}
	return name, netip.Addr{}, nil
}

func parseIPv6(s string, invalid error) (string, netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is6() || ip.Zone() != "" {
		return "", netip.Addr{}, invalid
	}
	ip = ip.Unmap()
	return ip.String(), ip, nil
}

// validName reports whether s (lower-cased, without its trailing dot) is a syntactically valid
// DNS name.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	return label > 0
}

// endsInNumber is the WHATWG "ends in a number" check: whether the host's last label makes the
// whole host an IPv4 literal rather than a name.
func endsInNumber(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, ok := parseIPv4Number(last)
	return ok
}

// parseIPv4 is the WHATWG IPv4 parser (without its trailing-dot step, done by the caller).
func parseIPv4(name string) (netip.Addr, bool) {
	parts := strings.Split(name, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(5-len(parts))) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Number parses one part of an IPv4 literal: "0x" then hex (possibly empty), "0" then
// octal, or decimal.
func parseIPv4Number(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
		p, base = p[2:], 16
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	if p == "" {
		return 0, true
	}
	if strings.ContainsAny(p, "+-_") {
		return 0, false
	}
	n, err := strconv.ParseUint(p, base, 64)
	return n, err == nil
}

// parsePort parses a decimal TCP port, 1 to 65535.
func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strings.ContainsAny(s, "+-_") {
		return 0, fmt.Errorf("%.20q is not a valid port", s)
	}
	return uint16(n), nil
}
