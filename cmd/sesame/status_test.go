package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/cluster"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/internal/sandboxtest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/queue"
	"github.com/sesame-works/sesame/sandbox"
)

// statusParts is a status source on real PostgreSQL and Redis, with nothing running on them.
type statusParts struct {
	db    *postgres.DB
	tasks *postgres.TaskStore
	rdb   *redis.Client
	reg   *cluster.Registry
	src   *statusSource
}

func newStatusParts(t *testing.T) *statusParts {
	t.Helper()
	db := pgtest.Open(t)
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	p := &statusParts{db: db, tasks: postgres.NewTaskStore(db), rdb: rdb, reg: &cluster.Registry{Client: rdb}}
	p.src = &statusSource{DB: db, Tasks: p.tasks, Redis: rdb, Inspector: asynq.NewInspectorFromRedisClient(rdb), Nodes: p.reg}
	return p
}

// task stores a task that worker holds (a lease of lease from now) in status.
func (p *statusParts) task(t *testing.T, delivery, worker string, lease time.Duration, status sesame.TaskStatus) {
	t.Helper()
	ctx := context.Background()
	task, _, err := p.tasks.CreateTask(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: delivery, Kind: sesame.KindRun,
		Repo: "octo/hello", Requester: "ada", Instruction: "fix it"})
	if err != nil {
		t.Fatal(err)
	}
	if worker == "" {
		return
	}
	if _, err := p.tasks.Claim(ctx, task.ID, worker, lease); err != nil {
		t.Fatal(err)
	}
	if _, err := p.tasks.SetStatus(ctx, task.ID, status, ""); err != nil {
		t.Fatal(err)
	}
}

func checkNamed(st admin.Status, name string) admin.Check {
	for _, c := range st.Checks {
		if c.Name == name {
			return c
		}
	}
	return admin.Check{Name: name + " (missing)"}
}

func TestStatusSourceChecksEveryPart(t *testing.T) {
	p := newStatusParts(t)
	ctx := context.Background()
	p.task(t, "a", "box-1/1/aa", time.Minute, sesame.StatusRunning)
	p.task(t, "b", "box-1/1/aa", time.Minute, sesame.StatusPushing)
	p.task(t, "c", "gone/2/bb", time.Millisecond, sesame.StatusPreparing) // its lease runs out at once
	p.task(t, "d", "box-1/1/aa", time.Minute, sesame.StatusCompleted)     // ended: not counted
	p.task(t, "e", "", 0, "")                                             // queued: not counted
	job, _ := queue.NewTaskRun("0192d7a4-0000-7000-8000-000000000001", sesame.KindRun)
	client := asynq.NewClientFromRedisClient(p.rdb)
	if _, err := client.EnqueueContext(ctx, job); err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	worker := cluster.Node{ID: "box-1/1/node", Role: "worker", Version: "v1.0.0", Hostname: "box-1", PID: 1, GoVersion: "go1.26.8",
		StartedAt: started, LastSeen: started.Add(time.Hour), Worker: &cluster.WorkerInfo{WorkerID: "box-1/1/aa", SandboxProvider: "local",
			Isolation: true, IsolationDetail: "works", IsolationCheckedAt: started, RunningTasks: 2, TaskDir: "/srv/sesame",
			FreeBytes: 1 << 30, MirrorBytes: 1 << 20, MirrorMeasuredAt: started, MirrorErr: "partly unreadable"}}
	web := cluster.Node{ID: "web-1/9/node", Role: "web", Version: "v1.0.0", Hostname: "web-1", PID: 9, StartedAt: started}
	for _, n := range []cluster.Node{worker, web} {
		if err := p.reg.Put(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	st := p.src.Status(ctx)
	if took := time.Since(began); took > 500*time.Millisecond {
		t.Errorf("Status took %v with every part healthy", took)
	}
	if st.At.Before(began) || st.At.After(time.Now()) {
		t.Errorf("Status.At = %v, not when it ran", st.At)
	}
	applied, latest, err := p.db.SchemaVersion(ctx)
	if err != nil || latest < 1 || applied != latest {
		t.Fatalf("SchemaVersion of a migrated database: applied %d, latest %d, %v", applied, latest, err)
	}
	if version, pending, err := p.db.MigrationStatus(ctx); err != nil || version != latest || pending != 0 {
		t.Fatalf("goose says version %d with %d pending (%v); SchemaVersion says %d", version, pending, err, latest)
	}
	want := []admin.Check{
		{Name: "PostgreSQL", OK: true, Detail: "(the pool's use)"},
		{Name: "Redis", OK: true, Detail: "answers"},
		{Name: "Database schema", OK: true, Detail: fmt.Sprintf("version %d, as this binary expects", latest)},
		{Name: "Workers", OK: true, Detail: "1 worker is running"},
	}
	for i, c := range st.Checks {
		if (c.Name == "PostgreSQL" || c.Name == "Redis") && (c.Latency <= 0 || c.Latency > 500*time.Millisecond) {
			t.Errorf("%s latency %v", c.Name, c.Latency)
		}
		st.Checks[i].Latency = 0
	}
	if len(st.Checks) > 0 && !strings.HasSuffix(st.Checks[0].Detail, "connections of this node in use") {
		t.Errorf("PostgreSQL detail %q does not say how many connections are in use", st.Checks[0].Detail)
	}
	if len(st.Checks) > 0 {
		st.Checks[0].Detail = want[0].Detail // the pool's use varies with the checks running beside it
	}
	if diff := cmp.Diff(want, st.Checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}

	wantNodes := []admin.NodeStatus{
		{ID: web.ID, Role: "web", Version: "v1.0.0", Hostname: "web-1", PID: 9, StartedAt: started},
		{ID: worker.ID, Role: "worker", Version: "v1.0.0", Hostname: "box-1", PID: 1, GoVersion: "go1.26.8", StartedAt: started,
			LastSeen: started.Add(time.Hour), Worker: &admin.WorkerStatus{WorkerID: "box-1/1/aa", SandboxProvider: "local", Isolation: true,
				IsolationDetail: "works", IsolationCheckedAt: started, RunningTasks: 2, TaskDir: "/srv/sesame", FreeBytes: 1 << 30,
				MirrorBytes: 1 << 20, MirrorMeasuredAt: started, MirrorErr: "partly unreadable"}},
	}
	if diff := cmp.Diff(wantNodes, st.Nodes); diff != "" || st.NodesErr != "" {
		t.Errorf("nodes (-want +got):\n%s\nerr %q", diff, st.NodesErr)
	}
	wantLoads := []admin.WorkerLoad{{WorkerID: "box-1/1/aa", Running: 2}, {WorkerID: "gone/2/bb", Running: 1, Expired: 1}}
	if diff := cmp.Diff(wantLoads, st.Workers); diff != "" || st.WorkersErr != "" {
		t.Errorf("tasks by worker (-want +got):\n%s\nerr %q", diff, st.WorkersErr)
	}
	if len(st.Queues) != 1 || st.QueuesErr != "" {
		t.Fatalf("queues = %+v, err %q", st.Queues, st.QueuesErr)
	}
	if q := st.Queues[0]; q.Name != "default" || q.Pending != 1 || q.Active+q.Scheduled+q.Retry+q.Archived+q.ProcessedToday+q.FailedToday != 0 {
		t.Errorf("default queue = %+v, want one pending job", q)
	}

	// A schema behind the binary, and no worker left.
	if _, err := p.db.Pool.Exec(ctx, `DELETE FROM goose_db_version WHERE version_id = $1`, latest); err != nil {
		t.Fatal(err)
	}
	if err := p.reg.Remove(ctx, worker.ID); err != nil {
		t.Fatal(err)
	}
	st = p.src.Status(ctx)
	if c := checkNamed(st, "Database schema"); c.OK || c.Detail != fmt.Sprintf("version %d; this binary expects %d: run `sesame migrate` (or restart Sesame, which migrates at start)", latest-1, latest) {
		t.Errorf("schema behind: %+v", c)
	}
	if c := checkNamed(st, "Workers"); c.OK || !strings.HasPrefix(c.Detail, "no worker is running") {
		t.Errorf("no worker: %+v", c)
	}
}

// silentServer accepts connections and never answers, as a Redis behind a dead link would.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestStatusSourceDoesNotWaitForADeadRedis: a Redis that accepts connections and never answers costs
// the page the check's timeout, not go-redis's read timeout; one that refuses says so. PostgreSQL
// is still checked.
func TestStatusSourceDoesNotWaitForADeadRedis(t *testing.T) {
	p := newStatusParts(t)
	refusedAddr := refusingAddr(t)
	tests := []struct {
		name, addr, want string
		timeout          time.Duration
	}{
		{name: "silent", addr: silentServer(t), timeout: 300 * time.Millisecond, want: "no answer within 300ms"},
		// go-redis tries to dial five times, with pauses, before it gives up (about 1.8 s).
		{name: "refused", addr: refusedAddr, timeout: 3 * time.Second, want: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: tt.addr, DialTimeout: 2 * time.Second}) // go-redis's read timeout: 3 s
			t.Cleanup(func() { rdb.Close() })
			src := &statusSource{DB: p.db, Tasks: p.tasks, Redis: rdb, Inspector: asynq.NewInspectorFromRedisClient(rdb),
				Nodes: &cluster.Registry{Client: rdb}, Timeout: tt.timeout}
			began := time.Now()
			st := src.Status(context.Background())
			if took := time.Since(began); took > tt.timeout+500*time.Millisecond {
				t.Errorf("Status took %v with a %s Redis and a %v timeout", took, tt.name, tt.timeout)
			}
			if c := checkNamed(st, "Redis"); c.OK || !strings.Contains(c.Detail, tt.want) {
				t.Errorf("Redis check = %+v, want it failing with %q", c, tt.want)
			}
			if !strings.Contains(st.NodesErr, tt.want) || !strings.Contains(st.QueuesErr, tt.want) {
				t.Errorf("nodes err %q, queues err %q; want both %q", st.NodesErr, st.QueuesErr, tt.want)
			}
			if c := checkNamed(st, "Workers"); c.OK || c.Detail != "unknown: the nodes could not be listed" {
				t.Errorf("Workers check = %+v", c)
			}
			if c := checkNamed(st, "PostgreSQL"); !c.OK {
				t.Errorf("PostgreSQL check = %+v", c)
			}
		})
	}
}

// fakeProvider is a sandbox provider whose isolation check answers what it is told.
type fakeProvider struct {
	sandbox.Provider
	detail string
	err    error
}

func (f fakeProvider) Check(ctx context.Context, base string) (string, error) { return f.detail, f.err }

func TestWorkerProbe(t *testing.T) {
	base := t.TempDir()
	mirrors := filepath.Join(base, "mirrors")
	if err := os.MkdirAll(mirrors, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mirrors, "pack"), make([]byte, 100<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	running := func(ctx context.Context, worker string) (int, error) {
		if worker != "w-1" {
			return 0, fmt.Errorf("asked for %s", worker)
		}
		return 3, nil
	}
	down := func(context.Context, string) (int, error) {
		return 0, errors.New("count running tasks: the database is unavailable")
	}
	tests := []struct {
		name       string
		provider   sandbox.Provider
		running    func(context.Context, string) (int, error)
		isolation  bool
		detail     string
		runningErr string
	}{
		{name: "isolation works", provider: fakeProvider{detail: "bubblewrap, Landlock ABI 6 and seccomp work"}, running: running,
			isolation: true, detail: "bubblewrap, Landlock ABI 6 and seccomp work"},
		{name: "isolation fails", provider: fakeProvider{err: errors.New("Landlock/seccomp: not supported")}, running: running,
			detail: "Landlock/seccomp: not supported"},
		{name: "no provider", running: running, detail: "the docker sandbox provider is not available yet"},
		{name: "provider without a check", provider: struct{ sandbox.Provider }{}, running: down,
			detail: "the docker sandbox provider does not offer OS-level isolation on this host", runningErr: "count running tasks: the database is unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			probe := newWorkerProbe("w-1", "docker", tt.provider, base, mirrors, tt.running)
			first := probe.Probe(ctx)
			if !first.IsolationCheckedAt.IsZero() && !first.MirrorMeasuredAt.IsZero() {
				t.Log("both background measurements finished before the first probe returned")
			}
			var w cluster.WorkerInfo
			deadline := time.Now().Add(5 * time.Second)
			for w = probe.Probe(ctx); w.IsolationCheckedAt.IsZero() || w.MirrorMeasuredAt.IsZero(); w = probe.Probe(ctx) {
				if time.Now().After(deadline) {
					t.Fatalf("background measurements not done after 5 s: %+v", w)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if w.WorkerID != "w-1" || w.SandboxProvider != "docker" || w.TaskDir != base {
				t.Errorf("identity = %q %q %q", w.WorkerID, w.SandboxProvider, w.TaskDir)
			}
			if w.Isolation != tt.isolation || w.IsolationDetail != tt.detail {
				t.Errorf("isolation = %v %q, want %v %q", w.Isolation, w.IsolationDetail, tt.isolation, tt.detail)
			}
			if tt.runningErr == "" && (w.RunningTasks != 3 || w.RunningTasksErr != "") {
				t.Errorf("running = %d %q, want 3", w.RunningTasks, w.RunningTasksErr)
			}
			if w.RunningTasksErr != tt.runningErr {
				t.Errorf("running err = %q, want %q", w.RunningTasksErr, tt.runningErr)
			}
			if w.FreeBytes <= 0 || w.DiskErr != "" {
				t.Errorf("free = %d %q", w.FreeBytes, w.DiskErr)
			}
			if w.MirrorBytes < 100<<10 || w.MirrorErr != "" {
				t.Errorf("mirror cache = %d %q, want at least 100 KiB", w.MirrorBytes, w.MirrorErr)
			}
		})
	}
}

// runMain opens and runs a Main of role on env, until the test ends or stop is called.
func runMain(t *testing.T, role string, env map[string]string) (m *Main, stop func()) {
	t.Helper()
	m = &Main{Role: role, Stderr: io.Discard, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		m.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s Run: %v", role, err)
		}
		m.Close()
	}
	t.Cleanup(stop)
	return m, stop
}

// TestNodesOfRunningProcesses starts a worker (role all) and a web node as `sesame serve` would:
// both list themselves, the worker reports its real sandbox, disk and mirror cache, an admin sees
// them on /admin, and the web node leaves the list when it shuts down.
func TestNodesOfRunningProcesses(t *testing.T) {
	base := sandboxtest.TaskBase(t)
	env := mainEnv(t, map[string]string{"BASE_URL": "http://sesame.test", "TASK_DIR_BASE": base})
	worker, _ := runMain(t, RoleAll, env)
	web, stopWeb := runMain(t, RoleWeb, env)
	reg := worker.registry()
	ctx := context.Background()

	// The worker's first heartbeat starts its isolation test (a real sandbox) and the walk of its
	// mirror cache; later ones report them.
	var all, webNode cluster.Node
	deadline := time.Now().Add(40 * time.Second)
	for {
		nodes, err := reg.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, webNode = cluster.Node{}, cluster.Node{}
		for _, n := range nodes {
			switch n.Role {
			case RoleAll:
				all = n
			case RoleWeb:
				webNode = n
			}
		}
		if len(nodes) == 2 && all.Worker != nil && !all.Worker.IsolationCheckedAt.IsZero() && !all.Worker.MirrorMeasuredAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 40 s: nodes %+v, worker %+v", nodes, all.Worker)
		}
		time.Sleep(100 * time.Millisecond)
	}
	host, _ := os.Hostname()
	for _, n := range []cluster.Node{all, webNode} {
		if n.Hostname != host || n.PID != os.Getpid() || n.Version == "" || n.GoVersion == "" || n.StartedAt.IsZero() ||
			time.Since(n.LastSeen) > cluster.DefaultTTL {
			t.Errorf("node %+v", n)
		}
	}
	if webNode.Worker != nil {
		t.Errorf("the web node reports a worker: %+v", webNode.Worker)
	}
	w := all.Worker
	if w.WorkerID != worker.runner.WorkerID || w.SandboxProvider != "local" || w.TaskDir != base || w.RunningTasks != 0 ||
		w.RunningTasksErr != "" || w.FreeBytes <= 0 || w.DiskErr != "" || w.MirrorErr != "" {
		t.Errorf("worker reports %+v", w)
	}
	// This machine runs the sandbox (scripts/test installs bubblewrap): isolation must be there.
	if !w.Isolation || !strings.Contains(w.IsolationDetail, "bubblewrap") {
		t.Errorf("OS-level isolation = %v: %s", w.Isolation, w.IsolationDetail)
	}

	// An admin sees both on the web node's /admin.
	page := adminPage(t, "http://"+web.Addr())
	for _, want := range []string{`data-node="` + all.ID + `"`, `data-node="` + webNode.ID + `"`, `data-worker="` + w.WorkerID + `"`,
		`data-check-name="PostgreSQL"`, `data-check-name="Redis"`, `data-healthy="true"`, `data-isolation="available"`} {
		if !strings.Contains(page, want) {
			t.Errorf("/admin lacks %q", want)
		}
	}

	// A clean shutdown takes the web node off the list at once.
	stopWeb()
	nodes, err := reg.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].ID != all.ID {
		t.Errorf("after the web node stopped: %+v, %v; want only the worker", nodes, err)
	}
}

// adminPage creates the first admin on the web app at base and returns /admin as they see it.
func adminPage(t *testing.T, base string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	form := url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {"correct horse battery"},
		"password_confirm": {"correct horse battery"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/setup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = c.Get(base + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin as the admin: %d\n%s", res.StatusCode, b)
	}
	return string(b)
}

// refusingAddr returns a loopback address that refuses connections for as long as the test runs: a
// port bound but never listened on (a closed listener's port could be taken by another test's
// server meanwhile, which then answers).
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
