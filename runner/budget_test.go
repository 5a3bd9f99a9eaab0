package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/runner"
)

// A task that asks for more than a request may, or whose requester spent their month's budget, is
// refused before it starts: nothing acknowledged, a reply saying why, the task failed with the reason.
// The requester of a GitHub task is the Sesame user who connected their GitHub login.
func TestRunRefusesOverBudget(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		budget float64 // --budget
		spent  float64 // what alice's tasks cost this month
		want   string  // in the reason and the reply; "" when the task runs
	}{
		{name: "asks more than a request may", budget: 50,
			want: "Sesame did not start this task: it asks for a budget of $50.00 (--budget), more than the $20.00 a request may ask for"},
		{name: "the month is spent", spent: 10.5,
			want: "Sesame did not start this task: your monthly budget of $10.00 is spent (your tasks cost $10.50 since"},
		{name: "within every budget", budget: 2.5, spent: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.gh.SetPermission(repo, "alice", "write")
			users := postgres.NewUserStore(h.db)
			alice, err := users.CreateUser(ctx, sesame.User{Email: "alice@example.com", PasswordHash: "h"})
			if err != nil {
				t.Fatal(err)
			}
			if err := users.SetGitHubToken(ctx, alice.ID, sesame.GitHubToken{Login: "Alice", Sealed: []byte{1}, Last4: "abcd"}); err != nil {
				t.Fatal(err)
			}
			earlier := h.webTask(t, "alice", alice.ID, "an earlier task")
			if _, err := users.ChargeTask(ctx, earlier.ID, alice.ID, "", sesame.MonthStart(time.Now())); err != nil {
				t.Fatal(err)
			}
			if err := h.store.SetResult(ctx, earlier.ID, sesame.TaskResult{CostUSD: tc.spent}); err != nil {
				t.Fatal(err)
			}
			h.runner.Budgets = users
			h.runner.Settings.Costs = runner.Costs{TaskBudget: 5, MaxBudget: 20, UserMonthly: 10}

			c := h.gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: 5, Body: "/sesame fix the typo", User: "alice"})
			task := h.create(t, sesame.Request{Source: sesame.SourceGitHub, Kind: sesame.KindRun, Repo: repo, InstallationID: 9,
				IssueNumber: 5, CommentID: c.ID, Requester: "alice", Instruction: "fix the typo", Budget: tc.budget})
			if err := h.runner.Run(ctx, task.ID); err != nil {
				t.Fatal(err)
			}
			got := h.reload(t, task.ID)
			replies := h.replies()
			if tc.want == "" { // it ran as far as this runner can: acknowledged, then no sandbox
				if got.Status != sesame.StatusFailed || !strings.Contains(got.Reason, "cannot run agents") {
					t.Errorf("task = %s %q, want it started", got.Status, got.Reason)
				}
				return
			}
			if got.Status != sesame.StatusFailed || !strings.Contains(got.Reason, tc.want) {
				t.Errorf("task = %s %q, want failed: %q", got.Status, got.Reason, tc.want)
			}
			if len(replies) != 1 || !strings.Contains(replies[0].Body, tc.want) || !strings.Contains(replies[0].Body, "/tasks/"+task.ID) {
				t.Errorf("replies = %+v, want one saying %q", replies, tc.want)
			}
			if r := h.gh.Reactions(repo, task.CommentID); len(r) != 0 {
				t.Errorf("a refused task was acknowledged: reactions %v", r)
			}
			evs, _ := h.store.Events(ctx, task.ID)
			for _, e := range evs {
				if e.Type == "status" && e.Message == string(sesame.StatusPreparing) {
					t.Errorf("a refused task started: %+v", e)
				}
			}
		})
	}
}
