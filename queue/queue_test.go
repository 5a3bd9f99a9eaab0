package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/queue"
)

// A real worker on real Redis runs each job once; a permanent error reaches giveUp, a passing job does not.
func TestWorkerRunsJobsAndGivesUpOnPermanentErrors(t *testing.T) {
	rdb := redis.NewClient(redistest.New(t).Options())
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	logger := slog.New(slog.DiscardHandler)

	var mu sync.Mutex
	ran := map[string]int{}
	gaveUp := map[string]error{}
	run := func(ctx context.Context, id string) error {
		mu.Lock()
		ran[id]++
		mu.Unlock()
		if id == "bad" {
			return fmt.Errorf("cannot work: %w", queue.ErrPermanent)
		}
		return nil
	}
	giveUp := func(ctx context.Context, id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		gaveUp[id] = err
	}
	srv := queue.NewServer(rdb, 2, 50*time.Millisecond, logger)
	mux := asynq.NewServeMux()
	mux.Handle(queue.TypeTaskRun, queue.HandleTaskRun(run, giveUp))
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	for _, id := range []string{"good", "bad", "good"} {
		job, err := queue.NewTaskRun(id, sesame.KindRun)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.Enqueue(job)
		if id == "good" && err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		done := ran["good"] >= 1 && gaveUp["bad"] != nil
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs did not run: ran %v, gave up %v", ran, gaveUp)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if ran["good"] != 1 || ran["bad"] != 1 {
		t.Errorf("runs = %v, want each job once (a repeated task id is one job)", ran)
	}
	if _, ok := gaveUp["good"]; ok {
		t.Errorf("gave up on a job that succeeded")
	}
}

func TestMalformedPayloadIsNotRetried(t *testing.T) {
	h := queue.HandleTaskRun(func(context.Context, string) error { t.Fatal("run called"); return nil }, nil)
	err := h.ProcessTask(context.Background(), asynq.NewTask(queue.TypeTaskRun, []byte("{")))
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want SkipRetry", err)
	}
}

// Every agent slot of a worker is taken by a run that does not end: a stop and a status, queued after
// them, still run at once, in the command slots; a further run waits for an agent slot.
func TestCommandsRunWhileEveryAgentSlotIsTaken(t *testing.T) {
	rdb := redis.NewClient(redistest.New(t).Options())
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	logger := slog.New(slog.DiscardHandler)
	release := make(chan struct{})
	started := make(chan string, 10)
	run := func(ctx context.Context, id string) error {
		started <- id
		if id[:3] == "run" {
			<-release
		}
		return nil
	}
	mux := asynq.NewServeMux()
	mux.Handle(queue.TypeTaskRun, queue.HandleTaskRun(run, nil))
	runs, commands := queue.NewServer(rdb, 2, 20*time.Millisecond, logger), queue.NewCommandServer(rdb, 20*time.Millisecond, logger)
	for _, srv := range []*asynq.Server{runs, commands} {
		if err := srv.Start(mux); err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown()
	}
	defer close(release)
	enqueue := func(id string, kind sesame.TaskKind) {
		job, err := queue.NewTaskRun(id, kind)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Enqueue(job); err != nil {
			t.Fatal(err)
		}
	}
	next := func() string {
		select {
		case id := <-started:
			return id
		case <-time.After(10 * time.Second):
			return ""
		}
	}
	enqueue("run-1", sesame.KindRun)
	enqueue("run-2", sesame.KindRun)
	got := map[string]bool{next(): true, next(): true}
	if !got["run-1"] || !got["run-2"] {
		t.Fatalf("started %v, want both runs", got)
	}
	enqueue("run-3", sesame.KindRun)
	enqueue("stop-1", sesame.KindStop)
	enqueue("status-1", sesame.KindStatus)
	got = map[string]bool{next(): true, next(): true}
	if !got["stop-1"] || !got["status-1"] {
		t.Fatalf("with every agent slot taken, started %v, want the stop and the status", got)
	}
	select {
	case id := <-started:
		t.Fatalf("%s started while both agent slots were taken", id)
	case <-time.After(300 * time.Millisecond):
	}
}
