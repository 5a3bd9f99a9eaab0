package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sesame-works/sesame/config"
)

// healthTimeout bounds the whole of `sesame healthcheck`.
const healthTimeout = 3 * time.Second

// healthcheck asks the HTTP server of this host (LISTEN_ADDR, on the loopback address when it names
// no host or every address) for /healthz and fails unless it answers 200: the container image's
// HEALTHCHECK, which has neither curl nor wget. It needs no other setting. A worker-only node
// (--role worker) serves no HTTP, so its container should turn the health check off.
func healthcheck(ctx context.Context, configPath string, w io.Writer) error {
	cfg, err := config.Load(config.Options{Path: configPath})
	if err != nil {
		return err
	}
	url, err := healthURL(cfg.String(config.ServerListen))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(w, "ok")
	return nil
}

// healthURL is the /healthz URL of a server listening on listen (":8080", "0.0.0.0:8080",
// "[::1]:9000", "sesame.internal:8080").
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("LISTEN_ADDR %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
