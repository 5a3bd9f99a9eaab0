package egress

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// fuzzRulesSeeds are rule lists (one entry a line) and destinations from TestRulesCheck, with the
// spellings the package documents: IP literals in every form, wildcards, case and trailing dots.
var fuzzRulesSeeds = []struct {
	allowed, denied, endpoints, host string
	port                             uint16
}{
	{"*.example.com\napi.anthropic.com\n Registry.NPMJS.org. ", "evil.example.com\n*.bad.example.com", "127.0.0.1:8080\nGateway.Internal:9000", "a.example.com", 443},
	{"*.example.com", "", "", "example.com", 443},
	{"*.example.com", "evil.example.com", "", "EVIL.example.com.", 443},
	{"93.184.216.34\n[2606:4700::1111]", "", "", "1572395042", 443},
	{"93.184.216.34", "", "", "[::ffff:93.184.216.34]", 80},
	{"10.0.0.1", "", "", "10.1", 80},
	{"", "", "127.0.0.1:8080\n[::1]:7000", "0x7f000001", 8080},
	{"", "", "[::1]:7000", "::1", 7000},
	{"*.example.com", "*.bad.example.com", "blocked.internal:443", "blocked.internal", 443},
	{"gateway.internal", "*.internal", "gateway.internal:9000", "gateway.internal", 9000},
	{"*\n*.\nexa*mple.net\n*.10.0.0.1", "a b", "nohost\nx:0\n:443", "exa.mple.net", 443},
	{"example.com", "", "", "example.com..", 443},
	{"0177.0.0.1", "", "", "127.0.0.1", 22},
	{"*.1e100.net", "", "", "www.1e100.net", 0},
	{"[fe80::1%eth0]", "", "", "[fe80::1%eth0]", 443},
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// FuzzRules checks Rules.Check against the rules written on Rules and in the package
// documentation, for arbitrary rule lists (one entry a line) and destinations:
//
//   - a verdict is well formed: allowed exactly when it has no reason, an endpoint only when
//     allowed, a one-line reason, the canonical host (empty only for an invalid one);
//   - the decision is the documented one (see ruleOracle): a denied domain first, then an
//     endpoint on exactly its port, then an allowed domain, else deny; port 0 is never allowed;
//     a wildcard matches subdomains at any depth, never its apex nor an IP literal; an IP entry
//     matches that address in any spelling, and an IP literal matches nothing else;
//   - names are matched without regard to ASCII case or one trailing dot, in the destination and
//     in every entry;
//   - a denied domain wins over anything allowed: adding the destination, in another spelling, to
//     the denied domains always refuses it, and so does a wildcard of its parent;
//   - entries that Validate rejects match nothing: dropping them changes no verdict.
func FuzzRules(f *testing.F) {
	for _, s := range fuzzRulesSeeds {
		f.Add(s.allowed, s.denied, s.endpoints, s.host, s.port)
	}
	f.Fuzz(func(t *testing.T, allowed, denied, endpoints, host string, port uint16) {
		r := Rules{AllowedDomains: lines(allowed), DeniedDomains: lines(denied), Endpoints: lines(endpoints)}
		v := r.Check(host, port)
		checkVerdict(t, r, host, port, v)

		if want := ruleOracle(r, host, port); v.Allow != want.Allow || v.Endpoint != want.Endpoint {
			t.Fatalf("%+v.Check(%q, %d) = %+v; the documented rules say allow %v, endpoint %v",
				r, host, port, v, want.Allow, want.Endpoint)
		}

		// The same destination and rules in other spellings decide alike.
		same := func(what string, r2 Rules, host2 string) {
			t.Helper()
			v2 := r2.Check(host2, port)
			if v2.Allow != v.Allow || v2.Endpoint != v.Endpoint || v2.Host != v.Host || v2.IP != v.IP {
				t.Fatalf("%s: %+v.Check(%q, %d) = %+v, but %+v.Check(%q, %d) = %+v",
					what, r, host, port, v, r2, host2, port, v2)
			}
		}
		same("upper case", r, asciiUpper(host))
		if host != "" && !strings.HasSuffix(host, ".") && !strings.ContainsAny(host, ":[]") {
			same("trailing dot", r, host+".")
		}
		same("rules in upper case", Rules{
			AllowedDomains: mapEntries(r.AllowedDomains, asciiUpper),
			DeniedDomains:  mapEntries(r.DeniedDomains, asciiUpper),
			Endpoints:      mapEntries(r.Endpoints, asciiUpper),
		}, host)
		same("rules with trailing dots", Rules{
			AllowedDomains: mapEntries(r.AllowedDomains, withTrailingDot),
			DeniedDomains:  mapEntries(r.DeniedDomains, withTrailingDot),
			Endpoints:      r.Endpoints,
		}, host)
		same("invalid entries dropped", Rules{
			AllowedDomains: validOnly(r.AllowedDomains, func(e string) Rules { return Rules{AllowedDomains: []string{e}} }),
			DeniedDomains:  validOnly(r.DeniedDomains, func(e string) Rules { return Rules{DeniedDomains: []string{e}} }),
			Endpoints:      validOnly(r.Endpoints, func(e string) Rules { return Rules{Endpoints: []string{e}} }),
		}, host)

		if v.Host == "" {
			return
		}
		// Denied wins over everything, in any spelling.
		denyIt := r
		denyIt.DeniedDomains = append(append([]string(nil), r.DeniedDomains...), " "+asciiUpper(host)+" ")
		if d := denyIt.Check(host, port); d.Allow {
			t.Fatalf("%+v.Check(%q, %d) = %+v: allowed although denied", denyIt, host, port, d)
		}
		if parent, ok := parentName(v); ok {
			denyIt.DeniedDomains = append(denyIt.DeniedDomains[:len(r.DeniedDomains)], "*."+parent)
			if d := denyIt.Check(host, port); d.Allow {
				t.Fatalf("%+v.Check(%q, %d) = %+v: allowed although its parent's wildcard is denied", denyIt, host, port, d)
			}
		}
		// A wildcard never matches its apex nor an IP literal.
		if w := (Rules{AllowedDomains: []string{"*." + v.Host}}).Check(host, port); w.Allow {
			t.Fatalf("*.%s allows %q: a wildcard matched its apex or an IP literal", v.Host, host)
		}
	})
}

// checkVerdict checks that v is a well-formed verdict of r.Check(host, port).
func checkVerdict(t *testing.T, r Rules, host string, port uint16, v Verdict) {
	t.Helper()
	switch {
	case v.Allow == (v.Reason != ""):
		t.Fatalf("%+v.Check(%q, %d) = %+v: allowed with a reason, or denied without one", r, host, port, v)
	case v.Endpoint && !v.Allow:
		t.Fatalf("%+v.Check(%q, %d) = %+v: an endpoint that is denied", r, host, port, v)
	case strings.ContainsAny(v.Reason, "\r\n"):
		t.Fatalf("%+v.Check(%q, %d): reason %q is not one line", r, host, port, v.Reason)
	case port == 0 && v.Allow:
		t.Fatalf("%+v.Check(%q, 0) allowed port 0", r, host)
	}
	name, ip, err := canonicalHost(host)
	if err != nil {
		if v.Host != "" || v.Allow {
			t.Fatalf("%+v.Check(%q, %d) = %+v for an invalid host (%v)", r, host, port, v, err)
		}
		return
	}
	if v.Host != name || v.IP != ip {
		t.Fatalf("Check(%q) names the host %q, %v; canonicalHost says %q, %v", host, v.Host, v.IP, name, ip)
	}
	if again, ip2, err := canonicalHost(v.Host); err != nil || again != v.Host || ip2 != v.IP {
		t.Fatalf("Check(%q) host %q is not canonical: it canonicalizes to %q, %v", host, v.Host, again, err)
	}
}

// ruleOracle decides as the documentation of Rules says, with canonicalHost as its only helper:
// an entry is trimmed of white space; "*.suffix" matches a name with at least one more label
// before the labels of suffix; an IP entry matches the same address; a name entry the same name.
func ruleOracle(r Rules, host string, port uint16) Verdict {
	name, ip, err := canonicalHost(host)
	if err != nil || port == 0 {
		return Verdict{}
	}
	matches := func(e string) bool {
		e = strings.TrimSpace(e)
		if suffix, ok := strings.CutPrefix(e, "*."); ok {
			s, sip, err := canonicalHost(suffix)
			if err != nil || sip.IsValid() || ip.IsValid() {
				return false
			}
			labels, want := strings.Split(name, "."), strings.Split(s, ".")
			if len(labels) <= len(want) {
				return false
			}
			return strings.Join(labels[len(labels)-len(want):], ".") == s
		}
		n, eip, err := canonicalHost(e)
		if err != nil {
			return false
		}
		if eip.IsValid() || ip.IsValid() {
			return eip == ip
		}
		return n == name
	}
	for _, e := range r.DeniedDomains {
		if matches(e) {
			return Verdict{}
		}
	}
	for _, e := range r.Endpoints {
		h, p, err := net.SplitHostPort(strings.TrimSpace(e))
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n != uint64(port) || strings.ContainsAny(p, "+-_") {
			continue
		}
		if n, eip, err := canonicalHost(h); err == nil && n == name && eip == ip {
			return Verdict{Allow: true, Endpoint: true}
		}
	}
	for _, e := range r.AllowedDomains {
		if matches(e) {
			return Verdict{Allow: true}
		}
	}
	return Verdict{}
}

// parentName returns the name v.Host is a subdomain of, when it is a name with a parent that is
// itself a name.
func parentName(v Verdict) (string, bool) {
	if v.IP.IsValid() {
		return "", false
	}
	_, parent, ok := strings.Cut(v.Host, ".")
	if !ok {
		return "", false
	}
	if _, ip, err := canonicalHost(parent); err != nil || ip.IsValid() {
		return "", false
	}
	return parent, true
}

// asciiUpper upper-cases ASCII letters only: the rules ignore ASCII case, and strings.ToUpper
// would also turn some non-ASCII letters (ı, ſ) into ASCII ones.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// withTrailingDot adds a trailing dot to an entry that is a name (or an IPv4 literal) without one.
func withTrailingDot(e string) string {
	t := strings.TrimSpace(e)
	if t == "" || strings.HasSuffix(t, ".") || strings.ContainsAny(t, ":[]") {
		return e
	}
	return t + "."
}

func mapEntries(entries []string, f func(string) string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = f(e)
	}
	return out
}

// validOnly returns the entries that Validate accepts, each checked alone in the rules one makes.
func validOnly(entries []string, one func(string) Rules) []string {
	var out []string
	for _, e := range entries {
		if one(e).Validate() == nil {
			out = append(out, e)
		}
	}
	return out
}

// FuzzEndpoint checks the parsing of "host:port" endpoints and of proxy request targets:
//
//   - Validate accepts an endpoint exactly when it can match: then it allows its own host (in any
//     spelling) on exactly its port, and, written back as canonical host:port, parses the same;
//   - a CONNECT target that splits gives a port from 1 to 65535, and target() names it on one
//     line, in a form that splits back to the same canonical host and port;
//   - a plain HTTP target without a port takes the default one.
func FuzzEndpoint(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "Gateway.Internal:9000", "[::1]:7000", "[::ffff:127.0.0.1]:80",
		"2130706433:443", "nohost", "x:0", "x:99999", ":443", "127.0.0.1:http", " host:+80", "[fe80::1%eth0]:1",
		"a.example.com.:443", "::1", "[::1]", "exa mple.com:80", "host:0080"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		host, port, ok := parseEndpoint(e)
		if valid := (Rules{Endpoints: []string{e}}).Validate() == nil; valid != ok {
			t.Fatalf("Validate says %v for endpoint %q, but it parses %v", valid, e, ok)
		}
		if ok {
			if port == 0 {
				t.Fatalf("endpoint %q parses to port 0", e)
			}
			canon := net.JoinHostPort(host, strconv.Itoa(int(port)))
			if h2, p2, ok := parseEndpoint(canon); !ok || h2 != host || p2 != port {
				t.Fatalf("endpoint %q parses to %s, which parses to %q, %d, %v", e, canon, h2, p2, ok)
			}
			r := Rules{Endpoints: []string{e}}
			raw, _, _ := net.SplitHostPort(strings.TrimSpace(e))
			for _, h := range []string{raw, asciiUpper(raw), host} {
				if v := r.Check(h, port); !v.Allow || !v.Endpoint {
					t.Fatalf("endpoint %q does not allow %q on port %d: %+v", e, h, port, v)
				}
			}
			if port < 65535 {
				if v := r.Check(host, port+1); v.Allow {
					t.Fatalf("endpoint %q allows port %d: %+v", e, port+1, v)
				}
			}
		}

		h, p, err := splitTarget(e, 0)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("splitTarget(%q) error %q is not one line", e, err)
			}
			return
		}
		if p == 0 {
			t.Fatalf("splitTarget(%q) = port 0", e)
		}
		dest := target(h, p)
		if strings.ContainsAny(dest, "\r\n") {
			t.Fatalf("target(%q, %d) = %q is not one line", h, p, dest)
		}
		if name, _, err := canonicalHost(h); err == nil {
			if h2, p2, err := splitTarget(dest, 0); err != nil || h2 != name || p2 != p {
				t.Fatalf("target(%q, %d) = %q splits to %q, %d, %v", h, p, dest, h2, p2, err)
			}
		}
		if !strings.Contains(h, ":") {
			if h80, p80, err := splitTarget(h, 80); err != nil || h80 != h || p80 != 80 {
				t.Fatalf("splitTarget(%q, 80) = %q, %d, %v; want the default port", h, h80, p80, err)
			}
		}
	})
}
