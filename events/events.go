// Package events records what happens to a task: each event is masked, stored in Postgres (kept, the
// record a finished task's page shows) and published on Redis (live, for viewers on any web node).
package events

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/mask"
)

// Channel returns the Redis pub/sub channel carrying a task's live events.
func Channel(taskID string) string { return "sesame:task:" + taskID + ":events" }

// Recorder stores and publishes task events. The events of one task are stored and published one
// at a time, so viewers receive them in the order of their ids (they resume by id after a reconnect).
type Recorder struct {
	Store  sesame.TaskStore
	Redis  redis.UniversalClient // nil: stored only
	Masker *mask.Masker
	Logger *slog.Logger
	Audit  sesame.AuditLog // nil: status changes are not audited

	locks [64]sync.Mutex // striped by task id
}

// lock serializes the store-then-publish of one task's events.
func (r *Recorder) lock(taskID string) func() {
	h := fnv.New32a()
	h.Write([]byte(taskID))
	m := &r.locks[h.Sum32()%uint32(len(r.locks))]
	m.Lock()
	return m.Unlock
}

// Add masks e, stores it and publishes it. A failure to publish is logged, not returned: the event is
// kept, and a viewer that reconnects reads it from the store.
func (r *Recorder) Add(ctx context.Context, e sesame.TaskEvent) (sesame.TaskEvent, error) {
	e.Message = r.Masker.String(e.Message)
	if e.Data != nil {
		e.Data = r.Masker.Value(e.Data).(map[string]any)
	}
	defer r.lock(e.TaskID)()
	stored, err := r.Store.AddEvent(ctx, e)
	if err != nil {
		return e, err
	}
	r.publish(ctx, stored)
	return stored, nil
}

// SetStatus moves the task to status (reason masked) and publishes the change.
func (r *Recorder) SetStatus(ctx context.Context, taskID string, status sesame.TaskStatus, reason string) error {
	defer r.lock(taskID)()
	reason = r.Masker.String(reason)
	e, err := r.Store.SetStatus(ctx, taskID, status, reason)
	if err != nil {
		return err
	}
	r.publish(ctx, e)
	r.audit(ctx, taskID, status, reason)
	return nil
}

// statusActions are the status changes the audit log records.
var statusActions = map[sesame.TaskStatus]sesame.AuditAction{
	sesame.StatusPreparing: sesame.AuditTaskStarted,
	sesame.StatusCompleted: sesame.AuditTaskCompleted,
	sesame.StatusFailed:    sesame.AuditTaskFailed,
	sesame.StatusStopped:   sesame.AuditTaskStopped,
}

// audit records a task's start and end in the audit log, as the system's doing.
func (r *Recorder) audit(ctx context.Context, taskID string, status sesame.TaskStatus, reason string) {
	action, ok := statusActions[status]
	if r.Audit == nil || !ok {
		return
	}
	var payload map[string]any
	if reason != "" {
		payload = map[string]any{"reason": reason}
	}
	r.Audit.Record(ctx, sesame.AuditEvent{ActorID: sesame.ActorSystem, Action: action,
		ResourceType: sesame.ResourceTask, ResourceID: taskID, Payload: payload})
}

func (r *Recorder) publish(ctx context.Context, e sesame.TaskEvent) {
	if r.Redis == nil {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		err = r.Redis.Publish(ctx, Channel(e.TaskID), b).Err()
	}
	if err != nil {
		r.Logger.Warn("publish task event", "task_id", e.TaskID, "event_id", e.ID, "err", err)
	}
}
