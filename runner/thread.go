package runner

import (
	"context"
	"fmt"
	"log/slog"

	sesame "github.com/sesame-works/sesame"
)

// One task per thread. The run tasks of one issue or pull request run one at a time, in the order
// they were asked for; a task whose turn has not come waits without a worker:
//
//  1. The worker that picks up a queued run task asks Lines for its thread's turn (race-free in the
//     store: two workers picking up two tasks of one thread at once never both get it).
//  2. When an earlier task of the thread has not ended, its requester is told where it waits
//     (Origin.Queued: "queued behind task X, position N", once authorized), then the task gives up
//     its lease and the job ends: it holds no worker slot, and nothing is failed.
//  3. When a task of the thread ends, the runner leaves the line (leaveLine), which wakes the tasks
//     told they wait: the first takes the turn and starts (Acknowledge turns its reply into the
//     progress comment), the others are told their new place. A task stopped while it waited
//     (its comment deleted, a stop) is woken too, and its reply says so.
//  4. Behind the wake-ups, the reconciler wakes every waiting task whose turn or place came without
//     one (queue.Lines.Recheck): a crash of any process, or a wake-up that crossed the end of the
//     waiting task's own job, delays a task by at most the reconciler's interval, never strands it.
//
// Tasks with no issue (the web app, Slack) and commands that run no agent never wait.

// Lines is where the run tasks of a thread wait their turn; queue.Lines has it.
type Lines interface {
	// Line takes the thread's turn for the queued task with id, whose lease worker holds, or finds
	// its place in line. The task comes back as stored now: with the zero place it took the turn;
	// with no worker (WorkerID "") it waits at the place, which its requester was told (told, or
	// the place recorded as told when told is zero), and worker's lease is given up; otherwise the
	// caller tells the requester the place and calls again with it as told. ECONFLICT: the task
	// ended, or another worker holds it.
	Line(ctx context.Context, id, worker string, told sesame.LinePlace) (*sesame.Task, sesame.LinePlace, error)
	// Place returns the task's place in line now, and the place its requester was last told (zero:
	// it was never told it waits, or no longer is).
	Place(ctx context.Context, id string) (now, told sesame.LinePlace, err error)
	// Leave forgets the place in line of the task with id, which ended and whose requester heard
	// how, and wakes the tasks of its thread told they wait.
	Leave(ctx context.Context, id string) error
}

// waitInLine takes the thread's turn for the queued task t, or leaves it waiting in line, and
// reports whether it waits (or ended meanwhile): then Run returns. t is refreshed from the store
// when it takes the turn, so an edit of its request made while it waited is what runs.
func (r *Runner) waitInLine(ctx context.Context, t *sesame.Task, log *slog.Logger) (bool, error) {
	if r.Lines == nil || t.Kind != sesame.KindRun || t.IssueNumber <= 0 {
		return false, nil
	}
	origin := r.origin(t)
	var told sesame.LinePlace
	for {
		fresh, place, err := r.Lines.Line(ctx, t.ID, r.workerID(), told)
		switch {
		case sesame.ErrorCode(err) == sesame.ECONFLICT:
			return true, r.leftMeanwhile(ctx, t, told.Waiting(), log)
		case err != nil:
			return false, retryable(err)
		}
		*t = *fresh
		if !place.Waiting() {
			return false, nil
		}
		if t.WorkerID == "" { // waits, its lease given up: this job ends here
			r.forget(t.ID)
			log.Info("task waits in line", "behind", place.Behind, "position", place.Position)
			return true, nil
		}
		if t.ProgressCommentID == 0 && t.ProgressRef == "" { // first heard of: is it allowed at all?
			allowed, reason, err := origin.Authorize(ctx, t)
			if err != nil {
				return true, retryable(err)
			}
			if !allowed {
				log.Info("requester may not run tasks", "requester", t.Requester, "reason", reason)
				return true, r.end(ctx, t, sesame.StatusFailed, reason)
			}
		}
		if err := origin.Queued(ctx, t, place); err != nil {
			return true, retryable(err)
		}
		e := sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventStep, Data: map[string]any{"behind": place.Behind, "position": place.Position},
			Message: fmt.Sprintf("waiting in line behind task %s (position %d)", place.Behind, place.Position)}
		if _, err := r.recorder().Add(ctx, e); err != nil {
			log.Warn("record event", "err", err)
		}
		told = place
	}
}

// leftMeanwhile handles a task that Line found ended (stopped while this job looked at it) or held
// by another worker. told says this job just told the requester that the task waits.
func (r *Runner) leftMeanwhile(ctx context.Context, t *sesame.Task, told bool, log *slog.Logger) error {
	fresh, err := r.Store.Task(ctx, t.ID)
	if err != nil {
		return retryable(err)
	}
	switch {
	case !fresh.Status.Final():
		log.Info("another worker holds the task's lease", "status", fresh.Status)
		return nil
	case told:
		return r.tellEndedInLine(ctx, fresh)
	}
	return r.stoppedBeforeStart(ctx, fresh)
}

// endedInLine tells the requester of a task that ended while it waited in line (stopped in the
// store: its comment deleted, or a stop) how it ended, in the reply that said it waited, and moves
// the line on. It reports whether the task had been told it waits.
func (r *Runner) endedInLine(ctx context.Context, t *sesame.Task) (bool, error) {
	if r.Lines == nil || t.Kind != sesame.KindRun || t.IssueNumber <= 0 {
		return false, nil
	}
	_, told, err := r.Lines.Place(ctx, t.ID)
	if err != nil {
		return false, retryable(err)
	}
	if !told.Waiting() {
		return false, nil
	}
	return true, r.tellEndedInLine(ctx, t)
}

// tellEndedInLine tells the requester of t, which was stopped while it waited in line, why, in the
// reply that said it waited, and moves the line on.
func (r *Runner) tellEndedInLine(ctx context.Context, t *sesame.Task) error {
	if origin := r.origin(t); origin != nil && r.Host != nil && t.Status == sesame.StatusStopped {
		rep := stoppedReport(t.StopRequestedBy, false)
		if t.Reason != "" {
			rep.Reason = t.Reason
		}
		if err := origin.Finish(ctx, t, rep); err != nil {
			return retryable(err)
		}
	}
	r.leaveLine(ctx, t)
	return nil
}

// leaveLine moves the line of t's thread on once t ended: the tasks waiting behind it are woken. A
// failure is logged: the reconciler wakes them later.
func (r *Runner) leaveLine(ctx context.Context, t *sesame.Task) {
	if r.Lines == nil || t.Kind != sesame.KindRun || t.IssueNumber <= 0 {
		return
	}
	if err := r.Lines.Leave(context.WithoutCancel(ctx), t.ID); err != nil {
		r.Logger.Warn("wake the tasks waiting behind a task that ended; the reconciler will", "task_id", t.ID, "err", err)
	}
}

// forget stops tracking the task with id here: it gave up its lease to wait in line, and must not
// count as a running task whose lease was lost.
func (r *Runner) forget(id string) {
	r.mu.Lock()
	delete(r.running, id)
	r.mu.Unlock()
}
