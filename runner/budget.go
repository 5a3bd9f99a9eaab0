package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

// A task's budgets: the wall time its agent may run (Settings.MaxDuration) and what it may spend
// (Costs), the latter within what is left of its requester's monthly budget. An agent that runs out
// of either is stopped, and what it did so far is committed, pushed and opened as a draft pull
// request marked stopped at budget; the task ends stopped, its reply saying what was spent.

// Costs are the settings of tasks' cost budgets.
type Costs struct {
	// TaskBudget is what a task may spend, in US dollars, unless its request asks for another
	// (tasks.costBudget); 0: no limit.
	TaskBudget float64
	// MaxBudget is the most a request may ask for (tasks.maxCostBudget); 0: requests may not ask.
	MaxBudget float64
	// UserMonthly is what the tasks counted against a Sesame user may spend in a calendar month,
	// unless an admin gave the user their own (tasks.userMonthlyBudget); 0: no limit.
	UserMonthly float64
	// Prices price the tokens of an agent that reports no cost (tasks.modelPrices).
	Prices sesame.PriceTable
}

// Budgets holds the requesters of tasks to their monthly budgets. postgres.UserStore has it.
type Budgets interface {
	// ChargeTask counts the task with id against the Sesame user with userID, else against the user
	// who connected githubLogin, and returns that user's budget and what their other tasks cost
	// since since; a zero UserBudget when the task counts against nobody.
	ChargeTask(ctx context.Context, id, userID, githubLogin string, since time.Time) (sesame.UserBudget, error)
}

var _ Budgets = sesame.BudgetStore(nil)

// Why runAgent stopped an agent before it ended.
var (
	errTimeBudget = fmt.Errorf("the task's time limit ran out: %w", context.DeadlineExceeded)
	errCostBudget = errors.New("the task's cost budget ran out")
)

// budget is what one run of a task's agent may use.
type budget struct {
	time time.Duration // wall time
	cost float64       // US dollars; 0: no limit
	// asked says cost is what the request asked for (--budget); month, when not 0, that cost is what
	// was left of the requester's monthly budget of month dollars.
	asked  bool
	month  float64
	prices sesame.PriceTable
	model  string // the model the run asks for; "" for the agent's default
}

// budgetOf is the budget of t's run with the settings set, t counted against its requester's
// monthly budget from now on. A task that may not run is refused with an EFORBIDDEN error whose
// message says why, for the requester: it asks for more than a request may, or its requester's
// monthly budget is spent. Any other error is the store's.
func (r *Runner) budgetOf(ctx context.Context, t *sesame.Task, set Settings) (budget, error) {
	c := set.Costs
	b := budget{time: set.MaxDuration, cost: c.TaskBudget, prices: c.Prices}
	if t.Budget > 0 {
		switch {
		case c.MaxBudget <= 0:
			return b, sesame.Errorf(sesame.EFORBIDDEN, "Sesame did not start this task: it asks for a budget of %s (--budget), "+
				"and this Sesame server lets no request choose its own; ask again without --budget.", sesame.FormatUSD(t.Budget))
		case t.Budget > c.MaxBudget:
			return b, sesame.Errorf(sesame.EFORBIDDEN, "Sesame did not start this task: it asks for a budget of %s (--budget), "+
				"more than the %s a request may ask for on this Sesame server; ask again with --budget %.2f or less.",
				sesame.FormatUSD(t.Budget), sesame.FormatUSD(c.MaxBudget), c.MaxBudget)
		}
		b.cost, b.asked = t.Budget, true
	}
	if r.Budgets == nil {
		return b, nil
	}
	month := sesame.MonthStart(time.Now())
	u, err := r.Budgets.ChargeTask(ctx, t.ID, t.UserID, r.describe(t).GitHubLogin, month)
	if err != nil {
		return b, fmt.Errorf("charge task to its requester: %w", err)
	}
	limit := u.Limit(c.UserMonthly)
	if u.UserID == "" || limit <= 0 {
		return b, nil
	}
	left := limit - u.Spent
	if left <= 0 {
		return b, sesame.Errorf(sesame.EFORBIDDEN, "Sesame did not start this task: your monthly budget of %s is spent "+
			"(your tasks cost %s since %s, UTC). It renews on %s; a Sesame admin can raise it.",
			sesame.FormatUSD(limit), sesame.FormatUSD(u.Spent), month.Format("2 January"), month.AddDate(0, 1, 0).Format("2 January"))
	}
	if b.cost <= 0 || left < b.cost {
		b.cost, b.asked, b.month = left, false, limit
	}
	return b, nil
}

// refuseOverBudget ends t before it starts when it may not run (budgetOf), telling its requester
// through origin why, and reports whether it did.
func (r *Runner) refuseOverBudget(ctx context.Context, t *sesame.Task, origin Origin, log *slog.Logger) (bool, error) {
	_, err := r.budgetOf(ctx, t, r.taskSettings())
	switch {
	case err == nil:
		return false, nil
	case sesame.ErrorCode(err) != sesame.EFORBIDDEN:
		return false, err
	}
	reason := sesame.ErrorMessage(err)
	log.Info("task refused: over budget", "reason", reason)
	if err := origin.Finish(ctx, t, sesame.TaskReport{Status: sesame.StatusFailed, Reason: reason, BeforeStart: true}); err != nil {
		return true, retryable(err)
	}
	return true, r.end(ctx, t, sesame.StatusFailed, reason)
}

// watchSpend is what runAgent does with each event of the agent, to hold it to b: it counts what
// the event cost with m and, once the spending passes b's cost, stops the run with stop. It says in
// the task's events, once, when the spending cannot be known, and when it stops the agent.
func (r *Runner) watchSpend(ctx context.Context, t *sesame.Task, b budget, m *costMeter, e agent.Event, stop context.CancelCauseFunc) {
	before := m.spent()
	if !m.add(e) || b.cost <= 0 {
		return
	}
	now := m.spent()
	if now.Unknown != "" && before.Unknown == "" {
		r.note(ctx, t, fmt.Sprintf("What this task spends is unknown while its agent runs: the agent reports no cost for %s, "+
			"and tasks.modelPrices (MODEL_PRICES) has no price for it. Only the time limit of %s bounds the task.", now.Unknown, b.time),
			map[string]any{"cost_unknown": true, "model": now.Unknown, "time_limit": b.time.String()})
	}
	// A result is the agent's last word: it ended by itself, over budget or not.
	if e.Type == agent.EventResult || now.Usage.CostUSD <= b.cost || context.Cause(ctx) != nil {
		return
	}
	r.note(ctx, t, "cost budget reached", map[string]any{"budget_usd": b.cost, "spent_usd": now.Usage.CostUSD, "estimated": now.Estimated})
	stop(errCostBudget)
}

// budgetStop is how an agent stopped at a budget ran out of it.
type budgetStop struct {
	time  bool // the time limit ran out; else the cost budget
	limit budget
}

// stoppedAt returns the stop of a run that ended with err, or nil when no budget stopped it.
func stoppedAt(err error, b budget) *budgetStop {
	switch {
	case errors.Is(err, errTimeBudget):
		return &budgetStop{time: true, limit: b}
	case errors.Is(err, errCostBudget):
		return &budgetStop{limit: b}
	}
	return nil
}

// what names the budget that ran out, in a sentence's words.
func (s *budgetStop) what() string {
	b := s.limit
	switch {
	case s.time:
		return fmt.Sprintf("its time limit of %s", b.time)
	case b.month > 0:
		return fmt.Sprintf("what was left of your monthly budget of %s (%s)", sesame.FormatUSD(b.month), sesame.FormatUSD(b.cost))
	case b.asked:
		return fmt.Sprintf("its cost budget of %s (--budget)", sesame.FormatUSD(b.cost))
	}
	return fmt.Sprintf("its cost budget of %s", sesame.FormatUSD(b.cost))
}

// spentWords says what a run spent: "$0.11", "about $0.11 (its tokens at the listed prices)", or
// that it is not known.
func spentWords(o outcome) string {
	u := o.usage
	switch {
	case u.CostUSD > 0 && o.costUnknown != "":
		return fmt.Sprintf("at least %s (%s has no listed price)", sesame.FormatUSD(u.CostUSD), o.costUnknown)
	case u.CostUSD > 0 && o.costEstimated:
		return fmt.Sprintf("about %s (its tokens at the listed prices)", sesame.FormatUSD(u.CostUSD))
	case u.CostUSD > 0:
		return sesame.FormatUSD(u.CostUSD)
	case u.InputTokens+u.OutputTokens > 0:
		return fmt.Sprintf("an unknown amount (%d tokens in, %d out)", u.InputTokens, u.OutputTokens)
	}
	return "nothing Sesame could count"
}

// atBudget ends o, a task whose agent was stopped at a budget, as stopped, saying so and what was
// spent: with its partial work in a draft pull request, pushed to the pull request it worked on, or
// nothing when the agent had changed nothing. Any other outcome is returned as it is.
func (o outcome) atBudget() outcome {
	if o.stop == nil || o.status != sesame.StatusCompleted {
		return o
	}
	reason := fmt.Sprintf("Sesame stopped the agent at %s; it had spent %s.", o.stop.what(), spentWords(o))
	switch {
	case o.noChanges:
		reason += " It had changed nothing yet, so there is no pull request."
	case o.onPR:
		reason += fmt.Sprintf(" What it did so far is pushed to #%d.", o.prNumber)
	default:
		reason += fmt.Sprintf(" What it did so far is in the draft pull request #%d.", o.prNumber)
	}
	o.status, o.reason, o.noChanges = sesame.StatusStopped, reason, false
	return o
}

// draftNote is what a draft pull request of an agent stopped at a budget says first.
func draftNote(o outcome) string {
	return fmt.Sprintf("> [!WARNING]\n> **Stopped at budget.** Sesame stopped the agent at %s; it had spent %s. "+
		"This draft holds what the agent had done by then: unfinished work that the agent did not check.", o.stop.what(), spentWords(o))
}

// draftTitle is the title of o's pull request: title, marked when the agent was stopped at a budget.
func draftTitle(title string, o outcome) string {
	if o.stop == nil {
		return title
	}
	return title + " [stopped at budget]"
}

// budgetFailure is why a task whose budget could not be read fails: the refusal's own words, or
// the store's trouble.
func budgetFailure(err error) string {
	if sesame.ErrorCode(err) == sesame.EFORBIDDEN {
		return sesame.ErrorMessage(err)
	}
	return "Sesame could not read the monthly budget of this task's requester."
}
