package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"path"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"
)

// What the admin's status page reads from the database: the tasks each worker is working on, and
// the schema's version.

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

// SchemaVersion returns the highest migration applied to the database and the highest this binary
// embeds. It reads goose's table directly, without the migration lock, so a migration running
// elsewhere does not hold it up. A database newer than the binary (applied > latest) was migrated by
// a newer Sesame.
func (db *DB) SchemaVersion(ctx context.Context) (applied, latest int64, err error) {
	latest, err = latestMigration()
	if err != nil {
		return 0, 0, err
	}
	err = db.Pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&applied)
	if err != nil {
		return 0, latest, wrapErr("schema version", err)
	}
	return applied, latest, nil
}

// latestMigration is the version of the newest embedded migration.
func latestMigration() (int64, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, f := range files {
		v, err := goose.NumericComponent(path.Base(f))
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", f, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}
