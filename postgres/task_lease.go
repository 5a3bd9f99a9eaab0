package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

// claimSQL gives $2 the lease of a task that has not ended when nobody else holds a live one. A task
// that already left the queue is being resumed, by whichever worker: the attempt that took it out of
// the queue ended without ending it (its worker died, shut down or lost the lease). That is a
// restart. The clock is PostgreSQL's, the same for every worker.
const claimSQL = `UPDATE tasks SET
		restarts = restarts + CASE WHEN status <> 'queued' THEN 1 ELSE 0 END,
		worker_id = $2, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
	WHERE id = $1 AND status NOT IN ` + finalStatuses + `
		AND (worker_id = $2 OR worker_id = '' OR lease_until IS NULL OR lease_until < now())
	RETURNING ` + taskColumns

// Claim gives worker the task's lease, or fails with ECONFLICT when the task has ended or another
// worker holds a live lease on it.
func (s *TaskStore) Claim(ctx context.Context, id, worker string, lease time.Duration) (*sesame.Task, error) {
	if uuid.Validate(id) != nil {
		return nil, errTaskNotFound()
	}
	if worker == "" {
		return nil, sesame.Errorf(sesame.EINVALID, "A lease needs a worker.")
	}
	rows, _ := s.db.Pool.Query(ctx, claimSQL, id, worker, lease.Milliseconds())
	t, err := pgx.CollectExactlyOneRow(rows, scanTask)
	if errors.Is(err, pgx.ErrNoRows) {
		cur, err := s.Task(ctx, id)
		if err != nil {
			return nil, err
		}
		if cur.Status.Final() {
			return cur, sesame.Errorf(sesame.ECONFLICT, "The task has already ended.")
		}
		return cur, sesame.Errorf(sesame.ECONFLICT, "Another worker is running this task.")
	} else if err != nil {
		return nil, wrapErr("claim task", err)
	}
	return t, nil
}

// RenewLeases extends worker's leases on ids, in one statement, and returns the ids it still holds.
func (s *TaskStore) RenewLeases(ctx context.Context, worker string, ids []string, lease time.Duration) ([]string, error) {
	valid := validIDs(ids)
	if len(valid) == 0 {
		return nil, nil
	}
	rows, _ := s.db.Pool.Query(ctx, `UPDATE tasks SET lease_until = now() + $3 * interval '1 millisecond'
		WHERE id = ANY($1::uuid[]) AND worker_id = $2 AND status NOT IN `+finalStatuses+` RETURNING id`,
		valid, worker, lease.Milliseconds())
	held, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, wrapErr("renew leases", err)
	}
	return uuidStrings(held), nil
}

// ReleaseLease ends worker's lease on the task now, when it still holds it.
func (s *TaskStore) ReleaseLease(ctx context.Context, id, worker string) error {
	if uuid.Validate(id) != nil {
		return errTaskNotFound()
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE tasks SET lease_until = now() - interval '1 millisecond'
		WHERE id = $1 AND worker_id = $2 AND status NOT IN `+finalStatuses, id, worker)
	return wrapErr("release lease", err)
}

// OrphanedTasks returns tasks that have not ended whose worker's lease ran out, the longest lost
// first: those that left the queue, and queued ones a worker had claimed before it died.
func (s *TaskStore) OrphanedTasks(ctx context.Context, limit int) ([]*sesame.Task, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE (status IN ('preparing', 'running', 'pushing') AND (lease_until IS NULL OR lease_until < now()))
			OR (status = 'queued' AND worker_id <> '' AND lease_until < now())
		ORDER BY lease_until NULLS FIRST LIMIT $1`, limit)
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, wrapErr("select orphaned tasks", err)
	}
	return tasks, nil
}

// QueuedTasks returns queued tasks created before olderThan whose job was confirmed on the queue, in
// id order (task ids are time-ordered) after the id after.
func (s *TaskStore) QueuedTasks(ctx context.Context, olderThan time.Time, after string, limit int) ([]*sesame.Task, error) {
	if after == "" {
		after = uuid.Nil.String()
	} else if uuid.Validate(after) != nil {
		return nil, sesame.Errorf(sesame.EINVALID, "Invalid task id %q.", after)
	}
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE status = 'queued' AND enqueued_at IS NOT NULL AND created_at < $1 AND id > $2
		ORDER BY id LIMIT $3`, olderThan, after, limit)
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, wrapErr("select queued tasks", err)
	}
	return tasks, nil
}

// validIDs keeps the ids that can be task ids.
func validIDs(ids []string) []string {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if uuid.Validate(id) == nil {
			valid = append(valid, id)
		}
	}
	return valid
}

func uuidStrings(ids []uuid.UUID) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
