package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	sesame "github.com/sesame-works/sesame"
)

// One task per thread: how a task waits its turn, and how it gets it.
//
// A worker that picks up a queued run task asks the store for the thread's turn (LineStore.Line,
// race-free under a PostgreSQL advisory lock on the thread). When an earlier task of the thread has
// not ended, the task waits: its requester is told its place, its lease is given up and its job
// ends, so it holds no worker slot. Nothing is failed and nothing polls a lock. It comes back by
// its own job, whose asynq id is the task id as always, so that at most one job of a task is ever
// in Redis and no two workers run it at once:
//
//   - when a task of the thread ends, the runner calls Leave, which wakes every task of the thread
//     told it waits (Wake: the ended job is removed and enqueued anew). The first in line takes the
//     turn; the others are told their new place;
//   - an edit or deletion of a waiting task's comment wakes it (Edit, Withdraw), to tell its
//     requester;
//   - the reconciler's safety net (Recheck) wakes every waiting task that no worker holds and whose
//     place changed, that may start or that ended: a wake-up lost with a process that died, a task
//     stopped from elsewhere, or one that ended its wait just as the task before it ended.

// LineStore is what Lines needs of the task store; postgres.TaskStore has it.
type LineStore interface {
	// Line takes the thread's turn for the queued task with id, whose lease worker holds, or finds
	// its place in line (zero: it took the turn). At the place its requester was told (told, or the
	// place recorded as told when told is zero) it gives up worker's lease and comes back with no
	// worker: the task waits. Otherwise the caller tells the requester the place and calls again.
	Line(ctx context.Context, id, worker string, told sesame.LinePlace) (*sesame.Task, sesame.LinePlace, error)
	// Place returns the task's place in line now and the place its requester was last told.
	Place(ctx context.Context, id string) (now, told sesame.LinePlace, err error)
	// Leave forgets the place of the task with id, which ended, and returns the other tasks of its
	// thread told they wait.
	Leave(ctx context.Context, id string) ([]string, error)
	// StaleInLine returns tasks told they wait, held by no worker, whose place changed, that may
	// start or that ended.
	StaleInLine(ctx context.Context, limit int) ([]string, error)
	// EditQueued replaces the instruction, agent, model and base of the run task with the request
	// key while it waits; ECONFLICT once it started or ended, ENOTFOUND when none has the key.
	EditQueued(ctx context.Context, key string, r sesame.Request) (*sesame.Task, error)
	// CancelQueued stops the task with the request key while it is queued, with reason, as by
	// asked; ECONFLICT once it started or ended, ENOTFOUND when none has the key.
	CancelQueued(ctx context.Context, key, by, reason string) (*sesame.Task, *sesame.TaskEvent, error)
}

// Lines lets the tasks of a thread wait their turn and wakes them when it comes. It implements the
// runner's Lines and the webhook's edits and deletions of a waiting request.
type Lines struct {
	Store     LineStore
	Client    *asynq.Client
	Inspector *asynq.Inspector // looks at and removes a task's ended job
	Logger    *slog.Logger
	// Patience is how long Leave waits for the job of a waiting task that is still running (it is
	// ending: it just gave up its turn) to end, before leaving it to the reconciler; 0 means 2s.
	Patience time.Duration
}

// jobQueue is the asynq queue of the jobs of tasks that wait in line: they run agents.
const jobQueue = RunQueue

// Line is LineStore.Line.
func (l *Lines) Line(ctx context.Context, id, worker string, told sesame.LinePlace) (*sesame.Task, sesame.LinePlace, error) {
	return l.Store.Line(ctx, id, worker, told)
}

// Place is LineStore.Place.
func (l *Lines) Place(ctx context.Context, id string) (now, told sesame.LinePlace, err error) {
	return l.Store.Place(ctx, id)
}

// Leave forgets the place in line of the task with id, which ended and whose requester heard how,
// and wakes the tasks of its thread told they wait: the first may start, the others move up.
func (l *Lines) Leave(ctx context.Context, id string) error {
	ids, err := l.Store.Leave(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, w := range ids {
		if err := l.wake(ctx, w, l.patience()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Wake makes sure the job of the task with id runs again: a job that ended (completed, or archived
// after failing for good) is removed and enqueued anew, one Redis lost is enqueued; a job pending,
// scheduled or retrying will run anyway, and one running looks at the line before it ends.
func (l *Lines) Wake(ctx context.Context, id string) error { return l.wake(ctx, id, 0) }

// wake is Wake, waiting up to patience for a running job to end first.
func (l *Lines) wake(ctx context.Context, id string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		info, err := l.Inspector.GetTaskInfo(jobQueue, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
		case err != nil:
			return fmt.Errorf("look up the job of task %s: %w", id, err)
		case info.State == asynq.TaskStateActive && time.Now().Before(deadline):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		case info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived:
			if err := l.Inspector.DeleteTask(jobQueue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				return fmt.Errorf("remove the ended job of task %s: %w", id, err)
			}
		default:
			return nil
		}
		job, err := NewTaskRun(id, sesame.KindRun)
		if err != nil {
			return err
		}
		enqueue, cancel := context.WithTimeout(ctx, EnqueueTimeout)
		_, err = l.Client.EnqueueContext(enqueue, job)
		cancel()
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) { // a conflict: another wake came first
			return fmt.Errorf("enqueue task %s: %w", id, err)
		}
		l.Logger.Debug("woke a task waiting in line", "task_id", id)
		return nil
	}
}

// Recheck wakes every task told it waits that no worker holds and whose place changed, that may
// start or that ended, and returns how many it woke. The reconciler runs it: it is the safety net
// behind Leave.
func (l *Lines) Recheck(ctx context.Context) (int, error) {
	ids, err := l.Store.StaleInLine(ctx, 500)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := l.Wake(ctx, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// Edit replaces the instruction, agent, model and base of the task asked for under the request key
// while it waits (see LineStore.EditQueued), and wakes it, so its requester's reply shows the change.
func (l *Lines) Edit(ctx context.Context, key string, r sesame.Request) (*sesame.Task, error) {
	t, err := l.Store.EditQueued(ctx, key, r)
	if err != nil {
		return t, err
	}
	l.wakeQuietly(ctx, t.ID)
	return t, nil
}

// Withdraw stops the task asked for under the request key while it is queued, with reason, and
// wakes it, so its requester hears and the tasks behind it move up.
func (l *Lines) Withdraw(ctx context.Context, key, by, reason string) (*sesame.Task, error) {
	t, _, err := l.Store.CancelQueued(ctx, key, by, reason)
	if err != nil {
		return t, err
	}
	l.wakeQuietly(ctx, t.ID)
	return t, nil
}

// wakeQuietly wakes the task with id and logs a failure: the change is stored, and the reconciler
// wakes the task when Redis answers again.
func (l *Lines) wakeQuietly(ctx context.Context, id string) {
	if err := l.Wake(ctx, id); err != nil {
		l.Logger.Warn("wake a task waiting in line; the reconciler will", "task_id", id, "err", err)
	}
}

func (l *Lines) patience() time.Duration {
	if l.Patience > 0 {
		return l.Patience
	}
	return 2 * time.Second
}
