package main_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/proctest"
)

// taskCost returns what the task's row says it cost.
func taskCost(t *testing.T, dbURL, id string) float64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var cost float64
	if err := conn.QueryRow(context.Background(), "SELECT cost_usd FROM tasks WHERE id = $1", id).Scan(&cost); err != nil {
		t.Fatal(err)
	}
	return cost
}

// stoppedAtBudget runs /sesame with args on the fixture's issue against a model scripted with
// steps, and checks what every stop at a budget leaves: the task stopped with a reason naming
// budgetWords and spentWords, the agent's fix to the README (its partial work) pushed on a draft pull
// request marked stopped at budget, the reply saying it, and no agent process left.
func stoppedAtBudget(t *testing.T, args string, steps []modeltest.Step, budgetWords, spentWords string, env ...string) (githubtest.PullRequest, string) {
	t.Helper()
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	model := modeltest.NewServer(t, steps...)
	p, taskBase, dbURL := prEnv(t, gh, model, env...)
	start := time.Now()
	code, resp := deliver(t, p, "budget", commentPayload(t, "alice", "/sesame "+args+" fix the typo in README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	id := resp["task_id"]
	status, reason := waitEnded(t, dbURL, id, 2*time.Minute)
	if status != "stopped" {
		t.Fatalf("task ended %s: %q; want stopped at its budget", status, reason)
	}
	if took := time.Since(start); took > 90*time.Second {
		t.Errorf("the task took %s: the agent was not stopped at its budget", took)
	}
	for _, want := range []string{"Sesame stopped the agent at " + budgetWords, "it had spent " + spentWords, "in the draft pull request #"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}

	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want the draft", len(prs))
	}
	pr := prs[0]
	if !pr.Draft || !strings.HasSuffix(pr.Title, "[stopped at budget]") || pr.Base != "main" {
		t.Errorf("pull request %q (draft %v, into %s), want a draft marked stopped at budget into main", pr.Title, pr.Draft, pr.Base)
	}
	for _, want := range []string{"**Stopped at budget.**", budgetWords, spentWords, "Fixes #1"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("pull request body lacks %q:\n%s", want, pr.Body)
		}
	}
	if got := gitOut(t, bare, "show", pr.Head+":README.md"); !strings.Contains(got, "fixes the typo") {
		t.Errorf("pushed README = %q, want the agent's partial work", got)
	}
	final := replies(gh)
	if len(final) != 1 {
		t.Fatalf("replies = %+v, want the progress comment", final)
	}
	t.Logf("the reply:\n%s\nthe pull request %q:\n%s", final[0].Body, pr.Title, pr.Body)
	for _, want := range []string{"⏹️ **Stopped at budget.**", budgetWords, spentWords, "draft pull request #"} {
		if !strings.Contains(final[0].Body, want) {
			t.Errorf("reply lacks %q:\n%s", want, final[0].Body)
		}
	}
	if left := proctest.Under(taskBase); len(left) > 0 {
		t.Errorf("agent processes left after the stop: %v", left)
	}
	return pr, dbURL + " " + id
}

// A task with --budget 0.05 whose model reports calls that cost more (the second call's 30,000
// input tokens of claude-opus-4-8 cost $0.15 at the default prices) is stopped while its third step
// would still run for two minutes; the README it fixed is on a draft pull request, and the reply and
// the task say what was spent.
func TestEndToEndStoppedAtCostBudget(t *testing.T) {
	steps := []modeltest.Step{
		{ToolName: "Bash", ToolInput: map[string]any{"command": `sed -i 's/teh typo/the typo/' README.md`}, InputTokens: 2000},
		{ToolName: "Bash", ToolInput: map[string]any{"command": "sleep 120"}, InputTokens: 30000},
		{Text: "Done."},
	}
	// Claude Code reports each call's input tokens and 1 output token as it streams: 2,001 + 30,001
	// tokens cost $0.01 + $0.15.
	_, ref := stoppedAtBudget(t, "--budget 0.05", steps, "its cost budget of $0.05 (--budget)",
		"about $0.16 (its tokens at the listed prices)")
	dbURL, id, _ := strings.Cut(ref, " ")
	if cost := taskCost(t, dbURL, id); cost < 0.16 || cost > 0.161 {
		t.Errorf("the task's recorded cost is %v, want about $0.16", cost)
	}
}

// A task whose model hangs after the agent fixed the README is stopped at its time limit
// (TASK_MAX_DURATION=8s): its partial work is on a draft pull request marked stopped at budget.
func TestEndToEndStoppedAtTimeLimit(t *testing.T) {
	steps := []modeltest.Step{
		{ToolName: "Bash", ToolInput: map[string]any{"command": `sed -i 's/teh typo/the typo/' README.md`}, InputTokens: 2000},
		{Hang: true},
	}
	stoppedAtBudget(t, "", steps, "its time limit of 8s", "about $0.01 (its tokens at the listed prices)", "TASK_MAX_DURATION=8s")
}
