package runner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/sandbox"
)

// Agents finds the adapter for an agent by name, with the options this server adds to every run of
// it for the user who asked (userID, "" for a requester without a Sesame account): where its
// executable is, its default model and the credentials it may use: that agent's own only, the user's
// own over the system-wide ones. The error is a *sesame.Error the requester can read (the agent is
// unknown, cannot run yet, is not installed).
type Agents interface {
	Agent(ctx context.Context, name, userID string) (agent.Adapter, agent.Options, error)
}

// DefaultAgent runs when a request names none.
const DefaultAgent = "claude"

// outcome is how a task's execution ended.
type outcome struct {
	status    sesame.TaskStatus
	reason    string // why it failed or stopped, for the requester
	summary   string // the agent's own last words
	noChanges bool
	prNumber  int
	prURL     string
	branch    string
	title     string // the pull request's title from the utility model; "" for title(t.Instruction)
	pushed    bool   // the branch is on the remote
	// onPR: the task worked on an existing pull request's branch (prNumber); commits are what it
	// pushed there, rebased whether they were replayed onto a head that moved.
	onPR     bool
	commits  []string
	rebased  bool
	agent    string
	model    string
	usage    agent.Usage
	duration time.Duration
	// restarts is how often the task was resumed after its worker died.
	restarts int
	// secured says whether the agent ran with OS-level restrictions (false before the sandbox).
	secured    bool
	violations *violations // what the sandbox refused; nil until the sandbox is made (the reply speaks of it then)
	// costEstimated says usage's cost is, at least in part, its tokens at the listed prices;
	// costUnknown names a model whose tokens it leaves out, having neither a cost nor a price.
	costEstimated bool
	costUnknown   string
	// stop: the agent was stopped at a budget, and its work goes on as a draft (budget.go).
	stop *budgetStop
}

func failed(format string, args ...any) outcome {
	return outcome{status: sesame.StatusFailed, reason: fmt.Sprintf(format, args...)}
}

// execute prepares the workspace, runs the agent in its sandbox and turns its changes into a pull
// request. Whatever happens, the sandbox is destroyed, the task's folder is removed (unless the task or
// the server keeps it) and nothing is pushed unless the agent succeeded and nobody stopped the task.
func (r *Runner) execute(ctx context.Context, t *sesame.Task, log *slog.Logger) (o outcome) {
	start := time.Now()
	name := t.Agent
	if name == "" {
		name = DefaultAgent
	}
	o.agent, o.model, o.restarts = name, t.Model, t.Restarts
	defer func() { o.duration = time.Since(start) }()

	adapter, opts, err := r.Agents.Agent(ctx, name, t.UserID)
	if err != nil {
		log.Warn("find agent", "agent", name, "err", err)
		return failed("%s", sesame.ErrorMessage(err))
	}
	maskCredentials(r.masker(), opts.Credentials) // a user's own are not among the server's secrets
	set := r.taskSettings()
	taskDir := filepath.Join(set.BaseDirectory, t.ID)
	workspace := filepath.Join(taskDir, "repo")
	if t.Restarts > 0 { // what the dead worker left: its agent's processes, its half-made workspace
		if err := clearTaskDir(taskDir, log); err != nil {
			log.Error("clear the task folder left by the dead worker", "err", err)
			return failed("Sesame could not clear the task's folder left by its previous worker.")
		}
	}
	if err := os.MkdirAll(taskDir, 0o700); err != nil {
		log.Error("create task folder", "err", err)
		return failed("Sesame could not create the task's folder.")
	}
	if !r.Settings.KeepWorkspace && !t.KeepAlive {
		defer func() {
			if err := os.RemoveAll(taskDir); err != nil {
				log.Warn("remove task folder", "dir", taskDir, "err", err)
			}
		}()
	}

	// The workspace: fetch into the mirror, check out a fresh branch.
	repo, err := r.Host.Repository(ctx, t.InstallationID, t.Repo)
	if err != nil {
		log.Error("look up repository", "err", err)
		return failed("Sesame could not look up %s on GitHub.", t.Repo)
	}
	token, err := r.Host.GitToken(ctx, t.InstallationID)
	if err != nil {
		log.Error("installation token", "err", err)
		return failed("Sesame could not get a token to read %s.", t.Repo)
	}
	r.masker().Add(token)
	mirror, err := r.Mirrors.Sync(ctx, repo.CloneURL, token)
	if err != nil {
		log.Error("sync mirror", "err", r.masker().String(err.Error()))
		return failed("Sesame could not fetch %s.", t.Repo)
	}
	// base is what the workspace starts from; from names it for people, and is what a new pull
	// request merges into.
	base, from := repo.DefaultBranch, repo.DefaultBranch
	if t.Base != "" { // --base: checked by sesame.CheckBranch when the request was made
		base, from = "refs/heads/"+t.Base, t.Base
	}
	var pr *sesame.PullRequestInfo // the pull request the task adds to; nil: it opens one
	var conversation []sesame.Comment
	if iterates(t) {
		var stop *outcome
		if pr, conversation, stop = r.pullRequestOf(ctx, t, log); stop != nil {
			return *stop
		}
		base, from, o.branch, o.onPR = "refs/heads/"+pr.HeadRef, pr.HeadRef, pr.HeadRef, true
	} else {
		o.branch = r.branchName(ctx, t, log) // naming.go: the utility model's words, recorded, or Sesame's
	}
	if err := r.Mirrors.Checkout(ctx, mirror, workspace, repo.CloneURL, base, o.branch); err != nil {
		log.Error("check out", "err", r.masker().String(err.Error()))
		return failed("Sesame could not check out %s.", from)
	}
	r.note(ctx, t, "workspace ready", map[string]any{"branch": o.branch, "base": from, "ms": time.Since(start).Milliseconds()})
	plan := r.runtimePlan(workspace, set, log) // its registries join the sandbox's allowlist

	// The agent, in its sandbox, within the task's maximum duration.
	opts.Prompt, opts.Workdir = prompt(t, r.describe(t)), workspace
	if pr != nil {
		opts.Prompt += pullRequestPrompt(pr, conversation)
	}
	if c := r.describe(t).Context; c != "" {
		opts.Prompt += "\n\n" + c
	}
	if t.Model != "" { // else the agent's default, from Agents
		opts.Model = t.Model
	}
	o.model = opts.Model
	argv, env, err := adapter.Command(opts)
	if err != nil {
		return failed("%s", err.Error())
	}
	policy, err := r.sandboxPolicy(ctx)
	if err != nil {
		log.Error("read sandbox policy", "err", err)
		return failed("Sesame could not read the sandbox policy.")
	}
	o.secured = policy.Secured(t.SandboxSecurity)
	refused := newViolations(r, t)
	hosts, endpoints := policy.Domains()
	gw := r.openPreviews(taskDir, log)
	if gw != nil {
		defer gw.Close() // after the sandbox is destroyed (defers run last first)
	}
	spec := sandbox.Spec{TaskID: t.ID, TaskDir: taskDir, Workspace: workspace, Env: env, PreviewSocket: previewSocket(gw), KeepAlive: t.KeepAlive,
		ReadOnly: []string{filepath.Join(mirror, "objects")},
		Policy: sandbox.Policy{
			Enabled:        o.secured,
			AllowedDomains: append(append(adapter.Domains(opts), hosts...), plan.Domains()...),
			DeniedDomains:  policy.DeniedDomains,
			Endpoints:      append(adapter.Endpoints(opts), endpoints...),
		},
		OnViolation: refused.add,
	}
	created := time.Now()
	sb, err := r.Sandbox.Create(ctx, spec)
	if err == nil && r.Metrics != nil {
		r.Metrics.SandboxStarted(time.Since(created))
	}
	if err != nil {
		log.Error("create sandbox", "err", err)
		if sesame.ErrorCode(err) == sesame.EUNAVAILABLE {
			return failed("Sesame could not start a sandbox for the agent: %s", sesame.ErrorMessage(err))
		}
		return failed("Sesame could not start a sandbox for the agent.")
	}
	defer sb.Destroy(context.WithoutCancel(ctx))
	o.violations = refused
	r.recordSandbox(ctx, t, spec)
	defer r.watchPreviews(ctx, t, gw)() // before the sandbox is destroyed
	runtimeEnv := r.installRuntimes(ctx, t, sb, plan, set, log)
	if err := writeHomeFiles(ctx, sb, adapter, opts); err != nil {
		log.Error("write the agent's files", "err", r.masker().String(err.Error()))
		return failed("Sesame could not prepare %s's settings in the sandbox.", adapter.DisplayName())
	}
	if err := r.setStatus(ctx, t, sesame.StatusRunning, ""); err != nil {
		return failed("Sesame could not record the task's progress.")
	}
	limits, err := r.budgetOf(ctx, t, set)
	if err != nil {
		log.Error("read the task's budget", "err", err)
		return failed("%s", budgetFailure(err))
	}
	limits.model = opts.Model
	res, spent, err := r.runAgent(ctx, t, adapter, sb, argv, runtimeEnv, limits, log)
	o.summary, o.usage, o.costEstimated, o.costUnknown = res.Summary, spent.Usage, spent.Estimated, spent.Unknown
	if r.Metrics != nil {
		r.Metrics.AgentSpent(adapter.Name(), spent.Usage)
	}
	switch {
	case ctx.Err() == nil && stoppedAt(err, limits) != nil: // what it did so far goes on, as a draft
		o.stop = stoppedAt(err, limits)
		log.Info("agent stopped at budget", "budget", o.stop.what(), "spent_usd", o.usage.CostUSD)
	case ctx.Err() != nil:
		o.status, o.reason = sesame.StatusFailed, "Sesame stopped while the agent was running."
		return o
	case err != nil:
		o.status, o.reason = sesame.StatusFailed, err.Error()
		return o
	}

	// The result: commit, push, open the pull request.
	message, prTitle := r.changeNames(ctx, t, workspace, mirror, log) // naming.go: "" for Sesame's own
	if message == "" {
		message = commitMessage(t, r.describe(t), r.taskURL(t.ID))
	}
	o.title = prTitle
	hash, changed, err := gitops.Commit(workspace, mirror, r.signature(ctx, t, log), message, set.CoAuthoredBy)
	if err != nil {
		log.Error("commit", "err", err)
		o.status, o.reason = sesame.StatusFailed, "Sesame could not commit the agent's changes."
		return o
	}
	if !changed {
		o.status, o.noChanges = sesame.StatusCompleted, true
		return o.atBudget()
	}
	r.note(ctx, t, "committed", map[string]any{"commit": hash})
	if ctx.Err() != nil { // stopped while committing: nothing is pushed
		o.status, o.reason = sesame.StatusFailed, "Sesame stopped before pushing the agent's changes."
		return o
	}
	if err := r.setStatus(ctx, t, sesame.StatusPushing, ""); err != nil {
		o.status, o.reason = sesame.StatusFailed, "Sesame could not record the task's progress."
		return o
	}
	if pr != nil {
		return r.pushIteration(ctx, t, o, pr, workspace, mirror, repo.CloneURL, token, log).atBudget()
	}
	if err := gitops.Push(ctx, workspace, mirror, repo.CloneURL, token, o.branch); err != nil {
		log.Error("push", "err", r.masker().String(err.Error()))
		o.status, o.reason = sesame.StatusFailed, fmt.Sprintf("Sesame could not push the branch %s.", o.branch)
		return o
	}
	o.pushed = true
	o.duration = time.Since(start)
	// Recorded before the pull request is opened: a worker dying now leaves a task that resumes from here.
	if err := r.Store.SetResult(context.WithoutCancel(ctx), t.ID, o.result()); err != nil {
		log.Warn("record the pushed branch", "err", err)
	}
	return r.openPullRequest(ctx, t, o, from, log).atBudget()
}

// openPullRequest opens the pull request from o's pushed branch into base and returns o ended:
// completed with it, or failed saying the branch was pushed.
func (r *Runner) openPullRequest(ctx context.Context, t *sesame.Task, o outcome, base string, log *slog.Logger) outcome {
	var err error
	o.prNumber, o.prURL, err = r.Host.CreatePullRequest(ctx, t.InstallationID, t.Repo, sesame.PullRequest{
		Title: draftTitle(o.prTitle(t), o), Body: r.masker().String(prBody(t, r.describe(t), o, r.taskURL(t.ID))), Head: o.branch, Base: base,
		Draft: o.stop != nil,
	})
	if err != nil {
		log.Error("open pull request", "err", err)
		o.status, o.reason = sesame.StatusFailed, fmt.Sprintf("Sesame pushed %s but could not open the pull request.", o.branch)
		return o
	}
	o.status = sesame.StatusCompleted
	return o
}

// sandboxPolicy is the admin's sandbox policy now: from Policy when set, else from Settings.
func (r *Runner) sandboxPolicy(ctx context.Context) (sesame.SandboxPolicy, error) {
	if r.Policy != nil {
		return r.Policy(ctx)
	}
	return sesame.SandboxPolicy{SecurityEnabled: r.taskSettings().SandboxSecurity}, nil
}

// recordSandbox records how the agent's sandbox was set up: which provider, whether OS-level
// restrictions are on, and what the agent may reach.
func (r *Runner) recordSandbox(ctx context.Context, t *sesame.Task, spec sandbox.Spec) {
	msg := "OS-level restrictions off"
	data := map[string]any{"provider": r.Sandbox.Name(), "security": spec.Policy.Enabled}
	if spec.Policy.Enabled {
		msg = "OS-level restrictions on"
		data["allowed_domains"] = append(slices.Clone(spec.Policy.AllowedDomains), spec.Policy.Endpoints...)
	}
	e := sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventSandbox, Message: msg, Data: data}
	if _, err := r.recorder().Add(ctx, e); err != nil {
		r.Logger.Warn("record event", "task_id", t.ID, "err", err)
	}
}

// noticer records what a call made for t waits for (sesame.Notice) as a step of t.
func (r *Runner) noticer(ctx context.Context, t *sesame.Task) func(string) {
	ctx = context.WithoutCancel(ctx)
	return func(msg string) { r.note(ctx, t, msg, nil) }
}

// note records a step of the task as an event.
func (r *Runner) note(ctx context.Context, t *sesame.Task, msg string, data map[string]any) {
	if _, err := r.recorder().Add(ctx, sesame.TaskEvent{TaskID: t.ID, Type: "step", Message: msg, Data: data}); err != nil {
		r.Logger.Warn("record event", "task_id", t.ID, "err", err)
	}
}

// prompt is what the agent is asked: the request, with who asked and where.
func prompt(t *sesame.Task, d sesame.RequestDescription) string {
	const how = "Make the change in this working tree; do not commit or push, Sesame does that after you finish."
	return fmt.Sprintf("%s\n\n(%s. %s)", strings.TrimSpace(t.Instruction), d.Prompt, how)
}
