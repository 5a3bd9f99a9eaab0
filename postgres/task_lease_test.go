package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// One worker at a time holds a task; a lease that runs out passes it on and counts a restart when
// the task had left the queue; an ended task is nobody's.
func TestClaimLease(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	task, _, err := store.CreateTask(ctx, request("lease-claim"))
	if err != nil {
		t.Fatal(err)
	}

	// Ten workers race for a queued task: one wins, and claiming a queued task is no restart.
	var mu sync.Mutex
	var winners []string
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			worker := string(rune('a' + i))
			got, err := store.Claim(ctx, task.ID, worker, time.Minute)
			if err == nil {
				mu.Lock()
				winners = append(winners, worker)
				mu.Unlock()
				if got.Restarts != 0 || got.WorkerID != worker || got.LeaseUntil.Before(time.Now().Add(50*time.Second)) {
					t.Errorf("claimed task = restarts %d, worker %q, lease until %v", got.Restarts, got.WorkerID, got.LeaseUntil)
				}
			} else if sesame.ErrorCode(err) != sesame.ECONFLICT {
				t.Errorf("Claim: %v, want ECONFLICT for a loser", err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
	holder := winners[0]
	if _, err := store.Claim(ctx, task.ID, holder, time.Minute); err != nil {
		t.Fatalf("the holder claims again: %v", err)
	}

	// The holder renews; another worker renews nothing of it.
	if held, err := store.RenewLeases(ctx, holder, []string{task.ID, "not-a-uuid"}, time.Minute); err != nil || !slices.Equal(held, []string{task.ID}) {
		t.Fatalf("RenewLeases(holder) = %v, %v", held, err)
	}
	if held, err := store.RenewLeases(ctx, "zz", []string{task.ID}, time.Minute); err != nil || len(held) != 0 {
		t.Fatalf("RenewLeases(other) = %v, %v; want none", held, err)
	}

	// It leaves the queue, and its worker dies: the lease runs out and the task is an orphan.
	if _, err := store.SetStatus(ctx, task.ID, sesame.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	if orphans := orphanIDs(t, store); slices.Contains(orphans, task.ID) {
		t.Fatalf("a task with a live lease is an orphan")
	}
	if err := store.ReleaseLease(ctx, task.ID, "zz"); err != nil {
		t.Fatal(err)
	}
	if orphans := orphanIDs(t, store); slices.Contains(orphans, task.ID) {
		t.Fatalf("another worker released the holder's lease")
	}
	if _, err := store.RenewLeases(ctx, holder, []string{task.ID}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if orphans := orphanIDs(t, store); !slices.Contains(orphans, task.ID) {
		t.Fatalf("orphans = %v, want the task whose lease ran out", orphans)
	}

	// Another worker resumes it: a restart. The dead one cannot renew any more.
	got, err := store.Claim(ctx, task.ID, "next", time.Minute)
	if err != nil || got.Restarts != 1 || got.WorkerID != "next" || got.Status != sesame.StatusRunning {
		t.Fatalf("Claim after the lease ran out = %+v, %v; want restart 1 by next", got, err)
	}
	if held, _ := store.RenewLeases(ctx, holder, []string{task.ID}, time.Minute); len(held) != 0 {
		t.Fatalf("the dead worker still renews: %v", held)
	}
	// Released on shutdown: another resumes it at once, and that is another restart.
	if err := store.ReleaseLease(ctx, task.ID, "next"); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Claim(ctx, task.ID, "third", time.Minute); err != nil || got.Restarts != 2 {
		t.Fatalf("Claim after release = %+v, %v; want restart 2", got, err)
	}

	// Ended: nobody claims it, and it is no orphan.
	if _, err := store.SetStatus(ctx, task.ID, sesame.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Claim(ctx, task.ID, "third", time.Minute); sesame.ErrorCode(err) != sesame.ECONFLICT || got == nil || got.Status != sesame.StatusCompleted {
		t.Fatalf("Claim of an ended task = %+v, %v; want ECONFLICT with the task", got, err)
	}
	if _, err := store.Claim(ctx, "018f0000-0000-7000-8000-000000000000", "x", time.Minute); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Fatalf("Claim of an unknown task = %v, want ENOTFOUND", err)
	}
}

// A queued task a worker claimed and then died with is an orphan too; one nobody claimed is the
// reconciler's other question (QueuedTasks), paged by id.
func TestQueuedAndClaimedOrphans(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	var ids []string
	for _, d := range []string{"q1", "q2", "q3"} {
		task, _, err := store.CreateTask(ctx, request("lease-"+d))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	if got, err := store.QueuedTasks(ctx, time.Now().Add(time.Second), "", 10); err != nil || len(got) != 0 {
		t.Fatalf("QueuedTasks before confirmation = %d tasks, %v; want none", len(got), err)
	}
	if err := store.MarkEnqueued(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	var paged []string
	for after := ""; ; {
		page, err := store.QueuedTasks(ctx, time.Now().Add(time.Second), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, task := range page {
			paged = append(paged, task.ID)
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("QueuedTasks paged = %v, want %v", paged, ids)
	}

	if _, err := store.Claim(ctx, ids[0], "dead", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	orphans := orphanIDs(t, store)
	if !slices.Contains(orphans, ids[0]) || slices.Contains(orphans, ids[1]) {
		t.Fatalf("orphans = %v, want the claimed queued task %s alone of these", orphans, ids[0])
	}
	if got, err := store.Claim(ctx, ids[0], "next", time.Minute); err != nil || got.Restarts != 0 {
		t.Fatalf("Claim of a queued orphan = %+v, %v; want no restart (it never started)", got, err)
	}
}

func orphanIDs(t *testing.T, store *postgres.TaskStore) []string {
	t.Helper()
	tasks, err := store.OrphanedTasks(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, task := range tasks {
		ids = append(ids, task.ID)
	}
	return ids
}
