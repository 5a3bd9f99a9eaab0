package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/queue"
)

const secret = "webhook-secret-for-tests"

// harness is the webhook handler on real Postgres and Redis.
type harness struct {
	engine    *gin.Engine
	db        *postgres.DB
	store     *postgres.TaskStore
	submitter *queue.Submitter
	inspector *asynq.Inspector
}

func newHarness(t testing.TB, redisAddr string) *harness {
	t.Helper()
	db := pgtest.Open(t)
	logger := slog.New(slog.DiscardHandler)
	var opt *redis.Options
	if redisAddr == "" {
		opt = redistest.New(t).Options()
	} else {
		opt = &redis.Options{Addr: redisAddr}
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	h := &harness{db: db, store: postgres.NewTaskStore(db), inspector: asynq.NewInspectorFromRedisClient(rdb)}
	h.submitter = &queue.Submitter{Store: h.store, Client: asynq.NewClientFromRedisClient(rdb), Logger: logger}
	hook := &bot.GitHubWebhook{Secret: []byte(secret), AppID: 4242, Tasks: h.submitter, Logger: logger}
	gin.SetMode(gin.ReleaseMode)
	h.engine = gin.New()
	h.engine.POST("/webhooks/github", hook.Handle)
	return h
}

func (h *harness) post(t testing.TB, event, delivery string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := githubtest.NewWebhookRequest("/webhooks/github", event, delivery, secret, body)
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	return rec
}

// payload reads one of GitHub's example payloads and applies edit to it.
func payload(t testing.TB, name string, edit func(p map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "github", name))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return raw
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func withBody(body string) func(map[string]any) {
	return func(p map[string]any) { p["comment"].(map[string]any)["body"] = body }
}

type response struct {
	Status string `json:"status"`
	TaskID string `json:"task_id"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

func decode(t testing.TB, rec *httptest.ResponseRecorder) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("response %d %q is not JSON: %v", rec.Code, rec.Body, err)
	}
	return r
}

func (h *harness) countTasks(t testing.TB) int {
	t.Helper()
	var n int
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM tasks").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookCreatesQueuedTask(t *testing.T) {
	h := newHarness(t, "")
	body := payload(t, "issue_comment.created.with-installation.json",
		withBody("Thanks!\n\n/sesame fix the typo in the README --agent codex --model gpt-5"))
	rec := h.post(t, "issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958", body)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d %s, want 202", rec.Code, rec.Body)
	}
	r := decode(t, rec)
	task, err := h.store.Task(context.Background(), r.TaskID)
	if err != nil {
		t.Fatalf("task %q from the response: %v", r.TaskID, err)
	}
	want := sesame.Request{
		Source: sesame.SourceGitHub, DeliveryID: "github:72d3162e-cc78-11e3-81ab-4c9367dc0958", Kind: sesame.KindRun,
		Repo: "Codertocat/Hello-World", InstallationID: 1, IssueNumber: 1, CommentID: task.CommentID,
		CommentURL: task.CommentURL, Requester: "Codertocat", RequesterID: task.RequesterID,
		Instruction: "fix the typo in the README", Agent: "codex", Model: "gpt-5",
		RequestKey: fmt.Sprintf("github:comment:1:%d:created", task.CommentID),
	}
	if task.Request != want {
		t.Errorf("stored request\n got %+v\nwant %+v", task.Request, want)
	}
	if task.CommentID == 0 || task.RequesterID == 0 || !strings.HasPrefix(task.CommentURL, "https://github.com/") {
		t.Errorf("comment id, requester id or url not read from the payload: %+v", task.Request)
	}
	info, err := h.inspector.GetTaskInfo("default", task.ID)
	if err != nil {
		t.Fatalf("job for task %s not in Redis: %v", task.ID, err)
	}
	if info.Type != queue.TypeTaskRun || !bytes.Contains(info.Payload, []byte(task.ID)) {
		t.Errorf("job = %s %s", info.Type, info.Payload)
	}
}

func TestWebhookPullRequestComment(t *testing.T) {
	h := newHarness(t, "")
	rec := h.post(t, "issue_comment", "pr-1", payload(t, "issue_comment.created.pull_request.json", withBody("/sesame rebase and fix CI")))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	task, _ := h.store.Task(context.Background(), decode(t, rec).TaskID)
	if !task.IsPullRequest || task.Instruction != "rebase and fix CI" {
		t.Errorf("task = %+v, want a pull request task", task.Request)
	}
}

func TestWebhookAnswers(t *testing.T) {
	h := newHarness(t, "")
	commentID := 1000
	comment := func(body string) []byte { // a new comment each time: one comment makes one task
		commentID++
		return payload(t, "issue_comment.created.with-installation.json", func(p map[string]any) {
			withBody(body)(p)
			p["comment"].(map[string]any)["id"] = commentID
		})
	}
	tests := []struct {
		name      string
		event     string
		body      []byte
		code      int
		status    string // response status field, "" for errors
		kind      sesame.TaskKind
		wantTasks int // tasks stored after this case, cumulative
	}{
		{name: "ping", event: "ping", body: payload(t, "ping.json", nil), code: 200, status: "pong"},
		{name: "other event", event: "issues", body: payload(t, "issues.opened.json", nil), code: 200, status: "ignored"},
		{name: "edited comment", event: "issue_comment", body: payload(t, "issue_comment.edited.json", withBody("/sesame fix it")), code: 200, status: "ignored"},
		{name: "deleted comment", event: "issue_comment", body: payload(t, "issue_comment.deleted.json", withBody("/sesame fix it")), code: 200, status: "ignored"},
		{name: "no command", event: "issue_comment", body: payload(t, "issue_comment.created.with-installation.json", nil), code: 200, status: "ignored"},
		{name: "quoted command", event: "issue_comment", body: comment("> /sesame fix it\n\nagreed"), code: 200, status: "ignored"},
		{name: "bot sender", event: "issue_comment", body: payload(t, "issue_comment.created.with-installation.json", func(p map[string]any) {
			withBody("/sesame fix it")(p)
			p["sender"].(map[string]any)["type"] = "Bot"
		}), code: 200, status: "ignored"},
		{name: "made by this app", event: "issue_comment", body: payload(t, "issue_comment.created.with-installation.json", func(p map[string]any) {
			withBody("/sesame fix it")(p)
			p["comment"].(map[string]any)["performed_via_github_app"] = map[string]any{"id": 4242, "slug": "sesame"}
		}), code: 200, status: "ignored"},
		{name: "no installation", event: "issue_comment", body: payload(t, "issue_comment.created.json", withBody("/sesame fix it")), code: 200, status: "ignored"},
		{name: "help", event: "issue_comment", body: comment("/sesame help"), code: 202, status: "queued", kind: sesame.KindHelp, wantTasks: 1},
		{name: "unknown flag", event: "issue_comment", body: comment("/sesame fix it --fast"), code: 202, status: "queued", kind: sesame.KindUsage, wantTasks: 2},
		{name: "empty instruction", event: "issue_comment", body: comment("/sesame --agent codex"), code: 202, status: "queued", kind: sesame.KindUsage, wantTasks: 3},
		{name: "unicode", event: "issue_comment", body: comment("/sesame 修正してください 🙏"), code: 202, status: "queued", kind: sesame.KindRun, wantTasks: 4},
		{name: "malformed json", event: "issue_comment", body: []byte(`{"action":"created",`), code: 400, wantTasks: 4},
		{name: "wrong shape", event: "issue_comment", body: []byte(`{"action":"created","comment":"nope"}`), code: 400, wantTasks: 4},
		{name: "missing fields", event: "issue_comment", body: []byte(`{"action":"created","comment":{"body":"/sesame fix"}}`), code: 400, wantTasks: 4},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.post(t, tt.event, "delivery-"+tt.name, tt.body)
			if rec.Code != tt.code {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tt.code)
			}
			r := decode(t, rec)
			if r.Status != tt.status {
				t.Errorf("status field %q, want %q (%s)", r.Status, tt.status, rec.Body)
			}
			if tt.code >= 400 && r.Error == "" {
				t.Errorf("error answer without a reason: %s", rec.Body)
			}
			if tt.status == "ignored" && r.Reason == "" {
				t.Errorf("ignored without a reason")
			}
			if tt.kind != "" {
				task, err := h.store.Task(context.Background(), r.TaskID)
				if err != nil {
					t.Fatal(err)
				}
				if task.Kind != tt.kind {
					t.Errorf("kind %s, want %s", task.Kind, tt.kind)
				}
				if tt.kind == sesame.KindUsage && task.Instruction == "" {
					t.Errorf("usage task without a reason")
				}
			}
			if n := h.countTasks(t); n != tt.wantTasks {
				t.Errorf("after case %d: %d tasks stored, want %d", i, n, tt.wantTasks)
			}
		})
	}
}

func TestWebhookRefusesBadRequests(t *testing.T) {
	h := newHarness(t, "")
	body := payload(t, "issue_comment.created.with-installation.json", withBody("/sesame fix it"))
	tests := []struct {
		name  string
		build func() *http.Request
		code  int
	}{
		{"no signature", func() *http.Request {
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d1", secret, body)
			r.Header.Del("X-Hub-Signature-256")
			return r
		}, 401},
		{"wrong secret", func() *http.Request {
			return githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d2", "not-the-secret", body)
		}, 401},
		{"sha1 signature only", func() *http.Request {
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d3", secret, body)
			r.Header.Set("X-Hub-Signature-256", strings.Replace(r.Header.Get("X-Hub-Signature-256"), "sha256=", "sha1=", 1))
			return r
		}, 401},
		{"body changed after signing", func() *http.Request {
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d4", secret, body)
			tampered := bytes.Replace(body, []byte("fix it"), []byte("rm -rf"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
			return r
		}, 401},
		{"no event header", func() *http.Request {
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d5", secret, body)
			r.Header.Del("X-GitHub-Event")
			return r
		}, 400},
		{"no delivery header", func() *http.Request {
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d6", secret, body)
			r.Header.Del("X-GitHub-Delivery")
			return r
		}, 400},
		{"form encoded", func() *http.Request {
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d7", secret, body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 415},
		{"declared too large", func() *http.Request {
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d8", secret, body)
			r.ContentLength = bot.MaxWebhookBody + 1
			return r
		}, 413},
		{"streamed too large", func() *http.Request {
			big := bytes.Repeat([]byte(" "), bot.MaxWebhookBody+1)
			r := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "d9", secret, big)
			r.ContentLength = -1
			return r
		}, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.engine.ServeHTTP(rec, tt.build())
			if rec.Code != tt.code {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tt.code)
			}
			if decode(t, rec).Error == "" {
				t.Errorf("no reason given: %s", rec.Body)
			}
		})
	}
	if n := h.countTasks(t); n != 0 {
		t.Fatalf("%d tasks stored from refused requests, want 0", n)
	}
}

func TestWebhookRepeatedDeliveryMakesOneTask(t *testing.T) {
	h := newHarness(t, "")
	body := payload(t, "issue_comment.created.with-installation.json", withBody("/sesame fix it"))
	first := h.post(t, "issue_comment", "same-delivery", body)
	second := h.post(t, "issue_comment", "same-delivery", body)
	if first.Code != 202 || second.Code != 200 {
		t.Fatalf("codes %d, %d; want 202 then 200", first.Code, second.Code)
	}
	a, b := decode(t, first), decode(t, second)
	if b.Status != "duplicate" || a.TaskID != b.TaskID {
		t.Errorf("second answer %+v, want duplicate of %s", b, a.TaskID)
	}
	if n := h.countTasks(t); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
	pending, _ := h.inspector.ListPendingTasks("default")
	if len(pending) != 1 {
		t.Fatalf("%d jobs pending, want 1", len(pending))
	}
	// The reconciler confirms the task without queueing its job twice.
	rc := &queue.Reconciler{Submitter: h.submitter, Grace: 1, Logger: slog.New(slog.DiscardHandler)}
	if n, err := rc.Once(context.Background()); n != 1 || err != nil {
		t.Fatalf("reconciler confirmed %d, err %v; want 1", n, err)
	}
	if pending, _ := h.inspector.ListPendingTasks("default"); len(pending) != 1 {
		t.Fatalf("%d jobs pending after reconcile, want 1", len(pending))
	}
	if task, _ := h.store.Task(context.Background(), a.TaskID); task.EnqueuedAt.IsZero() {
		t.Errorf("reconciled task not marked enqueued")
	}
}

// With Redis down the task is stored and answered 202; the reconciler enqueues it once Redis is back.
func TestWebhookRedisDownThenReconciled(t *testing.T) {
	down := newHarness(t, "127.0.0.1:1") // nothing listens on port 1
	rec := down.post(t, "issue_comment", "while-redis-down", payload(t, "issue_comment.created.with-installation.json", withBody("/sesame fix it")))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d %s, want 202 while Redis is down", rec.Code, rec.Body)
	}
	id := decode(t, rec).TaskID
	ctx := context.Background()
	task, err := down.store.Task(ctx, id)
	if err != nil || !task.EnqueuedAt.IsZero() {
		t.Fatalf("task %v enqueued at %v, want stored and not enqueued", err, task)
	}

	// Redis is back: a reconciler on a working Redis finds the task and enqueues it.
	up := redis.NewClient(redistest.New(t).Options())
	defer up.Close()
	sub := &queue.Submitter{Store: down.store, Client: asynq.NewClientFromRedisClient(up), Logger: slog.New(slog.DiscardHandler)}
	rc := &queue.Reconciler{Submitter: sub, Grace: 1, Logger: slog.New(slog.DiscardHandler)}
	n, err := rc.Once(ctx)
	if err != nil || n != 1 {
		t.Fatalf("reconciler enqueued %d, err %v; want 1", n, err)
	}
	if _, err := asynq.NewInspectorFromRedisClient(up).GetTaskInfo("default", id); err != nil {
		t.Fatalf("job not in Redis after reconcile: %v", err)
	}
	if n, _ := rc.Once(ctx); n != 0 {
		t.Fatalf("second reconcile enqueued %d, want 0", n)
	}
}

func TestWebhookPostgresDownIs503(t *testing.T) {
	db, err := postgres.Open(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rdb := redis.NewClient(redistest.New(t).Options())
	defer rdb.Close()
	logger := slog.New(slog.DiscardHandler)
	sub := &queue.Submitter{Store: postgres.NewTaskStore(db), Client: asynq.NewClientFromRedisClient(rdb), Logger: logger}
	hook := &bot.GitHubWebhook{Secret: []byte(secret), Tasks: sub, Logger: logger}
	engine := gin.New()
	engine.POST("/webhooks/github", hook.Handle)
	rec := httptest.NewRecorder()
	engine.ServeHTTP(rec, githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "pg-down", secret,
		payload(t, "issue_comment.created.with-installation.json", withBody("/sesame fix it"))))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503", rec.Code, rec.Body)
	}
	if msg := decode(t, rec).Error; strings.Contains(msg, "127.0.0.1") || msg == "" {
		t.Errorf("error %q should explain without internals", msg)
	}
}
