package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
)

// BenchmarkWebhookIngest measures a signed issue_comment delivery → 202 with the task stored in
// Postgres and its job enqueued in Redis, through a web-role Main over real HTTP on loopback.
//
//	rate=500: an open-loop load of 500 requests per second; reports p50/p99/max latency.
//	max:      16 concurrent senders as fast as they go; reports sustained requests per second.
//
// Run with: make bench   (go test -run '^$' -bench BenchmarkWebhookIngest -benchtime 10000x ./cmd/sesame)
func BenchmarkWebhookIngest(b *testing.B) {
	const secret = "bench-webhook-secret"
	env := map[string]string{
		"BETTER_AUTH_SECRET":    "bench-auth-secret-0123456789abcdefghijklmnop",
		"ENCRYPTION_KEY":        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"BASE_URL":              "https://sesame.example.com",
		"DATABASE_URL":          pgtest.NewDatabase(b) + os.Getenv("BENCH_DB_PARAMS"),
		"REDIS_URL":             redistest.New(b).URL(),
		"LISTEN_ADDR":           "127.0.0.1:0",
		"GITHUB_WEBHOOK_SECRET": secret,
	}
	m := startMain(b, RoleWeb, env)

	raw, err := os.ReadFile("../../bot/testdata/github/issue_comment.created.with-installation.json")
	if err != nil {
		b.Fatal(err)
	}
	var p map[string]any
	json.Unmarshal(raw, &p)
	p["comment"].(map[string]any)["body"] = "Thanks for the report.\n\n/sesame fix the typo in the README --agent claude"
	body, _ := json.Marshal(p)
	url := "http://" + m.Addr() + "/webhooks/github"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	var seq atomic.Int64
	send := func() (time.Duration, error) {
		req := githubtest.NewWebhookRequest(url, "issue_comment", fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), seq.Add(1)), secret, body)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start), nil
	}
	// Warm the connections and the database's caches.
	for range 200 {
		if _, err := send(); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("rate=500", func(b *testing.B) {
		const rate = 500
		lat := make([]time.Duration, b.N)
		var wg sync.WaitGroup
		var failed atomic.Int64
		interval := time.Second / rate
		start := time.Now()
		b.ResetTimer()
		for i := range b.N {
			// Open loop: request i leaves at start + i*interval, whether or not earlier ones returned.
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			wg.Go(func() {
				d, err := send()
				if err != nil {
					failed.Add(1)
					return
				}
				lat[i] = d
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d of %d requests failed", n, b.N)
		}
		slices.Sort(lat)
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	})

	b.Run("max", func(b *testing.B) {
		const senders = 16
		var next atomic.Int64
		var failed atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for range senders {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					if _, err := send(); err != nil {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d of %d requests failed", n, b.N)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	})

	// Every accepted delivery is one stored task.
	var n int
	m.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM tasks").Scan(&n)
	if want := int(seq.Load()); n != want {
		b.Fatalf("%d tasks stored for %d accepted deliveries", n, want)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startMain opens and runs a Main of role with env as its whole environment, until b ends.
func startMain(b testing.TB, role string, env map[string]string) *Main {
	b.Helper()
	m := &Main{Role: role, Stderr: io.Discard, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done; m.Close() })
	return m
}
