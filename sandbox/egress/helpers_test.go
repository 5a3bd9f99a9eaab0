package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// fakeResolver answers from a fixed table and counts its lookups.
type fakeResolver struct {
	mu      sync.Mutex
	hosts   map[string][]netip.Addr
	lookups map[string]int
}

func newFakeResolver(hosts map[string]string) *fakeResolver {
	r := &fakeResolver{hosts: map[string][]netip.Addr{}, lookups: map[string]int{}}
	for h, addrs := range hosts {
		for a := range strings.SplitSeq(addrs, ",") {
			r.hosts[h] = append(r.hosts[h], netip.MustParseAddr(a))
		}
	}
	return r
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups[host]++
	if addrs, ok := r.hosts[host]; ok && network == "ip" {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups[host]
}

// violations records what a proxy reported.
type violations struct {
	mu  sync.Mutex
	got []sesame.Violation
}

func (v *violations) add(x sesame.Violation) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.got = append(v.got, x)
}

func (v *violations) take() []sesame.Violation {
	v.mu.Lock()
	defer v.mu.Unlock()
	got := v.got
	v.got = nil
	return got
}

// testProxy is a Proxy serving on a real unix socket.
type testProxy struct {
	*Proxy
	sock       string
	violations *violations
	served     chan error // Serve's result
}

// startProxy serves a new Proxy on a unix socket in a fresh directory; the test's cleanup closes
// it and checks that Serve returned nil.
func startProxy(t testing.TB, rules Rules, resolver Resolver) *testProxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "egress")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "proxy.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	tp := &testProxy{sock: sock, violations: &violations{}, served: make(chan error, 1)}
	tp.Proxy = New(rules, Options{OnViolation: tp.violations.add, Resolver: resolver})
	go func() { tp.served <- tp.Serve(l) }()
	t.Cleanup(func() {
		tp.Close()
		select {
		case err := <-tp.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return tp
}

// connect sends "CONNECT target" on a new connection to the proxy and reads the answer. On 200 the
// returned connection is the tunnel.
func (tp *testProxy) connect(t testing.TB, target string) (net.Conn, *http.Response) {
	t.Helper()
	c, resp, err := dialConnect(tp.sock, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, resp
}

// dialConnect opens a tunnel through the proxy at sock. The response's body is read in full.
func dialConnect(sock, target string) (net.Conn, *http.Response, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, err
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		// A 2xx answer to CONNECT has no body: what follows is the tunnel.
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: c, r: br}, resp, nil
	}
	return c, resp, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// tunnelClient is an HTTP client whose every connection is a CONNECT tunnel through the proxy.
func tunnelClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
			c, resp, err := dialConnect(sock, addr)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode != http.StatusOK {
				c.Close()
				body, _ := io.ReadAll(resp.Body)
				return nil, fmt.Errorf("CONNECT %s: %s: %s", addr, resp.Status, body)
			}
			return c, nil
		},
		ReadBufferSize: 256 << 10,
	}}
}

// forwardClient is an HTTP client that sends plain HTTP requests to the proxy in absolute form.
func forwardClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "egress.invalid"}),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		DisableCompression: true,
		ReadBufferSize:     256 << 10,
	}}
}

// rawRequest writes raw on a new connection to the proxy and reads one response.
func (tp *testProxy) rawRequest(t *testing.T, raw string) *http.Response {
	t.Helper()
	c, err := net.Dial("unix", tp.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// echoServer accepts TCP connections on 127.0.0.1 and echoes what it reads until EOF, then
// half-closes. It ends with the test.
func echoServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			} else if err != nil {
				continue
			}
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			})
		}
	})
	return l.Addr().String()
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
