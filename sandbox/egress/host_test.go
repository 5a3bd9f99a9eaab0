package egress

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCanonicalHost(t *testing.T) {
	tests := []struct {
		name, host string
		want       string // "" when invalid
		isIP       bool
	}{
		{"name", "example.com", "example.com", false},
		{"upper case", "API.Example.COM", "api.example.com", false},
		{"one trailing dot", "example.com.", "example.com", false},
		{"two trailing dots", "example.com..", "", false},
		{"underscore and hyphen", "_acme-challenge.my-host.example", "_acme-challenge.my-host.example", false},
		{"single label", "localhost", "localhost", false},
		{"last label not a number", "1e100.net", "1e100.net", false},
		{"hex-looking but not hex", "example.0xg", "example.0xg", false},
		{"dotted quad", "127.0.0.1", "127.0.0.1", true},
		{"dotted quad trailing dot", "127.0.0.1.", "127.0.0.1", true},
		{"short form", "127.1", "127.0.0.1", true},
		{"three parts", "10.1.258", "10.1.1.2", true},
		{"decimal", "2130706433", "127.0.0.1", true},
		{"hex", "0x7f000001", "127.0.0.1", true},
		{"hex upper case", "0X7F000001", "127.0.0.1", true},
		{"hex parts", "0x7f.0x0.0x0.0x1", "127.0.0.1", true},
		{"octal", "0177.0.0.1", "127.0.0.1", true},
		{"octal whole", "017700000001", "127.0.0.1", true},
		{"mixed", "0x7f.1", "127.0.0.1", true},
		{"empty hex is zero", "0x.0x.0x.0x", "0.0.0.0", true},
		{"zero", "0", "0.0.0.0", true},
		{"metadata decimal", "2852039166", "169.254.169.254", true},
		{"bracketed v6 loopback", "[::1]", "::1", true},
		{"bare v6 loopback", "::1", "::1", true},
		{"v6 long form", "[0:0:0:0:0:0:0:1]", "::1", true},
		{"v6 upper case", "[FE80::1]", "fe80::1", true},
		{"v4-mapped dotted", "[::ffff:127.0.0.1]", "127.0.0.1", true},
		{"v4-mapped hex", "[::ffff:7f00:1]", "127.0.0.1", true},
		{"v4-compatible stays v6", "[::127.0.0.1]", "::7f00:1", true},
		{"empty", "", "", false},
		{"only a dot", ".", "", false},
		{"empty label", "a..example.com", "", false},
		{"leading dot", ".example.com", "", false},
		{"space", "exa mple.com", "", false},
		{"NUL", "example.com\x00.evil.org", "", false},
		{"percent", "ex%41mple.com", "", false},
		{"non-ASCII", "bücher.example", "", false},
		{"star", "*.example.com", "", false},
		{"five parts", "1.2.3.4.5", "", false},
		{"part too big", "256.0.0.1", "", false},
		{"last part too big", "1.2.65536", "", false},
		{"too big", "4294967296", "", false},
		{"bad octal", "09.0.0.1", "", false},
		{"numeric TLD", "example.123", "", false},
		{"sign", "+1.2.3.4", "", false},
		{"v4 in brackets", "[127.0.0.1]", "", false},
		{"unclosed bracket", "[::1", "", false},
		{"zone", "[fe80::1%eth0]", "", false},
		{"bare zone", "fe80::1%25eth0", "", false},
		{"label too long", strings.Repeat("a", 64) + ".com", "", false},
		{"name too long", strings.Repeat("a.", 127) + "com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ip, err := canonicalHost(tt.host)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("canonicalHost(%q) = %q, want an error", tt.host, got)
				}
				if strings.ContainsAny(err.Error(), "\r\n") {
					t.Errorf("error %q is not one line", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("canonicalHost(%q): %v", tt.host, err)
			}
			if got != tt.want || ip.IsValid() != tt.isIP {
				t.Errorf("canonicalHost(%q) = %q, IP %v; want %q, IP %v", tt.host, got, ip.IsValid(), tt.want, tt.isIP)
			}
		})
	}
}

// FuzzCanonicalHost checks that a canonical host is a fixed point and that an IP literal's
// canonical form is the standard spelling of its address.
func FuzzCanonicalHost(f *testing.F) {
	for _, s := range []string{"example.com", "127.1", "0x7f.1", "[::ffff:127.0.0.1]", "2130706433", "a..b", "Ex.COM."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		name, ip, err := canonicalHost(host)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error %q is not one line", err)
			}
			return
		}
		again, ip2, err := canonicalHost(name)
		if err != nil || again != name || ip2 != ip {
			t.Errorf("canonicalHost(%q) = %q, but canonicalHost(%q) = %q, %v", host, name, name, again, err)
		}
		if ip.IsValid() {
			if want, err := netip.ParseAddr(name); err != nil || want != ip || ip.Is4In6() {
				t.Errorf("canonicalHost(%q) = %q, %v: not the standard spelling", host, name, ip)
			}
		}
	})
}
