package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	sesame "github.com/sesame-works/sesame"
)

func TestRunAcknowledgesWriter(t *testing.T) {
	for _, role := range []string{"write", "maintain", "admin"} {
		t.Run(role, func(t *testing.T) {
			h := newHarness(t)
			h.gh.SetPermission(repo, "alice", role)
			task := h.task(t, "alice", sesame.KindRun, "fix the typo")
			if err := h.runner.Run(context.Background(), task.ID); err != nil {
				t.Fatal(err)
			}
			if got := h.gh.Reactions(repo, task.CommentID); len(got) != 1 || got[0] != "eyes" {
				t.Errorf("reactions = %v, want [eyes]", got)
			}
			replies := h.replies()
			if len(replies) != 1 || !strings.Contains(replies[0].Body, "/tasks/"+task.ID) {
				t.Fatalf("replies = %+v, want one progress comment linking the task", replies)
			}
			got := h.reload(t, task.ID)
			if got.ProgressCommentID != replies[0].ID {
				t.Errorf("progress comment %d, want %d", got.ProgressCommentID, replies[0].ID)
			}
			// This runner has no sandbox: after the acknowledgement the task ends, saying why, in the same comment.
			if got.Status != sesame.StatusFailed || !strings.Contains(got.Reason, "cannot run agents") {
				t.Errorf("task = %s %q, want failed for want of a sandbox", got.Status, got.Reason)
			}
			if !strings.Contains(h.replies()[0].Body, "cannot run agents") {
				t.Errorf("progress comment not edited to the failure: %s", h.replies()[0].Body)
			}
			events, _ := h.store.Events(context.Background(), task.ID)
			var statuses []string
			for _, e := range events {
				if e.Type == "status" {
					statuses = append(statuses, e.Message)
				}
			}
			if strings.Join(statuses, ",") != "queued,preparing,failed" {
				t.Errorf("status events %v, want queued,preparing,failed", statuses)
			}
			// A retry of the same job posts nothing new.
			if err := h.runner.Run(context.Background(), task.ID); err != nil {
				t.Fatal(err)
			}
			if n := len(h.replies()); n != 1 {
				t.Errorf("%d replies after a retry, want 1", n)
			}
		})
	}
}

func TestRunRefusesWithoutWriteAccess(t *testing.T) {
	for _, role := range []string{"read", "triage", "none", "stranger"} {
		t.Run(role, func(t *testing.T) {
			h := newHarness(t)
			if role != "stranger" { // a login GitHub does not know: the permission endpoint answers 404
				h.gh.SetPermission(repo, "bob", role)
			}
			task := h.task(t, "bob", sesame.KindRun, "delete the tests")
			for range 2 {
				if err := h.runner.Run(context.Background(), task.ID); err != nil {
					t.Fatal(err)
				}
			}
			replies := h.replies()
			if len(replies) != 1 || !strings.Contains(replies[0].Body, "@bob") || !strings.Contains(replies[0].Body, "write") {
				t.Fatalf("replies = %+v, want one explanation", replies)
			}
			if got := h.gh.Reactions(repo, task.CommentID); len(got) != 0 {
				t.Errorf("reacted %v to a refused request", got)
			}
			if got := h.reload(t, task.ID); got.Status != sesame.StatusFailed || got.Reason == "" {
				t.Errorf("task = %s %q, want failed with a reason", got.Status, got.Reason)
			}
		})
	}
}

func TestRunHelpAndUsage(t *testing.T) {
	h := newHarness(t)
	help := h.task(t, "alice", sesame.KindHelp, "")
	usage := h.task(t, "alice", sesame.KindUsage, `unknown flag "--fast"`)
	for _, task := range []*sesame.Task{help, usage} {
		if err := h.runner.Run(context.Background(), task.ID); err != nil {
			t.Fatal(err)
		}
	}
	replies := h.replies()
	if len(replies) != 2 {
		t.Fatalf("%d replies, want 2", len(replies))
	}
	if !strings.Contains(replies[0].Body, "--agent") || !strings.Contains(replies[1].Body, `"--fast"`) || !strings.Contains(replies[1].Body, "--agent") {
		t.Errorf("replies lack the usage or the reason:\n%s\n---\n%s", replies[0].Body, replies[1].Body)
	}
	if got := h.reload(t, help.ID).Status; got != sesame.StatusCompleted {
		t.Errorf("help task %s, want completed", got)
	}
	if got := h.reload(t, usage.ID).Status; got != sesame.StatusFailed {
		t.Errorf("usage task %s, want failed", got)
	}
}

func TestRunRetriesAfterGitHubError(t *testing.T) {
	h := newHarness(t)
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix it")
	h.gh.FailNext("POST", "/repos/"+repo+"/issues/5/comments", 502, `{"message":"Server Error"}`)
	err := h.runner.Run(context.Background(), task.ID)
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("Run with GitHub failing = %v, want a retryable error", err)
	}
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(h.replies()); n != 1 {
		t.Errorf("%d replies, want 1", n)
	}
}

func TestRunUnknownTaskIsPermanent(t *testing.T) {
	h := newHarness(t)
	err := h.runner.Run(context.Background(), "018f0000-0000-7000-8000-000000000000")
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("Run(unknown) = %v, want a permanent error", err)
	}
}

// The request's comment was deleted before the worker ran: GitHub answers 404, the job is not retried,
// and giving up fails the task with its reason.
func TestRunDeletedCommentFailsTask(t *testing.T) {
	h := newHarness(t)
	h.gh.SetPermission(repo, "alice", "write")
	task, _, err := h.store.CreateTask(context.Background(), sesame.Request{
		Source: sesame.SourceGitHub, DeliveryID: "gone", Kind: sesame.KindRun, Repo: repo,
		InstallationID: 9, IssueNumber: 5, CommentID: 123456789, Requester: "alice", Instruction: "fix it",
	})
	if err != nil {
		t.Fatal(err)
	}
	err = h.runner.Run(context.Background(), task.ID)
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("Run = %v, want a permanent error", err)
	}
	h.runner.GiveUp(context.Background(), task.ID, err)
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusFailed || !strings.Contains(got.Reason, "gave up") {
		t.Fatalf("task = %s %q, want failed with a reason", got.Status, got.Reason)
	}
}

func TestRunWithoutGitHubAppFailsTask(t *testing.T) {
	h := newHarness(t)
	h.runner.Host = nil
	task := h.task(t, "alice", sesame.KindRun, "fix it")
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	if got := h.reload(t, task.ID); got.Status != sesame.StatusFailed || !strings.Contains(got.Reason, "GITHUB_APP_ID") {
		t.Fatalf("task = %s %q, want failed naming the missing setting", got.Status, got.Reason)
	}
}
