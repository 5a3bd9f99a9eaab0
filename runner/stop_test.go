package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/proctest"
)

// A task whose agent waits on the model forever is stopped, through the web app's stop request, within
// seconds: the agent is killed, nothing is pushed, the progress comment says who stopped it.
func TestStopRunningTask(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll time.Duration
		stop func(h *agentHarness, id string) error
	}{
		// The request reaches this worker on Redis; the poll is too slow to matter.
		{name: "pubsub", poll: time.Hour, stop: func(h *agentHarness, id string) error {
			_, err := h.recorder.RequestStop(context.Background(), id, "alice")
			return err
		}},
		// Only the store knows (the message was lost): the poll finds it.
		{name: "poll", poll: 300 * time.Millisecond, stop: func(h *agentHarness, id string) error {
			_, _, err := h.store.RequestStop(context.Background(), id, "alice")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newAgentHarness(t, modeltest.Step{Hang: true})
			h.gh.SetPermission(repo, "alice", "write")
			h.watchStops(t, tc.poll)
			task := h.task(t, "alice", sesame.KindRun, "fix the typo in README")
			done := h.run(t, context.Background(), task.ID)
			h.waitHang(t)
			if got := h.reload(t, task.ID).Status; got != sesame.StatusRunning {
				t.Fatalf("task %s while the agent waits, want running", got)
			}

			start := time.Now()
			if err := tc.stop(h, task.ID); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("task still running 20s after the stop request")
			}
			t.Logf("stopped in %s", time.Since(start))

			got := h.reload(t, task.ID)
			if got.Status != sesame.StatusStopped || got.Reason != "Stopped by alice." {
				t.Errorf("task %s %q, want stopped by alice", got.Status, got.Reason)
			}
			if p := h.gh.Pushes(repo); len(p) != 0 {
				t.Errorf("pushed %v after a stop", p)
			}
			if r := h.replies(); len(r) != 1 || !strings.Contains(r[0].Body, "⏹️ **Sesame stopped this task.** Stopped by alice.") {
				t.Errorf("progress comment not edited to the stop: %+v", r)
			}
			if left := proctest.Under(h.taskBase); len(left) > 0 {
				t.Errorf("processes left after the stop: %v", left)
			}
			if _, err := os.Stat(filepath.Join(h.taskBase, task.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("task folder left after the stop: %v", err)
			}
		})
	}
}

// A worker shutting down (the job's context ends, nobody asked to stop) does not end the task: its
// agent is killed, the lease is given back and Run fails, so the job is tried again and another
// worker resumes the task from the start.
func TestJobShutdownIsNotAStop(t *testing.T) {
	h := newAgentHarness(t, modeltest.Step{Hang: true})
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo in README")
	ctx, cancel := context.WithCancel(context.Background())
	done := h.run(t, ctx, task.ID)
	h.waitHang(t)
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Run = %v, want an error saying the task was interrupted", err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusRunning || got.LeaseUntil.After(time.Now()) {
		t.Errorf("task %s %q, lease until %v; want left running with its lease given back", got.Status, got.Reason, got.LeaseUntil)
	}
	if left := proctest.Under(h.taskBase); len(left) > 0 {
		t.Errorf("processes left after the shutdown: %v", left)
	}
	if p := h.gh.Pushes(repo); len(p) != 0 {
		t.Errorf("pushed %v after a shutdown", p)
	}

	// The next worker resumes it.
	h.model.SetSteps(typoFix()...)
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	if got := h.reload(t, task.ID); got.Status != sesame.StatusCompleted || got.Restarts != 1 || got.PRURL == "" {
		t.Errorf("resumed task %s %q after %d restarts, pr %q; want completed with a pull request", got.Status, got.Reason, got.Restarts, got.PRURL)
	}
}

// Stop only stops tasks running in this process.
func TestStopUnknownTask(t *testing.T) {
	h := newHarness(t)
	if h.runner.Stop("018f0000-0000-7000-8000-000000000000") {
		t.Error("Stop of a task not running here reported true")
	}
}

// A task stopped while queued was ended by the store; its job tells a GitHub requester once, and says
// nothing for a web task.
func TestRunTaskStoppedWhileQueued(t *testing.T) {
	h := newHarness(t)
	gh := h.task(t, "alice", sesame.KindRun, "fix it")
	web := h.webTask(t, "Ann", "", "fix it")
	for _, task := range []*sesame.Task{gh, web} {
		if _, _, err := h.store.RequestStop(context.Background(), task.ID, "bob"); err != nil {
			t.Fatal(err)
		}
		for range 2 { // a retry of the job replies no more
			if err := h.runner.Run(context.Background(), task.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	replies := h.replies()
	if len(replies) != 1 || !strings.Contains(replies[0].Body, "⏹️ Sesame stopped this task before it started (stopped by bob).") {
		t.Fatalf("replies = %+v, want one saying the task was stopped", replies)
	}
	if got := h.reload(t, gh.ID); got.Status != sesame.StatusStopped || got.ProgressCommentID != replies[0].ID {
		t.Errorf("task %s, progress comment %d; want stopped with the reply remembered", got.Status, got.ProgressCommentID)
	}
	if got := h.gh.Reactions(repo, gh.CommentID); len(got) != 0 {
		t.Errorf("reacted %v to a stopped task", got)
	}
}
