package admin

import (
	"net/http/httptest"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted, err := parseProxies([]string{"10.0.0.1", "192.168.0.0/16", "fd00::/8", "::ffff:172.16.0.0/108"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		proxies proxies
		peer    string
		xff     []string // X-Forwarded-For header lines
		want    string
	}{
		{name: "no proxies: the peer", peer: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "no proxies: X-Forwarded-For ignored", peer: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "untrusted peer: X-Forwarded-For ignored", proxies: trusted, peer: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "untrusted peer spoofing a proxy", proxies: trusted, peer: "203.0.113.7:5555", xff: []string{"198.51.100.1, 10.0.0.1"}, want: "203.0.113.7"},
		{name: "trusted peer: the client it saw", proxies: trusted, peer: "10.0.0.1:443", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "trusted peer: what the client wrote is ignored", proxies: trusted, peer: "10.0.0.1:443", xff: []string{"1.2.3.4, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "a chain of trusted proxies", proxies: trusted, peer: "10.0.0.1:443", xff: []string{"1.2.3.4, 198.51.100.1, 192.168.4.4"}, want: "198.51.100.1"},
		{name: "several header lines read as one list", proxies: trusted, peer: "10.0.0.1:443", xff: []string{"1.2.3.4", "198.51.100.1", "192.168.4.4"}, want: "198.51.100.1"},
		{name: "trusted peer without the header", proxies: trusted, peer: "10.0.0.1:443", want: "10.0.0.1"},
		{name: "garbage left of the proxies stops the walk", proxies: trusted, peer: "10.0.0.1:443", xff: []string{"1.2.3.4, not-an-ip, 192.168.4.4"}, want: "192.168.4.4"},
		{name: "every hop a proxy: the left-most", proxies: trusted, peer: "10.0.0.1:443", xff: []string{"192.168.1.1, 192.168.2.2"}, want: "192.168.1.1"},
		{name: "hops with ports", proxies: trusted, peer: "10.0.0.1:443", xff: []string{"[2001:db8::1]:4711, 198.51.100.1:80"}, want: "198.51.100.1"},
		{name: "IPv6 proxy", proxies: trusted, peer: "[fd00::5]:443", xff: []string{"2001:db8::1"}, want: "2001:db8::1"},
		{name: "IPv4-mapped peer", proxies: trusted, peer: "[::ffff:172.16.0.9]:443", xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/login", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.proxies.clientAddr(r).String(); got != tt.want {
				t.Errorf("clientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseProxiesRefusesNonsense(t *testing.T) {
	for _, bad := range []string{"proxy.example.com", "10.0.0.0/33", "10.0.0.1:80", "*"} {
		if _, err := parseProxies([]string{bad}); err == nil {
			t.Errorf("parseProxies(%q) accepted it", bad)
		}
	}
}

func TestSourceGroupsIPv6Networks(t *testing.T) {
	a := parseHop("2001:db8:1:2:aaaa::1")
	b := parseHop("2001:db8:1:2:bbbb::2")
	c := parseHop("2001:db8:1:3::1")
	if source(a) != source(b) || source(a) == source(c) {
		t.Errorf("sources %s, %s, %s: one /64 must count as one source", source(a), source(b), source(c))
	}
	if got := source(parseHop("198.51.100.1")); got != "198.51.100.1" {
		t.Errorf("IPv4 source = %s", got)
	}
}
