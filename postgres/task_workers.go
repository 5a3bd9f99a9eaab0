package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// What the admin's status page reads from the database: the tasks each worker is working on.

// activeStatuses is the SQL list of the statuses of a task a worker is working on.
const activeStatuses = `('preparing', 'running', 'pushing')`

// WorkerLoad is what one worker is working on, by the leases the tasks carry.
type WorkerLoad struct {
	WorkerID string // "" for tasks that no worker holds (should not happen)
	Running  int    // tasks preparing, running or pushing
	// Expired counts those of them whose lease ran out: their worker stopped renewing (it died or
	// cannot reach the database), and the reconciler gives them to another worker.
	Expired int
}

// RunningByWorker returns, for each worker that holds tasks being worked on, how many, busiest first.
func (s *TaskStore) RunningByWorker(ctx context.Context) ([]WorkerLoad, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT worker_id, count(*), count(*) FILTER (WHERE lease_until < now())
		FROM tasks WHERE status IN `+activeStatuses+` GROUP BY worker_id ORDER BY count(*) DESC, worker_id`)
	loads, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (WorkerLoad, error) {
		var l WorkerLoad
		err := row.Scan(&l.WorkerID, &l.Running, &l.Expired)
		return l, err
	})
	if err != nil {
		return nil, wrapErr("count running tasks by worker", err)
	}
	return loads, nil
}

// RunningOn returns how many tasks worker is working on.
func (s *TaskStore) RunningOn(ctx context.Context, worker string) (int, error) {
	var n int
	err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE worker_id = $1 AND status IN `+activeStatuses, worker).Scan(&n)
	if err != nil {
		return 0, wrapErr("count running tasks", err)
	}
	return n, nil
}
