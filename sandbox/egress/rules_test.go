package egress

import (
	"strings"
	"testing"
)

func TestRulesCheck(t *testing.T) {
	rules := Rules{
		AllowedDomains: []string{
			"*.example.com", "api.anthropic.com", " Registry.NPMJS.org. ", "93.184.216.34", "[2606:4700::1111]",
			"*.bad.example.com", "blocked.internal", "*.", "*", "exa*mple.net",
		},
		DeniedDomains: []string{"evil.example.com", "*.bad.example.com", "blocked.internal", "EVIL.com"},
		Endpoints:     []string{"127.0.0.1:8080", "Gateway.Internal:9000", "[::1]:7000", "blocked.internal:443", "nohost", "x:0"},
	}
	tests := []struct {
		name     string
		rules    *Rules // nil: rules above
		host     string
		port     uint16
		allow    bool
		endpoint bool
		reason   string // a substring of the reason when denied
	}{
		{name: "subdomain", host: "a.example.com", port: 443, allow: true},
		{name: "deep subdomain", host: "b.a.example.com", port: 443, allow: true},
		{name: "any port for a domain", host: "a.example.com", port: 22, allow: true},
		{name: "apex of a wildcard", host: "example.com", port: 443, reason: "example.com is not in this task's allowed domains"},
		{name: "lookalike suffix", host: "notexample.com", port: 443, reason: "not in this task's allowed domains"},
		{name: "allowed name as a prefix", host: "a.example.com.evil.org", port: 443, reason: "a.example.com.evil.org is not"},
		{name: "exact", host: "api.anthropic.com", port: 443, allow: true},
		{name: "exact has no subdomains", host: "x.api.anthropic.com", port: 443, reason: "not in this task's allowed domains"},
		{name: "case", host: "API.Anthropic.COM", port: 443, allow: true},
		{name: "trailing dot", host: "api.anthropic.com.", port: 443, allow: true},
		{name: "entry with case, dot and spaces", host: "registry.npmjs.org", port: 443, allow: true},
		{name: "two trailing dots", host: "api.anthropic.com..", port: 443, reason: "not a valid host name"},
		{name: "denied over allowed", host: "evil.example.com", port: 443, reason: "evil.example.com is denied by the administrator"},
		{name: "denied wildcard", host: "x.bad.example.com", port: 443, reason: "denied by the administrator"},
		{name: "denied wildcard spares its apex", host: "bad.example.com", port: 443, allow: true},
		{name: "denied, case-insensitive", host: "Evil.Com.", port: 443, reason: "evil.com is denied by the administrator"},
		{name: "denied over endpoint", host: "blocked.internal", port: 443, reason: "blocked.internal is denied"},
		{name: "endpoint", host: "gateway.internal", port: 9000, allow: true, endpoint: true},
		{name: "endpoint, case-insensitive", host: "GATEWAY.internal.", port: 9000, allow: true, endpoint: true},
		{name: "endpoint, other port", host: "gateway.internal", port: 9001,
			reason: "gateway.internal:9001 is not one of this task's endpoints and gateway.internal is not in its allowed domains"},
		{name: "loopback endpoint", host: "127.0.0.1", port: 8080, allow: true, endpoint: true},
		{name: "loopback endpoint, other port", host: "127.0.0.1", port: 8081, reason: "127.0.0.1:8081 is not one of this task's endpoints"},
		{name: "loopback endpoint in short form", host: "127.1", port: 8080, allow: true, endpoint: true},
		{name: "v6 endpoint", host: "[0:0::1]", port: 7000, allow: true, endpoint: true},
		{name: "v6 endpoint bare", host: "::1", port: 7000, allow: true, endpoint: true},
		{name: "v6 loopback, other port", host: "[::1]", port: 80, reason: "[::1]:80 is not one of"},
		{name: "127.1", host: "127.1", port: 80, reason: "127.1 (that is 127.0.0.1) is not in its allowed domains"},
		{name: "decimal", host: "2130706433", port: 80, reason: "2130706433 (that is 127.0.0.1)"},
		{name: "hex", host: "0x7f000001", port: 80, reason: "0x7f000001 (that is 127.0.0.1)"},
		{name: "octal", host: "0177.0.0.1", port: 80, reason: "0177.0.0.1 (that is 127.0.0.1)"},
		{name: "v4-mapped", host: "[::ffff:127.0.0.1]", port: 80, reason: "[::ffff:127.0.0.1] (that is 127.0.0.1)"},
		{name: "v4-mapped hex", host: "::ffff:7f00:1", port: 80, reason: "(that is 127.0.0.1)"},
		{name: "metadata decimal", host: "2852039166", port: 80, reason: "(that is 169.254.169.254) is an IP address"},
		{name: "allowed IP", host: "93.184.216.34", port: 443, allow: true},
		{name: "allowed IP as decimal", host: "1572395042", port: 443, allow: true},
		{name: "allowed IP v4-mapped", host: "[::ffff:93.184.216.34]", port: 443, allow: true},
		{name: "allowed v6 IP", host: "2606:4700:0::1111", port: 443, allow: true},
		{name: "wildcard never matches an IP", host: "1.2.3.4", port: 443, reason: "1.2.3.4 is an IP address not in"},
		{name: "empty host", host: "", port: 443, reason: "the host name is empty"},
		{name: "invalid host", host: "a b.example.com", port: 443, reason: `"a b.example.com" is not a valid host name`},
		{name: "invalid IP", host: "1.2.3.256", port: 443, reason: "neither a host name nor a valid IP address"},
		{name: "zone", host: "[fe80::1%eth0]", port: 443, reason: "not a valid host name"},
		{name: "port 0", host: "a.example.com", port: 0, reason: "port 0 of a.example.com"},
		{name: "bare star matches nothing", host: "star.test", port: 443, reason: "not in this task's allowed domains"},
		{name: "inner star matches nothing", host: "exa.mple.net", port: 443, reason: "not in this task's allowed domains"},
		{name: "zero rules", rules: &Rules{}, host: "example.com", port: 443, reason: "example.com is not in this task's allowed domains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules
			if tt.rules != nil {
				r = *tt.rules
			}
			v := r.Check(tt.host, tt.port)
			if v.Allow != tt.allow || v.Endpoint != tt.endpoint {
				t.Fatalf("Check(%q, %d) = %+v; want allow %v, endpoint %v", tt.host, tt.port, v, tt.allow, tt.endpoint)
			}
			if tt.allow {
				if v.Reason != "" {
					t.Errorf("allowed with reason %q", v.Reason)
				}
				return
			}
			if !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", v.Reason, tt.reason)
			}
			if strings.ContainsAny(v.Reason, "\r\n") {
				t.Errorf("reason %q is not one line", v.Reason)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	good := Rules{
		AllowedDomains: []string{"example.com", "*.example.com", "10.0.0.1", "[::1]", "Example.COM."},
		DeniedDomains:  []string{"evil.com"},
		Endpoints:      []string{"127.0.0.1:8080", "[::1]:443", "gateway.internal:9000"},
	}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	bad := Rules{
		AllowedDomains: []string{"*", "*.", "exa*mple.com", "*.10.0.0.1", ""},
		DeniedDomains:  []string{"a b"},
		Endpoints:      []string{"nohost", "x:0", "x:99999", ":443", "127.0.0.1:http"},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad rules")
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 11 {
		t.Errorf("Validate reported %d problems, want 11:\n%v", n, err)
	}
}
