package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/internal/redistest"
)

// Pub/sub channels are shared by every database of a Redis server, so each test names its tasks
// after itself and the time.
func taskID(t testing.TB, name string) string {
	return fmt.Sprintf("%s-%s-%d", t.Name(), name, time.Now().UnixNano())
}

// newHub starts a hub whose connections carry a name of their own, so a test can find them in
// CLIENT LIST, and a client to publish with.
func newHub(t testing.TB) (*events.Hub, *redis.Client, string) {
	t.Helper()
	opts := redistest.New(t).Options()
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	name := fmt.Sprintf("hubtest-%d", time.Now().UnixNano())
	hubOpts := *opts
	hubOpts.ClientName = name
	hubRDB := redis.NewClient(&hubOpts)
	h := events.NewHub(hubRDB, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close hub: %v", err)
		}
		hubRDB.Close()
	})
	return h, rdb, name
}

func mustSubscribe(t testing.TB, h *events.Hub, taskID string) *events.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.Subscribe(ctx, taskID)
	if err != nil {
		t.Fatalf("subscribe to %s: %v", taskID, err)
	}
	return s
}

func mustPublish(t testing.TB, rdb *redis.Client, e sesame.TaskEvent) {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(context.Background(), events.Channel(e.TaskID), b).Err(); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// receive returns the next n events of s, failing the test when they do not come.
func receive(t testing.TB, s *events.Subscription, n int) []sesame.TaskEvent {
	t.Helper()
	var got []sesame.TaskEvent
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case e, ok := <-s.C:
			if !ok {
				t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, s.Err())
			}
			got = append(got, *e)
		case <-timeout:
			t.Fatalf("received %d of %d events", len(got), n)
		}
	}
	return got
}

// ended drains s until C is closed and returns what it held and why it ended.
func ended(t testing.TB, s *events.Subscription) ([]sesame.TaskEvent, error) {
	t.Helper()
	var got []sesame.TaskEvent
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-s.C:
			if !ok {
				return got, s.Err()
			}
			got = append(got, *e)
		case <-timeout:
			t.Fatalf("subscription still open after %d events", len(got))
		}
	}
}

func numSub(t testing.TB, rdb *redis.Client, taskID string) int64 {
	t.Helper()
	n, err := rdb.PubSubNumSub(context.Background(), events.Channel(taskID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n[events.Channel(taskID)]
}

// waitNumSub polls PUBSUB NUMSUB until the channel has want subscribers.
func waitNumSub(t testing.TB, rdb *redis.Client, taskID string, want int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := numSub(t, rdb, taskID)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUBSUB NUMSUB %s = %d, want %d", events.Channel(taskID), n, want)
		}
	}
}

// hubConns returns the ids of the pub/sub connections named name.
func hubConns(t testing.TB, rdb *redis.Client, name string) []string {
	t.Helper()
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for line := range strings.Lines(list) {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name && strings.Contains(fields["flags"], "P") {
			ids = append(ids, fields["id"])
		}
	}
	return ids
}

func agentEvents(taskID string, from int64) []sesame.TaskEvent {
	var es []sesame.TaskEvent
	for id := from; id < from+3; id++ {
		es = append(es, sesame.TaskEvent{ID: id, TaskID: taskID, Type: "agent", Message: fmt.Sprint("step ", id),
			Data: map[string]any{"n": float64(id)}, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	}
	return es
}

func TestHubFansOutOneSubscriptionPerTask(t *testing.T) {
	h, rdb, name := newHub(t)
	a, b := taskID(t, "a"), taskID(t, "b")
	v1, v2 := mustSubscribe(t, h, a), mustSubscribe(t, h, a)
	other := mustSubscribe(t, h, b)

	if n := numSub(t, rdb, a); n != 1 {
		t.Errorf("PUBSUB NUMSUB with two local viewers = %d, want 1", n)
	}
	if conns := hubConns(t, rdb, name); len(conns) != 1 {
		t.Errorf("hub holds %d pub/sub connections, want 1", len(conns))
	}

	want := agentEvents(a, 1)
	for _, e := range want {
		mustPublish(t, rdb, e)
	}
	for i, v := range []*events.Subscription{v1, v2} {
		if diff := cmp.Diff(want, receive(t, v, len(want))); diff != "" {
			t.Errorf("viewer %d (-want +got):\n%s", i+1, diff)
		}
	}

	mustPublish(t, rdb, sesame.TaskEvent{ID: 99, TaskID: b, Type: "status"})
	if got := receive(t, other, 1); got[0].ID != 99 {
		t.Errorf("viewer of another task got %+v first, want only its own event 99", got)
	}

	v1.Close()
	v1.Close()
	if n := numSub(t, rdb, a); n != 1 {
		t.Errorf("PUBSUB NUMSUB with one viewer left = %d, want 1", n)
	}
	v2.Close()
	waitNumSub(t, rdb, a, 0)
	for _, v := range []*events.Subscription{v1, v2} {
		if _, err := ended(t, v); err != nil {
			t.Errorf("Err after Close = %v, want nil", err)
		}
	}
	if n := numSub(t, rdb, b); n != 1 {
		t.Errorf("PUBSUB NUMSUB of the other task = %d, want 1", n)
	}
}

func TestHubDropsSlowViewer(t *testing.T) {
	h, rdb, _ := newHub(t)
	task := taskID(t, "a")
	slow, fast := mustSubscribe(t, h, task), mustSubscribe(t, h, task)
	n := events.SubscriptionBuffer + 100

	fastGot := make(chan []sesame.TaskEvent)
	go func() {
		var got []sesame.TaskEvent
		for e := range fast.C {
			got = append(got, *e)
			if len(got) == n {
				break
			}
		}
		fastGot <- got
	}()
	for id := range n {
		mustPublish(t, rdb, sesame.TaskEvent{ID: int64(id + 1), TaskID: task, Type: "log"})
	}

	got := <-fastGot
	if len(got) != n || got[n-1].ID != int64(n) {
		t.Fatalf("fast viewer got %d events, want %d", len(got), n)
	}
	slowGot, err := ended(t, slow)
	if !errors.Is(err, events.ErrLagged) {
		t.Errorf("slow viewer ended with %v, want ErrLagged", err)
	}
	if len(slowGot) != events.SubscriptionBuffer {
		t.Errorf("slow viewer kept %d events, want its buffer of %d", len(slowGot), events.SubscriptionBuffer)
	}
	for i, e := range slowGot {
		if e.ID != int64(i+1) {
			t.Fatalf("slow viewer's event %d has id %d, want the first events in order", i, e.ID)
		}
	}
	if fast.Err() != nil {
		t.Errorf("fast viewer Err = %v, want nil while open", fast.Err())
	}
}

func TestHubSkipsMalformedMessages(t *testing.T) {
	h, rdb, _ := newHub(t)
	task := taskID(t, "a")
	v := mustSubscribe(t, h, task)
	ctx := context.Background()

	for _, payload := range []string{"not json", `{"id": "one"}`, `{"id": 1, "task_id": "another"}`} {
		if err := rdb.Publish(ctx, events.Channel(task), payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	mustPublish(t, rdb, sesame.TaskEvent{ID: 2, TaskID: task, Type: "log"})
	if got := receive(t, v, 1); got[0].ID != 2 {
		t.Errorf("first event delivered = %+v, want id 2", got[0])
	}
}

func TestHubClose(t *testing.T) {
	h, _, _ := newHub(t)
	task := taskID(t, "a")
	v := mustSubscribe(t, h, task)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ended(t, v); !errors.Is(err, events.ErrClosed) {
		t.Errorf("subscription ended with %v, want ErrClosed", err)
	}
	v.Close()
	if _, err := h.Subscribe(context.Background(), task); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

func TestHubSubscribeWaitsForRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // nothing listens
	defer rdb.Close()
	h := events.NewHub(rdb, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := h.Subscribe(ctx, "1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Subscribe without Redis: %v, want the context's error", err)
	}

	done := make(chan error)
	go func() {
		_, err := h.Subscribe(context.Background(), "2")
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	h.Close()
	if err := <-done; !errors.Is(err, events.ErrClosed) {
		t.Errorf("Subscribe waiting when the hub closed: %v, want ErrClosed", err)
	}
}

func TestHubResyncsAfterConnectionLoss(t *testing.T) {
	h, rdb, name := newHub(t)
	ctx := context.Background()
	a, b := taskID(t, "a"), taskID(t, "b")
	subs := []*events.Subscription{mustSubscribe(t, h, a), mustSubscribe(t, h, a), mustSubscribe(t, h, b)}

	conns := hubConns(t, rdb, name)
	if len(conns) != 1 {
		t.Fatalf("hub pub/sub connections: %v, want one", conns)
	}
	// CLIENT KILL TYPE pubsub, narrowed to this hub's connection: other packages' tests share Redis.
	if err := rdb.Do(ctx, "client", "kill", "id", conns[0]).Err(); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		if _, err := ended(t, s); !errors.Is(err, events.ErrResync) {
			t.Errorf("subscription %d ended with %v, want ErrResync", i, err)
		}
	}

	v := mustSubscribe(t, h, a)
	mustPublish(t, rdb, sesame.TaskEvent{ID: 7, TaskID: a, Type: "log"})
	if got := receive(t, v, 1); got[0].ID != 7 {
		t.Errorf("after resync got %+v, want event 7", got[0])
	}
	waitNumSub(t, rdb, b, 0)
	if n := numSub(t, rdb, a); n != 1 {
		t.Errorf("PUBSUB NUMSUB after resync = %d, want 1", n)
	}
}

// A Subscribe racing the last Close of the same task must end up subscribed.
func TestHubSubscribeRacingLastClose(t *testing.T) {
	h, rdb, _ := newHub(t)
	task := taskID(t, "a")
	for i := range 100 {
		first := mustSubscribe(t, h, task)
		go first.Close()
		second := mustSubscribe(t, h, task)
		mustPublish(t, rdb, sesame.TaskEvent{ID: int64(i), TaskID: task, Type: "log"})
		if got := receive(t, second, 1); got[0].ID != int64(i) {
			t.Fatalf("round %d: got %+v", i, got[0])
		}
		second.Close()
	}
	waitNumSub(t, rdb, task, 0)
}

func TestHubConcurrentSubscribers(t *testing.T) {
	h, rdb, _ := newHub(t)
	tasks := []string{taskID(t, "a"), taskID(t, "b"), taskID(t, "c"), taskID(t, "d")}
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			b, _ := json.Marshal(sesame.TaskEvent{ID: int64(i), TaskID: tasks[i%len(tasks)], Type: "log"})
			if err := rdb.Publish(context.Background(), events.Channel(tasks[i%len(tasks)]), b).Err(); err != nil {
				t.Error(err)
				return
			}
		}
	})

	var viewers sync.WaitGroup
	for g := range 32 {
		viewers.Go(func() {
			for i := range 30 {
				task := tasks[(g+i)%len(tasks)]
				s, err := h.Subscribe(context.Background(), task)
				if err != nil {
					t.Error(err)
					return
				}
				for range i % 4 {
					if e, ok := <-s.C; ok && e.TaskID != task {
						t.Errorf("viewer of %s got an event of %s", task, e.TaskID)
					}
				}
				s.Close()
			}
		})
	}
	viewers.Wait()
	close(stop)
	pub.Wait()

	for _, task := range tasks {
		waitNumSub(t, rdb, task, 0)
	}
	v := mustSubscribe(t, h, tasks[0])
	mustPublish(t, rdb, sesame.TaskEvent{ID: -1, TaskID: tasks[0], Type: "log"})
	if got := receive(t, v, 1); got[0].ID != -1 {
		t.Errorf("after the churn got %+v, want event -1", got[0])
	}
}
