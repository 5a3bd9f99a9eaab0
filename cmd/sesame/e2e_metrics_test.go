package main_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// scrape GETs url with the Authorization header auth ("" for none) and returns the status and, for a
// 200, the metric families the text parsed into (a text that does not parse fails the test).
func scrape(t *testing.T, url, auth string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: the text does not parse: %v", url, err)
	}
	return resp.StatusCode, families
}

// sample returns the metric of family name whose labels include want, or nil.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func TestEndToEndMetricsNeedTheToken(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, repo)
	const token = "e2e-metrics-token-0123456789"
	p := startSesame(t, append(baseEnv(t, gh), "METRICS_TOKEN="+token), "--role", "web")
	url := "http://" + p.addr + "/metrics"

	for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", token, "Basic " + token} {
		if code, _ := scrape(t, url, auth); code != http.StatusUnauthorized {
			t.Errorf("GET /metrics with Authorization %q = %d, want 401", auth, code)
		}
	}

	if code, out := deliver(t, p, "metrics-1", commentPayload(t, "Codertocat", "/sesame fix the typo in the README")); code != http.StatusAccepted {
		t.Fatalf("delivery = %d %v, want 202", code, out)
	}
	if code, out := deliver(t, p, "metrics-1", commentPayload(t, "Codertocat", "/sesame fix the typo in the README")); code != http.StatusOK {
		t.Fatalf("delivery again = %d %v, want 200 (duplicate)", code, out)
	}
	code, families := scrape(t, url, "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics with the token = %d, want 200", code)
	}
	if m := sample(families, "sesame_webhook_duration_seconds", map[string]string{"source": "github"}); m.GetHistogram().GetSampleCount() < 2 {
		t.Errorf("sesame_webhook_duration_seconds{source=github} count = %d, want >= 2", m.GetHistogram().GetSampleCount())
	}
	for _, outcome := range []string{"accepted", "duplicate"} {
		m := sample(families, "sesame_webhook_requests_total", map[string]string{"source": "github", "outcome": outcome, "code": "2xx"})
		if m.GetCounter().GetValue() != 1 {
			t.Errorf("sesame_webhook_requests_total{source=github,outcome=%s,code=2xx} = %v, want 1", outcome, m.GetCounter().GetValue())
		}
	}
	// No worker runs here: the task waits in the queue, which the scrape reads from Redis.
	if m := sample(families, "sesame_queue_up", nil); m.GetGauge().GetValue() != 1 {
		t.Errorf("sesame_queue_up = %v, want 1", m.GetGauge().GetValue())
	}
	var pending float64
	for _, m := range families["sesame_queue_tasks"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "state" && l.GetValue() == "pending" {
				pending += m.GetGauge().GetValue()
			}
		}
	}
	if pending < 1 {
		t.Errorf("sesame_queue_tasks{state=pending} sums to %v, want >= 1", pending)
	}
	for _, name := range []string{"sesame_sse_viewers", "go_goroutines", "process_resident_memory_bytes"} {
		if families[name] == nil {
			t.Errorf("no %s in the scrape", name)
		}
	}
}

func TestEndToEndMetricsOffWithoutToken(t *testing.T) {
	gh := githubtest.NewServer(t)
	p := startSesame(t, baseEnv(t, gh), "--role", "web")
	for _, auth := range []string{"", "Bearer "} {
		if code, _ := scrape(t, "http://"+p.addr+"/metrics", auth); code != http.StatusNotFound {
			t.Errorf("GET /metrics (Authorization %q) without METRICS_TOKEN = %d, want 404", auth, code)
		}
	}
}

// A worker has no HTTP listener: METRICS_LISTEN_ADDR gives it one for /metrics, without a token.
func TestEndToEndMetricsOnTheirOwnAddress(t *testing.T) {
	gh := githubtest.NewServer(t)
	p := startSesame(t, append(baseEnv(t, gh), "METRICS_LISTEN_ADDR=127.0.0.1:0", "METRICS_TOKEN=unused-here"), "--role", "worker")
	addrRE := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	var addr string
	waitFor(t, "the metrics listener", func() bool {
		if m := addrRE.FindStringSubmatch(p.Logs()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	code, families := scrape(t, "http://"+addr+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics on METRICS_LISTEN_ADDR = %d, want 200", code)
	}
	for _, name := range []string{"sesame_queue_up", "go_goroutines"} {
		if families[name] == nil {
			t.Errorf("no %s in the worker's scrape", name)
		}
	}
	if families["sesame_sse_viewers"] != nil {
		t.Errorf("a worker reports SSE viewers; only web processes have them")
	}
}

// One task through the real binary, agent (Claude Code against the scripted model) and sandbox: the
// worker's metrics count its stages, its end, its sandbox, its tokens, what its proxy refused and the
// GitHub calls it made.
func TestEndToEndMetricsOfATask(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Bash(`curl -s -o /dev/null -m 5 https://example.org/; true`), // refused by the task's proxy
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)
	const token = "e2e-metrics-token-0123456789"
	p, _, dbURL := prEnv(t, gh, model, "SANDBOX_DENIED_DOMAINS=example.org", "METRICS_TOKEN="+token)
	code, resp := deliver(t, p, "metrics-task", commentPayload(t, "alice", "/sesame fix the typo in README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	if status, reason := waitEnded(t, dbURL, resp["task_id"], 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	_, families := scrape(t, "http://"+p.addr+"/metrics", "Bearer "+token)
	histogram := func(name string, labels map[string]string) uint64 {
		return sample(families, name, labels).GetHistogram().GetSampleCount()
	}
	if n := histogram("sesame_task_duration_seconds", map[string]string{"outcome": "completed"}); n != 1 {
		t.Errorf("sesame_task_duration_seconds{outcome=completed} count = %d, want 1", n)
	}
	for _, stage := range []string{"preparing", "running", "pushing"} {
		if n := histogram("sesame_task_stage_duration_seconds", map[string]string{"stage": stage}); n != 1 {
			t.Errorf("sesame_task_stage_duration_seconds{stage=%s} count = %d, want 1", stage, n)
		}
	}
	if n := histogram("sesame_sandbox_start_duration_seconds", map[string]string{"provider": "local"}); n != 1 {
		t.Errorf("sesame_sandbox_start_duration_seconds{provider=local} count = %d, want 1", n)
	}
	var tokens float64
	for _, typ := range []string{"input", "output", "cache_read", "cache_write"} {
		tokens += sample(families, "sesame_agent_tokens_total", map[string]string{"agent": "claude", "type": typ}).GetCounter().GetValue()
	}
	if tokens == 0 {
		t.Errorf("sesame_agent_tokens_total{agent=claude} = 0, want the scripted model's usage")
	}
	if v := sample(families, "sesame_sandbox_violations_total", map[string]string{"kind": "network"}).GetCounter().GetValue(); v < 1 {
		t.Errorf("sesame_sandbox_violations_total{kind=network} = %v, want >= 1", v)
	}
	if v := sample(families, "sesame_api_requests_total", map[string]string{"api": "github", "code": "2xx"}).GetCounter().GetValue(); v < 1 {
		t.Errorf("sesame_api_requests_total{api=github,code=2xx} = %v, want >= 1", v)
	}
}
