package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// keyed is a request for the comment key under delivery.
func keyed(delivery, key string) sesame.Request {
	r := request(delivery)
	r.RequestKey = key
	return r
}

func countRows(t *testing.T, db *postgres.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateTaskDedupesOnRequestKey(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)

	first, created, err := store.CreateTask(ctx, keyed("d-1", "github:comment:7:99:created"))
	if err != nil || !created {
		t.Fatalf("CreateTask = created %v, err %v", created, err)
	}
	for _, tt := range []struct {
		name string
		r    sesame.Request
	}{
		{name: "same key, new delivery id (a replayed body)", r: keyed("d-2", "github:comment:7:99:created")},
		{name: "same delivery id, no key (GitHub's redelivery)", r: keyed("d-1", "")},
		{name: "same delivery id, other key", r: keyed("d-1", "github:comment:7:100:created")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, created, err := store.CreateTask(ctx, tt.r)
			if err != nil || created {
				t.Fatalf("CreateTask = created %v, err %v; want the stored task", created, err)
			}
			if got.ID != first.ID || got.DeliveryID != "d-1" || got.RequestKey != "github:comment:7:99:created" {
				t.Errorf("got task %s (delivery %q, key %q), want %s (d-1, its key)", got.ID, got.DeliveryID, got.RequestKey, first.ID)
			}
		})
	}
	if n := countRows(t, db, "SELECT count(*) FROM tasks"); n != 1 {
		t.Fatalf("%d tasks stored, want 1", n)
	}

	// Requests without a key are told apart by their delivery id alone.
	for _, d := range []string{"web-1", "web-2"} {
		if _, created, err := store.CreateTask(ctx, keyed(d, "")); err != nil || !created {
			t.Fatalf("CreateTask(%s, no key) = created %v, err %v; want a new task", d, created, err)
		}
	}
	// Another comment is another task.
	if _, created, err := store.CreateTask(ctx, keyed("d-3", "github:comment:7:100:created")); err != nil || !created {
		t.Fatalf("CreateTask(other comment) = created %v, err %v; want a new task", created, err)
	}
	if n := countRows(t, db, "SELECT count(*) FROM tasks"); n != 4 {
		t.Fatalf("%d tasks stored, want 4", n)
	}
	if n := countRows(t, db, "SELECT count(*) FROM task_events WHERE type = 'status' AND message = 'queued'"); n != 4 {
		t.Fatalf("%d queued events stored, want one per task (4)", n)
	}
}

func TestCreateTaskConcurrentReplaysMakeOneTask(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]int{}
	for i := range 8 {
		wg.Go(func() {
			task, created, err := store.CreateTask(ctx, keyed(fmt.Sprintf("replay-%d", i), "github:comment:7:99:created"))
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
		t.Fatalf("8 concurrent replays gave %v, want one task created once", ids)
	}
	if n := countRows(t, db, "SELECT count(*) FROM tasks"); n != 1 {
		t.Fatalf("%d task rows, want 1", n)
	}
}

func TestCreateTasksAnswersEachRequest(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := postgres.NewTaskStore(db)
	stored, _, err := store.CreateTask(ctx, keyed("stored", "key-stored"))
	if err != nil {
		t.Fatal(err)
	}
	user := MustCreateUser(t, db, "batch@example.com")
	web := func(delivery, userID string) sesame.Request {
		r := keyed(delivery, "")
		r.Source, r.UserID = sesame.SourceWeb, userID
		return r
	}

	rs := []sesame.Request{
		0: keyed("new-1", "key-1"),
		1: keyed("stored", ""),                                  // repeats a stored task by delivery id
		2: keyed("new-2", "key-stored"),                         // repeats a stored task by key
		3: keyed("new-3", "key-1"),                              // repeats request 0 of the batch by key
		4: keyed("new-1", ""),                                   // repeats request 0 of the batch by delivery id
		5: keyed("", "key-5"),                                   // no delivery id
		6: web("web-1", user.ID),                                // a web user's request
		7: web("web-2", "nobody"),                               // an invalid user id
		8: keyed("new-8", "key-8"),                              // new
		9: web("web-3", "018f0000-0000-7000-8000-000000000000"), // an unknown user: the database refuses it
	}
	tasks, created, errs := store.CreateTasks(ctx, rs)

	type answer struct {
		Task    string // "new" for a task created here, else the index of the request (or "stored") it repeats
		Created bool
		Code    string
	}
	got := make([]answer, len(rs))
	byID := map[string]string{stored.ID: "stored"}
	for i := range rs {
		switch {
		case errs[i] != nil:
			got[i] = answer{Code: sesame.ErrorCode(errs[i])}
			if tasks[i] != nil || created[i] {
				t.Errorf("request %d failed with %v but has task %v, created %v", i, errs[i], tasks[i], created[i])
			}
		case created[i]:
			got[i] = answer{Task: "new", Created: true}
			byID[tasks[i].ID] = fmt.Sprint(i)
			if tasks[i].DeliveryID != rs[i].DeliveryID || tasks[i].RequestKey != rs[i].RequestKey {
				t.Errorf("request %d's task has delivery %q and key %q", i, tasks[i].DeliveryID, tasks[i].RequestKey)
			}
		}
	}
	for i := range rs {
		if errs[i] == nil && !created[i] {
			got[i] = answer{Task: byID[tasks[i].ID]}
		}
	}
	want := []answer{
		0: {Task: "new", Created: true},
		1: {Task: "stored"},
		2: {Task: "stored"},
		3: {Task: "0"},
		4: {Task: "0"},
		5: {Code: sesame.EINVALID},
		6: {Task: "new", Created: true},
		7: {Code: sesame.EINVALID},
		8: {Task: "new", Created: true},
		9: {Code: sesame.EINVALID},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if tasks[6] != nil && tasks[6].UserID != user.ID {
		t.Errorf("web task's user = %q, want %q", tasks[6].UserID, user.ID)
	}
	if n := countRows(t, db, "SELECT count(*) FROM tasks"); n != 4 {
		t.Errorf("%d tasks stored, want 4 (the stored one and 3 new)", n)
	}
	for i, task := range tasks {
		if created[i] {
			if n := countRows(t, db, "SELECT count(*) FROM task_events WHERE task_id = $1 AND message = 'queued'", task.ID); n != 1 {
				t.Errorf("request %d's task has %d queued events, want 1", i, n)
			}
			loaded, err := store.Task(ctx, task.ID)
			if err != nil || loaded.Status != sesame.StatusQueued || loaded.DeliveryID != rs[i].DeliveryID {
				t.Errorf("request %d's task loads as %+v, %v", i, loaded, err)
			}
		}
	}
}
