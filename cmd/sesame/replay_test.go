package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/internal/githubtest"
)

// envSetting returns the value of name in env.
func envSetting(t *testing.T, env []string, name string) string {
	t.Helper()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	t.Fatalf("%s not in the environment", name)
	return ""
}

// newComment adds a comment by login on issue 1 to the fake GitHub, and returns its issue_comment
// delivery: a new comment each time, since one comment makes one task.
func newComment(t *testing.T, gh *githubtest.Server, login, body string) []byte {
	t.Helper()
	c := gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: 1, User: login, Body: body})
	var p map[string]any
	if err := json.Unmarshal(commentPayload(t, login, body), &p); err != nil {
		t.Fatal(err)
	}
	p["comment"].(map[string]any)["id"] = c.ID
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// GitHub does not sign X-GitHub-Delivery: the same signed body sent again under new delivery ids is
// the same comment, and makes one task.
func TestEndToEndReplayedBodyMakesOneTask(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, repo)
	env := baseEnv(t, gh)
	p := startSesame(t, env, "--role", "web")
	body := commentPayload(t, "alice", "/sesame fix the typo in the README")

	var taskID string
	for i, delivery := range []string{"72d3162e-0001", "72d3162e-0002", "72d3162e-0003"} {
		code, resp := deliver(t, p, delivery, body)
		switch {
		case i == 0 && (code != http.StatusAccepted || resp["task_id"] == ""):
			t.Fatalf("first delivery answered %d %v, want 202 with a task id", code, resp)
		case i == 0:
			taskID = resp["task_id"]
		case code != http.StatusOK || resp["status"] != "duplicate" || resp["task_id"] != taskID:
			t.Fatalf("the body again under delivery %s answered %d %v, want 200 duplicate of task %s", delivery, code, resp, taskID)
		}
	}
	// GitHub's own redelivery, under the first delivery id, is a duplicate too.
	if code, resp := deliver(t, p, "72d3162e-0001", body); code != http.StatusOK || resp["task_id"] != taskID {
		t.Fatalf("redelivery answered %d %v, want 200 duplicate of task %s", code, resp, taskID)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, envSetting(t, env, "DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tasks, events int
	conn.QueryRow(ctx, "SELECT count(*) FROM tasks").Scan(&tasks)
	conn.QueryRow(ctx, "SELECT count(*) FROM task_events").Scan(&events)
	if tasks != 1 || events != 1 {
		t.Fatalf("%d tasks and %d events stored for one comment sent four times, want 1 and 1", tasks, events)
	}
	opt, err := redis.ParseURL(envSetting(t, env, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if pending, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks("default"); err != nil || len(pending) != 1 {
		t.Fatalf("%d jobs queued (%v), want 1", len(pending), err)
	}
}
