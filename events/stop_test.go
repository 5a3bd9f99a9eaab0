package events_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
)

func TestRecorderRequestStop(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(pgtest.Open(t))
	rdb := redis.NewClient(redistest.New(t).Options())
	defer rdb.Close()
	rec := &events.Recorder{Store: store, Redis: rdb, Masker: mask.New(), Logger: slog.New(slog.DiscardHandler)}

	for _, tt := range []struct {
		name       string
		before     []sesame.TaskStatus
		wantStatus sesame.TaskStatus
		wantEvent  bool // a status event is published on the task's channel
	}{
		{name: "queued is stopped at once", wantStatus: sesame.StatusStopped, wantEvent: true},
		{name: "running is left to its worker", before: []sesame.TaskStatus{sesame.StatusRunning}, wantStatus: sesame.StatusRunning},
	} {
		t.Run(tt.name, func(t *testing.T) {
			task, _, err := store.CreateTask(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: tt.name, Kind: sesame.KindRun, Repo: "a/b"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.before {
				if err := rec.SetStatus(ctx, task.ID, s, ""); err != nil {
					t.Fatal(err)
				}
			}
			sub := rdb.Subscribe(ctx, events.Channel(task.ID), events.StopChannel)
			defer sub.Close()
			for range 2 { // both subscriptions confirmed
				if _, err := sub.Receive(ctx); err != nil {
					t.Fatal(err)
				}
			}

			got, err := rec.RequestStop(ctx, task.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus || got.StopRequestedBy != "alice" {
				t.Errorf("task = %s, stop requested by %q; want %s, by alice", got.Status, got.StopRequestedBy, tt.wantStatus)
			}

			// The status event, if any, is published before the stop request, on the same connection,
			// so everything has arrived once the stop request has.
			published := map[string][]string{}
			for len(published[events.StopChannel]) == 0 {
				msg, err := sub.ReceiveTimeout(ctx, 5*time.Second)
				if err != nil {
					t.Fatalf("published so far %v: %v", published, err)
				}
				m := msg.(*redis.Message)
				published[m.Channel] = append(published[m.Channel], m.Payload)
			}
			if diff := cmp.Diff([]string{task.ID}, published[events.StopChannel]); diff != "" {
				t.Errorf("stop channel (-want +got):\n%s", diff)
			}
			onTask := published[events.Channel(task.ID)]
			if !tt.wantEvent {
				if len(onTask) != 0 {
					t.Errorf("published on the task's channel: %v, want nothing", onTask)
				}
				return
			}
			if len(onTask) != 1 {
				t.Fatalf("published on the task's channel: %v, want one status event", onTask)
			}
			var e sesame.TaskEvent
			if err := json.Unmarshal([]byte(onTask[0]), &e); err != nil {
				t.Fatal(err)
			}
			stored, _ := store.Events(ctx, task.ID)
			if diff := cmp.Diff(stored[len(stored)-1], e, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
				t.Errorf("published event differs from the stored one (-stored +published):\n%s", diff)
			}
			want := map[string]any{"status": "stopped", "reason": "Stopped by alice before it started."}
			if e.Type != "status" || e.Message != "stopped" || !cmp.Equal(want, e.Data) {
				t.Errorf("published event = %+v, want the stopped status with its reason", e)
			}
		})
	}
}
