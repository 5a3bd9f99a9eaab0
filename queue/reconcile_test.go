package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/queue"
)

type reconcileEnv struct {
	store *postgres.TaskStore
	rdb   *redis.Client
	rec   *queue.Reconciler
}

func newReconcileEnv(t *testing.T) *reconcileEnv {
	t.Helper()
	store := postgres.NewTaskStore(pgtest.Open(t))
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	logger := slog.New(slog.DiscardHandler)
	sub := &queue.Submitter{Store: store, Client: asynq.NewClientFromRedisClient(rdb), Logger: logger}
	return &reconcileEnv{store: store, rdb: rdb, rec: &queue.Reconciler{Submitter: sub, Grace: time.Nanosecond, Logger: logger}}
}

func (e *reconcileEnv) submit(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		task, _, err := e.rec.Submitter.Submit(context.Background(), sesame.Request{Source: sesame.SourceWeb,
			DeliveryID: fmt.Sprintf("%s-%d", t.Name(), i), Kind: sesame.KindRun, Repo: "octo/hello", Instruction: "fix it"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	return ids
}

// work runs a real worker on e's Redis until the test ends and returns what it ran: job id → task id.
func (e *reconcileEnv) work(t *testing.T) func() map[string]string {
	t.Helper()
	var mu sync.Mutex
	ran := map[string]string{}
	srv := queue.NewServer(e.rdb, 2, 20*time.Millisecond, slog.New(slog.DiscardHandler))
	mux := asynq.NewServeMux()
	mux.HandleFunc(queue.TypeTaskRun, func(ctx context.Context, job *asynq.Task) error {
		var p queue.TaskRunPayload
		if err := json.Unmarshal(job.Payload(), &p); err != nil {
			return err
		}
		id, _ := asynq.GetTaskID(ctx)
		mu.Lock()
		defer mu.Unlock()
		if _, twice := ran[id]; twice {
			t.Errorf("job %s ran twice", id)
		}
		ran[id] = p.TaskID
		return nil
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(ran)
	}
}

func waitRan(t *testing.T, ran func() map[string]string, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(ran()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("ran %v, want %d jobs", ran(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // and no more
	return ran()
}

// Redis restarted empty after the reconciler had confirmed the queued tasks' jobs: the next
// reconcile enqueues every one of them again, and a worker runs each once; a reconcile while the
// jobs are there changes nothing.
func TestReconcilerEnqueuesJobsRedisLost(t *testing.T) {
	e := newReconcileEnv(t)
	ctx := context.Background()
	ids := e.submit(t, 5)
	if n, err := e.rec.Once(ctx); err != nil || n != 5 {
		t.Fatalf("first reconcile confirmed %d, %v; want 5", n, err)
	}
	if n, err := e.rec.Lost(ctx); err != nil || n != 0 {
		t.Fatalf("Lost with every job there = %d, %v; want 0", n, err)
	}
	if err := e.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := e.rec.Once(ctx); err != nil || n != 5 {
		t.Fatalf("reconcile after the flush enqueued %d, %v; want 5", n, err)
	}
	if n, err := e.rec.Once(ctx); err != nil || n != 0 {
		t.Fatalf("a third reconcile enqueued %d, %v; want 0 (every job is there)", n, err)
	}
	ran := waitRan(t, e.work(t), 5)
	for _, id := range ids {
		if ran[id] != id {
			t.Errorf("task %s did not run: ran %v", id, ran)
		}
	}
}

// A task whose worker stopped renewing its lease gets one resume job, whatever the number of
// reconcilers that notice; a task with a live lease gets none.
func TestReconcilerResumesOrphans(t *testing.T) {
	e := newReconcileEnv(t)
	ctx := context.Background()
	ids := e.submit(t, 2)
	if _, err := e.rec.Once(ctx); err != nil {
		t.Fatal(err)
	}
	e.rdb.FlushDB(ctx) // the first jobs are out of the way: what follows is the resume jobs alone
	for i, id := range ids {
		lease := time.Millisecond // dies
		if i == 1 {
			lease = time.Minute // lives
		}
		if _, err := e.store.Claim(ctx, id, "worker-1", lease); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.SetStatus(ctx, id, sesame.StatusRunning, ""); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	for range 3 {
		if _, err := e.rec.Orphans(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ran := waitRan(t, e.work(t), 1)
	if len(ran) != 1 || ran[ids[0]+":resume:1"] != ids[0] {
		t.Fatalf("ran %v, want the orphan's one resume job %s:resume:1", ran, ids[0])
	}
}
