// Package queue carries Sesame's work through Redis with asynq: the job types, their payloads and
// constructors, the submitter every inbound path uses, the worker server, and the periodic reconciler
// that enqueues tasks whose job never reached Redis.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	sesame "github.com/sesame-works/sesame"
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

// jobRetention keeps a finished job's id in Redis for a while, so a late re-enqueue of the same task
// (the reconciler, a redelivery) is refused by the queue rather than run again.
const jobRetention = 24 * time.Hour

// Queues. A task that runs an agent is a job of RunQueue, whose slots (WORKER_CONCURRENCY) agents may
// hold for an hour; a command (help, status, stop, retry, or one that could not be read) is a job of
// CommandQueue, which a worker serves with slots of its own (CommandSlots): a stop is carried out,
// and a status answered, while every agent slot is taken.
const (
	RunQueue     = "default" // asynq's default, the queue of every job before commands had their own
	CommandQueue = "commands"
	CommandSlots = 2
)

// queueOf is the queue of a task of kind.
func queueOf(kind sesame.TaskKind) string {
	if kind == sesame.KindRun || kind == "" {
		return RunQueue
	}
	return CommandQueue
}

// NewTaskRun returns the job for a task of kind. Its asynq task id is the task id, so enqueueing it
// twice (the request and the reconciler racing) leaves one job.
func NewTaskRun(taskID string, kind sesame.TaskKind) (*asynq.Task, error) {
	return taskJob(taskID, taskID, kind)
}

// NewTaskResume returns the job that resumes a task of kind whose worker died, for its restart-th
// restart. Its id differs from the first job's, which asynq may still hold as active for the dead
// worker, and is the same for every worker that notices the loss, so the task is resumed once.
func NewTaskResume(taskID string, kind sesame.TaskKind, restart int) (*asynq.Task, error) {
	return taskJob(taskID, fmt.Sprintf("%s:resume:%d", taskID, restart), kind)
}

// taskJob is a TypeTaskRun job for the task with taskID, under the asynq id jobID, on kind's queue.
func taskJob(taskID, jobID string, kind sesame.TaskKind) (*asynq.Task, error) {
	payload, err := json.Marshal(TaskRunPayload{TaskID: taskID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeTaskRun, payload, asynq.Queue(queueOf(kind)),
		asynq.TaskID(jobID), asynq.MaxRetry(5), asynq.Timeout(jobTimeout), asynq.Retention(jobRetention)), nil
}

// HandleTaskRun adapts run to an asynq handler for TypeTaskRun jobs. When an attempt fails and no
// retry will follow (the error is permanent, or it was the last attempt), giveUp is told, so the task
// can be ended with its reason instead of staying unfinished. A payload that cannot be read is not
// retried.
func HandleTaskRun(run func(ctx context.Context, taskID string) error, giveUp func(ctx context.Context, taskID string, err error)) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p TaskRunPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.TaskID == "" {
			return fmt.Errorf("read %s payload %q: %v: %w", TypeTaskRun, t.Payload(), err, asynq.SkipRetry)
		}
		err := run(ctx, p.TaskID)
		if err != nil && giveUp != nil && lastAttempt(ctx, err) {
			giveUp(context.WithoutCancel(ctx), p.TaskID, err)
		}
		return err
	}
}

func lastAttempt(ctx context.Context, err error) bool {
	if errors.Is(err, asynq.SkipRetry) {
		return true
	}
	retried, ok1 := asynq.GetRetryCount(ctx)
	maxRetry, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && retried >= maxRetry
}

// ErrPermanent marks a job error that a retry cannot mend; wrap it with %w.
var ErrPermanent = asynq.SkipRetry
