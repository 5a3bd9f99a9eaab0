package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/runner"
)

// metrics is this process's Prometheus registry (its own, not the library's global one) and what it
// counts. Web and worker processes each have one. Labels are few and bounded: a source, an outcome,
// a status, an agent, a provider; never a repository, a user or a task.
//
// /metrics is served on the main listener when METRICS_TOKEN is set (bearer token, compared in
// constant time; otherwise 404 there), and without a token on METRICS_LISTEN_ADDR when that is set
// (a worker, which has no HTTP listener, gets one for /metrics only).
type metrics struct {
	reg    *prometheus.Registry
	logger *slog.Logger

	ingest       *prometheus.HistogramVec // source
	outcomes     *prometheus.CounterVec   // source, outcome, code
	taskStage    *prometheus.HistogramVec // stage
	taskDuration *prometheus.HistogramVec // outcome
	sandboxStart *prometheus.HistogramVec // provider
	tokens       *prometheus.CounterVec   // agent, type
	cost         *prometheus.CounterVec   // agent
	violations   *prometheus.CounterVec   // kind
	apiCalls     *prometheus.CounterVec   // api, code
	rateLeft     *prometheus.GaugeVec     // resource

	listener net.Listener // METRICS_LISTEN_ADDR, or nil
	server   *http.Server
}

func newMetrics(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*metrics, error) {
	m := &metrics{reg: prometheus.NewRegistry(), logger: logger}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fast := prometheus.ExponentialBuckets(0.001, 2, 14) // 1 ms to 8 s
	slow := prometheus.ExponentialBuckets(1, 2, 14)     // 1 s to 2 h 16 m
	m.ingest = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_webhook_duration_seconds",
		Help: "Time to answer an inbound webhook (GitHub, Slack), by source.", Buckets: fast}, []string{"source"})
	m.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_webhook_requests_total",
		Help: "Inbound webhooks by source and outcome (accepted, duplicate, ignored, answered, refused, error) and status class."},
		[]string{"source", "outcome", "code"})
	m.taskStage = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_task_stage_duration_seconds",
		Help: "Time a task run by this worker spent in a stage (preparing, running, pushing).", Buckets: slow}, []string{"stage"})
	m.taskDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_task_duration_seconds",
		Help: "Time from a worker claiming a task to its end, by outcome (completed, failed, stopped).", Buckets: slow}, []string{"outcome"})
	m.sandboxStart = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sesame_sandbox_start_duration_seconds",
		Help: "Time to create a task's sandbox, by provider.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 13)}, []string{"provider"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_agent_tokens_total",
		Help: "Tokens agents used, by agent and type (input, output, cache_read, cache_write)."}, []string{"agent", "type"})
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_agent_cost_usd_total",
		Help: "What agents' runs cost in US dollars (reported by the agent, or estimated from the price table), by agent."}, []string{"agent"})
	m.violations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_sandbox_violations_total",
		Help: "What sandboxes refused agents (network: the proxy's denials; filesystem), by kind."}, []string{"kind"})
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sesame_api_requests_total",
		Help: "Calls to GitHub's and Slack's APIs, by API and status class (2xx, 3xx, 4xx, 5xx, or error when no answer came)."},
		[]string{"api", "code"})
	m.rateLeft = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sesame_github_rate_limit_remaining",
		Help: "x-ratelimit-remaining of the latest GitHub answer that carried it, by rate-limit resource (core, search, graphql...)."},
		[]string{"resource"})
	m.reg.MustRegister(m.ingest, m.outcomes, m.taskStage, m.taskDuration, m.sandboxStart, m.tokens, m.cost,
		m.violations, m.apiCalls, m.rateLeft)

	if addr := cfg.String(config.MetricsListen); addr != "" {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s (METRICS_LISTEN_ADDR): %w", addr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.handler())
		m.listener = ln
		m.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	}
	return m, nil
}

// handler serves the registry in Prometheus' text format, without authentication.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, ErrorLog: slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn)})
}

// onMain is /metrics on the main listener: with token, requests that carry it as a bearer token get
// the metrics and others 401; without one, 404, as if there were no such path.
func (m *metrics) onMain(token string) http.Handler {
	if token == "" {
		return http.NotFoundHandler()
	}
	want := sha256.Sum256([]byte("Bearer " + token))
	h := m.handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hashes of equal length: the comparison takes the same time whatever was sent.
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sesame metrics"`)
			http.Error(w, "metrics need the bearer token (METRICS_TOKEN)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serve serves METRICS_LISTEN_ADDR until ctx ends; it returns at once when that is not set.
func (m *metrics) serve(ctx context.Context) error {
	if m == nil || m.server == nil {
		return nil
	}
	m.logger.Info("metrics listening", "addr", m.listener.Addr().String())
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.server.Shutdown(shutdown)
	}()
	if err := m.server.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics server: %w", err)
	}
	return nil
}

// close releases the listener when serve never ran (a failed Open).
func (m *metrics) close() {
	if m != nil && m.listener != nil {
		m.listener.Close()
	}
}

// statusClass is "2xx" for 200 to 299, and so on.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// runnerMetrics is what the runner tells, counted with the sandbox provider's name.
type runnerMetrics struct {
	m        *metrics
	provider string
}

var _ runner.Metrics = runnerMetrics{}

// forRunner returns the runner's Metrics, its sandboxes labelled with provider (SANDBOX_PROVIDER).
func (m *metrics) forRunner(provider string) runner.Metrics {
	return runnerMetrics{m: m, provider: provider}
}

func (r runnerMetrics) TaskStage(stage sesame.TaskStatus, d time.Duration) {
	r.m.taskStage.WithLabelValues(string(stage)).Observe(d.Seconds())
}

func (r runnerMetrics) TaskEnded(status sesame.TaskStatus, d time.Duration) {
	r.m.taskDuration.WithLabelValues(string(status)).Observe(d.Seconds())
}

func (r runnerMetrics) SandboxStarted(d time.Duration) {
	r.m.sandboxStart.WithLabelValues(r.provider).Observe(d.Seconds())
}

func (r runnerMetrics) AgentSpent(name string, u agent.Usage) {
	for typ, n := range map[string]int{"input": u.InputTokens, "output": u.OutputTokens,
		"cache_read": u.CacheReadTokens, "cache_write": u.CacheWriteTokens} {
		if n > 0 {
			r.m.tokens.WithLabelValues(name, typ).Add(float64(n))
		}
	}
	if u.CostUSD > 0 {
		r.m.cost.WithLabelValues(name).Add(u.CostUSD)
	}
}

func (r runnerMetrics) Violation(kind sesame.ViolationKind) {
	r.m.violations.WithLabelValues(string(kind)).Inc()
}
