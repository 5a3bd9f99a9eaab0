package queue

import (
	"context"
	"log/slog"
	"time"
)

// Reconciler enqueues tasks that were stored but whose job never reached Redis: Redis was down when
// the request came, or the process died between storing and enqueueing.
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

// Once enqueues every task found unqueued and returns how many it enqueued. It stops at the first
// enqueue that fails, since Redis is then most likely still down.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	grace := r.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	n := 0
	for {
		tasks, err := r.Submitter.Store.UnqueuedTasks(ctx, time.Now().Add(-grace), 100)
		if err != nil || len(tasks) == 0 {
			return n, err
		}
		for _, t := range tasks {
			if err := r.Submitter.Enqueue(ctx, t.ID); err != nil {
				return n, err
			}
			n++
			r.Logger.Info("reconciler enqueued task", "task_id", t.ID, "delivery_id", t.DeliveryID)
		}
	}
}
