package postgres

import (
	"context"
	"errors"
	"fmt"
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
	comment_id, comment_url, requester, requester_id, instruction, agent, model, status, reason,
	progress_comment_id, enqueued_at, created_at, updated_at`

// createTaskSQL inserts the task and its first status event in one statement, so a stored task always
// has its "queued" event and a repeated delivery inserts neither.
const createTaskSQL = `
WITH t AS (
	INSERT INTO tasks (id, delivery_id, source, kind, repo, installation_id, issue_number, is_pull_request,
		comment_id, comment_url, requester, requester_id, instruction, agent, model)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
	ON CONFLICT (delivery_id) DO NOTHING
	RETURNING id, created_at
), e AS (
	INSERT INTO task_events (task_id, type, message, data, created_at)
	SELECT id, 'status', 'queued', '{"status":"queued"}', created_at FROM t
)
SELECT created_at FROM t`

// CreateTask stores a queued task for r, or returns the task already stored for r's delivery id.
func (s *TaskStore) CreateTask(ctx context.Context, r sesame.Request) (*sesame.Task, bool, error) {
	if r.DeliveryID == "" {
		return nil, false, sesame.Errorf(sesame.EINVALID, "A request needs a delivery id.")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, fmt.Errorf("new task id: %w", err)
	}
	var created time.Time
	err = s.db.Pool.QueryRow(ctx, createTaskSQL, id, r.DeliveryID, r.Source, r.Kind, r.Repo,
		r.InstallationID, r.IssueNumber, r.IsPullRequest, r.CommentID, r.CommentURL, r.Requester,
		r.RequesterID, r.Instruction, r.Agent, r.Model).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		t, err := s.taskBy(ctx, "delivery_id", r.DeliveryID)
		return t, false, err
	} else if err != nil {
		return nil, false, wrapErr("insert task", err)
	}
	return &sesame.Task{
		ID: id.String(), Request: r, Status: sesame.StatusQueued, CreatedAt: created, UpdatedAt: created,
	}, true, nil
}

// Task returns the task with id.
func (s *TaskStore) Task(ctx context.Context, id string) (*sesame.Task, error) {
	if uuid.Validate(id) != nil {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "Task not found.")
	}
	return s.taskBy(ctx, "id", id)
}

func (s *TaskStore) taskBy(ctx context.Context, column, value string) (*sesame.Task, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE `+column+` = $1`, value)
	t, err := pgx.CollectExactlyOneRow(rows, scanTask)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "Task not found.")
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

// SetStatus moves a task that has not ended to status, and stores the change as an event.
func (s *TaskStore) SetStatus(ctx context.Context, id string, status sesame.TaskStatus, reason string) (sesame.TaskEvent, error) {
	e := sesame.TaskEvent{TaskID: id, Type: "status", Message: string(status),
		Data: map[string]any{"status": string(status), "reason": reason}}
	err := s.db.Pool.QueryRow(ctx, `
		WITH t AS (
			UPDATE tasks SET status = $2, reason = $3, updated_at = now()
			WHERE id = $1 AND status NOT IN ('completed', 'failed', 'stopped')
			RETURNING id, updated_at
		)
		INSERT INTO task_events (task_id, type, message, data, created_at)
		SELECT id, 'status', $2, $4, updated_at FROM t
		RETURNING id, created_at`, id, status, reason, e.Data).Scan(&e.ID, &e.CreatedAt)
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
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO task_events (task_id, type, message, data) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at`, e.TaskID, e.Type, e.Message, e.Data).Scan(&e.ID, &e.CreatedAt)
	return e, wrapErr("insert task event", err)
}

// Events returns a task's events in the order they were stored.
func (s *TaskStore) Events(ctx context.Context, taskID string) ([]sesame.TaskEvent, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT id, task_id, type, message, data, created_at FROM task_events
		WHERE task_id = $1 ORDER BY id`, taskID)
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

func scanTask(row pgx.CollectableRow) (*sesame.Task, error) {
	var t sesame.Task
	var id uuid.UUID
	var enqueued *time.Time
	err := row.Scan(&id, &t.DeliveryID, &t.Source, &t.Kind, &t.Repo, &t.InstallationID, &t.IssueNumber,
		&t.IsPullRequest, &t.CommentID, &t.CommentURL, &t.Requester, &t.RequesterID, &t.Instruction,
		&t.Agent, &t.Model, &t.Status, &t.Reason, &t.ProgressCommentID, &enqueued, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return nil, err
	}
	t.ID = id.String()
	if enqueued != nil {
		t.EnqueuedAt = *enqueued
	}
	return &t, nil
}
