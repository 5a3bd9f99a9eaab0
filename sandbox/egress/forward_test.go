package egress

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sesame "github.com/sesame-works/sesame"
)

func TestForward(t *testing.T) {
	var seen *http.Request
	var seenBody string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen, seenBody = r, string(b)
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "upstream")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End", "kept")
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.RequestURI())
	}))
	defer upstream.Close()
	addr := upstream.Listener.Addr().String()
	tp := startProxy(t, Rules{Endpoints: []string{addr}, AllowedDomains: []string{"*.example.com"}}, newFakeResolver(nil))
	client := forwardClient(tp.sock)
	defer client.CloseIdleConnections()

	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/path?q=1", nil)
		req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
		req.Header.Set("Connection", "X-Private")
		req.Header.Set("X-Private", "hop")
		req.Header.Set("X-End", "kept")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || body != "GET /path?q=1" {
			t.Fatalf("got %s %q", resp.Status, body)
		}
		for _, h := range []string{"Proxy-Authorization", "Proxy-Connection", "X-Private"} {
			if v := seen.Header.Get(h); v != "" {
				t.Errorf("upstream got %s: %q", h, v)
			}
		}
		if seen.Header.Get("X-End") != "kept" || seen.Host != addr {
			t.Errorf("upstream got X-End %q, Host %q", seen.Header.Get("X-End"), seen.Host)
		}
		if resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-End") != "kept" {
			t.Errorf("response headers %v", resp.Header)
		}
	})
	t.Run("POST", func(t *testing.T) {
		resp, err := client.Post("http://"+addr+"/upload", "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if body := readBody(t, resp); body != "POST /upload" || seenBody != "payload" {
			t.Errorf("got %q, upstream read %q", body, seenBody)
		}
	})
	t.Run("denied", func(t *testing.T) {
		resp, err := client.Get("http://example.org/x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusForbidden || body != "example.org is not in this task's allowed domains\n" {
			t.Fatalf("got %s %q", resp.Status, body)
		}
		want := []sesame.Violation{{Kind: sesame.ViolationNetwork, Target: "example.org:80", Access: "connect",
			Reason: "example.org is not in this task's allowed domains"}}
		if diff := cmp.Diff(want, tp.violations.take()); diff != "" {
			t.Errorf("violations (-want +got):\n%s", diff)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		resp, err := client.Get("http://nxdomain.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if body := readBody(t, resp); resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "no such host") {
			t.Errorf("got %s %q, want 502", resp.Status, body)
		}
		if got := tp.violations.take(); len(got) != 0 {
			t.Errorf("violations %v", got)
		}
	})
}

// TestForwardRebinding: the address checks apply when the transport dials, after the rules
// allowed the name.
func TestForwardRebinding(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the upstream was reached")
	}))
	defer upstream.Close()
	_, port, _ := net.SplitHostPort(upstream.Listener.Addr().String())
	for _, addrs := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1"} {
		t.Run(addrs, func(t *testing.T) {
			tp := startProxy(t, Rules{AllowedDomains: []string{"rebind.test"}},
				newFakeResolver(map[string]string{"rebind.test": addrs}))
			client := forwardClient(tp.sock)
			defer client.CloseIdleConnections()
			resp, err := client.Get("http://rebind.test:" + port + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := readBody(t, resp)
			want := "rebind.test resolved to " + strings.TrimPrefix(addrs, "::ffff:") + " ("
			if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(body, want) {
				t.Errorf("got %s %q, want 403 starting %q", resp.Status, body, want)
			}
			if got := tp.violations.take(); len(got) != 1 || got[0].Reason != strings.TrimSpace(body) {
				t.Errorf("violations %+v", got)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	tp := startProxy(t, Rules{AllowedDomains: []string{"example.com"}}, newFakeResolver(nil))
	tests := []struct {
		name, raw string
		status    int
	}{
		{"origin form", "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n", http.StatusBadRequest},
		{"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n", http.StatusBadRequest},
		{"https absolute form", "GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", http.StatusBadRequest},
		{"CONNECT without port", "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", http.StatusBadRequest},
		{"CONNECT bad port", "CONNECT example.com:99999 HTTP/1.1\r\n\r\n", http.StatusBadRequest},
		{"huge header", "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX-Big: " +
			strings.Repeat("a", 64<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp := tp.rawRequest(t, tt.raw); resp.StatusCode != tt.status {
				t.Errorf("status %s, want %d", resp.Status, tt.status)
			}
		})
	}
	if got := tp.violations.take(); len(got) != 0 {
		t.Errorf("violations %v for malformed requests", got)
	}
}

// TestSlowClient: a client that never finishes its headers is disconnected.
func TestSlowClient(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the read-header timeout")
	}
	t.Parallel()
	tp := startProxy(t, Rules{}, newFakeResolver(nil))
	c, err := net.Dial("unix", tp.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT example.com:443 HTTP/1.1\r\n")
	start := time.Now()
	c.SetReadDeadline(start.Add(readHeaderTimeout + 5*time.Second))
	io.ReadAll(c)
	if d := time.Since(start); d > readHeaderTimeout+2*time.Second {
		t.Errorf("connection held for %v", d)
	}
}

func TestCloseEndsForward(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a response that never ends, until the proxy drops it
	}))
	defer upstream.Close()
	addr := upstream.Listener.Addr().String()
	tp := startProxy(t, Rules{Endpoints: []string{addr}}, nil)
	client := forwardClient(tp.sock)
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first" {
		t.Fatalf("read %q, %v", first, err)
	}

	closed := make(chan error)
	go func() { closed <- tp.Close() }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a request in flight")
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the response ended cleanly after Close, want an error")
	}
}
