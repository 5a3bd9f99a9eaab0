package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/sandbox"
)

// testPrices are the default prices of the models the tests use (tasks.modelPrices).
var testPrices = sesame.PriceTable{
	{Model: "claude-opus-4-8", Input: 5, Output: 25, CacheRead: 0.5, CacheWrite: 6.25},
	{Model: "gpt-5.5", Input: 5, Output: 30, CacheRead: 0.5, CacheWrite: 5},
	{Model: "gpt-5.4", Input: 2.5, Output: 15, CacheRead: 0.25, CacheWrite: 2.5},
}

func usage(e agent.Event) agent.Event { e.Type = agent.EventUsage; return e }

func TestCostMeter(t *testing.T) {
	claudeCall := func(in int) agent.Event {
		return usage(agent.Event{Usage: &agent.Usage{InputTokens: in, OutputTokens: 1}, Model: "claude-opus-4-8"})
	}
	for _, tc := range []struct {
		name          string
		model         string // asked for
		events        []agent.Event
		wantCost      float64
		wantEstimated bool
		wantUnknown   string
		wantTokens    int // input tokens
	}{{
		name:  "Claude Code while it runs: each call's tokens at its model's price",
		model: "",
		events: []agent.Event{
			{Type: agent.EventSystem, Model: "claude-opus-4-8[1m]"},
			claudeCall(19181), claudeCall(19293),
		},
		wantCost: (19181*5 + 25 + 19293*5 + 25) / 1e6, wantEstimated: true, wantTokens: 19181 + 19293,
	}, {
		name: "Claude Code's result: its own total replaces the estimate",
		events: []agent.Event{
			{Type: agent.EventSystem, Model: "claude-opus-4-8[1m]"},
			claudeCall(19181), claudeCall(19293), claudeCall(19367),
			{Type: agent.EventResult, Usage: &agent.Usage{InputTokens: 57841, OutputTokens: 36, CostUSD: 0.290105}},
		},
		wantCost: 0.290105, wantTokens: 57841,
	}, {
		name: "an agent that reports each step's cost (OpenCode)",
		events: []agent.Event{
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 10, CostUSD: 0.01}}),
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 20, CostUSD: 0.02}}),
		},
		wantCost: 0.03, wantTokens: 30,
	}, {
		name:  "Codex: cumulative results without cost, priced as the model asked for",
		model: "gpt-5.5",
		events: []agent.Event{
			{Type: agent.EventSystem},
			{Type: agent.EventResult, Usage: &agent.Usage{InputTokens: 1000, OutputTokens: 100}},
			{Type: agent.EventResult, Usage: &agent.Usage{InputTokens: 3000, OutputTokens: 200, CacheReadTokens: 10000}},
		},
		wantCost: (3000*5 + 200*30 + 10000*0.5) / 1e6, wantEstimated: true, wantTokens: 3000,
	}, {
		name:  "a usage event that names its model is priced as that model (Copilot)",
		model: "",
		events: []agent.Event{
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 1000, CacheWriteTokens: 1000}, Model: "gpt-5.4"}),
		},
		wantCost: (1000*2.5 + 1000*2.5) / 1e6, wantEstimated: true, wantTokens: 1000,
	}, {
		name: "a model with no price: the cost is unknown",
		events: []agent.Event{
			{Type: agent.EventSystem, Model: "mystery-1"},
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 100, OutputTokens: 10}}),
		},
		wantUnknown: "mystery-1", wantTokens: 100,
	}, {
		name: "the agent's default model unnamed and unpriced",
		events: []agent.Event{
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 100}}),
		},
		wantUnknown: "the agent's default model", wantTokens: 100,
	}, {
		name: "an unknown cost is known once the agent reports it",
		events: []agent.Event{
			{Type: agent.EventSystem, Model: "mystery-1"},
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 100, OutputTokens: 10}}),
			{Type: agent.EventResult, Usage: &agent.Usage{InputTokens: 100, OutputTokens: 10, CostUSD: 0.5}},
		},
		wantCost: 0.5, wantTokens: 100,
	}, {
		name:  "an empty result (a failed run) leaves the sum",
		model: "gpt-5.5",
		events: []agent.Event{
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 2000}}),
			{Type: agent.EventResult, Usage: &agent.Usage{}, IsError: true},
		},
		wantCost: 2000 * 5 / 1e6, wantEstimated: true, wantTokens: 2000,
	}, {
		name:  "steps after a result add to it",
		model: "gpt-5.5",
		events: []agent.Event{
			{Type: agent.EventResult, Usage: &agent.Usage{InputTokens: 1000, CostUSD: 0.1}},
			usage(agent.Event{Usage: &agent.Usage{InputTokens: 1000}}),
		},
		wantCost: 0.1 + 1000*5/1e6, wantEstimated: true, wantTokens: 2000,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m := newCostMeter(testPrices, tc.model)
			for _, e := range tc.events {
				m.add(e)
			}
			got := m.spent()
			if math.Abs(got.Usage.CostUSD-tc.wantCost) > 1e-12 || got.Estimated != tc.wantEstimated || got.Unknown != tc.wantUnknown ||
				got.Usage.InputTokens != tc.wantTokens {
				t.Errorf("spent = %+v; want cost %v, estimated %v, unknown %q, %d tokens in", got, tc.wantCost, tc.wantEstimated, tc.wantUnknown, tc.wantTokens)
			}
		})
	}
}

// budgetsFake is the store's side of monthly budgets: the budget it returns, and what it was asked.
type budgetsFake struct {
	budget sesame.UserBudget
	err    error
	asked  []string // "id user login"
}

func (f *budgetsFake) ChargeTask(_ context.Context, id, userID, login string, _ time.Time) (sesame.UserBudget, error) {
	f.asked = append(f.asked, id+" "+userID+" "+login)
	return f.budget, f.err
}

// loginOrigin describes every request as made by a GitHub login.
type loginOrigin struct {
	Origin
	login string
}

func (o loginOrigin) Describe(*sesame.Task) sesame.RequestDescription {
	return sesame.RequestDescription{GitHubLogin: o.login}
}

func TestBudgetOf(t *testing.T) {
	costs := Costs{TaskBudget: 5, MaxBudget: 20, UserMonthly: 10, Prices: testPrices}
	own := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name   string
		costs  Costs
		asked  float64 // --budget
		user   *sesame.UserBudget
		err    error
		want   budget
		refuse string // part of the refusal
		fails  bool   // the store failed
	}{
		{name: "the task budget", costs: costs, want: budget{cost: 5}},
		{name: "no user to count against", costs: costs, user: &sesame.UserBudget{}, want: budget{cost: 5}},
		{name: "asked within the maximum", costs: costs, asked: 12.5, want: budget{cost: 12.5, asked: true}},
		{name: "asked the maximum", costs: costs, asked: 20, want: budget{cost: 20, asked: true}},
		{name: "asked more than the maximum", costs: costs, asked: 20.01,
			refuse: "it asks for a budget of $20.01 (--budget), more than the $20.00 a request may ask for"},
		{name: "asked where no request may", costs: Costs{TaskBudget: 5}, asked: 1,
			refuse: "lets no request choose its own"},
		{name: "the month's rest is less than the task's budget", costs: costs,
			user: &sesame.UserBudget{UserID: "u1", Spent: 7.5}, want: budget{cost: 2.5, month: 10}},
		{name: "the month's rest is less than what was asked", costs: costs, asked: 8,
			user: &sesame.UserBudget{UserID: "u1", Spent: 7.5}, want: budget{cost: 2.5, month: 10}},
		{name: "the month's rest is more than the task's budget", costs: costs,
			user: &sesame.UserBudget{UserID: "u1", Spent: 1}, want: budget{cost: 5}},
		{name: "the user's own budget over the default", costs: costs,
			user: &sesame.UserBudget{UserID: "u1", Own: own(100), Spent: 98}, want: budget{cost: 2, month: 100}},
		{name: "the user's own budget is no limit", costs: costs,
			user: &sesame.UserBudget{UserID: "u1", Own: own(0), Spent: 1000}, want: budget{cost: 5}},
		{name: "no task budget: the month's rest", costs: Costs{UserMonthly: 10},
			user: &sesame.UserBudget{UserID: "u1", Spent: 4}, want: budget{cost: 6, month: 10}},
		{name: "the month is spent", costs: costs, user: &sesame.UserBudget{UserID: "u1", Spent: 10.42},
			refuse: "your monthly budget of $10.00 is spent (your tasks cost $10.42 since"},
		{name: "the store fails", costs: costs, user: &sesame.UserBudget{}, err: errors.New("down"), fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runner{Origins: map[sesame.Source]Origin{sesame.SourceGitHub: loginOrigin{login: "octocat"}}}
			var fake *budgetsFake
			if tc.user != nil {
				fake = &budgetsFake{budget: *tc.user, err: tc.err}
				r.Budgets = fake
			}
			task := &sesame.Task{ID: "t1", Request: sesame.Request{Source: sesame.SourceGitHub, Budget: tc.asked}}
			got, err := r.budgetOf(context.Background(), task, Settings{MaxDuration: time.Hour, Costs: tc.costs})
			switch {
			case tc.refuse != "":
				if sesame.ErrorCode(err) != sesame.EFORBIDDEN || !strings.Contains(sesame.ErrorMessage(err), tc.refuse) {
					t.Fatalf("budgetOf = %v; want a refusal with %q", err, tc.refuse)
				}
				return
			case tc.fails:
				if err == nil || sesame.ErrorCode(err) == sesame.EFORBIDDEN {
					t.Fatalf("budgetOf = %v; want the store's error", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			tc.want.time, tc.want.prices = time.Hour, testPrices
			if tc.costs.Prices == nil {
				tc.want.prices = nil
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("budget = %+v, want %+v", got, tc.want)
			}
			if fake != nil && (len(fake.asked) != 1 || fake.asked[0] != "t1  octocat") {
				t.Errorf("the store was asked %q, want the task charged to octocat's login", fake.asked)
			}
		})
	}
}

func TestAtBudget(t *testing.T) {
	cost := budget{cost: 0.05, asked: true, time: 8 * time.Second}
	for _, tc := range []struct {
		name       string
		o          outcome
		wantStatus sesame.TaskStatus
		wantReason string
	}{{
		name: "stopped at the cost budget, with a draft",
		o: outcome{status: sesame.StatusCompleted, prNumber: 7, stop: &budgetStop{limit: cost},
			usage: agent.Usage{InputTokens: 21000, CostUSD: 0.106}, costEstimated: true},
		wantStatus: sesame.StatusStopped,
		wantReason: "Sesame stopped the agent at its cost budget of $0.05 (--budget); it had spent about $0.11 (its tokens at the listed prices). " +
			"What it did so far is in the draft pull request #7.",
	}, {
		name: "stopped at its time limit without a change",
		o: outcome{status: sesame.StatusCompleted, noChanges: true, stop: &budgetStop{time: true, limit: cost},
			usage: agent.Usage{CostUSD: 0.02}},
		wantStatus: sesame.StatusStopped,
		wantReason: "Sesame stopped the agent at its time limit of 8s; it had spent $0.02. It had changed nothing yet, so there is no pull request.",
	}, {
		name: "stopped at the month's rest, on a pull request",
		o: outcome{status: sesame.StatusCompleted, onPR: true, prNumber: 3, stop: &budgetStop{limit: budget{cost: 2.5, month: 10}},
			usage: agent.Usage{InputTokens: 10, OutputTokens: 2}, costUnknown: "mystery-1"},
		wantStatus: sesame.StatusStopped,
		wantReason: "Sesame stopped the agent at what was left of your monthly budget of $10.00 ($2.50); it had spent an unknown amount " +
			"(10 tokens in, 2 out). What it did so far is pushed to #3.",
	}, {
		name:       "the push failed: it stays failed",
		o:          outcome{status: sesame.StatusFailed, reason: "Sesame could not push.", stop: &budgetStop{limit: cost}},
		wantStatus: sesame.StatusFailed, wantReason: "Sesame could not push.",
	}, {
		name:       "no budget ran out",
		o:          outcome{status: sesame.StatusCompleted, prNumber: 7},
		wantStatus: sesame.StatusCompleted,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.o.atBudget()
			if got.status != tc.wantStatus || got.reason != tc.wantReason || got.noChanges {
				t.Errorf("atBudget = %s %q (no changes %v)\nwant %s %q", got.status, got.reason, got.noChanges, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

// runsUntilStopped is a sandbox whose one process prints lines, then runs until its context ends.
type runsUntilStopped struct{ lines []string }

func (s runsUntilStopped) Exec(ctx context.Context, req sandbox.ExecRequest) (int, error) {
	for _, l := range s.lines {
		io.WriteString(req.Stdout, l+"\n")
	}
	<-ctx.Done()
	return -1, ctx.Err()
}
func (runsUntilStopped) Workspace() string             { return "/workspace" }
func (runsUntilStopped) Destroy(context.Context) error { return nil }

var _ sandbox.Sandbox = runsUntilStopped{}

// claudeTurn is Claude Code's line for a model call with id that read input tokens.
func claudeTurn(id string, input int) string {
	return fmt.Sprintf(`{"type":"assistant","message":{"id":%q,"model":"claude-opus-4-8","content":[{"type":"tool_use","id":"tu_%s","name":"Bash","input":{"command":"sleep 60"}}],`+
		`"usage":{"input_tokens":%d,"output_tokens":1}}}`, id, id, input)
}

func TestRunAgentHeldToItsBudget(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(pgtest.Open(t))
	log := slog.New(slog.DiscardHandler)
	r := &Runner{Store: store, Logger: log}
	init := `{"type":"system","subtype":"init","model":"claude-opus-4-8[1m]"}`
	for _, tc := range []struct {
		name      string
		lines     []string
		b         budget
		wantErr   error
		wantSpent float64
		wantStep  string // a step the task's events hold
	}{{
		name:  "stopped once the spending passes the cost budget",
		lines: []string{init, claudeTurn("m1", 1000), claudeTurn("m1", 1000), claudeTurn("m2", 20000), claudeTurn("m3", 50000)},
		b:     budget{time: time.Minute, cost: 0.05, prices: testPrices},
		// The agent is stopped at m2, the first call past $0.05; what it printed still counts.
		wantErr: errCostBudget, wantSpent: (1000*5 + 25 + 20000*5 + 25 + 50000*5 + 25) / 1e6, wantStep: "cost budget reached",
	}, {
		name:    "within the cost budget: stopped at the time limit",
		lines:   []string{init, claudeTurn("m1", 1000)},
		b:       budget{time: 300 * time.Millisecond, cost: 5, prices: testPrices},
		wantErr: errTimeBudget, wantSpent: (1000*5 + 25) / 1e6,
	}, {
		name:    "no cost budget: only time",
		lines:   []string{init, claudeTurn("m1", 1_000_000)},
		b:       budget{time: 300 * time.Millisecond, prices: testPrices},
		wantErr: errTimeBudget, wantSpent: (1_000_000*5 + 25) / 1e6,
	}, {
		name:     "an unpriced model: said so, and bounded by time only",
		lines:    []string{`{"type":"system","subtype":"init","model":"mystery-1"}`, strings.ReplaceAll(claudeTurn("m1", 1_000_000), "claude-opus-4-8", "mystery-1")},
		b:        budget{time: 300 * time.Millisecond, cost: 0.01, prices: testPrices},
		wantErr:  errTimeBudget,
		wantStep: "What this task spends is unknown while its agent runs: the agent reports no cost for mystery-1, and tasks.modelPrices (MODEL_PRICES) has no price for it. Only the time limit of 300ms bounds the task.",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			task, _, err := store.CreateTask(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: "web:budget:" + tc.name, Kind: sesame.KindRun,
				Repo: "octo/hello", Requester: "someone", Instruction: "fix it"})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, spent, err := r.runAgent(ctx, task, agent.Claude{}, runsUntilStopped{lines: tc.lines}, []string{"claude"}, nil, tc.b, log)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("runAgent = %v, want %v", err, tc.wantErr)
			}
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("the run took %s to stop", took)
			}
			if math.Abs(spent.Usage.CostUSD-tc.wantSpent) > 1e-12 {
				t.Errorf("spent %v, want %v", spent.Usage.CostUSD, tc.wantSpent)
			}
			if tc.wantStep == "" {
				return
			}
			evs, err := store.Events(ctx, task.ID)
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, e := range evs {
				if e.Type == "step" {
					steps = append(steps, e.Message)
				}
			}
			if !strings.Contains(strings.Join(steps, "\n"), tc.wantStep) {
				t.Errorf("the task's steps %q lack %q", steps, tc.wantStep)
			}
		})
	}
}
