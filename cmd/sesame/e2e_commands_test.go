package main_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-works/sesame/internal/githubtest"
)

// waitReply waits for a comment of Sesame's holding every one of want, and returns it.
func waitReply(t *testing.T, gh *githubtest.Server, what string, want ...string) string {
	t.Helper()
	var found string
	waitFor(t, what, func() bool {
		for _, c := range replies(gh) {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(c.Body, w)
			}
			if ok {
				found = c.Body
				return true
			}
		}
		return false
	})
	return found
}

// TestEndToEndCommands: through the real binary and the fake GitHub, a task that fails (its
// repository is not on GitHub), then /sesame status lists it, /sesame stpo is answered with "did you
// mean" and runs nothing, /sesame retry runs it again as a new task with its instruction and base and
// the new model, and /sesame stop finds nothing running.
func TestEndToEndCommands(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, repo)
	gh.SetPermission(repo, "alice", "maintain")
	env := baseEnv(t, gh)
	dbURL := envValue(env, "DATABASE_URL")
	p := startSesame(t, env)
	const taskPage = "https://sesame.example.com/tasks/"

	code, resp := deliver(t, p, "cmd-run", newComment(t, gh, "alice", "/sesame --base dev fix the typo in the README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	failed := resp["task_id"]
	if status, reason := waitEnded(t, dbURL, failed, time.Minute); status != "failed" {
		t.Fatalf("the first task ended %s (%s), want failed: its repository is not on GitHub", status, reason)
	}
	waitReply(t, gh, "the failed task's reply", "could not finish this task", taskPage+failed)

	deliver(t, p, "cmd-status", newComment(t, gh, "alice", "/sesame status"))
	status := waitReply(t, gh, "the status reply", "Sesame's tasks in this thread")
	for _, want := range []string{"❌ **failed**", "[`" + failed + "`](" + taskPage + failed + ")", "`fix the typo in the README`", "asked by alice"} {
		if !strings.Contains(status, want) {
			t.Errorf("status reply lacks %q:\n%s", want, status)
		}
	}

	n := countTasks(t, dbURL, "run")
	deliver(t, p, "cmd-typo", newComment(t, gh, "alice", "/sesame stpo"))
	typo := waitReply(t, gh, "the typo's reply", `unknown command "stpo"; did you mean stop?`)
	if !strings.Contains(typo, "/sesame status") {
		t.Errorf("the typo's reply lacks the usage:\n%s", typo)
	}

	_, resp = deliver(t, p, "cmd-retry", newComment(t, gh, "alice", "/sesame retry --model claude-opus-4"))
	retryCmd := resp["task_id"]
	retried := waitReply(t, gh, "the retry's reply", "🔁 Running task [`"+failed+"`]")
	again := retryTask(t, dbURL, retryCmd)
	if again.id == "" {
		t.Fatalf("no task made by the retry %s", retryCmd)
	}
	if got := (retryRow{id: again.id, instruction: "fix the typo in the README", base: "dev", model: "claude-opus-4", requester: "alice"}); got != again {
		t.Errorf("the retry's task = %+v, want %+v", again, got)
	}
	if !strings.Contains(retried, "again as task [`"+again.id+"`]("+taskPage+again.id+")") || !strings.Contains(retried, "base `dev`") {
		t.Errorf("the retry's reply does not link the new task with its options:\n%s", retried)
	}
	if got := countTasks(t, dbURL, "run"); got != n+1 {
		t.Errorf("%d run tasks after the typo and the retry, want %d (the typo ran nothing, the retry made one)", got, n+1)
	}
	// The new task runs like any other: it fails the same way, and says so in its own reply.
	if status, _ := waitEnded(t, dbURL, again.id, time.Minute); status != "failed" {
		t.Errorf("the retried task ended %s, want failed", status)
	}
	waitReply(t, gh, "the retried task's reply", "could not finish this task", taskPage+again.id)

	deliver(t, p, "cmd-stop", newComment(t, gh, "alice", "/sesame stop"))
	waitReply(t, gh, "the stop's reply", "Nothing is running in this thread")
}

// retryRow is the task a retry made, as stored.
type retryRow struct{ id, instruction, base, model, requester string }

// retryTask reads the task that the retry command cmd made (its request key is "retry:" and cmd).
func retryTask(t *testing.T, dbURL, cmd string) retryRow {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var r retryRow
	conn.QueryRow(context.Background(), `SELECT id::text, instruction, base, model, requester FROM tasks
		WHERE request_key = $1 AND kind = 'run'`, "retry:"+cmd).Scan(&r.id, &r.instruction, &r.base, &r.model, &r.requester)
	return r
}

// countTasks counts the stored tasks of kind.
func countTasks(t *testing.T, dbURL, kind string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM tasks WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
