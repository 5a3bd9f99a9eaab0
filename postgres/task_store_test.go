package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/postgres"
)

// MustOpen opens and migrates a fresh database for t.
func MustOpen(t testing.TB) *postgres.DB { return pgtest.Open(t) }

func request(delivery string) sesame.Request {
	return sesame.Request{
		Source: sesame.SourceGitHub, DeliveryID: delivery, Kind: sesame.KindRun, Repo: "octo/hello",
		InstallationID: 7, IssueNumber: 3, CommentID: 99, Requester: "alice", RequesterID: 1,
		Instruction: "fix the typo ✨", Agent: "claude",
	}
}

func TestCreateTaskStoresAndDedupes(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))

	first, created, err := store.CreateTask(ctx, request("d-1"))
	if err != nil || !created {
		t.Fatalf("CreateTask = created %v, err %v", created, err)
	}
	again, created, err := store.CreateTask(ctx, request("d-1"))
	if err != nil || created {
		t.Fatalf("repeated CreateTask = created %v, err %v; want not created", created, err)
	}
	if again.ID != first.ID {
		t.Fatalf("repeated delivery returned task %s, want %s", again.ID, first.ID)
	}
	got, err := store.Task(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, got, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("stored task differs (-created +loaded):\n%s", diff)
	}
	events, err := store.Events(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Type != "status" || events[0].Message != "queued" {
		t.Errorf("events = %+v, want one queued status event", events)
	}
}

func TestCreateTaskConcurrentDeliveriesMakeOneTask(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]int{}
	for range 8 {
		wg.Go(func() {
			task, created, err := store.CreateTask(ctx, request("same"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[task.ID]++
			if created {
				ids["created"]++
			}
		})
	}
	wg.Wait()
	if len(ids) != 2 || ids["created"] != 1 {
		t.Fatalf("8 concurrent deliveries gave %v, want one task created once", ids)
	}
	var n int
	db.Pool.QueryRow(ctx, "SELECT count(*) FROM tasks").Scan(&n)
	if n != 1 {
		t.Fatalf("%d task rows, want 1", n)
	}
}

func TestUnqueuedTasksAndMarkEnqueued(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	a, _, _ := store.CreateTask(ctx, request("a"))
	b, _, _ := store.CreateTask(ctx, request("b"))
	if err := store.MarkEnqueued(ctx, a.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	got, err := store.UnqueuedTasks(ctx, time.Now().Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != b.ID {
		t.Fatalf("UnqueuedTasks = %v, want only %s", got, b.ID)
	}
	if got, _ := store.UnqueuedTasks(ctx, b.CreatedAt, 10); len(got) != 0 {
		t.Fatalf("UnqueuedTasks before creation = %d tasks, want none", len(got))
	}
}

func TestSetStatusRefusesEndedTask(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	task, _, _ := store.CreateTask(ctx, request("x"))
	if _, err := store.SetStatus(ctx, task.ID, sesame.StatusPreparing, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetStatus(ctx, task.ID, sesame.StatusFailed, "no permission"); err != nil {
		t.Fatal(err)
	}
	_, err := store.SetStatus(ctx, task.ID, sesame.StatusRunning, "")
	if sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Fatalf("SetStatus on failed task = %v, want conflict", err)
	}
	got, _ := store.Task(ctx, task.ID)
	if got.Status != sesame.StatusFailed || got.Reason != "no permission" {
		t.Fatalf("task = %s %q, want failed with reason", got.Status, got.Reason)
	}
	events, _ := store.Events(ctx, task.ID)
	var statuses []string
	for _, e := range events {
		statuses = append(statuses, e.Message)
	}
	if diff := cmp.Diff([]string{"queued", "preparing", "failed"}, statuses); diff != "" {
		t.Errorf("status events (-want +got):\n%s", diff)
	}
	if _, err := store.Task(ctx, "not-a-uuid"); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("Task(bad id) = %v, want not found", err)
	}
	if _, err := store.SetStatus(ctx, "018f0000-0000-7000-8000-000000000000", sesame.StatusRunning, ""); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("SetStatus(unknown) = %v, want not found", err)
	}
}

func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, _, err = postgres.NewTaskStore(db).CreateTask(ctx, request("down"))
	if sesame.ErrorCode(err) != sesame.EUNAVAILABLE {
		t.Fatalf("CreateTask on a closed port = %v (code %q), want unavailable", err, sesame.ErrorCode(err))
	}
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	v, pending, err := db.MigrationStatus(ctx)
	if err != nil || v < 1 || pending != 0 {
		t.Fatalf("MigrationStatus = %d, %d, %v", v, pending, err)
	}
}

// MustCreateUser creates a user with email for tasks to belong to.
func MustCreateUser(t testing.TB, db *postgres.DB, email string) *sesame.User {
	t.Helper()
	u, err := postgres.NewUserStore(db).CreateUser(context.Background(), sesame.User{Email: email, PasswordHash: "hash"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCreateTaskStoresWebFields(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)
	user := MustCreateUser(t, db, "web@example.com")
	off, on := false, true

	for _, tt := range []struct {
		name     string
		edit     func(r *sesame.Request)
		wantUser string
		wantCode string
	}{
		{name: "from github", edit: func(r *sesame.Request) {}},
		{name: "web user, sandbox off, kept", wantUser: user.ID, edit: func(r *sesame.Request) {
			r.Source, r.UserID, r.SandboxSecurity, r.KeepAlive = sesame.SourceWeb, user.ID, &off, true
		}},
		{name: "sandbox on", edit: func(r *sesame.Request) { r.SandboxSecurity = &on }},
		{name: "upper-case user id", wantUser: user.ID, edit: func(r *sesame.Request) { r.UserID = strings.ToUpper(user.ID) }},
		{name: "invalid user id", wantCode: sesame.EINVALID, edit: func(r *sesame.Request) { r.UserID = "nobody" }},
		{name: "unknown user", wantCode: sesame.EINVALID, edit: func(r *sesame.Request) { r.UserID = "018f0000-0000-7000-8000-000000000000" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := request("web-" + tt.name)
			tt.edit(&r)
			created, _, err := store.CreateTask(ctx, r)
			if sesame.ErrorCode(err) != tt.wantCode {
				t.Fatalf("CreateTask = %v, want code %q", err, tt.wantCode)
			} else if err != nil {
				return
			}
			if created.UserID != tt.wantUser {
				t.Errorf("created task's user = %q, want %q", created.UserID, tt.wantUser)
			}
			got, err := store.Task(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(created, got, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
				t.Errorf("stored task differs (-created +loaded):\n%s", diff)
			}
		})
	}
}

func TestSetStatusStampsStartAndFinish(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	for _, tt := range []struct {
		name         string
		statuses     []sesame.TaskStatus
		wantStarted  bool
		wantFinished bool
	}{
		{name: "still queued", statuses: nil},
		{name: "preparing", statuses: []sesame.TaskStatus{sesame.StatusPreparing}, wantStarted: true},
		{name: "running", statuses: []sesame.TaskStatus{sesame.StatusPreparing, sesame.StatusRunning, sesame.StatusPushing}, wantStarted: true},
		{name: "completed", statuses: []sesame.TaskStatus{sesame.StatusPreparing, sesame.StatusRunning, sesame.StatusCompleted}, wantStarted: true, wantFinished: true},
		{name: "failed from the queue", statuses: []sesame.TaskStatus{sesame.StatusFailed}, wantStarted: true, wantFinished: true},
		{name: "stopped while running", statuses: []sesame.TaskStatus{sesame.StatusRunning, sesame.StatusStopped}, wantStarted: true, wantFinished: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			task, _, err := store.CreateTask(ctx, request("stamp-"+tt.name))
			if err != nil {
				t.Fatal(err)
			}
			var first time.Time // started_at after the first change; later changes must keep it
			for i, s := range tt.statuses {
				if _, err := store.SetStatus(ctx, task.ID, s, ""); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					got, _ := store.Task(ctx, task.ID)
					first = got.StartedAt
				}
			}
			got, err := store.Task(ctx, task.ID)
			if err != nil {
				t.Fatal(err)
			}
			if started := !got.StartedAt.IsZero(); started != tt.wantStarted {
				t.Errorf("started = %v (%v), want %v", started, got.StartedAt, tt.wantStarted)
			}
			if finished := !got.FinishedAt.IsZero(); finished != tt.wantFinished {
				t.Errorf("finished = %v (%v), want %v", finished, got.FinishedAt, tt.wantFinished)
			}
			if !got.StartedAt.Equal(first) {
				t.Errorf("started at %v, want the time of the first change %v", got.StartedAt, first)
			}
			if tt.wantFinished && (got.FinishedAt.Before(got.StartedAt) || got.Duration(time.Now()) != got.FinishedAt.Sub(got.StartedAt)) {
				t.Errorf("started %v, finished %v: want a finish after the start and a fixed duration", got.StartedAt, got.FinishedAt)
			}
		})
	}
}

func TestEventsAfter(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	task, _, _ := store.CreateTask(ctx, request("after"))
	other, _, _ := store.CreateTask(ctx, request("other"))
	var added []sesame.TaskEvent
	for _, msg := range []string{"one", "two", "three"} {
		e, err := store.AddEvent(ctx, sesame.TaskEvent{TaskID: task.ID, Type: "log", Message: msg})
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, e)
		store.AddEvent(ctx, sesame.TaskEvent{TaskID: other.ID, Type: "log", Message: "other " + msg})
	}
	all, err := store.Events(ctx, task.ID)
	if err != nil || len(all) != 4 {
		t.Fatalf("Events = %d events, %v; want the queued event and 3 more", len(all), err)
	}

	for _, tt := range []struct {
		name    string
		afterID int64
		want    []sesame.TaskEvent
	}{
		{name: "from the start", afterID: 0, want: all},
		{name: "after the first added", afterID: added[0].ID, want: all[2:]},
		{name: "after the last", afterID: added[2].ID, want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.EventsAfter(ctx, task.ID, tt.afterID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
				t.Errorf("EventsAfter(%d) (-want +got):\n%s", tt.afterID, diff)
			}
		})
	}
	if _, err := store.EventsAfter(ctx, "not-a-uuid", 0); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("EventsAfter(bad id) = %v, want not found", err)
	}
}

func TestListTasks(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)
	alice := MustCreateUser(t, db, "alice@example.com")
	bob := MustCreateUser(t, db, "bob@example.com")

	var ids []string // in creation order
	for i, owner := range []string{alice.ID, bob.ID, "", alice.ID, alice.ID} {
		r := request(fmt.Sprintf("list-%d", i))
		r.UserID = owner
		task, _, err := store.CreateTask(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}

	for _, tt := range []struct {
		name   string
		filter sesame.TaskFilter
		want   []string
	}{
		{name: "all, newest first", filter: sesame.TaskFilter{}, want: []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{name: "alice's", filter: sesame.TaskFilter{UserID: alice.ID}, want: []string{ids[4], ids[3], ids[0]}},
		{name: "bob's", filter: sesame.TaskFilter{UserID: bob.ID}, want: []string{ids[1]}},
		{name: "limited", filter: sesame.TaskFilter{Limit: 2}, want: []string{ids[4], ids[3]}},
		{name: "alice's limited", filter: sesame.TaskFilter{UserID: alice.ID, Limit: 1}, want: []string{ids[4]}},
		{name: "huge limit", filter: sesame.TaskFilter{Limit: 1 << 30}, want: []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{name: "user without tasks", filter: sesame.TaskFilter{UserID: "018f0000-0000-7000-8000-000000000000"}, want: nil},
		{name: "invalid user", filter: sesame.TaskFilter{UserID: "nobody"}, want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tasks, err := store.ListTasks(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, task := range tasks {
				got = append(got, task.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListTasks(%+v) ids (-want +got):\n%s", tt.filter, diff)
			}
		})
	}

	// Tasks created in the same instant still list newest first, by id.
	if _, err := db.Pool.Exec(ctx, `UPDATE tasks SET created_at = '2030-01-01T00:00:00Z'`); err != nil {
		t.Fatal(err)
	}
	tasks, _ := store.ListTasks(ctx, sesame.TaskFilter{Limit: 2})
	if len(tasks) != 2 || tasks[0].ID != ids[4] || tasks[1].ID != ids[3] {
		t.Errorf("ListTasks with equal times = %v, want %s then %s", tasks, ids[4], ids[3])
	}
}

func TestListTasksDefaultAndMaximumLimits(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)
	_, err := db.Pool.Exec(ctx, `INSERT INTO tasks (id, delivery_id, source, kind)
		SELECT gen_random_uuid(), 'bulk-' || n, 'github', 'run' FROM generate_series(1, 501) n`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		limit int
		want  int
	}{
		{name: "default", limit: 0, want: 50},
		{name: "negative", limit: -1, want: 50},
		{name: "as asked", limit: 120, want: 120},
		{name: "capped", limit: 1000, want: 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tasks, err := store.ListTasks(ctx, sesame.TaskFilter{Limit: tt.limit})
			if err != nil || len(tasks) != tt.want {
				t.Fatalf("ListTasks(limit %d) = %d tasks, %v; want %d", tt.limit, len(tasks), err, tt.want)
			}
		})
	}
}

func TestSetResult(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	task, _, _ := store.CreateTask(ctx, request("result"))
	want := sesame.TaskResult{Branch: "sesame/fix-typo", PRNumber: 42, PRURL: "https://github.com/octo/hello/pull/42",
		InputTokens: 12345, OutputTokens: 678, CostUSD: 0.1234}
	if err := store.SetResult(ctx, task.ID, want); err != nil {
		t.Fatal(err)
	}
	got, _ := store.Task(ctx, task.ID)
	gotResult := sesame.TaskResult{Branch: got.Branch, PRNumber: got.PRNumber, PRURL: got.PRURL,
		InputTokens: got.InputTokens, OutputTokens: got.OutputTokens, CostUSD: got.CostUSD}
	if diff := cmp.Diff(want, gotResult); diff != "" {
		t.Errorf("stored result (-want +got):\n%s", diff)
	}
	for _, id := range []string{"018f0000-0000-7000-8000-000000000000", "bad"} {
		if err := store.SetResult(ctx, id, want); sesame.ErrorCode(err) != sesame.ENOTFOUND {
			t.Errorf("SetResult(%s) = %v, want not found", id, err)
		}
	}
}
