package postgres_test

import (
	"context"
	"log/slog"
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
