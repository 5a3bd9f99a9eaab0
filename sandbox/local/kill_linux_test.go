//go:build linux

package local_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/local"
)

// tree starts two background sleeps and a grandchild that ignores SIGTERM, then waits; it prints
// "ready" once everything runs.
const tree = `
	sleep 300 &
	sleep 300 &
	sh -c 'trap "" TERM; echo trapped; exec sleep 300' &
	sleep 300 | cat &
	echo ready
	wait`

func startTree(t *testing.T, ctx context.Context, s *testSandbox) <-chan execResult {
	t.Helper()
	out := newLines()
	done := execAsync(ctx, s, sandbox.ExecRequest{Argv: []string{"sh", "-c", tree}, Stdout: out})
	out.waitLines(t, "trapped", "ready")
	// sh, three sleeps, the trapped sleep and cat.
	for deadline := time.Now().Add(5 * time.Second); len(markedProcesses(s.marker)) < 6; {
		if time.Now().After(deadline) {
			t.Fatalf("the tree did not start: %v", describe(markedProcesses(s.marker)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return done
}

func TestExecCancelKillsTheWholeTree(t *testing.T) {
	s := newSandbox(t, local.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := startTree(t, ctx, s)

	start := time.Now()
	cancel()
	r := receive(t, done, testGrace+5*time.Second)
	elapsed := r.at.Sub(start)
	t.Logf("cancel to return: %v (grace %v)", elapsed, testGrace)

	if r.code != -1 || !errors.Is(r.err, context.Canceled) {
		t.Errorf("Exec = %d, %v; want -1 and an error wrapping context.Canceled", r.code, r.err)
	}
	s.assertNoProcesses(t)
	// The command (sh) ends on SIGTERM, and with it its sandbox: the trapped grandchild does not
	// outlive it, even within the grace.
	if elapsed > testGrace+2*time.Second {
		t.Errorf("Exec returned %v after the cancel, want at most about %v", elapsed, testGrace)
	}
}

// A command that ignores SIGTERM gets the whole grace, then SIGKILL.
func TestExecCancelGivesTheGrace(t *testing.T) {
	s := newSandbox(t, local.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	out := newLines()
	done := execAsync(ctx, s, sandbox.ExecRequest{Argv: []string{"sh", "-c", `trap "" TERM; echo ready; while :; do sleep 1; done`}, Stdout: out})
	out.waitLines(t, "ready")
	start := time.Now()
	cancel()
	r := receive(t, done, testGrace+5*time.Second)
	elapsed := r.at.Sub(start)
	if r.code != -1 || !errors.Is(r.err, context.Canceled) {
		t.Errorf("Exec = %d, %v; want -1 and an error wrapping context.Canceled", r.code, r.err)
	}
	s.assertNoProcesses(t)
	if elapsed < testGrace-20*time.Millisecond || elapsed > testGrace+2*time.Second {
		t.Errorf("Exec returned %v after the cancel, want about %v", elapsed, testGrace)
	}
}

// Without a process that ignores SIGTERM, a cancel returns well before the grace is up.
func TestExecDeadline(t *testing.T) {
	s := newSandbox(t, local.Options{KillGrace: 5 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, err := s.Exec(ctx, sandbox.ExecRequest{Argv: []string{"sh", "-c", "sleep 300 & sleep 300"}})
	elapsed := time.Since(start)
	t.Logf("deadline 200ms, returned after %v", elapsed)
	if code != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec = %d, %v; want -1 and an error wrapping context.DeadlineExceeded", code, err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Exec took %v after a 200ms deadline; SIGTERM should have been enough", elapsed)
	}
	s.assertNoProcesses(t)
}

func TestExecAlreadyCancelled(t *testing.T) {
	s := newSandbox(t, local.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	code, err := s.Exec(ctx, sandbox.ExecRequest{Argv: []string{"true"}})
	if code != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Exec = %d, %v; want -1 and an error wrapping context.Canceled", code, err)
	}
}

// A process that moves to a process group of its own (as the jobs of a shell with job control
// do) is still in the session, and the session kill reaches it.
func TestExecCancelReachesOtherProcessGroups(t *testing.T) {
	s := newSandbox(t, local.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	out := newLines()
	done := execAsync(ctx, s, sandbox.ExecRequest{
		Argv: []string{"sh", "-c", `
			perl -e '$| = 1; setpgrp(0, 0) or die; $SIG{TERM} = "IGNORE"; print "moved\n"; sleep 300' &
			wait`},
		Stdout: out,
	})
	out.waitLines(t, "moved")
	groups := map[int]bool{}
	for _, pid := range markedProcesses(s.marker) {
		if pgid, err := syscall.Getpgid(pid); err == nil {
			groups[pgid] = true
		}
	}
	if len(groups) < 2 {
		t.Fatalf("job control did not make a second process group: %v", describe(markedProcesses(s.marker)))
	}
	cancel()
	r := receive(t, done, testGrace+5*time.Second)
	if r.code != -1 || !errors.Is(r.err, context.Canceled) {
		t.Errorf("Exec = %d, %v", r.code, r.err)
	}
	s.assertNoProcesses(t)
}

// What a process leaves running in the background is killed when it exits, and its output is
// complete.
func TestExecKillsLeftoversAtExit(t *testing.T) {
	s := newSandbox(t, local.Options{})
	var out bytes.Buffer
	start := time.Now()
	code, err := s.Exec(t.Context(), sandbox.ExecRequest{
		Argv:   []string{"sh", "-c", "sleep 300 & (trap '' TERM; exec sleep 300) & echo started; exit 7"},
		Stdout: &out,
	})
	elapsed := time.Since(start)
	if code != 7 || err != nil {
		t.Errorf("Exec = %d, %v; want 7, nil", code, err)
	}
	if out.String() != "started\n" {
		t.Errorf("output %q", out.String())
	}
	if elapsed > testGrace+2*time.Second {
		t.Errorf("Exec took %v", elapsed)
	}
	s.assertNoProcesses(t)
}

// A process that leaves the command's session (setsid) still belongs to the sandbox: it dies when
// the command ends, and Exec does not wait for the output it holds.
func TestExecKillsEscapedProcesses(t *testing.T) {
	s := newSandbox(t, local.Options{})
	var out bytes.Buffer
	start := time.Now()
	code, err := s.Exec(t.Context(), sandbox.ExecRequest{
		Argv: []string{"sh", "-c", `
			setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' &
			until [ -s escaped.pid ]; do sleep 0.01; done
			echo done`},
		Stdout: &out,
	})
	elapsed := time.Since(start)
	if code != 0 || err != nil || out.String() != "done\n" {
		t.Errorf("Exec = %d, %v, output %q", code, err, out.String())
	}
	if elapsed > time.Second {
		t.Errorf("Exec took %v with an escaped process holding stdout", elapsed)
	}
	s.assertNoProcesses(t)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDestroyStopsRunningExecs(t *testing.T) {
	s := newSandbox(t, local.Options{})
	first := startTree(t, t.Context(), s)
	second := execAsync(t.Context(), s, sandbox.ExecRequest{Argv: []string{"sleep", "300"}})

	start := time.Now()
	if err := s.Destroy(t.Context()); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	t.Logf("Destroy took %v", time.Since(start))
	for _, done := range []<-chan execResult{first, second} {
		r := receive(t, done, time.Second) // Destroy waited for them
		if r.code != -1 || !errors.Is(r.err, sandbox.ErrDestroyed) {
			t.Errorf("Exec = %d, %v; want -1 and ErrDestroyed", r.code, r.err)
		}
	}
	s.assertNoProcesses(t)
	assertGone(t, s.Home())
}

func TestDestroyGivesUpWithItsContext(t *testing.T) {
	s := newSandbox(t, local.Options{KillGrace: 2 * time.Second})
	out := newLines()
	// The command ignores SIGTERM: it takes the whole grace.
	done := execAsync(t.Context(), s, sandbox.ExecRequest{Argv: []string{"sh", "-c", `trap "" TERM; echo ready; while :; do sleep 1; done`}, Stdout: out})
	out.waitLines(t, "ready")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := s.Destroy(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Destroy = %v, want context.DeadlineExceeded", err)
	}
	if err := s.Destroy(t.Context()); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
	receive(t, done, time.Second)
	s.assertNoProcesses(t)
	assertGone(t, s.Home())
}

// A crashed Sesame takes every process of its sandboxes with it, setsid ones too (Pdeathsig on
// bubblewrap, whose PID namespace dies with it). The test runs a copy of itself that starts
// "sleep 300" and a setsid sleep in a sandbox, and SIGKILLs it.
func TestCrashedParentKillsTheLeader(t *testing.T) {
	if dir := os.Getenv("SESAME_LOCAL_CRASH_HELPER"); dir != "" {
		crashHelper(t, dir)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedParentKillsTheLeader$", "-test.count=1")
	marker := randomHex(t)
	cmd.Env = append(os.Environ(), "SESAME_LOCAL_CRASH_HELPER="+t.TempDir(), "SESAME_LOCAL_CRASH_MARKER="+marker)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 64)
	n, err := stdout.Read(buf)
	if err != nil || strings.TrimSpace(string(buf[:n])) != "ready" {
		t.Fatalf("reading the helper's ready line: %q, %v", buf[:n], err)
	}
	pids := markedProcesses(marker)
	if len(pids) < 3 { // bubblewrap, the sleep, the setsid sleep
		t.Fatalf("the sandbox's processes are not running: %v", describe(pids))
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(markedProcesses(marker)) > 0 {
		if time.Now().After(deadline) {
			left := markedProcesses(marker)
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("processes survived Sesame's death: %v", describe(left))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crashHelper runs inside the helper process: it prints the pid of a sandboxed sleep and blocks.
func crashHelper(t *testing.T, dir string) {
	if err := os.Mkdir(dir+"/repo", 0o755); err != nil {
		t.Fatal(err)
	}
	p := local.New(local.Options{})
	sb, err := p.Create(t.Context(), sandbox.Spec{TaskID: "crash", TaskDir: dir, Workspace: dir + "/repo",
		Env: map[string]string{markerKey: os.Getenv("SESAME_LOCAL_CRASH_MARKER")}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sb.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"sh", "-c", "setsid sleep 300 & sleep 0.2; echo ready; exec sleep 300"}, Stdout: os.Stdout})
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func assertGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists (Lstat: %v)", path, err)
	}
}
