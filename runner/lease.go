package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// A worker holds a lease on every task it runs, and renews them all every Lease/3. When a worker
// dies its leases run out, and the reconciler gives its tasks to another worker: within Lease plus
// the reconciler's look (queue.OrphanInterval) of the last renewal.
const (
	// DefaultLease is how long a lease lasts unless renewed.
	DefaultLease = 15 * time.Second
	// MaxRestarts is how often a task is run again from the start after its worker died.
	MaxRestarts = 2
)

// ErrLeaseLost is the cause of a running task's context once this worker could not renew its lease
// in time (PostgreSQL unreachable, or another worker took the task over): the task is left to
// whoever resumes it, and this worker stops touching it.
var ErrLeaseLost = errors.New("lease lost")

// NewWorkerID names a worker process: host, pid and a random part, so a restarted worker on the same
// host is a different worker.
func NewWorkerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (r *Runner) lease() time.Duration {
	if r.Lease <= 0 {
		return DefaultLease
	}
	return r.Lease
}

func (r *Runner) workerID() string { r.defaults(); return r.WorkerID }

// Heartbeat renews the leases of the tasks running here every Lease/3 until ctx ends. A task whose
// lease could not be renewed before it ran out, or was taken over, is cancelled with ErrLeaseLost:
// after that another worker may be running it, and two must never push.
func (r *Runner) Heartbeat(ctx context.Context) error {
	lease := r.lease()
	ticker := time.NewTicker(lease / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		r.renew(ctx, lease)
	}
}

// renew renews the leases of the tasks running here once, and cancels those it lost.
func (r *Runner) renew(ctx context.Context, lease time.Duration) {
	ids := r.runningIDs()
	if len(ids) == 0 {
		return
	}
	asked := time.Now()
	renewCtx, cancel := context.WithTimeout(ctx, lease/3)
	held, err := r.Store.RenewLeases(renewCtx, r.workerID(), ids, lease)
	cancel()
	if err != nil && ctx.Err() != nil {
		return
	} else if err != nil {
		r.Logger.Warn("renew task leases", "tasks", len(ids), "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		rt := r.running[id]
		switch {
		case rt == nil:
		case err == nil && slices.Contains(held, id):
			rt.leased = asked
		case err == nil || time.Since(rt.leased) > lease-lease/3:
			// Taken over, or not renewed for so long that it may run out before the next try: stop
			// here a margin before another worker may start.
			r.Logger.Error("lost the lease of a running task: stopping it here, another worker will resume it", "task_id", id)
			rt.cancel(ErrLeaseLost)
		}
	}
}

// leaseLost reports whether ctx ended because this worker lost the task's lease.
func leaseLost(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrLeaseLost) }

// interrupted reports whether the task's context ended for a reason that is not the task's own: the
// worker is shutting down, or lost the lease. Such a task is not ended here; another attempt resumes it.
func interrupted(ctx context.Context) bool {
	return ctx.Err() != nil && !stopRequested(ctx) && !errors.Is(ctx.Err(), context.DeadlineExceeded)
}
