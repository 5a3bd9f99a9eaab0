//go:build linux

package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/local"
)

// testGrace is the KillGrace the tests run with.
const testGrace = 300 * time.Millisecond

// markerKey is set in every test sandbox's Spec.Env, with a value unique to the test, so that the
// test can find every process the sandbox started by reading /proc/*/environ, wherever it moved.
const markerKey = "SESAME_TEST_MARKER"

type testSandbox struct {
	*local.Sandbox
	spec   sandbox.Spec
	marker string
}

// newSandbox creates a sandbox in a fresh task directory with a workspace at {TaskDir}/repo. It
// kills whatever the test's processes left behind when the test ends.
func newSandbox(t *testing.T, opts local.Options) *testSandbox {
	t.Helper()
	if opts.KillGrace == 0 {
		opts.KillGrace = testGrace
	}
	return newSandboxWith(t, local.New(opts), sandbox.Policy{})
}

// newSandboxWith creates a sandbox of p with policy, as newSandbox does.
func newSandboxWith(t *testing.T, p *local.Provider, policy sandbox.Policy) *testSandbox {
	t.Helper()
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := randomHex(t)
	spec := sandbox.Spec{
		TaskID:    "task-" + marker,
		TaskDir:   taskDir,
		Workspace: ws,
		Env:       map[string]string{markerKey: marker},
		Policy:    policy,
	}
	sb, err := p.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		for _, pid := range markedProcesses(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if err := sb.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	return &testSandbox{Sandbox: sb.(*local.Sandbox), spec: spec, marker: marker}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// markedProcesses lists the live processes whose environment carries marker.
func markedProcesses(marker string) []int {
	want := []byte(markerKey + "=" + marker + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && f[0] == "Z" {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// assertNoProcesses fails the test if a process of the sandbox is still alive. A process already
// killed may take the kernel a moment to tear down (the sandbox's inner bwrap, in a session of its
// own, dies with its pid namespace after the leader), so it is given up to a second to be gone.
func (s *testSandbox) assertNoProcesses(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		pids := markedProcesses(s.marker)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes still running a second after Exec returned: %v", describe(pids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(pids []int) []string {
	var out []string
	for _, pid := range pids {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		out = append(out, strconv.Itoa(pid)+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

// lines is an io.Writer that delivers each complete line on C as it is written.
type lines struct {
	mu  sync.Mutex
	buf []byte
	C   chan string
}

func newLines() *lines { return &lines{C: make(chan string, 1000)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.C <- string(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

// waitLines waits until every line of want has been written, in any order, failing the test after
// a timeout. Other lines are dropped.
func (l *lines) waitLines(t *testing.T, want ...string) {
	t.Helper()
	missing := map[string]bool{}
	for _, w := range want {
		missing[w] = true
	}
	timeout := time.After(10 * time.Second)
	for len(missing) > 0 {
		select {
		case got := <-l.C:
			delete(missing, got)
		case <-timeout:
			t.Fatalf("lines %v not written within 10s", slices.Collect(maps.Keys(missing)))
		}
	}
}

type execResult struct {
	code int
	err  error
	at   time.Time
}

// execAsync runs req in the background; the result arrives on the returned channel.
func execAsync(ctx context.Context, s sandbox.Sandbox, req sandbox.ExecRequest) <-chan execResult {
	ch := make(chan execResult, 1)
	go func() {
		code, err := s.Exec(ctx, req)
		ch <- execResult{code, err, time.Now()}
	}()
	return ch
}

// receive waits for an Exec's result, failing the test after d.
func receive(t *testing.T, ch <-chan execResult, d time.Duration) execResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		t.Fatalf("Exec did not return within %v", d)
		return execResult{}
	}
}

func mkdir(path string) error { return os.Mkdir(path, 0o755) }
