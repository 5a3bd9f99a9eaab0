package egress

import (
	"net/netip"
	"testing"
)

func TestAddrRefusal(t *testing.T) {
	tests := []struct {
		addr string
		want string // "" when a domain name may lead there
	}{
		{"8.8.8.8", ""},
		{"93.184.216.34", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"2606:4700::1111", ""},
		{"64:ff9b::808:808", ""},
		{"127.0.0.1", "a loopback address"},
		{"127.255.255.254", "a loopback address"},
		{"10.0.0.1", "a private address"},
		{"172.16.0.1", "a private address"},
		{"172.31.255.255", "a private address"},
		{"192.168.1.1", "a private address"},
		{"169.254.169.254", "the cloud metadata address"},
		{"169.254.1.1", "a link-local address"},
		{"100.64.0.1", "a carrier-grade NAT address"},
		{"0.0.0.0", `a "this network" address`},
		{"0.1.2.3", `a "this network" address`},
		{"224.0.0.1", "a multicast address"},
		{"255.255.255.255", "a reserved address"},
		{"::", "the unspecified address"},
		{"::1", "a loopback address"},
		{"::127.0.0.1", "a reserved address"},
		{"fe80::1", "a link-local address"},
		{"fc00::1", "a private address"},
		{"fd12:3456::1", "a private address"},
		{"fd00:ec2::254", "the cloud metadata address"},
		{"ff02::1", "a multicast address"},
		{"::ffff:127.0.0.1", "a loopback address"},
		{"::ffff:10.0.0.1", "a private address"},
		{"::ffff:169.254.169.254", "the cloud metadata address"},
		{"64:ff9b::7f00:1", "a translation of 127.0.0.1, a loopback address"},
		{"64:ff9b::a9fe:a9fe", "a translation of 169.254.169.254, the cloud metadata address"},
		{"2002:7f00:1::1", "a translation of 127.0.0.1, a loopback address"},
		{"2002:0a00:0001::1", "a translation of 10.0.0.1, a private address"},
		{"fe80::1%eth0", "a scoped address"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := addrRefusal(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("addrRefusal(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}
