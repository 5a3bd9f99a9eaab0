// Package queue carries Sesame's work through Redis with asynq: the job types, their payloads and
// constructors, the submitter every inbound path uses, the worker server, and the periodic reconciler
// that enqueues tasks whose job never reached Redis.
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeTaskRun is the job that carries one task from queued to its end.
const TypeTaskRun = "task:run"

// TaskRunPayload is the payload of a TypeTaskRun job. The task itself lives in Postgres; the job only
// names it, so a job never carries a stale copy.
type TaskRunPayload struct {
	TaskID string `json:"task_id"`
}

// jobTimeout bounds one attempt of a job. The runner enforces the task's own maximum duration inside
// it; this is the outer guard against a handler that never returns.
const jobTimeout = 2 * time.Hour

// NewTaskRun returns the job for a task. Its asynq task id is the task id, so enqueueing it twice
// (the request and the reconciler racing) leaves one job.
func NewTaskRun(taskID string) (*asynq.Task, error) {
	payload, err := json.Marshal(TaskRunPayload{TaskID: taskID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeTaskRun, payload,
		asynq.TaskID(taskID), asynq.MaxRetry(5), asynq.Timeout(jobTimeout)), nil
}

// HandleTaskRun adapts run to an asynq handler for TypeTaskRun jobs. A payload that cannot be read is
// not retried.
func HandleTaskRun(run func(ctx context.Context, taskID string) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p TaskRunPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.TaskID == "" {
			return fmt.Errorf("read %s payload %q: %v: %w", TypeTaskRun, t.Payload(), err, asynq.SkipRetry)
		}
		return run(ctx, p.TaskID)
	}
}

// ErrPermanent marks a job error that a retry cannot mend; wrap it with %w.
var ErrPermanent = asynq.SkipRetry
