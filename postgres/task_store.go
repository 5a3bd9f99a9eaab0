package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

// TaskStore implements sesame.TaskStore.
type TaskStore struct {
	db *DB
}

var _ sesame.TaskStore = (*TaskStore)(nil)

// NewTaskStore returns a store of tasks in db.
func NewTaskStore(db *DB) *TaskStore { return &TaskStore{db: db} }

const taskColumns = `id, delivery_id, source, kind, repo, installation_id, issue_number, is_pull_request,
	comment_id, comment_url, requester, requester_id, instruction, agent, model, user_id, sandbox_security,
	keep_alive, status, reason, progress_comment_id, branch, pr_number, pr_url, input_tokens, output_tokens,
	cost_usd, stop_requested_at, stop_requested_by, enqueued_at, started_at, finished_at, created_at, updated_at,
	worker_id, lease_until, restarts, request_key, origin_ref, progress_ref, base, budget_usd`

// finalStatuses is the SQL list of the statuses no change can follow (sesame.TaskStatus.Final).
const finalStatuses = `('completed', 'failed', 'stopped')`

// Task returns the task with id.
func (s *TaskStore) Task(ctx context.Context, id string) (*sesame.Task, error) {
	if uuid.Validate(id) != nil {
		return nil, errTaskNotFound()
	}
	return s.taskBy(ctx, "id", id)
}

func (s *TaskStore) taskBy(ctx context.Context, column, value string) (*sesame.Task, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE `+column+` = $1`, value)
	t, err := pgx.CollectExactlyOneRow(rows, scanTask)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errTaskNotFound()
	} else if err != nil {
		return nil, wrapErr("select task", err)
	}
	return t, nil
}

// MarkEnqueued records, in one statement, that the jobs of the tasks with ids are on the queue.
func (s *TaskStore) MarkEnqueued(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE tasks SET enqueued_at = now() WHERE id = ANY($1::uuid[]) AND enqueued_at IS NULL`, ids)
	return wrapErr("mark enqueued", err)
}

// UnqueuedTasks returns queued tasks created before olderThan that never reached the queue, oldest first.
func (s *TaskStore) UnqueuedTasks(ctx context.Context, olderThan time.Time, limit int) ([]*sesame.Task, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE enqueued_at IS NULL AND status = 'queued' AND created_at < $1
		ORDER BY created_at LIMIT $2`, olderThan, limit)
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, wrapErr("select unqueued tasks", err)
	}
	return tasks, nil
}

// setStatusSQL moves a task that has not ended to $2 and stores the change as an event, in one
// statement. Leaving the queue stamps started_at once; reaching a final status stamps finished_at.
const setStatusSQL = `
WITH t AS (
	UPDATE tasks SET status = $2, reason = $3, updated_at = now(),
		started_at = CASE WHEN $2 = 'queued' THEN started_at ELSE COALESCE(started_at, now()) END,
		finished_at = CASE WHEN $2 IN ` + finalStatuses + ` THEN now() ELSE finished_at END
	WHERE id = $1 AND status NOT IN ` + finalStatuses + `
	RETURNING id, updated_at
)
INSERT INTO task_events (task_id, type, message, data, created_at)
SELECT id, 'status', $2, $4, updated_at FROM t
RETURNING id, created_at`

// SetStatus moves a task that has not ended to status, and stores the change as an event.
func (s *TaskStore) SetStatus(ctx context.Context, id string, status sesame.TaskStatus, reason string) (sesame.TaskEvent, error) {
	e := statusEvent(id, status, reason)
	if uuid.Validate(id) != nil {
		return e, errTaskNotFound()
	}
	err := s.db.Pool.QueryRow(ctx, setStatusSQL, id, status, reason, e.Data).Scan(&e.ID, &e.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.Task(ctx, id); err != nil {
			return e, err
		}
		return e, sesame.Errorf(sesame.ECONFLICT, "The task has already ended.")
	} else if err != nil {
		return e, wrapErr("set task status", err)
	}
	return e, nil
}

// statusEvent is the event that records a change of status, without its id and time.
func statusEvent(taskID string, status sesame.TaskStatus, reason string) sesame.TaskEvent {
	return sesame.TaskEvent{TaskID: taskID, Type: "status", Message: string(status),
		Data: map[string]any{"status": string(status), "reason": reason}}
}

// coded returns err as it is when it already carries a code (a *sesame.Error in its chain), else
// wrapped by wrapErr: for errors out of a transaction, whose function codes its own.
func coded(op string, err error) error {
	var e *sesame.Error
	if errors.As(err, &e) {
		return err
	}
	return wrapErr(op, err)
}

func errTaskNotFound() error { return sesame.Errorf(sesame.ENOTFOUND, "Task not found.") }

// SetProgressRef remembers the origin's handle on the message the task edits as it moves on (Slack:
// the message's ts).
func (s *TaskStore) SetProgressRef(ctx context.Context, id, ref string) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE tasks SET progress_ref = $2, updated_at = now() WHERE id = $1`, id, ref)
	return wrapErr("set progress ref", err)
}

// SetProgressComment remembers the comment the task edits as it moves on.
func (s *TaskStore) SetProgressComment(ctx context.Context, id string, commentID int64) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE tasks SET progress_comment_id = $2, updated_at = now() WHERE id = $1`, id, commentID)
	return wrapErr("set progress comment", err)
}

// AddEvent stores an event of a task.
func (s *TaskStore) AddEvent(ctx context.Context, e sesame.TaskEvent) (sesame.TaskEvent, error) {
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	// An agent's output is a log: its insert commits without waiting for the WAL flush (about 0.1 ms
	// instead of 0.5 ms here), so a busy agent's events keep up. A PostgreSQL crash may lose the last
	// fraction of a second of them; status changes, which decide what happens to a task, stay durable.
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO task_events (task_id, type, message, data)
		SELECT $1, $2, $3, $4 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
		RETURNING id, created_at`, e.TaskID, e.Type, e.Message, e.Data).Scan(&e.ID, &e.CreatedAt)
	return e, wrapErr("insert task event", err)
}

// Events returns a task's events in the order they were stored.
func (s *TaskStore) Events(ctx context.Context, taskID string) ([]sesame.TaskEvent, error) {
	return s.EventsAfter(ctx, taskID, 0)
}

// EventsAfter returns a task's events whose id is greater than afterID, in id order. A viewer that
// reconnects passes the last id it saw.
func (s *TaskStore) EventsAfter(ctx context.Context, taskID string, afterID int64) ([]sesame.TaskEvent, error) {
	if uuid.Validate(taskID) != nil {
		return nil, errTaskNotFound()
	}
	rows, _ := s.db.Pool.Query(ctx, `SELECT id, task_id, type, message, data, created_at FROM task_events
		WHERE task_id = $1 AND id > $2 ORDER BY id`, taskID, afterID)
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sesame.TaskEvent, error) {
		var e sesame.TaskEvent
		var id uuid.UUID
		err := row.Scan(&e.ID, &id, &e.Type, &e.Message, &e.Data, &e.CreatedAt)
		e.TaskID = id.String()
		return e, err
	})
	if err != nil {
		return nil, wrapErr("select task events", err)
	}
	return events, nil
}

// ListTasks returns tasks newest first: f.UserID's alone when set, at most f.Limit of them (default
// 50, at most 500).
func (s *TaskStore) ListTasks(ctx context.Context, f sesame.TaskFilter) ([]*sesame.Task, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	var rows pgx.Rows
	switch {
	case f.UserID == "":
		rows, _ = s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks
			ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	case uuid.Validate(f.UserID) != nil:
		return nil, nil // no task belongs to a user that cannot exist
	default:
		rows, _ = s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE user_id = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, f.UserID, limit)
	}
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, wrapErr("list tasks", err)
	}
	return tasks, nil
}

// SetResult records what a task produced.
func (s *TaskStore) SetResult(ctx context.Context, id string, r sesame.TaskResult) error {
	if uuid.Validate(id) != nil {
		return errTaskNotFound()
	}
	tag, err := s.db.Pool.Exec(ctx, `UPDATE tasks SET branch = $2, pr_number = $3, pr_url = $4,
		input_tokens = $5, output_tokens = $6, cost_usd = $7, updated_at = now() WHERE id = $1`,
		id, r.Branch, r.PRNumber, r.PRURL, r.InputTokens, r.OutputTokens, r.CostUSD)
	if err != nil {
		return wrapErr("set task result", err)
	} else if tag.RowsAffected() == 0 {
		return errTaskNotFound()
	}
	return nil
}

// RequestStop records that by asked to stop the task, and stops it at once when it is still queued.
// The task's row is locked for the change, so a concurrent SetStatus either happens wholly before
// (and a task it ended is refused here) or waits and then finds the task stopped. The first request
// is the one remembered: later ones change neither who asked nor when.
func (s *TaskStore) RequestStop(ctx context.Context, id, by string) (*sesame.Task, *sesame.TaskEvent, error) {
	if by == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID, "A stop request needs to say who asked.")
	}
	if uuid.Validate(id) != nil {
		return nil, nil, errTaskNotFound()
	}
	var t *sesame.Task
	var stopped *sesame.TaskEvent
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		var status sesame.TaskStatus
		err := tx.QueryRow(ctx, `SELECT status FROM tasks WHERE id = $1 FOR UPDATE`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return errTaskNotFound()
		} else if err != nil {
			return wrapErr("lock task", err)
		} else if status.Final() {
			return sesame.Errorf(sesame.ECONFLICT, "This task has already ended.")
		}

		const requested = `stop_requested_by = CASE WHEN stop_requested_at IS NULL THEN $2 ELSE stop_requested_by END,
			stop_requested_at = COALESCE(stop_requested_at, now()), updated_at = now()`
		var rows pgx.Rows
		var reason string
		if status == sesame.StatusQueued {
			reason = "Stopped by " + by + " before it started."
			rows, _ = tx.Query(ctx, `UPDATE tasks SET `+requested+`, status = 'stopped', reason = $3,
				finished_at = now() WHERE id = $1 RETURNING `+taskColumns, id, by, reason)
		} else {
			rows, _ = tx.Query(ctx, `UPDATE tasks SET `+requested+` WHERE id = $1 RETURNING `+taskColumns, id, by)
		}
		if t, err = pgx.CollectExactlyOneRow(rows, scanTask); err != nil {
			return wrapErr("request stop", err)
		}
		if status != sesame.StatusQueued {
			return nil
		}
		e := statusEvent(id, sesame.StatusStopped, reason)
		err = tx.QueryRow(ctx, `INSERT INTO task_events (task_id, type, message, data, created_at)
			VALUES ($1, 'status', $2, $3, $4) RETURNING id, created_at`,
			id, e.Message, e.Data, t.UpdatedAt).Scan(&e.ID, &e.CreatedAt)
		if err != nil {
			return wrapErr("insert stop event", err)
		}
		stopped = &e
		return nil
	})
	if err != nil {
		return nil, nil, coded("request stop", err)
	}
	return t, stopped, nil
}

// StopRequested returns those of ids whose stop was requested, in no particular order.
func (s *TaskStore) StopRequested(ctx context.Context, ids []string) ([]string, error) {
	valid := validIDs(ids)
	if len(valid) == 0 {
		return nil, nil
	}
	rows, _ := s.db.Pool.Query(ctx, `SELECT id FROM tasks
		WHERE id = ANY($1::uuid[]) AND stop_requested_at IS NOT NULL`, valid)
	found, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, wrapErr("select stop requests", err)
	}
	return uuidStrings(found), nil
}

func scanTask(row pgx.CollectableRow) (*sesame.Task, error) {
	var t sesame.Task
	var id uuid.UUID
	var userID *uuid.UUID
	var stopRequested, enqueued, started, finished, lease *time.Time
	err := row.Scan(&id, &t.DeliveryID, &t.Source, &t.Kind, &t.Repo, &t.InstallationID, &t.IssueNumber,
		&t.IsPullRequest, &t.CommentID, &t.CommentURL, &t.Requester, &t.RequesterID, &t.Instruction,
		&t.Agent, &t.Model, &userID, &t.SandboxSecurity, &t.KeepAlive, &t.Status, &t.Reason,
		&t.ProgressCommentID, &t.Branch, &t.PRNumber, &t.PRURL, &t.InputTokens, &t.OutputTokens, &t.CostUSD,
		&stopRequested, &t.StopRequestedBy, &enqueued, &started, &finished, &t.CreatedAt, &t.UpdatedAt,
		&t.WorkerID, &lease, &t.Restarts, &t.RequestKey, &t.OriginRef, &t.ProgressRef, &t.Base, &t.Budget)
	if err != nil {
		return nil, err
	}
	t.ID = id.String()
	if userID != nil {
		t.UserID = userID.String()
	}
	t.StopRequestedAt = timeOrZero(stopRequested)
	t.EnqueuedAt = timeOrZero(enqueued)
	t.StartedAt = timeOrZero(started)
	t.FinishedAt = timeOrZero(finished)
	t.LeaseUntil = timeOrZero(lease)
	return &t, nil
}

// timeOrZero reads a nullable timestamp: NULL is the zero time.
func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
