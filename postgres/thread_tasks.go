package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

// ThreadTasks returns the run tasks (sesame.KindRun) of a thread, whatever their status: those with
// installationID, repo and issue (an issue or pull request number, > 0), newest first, at most limit
// (1 to 100; 0 or less means 10). Commands (help, usage, status, stop, retry) are not listed; an
// issue number of 0 names no thread.
func (s *TaskStore) ThreadTasks(ctx context.Context, installationID int64, repo string, issue, limit int) ([]*sesame.Task, error) {
	if issue <= 0 {
		return nil, nil // tasks without an issue (the web app, Slack) belong to no thread
	}
	switch {
	case limit <= 0:
		limit = 10
	case limit > 100:
		limit = 100
	}
	// "issue_number > 0" lets PostgreSQL use the partial index tasks_thread_created_idx.
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE installation_id = $1 AND repo = $2 AND issue_number = $3 AND issue_number > 0 AND kind = 'run'
		ORDER BY created_at DESC, id DESC LIMIT $4`, installationID, repo, issue, limit)
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, wrapErr("select thread tasks", err)
	}
	return tasks, nil
}
