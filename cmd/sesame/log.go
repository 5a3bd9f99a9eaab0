package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sesame-works/sesame/config"
)

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.String(config.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.String(config.LogFormat) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logRequests logs each request when it ends, with its delivery id when it has one. Health checks,
// static files and webhooks that succeeded log at debug: at full ingest each line logged per
// delivery cost about 5% of the server's CPU (a profile under scripts/load-ingest), and a refused
// delivery still logs at info.
func logRequests(l *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		level := slog.LevelInfo
		switch p := r.URL.Path; {
		case p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/static/"):
			level = slog.LevelDebug
		case strings.HasPrefix(p, "/webhooks/") && sw.status < 300:
			level = slog.LevelDebug
		}
		if !l.Enabled(r.Context(), level) {
			return
		}
		attrs := []any{"method", r.Method, "path", loggedPath(r.URL.Path), "status", sw.status, "duration", time.Since(start)}
		if d := r.Header.Get("X-GitHub-Delivery"); d != "" {
			attrs = append(attrs, "delivery_id", d)
		}
		l.Log(r.Context(), level, "http request", attrs...)
	})
}

// loggedPath is p without the credentials some paths carry: a Slack one-time link's token
// (/slack/link/{token}) and a preview's signed grant (/tasks/{id}/preview/{port}/~{grant}/...).
func loggedPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/slack/link/"); ok && rest != "" {
		return "/slack/link/…"
	}
	if strings.Contains(p, "/preview/") {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, "~") && len(s) > 1 {
				segs[i] = "~…"
			}
		}
		return strings.Join(segs, "/")
	}
	return p
}

// statusWriter remembers the status of a response. Unwrap lets http.ResponseController reach the
// real writer (to flush event streams).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
