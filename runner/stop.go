package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/events"
)

// ErrStopRequested is the cause of a running task's context once someone asked to stop the task. It
// tells a stop apart from the end of the job's context (a worker shutting down).
var ErrStopRequested = errors.New("stop requested")

// runningTask is a task this process runs, with the function that stops it and when its lease was
// last claimed or renewed.
type runningTask struct {
	cancel context.CancelCauseFunc
	leased time.Time
	clock  stageClock // for Metrics (metrics.go)
}

// track registers the task with id as running here until the returned function is called, and gives
// it a context that Stop cancels.
func (r *Runner) track(ctx context.Context, id string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	now := time.Now()
	rt := &runningTask{cancel: cancel, leased: now, clock: stageClock{claimed: now, since: now}}
	r.mu.Lock()
	if r.running == nil {
		r.running = map[string]*runningTask{}
	}
	r.running[id] = rt
	r.mu.Unlock()
	return ctx, func() {
		r.mu.Lock()
		if r.running[id] == rt {
			delete(r.running, id)
		}
		r.mu.Unlock()
		cancel(nil)
	}
}

// Stop stops the task with id if it runs in this process, and reports whether it does. The task ends
// as stopped, in whatever stage it was: its agent is killed, nothing more is pushed, and its
// requester is told. Stopping a task twice is harmless.
func (r *Runner) Stop(id string) bool {
	r.mu.Lock()
	rt := r.running[id]
	r.mu.Unlock()
	if rt == nil {
		return false
	}
	rt.cancel(ErrStopRequested)
	return true
}

// runningIDs returns the ids of the tasks running here, sorted.
func (r *Runner) runningIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.running))
	for id := range r.running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// WatchStops stops the tasks running here whose stop was requested, until ctx ends. It listens on
// events.StopChannel of rdb (nil: it only polls), and every poll asks the store about the tasks
// running here, so that a message missed while Redis reconnected is not a stop lost. It returns nil
// when ctx ends.
func (r *Runner) WatchStops(ctx context.Context, rdb redis.UniversalClient, poll time.Duration) error {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	var msgs <-chan *redis.Message
	if rdb != nil {
		sub := rdb.Subscribe(ctx, events.StopChannel)
		defer sub.Close()
		msgs = sub.Channel()
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			if r.Stop(m.Payload) {
				r.Logger.Info("stopping task on request", "task_id", m.Payload, "via", "pubsub")
			}
		case <-ticker.C:
			r.pollStops(ctx)
		}
	}
}

// pollStops stops the tasks running here whose stop the store holds.
func (r *Runner) pollStops(ctx context.Context) {
	ids := r.runningIDs()
	if len(ids) == 0 {
		return
	}
	stop, err := r.Store.StopRequested(ctx, ids)
	if err != nil {
		if ctx.Err() == nil {
			r.Logger.Warn("poll stop requests", "err", err)
		}
		return
	}
	for _, id := range stop {
		if r.Stop(id) {
			r.Logger.Info("stopping task on request", "task_id", id, "via", "poll")
		}
	}
}

// stopRequested reports whether ctx ended because someone asked to stop its task.
func stopRequested(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrStopRequested)
}

// conclude finishes t with o, or as stopped when someone asked to stop it before it completed.
func (r *Runner) conclude(ctx context.Context, t *sesame.Task, o outcome) {
	if o.status != sesame.StatusCompleted && stopRequested(ctx) {
		o.status, o.reason, o.noChanges = sesame.StatusStopped, "Stopped by "+r.stoppedBy(ctx, t)+".", false
	}
	r.finish(ctx, t, o)
}

// stoppedBy names who asked to stop t, as the store has it now.
func (r *Runner) stoppedBy(ctx context.Context, t *sesame.Task) string {
	by := t.StopRequestedBy
	if fresh, err := r.Store.Task(context.WithoutCancel(ctx), t.ID); err == nil && fresh.StopRequestedBy != "" {
		by = fresh.StopRequestedBy
	}
	if by == "" {
		by = "request"
	}
	return by
}

// stoppedBeforeStart tells the requester that their task was stopped while still queued (the store
// stopped it, and only its job can tell them), unless they already heard of it; one that was told it
// waits in line hears it in that reply (thread.go). Any other task that has ended is left alone.
func (r *Runner) stoppedBeforeStart(ctx context.Context, t *sesame.Task) error {
	if waited, err := r.endedInLine(ctx, t); waited || err != nil {
		return err
	}
	origin := r.origin(t)
	if t.Status != sesame.StatusStopped || t.Kind != sesame.KindRun || origin == nil || r.Host == nil {
		return nil
	}
	return retryable(origin.Finish(ctx, t, stoppedReport(t.StopRequestedBy, true)))
}

// stoppedReport is the report of a task stopped before it started.
func stoppedReport(by string, onlyIfSilent bool) sesame.TaskReport {
	if by == "" {
		by = "request"
	}
	return sesame.TaskReport{Status: sesame.StatusStopped, BeforeStart: true, OnlyIfSilent: onlyIfSilent,
		Reason: fmt.Sprintf("Sesame stopped this task before it started (stopped by %s).", by)}
}

// endedMeanwhile handles a task that reached a final status while this job started it: when it was
// stopped, the progress comment just posted says so.
func (r *Runner) endedMeanwhile(ctx context.Context, t *sesame.Task) error {
	fresh, err := r.Store.Task(ctx, t.ID)
	if err != nil {
		return err
	}
	origin := r.origin(t)
	if fresh.Status != sesame.StatusStopped || origin == nil {
		return nil
	}
	return retryable(origin.Finish(ctx, fresh, stoppedReport(fresh.StopRequestedBy, false)))
}
