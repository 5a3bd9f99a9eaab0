package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

func TestRequestStop(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))

	for _, tt := range []struct {
		name        string
		before      []sesame.TaskStatus // changes made before the stop request
		id          string              // "" = the task created for the case
		wantCode    string
		wantStatus  sesame.TaskStatus
		wantStopped bool // a status event is returned
	}{
		{name: "queued", wantStatus: sesame.StatusStopped, wantStopped: true},
		{name: "preparing", before: []sesame.TaskStatus{sesame.StatusPreparing}, wantStatus: sesame.StatusPreparing},
		{name: "running", before: []sesame.TaskStatus{sesame.StatusPreparing, sesame.StatusRunning}, wantStatus: sesame.StatusRunning},
		{name: "completed", before: []sesame.TaskStatus{sesame.StatusRunning, sesame.StatusCompleted}, wantCode: sesame.ECONFLICT},
		{name: "failed", before: []sesame.TaskStatus{sesame.StatusFailed}, wantCode: sesame.ECONFLICT},
		{name: "unknown", id: "018f0000-0000-7000-8000-000000000000", wantCode: sesame.ENOTFOUND},
		{name: "invalid id", id: "not-a-uuid", wantCode: sesame.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			task, _, err := store.CreateTask(ctx, request("stop-"+tt.name))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.before {
				if _, err := store.SetStatus(ctx, task.ID, s, ""); err != nil {
					t.Fatal(err)
				}
			}
			id := task.ID
			if tt.id != "" {
				id = tt.id
			}
			before, _ := store.Task(ctx, task.ID)

			got, stopped, err := store.RequestStop(ctx, id, "alice")
			if sesame.ErrorCode(err) != tt.wantCode {
				t.Fatalf("RequestStop = %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode == sesame.ECONFLICT && sesame.ErrorMessage(err) != "This task has already ended." {
				t.Errorf("conflict message = %q", sesame.ErrorMessage(err))
			}
			if err != nil {
				// Nothing changed.
				after, _ := store.Task(ctx, task.ID)
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("a refused stop changed the task (-before +after):\n%s", diff)
				}
				return
			}

			if got.Status != tt.wantStatus || got.StopRequestedBy != "alice" || got.StopRequestedAt.IsZero() {
				t.Errorf("task = %s, stop requested by %q at %v; want %s, by alice, at a time",
					got.Status, got.StopRequestedBy, got.StopRequestedAt, tt.wantStatus)
			}
			loaded, _ := store.Task(ctx, task.ID)
			if diff := cmp.Diff(loaded, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
				t.Errorf("returned task differs from the stored one (-stored +returned):\n%s", diff)
			}
			if ids, _ := store.StopRequested(ctx, []string{task.ID}); len(ids) != 1 {
				t.Errorf("StopRequested = %v, want the task", ids)
			}

			events, _ := store.Events(ctx, task.ID)
			last := events[len(events)-1]
			if !tt.wantStopped {
				if stopped != nil || last.Message == "stopped" {
					t.Errorf("stop of a started task: event %+v, last stored %+v; want none yet (the worker stops it)", stopped, last)
				}
				if !got.FinishedAt.IsZero() || got.Reason != "" {
					t.Errorf("started task finished at %v with reason %q, want neither yet", got.FinishedAt, got.Reason)
				}
				return
			}
			const reason = "Stopped by alice before it started."
			want := sesame.TaskEvent{TaskID: task.ID, Type: "status", Message: "stopped",
				Data: map[string]any{"status": "stopped", "reason": reason}}
			if stopped == nil {
				t.Fatal("RequestStop of a queued task returned no status event")
			}
			if diff := cmp.Diff(want, *stopped, cmpopts.IgnoreFields(sesame.TaskEvent{}, "ID", "CreatedAt")); diff != "" {
				t.Errorf("returned event (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(*stopped, last, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
				t.Errorf("last stored event differs from the returned one (-returned +stored):\n%s", diff)
			}
			if got.Reason != reason || got.FinishedAt.IsZero() || !got.StartedAt.IsZero() || got.Duration(time.Now()) != 0 {
				t.Errorf("stopped task: reason %q, started %v, finished %v; want the reason, never started, finished",
					got.Reason, got.StartedAt, got.FinishedAt)
			}
			if _, err := store.SetStatus(ctx, task.ID, sesame.StatusPreparing, ""); sesame.ErrorCode(err) != sesame.ECONFLICT {
				t.Errorf("SetStatus after a stop in the queue = %v, want conflict", err)
			}
		})
	}
}

func TestRequestStopTwiceKeepsTheFirst(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	task, _, _ := store.CreateTask(ctx, request("twice"))
	store.SetStatus(ctx, task.ID, sesame.StatusRunning, "")
	first, stopped, err := store.RequestStop(ctx, task.ID, "alice")
	if err != nil || stopped != nil {
		t.Fatalf("RequestStop = %v, %v", stopped, err)
	}
	second, stopped, err := store.RequestStop(ctx, task.ID, "bob")
	if err != nil || stopped != nil {
		t.Fatalf("second RequestStop = %v, %v", stopped, err)
	}
	if second.StopRequestedBy != "alice" || !second.StopRequestedAt.Equal(first.StopRequestedAt) {
		t.Errorf("after a second request: by %q at %v, want alice at %v", second.StopRequestedBy, second.StopRequestedAt, first.StopRequestedAt)
	}
	if _, _, err := store.RequestStop(ctx, task.ID, ""); sesame.ErrorCode(err) != sesame.EINVALID {
		t.Errorf("RequestStop by nobody = %v, want invalid", err)
	}
}

// A worker taking the task off the queue and a user stopping it, at the same moment: exactly one
// wins, and the task, its events and both answers agree on which.
func TestRequestStopRacesSetStatus(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	wins := map[string]int{}
	for i := range 30 {
		task, _, _ := store.CreateTask(ctx, request(fmt.Sprintf("race-%d", i)))
		var wg sync.WaitGroup
		var setErr, stopErr error
		var stopped *sesame.TaskEvent
		wg.Go(func() { _, setErr = store.SetStatus(ctx, task.ID, sesame.StatusPreparing, "") })
		wg.Go(func() { _, stopped, stopErr = store.RequestStop(ctx, task.ID, "alice") })
		wg.Wait()
		if stopErr != nil {
			t.Fatalf("RequestStop = %v", stopErr)
		}
		got, _ := store.Task(ctx, task.ID)
		events, _ := store.Events(ctx, task.ID)
		var statuses []string
		for _, e := range events {
			statuses = append(statuses, e.Message)
		}
		switch {
		case stopped != nil: // the stop came first
			wins["stop"]++
			if sesame.ErrorCode(setErr) != sesame.ECONFLICT || got.Status != sesame.StatusStopped ||
				!cmp.Equal(statuses, []string{"queued", "stopped"}) {
				t.Fatalf("stop won: SetStatus = %v, task %s, events %v", setErr, got.Status, statuses)
			}
		default: // the worker came first
			wins["worker"]++
			if setErr != nil || got.Status != sesame.StatusPreparing || got.StopRequestedAt.IsZero() ||
				!cmp.Equal(statuses, []string{"queued", "preparing"}) {
				t.Fatalf("worker won: SetStatus = %v, task %s, events %v", setErr, got.Status, statuses)
			}
		}
	}
	t.Logf("wins: %v", wins)
}

func TestStopRequested(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	a, _, _ := store.CreateTask(ctx, request("a"))
	b, _, _ := store.CreateTask(ctx, request("b"))
	c, _, _ := store.CreateTask(ctx, request("c"))
	store.SetStatus(ctx, b.ID, sesame.StatusRunning, "")
	store.SetStatus(ctx, c.ID, sesame.StatusRunning, "")
	store.RequestStop(ctx, a.ID, "alice") // queued: stopped at once
	store.RequestStop(ctx, c.ID, "alice")

	for _, tt := range []struct {
		name string
		ids  []string
		want []string
	}{
		{name: "none asked", ids: nil, want: nil},
		{name: "all", ids: []string{a.ID, b.ID, c.ID}, want: []string{a.ID, c.ID}},
		{name: "not requested", ids: []string{b.ID}, want: nil},
		{name: "with unknown and invalid ids", ids: []string{"bad", c.ID, "018f0000-0000-7000-8000-000000000000"}, want: []string{c.ID}},
		{name: "only invalid", ids: []string{"bad"}, want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.StopRequested(ctx, tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
				t.Errorf("StopRequested (-want +got):\n%s", diff)
			}
		})
	}
}
