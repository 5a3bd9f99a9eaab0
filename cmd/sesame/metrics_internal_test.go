package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/internal/redistest"
)

func testMetrics(t testing.TB) *metrics {
	t.Helper()
	cfg, err := config.Load(config.Options{Dir: t.TempDir(), Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMetrics(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// gauge gathers m's registry and returns the value of the gauge name (no labels), or -1.
func gauge(t *testing.T, m *metrics, name string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func TestWebhookOutcome(t *testing.T) {
	// The bot's answers, as gin writes them: JSON with its keys sorted, "status" before "task_id".
	duplicate, _ := json.Marshal(gin.H{"status": "duplicate", "task_id": "t1"})
	ignored, _ := json.Marshal(gin.H{"status": "ignored", "reason": "not a command"})
	cases := []struct {
		name, path string
		status     int
		writes     []string
		want       string
	}{
		{name: "queued", path: "/webhooks/github", status: 202, writes: []string{`{"status":"queued","task_id":"t1"}`}, want: "github accepted 2xx"},
		{name: "duplicate", path: "/webhooks/github", status: 200, writes: []string{string(duplicate)}, want: "github duplicate 2xx"},
		{name: "duplicate in pieces", path: "/webhooks/github", status: 200, writes: []string{string(duplicate[:4]), string(duplicate[4:15]), string(duplicate[15:])}, want: "github duplicate 2xx"},
		{name: "ignored", path: "/webhooks/github", status: 200, writes: []string{string(ignored)}, want: "github ignored 2xx"},
		{name: "bad signature", path: "/webhooks/github", status: 401, writes: []string{`{"error":"x"}`}, want: "github refused 4xx"},
		{name: "store down", path: "/webhooks/github", status: 503, want: "github error 5xx"},
		{name: "slack command", path: "/webhooks/slack/commands", status: 200, writes: []string{`{"response_type":"ephemeral"}`}, want: "slack_commands answered 2xx"},
		{name: "unknown hook", path: "/webhooks/gitlab", status: 404, want: "other refused 4xx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := testMetrics(t)
			h := m.observeWebhooks(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				for _, s := range tc.writes {
					io.WriteString(w, s)
				}
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tc.path, nil))
			if got := rec.Body.String(); got != strings.Join(tc.writes, "") {
				t.Errorf("body = %q, want it passed through", got)
			}
			parts := strings.Fields(tc.want)
			if v := counterValue(t, m, "sesame_webhook_requests_total", map[string]string{"source": parts[0], "outcome": parts[1], "code": parts[2]}); v != 1 {
				t.Errorf("sesame_webhook_requests_total{%s} = %v, want 1", tc.want, v)
			}
		})
	}
	// Other paths are not webhooks: not counted.
	m := testMetrics(t)
	m.observeWebhooks(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/tasks", nil))
	if families, _ := m.reg.Gather(); countFamilies(families, "sesame_webhook_requests_total") != 0 {
		t.Errorf("a page request was counted as a webhook")
	}
}

func counterValue(t *testing.T, m *metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return s.GetCounter().GetValue()
		}
	}
	return 0
}

func countFamilies(families []*dto.MetricFamily, name string) int {
	n := 0
	for _, f := range families {
		if f.GetName() == name {
			n += len(f.GetMetric())
		}
	}
	return n
}

// A Redis that accepts connections and never answers holds a scrape at most queueScrapeTimeout, and
// the queue is reported down; a Redis that answers reports it up.
func TestQueueCollectorTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	mute := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: time.Minute, DialTimeout: time.Second})
	defer mute.Close()
	m := testMetrics(t)
	m.reg.MustRegister(queueCollector{inspector: asynq.NewInspectorFromRedisClient(mute)})
	start := time.Now()
	if up := gauge(t, m, "sesame_queue_up"); up != 0 {
		t.Errorf("sesame_queue_up = %v against a Redis that never answers, want 0", up)
	}
	if d := time.Since(start); d > queueScrapeTimeout+time.Second {
		t.Errorf("the scrape took %v, want at most %v", d, queueScrapeTimeout)
	}

	db := redistest.New(t)
	rdb := redis.NewClient(db.Options())
	defer rdb.Close()
	m = testMetrics(t)
	m.reg.MustRegister(queueCollector{inspector: asynq.NewInspectorFromRedisClient(rdb)})
	if up := gauge(t, m, "sesame_queue_up"); up != 1 {
		t.Errorf("sesame_queue_up = %v against the test Redis, want 1", up)
	}
}

// The hub's viewers are counted while they follow a task, and no more once they leave.
func TestHubCollectorCountsViewers(t *testing.T) {
	rdb := redis.NewClient(redistest.New(t).Options())
	defer rdb.Close()
	hub := events.NewHub(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer hub.Close()
	m := testMetrics(t)
	m.reg.MustRegister(hubCollector{hub: hub})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var subs []*events.Subscription
	for _, task := range []string{"a", "a", "b"} {
		s, err := hub.Subscribe(ctx, task)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	if v := gauge(t, m, "sesame_sse_viewers"); v != 3 {
		t.Errorf("sesame_sse_viewers = %v with three viewers, want 3", v)
	}
	for _, s := range subs {
		s.Close()
	}
	if v := gauge(t, m, "sesame_sse_viewers"); v != 0 {
		t.Errorf("sesame_sse_viewers = %v after they left, want 0", v)
	}
}

// BenchmarkScrape is one scrape of a web process's /metrics: every Sesame metric with a value, the Go
// and process collectors, the queue read from the test Redis and the hub's viewers.
func BenchmarkScrape(b *testing.B) {
	rdb := redis.NewClient(redistest.New(b).Options())
	defer rdb.Close()
	hub := events.NewHub(rdb, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer hub.Close()
	m := testMetrics(b)
	m.reg.MustRegister(queueCollector{inspector: asynq.NewInspectorFromRedisClient(rdb)}, hubCollector{hub: hub})
	client := asynq.NewClientFromRedisClient(rdb)
	for i := range 100 {
		if _, err := client.Enqueue(asynq.NewTask("task:run", []byte{byte(i)})); err != nil {
			b.Fatal(err)
		}
	}
	hook := m.observeWebhooks(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	for range 1000 {
		hook.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/webhooks/github", nil))
	}
	h := m.onMain("token")
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Authorization", "Bearer token")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("scrape = %d", rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
