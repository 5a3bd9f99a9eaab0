package bot_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/queue"
)

// newEditHarness is the webhook handler on real Postgres and Redis, with the lines that let an
// edited or deleted comment change its queued task.
func newEditHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, "")
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	logger := slog.New(slog.DiscardHandler)
	lines := &queue.Lines{Store: h.store, Client: asynq.NewClientFromRedisClient(rdb),
		Inspector: asynq.NewInspectorFromRedisClient(rdb), Logger: logger}
	hook := &bot.GitHubWebhook{Secret: []byte(secret), AppID: 4242, Tasks: h.submitter, Comments: lines, Logger: logger}
	h.engine = gin.New()
	h.engine.POST("/webhooks/github", hook.Handle)
	return h
}

// changed is GitHub's example edited or deleted payload, on installation 1 (as the created one), with
// the comment's body and its editor (its author unless changed).
func changed(t *testing.T, action, body string, edit func(p map[string]any)) []byte {
	t.Helper()
	return payload(t, "issue_comment."+action+".json", func(p map[string]any) {
		p["installation"] = map[string]any{"id": 1}
		p["comment"].(map[string]any)["body"] = body
		if edit != nil {
			edit(p)
		}
	})
}

func TestWebhookEditedOrDeletedComment(t *testing.T) {
	const created = "/sesame fix the typo in the README"
	byOther := func(p map[string]any) {
		p["sender"] = map[string]any{"login": "mallory", "id": 666, "type": "User"}
	}
	for _, tc := range []struct {
		name    string
		started bool // the task left the queue before the comment changed
		event   []byte
		code    int
		status  string // of the answer
		want    sesame.TaskStatus
		reason  string // in the task's reason
		instr   string // the task's instruction afterwards
	}{
		{name: "edited", event: changed(t, "edited", "/sesame fix the typo in CONTRIBUTING instead --model claude-opus-4", nil),
			code: http.StatusAccepted, status: "edited", want: sesame.StatusQueued, instr: "fix the typo in CONTRIBUTING instead"},
		{name: "edited without a command", event: changed(t, "edited", "Never mind, I fixed it myself.", nil),
			code: http.StatusAccepted, status: "cancelled", want: sesame.StatusStopped, reason: "no longer asks", instr: "fix the typo in the README"},
		{name: "edited into a quote", event: changed(t, "edited", "> /sesame fix the typo in the README", nil),
			code: http.StatusAccepted, status: "cancelled", want: sesame.StatusStopped, reason: "no longer asks", instr: "fix the typo in the README"},
		{name: "edited into a bad command", event: changed(t, "edited", "/sesame fix it --fast", nil),
			code: http.StatusAccepted, status: "cancelled", want: sesame.StatusStopped, reason: `could not be read: unknown flag "--fast"`, instr: "fix the typo in the README"},
		{name: "edited into help", event: changed(t, "edited", "/sesame help", nil),
			code: http.StatusAccepted, status: "cancelled", want: sesame.StatusStopped, reason: "runs no agent", instr: "fix the typo in the README"},
		{name: "edited by someone else", event: changed(t, "edited", "/sesame delete every test", byOther),
			code: http.StatusOK, status: "ignored", want: sesame.StatusQueued, instr: "fix the typo in the README"},
		{name: "deleted", event: changed(t, "deleted", created, nil),
			code: http.StatusAccepted, status: "cancelled", want: sesame.StatusStopped, reason: "@Codertocat deleted the comment", instr: "fix the typo in the README"},
		{name: "deleted by a maintainer", event: changed(t, "deleted", created, byOther),
			code: http.StatusAccepted, status: "cancelled", want: sesame.StatusStopped, reason: "@mallory deleted the comment", instr: "fix the typo in the README"},
		{name: "edited after it started", started: true, event: changed(t, "edited", "/sesame do something else", nil),
			code: http.StatusOK, status: "unchanged", want: sesame.StatusPreparing, instr: "fix the typo in the README"},
		{name: "deleted after it started", started: true, event: changed(t, "deleted", created, nil),
			code: http.StatusOK, status: "unchanged", want: sesame.StatusPreparing, instr: "fix the typo in the README"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newEditHarness(t)
			rec := h.post(t, "issue_comment", "create", payload(t, "issue_comment.created.with-installation.json", withBody(created)))
			if rec.Code != http.StatusAccepted {
				t.Fatalf("create: %d %s", rec.Code, rec.Body)
			}
			id := decode(t, rec).TaskID
			if tc.started {
				if _, err := h.store.SetStatus(context.Background(), id, sesame.StatusPreparing, ""); err != nil {
					t.Fatal(err)
				}
			}
			rec = h.post(t, "issue_comment", "change", tc.event)
			r := decode(t, rec)
			if rec.Code != tc.code || r.Status != tc.status {
				t.Fatalf("answer %d %+v, want %d %s", rec.Code, r, tc.code, tc.status)
			}
			if r.Status != "ignored" && r.TaskID != id {
				t.Errorf("answer names task %q, want %s", r.TaskID, id)
			}
			task, err := h.store.Task(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if task.Status != tc.want || !strings.Contains(task.Reason, tc.reason) || task.Instruction != tc.instr {
				t.Errorf("task = %s %q %q, want %s with %q, instruction %q", task.Status, task.Reason, task.Instruction, tc.want, tc.reason, tc.instr)
			}
			if tc.name == "edited" && task.Model != "claude-opus-4" {
				t.Errorf("edited task's model = %q, want the new one", task.Model)
			}
			if tc.code == http.StatusAccepted { // woken, to tell its requester
				if info, err := h.inspector.GetTaskInfo("default", id); err != nil || info.State != asynq.TaskStatePending {
					t.Errorf("the changed task's job = %+v, %v; want pending", info, err)
				}
			}
		})
	}
}

// An edited or deleted comment that asked for nothing changes nothing.
func TestWebhookEditedCommentWithoutTask(t *testing.T) {
	h := newEditHarness(t)
	for _, action := range []string{"edited", "deleted"} {
		rec := h.post(t, "issue_comment", action, changed(t, action, "/sesame fix the typo", nil))
		if r := decode(t, rec); rec.Code != http.StatusOK || r.Status != "ignored" {
			t.Errorf("%s: %d %+v, want 200 ignored", action, rec.Code, r)
		}
	}
	if n := h.countTasks(t); n != 0 {
		t.Errorf("%d tasks stored, want none", n)
	}
}
