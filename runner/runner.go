// Package runner carries one task from the queue to its end: it authorizes the requester,
// acknowledges the request, prepares the workspace, runs the agent in its sandbox, commits, pushes,
// opens the pull request and tells the requester. It reaches GitHub through the small Forge interface
// it declares, never through the bot package.
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/queue"
	"github.com/sesame-works/sesame/sandbox"
)

// Runner runs tasks.
type Runner struct {
	Store  sesame.TaskStore
	Events *events.Recorder
	// Host is the code host (GitHub): repositories, tokens, pull requests. nil: no GitHub App.
	Host CodeHost
	// Origins are the places requests come from, by task source; a task whose source has none
	// fails with a reply-less reason.
	Origins  map[sesame.Source]Origin
	Sandbox  sandbox.Provider
	Mirrors  *gitops.Cache
	Agents   Agents
	Masker   *mask.Masker
	Settings Settings
	// Live returns the task settings as admins have them now, read at the start of each task; nil
	// means Settings. BaseDirectory and KeepWorkspace always come from Settings: they are fixed at start.
	Live func() Settings
	// Policy returns the admin's sandbox policy as it is when a task starts (saved settings over
	// the config); nil means Settings.SandboxSecurity with no global domain lists.
	Policy  func(ctx context.Context) (sesame.SandboxPolicy, error)
	Users   Users  // nil: every commit is the Sesame Agent's
	BaseURL string // Sesame's public URL, for links to a task's page
	Logger  *slog.Logger
	// WorkerID names this worker in the leases it holds on tasks; "" makes one (NewWorkerID).
	WorkerID string
	// Lease is how long a task's lease lasts unless renewed (Heartbeat); 0 means DefaultLease.
	Lease time.Duration
	// Runtimes configures the install of a repository's runtimes and dependencies before its agent
	// runs (Settings.InstallRuntimes turns it on).
	Runtimes RuntimeOptions
	// Lines makes the run tasks of one issue or pull request run one at a time, in order (thread.go);
	// nil: every task starts when a worker picks it up.
	Lines Lines
	// Submitter stores and enqueues the task that /sesame retry asks for, as every inbound path
	// does; nil: retry is refused with a reason.
	Submitter sesame.TaskSubmitter
	// Budgets holds requesters to their monthly cost budgets (budget.go); nil: none apply.
	Budgets Budgets
	// Namer asks the utility model for the branch name, commit message and pull request title
	// (naming.go); nil: Sesame's own deterministic names.
	Namer Namer
	// Metrics is told how long stages and tasks take, what agents spend and what sandboxes refuse
	// (metrics.go); nil: nothing is told.
	Metrics Metrics

	once    sync.Once
	mu      sync.Mutex
	running map[string]*runningTask // tasks running in this process, by id
}

// Settings are the task settings the runner reads at the start of each task.
type Settings struct {
	BaseDirectory string        // {TASK_DIR_BASE}: one folder per task
	MaxDuration   time.Duration // the longest an agent may run
	CoAuthoredBy  bool          // add the Co-authored-by trailer
	KeepWorkspace bool          // keep every task's folder after it ends (debugging)
	// SandboxSecurity is sandbox.security.enabled when Policy is nil: on, every task runs with the
	// sandbox's OS-level restrictions; off, only tasks that ask for them.
	SandboxSecurity bool
	// InstallRuntimes is tasks.installRuntimes: before the agent starts, install the runtimes the
	// repository's version files name (mise) and its dependencies (lockfiles), with the registries
	// they need allowed through the sandbox's proxy for the whole task.
	InstallRuntimes bool
	// Costs are the cost budgets tasks are held to, and the prices of tokens (budget.go).
	Costs Costs
}

// taskSettings returns the settings a task starting now runs with.
func (r *Runner) taskSettings() Settings {
	if r.Live == nil {
		return r.Settings
	}
	s := r.Live()
	s.BaseDirectory, s.KeepWorkspace = r.Settings.BaseDirectory, r.Settings.KeepWorkspace
	return s
}

// Run carries the task with id as far as it can go. It is safe to run again after a crash or a retry:
// a task that has ended is left alone, and a reply already posted is not posted twice. While it runs,
// Stop can end it.
func (r *Runner) Run(ctx context.Context, id string) error {
	// One worker at a time: the lease says which, and a dead worker's runs out. Claiming reads the
	// task too; an ended task or one another worker holds comes back with ECONFLICT.
	t, err := r.Store.Claim(ctx, id, r.workerID(), r.lease())
	switch {
	case sesame.ErrorCode(err) == sesame.ENOTFOUND:
		return fmt.Errorf("task %s: %w: %w", id, err, queue.ErrPermanent)
	case sesame.ErrorCode(err) == sesame.ECONFLICT && t != nil && t.Status.Final():
		r.Logger.Info("task already ended", "task_id", t.ID, "status", t.Status)
		return r.stoppedBeforeStart(ctx, t)
	case sesame.ErrorCode(err) == sesame.ECONFLICT && t != nil:
		r.Logger.Info("another worker holds the task's lease", "task_id", t.ID, "status", t.Status)
		return nil
	case err != nil:
		return fmt.Errorf("claim task %s: %w", id, err)
	}
	log := r.Logger.With("task_id", t.ID, "delivery_id", t.DeliveryID, "repo", t.Repo)
	ctx, untrack := r.track(ctx, t.ID)
	defer untrack()
	ctx = sesame.WithNotice(ctx, r.noticer(ctx, t)) // GitHub's rate limit, waited for: an event of the task

	if r.Host == nil {
		return r.end(ctx, t, sesame.StatusFailed, "No GitHub App is configured on this Sesame server (GITHUB_APP_ID).")
	}
	origin := r.origin(t)
	if origin == nil {
		return r.end(ctx, t, sesame.StatusFailed, fmt.Sprintf("Requests from %s cannot be run yet.", t.Source))
	}

	switch t.Kind { // the origin answers a command that runs nothing
	case sesame.KindHelp:
		if err := origin.Finish(ctx, t, sesame.TaskReport{Status: sesame.StatusCompleted}); err != nil {
			return retryable(err)
		}
		return r.end(ctx, t, sesame.StatusCompleted, "")
	case sesame.KindUsage:
		reason := "The command could not be read: " + t.Instruction
		if err := origin.Finish(ctx, t, sesame.TaskReport{Status: sesame.StatusFailed, Reason: reason}); err != nil {
			return retryable(err)
		}
		return r.end(ctx, t, sesame.StatusFailed, reason)
	case sesame.KindStatus, sesame.KindStop, sesame.KindRetry: // commands.go
		return r.command(ctx, t, origin, log)
	}

	if t.StopRequestedBy != "" { // asked while another attempt ran it
		r.Stop(t.ID)
	}
	if t.Status == sesame.StatusQueued {
		if waiting, err := r.waitInLine(ctx, t, log); waiting || err != nil { // thread.go
			return err
		}
		ok, err := r.start(ctx, t, log)
		if err != nil {
			if stopRequested(ctx) {
				r.conclude(ctx, t, failed("Sesame stopped before the task started."))
				return nil
			}
			if sesame.ErrorCode(err) == sesame.ECONFLICT { // stopped in the store meanwhile
				return r.endedMeanwhile(ctx, t)
			}
			return err
		}
		if !ok {
			return nil
		}
	} else if r.resume(ctx, t, log) { // its worker died: claiming it counted a restart
		return nil
	}
	if r.Sandbox == nil || r.Agents == nil || r.Mirrors == nil {
		r.conclude(ctx, t, outcome{status: sesame.StatusFailed, reason: "This Sesame server cannot run agents (no sandbox or agents configured)."})
		return nil
	}
	o := r.execute(ctx, t, log)
	if o.status != sesame.StatusCompleted && interrupted(ctx) {
		return r.interrupt(ctx, t, log)
	}
	r.conclude(ctx, t, o)
	return nil
}

// start takes a queued task to preparing and reports whether it may go on. Its origin authorizes
// the requester and acknowledges the request first; a refused one ends (failed; the origin told the
// requester why) and start returns false. Errors are marked permanent or not; ECONFLICT means the
// task ended meanwhile.
func (r *Runner) start(ctx context.Context, t *sesame.Task, log *slog.Logger) (bool, error) {
	origin := r.origin(t)
	allowed, reason, err := origin.Authorize(ctx, t)
	if err != nil {
		return false, retryable(err)
	}
	if !allowed {
		log.Info("requester may not run tasks", "requester", t.Requester, "reason", reason)
		return false, r.end(ctx, t, sesame.StatusFailed, reason)
	}
	if refused, err := r.refuseOverBudget(ctx, t, origin, log); refused || err != nil { // budget.go
		return false, err
	}
	if err := origin.Acknowledge(ctx, t); err != nil {
		return false, retryable(err)
	}
	log.Info("task acknowledged")
	return true, r.setStatus(ctx, t, sesame.StatusPreparing, "")
}

// GiveUp ends a task whose job failed for good: the task is failed with the reason, and the progress
// comment, when there is one, says so. Replying is best effort: GitHub may be what failed.
func (r *Runner) GiveUp(ctx context.Context, id string, cause error) {
	t, err := r.Store.Task(ctx, id)
	if err != nil || t.Status.Final() {
		return
	}
	r.Logger.Error("giving up on task", "task_id", id, "err", cause)
	r.finish(ctx, t, outcome{status: sesame.StatusFailed, reason: "Sesame gave up on this task: " + sesame.ErrorMessage(cause)})
}

// end moves t to a final status without touching its reply.
func (r *Runner) end(ctx context.Context, t *sesame.Task, status sesame.TaskStatus, reason string) error {
	err := r.setStatus(ctx, t, status, reason)
	if sesame.ErrorCode(err) == sesame.ECONFLICT {
		return nil // ended meanwhile (stopped, or a concurrent attempt): nothing left to do
	}
	return err
}

func (r *Runner) setStatus(ctx context.Context, t *sesame.Task, status sesame.TaskStatus, reason string) error {
	if err := r.recorder().SetStatus(ctx, t.ID, status, reason); err != nil {
		return err
	}
	t.Status, t.Reason = status, reason
	r.observeStatus(t.ID, status)
	if !status.Final() {
		r.progress(ctx, t, "")
	} else {
		r.leaveLine(ctx, t) // the next task of its thread may start (thread.go)
	}
	return nil
}

// progress tells the task's origin where it is now, with the agent's latest step when there is one.
func (r *Runner) progress(ctx context.Context, t *sesame.Task, step string) {
	if o := r.origin(t); o != nil {
		o.Progress(context.WithoutCancel(ctx), t, sesame.TaskProgress{Status: t.Status, Step: step, Restarts: t.Restarts})
	}
}

// defaults fills in a masker and a store-only recorder when none were given, once, so that every
// secret added to the masker during a task (its installation token) stays masked for the whole run.
func (r *Runner) defaults() {
	r.once.Do(func() {
		if r.Masker == nil {
			r.Masker = mask.New()
		}
		if r.Events == nil {
			r.Events = &events.Recorder{Store: r.Store, Masker: r.Masker, Logger: r.Logger}
		}
		if r.WorkerID == "" {
			r.WorkerID = NewWorkerID()
		}
	})
}

func (r *Runner) recorder() *events.Recorder { r.defaults(); return r.Events }

func (r *Runner) masker() *mask.Masker { r.defaults(); return r.Masker }

func (r *Runner) taskURL(id string) string { return r.BaseURL + "/tasks/" + id }

// retryable returns err as is when a retry may help, and marks it permanent otherwise.
func retryable(err error) error {
	switch sesame.ErrorCode(err) {
	case sesame.ENOTFOUND, sesame.EFORBIDDEN, sesame.EINVALID:
		return fmt.Errorf("%w: %w", err, queue.ErrPermanent)
	}
	return err
}
