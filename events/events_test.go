package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
)

func TestRecorderMasksStoresAndPublishes(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	store := postgres.NewTaskStore(db)
	rdb := redis.NewClient(redistest.New(t).Options())
	defer rdb.Close()
	const secret = "ghs_supersecretinstallationtoken0001"
	rec := &events.Recorder{Store: store, Redis: rdb, Masker: mask.New(secret), Logger: slog.New(slog.DiscardHandler)}

	task, _, err := store.CreateTask(ctx, sesame.Request{Source: sesame.SourceGitHub, DeliveryID: "e1", Kind: sesame.KindRun, Repo: "a/b"})
	if err != nil {
		t.Fatal(err)
	}
	sub := rdb.Subscribe(ctx, events.Channel(task.ID))
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // subscription confirmed
		t.Fatal(err)
	}

	added, err := rec.Add(ctx, sesame.TaskEvent{TaskID: task.ID, Type: "agent", Message: "ran git push https://x:" + secret + "@h",
		Data: map[string]any{"output": []any{"token " + secret}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.SetStatus(ctx, task.ID, sesame.StatusFailed, "push failed with "+secret); err != nil {
		t.Fatal(err)
	}

	var got []sesame.TaskEvent
	for len(got) < 2 {
		msg, err := sub.ReceiveTimeout(ctx, 5*time.Second)
		if err != nil {
			t.Fatalf("published events: %v", err)
		}
		var e sesame.TaskEvent
		json.Unmarshal([]byte(msg.(*redis.Message).Payload), &e)
		got = append(got, e)
	}
	if got[0].ID != added.ID || got[0].Type != "agent" || got[1].Message != "failed" || got[1].ID <= got[0].ID {
		t.Errorf("published %+v, want the agent event then the status change, with increasing ids", got)
	}
	stored, _ := store.Events(ctx, task.ID)
	all, _ := json.Marshal(stored)
	pub, _ := json.Marshal(got)
	reloaded, _ := store.Task(ctx, task.ID)
	for what, text := range map[string]string{"stored": string(all), "published": string(pub), "reason": reloaded.Reason} {
		if strings.Contains(text, secret) {
			t.Errorf("%s events hold the secret: %s", what, text)
		}
		if !strings.Contains(text, mask.Replacement) {
			t.Errorf("%s events show no mask: %s", what, text)
		}
	}
}

// TestConcurrentEventsArePublishedInIDOrder: viewers resume by id, so one task's events must reach
// Redis in the order of their ids even when several goroutines record them at once.
func TestConcurrentEventsArePublishedInIDOrder(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	store := postgres.NewTaskStore(db)
	rdb := redis.NewClient(redistest.New(t).Options())
	defer rdb.Close()
	rec := &events.Recorder{Store: store, Redis: rdb, Masker: mask.New(), Logger: slog.New(slog.DiscardHandler)}
	task, _, err := store.CreateTask(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: "order", Kind: sesame.KindRun, Repo: "a/b"})
	if err != nil {
		t.Fatal(err)
	}
	sub := rdb.Subscribe(ctx, events.Channel(task.ID))
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := rec.Add(ctx, sesame.TaskEvent{TaskID: task.ID, Type: "agent", Message: fmt.Sprintf("%d-%d", w, i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	ch := sub.Channel()
	var last int64
	for range writers * each {
		select {
		case msg := <-ch:
			var e sesame.TaskEvent
			if err := json.Unmarshal([]byte(msg.Payload), &e); err != nil {
				t.Fatal(err)
			}
			if e.ID <= last {
				t.Fatalf("event %d published after %d", e.ID, last)
			}
			last = e.ID
		case <-time.After(5 * time.Second):
			t.Fatal("events missing")
		}
	}
}
