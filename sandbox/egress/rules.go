package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Rules say which destinations a task may reach. They mirror sandbox.Policy's fields of the same
// names. The zero value denies everything.
type Rules struct {
	// AllowedDomains may be reached on any port. An entry is a name ("example.com": exactly that
	// name), a wildcard ("*.example.com": every subdomain at any depth, never the apex) or an IP
	// address (that address only, in whatever spelling the client uses). Allowed names must
	// resolve to public addresses (see the package documentation); an IP entry must be public.
	AllowedDomains []string
	// DeniedDomains, same syntax, win over AllowedDomains and Endpoints.
	DeniedDomains []string
	// Endpoints are "host:port" pairs an operator configured: each is allowed on exactly that port,
	// even when it is or resolves to a loopback or private address.
	Endpoints []string
}

// Verdict is what [Rules.Check] decided about one host and port.
type Verdict struct {
	// Allow says whether the destination may be dialled.
	Allow bool
	// Endpoint says that an Endpoints entry allowed it: its addresses are not vetted.
	Endpoint bool
	// Host is the canonical host: a lower-case name without trailing dot, or an IP literal's
	// canonical address (IPv4-mapped IPv6 as IPv4). Empty when the host was not valid.
	Host string
	// IP is the address when Host is an IP literal.
	IP netip.Addr
	// Reason is one line saying why the destination was denied; empty when allowed.
	Reason string
}

// Check decides on host (a name or an IP literal, IPv6 with or without brackets) and port before
// any DNS lookup: a denied domain refuses it, then an exact endpoint allows it, then an allowed
// domain allows it; anything else, an invalid host or port 0 included, is refused. Entries that
// are not valid (see [Rules.Validate]) match nothing.
func (r Rules) Check(host string, port uint16) Verdict {
	name, ip, err := canonicalHost(host)
	if err != nil {
		return Verdict{Reason: err.Error()}
	}
	v := Verdict{Host: name, IP: ip}
	shown := name
	if ip.IsValid() && !strings.EqualFold(strings.Trim(host, "[]"), name) {
		shown = fmt.Sprintf("%s (that is %s)", host, name)
	}
	switch {
	case port == 0:
		v.Reason = fmt.Sprintf("port 0 of %s is not a valid destination", shown)
	case matchAny(r.DeniedDomains, name, ip):
		v.Reason = fmt.Sprintf("%s is denied by the administrator", shown)
	case r.endpoint(name, port):
		v.Allow, v.Endpoint = true, true
	case matchAny(r.AllowedDomains, name, ip):
		v.Allow = true
	case r.endpointHost(name):
		v.Reason = fmt.Sprintf("%s is not one of this task's endpoints and %s is not in its allowed domains",
			net.JoinHostPort(name, fmt.Sprint(port)), shown)
	case ip.IsValid():
		v.Reason = fmt.Sprintf("%s is an IP address not in this task's allowed domains", shown)
	default:
		v.Reason = fmt.Sprintf("%s is not in this task's allowed domains", shown)
	}
	return v
}

// Validate reports the entries that can match nothing: malformed names, wildcards other than a
// leading "*.", endpoints without a valid port.
func (r Rules) Validate() error {
	var errs []error
	for _, list := range []struct {
		what    string
		entries []string
	}{{"allowed domain", r.AllowedDomains}, {"denied domain", r.DeniedDomains}} {
		for _, e := range list.entries {
			if _, _, ok := parseEntry(e); !ok {
				errs = append(errs, fmt.Errorf("%s %q: not a host name, *.name or IP address", list.what, e))
			}
		}
	}
	for _, e := range r.Endpoints {
		if _, _, ok := parseEndpoint(e); !ok {
			errs = append(errs, fmt.Errorf("endpoint %q: not host:port", e))
		}
	}
	return errors.Join(errs...)
}

func (r Rules) endpoint(name string, port uint16) bool {
	for _, e := range r.Endpoints {
		if h, p, ok := parseEndpoint(e); ok && h == name && p == port {
			return true
		}
	}
	return false
}

func (r Rules) endpointHost(name string) bool {
	for _, e := range r.Endpoints {
		if h, _, ok := parseEndpoint(e); ok && h == name {
			return true
		}
	}
	return false
}

// matchAny reports whether a domain entry matches the canonical host name (ip valid when it is an
// IP literal). Wildcards never match IP literals.
func matchAny(entries []string, name string, ip netip.Addr) bool {
	for _, e := range entries {
		pattern, wildcard, ok := parseEntry(e)
		switch {
		case !ok:
		case !wildcard && pattern == name:
			return true
		case wildcard && !ip.IsValid() && strings.HasSuffix(name, pattern):
			return true
		}
	}
	return false
}

// parseEntry returns a domain entry's canonical form: the host for an exact entry, ".suffix" for
// a wildcard "*.suffix".
func parseEntry(e string) (pattern string, wildcard, ok bool) {
	e = strings.TrimSpace(e)
	if rest, found := strings.CutPrefix(e, "*."); found {
		name, ip, err := canonicalHost(rest)
		if err != nil || ip.IsValid() {
			return "", false, false
		}
		return "." + name, true, true
	}
	name, _, err := canonicalHost(e)
	return name, false, err == nil
}

// parseEndpoint returns an endpoint's canonical host and its port.
func parseEndpoint(e string) (string, uint16, bool) {
	h, p, err := net.SplitHostPort(strings.TrimSpace(e))
	if err != nil {
		return "", 0, false
	}
	port, err := parsePort(p)
	if err != nil {
		return "", 0, false
	}
	name, _, err := canonicalHost(h)
	return name, port, err == nil
}
