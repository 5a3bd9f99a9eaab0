package events

import (
	"context"

	sesame "github.com/sesame-works/sesame"
)

// StopChannel is the Redis pub/sub channel on which stop requests reach every worker. A message is a
// task id. Workers also poll the store for requested stops, so a message missed while a worker was
// reconnecting is not a stop lost.
const StopChannel = "sesame:tasks:stop"

// RequestStop records that by asked to stop the task and tells the workers. A task still queued is
// stopped at once (its status change is published like any other); a running one is stopped by the
// worker that runs it, which then tells the requester.
func (r *Recorder) RequestStop(ctx context.Context, taskID, by string) (*sesame.Task, error) {
	unlock := r.lock(taskID)
	t, stopped, err := r.Store.RequestStop(ctx, taskID, r.Masker.String(by))
	if err == nil && stopped != nil {
		r.publish(ctx, *stopped)
	}
	unlock()
	if err == nil && stopped != nil {
		r.audit(ctx, taskID, sesame.StatusStopped, stopped.Message)
	}
	if err != nil {
		return nil, err
	}
	if r.Redis != nil {
		if err := r.Redis.Publish(ctx, StopChannel, taskID).Err(); err != nil {
			r.Logger.Warn("publish stop request", "task_id", taskID, "err", err)
		}
	}
	return t, nil
}
