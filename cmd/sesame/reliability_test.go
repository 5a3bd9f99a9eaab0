package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/pgcluster"
	"github.com/sesame-works/sesame/internal/proctest"
	"github.com/sesame-works/sesame/internal/sandboxtest"
	"github.com/sesame-works/sesame/queue"
)

// The reliability suite: faults an operator meets on a bad day, dealt to the real binary with real
// PostgreSQL and Redis. Each test logs its counts (sent, run, lost, duplicated) for the figures.

// workerEnv is what a Sesame that runs agents needs, for starting it more than once on the same
// database, Redis and task folder.
func workerEnv(t *testing.T, gh *githubtest.Server, model *modeltest.Server, extra ...string) ([]string, string) {
	t.Helper()
	taskBase := sandboxtest.TaskBase(t)
	env := append(baseEnv(t, gh),
		"AGENTS_DIR="+agentsDir(t),
		"ANTHROPIC_API_KEY="+anthropicKey,
		"ANTHROPIC_BASE_URL="+model.URL,
		"TASK_DIR_BASE="+taskBase,
	)
	return append(env, extra...), taskBase
}

func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if s, ok := strings.CutPrefix(kv, name+"="); ok {
			v = s // the last one wins, as for a process
		}
	}
	return v
}

// commentWithID is the example issue_comment payload for a new comment with id.
func commentWithID(t *testing.T, login, body string, id int64) []byte {
	t.Helper()
	var p map[string]any
	json.Unmarshal(commentPayload(t, login, body), &p)
	p["comment"].(map[string]any)["id"] = id
	out, _ := json.Marshal(p)
	return out
}

func stepMessages(t *testing.T, dbURL, id string) map[string]time.Time {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT message, created_at FROM task_events WHERE task_id = $1 AND type = 'step'`, id)
	out := map[string]time.Time{}
	for rows.Next() {
		var msg string
		var at time.Time
		rows.Scan(&msg, &at)
		if _, seen := out[msg]; !seen {
			out[msg] = at
		}
	}
	return out
}

// A worker is killed (SIGKILL) while its agent runs. Its agent dies with it; restarted, Sesame finds
// the task within 30 s of the kill, runs it again from the start, says so, and ends with exactly one
// pull request; the dead worker's task folder is gone.
func TestReliabilityWorkerKilledMidTask(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	model := modeltest.NewServer(t, modeltest.Step{Hang: true})
	env, taskBase := workerEnv(t, gh, model)
	dbURL := envValue(env, "DATABASE_URL")
	first := startSesame(t, env)

	code, resp := deliver(t, first, "kill-1", commentPayload(t, "alice", "/sesame fix the typo in README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	id := resp["task_id"]
	waitForWithin(t, "the agent's first model turn", 90*time.Second, func() bool {
		for _, r := range model.Requests() {
			if r.Step == 0 {
				return true
			}
		}
		return false
	})
	if status, _ := taskStatus(t, dbURL, id); status != "running" {
		t.Fatalf("task is %s when the worker is killed, want running", status)
	}
	killed := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.done <- <-first.done // dead; left for the cleanup that stops it
	// The agent ran in bubblewrap tied to the worker: it does not outlive it.
	waitForWithin(t, "the dead worker's agent to end", 10*time.Second, func() bool { return len(proctest.Under(taskBase)) == 0 })

	model.SetSteps(modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`), modeltest.Step{Text: "Fixed the typo in README.md."})
	second := startSesame(t, env)
	status, reason := waitEnded(t, dbURL, id, 3*time.Minute)
	if status != "completed" {
		t.Fatalf("task ended %s: %s\n%s", status, reason, second.Logs())
	}
	steps := stepMessages(t, dbURL, id)
	resumed, ok := steps["resumed"]
	if !ok {
		t.Fatalf("no resumed event; steps %v", steps)
	}
	detect := resumed.Sub(killed)
	t.Logf("worker killed mid-task: sent 1, run 1, lost 0, duplicated %d; resumed %.1f s after the kill",
		len(gh.PullRequests(repo))-1, detect.Seconds())
	if detect > 30*time.Second {
		t.Errorf("the dead worker's task was resumed %s after the kill, want within 30 s", detect)
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want exactly 1", len(prs))
	}
	if got := gitOut(t, bare, "show", prs[0].Head+":README.md"); !strings.Contains(got, "fixes the typo") {
		t.Errorf("pushed README = %q, want the fix", got)
	}
	final := replies(gh)
	if len(final) != 1 || !strings.Contains(final[0].Body, "opened #") || !strings.Contains(final[0].Body, "stopped once") {
		t.Errorf("the reply should give the pull request and say the task was resumed: %+v", final)
	}
	if _, err := os.Stat(filepath.Join(taskBase, id)); !os.IsNotExist(err) {
		t.Errorf("the task's folder is still there: %v", err)
	}
	if left := proctest.Under(taskBase); len(left) > 0 {
		t.Errorf("processes left in the task folders: %v", left)
	}
}

// Redis restarts empty while acknowledged tasks wait in the queue, their jobs confirmed by the
// reconciler: the reconciler enqueues them again within one interval and each runs once.
func TestReliabilityRedisLosesQueuedJobs(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, repo)
	gh.CreateRepo(t, repo, map[string]string{"README.md": "# Hello\n"})
	env := append(baseEnv(t, gh), "QUEUE_RECONCILE_INTERVAL=1s")
	dbURL, redisURL := envValue(env, "DATABASE_URL"), envValue(env, "REDIS_URL")
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	p := startSesame(t, env)

	// The worker takes nothing while the queue is paused (help is a command: its queue): the tasks wait,
	// acknowledged with 202.
	if err := inspector.PauseQueue(queue.CommandQueue); err != nil {
		t.Fatal(err)
	}
	const sent = 5
	var ids []string
	for i := range sent {
		code, resp := deliver(t, p, fmt.Sprintf("flush-%d", i), commentWithID(t, "alice", "/sesame help", int64(9000+i)))
		if code != http.StatusAccepted {
			t.Fatalf("webhook answered %d %v", code, resp)
		}
		ids = append(ids, resp["task_id"])
	}
	waitForWithin(t, "the reconciler to confirm every job", 20*time.Second, func() bool {
		return countRows(t, dbURL, `SELECT count(*) FROM tasks WHERE enqueued_at IS NOT NULL AND status = 'queued'`) == sent
	})
	if err := rdb.FlushDB(context.Background()).Err(); err != nil { // Redis restarted without its data
		t.Fatal(err)
	}
	flushed := time.Now()
	for _, id := range ids {
		if status, reason := waitEnded(t, dbURL, id, 30*time.Second); status != "completed" {
			t.Fatalf("task %s ended %s: %s", id, status, reason)
		}
	}
	took := time.Since(flushed)
	helps := 0
	for _, c := range replies(gh) {
		if strings.Contains(c.Body, "/sesame") {
			helps++
		}
	}
	t.Logf("Redis flushed with %d acknowledged tasks queued: sent %d, run %d, lost %d, duplicated %d; all ended %.1f s after the flush",
		sent, sent, helps, sent-min(helps, sent), max(helps-sent, 0), took.Seconds())
	if helps != sent {
		t.Errorf("%d help replies for %d tasks, want one each", helps, sent)
	}
}

// PostgreSQL (a cluster of the test's own) restarts while the agent runs: the task carries on and
// ends with exactly one pull request.
func TestReliabilityPostgresRestartsMidTask(t *testing.T) {
	cluster := pgcluster.Start(t)
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t,
		modeltest.Bash(`sleep 6`),
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)
	dbURL := cluster.CreateDatabase(t, "sesame")
	env, _ := workerEnv(t, gh, model, "DATABASE_URL="+dbURL)
	p := startSesame(t, env)

	code, resp := deliver(t, p, "pg-restart-1", commentPayload(t, "alice", "/sesame fix the typo in README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	id := resp["task_id"]
	waitForWithin(t, "the agent's sleep", 90*time.Second, func() bool {
		for _, r := range model.Requests() {
			if r.Step == 0 {
				return true
			}
		}
		return false
	})
	cluster.Restart(t)
	status, reason := waitEnded(t, dbURL, id, 3*time.Minute)
	prs := len(gh.PullRequests(repo))
	t.Logf("PostgreSQL restarted mid-task: sent 1, run %d, lost %d, duplicated %d", min(prs, 1), 1-min(prs, 1), max(prs-1, 0))
	if status != "completed" || prs != 1 {
		t.Fatalf("task ended %s (%s) with %d pull requests, want completed with 1\n%s", status, reason, prs, p.Logs())
	}
}

func countRows(t *testing.T, dbURL, query string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitForWithin(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
