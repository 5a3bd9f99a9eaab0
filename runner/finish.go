package runner

import (
	"context"

	sesame "github.com/sesame-works/sesame"
)

// finish records how the task ended and tells the requester, editing the progress comment in place.
// A task that already ended (stopped meanwhile) is left as it is.
func (r *Runner) finish(ctx context.Context, t *sesame.Task, o outcome) {
	ctx = context.WithoutCancel(ctx) // the job's context may be what ended; the requester still hears
	log := r.Logger.With("task_id", t.ID, "status", o.status)
	if err := r.setStatus(ctx, t, o.status, o.reason); err != nil {
		if sesame.ErrorCode(err) != sesame.ECONFLICT {
			log.Error("record task end", "err", err)
		}
		return
	}
	if o.prURL != "" {
		r.note(ctx, t, "pull request opened", map[string]any{"number": o.prNumber, "url": o.prURL, "branch": o.branch})
	}
	if r.Forge == nil {
		return
	}
	if err := r.reply(ctx, t, resultReply(t, o, r.taskURL(t.ID))); err != nil {
		log.Warn("reply with the result", "err", err)
	}
	if o.prURL != "" {
		if err := r.Forge.React(ctx, t.InstallationID, t.Repo, t.CommentID, "rocket"); err != nil {
			log.Warn("react rocket", "err", err)
		}
	}
	log.Info("task ended", "reason", o.reason, "pr", o.prURL, "duration", o.duration)
}
