package queue

import (
	"context"
	"log/slog"
	"time"
)

// Reconciler makes sure every stored task has its job in Redis. It offers each queued task not yet
// confirmed to the queue again: a task whose job is there already is a no-op (the task id is the job
// id), and one whose job never arrived — Redis was down when the request came, or the process died
// between storing and enqueueing — is enqueued now. Then it marks them all confirmed in one write.
type Reconciler struct {
	Submitter *Submitter
	Interval  time.Duration // how often to look; default 10s
	Grace     time.Duration // leave tasks younger than this to the request storing them; default 5s
	Logger    *slog.Logger
}

// Run looks for unqueued tasks every Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	interval := r.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if _, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("reconcile unqueued tasks", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// Once confirms every queued task not yet confirmed and returns how many it confirmed. It stops at
// the first enqueue that fails, since Redis is then most likely still down.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	grace := r.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	n := 0
	for {
		tasks, err := r.Submitter.Store.UnqueuedTasks(ctx, time.Now().Add(-grace), 500)
		if err != nil || len(tasks) == 0 {
			return n, err
		}
		ids := make([]string, 0, len(tasks))
		for _, t := range tasks {
			if err := r.Submitter.Enqueue(ctx, t.ID); err != nil {
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
