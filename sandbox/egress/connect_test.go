package egress

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sesame "github.com/sesame-works/sesame"
)

func TestConnectEndpoint(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	}))
	defer upstream.Close()
	_, port, _ := net.SplitHostPort(upstream.Listener.Addr().String())
	resolver := newFakeResolver(map[string]string{"upstream.test": "127.0.0.1"})
	tp := startProxy(t, Rules{Endpoints: []string{upstream.Listener.Addr().String(), "upstream.test:" + port}}, resolver)
	client := tunnelClient(tp.sock)
	defer client.CloseIdleConnections()

	for _, host := range []string{"127.0.0.1", "upstream.test"} {
		t.Run(host, func(t *testing.T) {
			// Concurrent tunnels, each its own connection.
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					resp, err := client.Get(fmt.Sprintf("http://%s:%s/%d", host, port, i))
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					if body := readBody(t, resp); body != fmt.Sprintf("hello /%d", i) {
						t.Errorf("body %q", body)
					}
				})
			}
			wg.Wait()
		})
	}
	if got := tp.violations.take(); len(got) != 0 {
		t.Errorf("violations: %v", got)
	}
	// An endpoint's name is resolved once per connection, and its loopback address is not refused.
	if n := resolver.count("upstream.test"); n < 1 || n > 8 {
		t.Errorf("upstream.test resolved %d times for at most 8 connections", n)
	}
}

func TestConnectDenied(t *testing.T) {
	echo := echoServer(t)
	_, port, _ := net.SplitHostPort(echo)
	tp := startProxy(t, Rules{
		AllowedDomains: []string{"*.example.com"},
		DeniedDomains:  []string{"evil.com", "*.evil.com"},
		Endpoints:      []string{echo},
	}, newFakeResolver(nil))
	tests := []struct {
		name, target, reason string
		wantTarget           string
	}{
		{"denied", "evil.com:443", "evil.com is denied by the administrator", "evil.com:443"},
		{"denied subdomain", "WWW.Evil.Com.:443", "www.evil.com is denied by the administrator", "www.evil.com:443"},
		{"not allowed", "example.org:443", "example.org is not in this task's allowed domains", "example.org:443"},
		{"apex", "example.com:443", "example.com is not in this task's allowed domains", "example.com:443"},
		{"endpoint host, other port", "127.0.0.1:1", "127.0.0.1:1 is not one of this task's endpoints", "127.0.0.1:1"},
		{"decimal loopback", "2130706433:" + port, "", "127.0.0.1:" + port},
		{"v6 loopback", "[::1]:" + port, "::1 is an IP address not in", "[::1]:" + port},
		{"v4-mapped loopback", "[::ffff:127.0.0.2]:" + port, "(that is 127.0.0.2) is an IP address", "127.0.0.2:" + port},
		{"metadata", "169.254.169.254:80", "169.254.169.254 is an IP address not in", "169.254.169.254:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp := tp.connect(t, tt.target)
			if tt.reason == "" {
				// 2130706433 is 127.0.0.1: the same address as the endpoint, so allowed.
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %s, want 200", resp.Status)
				}
				c.Close()
				return
			}
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %s, want 403", resp.Status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			body := readBody(t, resp)
			if !strings.Contains(body, tt.reason) || strings.Count(body, "\n") != 1 || !strings.HasSuffix(body, "\n") {
				t.Errorf("body %q: want one line containing %q", body, tt.reason)
			}
			want := []sesame.Violation{{
				Kind:   sesame.ViolationNetwork,
				Target: tt.wantTarget,
				Access: "connect",
				Reason: strings.TrimSuffix(body, "\n"),
			}}
			if diff := cmp.Diff(want, tp.violations.take()); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			// The proxy closes the connection after a refused CONNECT.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err == nil {
				t.Errorf("read %d bytes after a refusal, want EOF", n)
			}
		})
	}
}

// TestConnectRebinding makes an allowed name resolve to addresses it must never lead to.
func TestConnectRebinding(t *testing.T) {
	echo := echoServer(t)
	_, port, _ := net.SplitHostPort(echo)
	tests := []struct{ addrs, reason string }{
		{"127.0.0.1", "rebind.test resolved to 127.0.0.1 (a loopback address)"},
		{"10.0.0.1", "rebind.test resolved to 10.0.0.1 (a private address)"},
		{"169.254.169.254", "rebind.test resolved to 169.254.169.254 (the cloud metadata address)"},
		{"::ffff:127.0.0.1", "rebind.test resolved to 127.0.0.1 (a loopback address)"},
		{"::1,fe80::1", "rebind.test resolved to ::1 (a loopback address), fe80::1 (a link-local address)"},
		{"100.64.1.1", "(a carrier-grade NAT address)"},
		{"64:ff9b::7f00:1", "(a translation of 127.0.0.1, a loopback address)"},
	}
	for _, tt := range tests {
		t.Run(tt.addrs, func(t *testing.T) {
			resolver := newFakeResolver(map[string]string{"rebind.test": tt.addrs})
			tp := startProxy(t, Rules{AllowedDomains: []string{"rebind.test"}}, resolver)
			_, resp := tp.connect(t, "rebind.test:"+port)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, tt.reason) {
				t.Fatalf("got %s %q, want 403 containing %q", resp.Status, body, tt.reason)
			}
			if !strings.Contains(body, "only an operator's endpoint may reach such an address") {
				t.Errorf("body %q does not say how to allow it", body)
			}
			got := tp.violations.take()
			if len(got) != 1 || got[0].Target != "rebind.test:"+port || got[0].Reason != strings.TrimSpace(body) {
				t.Errorf("violations %+v", got)
			}
			if n := resolver.count("rebind.test"); n != 1 {
				t.Errorf("resolved %d times, want 1", n)
			}
		})
	}
}

// TestConnectAllowedIPIsVetted: an allowed IP entry does not open a private address; only an
// endpoint does.
func TestConnectAllowedIPIsVetted(t *testing.T) {
	tp := startProxy(t, Rules{AllowedDomains: []string{"127.0.0.1", "10.0.0.1"}}, newFakeResolver(nil))
	for _, target := range []string{"127.0.0.1:80", "0x0a000001:80"} {
		_, resp := tp.connect(t, target)
		if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "only an operator's endpoint may reach it") {
			t.Errorf("%s: got %s %q, want 403", target, resp.Status, body)
		}
	}
	if got := tp.violations.take(); len(got) != 2 {
		t.Errorf("violations %+v, want 2", got)
	}
}

func TestConnectHostOwnAddress(t *testing.T) {
	tp := startProxy(t, Rules{AllowedDomains: []string{"self.test"}},
		newFakeResolver(map[string]string{"self.test": "203.0.113.7"}))
	tp.dialer.hostAddrs = func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("203.0.113.7")}, nil }
	_, resp := tp.connect(t, "self.test:443")
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "203.0.113.7 (an address of this host)") {
		t.Errorf("got %s %q, want 403", resp.Status, body)
	}
}

func TestConnectUnreachable(t *testing.T) {
	closed := closedPort(t)
	tp := startProxy(t, Rules{Endpoints: []string{closed, "nxdomain.test:443"}}, newFakeResolver(nil))
	for _, target := range []string{closed, "nxdomain.test:443"} {
		_, resp := tp.connect(t, target)
		if body := readBody(t, resp); resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(body, "could not reach "+target) {
			t.Errorf("%s: got %s %q, want 502", target, resp.Status, body)
		}
	}
	if got := tp.violations.take(); len(got) != 0 {
		t.Errorf("violations %v for unreachable destinations", got)
	}
}

func TestConnectTunnel(t *testing.T) {
	echo := echoServer(t)
	tp := startProxy(t, Rules{Endpoints: []string{echo}}, nil)

	t.Run("early data", func(t *testing.T) {
		// The first bytes come in the same write as the CONNECT, as a TLS client may send them.
		c, err := net.Dial("unix", tp.sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %[1]s\r\n\r\nearly bytes", echo)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT: %v %v", resp, err)
		}
		got := make([]byte, len("early bytes"))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != "early bytes" {
			t.Errorf("echoed %q, %v", got, err)
		}
	})
	t.Run("half close", func(t *testing.T) {
		c, resp := tp.connect(t, echo)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT: %s", resp.Status)
		}
		payload := strings.Repeat("0123456789", 100_000)
		go func() {
			io.WriteString(c, payload)
			c.(interface{ CloseWrite() error }).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != payload {
			t.Errorf("echoed %d bytes, %v; want %d and EOF", len(got), err, len(payload))
		}
	})
}

func TestCloseEndsTunnels(t *testing.T) {
	echo := echoServer(t)
	tp := startProxy(t, Rules{Endpoints: []string{echo}}, nil)
	var conns []net.Conn
	for range 3 {
		c, resp := tp.connect(t, echo)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT: %s", resp.Status)
		}
		io.WriteString(c, "ping")
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}

	closed := make(chan error)
	go func() { closed <- tp.Close() }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with tunnels open")
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 10)); err != io.EOF {
			t.Errorf("tunnel read after Close: %d, %v; want EOF", n, err)
		}
	}
	if _, err := net.Dial("unix", tp.sock); err == nil {
		t.Error("the proxy accepts connections after Close")
	}
	if err := tp.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
