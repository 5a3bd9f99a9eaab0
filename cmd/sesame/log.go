package main

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gin-gonic/gin"

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

// requestLogger logs each request with its delivery id when it has one. Health checks log at debug.
func requestLogger(l *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if p := c.Request.URL.Path; p == "/healthz" || p == "/readyz" {
			level = slog.LevelDebug
		}
		attrs := []any{"method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
			"duration", time.Since(start)}
		if d := c.GetHeader("X-GitHub-Delivery"); d != "" {
			attrs = append(attrs, "delivery_id", d)
		}
		l.Log(c.Request.Context(), level, "http request", attrs...)
	}
}
