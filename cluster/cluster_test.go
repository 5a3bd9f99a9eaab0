package cluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/cluster"
	"github.com/sesame-works/sesame/internal/redistest"
)

func newRegistry(t *testing.T, ttl time.Duration) *cluster.Registry {
	t.Helper()
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	return &cluster.Registry{Client: rdb, TTL: ttl}
}

func mustNodes(t *testing.T, reg *cluster.Registry) []cluster.Node {
	t.Helper()
	nodes, err := reg.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}

func ids(nodes []cluster.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.ID)
	}
	return out
}

// runNode runs self until the test ends or the returned stop is called; stop waits for Run and
// returns what it returned.
func runNode(t *testing.T, self *cluster.Self) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- self.Run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			return errors.New("Run did not return within 5 s of its context's end")
		}
	})
	t.Cleanup(func() { stop() })
	return stop
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPutListsTheNodeAsGiven(t *testing.T) {
	reg := newRegistry(t, 0)
	ctx := context.Background()
	if got := mustNodes(t, reg); len(got) != 0 {
		t.Fatalf("empty registry lists %v", ids(got))
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := cluster.Node{ID: "host-a/12/beef", Role: "worker", Version: "v1.2.3", Hostname: "host-a", PID: 12, GoVersion: "go1.26",
		StartedAt: at, LastSeen: at.Add(time.Minute), Worker: &cluster.WorkerInfo{WorkerID: "host-a/12/cafe", SandboxProvider: "local",
			Isolation: true, IsolationDetail: "bubblewrap works", IsolationCheckedAt: at, RunningTasks: 2, TaskDir: "/srv/tasks",
			FreeBytes: 1 << 30, MirrorBytes: 5 << 20, MirrorMeasuredAt: at}}
	if err := reg.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]cluster.Node{want}, mustNodes(t, reg)); diff != "" {
		t.Errorf("listed nodes (-want +got):\n%s", diff)
	}
	// Each key lives TTL: the default unless set.
	ttl, err := reg.Client.TTL(ctx, cluster.DefaultPrefix+"node:"+want.ID).Result()
	if err != nil || ttl <= cluster.DefaultTTL-2*time.Second || ttl > cluster.DefaultTTL {
		t.Errorf("TTL of a node's key = %v, %v; want about %v", ttl, err, cluster.DefaultTTL)
	}
	if err := reg.Put(ctx, cluster.Node{}); err == nil {
		t.Error("a node without an id was listed")
	}
}

func TestNodeExpiresWithoutHeartbeat(t *testing.T) {
	reg := newRegistry(t, 300*time.Millisecond)
	ctx := context.Background()
	if err := reg.Put(ctx, cluster.Node{ID: "a", Role: "web"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(mustNodes(t, reg)); !cmp.Equal(got, []string{"a"}) {
		t.Fatalf("nodes = %v", got)
	}
	waitFor(t, "the node to expire", func() bool { return len(mustNodes(t, reg)) == 0 })
	// The index forgets it too, so it does not grow with every process ever started.
	if n, _ := reg.Client.SCard(ctx, cluster.DefaultPrefix+"nodes").Result(); n != 0 {
		t.Errorf("index still holds %d ids after the entry expired", n)
	}
}

// TestTwoNodesHeartbeatAndLeave runs two nodes as two processes would: both are listed and kept
// alive by their heartbeats well past the TTL; the one that shuts down removes itself at once, and
// the other stays.
func TestTwoNodesHeartbeatAndLeave(t *testing.T) {
	const ttl = 400 * time.Millisecond
	reg := newRegistry(t, ttl)
	web := cluster.NewSelf(reg, "web")
	web.Interval = 50 * time.Millisecond
	worker := cluster.NewSelf(reg, "worker")
	worker.Interval = 50 * time.Millisecond
	var probes atomic.Int32
	worker.Probe = func(ctx context.Context) cluster.WorkerInfo {
		n := probes.Add(1)
		return cluster.WorkerInfo{WorkerID: "w-1", SandboxProvider: "local", RunningTasks: int(n)}
	}
	if web.Node.ID == worker.Node.ID {
		t.Fatal("two nodes of one process got the same id")
	}

	runNode(t, web)
	stopWorker := runNode(t, worker)

	waitFor(t, "both nodes", func() bool { return len(mustNodes(t, reg)) == 2 })
	time.Sleep(3 * ttl) // only heartbeats keep them listed now
	nodes := mustNodes(t, reg)
	if len(nodes) != 2 {
		t.Fatalf("after 3 TTLs of heartbeats: nodes %v, want both", ids(nodes))
	}
	// Ordered by role: web, then worker.
	gotWeb, gotWorker := nodes[0], nodes[1]
	host, _ := os.Hostname()
	wantWeb := cluster.Node{ID: web.Node.ID, Role: "web", Version: cluster.Version(), Hostname: host, PID: os.Getpid(),
		GoVersion: runtime.Version(), StartedAt: web.Node.StartedAt}
	if diff := cmp.Diff(wantWeb, gotWeb, cmpopts.IgnoreFields(cluster.Node{}, "LastSeen")); diff != "" {
		t.Errorf("web node (-want +got):\n%s", diff)
	}
	if age := time.Since(gotWeb.LastSeen); age < 0 || age > ttl {
		t.Errorf("web node last seen %v ago", age)
	}
	if gotWorker.Role != "worker" || gotWorker.Worker == nil || gotWorker.Worker.WorkerID != "w-1" || gotWorker.Worker.RunningTasks < 3 {
		t.Errorf("worker node = %+v, worker %+v; want its probe's report, refreshed at every heartbeat", gotWorker, gotWorker.Worker)
	}

	// A clean shutdown removes the node at once, well before its TTL.
	if err := stopWorker(); err != nil {
		t.Errorf("Run returned %v at shutdown", err)
	}
	if got := ids(mustNodes(t, reg)); !cmp.Equal(got, []string{web.Node.ID}) {
		t.Errorf("right after the worker shut down: nodes %v, want only the web node", got)
	}
	if n, _ := reg.Client.SCard(context.Background(), cluster.DefaultPrefix+"nodes").Result(); n != 1 {
		t.Errorf("index holds %d ids, want 1", n)
	}
}

// TestRunOutlivesRedisOutage: heartbeats that fail do not end Run, and the node is listed again
// once Redis answers.
func TestRunOutlivesRedisOutage(t *testing.T) {
	good := newRegistry(t, time.Second)
	dead := &cluster.Registry{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})}
	t.Cleanup(func() { dead.Client.Close() })
	self := cluster.NewSelf(dead, "all")
	self.Interval = 20 * time.Millisecond
	stop := runNode(t, self)
	time.Sleep(100 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("Run while Redis was unreachable = %v, want nil at the end of its context", err)
	}

	// The same node, now with a Redis that answers.
	self.Registry = good
	runNode(t, self)
	waitFor(t, "the node to be listed", func() bool { return len(mustNodes(t, good)) == 1 })
}

func TestSamplerMeasuresInBackgroundAtMostEvery(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	s := &cluster.Sampler[int]{Every: 200 * time.Millisecond, Measure: func(ctx context.Context) (int, error) {
		n := calls.Add(1)
		if n == 1 {
			<-release // a slow first measurement
		}
		if n == 3 {
			return 0, errors.New("walk failed")
		}
		return int(n) * 10, nil
	}}
	ctx := context.Background()
	if got := s.Get(ctx); !got.At.IsZero() || got.Value != 0 {
		t.Fatalf("first Get = %+v, want no measurement yet", got)
	}
	// Get does not wait for the measurement, nor start a second one while it runs.
	for range 5 {
		s.Get(ctx)
	}
	close(release)
	waitFor(t, "the first measurement", func() bool { return !s.Get(ctx).At.IsZero() })
	first := s.Get(ctx)
	if first.Value != 10 || first.Err != nil || calls.Load() != 1 {
		t.Fatalf("after the first measurement: %+v, %d calls", first, calls.Load())
	}
	waitFor(t, "a second measurement after Every", func() bool { return s.Get(ctx).Value == 20 })
	waitFor(t, "a failed measurement", func() bool { return s.Get(ctx).Err != nil })
	if calls.Load() != 3 {
		t.Errorf("%d measurements, want 3", calls.Load())
	}
}

func TestDirSizeCountsBlocksAndHardLinksOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("blocks and hard links are counted on Linux")
	}
	dir := t.TempDir()
	if n, err := cluster.DirSize(context.Background(), filepath.Join(dir, "mirrors")); n != 0 || err != nil {
		t.Errorf("missing folder: %d, %v; want 0, nil", n, err)
	}
	mirrors := filepath.Join(dir, "mirrors", "o", "r.git")
	if err := os.MkdirAll(mirrors, 0o755); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(mirrors, "pack")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := cluster.DirSize(context.Background(), filepath.Join(dir, "mirrors"))
	if err != nil || base < 1<<20 || base > 1<<20+64<<10 {
		t.Fatalf("one 1 MiB file: %d, %v", base, err)
	}
	if err := os.Link(big, filepath.Join(mirrors, "pack-link")); err != nil {
		t.Fatal(err)
	}
	if n, _ := cluster.DirSize(context.Background(), filepath.Join(dir, "mirrors")); n != base {
		t.Errorf("with a hard link: %d, want %d (counted once)", n, base)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cluster.DirSize(ctx, filepath.Join(dir, "mirrors")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
	free, err := cluster.FreeBytes(dir)
	if err != nil || free <= 0 {
		t.Errorf("FreeBytes = %d, %v", free, err)
	}
	if _, err := cluster.FreeBytes(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("FreeBytes of a missing folder did not fail")
	}
}
