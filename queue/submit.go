package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	sesame "github.com/sesame-works/sesame"
)

// EnqueueTimeout bounds the wait for Redis inside a request: a task that is stored but not enqueued
// in time is answered all the same and left to the reconciler.
const EnqueueTimeout = time.Second

// Submitter stores a request's task and enqueues its job. It implements sesame.TaskSubmitter. The
// zero value of its unexported state is ready; a Submitter must not be copied once used.
type Submitter struct {
	Store  sesame.TaskStore
	Client *asynq.Client
	Logger *slog.Logger
	// Audit records the tasks created from GitHub and Slack (the web app records its own, with the
	// browser's address). nil: none.
	Audit sesame.AuditLog

	group groupCommit
}

var _ sesame.TaskSubmitter = (*Submitter)(nil)

// BatchStore is a task store that can also store many tasks in one write (postgres.TaskStore).
// CreateTasks does for each request what CreateTask does, and answers each in the order of rs.
type BatchStore interface {
	CreateTasks(ctx context.Context, rs []sesame.Request) (tasks []*sesame.Task, created []bool, errs []error)
}

// Submit stores the task first, then enqueues it. Failing to enqueue is logged, not returned: the
// task is safe in Postgres and the reconciler enqueues it once Redis answers. Submit does not record
// the enqueue in Postgres: that second write doubled the request's tail latency, and the reconciler
// confirms jobs in batches instead.
//
// When Store is a BatchStore, the tasks of Submits that arrive while earlier ones are being stored
// are stored together, in one statement and one commit (see groupCommit): each Submit still returns
// only once its own task is committed.
func (s *Submitter) Submit(ctx context.Context, r sesame.Request) (*sesame.Task, bool, error) {
	t, created, err := s.create(ctx, r)
	if err != nil || !created {
		return t, created, err
	}
	if s.Audit != nil && r.Source != sesame.SourceWeb {
		s.Audit.Record(ctx, sesame.AuditEvent{ActorID: sesame.ActorSystem, Action: sesame.AuditTaskCreated,
			ResourceType: sesame.ResourceTask, ResourceID: t.ID,
			Payload: map[string]any{"source": string(r.Source), "repo": r.Repo, "requester": r.Requester, "kind": string(r.Kind)}})
	}
	if err := s.Enqueue(ctx, t.ID, r.Kind); err != nil {
		s.Logger.Warn("task stored but not enqueued; the reconciler will retry",
			"task_id", t.ID, "delivery_id", r.DeliveryID, "err", err)
	}
	return t, true, nil
}

// create stores r's task, together with those of concurrent Submits when the store can take them.
func (s *Submitter) create(ctx context.Context, r sesame.Request) (*sesame.Task, bool, error) {
	if bs, ok := s.Store.(BatchStore); ok {
		return s.group.create(ctx, bs, r)
	}
	return s.Store.CreateTask(ctx, r)
}

// Enqueue puts the job of the task, of kind, on its queue at most once: a job already there (same
// task id) is success.
func (s *Submitter) Enqueue(ctx context.Context, taskID string, kind sesame.TaskKind) error {
	job, err := NewTaskRun(taskID, kind)
	if err != nil {
		return err
	}
	_, err = s.offer(ctx, taskID, job)
	return err
}

// offer enqueues job, of the task with taskID, within EnqueueTimeout and reports whether it was
// added: a job with its id already in Redis (pending, scheduled, retrying, running or kept after it
// ended) is no error.
func (s *Submitter) offer(ctx context.Context, taskID string, job *asynq.Task) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, EnqueueTimeout)
	defer cancel()
	_, err := s.Client.EnqueueContext(ctx, job)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("enqueue task %s: %w", taskID, err)
	}
	return true, nil
}

// Group commit bounds.
const (
	// maxWriters is how many batches may be written at once. While none is being written a request
	// writes its task at once, alone: group commit adds no wait to a quiet server. One writer beat
	// two and four here (2 cores): at 500 deliveries/s a lower p99 and max, and a higher ceiling,
	// since batches grow larger and PostgreSQL spends less per task (make bench; the figures are in
	// BenchmarkWebhookIngest's comment).
	maxWriters = 1
	// maxBatch is the most tasks one write stores.
	maxBatch = 128
	// storeTimeout bounds one batch's write: it no longer follows any one request's context.
	storeTimeout = 5 * time.Second
)

// groupCommit stores the tasks of concurrent requests together. A request whose task arrives while
// maxWriters batches are being written waits; when a write ends, its writer hands every task waiting
// by then (up to maxBatch) to the first of their requests, which writes them as one batch and
// answers each. No goroutine of its own: the requests write for one another.
type groupCommit struct {
	mu      sync.Mutex
	waiting []*pendingCreate
	writing int // batches being written
}

// pendingCreate is one request's task on its way to the store.
type pendingCreate struct {
	ctx context.Context
	r   sesame.Request

	task    *sesame.Task
	created bool
	err     error
	done    chan struct{}         // closed once answered
	lead    chan []*pendingCreate // a batch, this request first, that this request is to write
}

// create stores r's task, alone or in a batch with others, and returns once it is committed.
func (g *groupCommit) create(ctx context.Context, store BatchStore, r sesame.Request) (*sesame.Task, bool, error) {
	p := &pendingCreate{ctx: ctx, r: r, done: make(chan struct{}), lead: make(chan []*pendingCreate, 1)}
	var batch []*pendingCreate
	g.mu.Lock()
	g.waiting = append(g.waiting, p)
	if g.writing < maxWriters {
		g.writing++
		batch = g.take()
	}
	g.mu.Unlock()
	if batch != nil {
		g.write(store, batch)
	}
	gone := ctx.Done()
	for {
		select {
		case <-p.done:
			return p.task, p.created, p.err
		case batch := <-p.lead:
			g.write(store, batch)
		case <-gone:
			if g.withdraw(p) {
				return nil, false, fmt.Errorf("store task: %w", ctx.Err())
			}
			gone = nil // its task is in a batch already: see the batch through
		}
	}
}

// take removes and returns the first waiting requests, up to maxBatch. Callers hold g.mu.
func (g *groupCommit) take() []*pendingCreate {
	batch := slices.Clone(g.waiting[:min(len(g.waiting), maxBatch)])
	g.waiting = slices.Delete(g.waiting, 0, len(batch))
	return batch
}

// withdraw removes p from the waiting requests and reports whether it was still there.
func (g *groupCommit) withdraw(p *pendingCreate) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.waiting, p); i >= 0 {
		g.waiting = slices.Delete(g.waiting, i, i+1)
		return true
	}
	return false
}

// write stores batch and answers its requests, then hands the requests waiting by now to the first
// of them, or gives up its place among the writers when none waits. Should the store panic, the
// requests of the batch are answered with an error before the panic goes on.
func (g *groupCommit) write(store BatchStore, batch []*pendingCreate) {
	defer g.handOff()
	unanswered := batch
	defer func() {
		for _, p := range unanswered {
			p.err = errors.New("store task: the task store failed")
			close(p.done)
		}
	}()

	live := make([]*pendingCreate, 0, len(batch))
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil { // its request is gone: store nothing nobody will answer
			p.err = fmt.Errorf("store task: %w", err)
			close(p.done)
			continue
		}
		live = append(live, p)
	}
	unanswered = live
	if len(live) == 0 {
		return
	}
	rs := make([]sesame.Request, len(live))
	for i, p := range live {
		rs[i] = p.r
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), storeTimeout)
	defer cancel()
	tasks, created, errs := store.CreateTasks(ctx, rs)
	for i, p := range live {
		p.task, p.created, p.err = tasks[i], created[i], errs[i]
		close(p.done)
	}
	unanswered = nil
}

// handOff gives the requests waiting now to the first of them to write, or frees a writer's place.
func (g *groupCommit) handOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		g.writing--
		return
	}
	next := g.take()
	next[0].lead <- next
}
