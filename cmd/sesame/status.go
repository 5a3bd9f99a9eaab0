package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/cluster"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/sandbox"
)

// checkTimeout bounds each check of the status page, so a part that does not answer costs the page
// that long at most: the checks run side by side.
const checkTimeout = 2 * time.Second

// statusSource checks the whole deployment for the admin's overview: PostgreSQL, Redis, the schema,
// the nodes of the registry, asynq's queues and the tasks each worker holds.
type statusSource struct {
	DB        *postgres.DB
	Tasks     *postgres.TaskStore
	Redis     redis.UniversalClient
	Inspector *asynq.Inspector
	Nodes     *cluster.Registry
	Timeout   time.Duration // of each check; 0 means checkTimeout
}

var _ admin.StatusSource = (*statusSource)(nil)

// statusSource is the admin's status source on this process's connections.
func (m *Main) statusSource() *statusSource {
	return &statusSource{DB: m.DB, Tasks: m.Tasks, Redis: m.Redis, Inspector: asynq.NewInspectorFromRedisClient(m.Redis),
		Nodes: m.registry()}
}

// registry is the node registry on this process's Redis.
func (m *Main) registry() *cluster.Registry { return &cluster.Registry{Client: m.Redis} }

// Status runs every check at once and returns when the last has answered or timed out.
func (s *statusSource) Status(ctx context.Context) admin.Status {
	st := admin.Status{At: time.Now()}
	checks := make([]admin.Check, 4)
	var nodes []cluster.Node
	var nodesErr error
	var wg sync.WaitGroup
	wg.Go(func() { checks[0] = s.checkPostgres(ctx) })
	wg.Go(func() { checks[1] = s.checkRedis(ctx) })
	wg.Go(func() { checks[2] = s.checkSchema(ctx) })
	wg.Go(func() { nodes, _, nodesErr = within(ctx, s.timeout(), s.Nodes.Nodes) })
	wg.Go(func() {
		queues, _, err := within(ctx, s.timeout(), s.queues)
		st.Queues, st.QueuesErr = queues, s.words(err)
	})
	wg.Go(func() {
		loads, _, err := within(ctx, s.timeout(), s.Tasks.RunningByWorker)
		for _, l := range loads {
			st.Workers = append(st.Workers, admin.WorkerLoad{WorkerID: l.WorkerID, Running: l.Running, Expired: l.Expired})
		}
		st.WorkersErr = s.words(err)
	})
	wg.Wait()
	for _, n := range nodes {
		st.Nodes = append(st.Nodes, nodeStatus(n))
	}
	st.NodesErr = s.words(nodesErr)
	checks[3] = workersCheck(nodes, nodesErr)
	st.Checks = checks
	return st
}

func (s *statusSource) timeout() time.Duration {
	if s.Timeout <= 0 {
		return checkTimeout
	}
	return s.Timeout
}

// words says err for the admin: a timeout as such, anything else as it is (connection refused,
// authentication failed: what an operator needs to fix it). "" for nil.
func (s *statusSource) words(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", s.timeout())
	}
	return err.Error()
}

func (s *statusSource) checkPostgres(ctx context.Context) admin.Check {
	c := admin.Check{Name: "PostgreSQL"}
	_, took, err := within(ctx, s.timeout(), func(ctx context.Context) (struct{}, error) { return struct{}{}, s.DB.Ping(ctx) })
	if err != nil {
		c.Detail = "unreachable: " + s.words(err)
		return c
	}
	stat := s.DB.Pool.Stat()
	c.OK, c.Latency = true, took
	c.Detail = fmt.Sprintf("answers; %d of at most %d connections of this node in use", stat.AcquiredConns(), stat.MaxConns())
	return c
}

func (s *statusSource) checkRedis(ctx context.Context) admin.Check {
	c := admin.Check{Name: "Redis"}
	_, took, err := within(ctx, s.timeout(), func(ctx context.Context) (string, error) { return s.Redis.Ping(ctx).Result() })
	if err != nil {
		c.Detail = "unreachable: " + s.words(err)
		return c
	}
	c.OK, c.Latency, c.Detail = true, took, "answers"
	return c
}

// checkSchema compares the schema's version with the newest migration this binary carries.
func (s *statusSource) checkSchema(ctx context.Context) admin.Check {
	c := admin.Check{Name: "Database schema"}
	v, _, err := within(ctx, s.timeout(), func(ctx context.Context) ([2]int64, error) {
		applied, latest, err := s.DB.SchemaVersion(ctx)
		return [2]int64{applied, latest}, err
	})
	if err != nil {
		c.Detail = "could not be read: " + s.words(err)
		return c
	}
	applied, latest := v[0], v[1]
	switch {
	case applied == latest:
		c.OK, c.Detail = true, fmt.Sprintf("version %d, as this binary expects", applied)
	case applied < latest:
		c.Detail = fmt.Sprintf("version %d; this binary expects %d: run `sesame migrate` (or restart Sesame, which migrates at start)", applied, latest)
	default:
		c.Detail = fmt.Sprintf("version %d, newer than this binary knows (%d): a newer Sesame migrated it; upgrade this node", applied, latest)
	}
	return c
}

// workersCheck fails when no listed node runs tasks: queued tasks then wait.
func workersCheck(nodes []cluster.Node, err error) admin.Check {
	c := admin.Check{Name: "Workers"}
	if err != nil {
		c.Detail = "unknown: the nodes could not be listed"
		return c
	}
	n := 0
	for _, node := range nodes {
		if node.Worker != nil {
			n++
		}
	}
	switch n {
	case 0:
		c.Detail = "no worker is running: tasks stay queued until one starts (sesame serve --role worker or all)"
	case 1:
		c.OK, c.Detail = true, "1 worker is running"
	default:
		c.OK, c.Detail = true, fmt.Sprintf("%d workers are running", n)
	}
	return c
}

// queues reads every asynq queue, by name. A queue exists once a job was enqueued on it.
func (s *statusSource) queues(ctx context.Context) ([]admin.QueueStatus, error) {
	names, err := s.Inspector.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	slices.Sort(names)
	out := make([]admin.QueueStatus, 0, len(names))
	for _, name := range names {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		q, err := s.Inspector.GetQueueInfo(name)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", name, err)
		}
		out = append(out, admin.QueueStatus{Name: q.Queue, Pending: q.Pending, Active: q.Active, Scheduled: q.Scheduled,
			Retry: q.Retry, Archived: q.Archived, ProcessedToday: q.Processed, FailedToday: q.Failed, Latency: q.Latency, Paused: q.Paused})
	}
	return out, nil
}

func nodeStatus(n cluster.Node) admin.NodeStatus {
	ns := admin.NodeStatus{ID: n.ID, Role: n.Role, Version: n.Version, Hostname: n.Hostname, PID: n.PID, GoVersion: n.GoVersion,
		StartedAt: n.StartedAt, LastSeen: n.LastSeen}
	if w := n.Worker; w != nil {
		ns.Worker = &admin.WorkerStatus{WorkerID: w.WorkerID, SandboxProvider: w.SandboxProvider, Isolation: w.Isolation,
			IsolationDetail: w.IsolationDetail, IsolationCheckedAt: w.IsolationCheckedAt, RunningTasks: w.RunningTasks,
			RunningTasksErr: w.RunningTasksErr, TaskDir: w.TaskDir, FreeBytes: w.FreeBytes, DiskErr: w.DiskErr,
			MirrorBytes: w.MirrorBytes, MirrorMeasuredAt: w.MirrorMeasuredAt, MirrorErr: w.MirrorErr,
			MirrorBudget: w.MirrorBudget, MirrorEvictedAt: w.MirrorEvictedAt, MirrorEvicted: w.MirrorEvicted,
			MirrorEvictedBytes: w.MirrorEvictedBytes}
	}
	return ns
}

// within runs f with a context that ends after d, and returns f's result and how long it took, or
// context.DeadlineExceeded once d has passed, whichever comes first: a client that does not heed
// its context (asynq's inspector; go-redis waits for its own read timeout) does not hold the page.
// f then finishes in the background.
func within[T any](ctx context.Context, d time.Duration, f func(context.Context) (T, error)) (T, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type result struct {
		v    T
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		v, err := f(ctx)
		done <- result{v, err, time.Since(start)}
	}()
	select {
	case r := <-done:
		return r.v, r.took, r.err
	case <-ctx.Done():
		var zero T
		return zero, time.Since(start), ctx.Err()
	}
}

// Every node lists itself in the registry; a worker also reports what it runs on.

const (
	// mirrorEvery is how often a worker measures its mirror cache (a walk of every file in it) and
	// evicts what is over its budget (mirror_cache.go).
	mirrorEvery = time.Minute
	// isolationEvery is how often a worker starts a test sandbox to see that OS-level isolation works.
	isolationEvery = 10 * time.Minute
	// isolationTimeout bounds that test.
	isolationTimeout = 30 * time.Second
	// probeTimeout bounds what a worker's probe asks the database at each heartbeat.
	probeTimeout = time.Second
)

// newNode is this process's entry in the node registry.
func (m *Main) newNode() *cluster.Self {
	self := cluster.NewSelf(m.registry(), m.Role)
	self.Logger = m.Logger
	if m.runner != nil {
		base := m.Config.String(config.TasksBaseDirectory)
		probe := newWorkerProbe(m.runner.WorkerID, m.Config.String(config.SandboxProvider), m.runner.Sandbox, base,
			m.mirrors.Dir, m.Tasks.RunningOn)
		probe.sweep(newMirrorSweeper(m.mirrors.Dir, base, m.Live.Current, m.Logger)) // mirror_cache.go
		self.Probe = probe.Probe
	}
	return self
}

// workerProbe is what a worker node reports at each heartbeat. The slow parts (the mirror cache's
// size, the isolation test) are measured in the background and reported as last measured.
type workerProbe struct {
	workerID, provider, taskDir string
	running                     func(ctx context.Context, workerID string) (int, error)
	mirrors                     *cluster.Sampler[int64]
	isolation                   *cluster.Sampler[string]
	sweeper                     *mirrorSweeper // nil: the mirror cache is measured, not kept to a budget
}

// sweep makes each measurement of the mirror cache a sweep of s, which evicts what is over budget.
func (p *workerProbe) sweep(s *mirrorSweeper) {
	p.sweeper = s
	p.mirrors.Measure = s.sweep
}

// isolationChecker is a sandbox provider that can test OS-level isolation on its host, as the local
// provider's Check does (bubblewrap, user namespaces, Landlock and seccomp).
type isolationChecker interface {
	Check(ctx context.Context, base string) (string, error)
}

func newWorkerProbe(workerID, providerName string, provider sandbox.Provider, taskDir, mirrorDir string,
	running func(ctx context.Context, workerID string) (int, error)) *workerProbe {
	check := func(context.Context) (string, error) {
		if provider == nil {
			return "", fmt.Errorf("the %s sandbox provider is not available yet", providerName)
		}
		return "", fmt.Errorf("the %s sandbox provider does not offer OS-level isolation on this host", providerName)
	}
	if c, ok := provider.(isolationChecker); ok {
		check = func(ctx context.Context) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, isolationTimeout)
			defer cancel()
			return c.Check(ctx, taskDir)
		}
	}
	return &workerProbe{
		workerID: workerID, provider: providerName, taskDir: taskDir, running: running,
		mirrors: &cluster.Sampler[int64]{Every: mirrorEvery, Measure: func(ctx context.Context) (int64, error) {
			return cluster.DirSize(ctx, mirrorDir)
		}},
		isolation: &cluster.Sampler[string]{Every: isolationEvery, Measure: check},
	}
}

// Probe reports the worker. ctx is the heartbeat's, which lives as long as the node: the background
// measurements it starts end with it.
func (p *workerProbe) Probe(ctx context.Context) cluster.WorkerInfo {
	w := cluster.WorkerInfo{WorkerID: p.workerID, SandboxProvider: p.provider, TaskDir: p.taskDir}
	rctx, cancel := context.WithTimeout(ctx, probeTimeout)
	n, err := p.running(rctx, p.workerID)
	cancel()
	if err != nil {
		w.RunningTasksErr = err.Error()
	}
	w.RunningTasks = n
	if w.FreeBytes, err = cluster.FreeBytes(p.taskDir); err != nil {
		w.DiskErr = err.Error()
	}
	mirrors := p.mirrors.Get(ctx)
	w.MirrorBytes, w.MirrorMeasuredAt = mirrors.Value, mirrors.At
	if mirrors.Err != nil {
		w.MirrorErr = mirrors.Err.Error()
	}
	if p.sweeper != nil {
		w.MirrorBudget = p.sweeper.budget()
		ev, at := p.sweeper.lastEviction()
		w.MirrorEvictedAt, w.MirrorEvicted, w.MirrorEvictedBytes = at, len(ev.Evicted), ev.EvictedBytes()
	}
	iso := p.isolation.Get(ctx)
	w.IsolationCheckedAt = iso.At
	w.Isolation = !iso.At.IsZero() && iso.Err == nil
	w.IsolationDetail = iso.Value
	if iso.Err != nil {
		w.IsolationDetail = iso.Err.Error()
	}
	return w
}
