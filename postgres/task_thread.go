package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

// One task per thread (see sesame.LinePlace): the run tasks of one issue or pull request take the
// thread's turn one at a time. A task takes the turn (admitted_at) in Line, inside a transaction that
// holds an advisory lock on its thread, when no other run task of the thread that has not ended
// holds the turn (admitted, or left the queue) or was asked for before it. Two workers that pick up
// two tasks of one thread at the same instant take the lock one after the other, and the second sees
// the first's turn: never do two run at once. The order is creation order (created_at, then the
// time-ordered id), except that a task whose insert committed late never overtakes one that already
// holds the turn.

// threadLockSQL takes the transaction-level advisory lock of a thread ($1 installation, $2 repository,
// $3 issue). Hash collisions only make two threads wait for each other for an instant.
const threadLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('sesame:thread:' || $1::bigint || ':' || $2::text || ':' || $3::integer, 0))`

// linePlaceSQL is a lateral subquery giving the place in line of the task row w, when it waits: the
// run tasks of its thread that have not ended and go before it (they hold the turn, or were asked
// for earlier), how many, and the first of them (the one holding the turn, else the earliest).
const linePlaceSQL = `LATERAL (
	SELECT count(*)::int AS position,
		(array_agg(o.id ORDER BY (o.admitted_at IS NOT NULL OR o.status <> 'queued') DESC, o.created_at, o.id))[1] AS behind
	FROM tasks o
	WHERE o.installation_id = w.installation_id AND o.repo = w.repo AND o.issue_number = w.issue_number
		AND o.kind = 'run' AND o.issue_number > 0 AND o.status NOT IN ` + finalStatuses + ` AND o.id <> w.id
		AND (o.admitted_at IS NOT NULL OR o.status <> 'queued' OR (o.created_at, o.id) < (w.created_at, w.id))
) p`

// inLineSQL is true for a task row w that can wait in a line: a queued run task of an issue or pull
// request that has not taken its thread's turn.
const inLineSQL = `(w.kind = 'run' AND w.issue_number > 0 AND w.status = 'queued' AND w.admitted_at IS NULL)`

// Line takes the thread's turn for the queued task with id, whose lease worker holds, or finds its
// place in line. Under the thread's lock:
//
//   - when nothing goes before it, the task takes the turn (it holds it until it ends) and comes back
//     with the zero place: it may start;
//   - when it waits at the place its requester was told (told, or when told is zero the place
//     recorded as told), the place is recorded and worker's lease given up: the task comes back with
//     no worker (WorkerID ""), and waits for a job to pick it up again;
//   - otherwise nothing changes: the caller tells the requester the place returned, then calls Line
//     again with it as told.
//
// The task comes back as stored now (an edit of its request shows). A task that is no queued run
// task of an issue, or already holds its turn, comes back with the zero place. Line fails with
// ECONFLICT when the task has ended or worker does not hold its lease, and ENOTFOUND for no task.
func (s *TaskStore) Line(ctx context.Context, id, worker string, told sesame.LinePlace) (*sesame.Task, sesame.LinePlace, error) {
	if uuid.Validate(id) != nil {
		return nil, sesame.LinePlace{}, errTaskNotFound()
	}
	var t *sesame.Task
	var place sesame.LinePlace
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		var err error
		if t, err = lockThread(ctx, tx, id); err != nil {
			return err
		}
		switch {
		case t.Status.Final():
			return sesame.Errorf(sesame.ECONFLICT, "The task has already ended.")
		case t.WorkerID != worker:
			return sesame.Errorf(sesame.ECONFLICT, "Another worker is running this task.")
		}
		now, stored, free, err := placeOf(ctx, tx, id)
		if err != nil || free {
			return err
		}
		place = now
		if !place.Waiting() {
			rows, _ := tx.Query(ctx, `UPDATE tasks SET admitted_at = now(), waiting_on = NULL, line_position = 0,
				updated_at = now() WHERE id = $1 RETURNING `+taskColumns, id)
			t, err = pgx.CollectExactlyOneRow(rows, scanTask)
			return wrapErr("take the thread's turn", err)
		}
		if !told.Waiting() {
			told = stored
		}
		if place != told {
			return nil
		}
		rows, _ := tx.Query(ctx, `UPDATE tasks SET worker_id = '', lease_until = NULL, waiting_on = $2,
			line_position = $3, updated_at = now() WHERE id = $1 RETURNING `+taskColumns, id, place.Behind, place.Position)
		t, err = pgx.CollectExactlyOneRow(rows, scanTask)
		return wrapErr("wait in line", err)
	})
	if err != nil {
		return t, sesame.LinePlace{}, coded("line", err)
	}
	return t, place, nil
}

// lockThread locks the thread of the task with id, then the task's row, and returns the task.
func lockThread(ctx context.Context, tx pgx.Tx, id string) (*sesame.Task, error) {
	var inst int64
	var repo string
	var issue int
	err := tx.QueryRow(ctx, `SELECT installation_id, repo, issue_number FROM tasks WHERE id = $1`, id).Scan(&inst, &repo, &issue)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errTaskNotFound()
	} else if err != nil {
		return nil, wrapErr("select task", err)
	}
	if issue > 0 {
		if _, err := tx.Exec(ctx, threadLockSQL, inst, repo, issue); err != nil {
			return nil, wrapErr("lock thread", err)
		}
	}
	rows, _ := tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = $1 FOR UPDATE`, id)
	t, err := pgx.CollectExactlyOneRow(rows, scanTask)
	if err != nil {
		return nil, wrapErr("lock task", err)
	}
	return t, nil
}

// placeOf returns the place in line of the task with id now and the place its requester was last
// told; free is true when it waits in no line (see inLineSQL).
func placeOf(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) (now, told sesame.LinePlace, free bool, err error) {
	var behind, waitingOn *uuid.UUID
	err = q.QueryRow(ctx, `SELECT NOT `+inLineSQL+`, p.position, p.behind, w.waiting_on, w.line_position
		FROM tasks w, `+linePlaceSQL+` WHERE w.id = $1`, id).Scan(&free, &now.Position, &behind, &waitingOn, &told.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return now, told, false, errTaskNotFound()
	} else if err != nil {
		return now, told, false, wrapErr("select place in line", err)
	}
	if behind != nil {
		now.Behind = behind.String()
	}
	if waitingOn != nil {
		told.Behind = waitingOn.String()
	} else {
		told = sesame.LinePlace{}
	}
	if free {
		now = sesame.LinePlace{}
	}
	return now, told, free, nil
}

// Place returns where the task with id stands in its thread's line now (zero: it waits behind
// nothing, or in no line) and the place its requester was last told (zero: none).
func (s *TaskStore) Place(ctx context.Context, id string) (now, told sesame.LinePlace, err error) {
	if uuid.Validate(id) != nil {
		return now, told, errTaskNotFound()
	}
	now, told, _, err = placeOf(ctx, s.db.Pool, id)
	return now, told, err
}

// Leave forgets the place in line of the task with id, which ended and whose requester heard how,
// and returns the other tasks of its thread whose requesters were told they wait (ended ones too),
// oldest first: the line moved for them.
func (s *TaskStore) Leave(ctx context.Context, id string) ([]string, error) {
	if uuid.Validate(id) != nil {
		return nil, errTaskNotFound()
	}
	rows, _ := s.db.Pool.Query(ctx, `WITH me AS (
			UPDATE tasks SET waiting_on = NULL, line_position = 0 WHERE id = $1
			RETURNING installation_id, repo, issue_number
		)
		SELECT t.id FROM tasks t, me
		WHERE t.waiting_on IS NOT NULL AND t.id <> $1 AND me.issue_number > 0
			AND t.installation_id = me.installation_id AND t.repo = me.repo AND t.issue_number = me.issue_number
		ORDER BY t.created_at, t.id`, id)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, wrapErr("leave the line", err)
	}
	return uuidStrings(ids), nil
}

// StaleInLine returns, oldest first, tasks whose requesters were told they wait and that no worker
// holds (none took them, or their lease ran out a minute ago), for which that is no longer true:
// they ended, they may start, or their place changed. Each needs its job run again (the reconciler's
// safety net, for a wake-up lost with a process that died).
func (s *TaskStore) StaleInLine(ctx context.Context, limit int) ([]string, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT w.id FROM tasks w, `+linePlaceSQL+`
		WHERE w.waiting_on IS NOT NULL AND (w.worker_id = '' OR w.lease_until < now() - interval '1 minute')
			AND (NOT `+inLineSQL+` OR p.position <> w.line_position OR p.behind IS DISTINCT FROM w.waiting_on)
		ORDER BY w.created_at, w.id LIMIT $1`, limit)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, wrapErr("select stale places in line", err)
	}
	return uuidStrings(ids), nil
}

// EditQueued replaces the instruction, agent, model and base branch of the run task asked for
// under the request key, while it is queued and has not taken its thread's turn: the worker that
// takes the turn reads the task under the same lock, so it runs either the old request or the new
// one, whole. It fails with ECONFLICT, returning the task, when the task is of another kind, has
// started or has ended; with ENOTFOUND when no task has the key.
func (s *TaskStore) EditQueued(ctx context.Context, key string, r sesame.Request) (*sesame.Task, error) {
	if key == "" {
		return nil, errTaskNotFound()
	}
	var t *sesame.Task
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		var id uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM tasks WHERE request_key = $1`, key).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errTaskNotFound()
		} else if err != nil {
			return wrapErr("select task", err)
		}
		if t, err = lockThread(ctx, tx, id.String()); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `UPDATE tasks w SET instruction = $2, agent = $3, model = $4, base = $5,
			updated_at = now() WHERE id = $1 AND `+inLineSQL+` RETURNING `+taskColumns,
			id, r.Instruction, r.Agent, r.Model, r.Base)
		edited, err := pgx.CollectExactlyOneRow(rows, scanTask)
		if errors.Is(err, pgx.ErrNoRows) {
			return sesame.Errorf(sesame.ECONFLICT, "The task has already started.")
		} else if err != nil {
			return wrapErr("edit task", err)
		}
		t = edited
		_, err = tx.Exec(ctx, `INSERT INTO task_events (task_id, type, message, data) VALUES ($1, $2, $3, $4)`,
			id, sesame.EventStep, "request edited while queued",
			map[string]any{"instruction": r.Instruction, "agent": r.Agent, "model": r.Model, "base": r.Base})
		return wrapErr("insert edit event", err)
	})
	if err != nil {
		return t, coded("edit queued task", err)
	}
	return t, nil
}

// CancelQueued stops the task asked for under the request key while it is still queued, with the
// reason, as by asked; its status event is returned for publishing. A task that has started or
// ended is not changed: ECONFLICT, with the task. No task with the key: ENOTFOUND.
func (s *TaskStore) CancelQueued(ctx context.Context, key, by, reason string) (*sesame.Task, *sesame.TaskEvent, error) {
	if key == "" {
		return nil, nil, errTaskNotFound()
	}
	var t *sesame.Task
	var stopped *sesame.TaskEvent
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE request_key = $1 FOR UPDATE`, key)
		var err error
		t, err = pgx.CollectExactlyOneRow(rows, scanTask)
		if errors.Is(err, pgx.ErrNoRows) {
			return errTaskNotFound()
		} else if err != nil {
			return wrapErr("lock task", err)
		}
		if t.Status != sesame.StatusQueued {
			return sesame.Errorf(sesame.ECONFLICT, "The task has already started.")
		}
		rows, _ = tx.Query(ctx, `UPDATE tasks SET status = 'stopped', reason = $2, finished_at = now(),
			stop_requested_by = $3, stop_requested_at = COALESCE(stop_requested_at, now()), updated_at = now()
			WHERE id = $1 RETURNING `+taskColumns, t.ID, reason, by)
		if t, err = pgx.CollectExactlyOneRow(rows, scanTask); err != nil {
			return wrapErr("cancel task", err)
		}
		e := statusEvent(t.ID, sesame.StatusStopped, reason)
		err = tx.QueryRow(ctx, `INSERT INTO task_events (task_id, type, message, data, created_at)
			VALUES ($1, 'status', $2, $3, $4) RETURNING id, created_at`,
			t.ID, e.Message, e.Data, t.UpdatedAt).Scan(&e.ID, &e.CreatedAt)
		if err != nil {
			return wrapErr("insert stop event", err)
		}
		stopped = &e
		return nil
	})
	if err != nil {
		return t, nil, coded("cancel queued task", err)
	}
	return t, stopped, nil
}
