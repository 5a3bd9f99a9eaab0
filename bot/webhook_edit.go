package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
)

// CommentTasks changes the task a comment asked for while the task is still queued (it waits in its
// thread's line, or no worker took it yet); queue.Lines has it. Both fail with ENOTFOUND when no
// task has the request key, and with ECONFLICT, returning the task, once it has started or ended:
// then nothing changes.
type CommentTasks interface {
	// Edit replaces the instruction, agent, model and base branch of the queued run task asked for
	// under key with those of r.
	Edit(ctx context.Context, key string, r sesame.Request) (*sesame.Task, error)
	// Withdraw stops the queued task asked for under key, as by asked, with reason (a sentence for
	// its requester).
	Withdraw(ctx context.Context, key, by, reason string) (*sesame.Task, error)
}

// commentChanged handles an edited or deleted issue comment. While the task the comment asked for
// is still queued, an edit that still holds a /sesame run command replaces the task's request, an
// edit that holds none (or one that cannot be read) stops the task, and a deletion stops it. A task
// that has started is not changed. Only the comment's author's own edits count; a deletion counts
// whoever made it, since the request is gone. Edits by bots never count.
func (h *GitHubWebhook) commentChanged(c *gin.Context, log *slog.Logger, ev issueCommentEvent) {
	if ev.Repository.FullName == "" || ev.Issue.Number <= 0 || ev.Comment.ID <= 0 || ev.Sender.Login == "" {
		fail(c, http.StatusBadRequest, "The issue_comment payload lacks its repository, issue, comment or sender.")
		return
	}
	if ev.Installation == nil || ev.Installation.ID == 0 {
		ignore(c, "the delivery names no GitHub App installation")
		return
	}
	if h.Comments == nil {
		ignore(c, "issue_comment action "+ev.Action+" is not handled")
		return
	}
	if !storable(ev.Sender.Login) {
		fail(c, http.StatusBadRequest, "The issue_comment payload holds NUL or invalid UTF-8 in its sender.")
		return
	}
	key := commentKey(ev.Installation.ID, ev.Comment.ID, "created")
	ctx := c.Request.Context()
	var t *sesame.Task
	var err error
	status := "cancelled"
	switch {
	case ev.Action == "deleted":
		t, err = h.Comments.Withdraw(ctx, key, ev.Sender.Login,
			fmt.Sprintf("Sesame stopped this task before it started: @%s deleted the comment that asked for it.", ev.Sender.Login))
	case ev.Sender.Type == "Bot" || ev.Comment.User.Type == "Bot":
		ignore(c, "edits by bots never change a task")
		return
	case ev.Sender.ID != ev.Comment.User.ID || ev.Sender.Login != ev.Comment.User.Login:
		ignore(c, "only the comment's author's edits change its task")
		return
	default:
		cmd, found, perr := command.Parse(ev.Comment.Body)
		switch {
		case !found:
			t, err = h.Comments.Withdraw(ctx, key, ev.Sender.Login,
				fmt.Sprintf("Sesame stopped this task before it started: @%s edited the comment, which no longer asks Sesame to run anything.", ev.Sender.Login))
		case perr != nil:
			t, err = h.Comments.Withdraw(ctx, key, ev.Sender.Login,
				fmt.Sprintf("Sesame stopped this task before it started: @%s edited the comment, and its command could not be read: %s", ev.Sender.Login, perr.Error()))
		case cmd.Kind != command.KindRun:
			t, err = h.Comments.Withdraw(ctx, key, ev.Sender.Login,
				fmt.Sprintf("Sesame stopped this task before it started: @%s edited the comment into `/sesame %s`, which runs no agent.", ev.Sender.Login, cmd.Kind))
		default:
			status = "edited"
			t, err = h.Comments.Edit(ctx, key, sesame.Request{Instruction: cmd.Instruction, Agent: cmd.Agent, Model: cmd.Model, Base: cmd.Base})
		}
	}

	switch {
	case sesame.ErrorCode(err) == sesame.ENOTFOUND:
		ignore(c, "no task was asked for by this comment")
	case sesame.ErrorCode(err) == sesame.ECONFLICT && t != nil:
		log.Info("comment "+ev.Action+" after its task started: the task is not changed", "task_id", t.ID, "status", t.Status)
		c.JSON(http.StatusOK, gin.H{"status": "unchanged", "task_id": t.ID,
			"reason": "the task has already started or ended; an " + ev.Action + " comment no longer changes it"})
	case sesame.ErrorCode(err) == sesame.EUNAVAILABLE:
		log.Error("change a queued task", "action", ev.Action, "err", err)
		fail(c, http.StatusServiceUnavailable, sesame.ErrorMessage(err))
	case err != nil:
		log.Error("change a queued task", "action", ev.Action, "err", err)
		fail(c, http.StatusInternalServerError, sesame.ErrorMessage(err))
	default:
		log.Info("queued task "+status+" by its comment", "task_id", t.ID, "action", ev.Action)
		c.JSON(http.StatusAccepted, gin.H{"status": status, "task_id": t.ID})
	}
}
