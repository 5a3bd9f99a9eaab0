-- +goose Up
-- One task per thread: the run tasks of one issue or pull request (installation, repository, issue
-- number > 0) run one at a time, in the order they were asked for (postgres/task_thread.go).
--
-- admitted_at: when the task took its thread's turn; it holds the turn until it ends. A task that
-- left the queue holds it too, admitted or not (tasks older than this migration).
-- waiting_on, line_position: the place in line its requester was last told (the task it waits
-- behind, and how many tasks go before it); NULL and 0 once it took its turn, or ended and its
-- requester heard how.
ALTER TABLE tasks
    ADD COLUMN admitted_at   timestamptz,
    ADD COLUMN waiting_on    uuid,
    ADD COLUMN line_position integer NOT NULL DEFAULT 0;

-- A thread's line: its run tasks that have not ended, in creation order.
CREATE INDEX tasks_thread_idx ON tasks (installation_id, repo, issue_number, created_at)
    WHERE kind = 'run' AND issue_number > 0 AND status NOT IN ('completed', 'failed', 'stopped');
-- The reconciler's look at the tasks told they wait.
CREATE INDEX tasks_waiting_idx ON tasks (created_at) WHERE waiting_on IS NOT NULL;

-- +goose Down
DROP INDEX tasks_waiting_idx;
DROP INDEX tasks_thread_idx;
ALTER TABLE tasks DROP COLUMN admitted_at, DROP COLUMN waiting_on, DROP COLUMN line_position;
