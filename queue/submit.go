package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	sesame "github.com/sesame-works/sesame"
)

// EnqueueTimeout bounds the wait for Redis inside a request: a task that is stored but not enqueued
// in time is answered all the same and left to the reconciler.
const EnqueueTimeout = time.Second

// Submitter stores a request's task and enqueues its job. It implements sesame.TaskSubmitter.
type Submitter struct {
	Store  sesame.TaskStore
	Client *asynq.Client
	Logger *slog.Logger
}

var _ sesame.TaskSubmitter = (*Submitter)(nil)

// Submit stores the task first, then enqueues it. Failing to enqueue is logged, not returned: the
// task is safe in Postgres and the reconciler enqueues it once Redis answers. Submit does not record
// the enqueue in Postgres: that second write doubled the request's tail latency, and the reconciler
// confirms jobs in batches instead.
func (s *Submitter) Submit(ctx context.Context, r sesame.Request) (*sesame.Task, bool, error) {
	t, created, err := s.Store.CreateTask(ctx, r)
	if err != nil || !created {
		return t, created, err
	}
	if err := s.Enqueue(ctx, t.ID); err != nil {
		s.Logger.Warn("task stored but not enqueued; the reconciler will retry",
			"task_id", t.ID, "delivery_id", r.DeliveryID, "err", err)
	}
	return t, true, nil
}

// Enqueue puts the task's job on the queue at most once: a job already there (same task id) is success.
func (s *Submitter) Enqueue(ctx context.Context, taskID string) error {
	job, err := NewTaskRun(taskID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, EnqueueTimeout)
	defer cancel()
	if _, err := s.Client.EnqueueContext(ctx, job); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue task %s: %w", taskID, err)
	}
	return nil
}
