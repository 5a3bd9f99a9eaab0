package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/postgres"
)

// BenchmarkWebhookIngest measures a signed issue_comment delivery → 202 with the task stored in
// Postgres and its job enqueued in Redis, through a web-role Main over real HTTP on loopback.
//
//	rate=500: an open-loop load of 500 requests per second; reports p50/p99/max latency.
//	max:      16 concurrent senders as fast as they go; reports sustained requests per second.
//
// Both also report the CPU used per request by this process (server and senders) and by the
// PostgreSQL backends of the benchmark's database, which vary far less than latency on a shared
// machine. Each delivery is a new comment, since one comment makes one task.
//
// Run with: make bench   (go test -run '^$' -bench BenchmarkWebhookIngest -benchtime 10000x ./cmd/sesame)
//
// Measured on the 2-core development machine while other work ran on it (load average 1.3–2.6;
// spread of 5 runs each, same benchmark code):
//
//	                                  rate=500: p50  p99        max        max: req/s   PostgreSQL CPU/req
//	before: an INSERT per delivery    1.3–1.6 ms     5.0–11 ms  75–120 ms  1,350–1,650  300–440 µs
//	then: group commit, decode, pools 1.4–1.6 ms     5.4–7.8 ms 18–40 ms   3,100–3,200  90–100 µs
//	+ task_created audited per request 2.6–3.0 ms     15–68 ms   47–223 ms  1,600–1,740  214–255 µs
//	now: that audit batched (3 runs)  1.7–1.9 ms     6.6–8.6 ms 17–36 ms   2,260–2,750  123–173 µs
//
// At 500/s most deliveries still commit alone: PostgreSQL's single-row commit alone (pgbench at 500
// transactions/s) has a p99 of 2.8–3.2 ms here, most of the p99 above.
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
	// Each delivery is a new comment (one comment makes one task): its id replaces this one.
	const commentID = 100_000_000_000_000
	p["comment"].(map[string]any)["id"] = commentID
	template, _ := json.Marshal(p)
	marker := fmt.Appendf(nil, `"id":%d`, commentID)
	if bytes.Count(template, marker) != 1 {
		b.Fatalf("the payload does not hold %s once", marker)
	}
	url := "http://" + m.Addr() + "/webhooks/github"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	var seq atomic.Int64
	send := func() (time.Duration, error) {
		n := seq.Add(1)
		body := bytes.Replace(template, marker, fmt.Appendf(nil, `"id":%d`, commentID+n), 1)
		req := githubtest.NewWebhookRequest(url, "issue_comment", fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), n), secret, body)
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
		cpu0 := sampleIngestCPU(m.DB)
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
		sampleIngestCPU(m.DB).report(b, cpu0)
	})

	b.Run("max", func(b *testing.B) {
		const senders = 16
		var next atomic.Int64
		var failed atomic.Int64
		var wg sync.WaitGroup
		cpu0 := sampleIngestCPU(m.DB)
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
		sampleIngestCPU(m.DB).report(b, cpu0)
	})

	// Every accepted delivery is one stored task.
	var n int
	m.DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM tasks").Scan(&n)
	if want := int(seq.Load()); n != want {
		b.Fatalf("%d tasks stored for %d accepted deliveries", n, want)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuUse is the CPU time used so far by this process (server and senders together) and by each
// PostgreSQL backend serving the benchmark's database. Latency on a shared machine follows whatever
// else runs; CPU per request hardly does, so the two together say what a change did.
type cpuUse struct {
	self     time.Duration
	backends map[int]time.Duration // by pid
}

func sampleIngestCPU(db *postgres.DB) cpuUse {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	u := cpuUse{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), backends: map[int]time.Duration{}}
	rows, _ := db.Pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
	for _, pid := range pids {
		u.backends[int(pid)] = procCPUTime(int(pid))
	}
	return u
}

// report adds the CPU used since u0, per request of b, as metrics: this process's and PostgreSQL's.
func (u cpuUse) report(b *testing.B, u0 cpuUse) {
	var db time.Duration
	for pid, t := range u.backends {
		db += t - u0.backends[pid] // a backend started since counts from zero
	}
	perReq := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(perReq(u.self-u0.self), "cpu-µs/req")
	b.ReportMetric(perReq(db), "pg-cpu-µs/req")
}

// procCPUTime returns the user and system CPU time a process has used, from /proc/<pid>/stat.
func procCPUTime(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields from the 3rd (state) on
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

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
