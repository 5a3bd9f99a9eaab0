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
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/queue"
)

// The submitter groups tasks only for a store that can take them together: PostgreSQL's can.
var _ queue.BatchStore = (*postgres.TaskStore)(nil)

// recordingStore is the real task store, remembering the size of every batch it was given.
type recordingStore struct {
	*postgres.TaskStore
	mu      sync.Mutex
	batches []int
}

func (s *recordingStore) CreateTasks(ctx context.Context, rs []sesame.Request) ([]*sesame.Task, []bool, []error) {
	s.mu.Lock()
	s.batches = append(s.batches, len(rs))
	s.mu.Unlock()
	return s.TaskStore.CreateTasks(ctx, rs)
}

// Concurrent Submits are stored in shared batches, and each still gets its own answer: its own new
// task, or the task its comment already made, with one job per task on the queue.
func TestSubmitGroupsConcurrentRequests(t *testing.T) {
	db := pgtest.Open(t)
	store := &recordingStore{TaskStore: postgres.NewTaskStore(db)}
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	sub := &queue.Submitter{Store: store, Client: asynq.NewClientFromRedisClient(rdb), Logger: slog.New(slog.DiscardHandler)}

	const n, comments = 300, 100 // every comment arrives three times, under three delivery ids
	type answer struct {
		task    *sesame.Task
		created bool
		err     error
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r := sesame.Request{Source: sesame.SourceGitHub, DeliveryID: fmt.Sprintf("d-%d", i), Kind: sesame.KindRun,
				Repo: "octo/hello", InstallationID: 7, CommentID: int64(i % comments), Instruction: fmt.Sprintf("fix %d", i%comments),
				RequestKey: fmt.Sprintf("github:comment:7:%d:created", i%comments)}
			task, created, err := sub.Submit(context.Background(), r)
			answers[i] = answer{task, created, err}
		})
	}
	close(start)
	wg.Wait()

	byComment := map[int64]string{}
	createdOnce := map[int64]int{}
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("Submit %d: %v", i, a.err)
		}
		c := int64(i % comments)
		if a.task.CommentID != c || a.task.Instruction != fmt.Sprintf("fix %d", c) {
			t.Fatalf("Submit %d (comment %d) answered with the task of comment %d", i, c, a.task.CommentID)
		}
		if id, ok := byComment[c]; ok && id != a.task.ID {
			t.Fatalf("comment %d answered with tasks %s and %s", c, id, a.task.ID)
		}
		byComment[c] = a.task.ID
		if a.created {
			createdOnce[c]++
		}
	}
	for c := range int64(comments) {
		if createdOnce[c] != 1 {
			t.Errorf("comment %d: created %d times, want once", c, createdOnce[c])
		}
	}
	var rows int
	db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM tasks").Scan(&rows)
	if rows != comments {
		t.Errorf("%d tasks stored, want %d", rows, comments)
	}
	pending, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks("default", asynq.PageSize(1000))
	if err != nil || len(pending) != comments {
		t.Errorf("%d jobs pending (%v), want %d", len(pending), err, comments)
	}

	store.mu.Lock()
	defer store.mu.Unlock()
	total, largest := 0, 0
	for _, b := range store.batches {
		total += b
		largest = max(largest, b)
	}
	t.Logf("%d Submits stored in %d writes, the largest of %d", n, len(store.batches), largest)
	if total != n || len(store.batches) >= n {
		t.Errorf("%d Submits went to the store as %d requests in %d writes; want each once, in fewer writes", n, total, len(store.batches))
	}
}

// A request that is gone before its turn stores nothing.
func TestSubmitOfAGoneRequestStoresNothing(t *testing.T) {
	db := pgtest.Open(t)
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	sub := &queue.Submitter{Store: postgres.NewTaskStore(db), Client: asynq.NewClientFromRedisClient(rdb), Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := sub.Submit(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: "gone", Kind: sesame.KindRun}); err == nil {
		t.Fatal("Submit of a cancelled request succeeded")
	}
	var rows int
	db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM tasks").Scan(&rows)
	if rows != 0 {
		t.Fatalf("%d tasks stored for a cancelled request, want none", rows)
	}
	// The submitter still works afterwards: the cancelled request gave its writer's place back.
	for i := range 5 {
		if _, created, err := sub.Submit(context.Background(), sesame.Request{Source: sesame.SourceWeb,
			DeliveryID: fmt.Sprintf("after-%d", i), Kind: sesame.KindRun}); err != nil || !created {
			t.Fatalf("Submit after the cancelled one = created %v, %v", created, err)
		}
	}
}

// Requests that go away while others wait and write for them never leave anyone waiting: every
// Submit returns, each either with its task stored or with its context's error.
func TestSubmitSurvivesRequestsGoingAway(t *testing.T) {
	db := pgtest.Open(t)
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	store := postgres.NewTaskStore(db)
	sub := &queue.Submitter{Store: store, Client: asynq.NewClientFromRedisClient(rdb), Logger: slog.New(slog.DiscardHandler)}

	const n = 400
	errs := make([]error, n)
	tasks := make([]*sesame.Task, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%2 == 1 {
				go func() {
					time.Sleep(time.Duration(i%7) * 200 * time.Microsecond)
					cancel()
				}()
			}
			tasks[i], _, errs[i] = sub.Submit(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: fmt.Sprintf("away-%d", i), Kind: sesame.KindRun})
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Submits still waiting after 30 s")
	}

	stored, gone := 0, 0
	for i := range n {
		switch {
		case errs[i] == nil:
			stored++
			if _, err := store.Task(context.Background(), tasks[i].ID); err != nil {
				t.Errorf("Submit %d answered task %s, which is not stored: %v", i, tasks[i].ID, err)
			}
		case errors.Is(errs[i], context.Canceled) && i%2 == 1:
			gone++
		default:
			t.Errorf("Submit %d: %v", i, errs[i])
		}
	}
	var rows int
	db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM tasks").Scan(&rows)
	// A request that went away once its batch was being written may still be stored: never fewer.
	if rows < stored || rows > n {
		t.Errorf("%d tasks stored for %d successful Submits of %d", rows, stored, n)
	}
	t.Logf("%d Submits: %d stored, %d gone before their write, %d rows", n, stored, gone, rows)
	if _, created, err := sub.Submit(context.Background(), sesame.Request{Source: sesame.SourceWeb, DeliveryID: "after", Kind: sesame.KindRun}); err != nil || !created {
		t.Fatalf("Submit afterwards = created %v, %v", created, err)
	}
}
