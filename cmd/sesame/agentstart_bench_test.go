package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/internal/sandboxtest"
)

// BenchmarkWebhookToAgentStart measures, with a warm mirror, the time from a signed issue_comment
// delivery being sent to the agent's process being started in its sandbox (the "agent started" event):
// ingest, queue pick-up, permission check, 👀 and progress comment, mirror fetch, checkout and sandbox
// creation. The agent is the real Claude Code CLI answering "done" at once, so each task ends quickly.
//
// Run with: scripts/test -run '^$' -bench BenchmarkWebhookToAgentStart -benchtime 30x ./cmd/sesame
func BenchmarkWebhookToAgentStart(b *testing.B) {
	const secret, repo = "bench-webhook-secret", "Codertocat/Hello-World"
	agents := os.Getenv("AGENTS_DIR")
	if agents == "" {
		agents, _ = filepath.Abs("../../.agents")
	}
	gh := githubtest.NewServer(b)
	gh.AddInstallation(1, repo)
	gh.SetPermission(repo, "alice", "write")
	files := map[string]string{"README.md": "# Hello\n"}
	for i := range 2000 {
		files[fmt.Sprintf("src/pkg%02d/file%04d.go", i%50, i)] = fmt.Sprintf("package pkg%02d\n\nconst X%d = %d\n", i%50, i, i)
	}
	gh.CreateRepo(b, repo, files)
	model := modeltest.NewServer(b) // every turn answers "done": no changes, no PR
	env := map[string]string{
		"BETTER_AUTH_SECRET":     "bench-auth-secret-0123456789abcdefghijklmnop",
		"ENCRYPTION_KEY":         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"BASE_URL":               "https://sesame.example.com",
		"DATABASE_URL":           pgtest.NewDatabase(b),
		"REDIS_URL":              redistest.New(b).URL(),
		"LISTEN_ADDR":            "127.0.0.1:0",
		"GITHUB_WEBHOOK_SECRET":  secret,
		"GITHUB_APP_ID":          fmt.Sprint(gh.AppID),
		"GITHUB_APP_PRIVATE_KEY": string(gh.PrivateKeyPEM),
		"GITHUB_API_URL":         gh.URL + "/",
		"AGENTS_DIR":             agents,
		"ANTHROPIC_API_KEY":      "sk-ant-bench-0123456789",
		"ANTHROPIC_BASE_URL":     model.URL,
		"TASK_DIR_BASE":          sandboxtest.TaskBase(b),
	}
	m := startMain(b, RoleAll, env)

	raw, err := os.ReadFile("../../bot/testdata/github/issue_comment.created.with-installation.json")
	if err != nil {
		b.Fatal(err)
	}
	var p map[string]any
	json.Unmarshal(raw, &p)
	p["comment"].(map[string]any)["body"] = "/sesame fix the typo in the README"
	p["comment"].(map[string]any)["user"].(map[string]any)["login"] = "alice"
	p["sender"].(map[string]any)["login"] = "alice"
	body, _ := json.Marshal(p)
	commentID := int64(p["comment"].(map[string]any)["id"].(float64))
	gh.AddComment(githubtest.Comment{ID: commentID, Repo: repo, IssueNumber: 1, User: "alice", Body: "/sesame fix"})

	url := "http://" + m.Addr() + "/webhooks/github"
	n := 0
	// one runs a task to its end and returns the time from sending its webhook to its agent starting.
	one := func() time.Duration {
		n++
		sent := time.Now()
		resp, err := http.DefaultClient.Do(githubtest.NewWebhookRequest(url, "issue_comment", fmt.Sprintf("start-%d-%d", sent.UnixNano(), n), secret, body))
		if err != nil {
			b.Fatal(err)
		}
		var out map[string]string
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		id := out["task_id"]
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var status string
			var started *time.Time
			m.DB.Pool.QueryRow(context.Background(), `SELECT status, (SELECT min(created_at) FROM task_events
				WHERE task_id = $1 AND message = 'agent started') FROM tasks WHERE id = $1`, id).Scan(&status, &started)
			if status == "completed" || status == "failed" {
				if started == nil {
					b.Fatalf("task %s ended %s without starting its agent", id, status)
				}
				return started.Sub(sent)
			}
			if time.Now().After(deadline) {
				b.Fatalf("task %s still %s", id, status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	one() // warms the mirror
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		lat[i] = one()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}
