package queue

import (
	"context"
	"log/slog"
	"time"
)

// OrphanInterval is how often the reconciler looks for tasks whose worker died. With a lease of 15 s
// renewed every 5 s, a dead worker's task is found within 20 s of its last renewal.
const OrphanInterval = 5 * time.Second

// Reconciler makes sure every stored task that has not ended has a job that will carry it on:
//
//   - a queued task whose job never reached Redis (Redis was down when the request came, or the
//     process died between storing and enqueueing) is enqueued, then marked confirmed;
//   - a queued task whose confirmed job is no longer in Redis (Redis restarted empty, or lost its
//     last writes on a failover) is enqueued again;
//   - a task that left the queue whose worker's lease ran out (the worker was killed, ran out of
//     memory, lost its node) gets a resume job;
//   - a task waiting in its thread's line whose turn or place came without a wake-up is woken
//     (see line.go).
//
// The task id is the job id (with a restart count for resumptions), so several reconcilers, or a
// reconciler racing a request, enqueue one job.
type Reconciler struct {
	Submitter *Submitter
	Interval  time.Duration // how often to look for unqueued and lost jobs; default 10s
	Grace     time.Duration // leave tasks younger than this to the request storing them; default 5s
	// Lines, when set, also wakes the tasks waiting in a thread's line whose turn or place came
	// without a wake-up (Lines.Recheck).
	Lines  *Lines
	Logger *slog.Logger
}

// Run reconciles every Interval, and looks for orphaned tasks every OrphanInterval, until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	interval := r.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	full := time.NewTicker(interval)
	defer full.Stop()
	orphans := time.NewTicker(min(interval, OrphanInterval))
	defer orphans.Stop()
	for {
		if _, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("reconcile queued tasks", "err", err)
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return nil
			case <-full.C:
				waiting = false
			case <-orphans.C:
				if _, err := r.Orphans(ctx); err != nil && ctx.Err() == nil {
					r.Logger.Warn("look for orphaned tasks", "err", err)
				}
			}
		}
	}
}

// Once confirms unqueued tasks, enqueues again the queued tasks whose job Redis lost, and resumes
// orphaned tasks. It returns how many tasks it enqueued or confirmed.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	n, err := r.Unqueued(ctx)
	if err != nil {
		return n, err
	}
	lost, err := r.Lost(ctx)
	n += lost
	if err != nil {
		return n, err
	}
	orphans, err := r.Orphans(ctx)
	n += orphans
	if err != nil || r.Lines == nil {
		return n, err
	}
	woken, err := r.Lines.Recheck(ctx)
	return n + woken, err
}

func (r *Reconciler) grace() time.Duration {
	if r.Grace <= 0 {
		return 5 * time.Second
	}
	return r.Grace
}

// Unqueued confirms every queued task not yet confirmed and returns how many it confirmed. It stops at
// the first enqueue that fails, since Redis is then most likely still down.
func (r *Reconciler) Unqueued(ctx context.Context) (int, error) {
	n := 0
	for {
		tasks, err := r.Submitter.Store.UnqueuedTasks(ctx, time.Now().Add(-r.grace()), 500)
		if err != nil || len(tasks) == 0 {
			return n, err
		}
		ids := make([]string, 0, len(tasks))
		for _, t := range tasks {
			if err := r.Submitter.Enqueue(ctx, t.ID, t.Kind); err != nil {
				if err2 := r.Submitter.Store.MarkEnqueued(ctx, ids...); err2 != nil {
					r.Logger.Warn("mark tasks enqueued", "err", err2)
				}
				return n + len(ids), err
			}
			ids = append(ids, t.ID)
		}
		if err := r.Submitter.Store.MarkEnqueued(ctx, ids...); err != nil {
			return n, err
		}
		n += len(ids)
		r.Logger.Debug("reconciler confirmed queued tasks", "count", len(ids))
	}
}

// Lost enqueues again every confirmed queued task whose job Redis no longer has, and returns how
// many. Offering the job is the question: the task id is the job id, so a job still there (pending,
// scheduled, retrying or running) is a conflict and changes nothing.
func (r *Reconciler) Lost(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		tasks, err := r.Submitter.Store.QueuedTasks(ctx, time.Now().Add(-r.grace()), after, 500)
		if err != nil || len(tasks) == 0 {
			return n, err
		}
		for _, t := range tasks {
			after = t.ID
			job, err := NewTaskRun(t.ID, t.Kind)
			if err != nil {
				return n, err
			}
			added, err := r.Submitter.offer(ctx, t.ID, job)
			if err != nil {
				return n, err
			} else if added {
				n++
				r.Logger.Warn("the queue had lost a queued task's job; enqueued it again", "task_id", t.ID)
			}
		}
	}
}

// Orphans gives every task whose worker's lease ran out a job that resumes it, and returns how many.
func (r *Reconciler) Orphans(ctx context.Context) (int, error) {
	tasks, err := r.Submitter.Store.OrphanedTasks(ctx, 500)
	if err != nil {
		return 0, err
	}
	for i, t := range tasks {
		job, err := NewTaskResume(t.ID, t.Kind, t.Restarts+1)
		if err != nil {
			return i, err
		}
		added, err := r.Submitter.offer(ctx, t.ID, job)
		if err != nil {
			return i, err
		} else if !added {
			continue // another reconciler got there first, or the resume job is waiting for a worker
		}
		lost := "never held"
		if !t.LeaseUntil.IsZero() {
			lost = time.Since(t.LeaseUntil).Round(time.Millisecond).String() + " ago"
		}
		r.Logger.Warn("a task's worker stopped renewing its lease; resuming the task", "task_id", t.ID,
			"status", t.Status, "worker", t.WorkerID, "lease_expired", lost, "restart", t.Restarts+1)
	}
	return len(tasks), nil
}
