-- +goose Up
-- The branch a run starts from (/sesame --base BRANCH); '' means the repository's default branch.
ALTER TABLE tasks ADD COLUMN base text NOT NULL DEFAULT '';
-- The commands /sesame status, stop and retry are tasks too, answered without an agent.
ALTER TABLE tasks DROP CONSTRAINT tasks_kind_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_kind_check CHECK (kind IN ('run', 'help', 'usage', 'status', 'stop', 'retry'));
-- They read a thread's tasks (its installation, repository and issue or pull request), newest
-- first, whatever their status.
CREATE INDEX tasks_thread_created_idx ON tasks (installation_id, repo, issue_number, created_at DESC)
    WHERE issue_number > 0;

-- +goose Down
DROP INDEX tasks_thread_created_idx;
-- The answered commands go with the kinds that name them (their events follow: ON DELETE CASCADE).
DELETE FROM tasks WHERE kind IN ('status', 'stop', 'retry');
ALTER TABLE tasks DROP CONSTRAINT tasks_kind_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_kind_check CHECK (kind IN ('run', 'help', 'usage'));
ALTER TABLE tasks DROP COLUMN base;
