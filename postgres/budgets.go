package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

var _ sesame.BudgetStore = (*UserStore)(nil)

// spentSQL is what the tasks counted against the user u (users.id) since $since cost, the task
// $task left out: a subquery of the statements below.
const spentSQL = `(SELECT coalesce(sum(cost_usd), 0) FROM tasks
	WHERE budget_user_id = u.id AND created_at >= @since AND id <> @task)`

// chargeByIDSQL counts the task against the user @user and reads their budget; chargeByLoginSQL
// against the user who connected a GitHub token as @login, the oldest that is not banned (as
// CommitLogin finds them). The task's update is not seen by spentSQL (one snapshot), which leaves
// the task out anyway.
const (
	chargeByIDSQL = `WITH u AS (SELECT id, name, email, monthly_budget_usd FROM users WHERE id = @user),
	t AS (UPDATE tasks SET budget_user_id = u.id FROM u WHERE tasks.id = @task)
	SELECT u.id::text, u.name, u.email, u.monthly_budget_usd, ` + spentSQL + ` FROM u`
	chargeByLoginSQL = `WITH u AS (SELECT id, name, email, monthly_budget_usd FROM users
		WHERE lower(github_login) = lower(@login) AND github_token_sealed IS NOT NULL AND NOT banned
		ORDER BY created_at, id LIMIT 1),
	t AS (UPDATE tasks SET budget_user_id = u.id FROM u WHERE tasks.id = @task)
	SELECT u.id::text, u.name, u.email, u.monthly_budget_usd, ` + spentSQL + ` FROM u`
)

// ChargeTask counts the task with id against the user with userID, else against the user who
// connected githubLogin, and returns that user's budget and what their other tasks since since
// cost. A task that names an unknown user, or no user and a login nobody connected, counts against
// nobody: the zero UserBudget.
func (s *UserStore) ChargeTask(ctx context.Context, id, userID, githubLogin string, since time.Time) (sesame.UserBudget, error) {
	if uuid.Validate(id) != nil {
		return sesame.UserBudget{}, errTaskNotFound()
	}
	sql, args := chargeByIDSQL, pgx.NamedArgs{"task": id, "since": since, "user": userID}
	switch {
	case uuid.Validate(userID) == nil:
	case githubLogin != "":
		sql, args = chargeByLoginSQL, pgx.NamedArgs{"task": id, "since": since, "login": githubLogin}
	default:
		return sesame.UserBudget{}, nil
	}
	b, err := s.budget(ctx, sql, args)
	if errors.Is(err, pgx.ErrNoRows) {
		return sesame.UserBudget{}, nil
	} else if err != nil {
		return b, wrapErr("charge task", err)
	}
	return b, nil
}

// UserBudget returns the user's budget and what the tasks counted against them since since cost.
func (s *UserStore) UserBudget(ctx context.Context, userID string, since time.Time) (sesame.UserBudget, error) {
	if uuid.Validate(userID) != nil {
		return sesame.UserBudget{}, errUserNotFound()
	}
	b, err := s.budget(ctx, `SELECT u.id::text, u.name, u.email, u.monthly_budget_usd, `+spentSQL+`
		FROM users u WHERE u.id = @user`, pgx.NamedArgs{"user": userID, "since": since, "task": uuid.Nil})
	if errors.Is(err, pgx.ErrNoRows) {
		return b, errUserNotFound()
	} else if err != nil {
		return b, wrapErr("select user budget", err)
	}
	return b, nil
}

// budget reads one user's budget with sql, which selects id, name, email, monthly_budget_usd and
// what they spent.
func (s *UserStore) budget(ctx context.Context, sql string, args pgx.NamedArgs) (sesame.UserBudget, error) {
	var b sesame.UserBudget
	var email string
	err := s.db.Pool.QueryRow(ctx, sql, args).Scan(&b.UserID, &b.Name, &email, &b.Own, &b.Spent)
	if b.Name == "" {
		b.Name = email
	}
	return b, err
}

// SetUserBudget sets the user's own monthly budget; nil clears it.
func (s *UserStore) SetUserBudget(ctx context.Context, userID string, budget *float64) error {
	if uuid.Validate(userID) != nil {
		return errUserNotFound()
	}
	if budget != nil && *budget < 0 {
		return sesame.Errorf(sesame.EINVALID, "A monthly budget cannot be less than 0.")
	}
	tag, err := s.db.Pool.Exec(ctx, `UPDATE users SET monthly_budget_usd = $2 WHERE id = $1`, userID, budget)
	if err != nil {
		return wrapErr("set user budget", err)
	}
	if tag.RowsAffected() == 0 {
		return errUserNotFound()
	}
	return nil
}
