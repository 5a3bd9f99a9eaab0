package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/runner"
)

var _ runner.ThreadStore = (*postgres.TaskStore)(nil)

// storeSubmitter stores the tasks it is given, as queue.Submitter does, and enqueues nothing.
type storeSubmitter struct{ store *postgres.TaskStore }

func (s storeSubmitter) Submit(ctx context.Context, r sesame.Request) (*sesame.Task, bool, error) {
	return s.store.CreateTask(ctx, r)
}

// runCommand stores a command of kind written by login on issue 5 and runs it to its end.
func (h *harness) runCommand(t *testing.T, login string, kind sesame.TaskKind, edit func(*sesame.Request)) *sesame.Task {
	t.Helper()
	c := h.gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: 5, Body: "/sesame " + string(kind), User: login})
	r := sesame.Request{Source: sesame.SourceGitHub, Kind: kind, Repo: repo, InstallationID: 9, IssueNumber: 5,
		CommentID: c.ID, CommentURL: "https://github.example/c/" + fmt.Sprint(c.ID), Requester: login, RequesterID: int64(len(login))}
	if edit != nil {
		edit(&r)
	}
	task := h.create(t, r)
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatalf("Run(%s): %v", kind, err)
	}
	return h.reload(t, task.ID)
}

// lastReply is the body of the newest comment Sesame posted.
func (h *harness) lastReply(t *testing.T) string {
	t.Helper()
	r := h.replies()
	if len(r) == 0 {
		t.Fatal("Sesame posted no reply")
	}
	return r[len(r)-1].Body
}

// runTask stores a run task on issue 5 by login and moves it to status.
func (h *harness) runTask(t *testing.T, login, instruction string, status sesame.TaskStatus, edit func(*sesame.Request)) *sesame.Task {
	t.Helper()
	r := sesame.Request{Source: sesame.SourceGitHub, Kind: sesame.KindRun, Repo: repo, InstallationID: 9, IssueNumber: 5,
		Requester: login, RequesterID: int64(len(login)), Instruction: instruction}
	if edit != nil {
		edit(&r)
	}
	task := h.create(t, r)
	ctx := context.Background()
	path := map[sesame.TaskStatus][]sesame.TaskStatus{
		sesame.StatusRunning:   {sesame.StatusPreparing, sesame.StatusRunning},
		sesame.StatusCompleted: {sesame.StatusPreparing, sesame.StatusRunning, sesame.StatusCompleted},
		sesame.StatusFailed:    {sesame.StatusPreparing, sesame.StatusFailed},
		sesame.StatusStopped:   {sesame.StatusPreparing, sesame.StatusStopped},
	}[status]
	for _, s := range path {
		if _, err := h.store.SetStatus(ctx, task.ID, s, ""); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Millisecond) // distinct creation times: the thread's order is theirs
	return h.reload(t, task.ID)
}

// TestCommandStatus: the thread's run tasks, newest first, with their state, page and pull request;
// not another issue's tasks, not the commands; at most ten.
func TestCommandStatus(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	empty := h.runCommand(t, "alice", sesame.KindStatus, nil)
	if body := h.lastReply(t); !strings.Contains(body, "no tasks in this thread") || empty.Status != sesame.StatusCompleted {
		t.Errorf("status of an empty thread = %s, reply:\n%s", empty.Status, body)
	}

	done := h.runTask(t, "alice", "fix the typo", sesame.StatusCompleted, nil)
	if err := h.store.SetResult(ctx, done.ID, sesame.TaskResult{PRNumber: 12, PRURL: "https://github.example/octo/hello/pull/12"}); err != nil {
		t.Fatal(err)
	}
	failed := h.runTask(t, "bob", "add a `test`\nwith more lines", sesame.StatusFailed, func(r *sesame.Request) { r.Agent = "claude" })
	running := h.runTask(t, "alice", "make it "+strings.Repeat("faster ", 20), sesame.StatusRunning, nil)
	h.runTask(t, "carol", "elsewhere", sesame.StatusRunning, func(r *sesame.Request) { r.IssueNumber = 6 })
	h.runCommand(t, "alice", sesame.KindHelp, nil)

	cmd := h.runCommand(t, "dave", sesame.KindStatus, nil)
	if cmd.Status != sesame.StatusCompleted || cmd.ProgressCommentID == 0 {
		t.Errorf("status task %s, comment %d; want completed with its reply", cmd.Status, cmd.ProgressCommentID)
	}
	body := h.lastReply(t)
	lines := strings.Split(body, "\n- ")
	if len(lines) != 4 {
		t.Fatalf("status reply lists %d tasks, want 3:\n%s", len(lines)-1, body)
	}
	for i, want := range [][]string{
		{"⚙️ **running**", "[`" + running.ID + "`](https://sesame.example.com/tasks/" + running.ID + ")", "`make it faster faster", "…`", "asked by alice"},
		{"❌ **failed**", failed.ID, "`add a 'test'…`", "agent `claude`", "asked by bob"},
		{"✅ **completed**", done.ID, "`fix the typo`", "pull request [#12](https://github.example/octo/hello/pull/12)"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("line %d of the status lacks %q: %s", i+1, w, lines[i+1])
			}
		}
	}
	if strings.Contains(body, "elsewhere") || strings.Contains(body, "help") {
		t.Errorf("status lists another issue's task or a command:\n%s", body)
	}

	for i := range 9 {
		h.runTask(t, "alice", fmt.Sprintf("task %d", i), sesame.StatusCompleted, nil)
	}
	h.runCommand(t, "dave", sesame.KindStatus, nil)
	body = h.lastReply(t)
	if n := strings.Count(body, "\n- "); n != 10 || !strings.Contains(body, "Only the 10 newest are listed.") || strings.Contains(body, done.ID) {
		t.Errorf("status of 12 tasks lists %d, want the 10 newest and a note:\n%s", n, body)
	}
}

// TestCommandStop: the requester, a maintainer or an admin stops the thread's running task (before
// a queued one) through the store's stop request; anyone else is told why; nothing running is said.
func TestCommandStop(t *testing.T) {
	t.Run("nothing running", func(t *testing.T) {
		h := newHarness(t)
		h.runTask(t, "alice", "old", sesame.StatusFailed, nil)
		cmd := h.runCommand(t, "alice", sesame.KindStop, nil)
		if body := h.lastReply(t); !strings.Contains(body, "Nothing is running in this thread") || cmd.Status != sesame.StatusFailed {
			t.Errorf("stop with nothing running = %s, reply:\n%s", cmd.Status, body)
		}
	})
	t.Run("requester stops the running task", func(t *testing.T) {
		h := newHarness(t)
		h.gh.SetPermission(repo, "alice", "write")
		running := h.runTask(t, "alice", "fix it", sesame.StatusRunning, nil)
		queued := h.runTask(t, "alice", "then this", sesame.StatusQueued, nil)
		cmd := h.runCommand(t, "Alice", sesame.KindStop, func(r *sesame.Request) { r.RequesterID = 0 })
		if body := h.lastReply(t); !strings.Contains(body, "⏹️ Stopping task [`"+running.ID+"`]") || cmd.Status != sesame.StatusCompleted {
			t.Errorf("stop = %s, reply:\n%s", cmd.Status, body)
		}
		if got := h.reload(t, running.ID); got.StopRequestedBy != "Alice" || got.Status != sesame.StatusRunning {
			t.Errorf("running task: stop requested by %q, %s; want asked by Alice, still running until its worker stops it", got.StopRequestedBy, got.Status)
		}
		if got := h.reload(t, queued.ID); got.StopRequestedBy != "" {
			t.Errorf("the queued task was asked to stop too")
		}
		for _, req := range h.gh.Requests() {
			if strings.HasSuffix(req.Path, "/permission") {
				t.Errorf("asked GitHub %s for the requester's own task", req.Path)
			}
		}
	})
	t.Run("queued task stops at once", func(t *testing.T) {
		h := newHarness(t)
		older := h.runTask(t, "alice", "first", sesame.StatusQueued, nil)
		h.runTask(t, "alice", "second", sesame.StatusQueued, nil)
		h.runCommand(t, "alice", sesame.KindStop, nil)
		if body := h.lastReply(t); !strings.Contains(body, "Stopped task [`"+older.ID+"`]") || !strings.Contains(body, "before it started") {
			t.Errorf("stop of a queued task, reply:\n%s", body)
		}
		if got := h.reload(t, older.ID); got.Status != sesame.StatusStopped {
			t.Errorf("queued task %s, want stopped", got.Status)
		}
	})
	for _, tc := range []struct {
		role    string
		allowed bool
	}{{"admin", true}, {"maintain", true}, {"write", false}, {"read", false}} {
		t.Run("someone else with "+tc.role, func(t *testing.T) {
			h := newHarness(t)
			h.gh.SetPermission(repo, "bob", tc.role)
			running := h.runTask(t, "alice", "fix it", sesame.StatusRunning, nil)
			cmd := h.runCommand(t, "bob", sesame.KindStop, nil)
			body := h.lastReply(t)
			got := h.reload(t, running.ID)
			if tc.allowed {
				if got.StopRequestedBy != "bob" || cmd.Status != sesame.StatusCompleted || !strings.Contains(body, "Stopping task") {
					t.Errorf("%s's stop: requested by %q, command %s, reply:\n%s", tc.role, got.StopRequestedBy, cmd.Status, body)
				}
				return
			}
			if got.StopRequestedBy != "" || cmd.Status != sesame.StatusFailed {
				t.Errorf("%s's stop was obeyed: requested by %q, command %s", tc.role, got.StopRequestedBy, cmd.Status)
			}
			for _, want := range []string{"🔒", "asked for by alice", "maintain or admin access to " + repo, "@bob has " + tc.role + " access"} {
				if !strings.Contains(body, want) {
					t.Errorf("refusal lacks %q:\n%s", want, body)
				}
			}
			if cmd.Reason == "" {
				t.Errorf("refused stop without a reason")
			}
		})
	}
}

// TestCommandStopsRunningAgent: /sesame stop ends a task whose agent is working, in this worker, at
// once: the task ends stopped by the one who asked, nothing is pushed.
func TestCommandStopsRunningAgent(t *testing.T) {
	h := newAgentHarness(t, modeltest.Step{Hang: true})
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo in README")
	done := h.run(t, context.Background(), task.ID)
	h.waitHang(t)

	cmd := h.runCommand(t, "alice", sesame.KindStop, nil)
	if cmd.Status != sesame.StatusCompleted {
		t.Fatalf("stop command %s %q", cmd.Status, cmd.Reason)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("task still running 20s after /sesame stop")
	}
	if got := h.reload(t, task.ID); got.Status != sesame.StatusStopped || got.Reason != "Stopped by alice." {
		t.Errorf("task %s %q, want stopped by alice", got.Status, got.Reason)
	}
	if p := h.gh.Pushes(repo); len(p) != 0 {
		t.Errorf("pushed %v after a stop", p)
	}
}

// TestCommandRetry: the thread's newest failed or stopped task runs again as a new task with its
// instruction and options, requested by whoever wrote retry, with retry's flags in place of its own;
// a retry whose reply failed and runs again makes no second task.
func TestCommandRetry(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.runner.Submitter = storeSubmitter{h.store}

	none := h.runCommand(t, "bob", sesame.KindRetry, nil)
	if body := h.lastReply(t); !strings.Contains(body, "nothing to retry") || none.Status != sesame.StatusFailed {
		t.Errorf("retry with nothing failed = %s, reply:\n%s", none.Status, body)
	}

	security := true
	older := h.runTask(t, "alice", "older", sesame.StatusFailed, nil)
	last := h.runTask(t, "alice", "fix the login", sesame.StatusStopped, func(r *sesame.Request) {
		r.Agent, r.Model, r.Base, r.SandboxSecurity = "claude", "claude-opus-4", "release/v1", &security
	})
	h.runTask(t, "alice", "later, fine", sesame.StatusCompleted, nil)

	// The reply fails once: the job runs again, and answers without a second task.
	h.gh.FailNext("POST", "/repos/"+repo+"/issues/5/comments", 502, `{"message":"Server Error"}`)
	c := h.gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: 5, Body: "/sesame retry --base dev", User: "bob"})
	cmd := h.create(t, sesame.Request{Source: sesame.SourceGitHub, Kind: sesame.KindRetry, Repo: repo, InstallationID: 9,
		IssueNumber: 5, CommentID: c.ID, Requester: "bob", RequesterID: 3, Base: "dev"})
	if err := h.runner.Run(ctx, cmd.ID); err == nil {
		t.Fatal("Run with GitHub failing = nil, want a retryable error")
	}
	if err := h.runner.Run(ctx, cmd.ID); err != nil {
		t.Fatal(err)
	}
	tasks, err := h.store.ThreadTasks(ctx, 9, repo, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 4 {
		t.Fatalf("%d run tasks in the thread, want 4 (one new)", len(tasks))
	}
	again := tasks[0]
	want := sesame.Request{Source: sesame.SourceGitHub, RequestKey: "retry:" + cmd.ID, Kind: sesame.KindRun, Repo: repo, InstallationID: 9,
		IssueNumber: 5, CommentID: c.ID, Requester: "bob", RequesterID: 3, Instruction: "fix the login",
		Agent: "claude", Model: "claude-opus-4", Base: "dev", SandboxSecurity: &security}
	got := again.Request
	got.DeliveryID = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the retry's task (-want +got):\n%s", diff)
	}
	if again.Status != sesame.StatusQueued || again.ID == last.ID || again.ID == older.ID {
		t.Errorf("the retry's task %s is %s, want a new queued task", again.ID, again.Status)
	}
	body := h.lastReply(t)
	for _, w := range []string{"🔁 Running task [`" + last.ID + "`]", "again as task [`" + again.ID + "`](https://sesame.example.com/tasks/" + again.ID + ")",
		"`fix the login`", "model `claude-opus-4`", "base `dev`"} {
		if !strings.Contains(body, w) {
			t.Errorf("retry reply lacks %q:\n%s", w, body)
		}
	}
	if got := h.reload(t, cmd.ID); got.Status != sesame.StatusCompleted {
		t.Errorf("retry command %s %q, want completed", got.Status, got.Reason)
	}

	// Another agent does not inherit the model; a model given replaces it.
	h.runCommand(t, "bob", sesame.KindRetry, func(r *sesame.Request) { r.Agent = "codex" })
	h.runCommand(t, "bob", sesame.KindRetry, func(r *sesame.Request) { r.Model = "claude-sonnet-4-5" })
	tasks, _ = h.store.ThreadTasks(ctx, 9, repo, 5, 10)
	if len(tasks) != 6 {
		t.Fatalf("%d run tasks, want 6", len(tasks))
	}
	if got := []string{tasks[1].Agent, tasks[1].Model, tasks[0].Agent, tasks[0].Model}; !cmp.Equal(got, []string{"codex", "", "claude", "claude-sonnet-4-5"}) {
		t.Errorf("agent and model of the retries = %q, want codex without a model, then claude with claude-sonnet-4-5", got)
	}

	h.runner.Submitter = nil
	if cmd := h.runCommand(t, "bob", sesame.KindRetry, nil); cmd.Status != sesame.StatusFailed || !strings.Contains(h.lastReply(t), "cannot retry") {
		t.Errorf("retry without a submitter = %s, reply:\n%s", cmd.Status, h.lastReply(t))
	}
}
