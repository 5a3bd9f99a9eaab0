package runner

import (
	"context"

	sesame "github.com/sesame-works/sesame"
)

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
	return r.setStatus(ctx, t, sesame.StatusPreparing, "")
}

// replyOnce posts body as the task's progress comment unless one was already posted, and remembers it.
// Only GitHub requests get comments: a web request's reply is its task page.
func (r *Runner) replyOnce(ctx context.Context, t *sesame.Task, body string) error {
	if t.ProgressCommentID != 0 || t.Source != sesame.SourceGitHub {
		return nil
	}
	id, err := r.Forge.CreateComment(ctx, t.InstallationID, t.Repo, t.IssueNumber, r.masker().String(body))
	if err != nil {
		return err
	}
	t.ProgressCommentID = id
	if err := r.Store.SetProgressComment(ctx, t.ID, id); err != nil {
		return err
	}
	_, err = r.recorder().Add(ctx, sesame.TaskEvent{TaskID: t.ID, Type: "reply", Message: "progress comment posted",
		Data: map[string]any{"comment_id": id}})
	return err
}

// reply replaces the progress comment's text, or posts one when there is none yet.
func (r *Runner) reply(ctx context.Context, t *sesame.Task, body string) error {
	if t.ProgressCommentID == 0 {
		return r.replyOnce(ctx, t, body)
	}
	return r.Forge.EditComment(ctx, t.InstallationID, t.Repo, t.ProgressCommentID, r.masker().String(body))
}
