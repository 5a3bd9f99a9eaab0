package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// dies makes the task's worker a dead one: it claimed the task, moved it to status, and its lease ran out.
func (h *harness) dies(t *testing.T, id string, status ...sesame.TaskStatus) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.store.Claim(ctx, id, "dead-worker", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if _, err := h.store.SetStatus(ctx, id, s, ""); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
}

// pushBranch puts a commit that fixes the typo on branch of the fake GitHub's repository, as the
// dead worker's push did.
func (h *agentHarness) pushBranch(t *testing.T, branch string) {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"clone", "-q", h.bare, dir},
		{"-C", dir, "checkout", "-q", "-b", branch},
		{"-C", dir, "-c", "user.name=Sesame", "-c", "user.email=s@example.com", "commit", "-q", "--allow-empty", "-m", "Fix the typo"},
		{"-C", dir, "push", "-q", "origin", branch},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// A worker died after its push, before it recorded it: the task resumes from the push and opens
// the one pull request; run again, it opens no second.
func TestResumeAfterPushOpensOnePullRequest(t *testing.T) {
	h := newAgentHarness(t)
	ctx := context.Background()
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")
	branch := gitops.BranchName(task.IssueNumber, task.Instruction, task.ID)
	h.pushBranch(t, branch)
	h.dies(t, task.ID, sesame.StatusPreparing, sesame.StatusRunning, sesame.StatusPushing)
	before := len(h.gh.PullRequests(repo))

	if err := h.runner.Run(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusCompleted || got.PRURL == "" || got.Branch != branch || got.Restarts != 1 {
		t.Fatalf("task = %s %q, pr %q, branch %q, restarts %d; want completed with a pull request from %s after 1 restart",
			got.Status, got.Reason, got.PRURL, got.Branch, got.Restarts, branch)
	}
	pulls := h.gh.PullRequests(repo)
	if len(pulls) != before+1 || pulls[len(pulls)-1].Head != branch {
		t.Fatalf("pull requests = %+v, want one more, from %s", pulls, branch)
	}
	if err := h.runner.Run(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(h.gh.PullRequests(repo)); n != before+1 {
		t.Fatalf("%d pull requests after running the ended task again, want %d", n, before+1)
	}
	var reply string
	for _, c := range h.replies() {
		if c.ID == got.ProgressCommentID {
			reply = c.Body
		}
	}
	if !strings.Contains(reply, "Sesame opened") || !strings.Contains(reply, "stopped once") {
		t.Errorf("final reply %q should give the pull request and say the task was resumed", reply)
	}
}

// A worker died after opening the pull request, before recording it: the resumed task finds it.
func TestResumeFindsThePullRequestAlreadyOpened(t *testing.T) {
	h := newAgentHarness(t)
	ctx := context.Background()
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")
	branch := gitops.BranchName(task.IssueNumber, task.Instruction, task.ID)
	h.pushBranch(t, branch)
	if err := h.store.SetResult(ctx, task.ID, sesame.TaskResult{Branch: branch, InputTokens: 7}); err != nil {
		t.Fatal(err)
	}
	h.dies(t, task.ID, sesame.StatusPreparing, sesame.StatusRunning, sesame.StatusPushing)
	n, url, err := h.runner.Host.CreatePullRequest(ctx, 9, repo, sesame.PullRequest{Title: "Fix", Head: branch, Base: "main"})
	if err != nil {
		t.Fatal(err)
	}

	if err := h.runner.Run(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusCompleted || got.PRNumber != n || got.PRURL != url || got.InputTokens != 7 {
		t.Fatalf("task = %s %q, pr #%d %q, tokens %d; want completed with #%d and its usage kept", got.Status, got.Reason, got.PRNumber, got.PRURL, got.InputTokens, n)
	}
	if pulls := h.gh.PullRequests(repo); len(pulls) != 1 {
		t.Fatalf("%d pull requests, want the one already opened", len(pulls))
	}
}

// A task whose worker died a third time fails with the reason, and the requester hears it.
func TestTooManyRestartsFail(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")
	h.dies(t, task.ID, sesame.StatusPreparing, sesame.StatusRunning)
	if _, err := h.db.Pool.Exec(ctx, `UPDATE tasks SET restarts = $2 WHERE id = $1`, task.ID, 2); err != nil {
		t.Fatal(err)
	}
	if err := h.runner.Run(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusFailed || !strings.Contains(got.Reason, "stopped 3 times") || got.Restarts != 3 {
		t.Fatalf("task = %s %q after %d restarts; want failed, saying its worker stopped 3 times", got.Status, got.Reason, got.Restarts)
	}
	found := false
	for _, c := range h.replies() {
		found = found || strings.Contains(c.Body, "stopped 3 times")
	}
	if !found {
		t.Errorf("no reply says why: %+v", h.replies())
	}
}

// A worker died while the agent ran: the task runs again from the start in a clean folder (the
// dead agent's leftover process is killed), says so, and ends with its pull request.
func TestRestartRunsTheTaskAgainFromTheStart(t *testing.T) {
	h := newAgentHarness(t, typoFix()...)
	ctx := context.Background()
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")
	h.dies(t, task.ID, sesame.StatusPreparing, sesame.StatusRunning)

	stale := filepath.Join(h.taskBase, task.ID, "repo")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, "half-done"), []byte("x"), 0o644)
	leftover := exec.Command("sleep", "300")
	leftover.Dir = stale
	if err := leftover.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- leftover.Wait() }()
	t.Cleanup(func() { leftover.Process.Kill() })

	if err := h.runner.Run(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusCompleted || got.PRURL == "" || got.Restarts != 1 {
		t.Fatalf("task = %s %q, pr %q, restarts %d; want completed with a pull request after 1 restart", got.Status, got.Reason, got.PRURL, got.Restarts)
	}
	select {
	case err := <-exited:
		if ws, ok := leftover.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Errorf("leftover process ended with %v, want killed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the dead worker's leftover process still runs")
	}
	if _, err := os.Stat(filepath.Join(h.taskBase, task.ID)); !os.IsNotExist(err) {
		t.Errorf("task folder still there after the task ended: %v", err)
	}
	events, _ := h.store.Events(ctx, task.ID)
	resumed := false
	for _, e := range events {
		resumed = resumed || (e.Type == sesame.EventStep && e.Message == "resumed")
	}
	if !resumed {
		t.Errorf("no \"resumed\" event among %d events", len(events))
	}
}

// A worker that cannot renew a task's lease (another worker took it over) stops the task at once and
// leaves it as it is: it neither ends it nor pushes.
func TestLostLeaseStopsTheTaskHere(t *testing.T) {
	h := newAgentHarness(t, modeltest.Step{Hang: true})
	h.runner.Lease = 3 * time.Second
	ctx := context.Background()
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")

	beat, stopBeat := context.WithCancel(ctx)
	defer stopBeat()
	go h.runner.Heartbeat(beat)
	done := h.run(t, ctx, task.ID)
	h.waitHang(t)
	if _, err := h.db.Pool.Exec(ctx, `UPDATE tasks SET worker_id = 'thief' WHERE id = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil (the task is another worker's now)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the task still runs here after its lease was taken")
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusRunning || got.WorkerID != "thief" || got.PRURL != "" {
		t.Fatalf("task = %s by %q, pr %q; want left running for the thief, no pull request", got.Status, got.WorkerID, got.PRURL)
	}
	if out := h.git(t, "branch", "--list"); strings.Count(out, "\n") > 1 {
		t.Fatalf("branches pushed: %s", out)
	}
}
