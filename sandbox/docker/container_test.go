package docker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/docker"
)

func TestContainerIsLockedDown(t *testing.T) {
	sb := newSandbox(t, newProvider(t, "test-limits"), sandbox.Policy{Enabled: true}, nil)
	c, err := cli.ContainerInspect(t.Context(), sb.ContainerID())
	if err != nil {
		t.Fatal(err)
	}
	h := c.HostConfig
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"all capabilities dropped", slices.ContainsFunc(h.CapDrop, func(s string) bool { return strings.EqualFold(s, "ALL") }) || len(h.CapDrop) > 10, h.CapDrop},
		{"no-new-privileges", slices.ContainsFunc(h.SecurityOpt, func(s string) bool { return strings.HasPrefix(s, "no-new-privileges") }), h.SecurityOpt},
		{"read-only root", h.ReadonlyRootfs, h.ReadonlyRootfs},
		{"non-root user", c.Config.User == "1000:1000", c.Config.User},
		{"memory", h.Memory == 256<<20, h.Memory},
		{"pids", h.PidsLimit != nil && *h.PidsLimit == 256, h.PidsLimit},
		{"cpus", h.NanoCPUs == 2e9, h.NanoCPUs},
		{"network none", h.NetworkMode == "none", h.NetworkMode},
		{"task label", c.Config.Labels[docker.LabelTask] == sb.spec.TaskID, c.Config.Labels},
		{"instance label", c.Config.Labels[docker.LabelInstance] == "test-limits", c.Config.Labels},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("%s: got %v", ck.name, ck.got)
		}
	}
	// Seen from inside: no capability, a read-only root, a writable /tmp and HOME.
	// Sesame's seccomp filter (secured): no user namespace (Podman's own profile allows them).
	out := mustRun(t, sb, "sh", "-c", "grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status; touch /x 2>&1; touch /tmp/x $HOME/x && echo writable; "+
		"unshare -U true 2>/dev/null && echo USERNS || echo NO-USERNS")
	for _, want := range []string{"CapEff:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2", "Read-only file system", "writable", "NO-USERNS"} {
		if !strings.Contains(out, want) {
			t.Errorf("inside the container, want %q in:\n%s", want, out)
		}
	}
}

func TestEgressThroughTheProxyOnly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the allowed endpoint")
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	var mu sync.Mutex
	var violations []sesame.Violation
	sb := newSandbox(t, newProvider(t, "test-egress"), sandbox.Policy{
		Enabled:   true,
		Endpoints: []string{addr},
	}, func(v sesame.Violation) { mu.Lock(); violations = append(violations, v); mu.Unlock() })

	out := mustRun(t, sb, "wget", "-q", "-O", "-", "http://"+addr+"/")
	if out != "hello from the allowed endpoint" {
		t.Errorf("allowed endpoint through the relay: %q", out)
	}
	code, _, _, err := run(t, sb, sandbox.ExecRequest{Argv: []string{"wget", "-q", "-O", "-", "http://denied.example.com/"}})
	if err != nil || code == 0 {
		t.Errorf("denied host: code %d, err %v; want a failure", code, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		found := slices.ContainsFunc(violations, func(v sesame.Violation) bool {
			return v.Kind == sesame.ViolationNetwork && strings.Contains(v.Target, "denied.example.com")
		})
		mu.Unlock()
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no violation reported for denied.example.com: %+v", violations)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Straight to the host's port, bypassing the proxy: there is no network.
	code, _, _, err = run(t, sb, sandbox.ExecRequest{Argv: []string{"wget", "-Y", "off", "-T", "3", "-q", "-O", "-", "http://" + addr + "/"}})
	if err != nil || code == 0 {
		t.Errorf("direct connection to %s: code %d, err %v; want a failure", addr, code, err)
	}
	_, port, _ := net.SplitHostPort(addr)
	out = mustRun(t, sb, "sh", "-c", "ip -o addr 2>/dev/null | grep -v ' lo ' | grep -c inet || true; cat /proc/net/route | wc -l")
	if !strings.HasPrefix(out, "0\n") {
		t.Errorf("the container has a network besides loopback (port %s):\n%s", port, out)
	}
}

func TestSweepRemovesLeftovers(t *testing.T) {
	instance := "test-sweep-" + strings.ReplaceAll(t.Name(), "/", "-")
	p := newProvider(t, instance)
	left := newSandbox(t, p, sandbox.Policy{}, nil)
	other := newSandbox(t, newProvider(t, instance+"-other"), sandbox.Policy{}, nil)
	n, err := p.Sweep(t.Context(), instance)
	if err != nil || n != 1 {
		t.Fatalf("Sweep: removed %d, err %v; want 1", n, err)
	}
	if _, err := cli.ContainerInspect(t.Context(), left.ContainerID()); err == nil {
		t.Error("the leftover container is still there")
	}
	if _, err := cli.ContainerInspect(t.Context(), other.ContainerID()); err != nil {
		t.Errorf("another instance's container was removed: %v", err)
	}
}

func TestCheck(t *testing.T) {
	if err := newProvider(t, "test-check").Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	p, err := docker.New(docker.Options{Image: "localhost/sesame-no-such-image:1", Init: testInit})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Check(t.Context()); sesame.ErrorCode(err) != sesame.EUNAVAILABLE || !strings.Contains(err.Error(), "sesame-no-such-image") {
		t.Fatalf("Check with a missing image: %v", err)
	}
	p, err = docker.New(docker.Options{Host: "unix:///nonexistent/docker.sock", Image: testImage, Init: testInit})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Check(t.Context()); sesame.ErrorCode(err) != sesame.EUNAVAILABLE || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("Check with no engine: %v", err)
	}
}

// BenchmarkSandbox measures what a task pays for its container: create → first command done (the
// container destroyed after each), the overhead of one more command, and an idle container's memory.
//
//	scripts/test -run '^$' -bench BenchmarkSandbox -benchtime 10x ./sandbox/docker
func BenchmarkSandbox(b *testing.B) {
	p := newProvider(b, "bench-sandbox")
	for _, secure := range []bool{false, true} {
		policy := sandbox.Policy{Enabled: secure}
		name := fmt.Sprintf("secure=%v", secure)
		b.Run(name+"/create-and-first-exec", func(b *testing.B) {
			for b.Loop() {
				sb := newSandbox(b, p, policy, nil)
				mustRun(b, sb, "true")
				if err := sb.Destroy(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/exec", func(b *testing.B) {
			sb := newSandbox(b, p, policy, nil)
			for b.Loop() {
				mustRun(b, sb, "true")
			}
			time.Sleep(500 * time.Millisecond) // idle
			st, err := cli.ContainerStatsOneShot(context.Background(), sb.ContainerID())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Body.Close()
			var v container.StatsResponse
			if err := json.NewDecoder(st.Body).Decode(&v); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(v.MemoryStats.Usage)/(1<<20), "idle-MiB")
		})
	}
}

// A task folder whose path has a comma (which Podman would cut there) is refused with words, and
// nothing is made.
func TestCommaInPathRefused(t *testing.T) {
	p := newProvider(t, "test-comma")
	dir := filepath.Join(t.TempDir(), "a,b")
	ws := filepath.Join(dir, "repo")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := p.Create(t.Context(), sandbox.Spec{TaskID: "comma", TaskDir: dir, Workspace: ws})
	if sesame.ErrorCode(err) != sesame.EINVALID || !strings.Contains(err.Error(), "comma") {
		t.Fatalf("Create with a comma in the path: %v", err)
	}
	if n, err := p.Sweep(t.Context(), "test-comma"); err != nil || n != 0 {
		t.Errorf("Sweep after the refusal: %d containers, %v", n, err)
	}
}

// A keep-alive task's container outlives Destroy, stopped, with what the task wrote in its
// workspace; a sweep keeps it while the task's folder is there and removes it once it is gone.
func TestKeepAliveContainer(t *testing.T) {
	instance := "test-keep"
	p := newProvider(t, instance)
	// What an earlier run of this test left behind (an engine that failed mid-way) is not this run's.
	if _, err := p.Sweep(t.Context(), instance); err != nil {
		t.Fatal(err)
	}
	taskDir := filepath.Join(t.TempDir(), "task")
	ws := filepath.Join(taskDir, "repo")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	sb, err := p.Create(t.Context(), sandbox.Spec{TaskID: "kept", TaskDir: taskDir, Workspace: ws, KeepAlive: true,
		Policy: sandbox.Policy{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := sb.(*docker.Sandbox).ContainerID()
	t.Cleanup(func() { cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true}) })
	if code, err := sb.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"sh", "-c", "echo kept > note; sleep 300 &"}}); code != 0 || err != nil {
		t.Fatalf("exec: %d %v", code, err)
	}
	if err := sb.Destroy(t.Context()); err != nil {
		t.Fatal(err)
	}
	info, err := cli.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatalf("the keep-alive container is gone: %v", err)
	}
	if info.State.Running || info.Config.Labels[docker.LabelKeptWith] != taskDir {
		t.Errorf("kept container: running %v, labels %v", info.State.Running, info.Config.Labels)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "note")); err != nil || string(b) != "kept\n" {
		t.Errorf("the workspace after Destroy: %q %v", b, err)
	}
	if code, err := sb.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"true"}}); !errors.Is(err, sandbox.ErrDestroyed) {
		t.Errorf("exec after Destroy: %d %v", code, err)
	}
	if n, err := p.Sweep(t.Context(), instance); err != nil || n != 0 {
		t.Errorf("a sweep while the task's folder is there removed %d (%v)", n, err)
	}
	if err := os.RemoveAll(taskDir); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Sweep(t.Context(), instance); err != nil || n != 1 {
		t.Errorf("a sweep after the folder went removed %d (%v), want 1", n, err)
	}
	if _, err := cli.ContainerInspect(t.Context(), id); err == nil {
		t.Error("the kept container outlived its folder's sweep")
	}
}
