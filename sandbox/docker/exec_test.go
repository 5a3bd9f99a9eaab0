package docker_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
)

func TestExecOutputStdinAndExitCode(t *testing.T) {
	sb := newSandbox(t, newProvider(t, "test-exec"), sandbox.Policy{Enabled: true}, nil)

	t.Run("large output on both streams, demultiplexed and complete", func(t *testing.T) {
		code, out, errOut, err := run(t, sb, sandbox.ExecRequest{Argv: []string{"sh", "-c",
			"i=0; while [ $i -lt 3 ]; do head -c 1000000 /dev/zero | tr '\\0' o; head -c 500000 /dev/zero | tr '\\0' e >&2; i=$((i+1)); done; echo end"}})
		if err != nil || code != 0 {
			t.Fatalf("code %d, err %v", code, err)
		}
		if want := strings.Repeat("o", 3000000) + "end\n"; out != want {
			t.Errorf("stdout: %d bytes, want %d", len(out), len(want))
		}
		if errOut != strings.Repeat("e", 1500000) {
			t.Errorf("stderr: %d bytes, want 1500000", len(errOut))
		}
	})
	t.Run("one writer for both streams keeps their order", func(t *testing.T) {
		var both bytes.Buffer
		code, err := sb.Exec(t.Context(), sandbox.ExecRequest{
			Argv:   []string{"sh", "-c", "echo 1; sleep 0.1; echo 2 >&2; sleep 0.1; echo 3"},
			Stdout: &both, Stderr: &both,
		})
		if err != nil || code != 0 || both.String() != "1\n2\n3\n" {
			t.Fatalf("code %d, err %v, output %q", code, err, both.String())
		}
	})
	t.Run("stdin is streamed", func(t *testing.T) {
		in := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
		code, out, _, err := run(t, sb, sandbox.ExecRequest{Argv: []string{"cat"}, Stdin: strings.NewReader(in)})
		if err != nil || code != 0 || out != in {
			t.Fatalf("code %d, err %v, %d bytes back of %d", code, err, len(out), len(in))
		}
	})
	t.Run("no stdin reads as empty", func(t *testing.T) {
		code, out, _, err := run(t, sb, sandbox.ExecRequest{Argv: []string{"sh", "-c", "cat; echo done"}})
		if err != nil || code != 0 || out != "done\n" {
			t.Fatalf("code %d, err %v, out %q", code, err, out)
		}
	})
	t.Run("non-zero exit is a code, not an error", func(t *testing.T) {
		code, _, _, err := run(t, sb, sandbox.ExecRequest{Argv: []string{"sh", "-c", "exit 7"}})
		if err != nil || code != 7 {
			t.Fatalf("code %d, err %v", code, err)
		}
	})
	t.Run("a missing program exits 127", func(t *testing.T) {
		code, _, errOut, err := run(t, sb, sandbox.ExecRequest{Argv: []string{"no-such-program"}})
		if err != nil || code != 127 || !strings.Contains(errOut, "no-such-program") {
			t.Fatalf("code %d, err %v, stderr %q", code, err, errOut)
		}
	})
	t.Run("empty argv is refused", func(t *testing.T) {
		if _, err := sb.Exec(t.Context(), sandbox.ExecRequest{}); sesame.ErrorCode(err) != sesame.EINVALID {
			t.Fatalf("err %v, want EINVALID", err)
		}
	})
}

func TestExecEnvAllowlist(t *testing.T) {
	t.Setenv("SESAME_HOST_SECRET", "host-secret-value")
	sb := newSandbox(t, newProvider(t, "test-env"), sandbox.Policy{}, nil)
	code, out, _, err := run(t, sb, sandbox.ExecRequest{
		Argv: []string{"env"},
		Env:  map[string]string{"REQ_VAR": "from-req", "SPEC_VAR": "overridden"},
	})
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
	for _, want := range []string{"REQ_VAR=from-req\n", "SPEC_VAR=overridden\n", "HOME=/home/sesame\n", "PATH=/usr/local/bin:/usr/bin:/bin\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("env lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "host-secret-value") || strings.Contains(out, "SESAME_HOST_SECRET") {
		t.Errorf("the host's environment leaked:\n%s", out)
	}
	// Without security, no proxy variable is set.
	if strings.Contains(strings.ToLower(out), "proxy") {
		t.Errorf("proxy variables without a proxy:\n%s", out)
	}
	for _, bad := range []map[string]string{{"A=B": "x"}, {"": "x"}, {"K": "a\x00b"}} {
		if _, err := sb.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"true"}, Env: bad}); sesame.ErrorCode(err) != sesame.EINVALID {
			t.Errorf("env %q: err %v, want EINVALID", bad, err)
		}
	}
}

func TestExecDir(t *testing.T) {
	sb := newSandbox(t, newProvider(t, "test-dir"), sandbox.Policy{}, nil)
	ws := sb.Workspace()
	if err := os.MkdirAll(filepath.Join(ws, "sub", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(ws, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(ws, "in")); err != nil {
		t.Fatal(err)
	}
	code, out, _, err := run(t, sb, sandbox.ExecRequest{Argv: []string{"pwd"}, Dir: "sub/dir"})
	if err != nil || code != 0 || out != filepath.Join(ws, "sub", "dir")+"\n" {
		t.Fatalf("code %d, err %v, pwd %q", code, err, out)
	}
	code, out, _, err = run(t, sb, sandbox.ExecRequest{Argv: []string{"pwd"}, Dir: "in"})
	if err != nil || code != 0 || out != filepath.Join(ws, "sub")+"\n" {
		t.Fatalf("symlink inside: code %d, err %v, pwd %q", code, err, out)
	}
	for _, dir := range []string{"..", "../..", "/etc", "sub/../..", "out", "missing"} {
		if _, err := sb.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"pwd"}, Dir: dir}); sesame.ErrorCode(err) != sesame.EINVALID {
			t.Errorf("Dir %q: err %v, want EINVALID", dir, err)
		}
	}
	// The workspace is the user's: files written there land on the host.
	mustRun(t, sb, "sh", "-c", "echo written > file")
	if b, err := os.ReadFile(filepath.Join(ws, "file")); err != nil || string(b) != "written\n" {
		t.Fatalf("file on host: %q, %v", b, err)
	}
}

// sleepers counts the sleep processes in the container.
func sleepers(t *testing.T, sb sandbox.Sandbox) int {
	t.Helper()
	out := mustRun(t, sb, "sh", "-c", "ps -o comm | grep -c '^sleep' || true")
	n := strings.TrimSpace(out)
	return int(n[0] - '0')
}

func TestCancelKillsTheTree(t *testing.T) {
	sb := newSandbox(t, newProvider(t, "test-cancel"), sandbox.Policy{}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	// A child that ignores SIGTERM and its grandchildren, all sleeping. (A double fork with setsid,
	// which reparents to PID 1 in a new session, escapes: see the package notes.)
	code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{"sh", "-c",
		"trap '' TERM; (trap '' TERM; sleep 1001 & sleep 1002) & sleep 1003; wait"}})
	took := time.Since(start)
	if code != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("code %d, err %v; want -1 and DeadlineExceeded", code, err)
	}
	if took > 5*time.Second {
		t.Errorf("Exec returned after %v", took)
	}
	if n := sleepers(t, sb); n != 0 {
		t.Errorf("%d sleep processes survived the cancel", n)
	}

	// What a command leaves in the background is killed when it exits.
	mustRun(t, sb, "sh", "-c", "trap '' TERM; sleep 1004 & exit 0")
	if n := sleepers(t, sb); n != 0 {
		t.Errorf("%d background sleep processes survived their command", n)
	}
}

func TestDestroy(t *testing.T) {
	p := newProvider(t, "test-destroy")
	sb := newSandbox(t, p, sandbox.Policy{Enabled: true}, nil)
	marker := filepath.Join(sb.Workspace(), "keep")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An Exec in flight is interrupted.
	started := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		_, err := sb.Exec(context.Background(), sandbox.ExecRequest{
			Argv: []string{"sh", "-c", "echo up; sleep 1000"}, Stdout: writerFunc(func([]byte) { close(started) }),
		})
		result <- err
	}()
	<-started
	if err := sb.Destroy(t.Context()); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	select {
	case err := <-result:
		if !errors.Is(err, sandbox.ErrDestroyed) {
			t.Errorf("interrupted Exec: %v, want ErrDestroyed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the interrupted Exec did not return")
	}
	if err := sb.Destroy(t.Context()); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
	if _, err := sb.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"true"}}); !errors.Is(err, sandbox.ErrDestroyed) {
		t.Fatalf("Exec after Destroy: %v, want ErrDestroyed", err)
	}
	if _, err := cli.ContainerInspect(t.Context(), sb.ContainerID()); err == nil {
		t.Error("the container is still there")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the workspace was touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(sb.spec.TaskDir, ".docker-sandbox")); !os.IsNotExist(err) {
		t.Errorf("the provider's folder is left: %v", err)
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) {
	if f != nil {
		f(b)
	}
	return len(b), nil
}
