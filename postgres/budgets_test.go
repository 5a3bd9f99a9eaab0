package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// mustTaskCosting stores a task of r that cost cost, created at created (zero: now).
func mustTaskCosting(t *testing.T, db *postgres.DB, r sesame.Request, cost float64, created time.Time) *sesame.Task {
	t.Helper()
	ctx := context.Background()
	store := postgres.NewTaskStore(db)
	task, _, err := store.CreateTask(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetResult(ctx, task.ID, sesame.TaskResult{CostUSD: cost}); err != nil {
		t.Fatal(err)
	}
	if !created.IsZero() {
		if _, err := db.Pool.Exec(ctx, `UPDATE tasks SET created_at = $2 WHERE id = $1`, task.ID, created); err != nil {
			t.Fatal(err)
		}
	}
	return task
}

// A task counts against its web user, or against the user who connected the GitHub login that asked;
// what a user spent is what the tasks counted against them this month cost, the task being charged
// left out.
func TestChargeTask(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	alice := MustCreateUser(t, db, "alice@example.com")
	bob := MustCreateUser(t, db, "bob@example.com")
	banned := MustCreateUser(t, db, "mallory@example.com")
	if err := users.SetGitHubToken(ctx, bob.ID, sesame.GitHubToken{Login: "Bob-GH", Sealed: []byte{1}, Last4: "abcd"}); err != nil {
		t.Fatal(err)
	}
	if err := users.SetGitHubToken(ctx, banned.ID, sesame.GitHubToken{Login: "mallory-gh", Sealed: []byte{1}, Last4: "abcd"}); err != nil {
		t.Fatal(err)
	}
	if err := users.SetBanned(ctx, banned.ID, true); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	month := sesame.MonthStart(now)
	web := func(id string) sesame.Request {
		return sesame.Request{Source: sesame.SourceWeb, DeliveryID: "web:" + id, Kind: sesame.KindRun, Repo: "octo/hello",
			Requester: "alice", Instruction: "fix it", UserID: alice.ID}
	}
	gh := func(id, login string) sesame.Request {
		return sesame.Request{Source: sesame.SourceGitHub, DeliveryID: "gh:" + id, Kind: sesame.KindRun, Repo: "octo/hello",
			Requester: login, Instruction: "fix it"}
	}

	// Alice's web tasks: one this month, one last month (not counted), then the one to charge.
	earlier := mustTaskCosting(t, db, web("1"), 1.25, time.Time{})
	if _, err := users.ChargeTask(ctx, earlier.ID, alice.ID, "", month); err != nil {
		t.Fatal(err)
	}
	old := mustTaskCosting(t, db, web("2"), 7, month.Add(-time.Hour))
	if _, err := users.ChargeTask(ctx, old.ID, alice.ID, "", month); err != nil {
		t.Fatal(err)
	}
	again := mustTaskCosting(t, db, web("3"), 0.5, time.Time{}) // a resumed task: its own cost is left out
	got, err := users.ChargeTask(ctx, again.ID, alice.ID, "", month)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sesame.UserBudget{UserID: alice.ID, Name: "alice@example.com", Spent: 1.25}, got); diff != "" {
		t.Errorf("alice's budget (-want +got):\n%s", diff)
	}

	// A GitHub task of bob's login, in another case: counts against bob from now on.
	bobs := mustTaskCosting(t, db, gh("1", "bob-gh"), 2, time.Time{})
	got, err = users.ChargeTask(ctx, bobs.ID, "", "BOB-gh", month)
	if err != nil || got.UserID != bob.ID || got.Spent != 0 {
		t.Fatalf("ChargeTask(bob's login) = %+v, %v; want bob with nothing spent before", got, err)
	}
	if got, err := users.UserBudget(ctx, bob.ID, month); err != nil || got.Spent != 2 {
		t.Errorf("UserBudget(bob) = %+v, %v; want $2 spent", got, err)
	}

	// Nobody to count against: a login nobody connected, a banned user's login, no user at all.
	for name, r := range map[string][2]string{
		"unknown login":     {"", "stranger"},
		"banned user login": {"", "mallory-gh"},
		"no user":           {"", ""},
		"unknown user":      {unknownID, ""},
	} {
		task := mustTaskCosting(t, db, gh(name, r[1]), 3, time.Time{})
		if got, err := users.ChargeTask(ctx, task.ID, r[0], r[1], month); err != nil || got != (sesame.UserBudget{}) {
			t.Errorf("%s: ChargeTask = %+v, %v; want nobody", name, got, err)
		}
	}
	if got, err := users.UserBudget(ctx, banned.ID, month); err != nil || got.Spent != 0 {
		t.Errorf("UserBudget(banned) = %+v, %v; want nothing counted against them", got, err)
	}
}

func TestSetUserBudget(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	u := MustCreateUser(t, db, "alice@example.com")
	month := sesame.MonthStart(time.Now())
	ten, zero := 10.5, 0.0
	for _, tt := range []struct {
		name string
		set  *float64
		want *float64
	}{
		{name: "own budget", set: &ten, want: &ten},
		{name: "no limit", set: &zero, want: &zero},
		{name: "cleared: the default", set: nil, want: nil},
	} {
		if err := users.SetUserBudget(ctx, u.ID, tt.set); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := users.UserBudget(ctx, u.ID, month)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got.Own); diff != "" {
			t.Errorf("%s: own budget (-want +got):\n%s", tt.name, diff)
		}
	}
	minus := -1.0
	if err := users.SetUserBudget(ctx, u.ID, &minus); sesame.ErrorCode(err) != sesame.EINVALID {
		t.Errorf("SetUserBudget(-1) = %v, want invalid", err)
	}
	for _, id := range []string{unknownID, "alice"} {
		if err := users.SetUserBudget(ctx, id, &ten); sesame.ErrorCode(err) != sesame.ENOTFOUND {
			t.Errorf("SetUserBudget(%s) = %v, want not found", id, err)
		}
		if _, err := users.UserBudget(ctx, id, month); sesame.ErrorCode(err) != sesame.ENOTFOUND {
			t.Errorf("UserBudget(%s) = %v, want not found", id, err)
		}
	}
}

// The budget a request asks for its task is stored with it.
func TestCreateTaskStoresBudget(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	task, _, err := store.CreateTask(ctx, sesame.Request{Source: sesame.SourceGitHub, DeliveryID: "budget", Kind: sesame.KindRun,
		Repo: "octo/hello", Requester: "alice", Instruction: "fix it", Budget: 2.5})
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Task(ctx, task.ID)
	if err != nil || got.Budget != 2.5 {
		t.Fatalf("stored task's budget = %v (%v), want 2.5", got.Budget, err)
	}
}
