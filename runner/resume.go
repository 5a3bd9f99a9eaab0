package runner

import (
	"context"
	"fmt"
	"log/slog"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/gitops"
)

// resume carries on a task whose worker died while it ran (t.Restarts counts those deaths), and
// reports whether it is done with the task. A task that had pushed its branch goes on from the push:
// the pull request is found or opened, and the requester told. Any other is run again from the
// start, at most MaxRestarts times; after that it fails with the reason.
func (r *Runner) resume(ctx context.Context, t *sesame.Task, log *slog.Logger) bool {
	was := t.Status
	log = log.With("restart", t.Restarts, "was", was)
	if o, ok := r.resumeFromPush(ctx, t, log); ok {
		log.Info("task resumed from its push")
		r.conclude(ctx, t, o)
		return true
	}
	if t.Restarts > MaxRestarts {
		log.Warn("task's worker died too often; not running it again")
		r.conclude(ctx, t, outcome{status: sesame.StatusFailed, restarts: t.Restarts - 1, reason: fmt.Sprintf(
			"Sesame's worker stopped %d times while running this task (the last time while it was %s), so it was not run again. Ask again to retry.",
			t.Restarts, was)})
		return true
	}
	log.Warn("task's worker died; running it again from the start")
	r.note(ctx, t, "resumed", map[string]any{"restart": t.Restarts, "max_restarts": MaxRestarts, "was": string(was)})
	if err := r.setStatus(ctx, t, sesame.StatusPreparing, ""); err != nil {
		if sesame.ErrorCode(err) != sesame.ECONFLICT {
			log.Error("record the restart", "err", err)
		}
		return true
	}
	return false
}

// resumeFromPush finishes a task whose worker died after pushing its branch, and reports whether it
// did. The branch was pushed when the task recorded it, or when the task was pushing and the remote
// has it; a pull request already opened from it is the task's, so there is never a second one.
func (r *Runner) resumeFromPush(ctx context.Context, t *sesame.Task, log *slog.Logger) (outcome, bool) {
	if t.Branch == "" && t.Status != sesame.StatusPushing {
		return outcome{}, false
	}
	o := outcome{
		status:   sesame.StatusCompleted,
		agent:    t.Agent,
		model:    t.Model,
		branch:   t.Branch,
		pushed:   true,
		restarts: t.Restarts,
		usage:    agent.Usage{InputTokens: int(t.InputTokens), OutputTokens: int(t.OutputTokens), CostUSD: t.CostUSD},
		prNumber: t.PRNumber,
		prURL:    t.PRURL,
		onPR:     iterates(t),
	}
	if o.agent == "" {
		o.agent = DefaultAgent
	}
	if t.PRURL != "" {
		return o, true
	}
	if r.Host == nil {
		return failed("No GitHub App is configured on this Sesame server (GITHUB_APP_ID)."), true
	}
	repo, err := r.Host.Repository(ctx, t.InstallationID, t.Repo)
	if err != nil {
		log.Error("look up repository", "err", err)
		return failed("Sesame could not look up %s on GitHub.", t.Repo), true
	}
	if o.onPR { // pushing onto a pull request, not recorded as done: the task starts over
		return outcome{}, false
	}
	// The branch and title the utility model gave it, as recorded before the push (naming.go).
	recorded, prTitle := r.recordedNames(ctx, t, log)
	o.title = prTitle
	if o.branch == "" { // it was pushing when its worker died: did the push land?
		o.branch = recorded
		if o.branch == "" {
			o.branch = gitops.BranchName(t.IssueNumber, t.Instruction, t.ID)
		}
		token, err := r.Host.GitToken(ctx, t.InstallationID)
		if err != nil {
			log.Error("installation token", "err", err)
			return failed("Sesame could not get a token to read %s.", t.Repo), true
		}
		r.masker().Add(token)
		sha, err := gitops.RemoteBranch(ctx, repo.CloneURL, token, o.branch)
		if err != nil {
			log.Error("look up pushed branch", "err", r.masker().String(err.Error()))
			return failed("Sesame could not tell whether %s was pushed.", o.branch), true
		}
		if sha == "" {
			return outcome{}, false // not pushed: the task starts over
		}
		if err := r.Store.SetResult(ctx, t.ID, o.result()); err != nil {
			log.Warn("record the pushed branch", "err", err)
		}
	}
	r.note(ctx, t, "resumed from the push", map[string]any{"branch": o.branch, "restart": t.Restarts})
	o.prNumber, o.prURL, err = r.Host.FindPullRequest(ctx, t.InstallationID, t.Repo, o.branch)
	switch {
	case err != nil:
		log.Error("look for the pull request", "err", err)
		o.status, o.reason = sesame.StatusFailed, fmt.Sprintf("Sesame pushed %s but could not open the pull request.", o.branch)
	case o.prNumber == 0:
		into := repo.DefaultBranch
		if t.Base != "" {
			into = t.Base
		}
		o = r.openPullRequest(ctx, t, o, into, log)
	}
	return o, true
}

// interrupt leaves a task whose context ended for a reason of this worker's, not the task's: after a
// lost lease another worker may already run it; when the job's context ended (the worker is
// shutting down) the lease is given back, so that another worker resumes the task at once.
func (r *Runner) interrupt(ctx context.Context, t *sesame.Task, log *slog.Logger) error {
	if leaseLost(ctx) {
		log.Warn("task left to the worker that resumes it: this worker lost its lease")
		return nil
	}
	if err := r.Store.ReleaseLease(context.WithoutCancel(ctx), t.ID, r.workerID()); err != nil {
		log.Warn("give back the task's lease", "err", err)
	}
	log.Warn("task interrupted: another worker will resume it")
	return fmt.Errorf("task %s interrupted: %w", t.ID, context.Cause(ctx))
}

// restartNote says in a final reply that the task was resumed after its worker died.
func restartNote(o outcome) string {
	switch {
	case o.restarts <= 0:
		return ""
	case o.restarts == 1:
		return "🔁 The worker running this task stopped once before it finished; Sesame resumed the task."
	}
	return fmt.Sprintf("🔁 The worker running this task stopped %d times before it finished; Sesame resumed the task each time.", o.restarts)
}
