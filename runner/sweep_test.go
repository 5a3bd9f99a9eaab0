package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	sesame "github.com/sesame-works/sesame"
)

// Sweep runs beside the worker's own tasks: it removes the folders of ended tasks, of tasks whose
// worker died and of unknown ones, and leaves those of the tasks this worker and other live workers
// hold.
func TestSweepBesideRunningTasks(t *testing.T) {
	h := newHarness(t)
	base := t.TempDir()
	h.runner.Settings.BaseDirectory = base
	h.runner.WorkerID = "this-worker"
	ctx := context.Background()
	folder := func(id string) string {
		dir := filepath.Join(base, id)
		if err := os.MkdirAll(filepath.Join(dir, "repo"), 0o700); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	claim := func(id, worker string, status sesame.TaskStatus) {
		if _, err := h.store.Claim(ctx, id, worker, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.SetStatus(ctx, id, status, ""); err != nil {
			t.Fatal(err)
		}
	}
	mine := h.webTask(t, "alice", "", "mine")
	claim(mine.ID, "this-worker", sesame.StatusPreparing)
	other := h.webTask(t, "alice", "", "another worker's")
	claim(other.ID, "other-worker", sesame.StatusRunning)
	dead := h.webTask(t, "alice", "", "a dead worker's")
	h.dies(t, dead.ID, sesame.StatusRunning)
	ended := h.webTask(t, "alice", "", "ended")
	claim(ended.ID, "this-worker", sesame.StatusCompleted)
	keep := []string{folder(mine.ID), folder(other.ID)}
	gone := []string{folder(dead.ID), folder(ended.ID), folder(uuid.NewString())}

	n, err := h.runner.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(gone) {
		t.Errorf("Sweep removed %d folders, want %d", n, len(gone))
	}
	for _, dir := range keep {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("the folder of a task a live worker holds was removed: %v", err)
		}
	}
	for _, dir := range gone {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", dir, err)
		}
	}
}
