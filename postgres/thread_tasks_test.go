package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// TestThreadTasks: a thread's run tasks, newest first, whatever their status; not its commands, not
// another issue's, repository's or installation's tasks; the base branch stored and read back.
func TestThreadTasks(t *testing.T) {
	ctx := context.Background()
	tasks := postgres.NewTaskStore(MustOpen(t))
	var want []string
	for i := range 4 {
		r := request(fmt.Sprintf("run-%d", i))
		r.Base = fmt.Sprintf("release/v%d", i)
		task, _, err := tasks.CreateTask(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{task.ID}, want...)
		if i == 1 {
			if _, err := tasks.SetStatus(ctx, task.ID, sesame.StatusFailed, "broke"); err != nil {
				t.Fatal(err)
			}
		}
	}
	others := []func(*sesame.Request){
		func(r *sesame.Request) { r.Kind = sesame.KindStatus },
		func(r *sesame.Request) { r.Kind = sesame.KindRetry },
		func(r *sesame.Request) { r.IssueNumber = 4 },
		func(r *sesame.Request) { r.Repo = "octo/other" },
		func(r *sesame.Request) { r.InstallationID = 8 },
		func(r *sesame.Request) { r.IssueNumber = 0 },
	}
	for i, change := range others {
		r := request(fmt.Sprintf("other-%d", i))
		change(&r)
		if _, _, err := tasks.CreateTask(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	got, err := tasks.ThreadTasks(ctx, 7, "octo/hello", 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids, bases []string
	for _, task := range got {
		ids, bases = append(ids, task.ID), append(bases, task.Base)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ThreadTasks ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"release/v3", "release/v2", "release/v1", "release/v0"}, bases); diff != "" {
		t.Errorf("ThreadTasks bases (-want +got):\n%s", diff)
	}
	if len(got) == 4 && (got[2].Status != sesame.StatusFailed || got[2].Reason != "broke") {
		t.Errorf("third task = %s %q, want failed: broke", got[2].Status, got[2].Reason)
	}

	if got, err := tasks.ThreadTasks(ctx, 7, "octo/hello", 3, 2); err != nil || len(got) != 2 || got[0].ID != want[0] {
		t.Errorf("ThreadTasks limit 2 = %d tasks, %v; want the 2 newest", len(got), err)
	}
	if got, err := tasks.ThreadTasks(ctx, 7, "octo/hello", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("ThreadTasks of issue 0 = %d tasks, %v; want none: such tasks have no thread", len(got), err)
	}
}
