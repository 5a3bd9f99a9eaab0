package runner_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/queue"
)

// withLines gives h's runner the lines of queue.Lines on a real Redis, and returns an inspector of
// that Redis's jobs. Nothing runs the jobs: the tests run the tasks themselves, as a worker would.
func withLines(t *testing.T, h *harness) *asynq.Inspector {
	t.Helper()
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	h.runner.Lines = &queue.Lines{Store: h.store, Client: asynq.NewClientFromRedisClient(rdb),
		Inspector: asynq.NewInspectorFromRedisClient(rdb), Logger: slog.New(slog.DiscardHandler)}
	return asynq.NewInspectorFromRedisClient(rdb)
}

// reply returns the body of the reply Sesame posted for the task with id.
func (h *harness) reply(t *testing.T, id string) string {
	t.Helper()
	task := h.reload(t, id)
	for _, c := range h.replies() {
		if c.ID == task.ProgressCommentID {
			return c.Body
		}
	}
	t.Fatalf("task %s has no reply", id)
	return ""
}

// woken reports whether the task with id has a job waiting on the queue.
func woken(t *testing.T, in *asynq.Inspector, id string) bool {
	t.Helper()
	info, err := in.GetTaskInfo("default", id)
	return err == nil && info.State == asynq.TaskStatePending
}

func run(t *testing.T, h *harness, id string) {
	t.Helper()
	if err := h.runner.Run(context.Background(), id); err != nil {
		t.Fatalf("Run(%s): %v", id, err)
	}
}

// Three requests on one issue: the second and third wait in line without a worker, told their place
// in their replies; each starts only once the one before it ended, woken by its end, in its reply.
func TestRunWaitsInLineAndResumes(t *testing.T) {
	h := newHarness(t)
	jobs := withLines(t, h)
	h.gh.SetPermission(repo, "alice", "write")
	a := h.task(t, "alice", sesame.KindRun, "first")
	b := h.task(t, "alice", sesame.KindRun, "second")
	c := h.task(t, "alice", sesame.KindRun, "third")
	web := h.webTask(t, "alice", "", "no thread") // no issue: never waits

	// The later ones are picked up first: they wait, acknowledged with their place.
	run(t, h, c.ID)
	run(t, h, b.ID)
	run(t, h, web.ID)
	for _, w := range []struct {
		task  *sesame.Task
		place string
	}{{b, "(position 1)"}, {c, "(position 2)"}} {
		got := h.reload(t, w.task.ID)
		if got.Status != sesame.StatusQueued || got.WorkerID != "" {
			t.Fatalf("waiting task = %s, worker %q; want queued with no worker", got.Status, got.WorkerID)
		}
		body := h.reply(t, w.task.ID)
		if !strings.Contains(body, "Queued behind task [`"+a.ID+"`](https://sesame.example.com/tasks/"+a.ID+") "+w.place) {
			t.Errorf("reply of a waiting task does not say behind which task and where:\n%s", body)
		}
		if got := h.gh.Reactions(repo, w.task.CommentID); len(got) == 0 || got[0] != "eyes" {
			t.Errorf("waiting request's reactions = %v, want eyes", got)
		}
	}
	if got := h.reload(t, web.ID); !got.Status.Final() {
		t.Errorf("a web task with no issue waited: %s", got.Status)
	}

	// The first runs (and ends at once: this runner has no sandbox); its end wakes the two.
	run(t, h, a.ID)
	if got := h.reload(t, a.ID); got.Status != sesame.StatusFailed {
		t.Fatalf("first task %s, want it to have run (and failed for want of a sandbox)", got.Status)
	}
	if !woken(t, jobs, b.ID) || !woken(t, jobs, c.ID) {
		t.Fatalf("the end of the first task did not wake the ones waiting behind it")
	}
	// The third, picked up first again, moves up behind the second.
	run(t, h, c.ID)
	if body := h.reply(t, c.ID); !strings.Contains(body, "Queued behind task [`"+b.ID+"`]") || !strings.Contains(body, "(position 1)") {
		t.Errorf("the third's reply did not move up behind the second:\n%s", body)
	}
	if got := h.reload(t, c.ID); got.Status != sesame.StatusQueued {
		t.Fatalf("third task %s while the second has not run, want queued", got.Status)
	}
	// The second starts: its reply becomes the progress comment (and then says how it ended).
	replies := len(h.replies())
	run(t, h, b.ID)
	if got := h.reload(t, b.ID); got.Status != sesame.StatusFailed || !strings.Contains(got.Reason, "cannot run agents") {
		t.Fatalf("second task = %s %q, want run", got.Status, got.Reason)
	}
	if body := h.reply(t, b.ID); strings.Contains(body, "Queued") || !strings.Contains(body, "cannot run agents") {
		t.Errorf("the second's reply was not turned into its progress and result:\n%s", body)
	}
	if n := len(h.replies()); n != replies {
		t.Errorf("%d replies after the second ran, want %d: its queued reply is edited, not a new one", n, replies)
	}
	run(t, h, c.ID)
	if got := h.reload(t, c.ID); got.Status != sesame.StatusFailed {
		t.Fatalf("third task %s, want run once the second ended", got.Status)
	}
	// Each ran once, and each started only once the one before it had ended.
	for i, task := range []*sesame.Task{a, b, c} {
		events, _ := h.store.Events(context.Background(), task.ID)
		var statuses []string
		for _, e := range events {
			if e.Type == sesame.EventStatus {
				statuses = append(statuses, e.Message)
			}
		}
		if strings.Join(statuses, ",") != "queued,preparing,failed" {
			t.Errorf("task %d went through %v, want queued,preparing,failed once", i+1, statuses)
		}
	}
	if h.reload(t, b.ID).StartedAt.Before(h.reload(t, a.ID).FinishedAt) || h.reload(t, c.ID).StartedAt.Before(h.reload(t, b.ID).FinishedAt) {
		t.Errorf("a task started before the one before it ended")
	}
}

// A waiting task stopped from elsewhere (the store: a deleted comment, an admin) is woken by the
// reconciler's safety net, says so in its reply, and moves the line on.
func TestRunStoppedWhileWaitingInLine(t *testing.T) {
	h := newHarness(t)
	jobs := withLines(t, h)
	h.gh.SetPermission(repo, "alice", "write")
	a := h.task(t, "alice", sesame.KindRun, "first")
	b := h.task(t, "alice", sesame.KindRun, "second")
	c := h.task(t, "alice", sesame.KindRun, "third")
	run(t, h, b.ID)
	run(t, h, c.ID)
	if _, _, err := h.store.RequestStop(context.Background(), b.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	rec := &queue.Reconciler{Lines: h.runner.Lines.(*queue.Lines), Submitter: &queue.Submitter{Store: h.store}, Logger: slog.New(slog.DiscardHandler)}
	if n, err := rec.Lines.Recheck(context.Background()); err != nil || n != 2 {
		t.Fatalf("Recheck = %d, %v; want the stopped task and the one behind it woken", n, err)
	}
	if !woken(t, jobs, b.ID) || !woken(t, jobs, c.ID) {
		t.Fatal("the stopped task and the one whose place changed have no job")
	}
	run(t, h, b.ID)
	if body := h.reply(t, b.ID); !strings.Contains(body, "Stopped by bob") || strings.Contains(body, "Queued") {
		t.Errorf("the stopped task's reply still says it waits:\n%s", body)
	}
	run(t, h, c.ID)
	if body := h.reply(t, c.ID); !strings.Contains(body, "Queued behind task [`"+a.ID+"`]") || !strings.Contains(body, "(position 1)") {
		t.Errorf("the third did not move up:\n%s", body)
	}
	if n, err := rec.Lines.Recheck(context.Background()); err != nil || n != 0 {
		t.Errorf("Recheck = %d, %v once every reply is right; want none", n, err)
	}
}

// A requester who may not run tasks is refused at once, not queued.
func TestRunRefusesBeforeQueueing(t *testing.T) {
	h := newHarness(t)
	withLines(t, h)
	h.gh.SetPermission(repo, "alice", "write")
	h.gh.SetPermission(repo, "bob", "read")
	h.task(t, "alice", sesame.KindRun, "first")
	b := h.task(t, "bob", sesame.KindRun, "second")
	run(t, h, b.ID)
	if got := h.reload(t, b.ID); got.Status != sesame.StatusFailed {
		t.Fatalf("refused task %s, want failed", got.Status)
	}
	if body := h.reply(t, b.ID); strings.Contains(body, "Queued") || !strings.Contains(body, "@bob") {
		t.Errorf("reply = %s, want the refusal", body)
	}
}
