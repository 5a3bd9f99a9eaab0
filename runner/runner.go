// Package runner carries one task from the queue to its end: it authorizes the requester, acknowledges
// the request, and (in later stages) prepares the workspace, runs the agent in its sandbox, commits,
// pushes and opens the pull request. It reaches GitHub through the small Forge interface it declares,
// never through the bot package.
package runner

import (
	"context"
	"fmt"
	"log/slog"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/queue"
)

// Forge is what the runner needs from a code host. Errors carry sesame codes: ENOTFOUND, EFORBIDDEN
// and EINVALID mean a retry will not help.
type Forge interface {
	// Permission returns login's role on repo: admin, maintain, write, triage, read or none.
	Permission(ctx context.Context, installationID int64, repo, login string) (string, error)
	// React adds a reaction ("eyes", "rocket", ...) to an issue comment.
	React(ctx context.Context, installationID int64, repo string, commentID int64, content string) error
	// CreateComment comments on an issue or pull request and returns the comment's id.
	CreateComment(ctx context.Context, installationID int64, repo string, issue int, body string) (int64, error)
	// EditComment replaces a comment's body.
	EditComment(ctx context.Context, installationID int64, repo string, commentID int64, body string) error
}

// Runner runs tasks.
type Runner struct {
	Store   sesame.TaskStore
	Forge   Forge
	BaseURL string // Sesame's public URL, for links to a task's page
	Logger  *slog.Logger
}

// Run carries the task with id as far as it can go. It is safe to run again after a crash or a retry:
// a task that has ended is left alone, and a reply already posted is not posted twice.
func (r *Runner) Run(ctx context.Context, id string) error {
	t, err := r.Store.Task(ctx, id)
	if sesame.ErrorCode(err) == sesame.ENOTFOUND {
		return fmt.Errorf("task %s: %w: %w", id, err, queue.ErrPermanent)
	} else if err != nil {
		return fmt.Errorf("load task %s: %w", id, err)
	}
	log := r.Logger.With("task_id", t.ID, "delivery_id", t.DeliveryID, "repo", t.Repo)
	if t.Status.Final() {
		log.Info("task already ended; nothing to do", "status", t.Status)
		return nil
	}
	if r.Forge == nil {
		return r.end(ctx, t, sesame.StatusFailed, "No GitHub App is configured on this Sesame server (GITHUB_APP_ID).")
	}
	if t.Source != sesame.SourceGitHub {
		return r.end(ctx, t, sesame.StatusFailed, fmt.Sprintf("Requests from %s cannot be run yet.", t.Source))
	}

	switch t.Kind {
	case sesame.KindHelp:
		if err := r.replyOnce(ctx, t, helpReply()); err != nil {
			return retryable(err)
		}
		return r.end(ctx, t, sesame.StatusCompleted, "")
	case sesame.KindUsage:
		if err := r.replyOnce(ctx, t, usageReply(t.Instruction)); err != nil {
			return retryable(err)
		}
		return r.end(ctx, t, sesame.StatusFailed, "The command could not be read: "+t.Instruction)
	}

	allowed, role, err := r.authorize(ctx, t)
	if err != nil {
		return retryable(err)
	}
	if !allowed {
		log.Info("requester may not run tasks", "requester", t.Requester, "role", role)
		if err := r.replyOnce(ctx, t, deniedReply(t.Requester, t.Repo, role)); err != nil {
			return retryable(err)
		}
		return r.end(ctx, t, sesame.StatusFailed, fmt.Sprintf("@%s has %s access to %s; running Sesame takes write access.", t.Requester, role, t.Repo))
	}
	if err := r.acknowledge(ctx, t); err != nil {
		return retryable(err)
	}
	log.Info("task acknowledged", "progress_comment_id", t.ProgressCommentID)
	return nil
}

// GiveUp ends a task whose job failed for good: the task is failed with the reason, and the progress
// comment, when there is one, says so. Replying is best effort: GitHub may be what failed.
func (r *Runner) GiveUp(ctx context.Context, id string, cause error) {
	log := r.Logger.With("task_id", id)
	t, err := r.Store.Task(ctx, id)
	if err != nil || t.Status.Final() {
		return
	}
	reason := "Sesame gave up on this task: " + sesame.ErrorMessage(cause)
	log.Error("giving up on task", "err", cause)
	if err := r.end(ctx, t, sesame.StatusFailed, reason); err != nil {
		log.Error("mark task failed", "err", err)
		return
	}
	if t.ProgressCommentID != 0 && r.Forge != nil {
		if err := r.Forge.EditComment(ctx, t.InstallationID, t.Repo, t.ProgressCommentID, failedReply(reason, r.taskURL(t.ID))); err != nil {
			log.Warn("tell the requester the task failed", "err", err)
		}
	}
}

// authorize reports whether the requester may run tasks on the repository: write, maintain or admin.
func (r *Runner) authorize(ctx context.Context, t *sesame.Task) (bool, string, error) {
	role, err := r.Forge.Permission(ctx, t.InstallationID, t.Repo, t.Requester)
	if err != nil {
		return false, "", err
	}
	switch role {
	case "admin", "maintain", "write":
		return true, role, nil
	}
	return false, role, nil
}

// acknowledge shows the requester that Sesame took the request: 👀 on their comment and a progress
// comment that later stages edit in place.
func (r *Runner) acknowledge(ctx context.Context, t *sesame.Task) error {
	if err := r.Forge.React(ctx, t.InstallationID, t.Repo, t.CommentID, "eyes"); err != nil {
		return err
	}
	if err := r.replyOnce(ctx, t, progressReply(t, r.taskURL(t.ID))); err != nil {
		return err
	}
	return r.Store.SetStatus(ctx, t.ID, sesame.StatusPreparing, "")
}

// replyOnce posts body as the task's progress comment unless one was already posted, and remembers it.
func (r *Runner) replyOnce(ctx context.Context, t *sesame.Task, body string) error {
	if t.ProgressCommentID != 0 {
		return nil
	}
	id, err := r.Forge.CreateComment(ctx, t.InstallationID, t.Repo, t.IssueNumber, body)
	if err != nil {
		return err
	}
	t.ProgressCommentID = id
	if err := r.Store.SetProgressComment(ctx, t.ID, id); err != nil {
		return err
	}
	return r.Store.AddEvent(ctx, sesame.TaskEvent{TaskID: t.ID, Type: "reply", Message: "progress comment posted",
		Data: map[string]any{"comment_id": id}})
}

func (r *Runner) end(ctx context.Context, t *sesame.Task, status sesame.TaskStatus, reason string) error {
	err := r.Store.SetStatus(ctx, t.ID, status, reason)
	if sesame.ErrorCode(err) == sesame.ECONFLICT {
		return nil // ended meanwhile (stopped, or a concurrent attempt): nothing left to do
	}
	return err
}

func (r *Runner) taskURL(id string) string { return r.BaseURL + "/tasks/" + id }

// retryable returns err as is when a retry may help, and marks it permanent otherwise.
func retryable(err error) error {
	switch sesame.ErrorCode(err) {
	case sesame.ENOTFOUND, sesame.EFORBIDDEN, sesame.EINVALID:
		return fmt.Errorf("%w: %w", err, queue.ErrPermanent)
	}
	return err
}
