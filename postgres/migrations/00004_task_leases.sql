-- +goose Up
-- A worker holds a lease on each task it runs and renews it while the task runs; a lease that runs
-- out means the worker died, and another worker resumes the task. restarts counts those resumptions.
ALTER TABLE tasks
    ADD COLUMN worker_id   text NOT NULL DEFAULT '',
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN restarts    integer NOT NULL DEFAULT 0;

-- The recoverer's question: which tasks that left the queue have lost their worker?
CREATE INDEX tasks_leased_idx ON tasks (lease_until) WHERE status IN ('queued', 'preparing', 'running', 'pushing');
-- The reconciler's second question: are the jobs of the queued tasks still on the queue?
CREATE INDEX tasks_queued_idx ON tasks (id) WHERE status = 'queued' AND enqueued_at IS NOT NULL;

-- +goose Down
DROP INDEX tasks_queued_idx;
DROP INDEX tasks_leased_idx;
ALTER TABLE tasks DROP COLUMN worker_id, DROP COLUMN lease_until, DROP COLUMN restarts;
