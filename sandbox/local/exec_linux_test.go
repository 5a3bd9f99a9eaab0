//go:build linux

package local_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/local"
)

func TestExecExitCodes(t *testing.T) {
	s := newSandbox(t, local.Options{})
	tests := []struct {
		name     string
		argv     []string
		wantCode int
		wantErr  func(error) bool
	}{
		{name: "success", argv: []string{"true"}, wantCode: 0},
		{name: "failure is not an error", argv: []string{"sh", "-c", "exit 3"}, wantCode: 3},
		{name: "exit 255", argv: []string{"sh", "-c", "exit 255"}, wantCode: 255},
		// Under bubblewrap, as in a shell, a command killed by signal N exits 128+N.
		{name: "killed by a signal", argv: []string{"sh", "-c", "kill -KILL $$"}, wantCode: 137},
		{
			name: "program not found", argv: []string{"no-such-program-here"}, wantCode: -1,
			wantErr: func(err error) bool { return errors.Is(err, exec.ErrNotFound) },
		},
		{
			name: "no argv", argv: nil, wantCode: -1,
			wantErr: func(err error) bool { return sesame.ErrorCode(err) == sesame.EINVALID },
		},
		{
			name: "invalid env", argv: []string{"true"}, wantCode: -1,
			wantErr: func(err error) bool { return sesame.ErrorCode(err) == sesame.EINVALID },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sandbox.ExecRequest{Argv: tt.argv}
			if tt.name == "invalid env" {
				req.Env = map[string]string{"A=B": "c"}
			}
			code, err := s.Exec(t.Context(), req)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (err %v)", code, tt.wantCode, err)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != nil && (err == nil || !tt.wantErr(err)):
				t.Errorf("err = %v, not the expected error", err)
			}
		})
	}
}

// A process that prints a line and then waits for the test to react proves the line is delivered
// while the process runs, not at exit.
func TestExecStreamsOutputAsProduced(t *testing.T) {
	s := newSandbox(t, local.Options{})
	out, errOut := newLines(), newLines()
	done := execAsync(t.Context(), s, sandbox.ExecRequest{
		Argv: []string{"sh", "-c", `
			echo one
			while [ ! -e go1 ]; do sleep 0.01; done
			echo two >&2
			while [ ! -e go2 ]; do sleep 0.01; done
			echo three`},
		Stdout: out,
		Stderr: errOut,
	})
	out.waitLines(t, "one")
	touch(t, filepath.Join(s.Workspace(), "go1"))
	errOut.waitLines(t, "two")
	select {
	case r := <-done:
		t.Fatalf("Exec returned before the process was told to finish: %+v", r)
	default:
	}
	touch(t, filepath.Join(s.Workspace(), "go2"))
	r := receive(t, done, 10*time.Second)
	if r.code != 0 || r.err != nil {
		t.Fatalf("Exec = %d, %v", r.code, r.err)
	}
	// Complete when Exec returns: the last line is already there.
	select {
	case got := <-out.C:
		if got != "three" {
			t.Fatalf("last line = %q", got)
		}
	default:
		t.Fatal("the last line was not delivered before Exec returned")
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExecOutputStreams(t *testing.T) {
	s := newSandbox(t, local.Options{})
	script := []string{"sh", "-c", "echo a; echo b >&2; echo c; echo d >&2"}

	var stdout, stderr bytes.Buffer
	if code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: script, Stdout: &stdout, Stderr: &stderr}); code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if stdout.String() != "a\nc\n" || stderr.String() != "b\nd\n" {
		t.Errorf("separate writers: stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	var both bytes.Buffer // not safe for concurrent use: Exec must serialise
	if code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: script, Stdout: &both, Stderr: &both}); code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if both.String() != "a\nb\nc\nd\n" {
		t.Errorf("one writer for both: %q, want the streams interleaved in order", both.String())
	}

	stdout.Reset()
	if code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: script, Stdout: &stdout}); code != 0 || err != nil {
		t.Fatalf("Exec with nil Stderr = %d, %v", code, err)
	}
	if stdout.String() != "a\nc\n" {
		t.Errorf("nil Stderr: stdout %q", stdout.String())
	}
	if code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: script}); code != 0 || err != nil {
		t.Fatalf("Exec with no writers = %d, %v", code, err)
	}
}

// Two writers sharing an unsynchronised counter, fed a big output on both streams: the race
// detector checks that Exec never calls them concurrently.
func TestExecSerialisesWrites(t *testing.T) {
	s := newSandbox(t, local.Options{})
	var total int
	stdout, stderr := &countingWriter{total: &total}, &countingWriter{total: &total}
	code, err := s.Exec(t.Context(), sandbox.ExecRequest{
		Argv:   []string{"sh", "-c", "head -c 3000000 /dev/zero & head -c 2000000 /dev/zero >&2; wait"},
		Stdout: stdout,
		Stderr: stderr,
	})
	if code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if stdout.n != 3000000 || stderr.n != 2000000 || total != 5000000 {
		t.Fatalf("got %d bytes on stdout and %d on stderr, %d in all", stdout.n, stderr.n, total)
	}
}

type countingWriter struct {
	n     int
	total *int // shared with another countingWriter, without a lock
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	*w.total += len(p)
	return len(p), nil
}

func TestExecStdin(t *testing.T) {
	s := newSandbox(t, local.Options{})
	in := strings.Repeat("line of input\n", 100000) // bigger than a pipe buffer
	var out bytes.Buffer
	code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"cat"}, Stdin: strings.NewReader(in), Stdout: &out})
	if code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if out.String() != in {
		t.Errorf("cat echoed %d bytes, want %d", out.Len(), len(in))
	}

	out.Reset()
	code, err = s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"cat"}, Stdout: &out})
	if code != 0 || err != nil || out.Len() != 0 {
		t.Errorf("nil Stdin: Exec = %d, %v, output %q; want an empty stdin", code, err, out.String())
	}

	// A reader that never ends must not hold Exec once the process is done.
	pr, pw := io.Pipe()
	defer pw.Close()
	start := time.Now()
	code, err = s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"true"}, Stdin: pr})
	if code != 0 || err != nil {
		t.Fatalf("blocking stdin: Exec = %d, %v", code, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("blocking stdin: Exec took %v", d)
	}
}

func TestExecEnvironmentIsAllowlisted(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "ghs_host_token_must_not_leak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws_host_secret_must_not_leak")
	t.Setenv("SESAME_DATABASE_URL", "postgres://host-secret")
	bin := t.TempDir()
	s := newSandbox(t, local.Options{ExtraPath: []string{bin}})
	s.spec.Env["ANTHROPIC_API_KEY"] = "ignored: Create copied Spec.Env"

	var out bytes.Buffer
	code, err := s.Exec(t.Context(), sandbox.ExecRequest{
		Argv:   []string{"env"},
		Env:    map[string]string{"REQUEST_VAR": "r", "TERM": "xterm"},
		Stdout: &out,
	})
	if code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	for _, secret := range []string{"ghs_host_token", "aws_host_secret", "host-secret", "ignored"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the child's environment contains %q:\n%s", secret, out.String())
		}
	}
	home := s.Home()
	want := []string{
		"CI=true",
		"GIT_TERMINAL_PROMPT=0",
		"HOME=" + home,
		"LANG=C.UTF-8",
		"PATH=" + bin + ":" + local.DefaultPath,
		"PWD=" + s.Workspace(),
		"REQUEST_VAR=r",
		markerKey + "=" + s.marker,
		"TERM=xterm",
		"TMPDIR=" + filepath.Join(s.spec.TaskDir, "tmp"),
		"XDG_CACHE_HOME=" + home + "/.cache",
		"XDG_CONFIG_HOME=" + home + "/.config",
		"XDG_DATA_HOME=" + home + "/.local/share",
		"XDG_RUNTIME_DIR=" + home + "/.run",
		"XDG_STATE_HOME=" + home + "/.local/state",
	}
	slices.Sort(want)
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("child environment (-want +got):\n%s", diff)
	}
}

// Programs are looked up in the sandbox's PATH, never the host's.
func TestExecUsesTheSandboxPath(t *testing.T) {
	agentBin, hostBin := t.TempDir(), t.TempDir()
	writeScript(t, filepath.Join(agentBin, "agent-cli"), "#!/bin/sh\necho agent ran in \"$PWD\"\n")
	writeScript(t, filepath.Join(hostBin, "host-only-tool"), "#!/bin/sh\necho host tool\n")
	t.Setenv("PATH", hostBin+":"+os.Getenv("PATH"))
	s := newSandbox(t, local.Options{ExtraPath: []string{agentBin}})

	var out bytes.Buffer
	if code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"agent-cli"}, Stdout: &out}); code != 0 || err != nil {
		t.Fatalf("Exec(agent-cli) = %d, %v", code, err)
	}
	if got, want := out.String(), "agent ran in "+s.Workspace()+"\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"host-only-tool"}}); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Exec(host-only-tool) = %d, %v; want exec.ErrNotFound", code, err)
	}
}

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestExecDir(t *testing.T) {
	s := newSandbox(t, local.Options{})
	ws := s.Workspace()
	if err := os.MkdirAll(filepath.Join(ws, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(s.spec.TaskDir, filepath.Join(ws, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(ws, "inner")); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(ws, "file"))
	tests := []struct {
		name, dir, want string
	}{
		{name: "workspace", dir: "", want: ws},
		{name: "subfolder", dir: "sub/deeper", want: filepath.Join(ws, "sub/deeper")},
		{name: "symlink inside the workspace", dir: "inner", want: filepath.Join(ws, "sub")},
		{name: "parent", dir: ".."},
		{name: "grandparent", dir: "../.."},
		{name: "escape through a subfolder", dir: "sub/../../.."},
		{name: "absolute", dir: "/etc"},
		{name: "symlink out of the workspace", dir: "escape"},
		{name: "missing", dir: "nope"},
		{name: "a file", dir: "file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"pwd", "-P"}, Dir: tt.dir, Stdout: &out})
			if tt.want == "" {
				if code != -1 || sesame.ErrorCode(err) != sesame.EINVALID {
					t.Fatalf("Exec in %q = %d, %v; want -1 and an EINVALID error", tt.dir, code, err)
				}
				return
			}
			if code != 0 || err != nil {
				t.Fatalf("Exec in %q = %d, %v", tt.dir, code, err)
			}
			if got := strings.TrimSpace(out.String()); got != tt.want {
				t.Errorf("pwd = %q, want %q", got, tt.want)
			}
		})
	}
}
