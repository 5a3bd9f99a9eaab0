package runner

import (
	"context"

	sesame "github.com/sesame-works/sesame"
)

// finish records what the task produced and how it ended, and tells the requester: on GitHub by
// editing the progress comment in place (a web request's reply is its task page). A task that already
// ended (stopped meanwhile) is left as it is.
func (r *Runner) finish(ctx context.Context, t *sesame.Task, o outcome) {
	ctx = context.WithoutCancel(ctx) // the job's context may be what ended; the requester still hears
	log := r.Logger.With("task_id", t.ID, "status", o.status)
	if res := o.result(); res != (sesame.TaskResult{}) {
		if err := r.Store.SetResult(ctx, t.ID, res); err != nil {
			log.Error("record task result", "err", err)
		}
	}
	if err := r.setStatus(ctx, t, o.status, o.reason); err != nil {
		if sesame.ErrorCode(err) != sesame.ECONFLICT {
			log.Error("record task end", "err", err)
		}
		return
	}
	if o.prURL != "" {
		r.note(ctx, t, "pull request opened", map[string]any{"number": o.prNumber, "url": o.prURL, "branch": o.branch})
	}
	log.Info("task ended", "reason", o.reason, "pr", o.prURL, "duration", o.duration)
	if r.Forge == nil || t.Source != sesame.SourceGitHub {
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
}

// result is what the task produced, for its page: the branch once pushed, the pull request once
// opened, and what the agent used.
func (o outcome) result() sesame.TaskResult {
	res := sesame.TaskResult{
		PRNumber:     o.prNumber,
		PRURL:        o.prURL,
		InputTokens:  int64(o.usage.InputTokens),
		OutputTokens: int64(o.usage.OutputTokens),
		CostUSD:      o.usage.CostUSD,
	}
	if o.pushed {
		res.Branch = o.branch
	}
	return res
}
