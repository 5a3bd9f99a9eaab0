package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthURL(t *testing.T) {
	tests := []struct{ name, listen, want string }{
		{"port only", ":8080", "http://127.0.0.1:8080/healthz"},
		{"every IPv4 address", "0.0.0.0:8080", "http://127.0.0.1:8080/healthz"},
		{"every IPv6 address", "[::]:8080", "http://127.0.0.1:8080/healthz"},
		{"IPv6 loopback", "[::1]:9000", "http://[::1]:9000/healthz"},
		{"a name", "sesame.internal:8080", "http://sesame.internal:8080/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := healthURL(tt.listen); err != nil || got != tt.want {
				t.Errorf("healthURL(%q) = %q, %v; want %q", tt.listen, got, err, tt.want)
			}
		})
	}
	if _, err := healthURL("8080"); err == nil || !strings.Contains(err.Error(), "LISTEN_ADDR") {
		t.Errorf("healthURL(8080) = %v, want an error naming LISTEN_ADDR", err)
	}
}

// TestHealthcheck: `sesame healthcheck` passes when the server answers /healthz with 200 and fails
// when it answers otherwise or not at all.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	t.Setenv("LISTEN_ADDR", ":"+port)
	t.Chdir(t.TempDir()) // no config file

	var out bytes.Buffer
	if err := healthcheck(context.Background(), "", &out); err != nil || out.String() != "ok\n" {
		t.Errorf("healthcheck = %v, %q; want ok", err, out.String())
	}
	status = http.StatusServiceUnavailable
	if err := healthcheck(context.Background(), "", &out); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("healthcheck of a server answering 503 = %v", err)
	}
	srv.Close()
	if err := healthcheck(context.Background(), "", &out); err == nil {
		t.Error("healthcheck with no server passed")
	}
}
