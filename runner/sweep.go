package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	sesame "github.com/sesame-works/sesame"
)

// Sweep cleans up after a worker that died on this host: every task folder in the base directory
// whose task has ended (and is not kept), is unknown, or lost its worker has its processes killed
// and is removed. A folder whose task this worker or another live one holds is left alone, so it
// runs before this worker takes work and then periodically beside its tasks. It returns how many
// folders it removed.
func (r *Runner) Sweep(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(r.Settings.BaseDirectory)
	if err != nil {
		return 0, fmt.Errorf("read task folders: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || uuid.Validate(e.Name()) != nil {
			continue // mirrors, spares, the sandbox's own files
		}
		dir := filepath.Join(r.Settings.BaseDirectory, e.Name())
		t, err := r.Store.Task(ctx, e.Name())
		switch {
		case sesame.ErrorCode(err) == sesame.ENOTFOUND:
		case err != nil:
			return removed, err
		case r.runsHere(t.ID):
			continue // this worker runs it, or is ending it
		case t.Status.Final() && (t.KeepAlive || r.Settings.KeepWorkspace):
			continue
		case !t.Status.Final() && t.WorkerID == r.workerID():
			continue // this worker holds it: it is starting here
		case !t.Status.Final() && t.WorkerID != r.workerID() && t.LeaseUntil.After(time.Now()):
			continue // a live worker on this host runs it
		}
		log := r.Logger.With("task_id", e.Name(), "dir", dir)
		if err := clearTaskDir(dir, log); err != nil {
			log.Warn("remove a task folder left behind", "err", err)
			continue
		}
		log.Info("removed a task folder left behind by a worker that stopped")
		removed++
	}
	return removed, nil
}

// clearTaskDir kills the processes working inside dir (an agent whose worker died) and removes dir.
func clearTaskDir(dir string, log *slog.Logger) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for range 3 {
		pids := processesIn(dir)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				log.Warn("killed a process left behind in a task folder", "pid", pid)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return os.RemoveAll(dir)
}

// processesIn returns the processes whose working directory or root is dir or below it.
func processesIn(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, link := range []string{"cwd", "root"} {
			target, err := os.Readlink(filepath.Join("/proc", e.Name(), link))
			if err == nil && (target == dir || strings.HasPrefix(target, dir+"/")) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// runsHere reports whether the task with id runs in this process.
func (r *Runner) runsHere(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[id] != nil
}
