package main

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// observeWebhooks counts the inbound webhooks (paths under /webhooks/) and how long each took to
// answer, around the handlers rather than in them; every other request passes straight through.
func (m *metrics) observeWebhooks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		source, ok := webhookSource(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		hw := &hookWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(hw, r)
		m.ingest.WithLabelValues(source).Observe(time.Since(start).Seconds())
		m.outcomes.WithLabelValues(source, hookOutcome(source, hw.status, hw.head), statusClass(hw.status)).Inc()
	})
}

// webhookSource names the webhook a path receives, from a fixed list (an unknown path is "other").
func webhookSource(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/webhooks/")
	if !ok {
		return "", false
	}
	switch rest {
	case "github":
		return "github", true
	case "slack/commands":
		return "slack_commands", true
	case "slack/interactivity":
		return "slack_interactivity", true
	}
	return "other", true
}

// duplicateAnswer starts the GitHub webhook's answer to a delivery it has seen (its JSON keys sorted).
var duplicateAnswer = []byte(`{"status":"duplicate"`)

// hookOutcome is what became of a webhook: accepted (202: a task stored and queued, or a waiting task
// changed), duplicate (a delivery seen before), ignored (any other 2xx from GitHub: an event or comment
// that asks nothing), answered (a 2xx from Slack, which answers commands and usage alike with 200),
// refused (4xx) or error (5xx).
func hookOutcome(source string, status int, head []byte) string {
	switch {
	case status == http.StatusAccepted:
		return "accepted"
	case status >= 500:
		return "error"
	case status >= 400:
		return "refused"
	case bytes.HasPrefix(head, duplicateAnswer):
		return "duplicate"
	case strings.HasPrefix(source, "slack"):
		return "answered"
	}
	return "ignored"
}

// hookWriter remembers a webhook answer's status and its first bytes.
type hookWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	head   []byte
}

func (w *hookWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *hookWriter) Write(b []byte) (int, error) {
	w.wrote = true
	if n := len(duplicateAnswer) - len(w.head); n > 0 {
		w.head = append(w.head, b[:min(n, len(b))]...)
	}
	return w.ResponseWriter.Write(b)
}

func (w *hookWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observedTransport counts the calls made through it to an API (github, slack) by status class, and
// for GitHub the rate limit its answers say is left.
type observedTransport struct {
	next http.RoundTripper
	api  string
	m    *metrics
}

func (t observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.m.apiCalls.WithLabelValues(t.api, "error").Inc()
		return resp, err
	}
	t.m.apiCalls.WithLabelValues(t.api, statusClass(resp.StatusCode)).Inc()
	if t.api == "github" {
		if left, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining")); err == nil {
			resource := resp.Header.Get("X-RateLimit-Resource")
			switch resource {
			case "core", "search", "graphql", "code_search", "integration_manifest":
			default:
				resource = "other" // GitHub's list, bounded: a fake or a proxy cannot add labels
			}
			t.m.rateLeft.WithLabelValues(resource).Set(float64(left))
		}
	}
	return resp, nil
}

// apiClient is an HTTP client for api whose calls are counted, with the timeout bot's clients use.
func (m *metrics) apiClient(api string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: observedTransport{next: http.DefaultTransport, api: api, m: m}}
}
