package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// lineRequest is a run request on issue 3 of octo/hello (installation 7) with its own delivery id and
// request key.
func lineRequest(name string) sesame.Request {
	r := request(name)
	r.RequestKey = "key:" + name
	return r
}

func mustCreateTask(t *testing.T, store *postgres.TaskStore, r sesame.Request) *sesame.Task {
	t.Helper()
	task, _, err := store.CreateTask(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// line claims the task for worker and calls Line until its requester was "told" the place, as the
// runner does; it returns the place (zero: admitted) and the task as Line left it.
func line(t *testing.T, store *postgres.TaskStore, id, worker string) (sesame.LinePlace, *sesame.Task) {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Claim(ctx, id, worker, time.Minute); err != nil {
		t.Fatalf("Claim(%s): %v", id, err)
	}
	var told sesame.LinePlace
	for range 5 {
		task, place, err := store.Line(ctx, id, worker, told)
		if err != nil {
			t.Fatalf("Line(%s): %v", id, err)
		}
		if !place.Waiting() || task.WorkerID == "" {
			return place, task
		}
		if task.WorkerID != worker {
			t.Fatalf("Line left worker %q, want %q before waiting", task.WorkerID, worker)
		}
		told = place
	}
	t.Fatalf("Line(%s) never settled", id)
	return sesame.LinePlace{}, nil
}

func TestLinePlacesEditsAndCancels(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	a := mustCreateTask(t, store, lineRequest("a"))
	b := mustCreateTask(t, store, lineRequest("b"))
	c := mustCreateTask(t, store, lineRequest("c"))
	otherIssue := lineRequest("other-issue")
	otherIssue.IssueNumber = 4
	web := lineRequest("web")
	web.Source, web.IssueNumber = sesame.SourceWeb, 0
	help := lineRequest("help")
	help.Kind = sesame.KindHelp
	free := []*sesame.Task{mustCreateTask(t, store, otherIssue), mustCreateTask(t, store, web), mustCreateTask(t, store, help)}

	if place, task := line(t, store, a.ID, "w1"); place.Waiting() || task.WorkerID != "w1" {
		t.Fatalf("first task: place %+v, worker %q; want it to take the turn, lease kept", place, task.WorkerID)
	}
	for _, task := range free { // another thread, no thread, a command: none waits
		if place, _ := line(t, store, task.ID, "w1"); place.Waiting() {
			t.Errorf("task %s (%s, issue %d) waits at %+v", task.ID, task.Kind, task.IssueNumber, place)
		}
	}
	placeB, taskB := line(t, store, b.ID, "w2")
	if want := (sesame.LinePlace{Behind: a.ID, Position: 1}); placeB != want || taskB.WorkerID != "" || taskB.LeaseUntil != (time.Time{}) {
		t.Fatalf("second task: place %+v, worker %q lease %v; want %+v with its lease given up", placeB, taskB.WorkerID, taskB.LeaseUntil, want)
	}
	if placeC, _ := line(t, store, c.ID, "w3"); placeC != (sesame.LinePlace{Behind: a.ID, Position: 2}) {
		t.Fatalf("third task: place %+v, want behind the first at 2", placeC)
	}
	// Woken with nothing changed, a waiting task goes back to waiting at once: nothing to tell.
	if _, err := store.Claim(ctx, b.ID, "w4", time.Minute); err != nil {
		t.Fatal(err)
	}
	if task, place, err := store.Line(ctx, b.ID, "w4", sesame.LinePlace{}); err != nil || task.WorkerID != "" || place.Position != 1 {
		t.Fatalf("Line(woken, unchanged) = worker %q, %+v, %v; want back to waiting at 1", task.WorkerID, place, err)
	}
	if _, _, err := store.Line(ctx, b.ID, "w4", sesame.LinePlace{}); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("Line without the lease = %v, want ECONFLICT", err)
	}
	if stale, err := store.StaleInLine(ctx, 10); err != nil || len(stale) != 0 {
		t.Errorf("StaleInLine = %v, %v; want none while nothing moved", stale, err)
	}

	// The waiting task's request is edited; the running one's cannot be.
	edit := lineRequest("b")
	edit.Instruction, edit.Agent, edit.Model, edit.Base = "fix it differently", "codex", "gpt-5", "develop"
	if got, err := store.EditQueued(ctx, "key:b", edit); err != nil || got.Instruction != "fix it differently" || got.Agent != "codex" || got.Base != "develop" {
		t.Fatalf("EditQueued(waiting) = %+v, %v", got, err)
	}
	if _, err := store.EditQueued(ctx, "key:a", edit); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("EditQueued(holding the turn) = %v, want ECONFLICT", err)
	}
	if _, err := store.EditQueued(ctx, "key:nope", edit); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("EditQueued(unknown) = %v, want ENOTFOUND", err)
	}

	// The first ends: the tasks told they wait are returned to be woken, and are stale.
	if _, err := store.SetStatus(ctx, a.ID, sesame.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if woken, err := store.Leave(ctx, a.ID); err != nil || !slices.Equal(woken, []string{b.ID, c.ID}) {
		t.Fatalf("Leave(first) = %v, %v; want the two waiting", woken, err)
	}
	if stale, err := store.StaleInLine(ctx, 10); err != nil || !slices.Equal(stale, []string{b.ID, c.ID}) {
		t.Fatalf("StaleInLine = %v, %v; want the two waiting", stale, err)
	}
	if now, told, err := store.Place(ctx, c.ID); err != nil || now != (sesame.LinePlace{Behind: b.ID, Position: 1}) ||
		told != (sesame.LinePlace{Behind: a.ID, Position: 2}) {
		t.Fatalf("Place(third) = now %+v, told %+v, %v", now, told, err)
	}
	placeB, taskB = line(t, store, b.ID, "w5")
	if placeB.Waiting() || taskB.Instruction != "fix it differently" || taskB.Model != "gpt-5" {
		t.Fatalf("second task after the first: %+v, %q %q; want its turn, edited", placeB, taskB.Instruction, taskB.Model)
	}
	if _, told, _ := store.Place(ctx, b.ID); told.Waiting() {
		t.Errorf("the task that took its turn is still told it waits: %+v", told)
	}
	if placeC, _ := line(t, store, c.ID, "w6"); placeC != (sesame.LinePlace{Behind: b.ID, Position: 1}) {
		t.Fatalf("third task: %+v, want behind the second at 1", placeC)
	}

	// The waiting third is cancelled (its comment deleted): it is stale until it leaves the line.
	task, stopped, err := store.CancelQueued(ctx, "key:c", "alice", "The request's comment was deleted.")
	if err != nil || task.Status != sesame.StatusStopped || task.Reason != "The request's comment was deleted." ||
		task.StopRequestedBy != "alice" || stopped == nil || stopped.Message != "stopped" {
		t.Fatalf("CancelQueued = %+v, %+v, %v", task, stopped, err)
	}
	if _, err := store.SetStatus(ctx, b.ID, sesame.StatusPreparing, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.CancelQueued(ctx, "key:b", "alice", "gone"); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("CancelQueued(started) = %v, want ECONFLICT", err)
	}
	if _, err := store.EditQueued(ctx, "key:c", edit); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("EditQueued(stopped) = %v, want ECONFLICT", err)
	}
	if stale, err := store.StaleInLine(ctx, 10); err != nil || !slices.Equal(stale, []string{c.ID}) {
		t.Fatalf("StaleInLine = %v, %v; want the stopped one", stale, err)
	}
	if _, err := store.Leave(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if stale, err := store.StaleInLine(ctx, 10); err != nil || len(stale) != 0 {
		t.Errorf("StaleInLine = %v, %v; want none", stale, err)
	}
}

// Many workers pick up the tasks of one thread at the same instant, and again whenever they like (as
// wake-ups and the reconciler would): never do two run at once, and they run in creation order.
func TestLineOneAtATimeInOrder(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	const n = 8
	var ids []string
	for i := range n {
		ids = append(ids, mustCreateTask(t, store, lineRequest(fmt.Sprintf("race-%d", i))).ID)
	}
	// Another thread's task runs alongside, whatever happens in this one.
	other := lineRequest("race-other")
	other.IssueNumber = 4
	otherTask := mustCreateTask(t, store, other)
	if place, _ := line(t, store, otherTask.ID, "other"); place.Waiting() {
		t.Fatalf("another thread's task waits at %+v", place)
	}

	var running atomic.Int32
	var mu sync.Mutex
	var order []string
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 * n { // three workers per task, all at once
		id := ids[i%n]
		worker := fmt.Sprintf("w%d", i)
		wg.Go(func() {
			<-start
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				task, done := pickUp(t, store, id, worker)
				if done {
					return
				}
				if task == nil { // waiting, or another worker has it: look again later
					time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
					continue
				}
				if now := running.Add(1); now != 1 {
					t.Errorf("%d tasks of one thread running at once", now)
				}
				mu.Lock()
				order = append(order, id)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
				if _, err := store.SetStatus(ctx, id, sesame.StatusCompleted, ""); err != nil {
					t.Errorf("end %s: %v", id, err)
				}
				if _, err := store.Leave(ctx, id); err != nil {
					t.Errorf("Leave(%s): %v", id, err)
				}
				return
			}
			t.Errorf("task %s never ran", id)
		})
	}
	close(start)
	wg.Wait()
	if diff := cmp.Diff(ids, order); diff != "" {
		t.Errorf("run order (-creation +run):\n%s", diff)
	}
}

// pickUp is one worker's attempt at the task: the task when this worker may run it now, done when it
// has ended, neither when it waits or another worker holds it.
func pickUp(t *testing.T, store *postgres.TaskStore, id, worker string) (task *sesame.Task, done bool) {
	ctx := context.Background()
	claimed, err := store.Claim(ctx, id, worker, time.Minute)
	switch {
	case sesame.ErrorCode(err) == sesame.ECONFLICT && claimed != nil && claimed.Status.Final():
		return nil, true
	case sesame.ErrorCode(err) == sesame.ECONFLICT:
		return nil, false
	case err != nil:
		t.Errorf("Claim: %v", err)
		return nil, true
	}
	var told sesame.LinePlace
	for {
		task, place, err := store.Line(ctx, id, worker, told)
		switch {
		case sesame.ErrorCode(err) == sesame.ECONFLICT:
			return nil, false
		case err != nil:
			t.Errorf("Line: %v", err)
			return nil, true
		case !place.Waiting():
			return task, false
		case task.WorkerID == "":
			return nil, false
		}
		told = place
	}
}

// A task whose insert committed late, with a creation time before the task that took the thread's
// turn meanwhile, waits behind that one rather than running beside it.
func TestLineLateTaskWaitsForHolder(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)
	holder := mustCreateTask(t, store, lineRequest("holder"))
	if place, _ := line(t, store, holder.ID, "w1"); place.Waiting() {
		t.Fatalf("first task waits at %+v", place)
	}
	late := mustCreateTask(t, store, lineRequest("late"))
	if _, err := db.Pool.Exec(ctx, `UPDATE tasks SET created_at = created_at - interval '1 hour' WHERE id = $1`, late.ID); err != nil {
		t.Fatal(err)
	}
	if place, _ := line(t, store, late.ID, "w2"); place != (sesame.LinePlace{Behind: holder.ID, Position: 1}) {
		t.Fatalf("late task: %+v, want behind the holder at 1", place)
	}
	// Once the holder ends, the late task is first in line, before a task asked for after it.
	after := mustCreateTask(t, store, lineRequest("after"))
	if _, err := store.SetStatus(ctx, holder.ID, sesame.StatusFailed, "broke"); err != nil {
		t.Fatal(err)
	}
	if place, _ := line(t, store, after.ID, "w3"); place != (sesame.LinePlace{Behind: late.ID, Position: 1}) {
		t.Fatalf("later task: %+v, want behind the late one", place)
	}
	if place, _ := line(t, store, late.ID, "w4"); place.Waiting() {
		t.Fatalf("late task after the holder ended: %+v, want its turn", place)
	}
}
