-- +goose Up
-- Budgets (issue 14). budget_usd: the cost budget the request asked for its task (/sesame --budget),
-- in US dollars; 0 means the server's (tasks.costBudget).
-- budget_user_id: the Sesame user whose monthly budget the task counts against, set when the task
-- starts (postgres/budgets.go): its web or Slack user, else the user who connected the GitHub login
-- that asked. Tasks that already name their user count against them.
ALTER TABLE tasks
    ADD COLUMN budget_usd     double precision NOT NULL DEFAULT 0 CHECK (budget_usd >= 0),
    ADD COLUMN budget_user_id uuid REFERENCES users (id) ON DELETE SET NULL;
UPDATE tasks SET budget_user_id = user_id WHERE user_id IS NOT NULL;
-- What a user's tasks cost since the month began.
CREATE INDEX tasks_budget_user_idx ON tasks (budget_user_id, created_at) WHERE budget_user_id IS NOT NULL;

-- A user's own monthly cost budget, set by an admin, in US dollars (0: no limit); NULL means the
-- server's default (tasks.userMonthlyBudget).
ALTER TABLE users ADD COLUMN monthly_budget_usd double precision CHECK (monthly_budget_usd >= 0);

-- +goose Down
ALTER TABLE users DROP COLUMN monthly_budget_usd;
DROP INDEX tasks_budget_user_idx;
ALTER TABLE tasks DROP COLUMN budget_user_id, DROP COLUMN budget_usd;
