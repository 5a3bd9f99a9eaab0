package runner

import (
	"context"

	sesame "github.com/sesame-works/sesame"
)

// finish records what the task produced and how it ended, and tells the requester through the
// task's origin, before the status turns final: whoever sees the task ended finds the reply there
// too. A task that already ended (stopped meanwhile) is left as it is.
func (r *Runner) finish(ctx context.Context, t *sesame.Task, o outcome) {
	ctx = context.WithoutCancel(ctx) // the job's context may be what ended; the requester still hears
	log := r.Logger.With("task_id", t.ID, "status", o.status)
	if res := o.result(); res != (sesame.TaskResult{}) {
		if err := r.Store.SetResult(ctx, t.ID, res); err != nil {
			log.Error("record task result", "err", err)
		}
	}
	if cur, err := r.Store.Task(ctx, t.ID); err == nil && cur.Status.Final() {
		r.observeStatus(t.ID, cur.Status) // stopped from another node: counted here, where it ran
		return                            // ended meanwhile: its end was told then
	}
	if origin := r.origin(t); origin != nil {
		if err := origin.Finish(ctx, t, o.report()); err != nil {
			log.Warn("tell the requester how the task ended", "err", err)
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
}

// report is how the task ended, for its requester.
func (o outcome) report() sesame.TaskReport {
	rep := sesame.TaskReport{
		Status: o.status, Reason: o.reason, Summary: o.summary, NoChanges: o.noChanges,
		PRNumber: o.prNumber, PRURL: o.prURL, Facts: runFacts(o), CostUSD: o.usage.CostUSD, Duration: o.duration,
	}
	if o.pushed {
		rep.Branch = o.branch
	}
	rep.OnPullRequest, rep.Commits, rep.Rebased = o.onPR, o.commits, o.rebased
	for _, note := range []string{sandboxNote(o), restartNote(o)} {
		if note != "" {
			rep.Notes = append(rep.Notes, note)
		}
	}
	return rep
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
