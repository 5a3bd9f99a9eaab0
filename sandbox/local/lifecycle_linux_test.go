//go:build linux

package local_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/sandboxtest"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/local"
)

func TestProviderName(t *testing.T) {
	if got := local.New(local.Options{}).Name(); got != "local" {
		t.Errorf("Name() = %q", got)
	}
}

func TestInvalidOptionsFailCreate(t *testing.T) {
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{{"relative/bin"}, {"/a:/b"}} {
		opts := local.Options{ExtraPath: extra}
		if err := opts.Validate(); err == nil {
			t.Errorf("Validate accepted ExtraPath %q", extra)
		}
		sb, err := local.New(opts).Create(t.Context(), sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: ws})
		if err == nil {
			_ = sb.Destroy(t.Context())
			t.Errorf("Create accepted ExtraPath %q", extra)
		}
	}
	if err := (local.Options{ExtraPath: []string{"/opt/agents/claude/node_modules/.bin"}}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// Each sandbox gets its own HOME, XDG folders and TMPDIR, existing, private and writable.
func TestHomeAndTmpArePerTask(t *testing.T) {
	script := `for d in "$HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR" "$TMPDIR"; do
		test -d "$d" && test -w "$d" || { echo "$d missing or read-only" >&2; exit 1; }
	done
	echo state > "$XDG_CONFIG_HOME/agent.json"
	printf '%s\n%s\n' "$HOME" "$TMPDIR"`
	var homes []string
	for range 2 {
		s := newSandbox(t, local.Options{})
		var out, errOut bytes.Buffer
		code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"sh", "-c", script}, Stdout: &out, Stderr: &errOut})
		if code != 0 || err != nil {
			t.Fatalf("Exec = %d, %v; stderr %s", code, err, errOut.String())
		}
		got := strings.Fields(out.String())
		want := []string{filepath.Join(s.spec.TaskDir, "home"), filepath.Join(s.spec.TaskDir, "tmp")}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("HOME, TMPDIR = %v, want %v", got, want)
		}
		for _, dir := range []string{want[0], want[1], filepath.Join(want[0], ".config"), filepath.Join(want[0], ".local/state")} {
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o700 {
				t.Errorf("%s has mode %v, want 0700", dir, perm)
			}
		}
		homes = append(homes, got[0])
	}
	if homes[0] == homes[1] {
		t.Errorf("two sandboxes share HOME %s", homes[0])
	}
}

func TestDestroy(t *testing.T) {
	s := newSandbox(t, local.Options{})
	ws, taskDir := s.Workspace(), s.spec.TaskDir
	touch(t, filepath.Join(ws, "work.txt"))
	// Read-only folders, as Go's module cache leaves them, must not stop the cleanup.
	code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"sh", "-c",
		`mkdir -p "$HOME/go/pkg/mod/x@v1" "$TMPDIR/t" && touch "$HOME/go/pkg/mod/x@v1/f" && chmod -R a-w "$HOME/go" "$TMPDIR/t"`}})
	if code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v", code, err)
	}

	for i := range 2 {
		if err := s.Destroy(t.Context()); err != nil {
			t.Fatalf("Destroy #%d: %v", i+1, err)
		}
	}
	assertGone(t, filepath.Join(taskDir, "home"))
	assertGone(t, filepath.Join(taskDir, "tmp"))
	if _, err := os.Stat(filepath.Join(ws, "work.txt")); err != nil {
		t.Errorf("the workspace lost its file: %v", err)
	}
	if _, err := os.Stat(taskDir); err != nil {
		t.Errorf("the task dir is gone: %v", err)
	}

	code, err = s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"true"}})
	if code != -1 || !errors.Is(err, sandbox.ErrDestroyed) {
		t.Errorf("Exec after Destroy = %d, %v; want -1 and ErrDestroyed", code, err)
	}
}

func TestCreate(t *testing.T) {
	p := local.New(local.Options{})
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec sandbox.Spec
	}{
		{"workspace is the task dir", sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: taskDir}},
		{"workspace is the home folder", sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: filepath.Join(taskDir, "home")}},
		{"workspace inside tmp", sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: filepath.Join(taskDir, "tmp/repo")}},
		{"missing workspace", sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: filepath.Join(taskDir, "nope")}},
		{"missing task dir", sandbox.Spec{TaskID: "t", TaskDir: filepath.Join(taskDir, "nope"), Workspace: ws}},
		{"relative workspace", sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: "repo"}},
		{"no task id", sandbox.Spec{TaskDir: taskDir, Workspace: ws}},
		{"bad env", sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: ws, Env: map[string]string{"A=B": ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range []string{"home", "tmp/repo"} {
				_ = os.MkdirAll(filepath.Join(taskDir, d), 0o700)
			}
			if sb, err := p.Create(t.Context(), tt.spec); err == nil {
				_ = sb.Destroy(t.Context())
				t.Fatal("Create accepted the spec")
			}
			if _, err := os.Stat(ws); err != nil {
				t.Fatalf("a refused Create touched the workspace: %v", err)
			}
		})
	}
	if _, err := p.Create(t.Context(), sandbox.Spec{TaskDir: taskDir, Workspace: ws}); sesame.ErrorCode(err) != sesame.EINVALID {
		t.Errorf("no task id: %v, want an EINVALID error", err)
	}

	// Leftovers of an earlier sandbox on the same task dir are replaced.
	stale := filepath.Join(taskDir, "home", "stale")
	touch(t, stale)
	sb, err := p.Create(t.Context(), sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(context.Background())
	assertGone(t, stale)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Create(ctx, sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: ws}); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context = %v", err)
	}
}

func TestCreateWithoutBubblewrap(t *testing.T) {
	p := local.New(local.Options{Bwrap: "no-such-bwrap-here"})
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := p.Create(t.Context(), sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: ws})
	if sesame.ErrorCode(err) != sesame.EUNAVAILABLE || !strings.Contains(err.Error(), "apt-get install bubblewrap") {
		t.Fatalf("Create without bubblewrap = %v; want EUNAVAILABLE saying how to install it", err)
	}
	assertGone(t, filepath.Join(taskDir, "home"))
}

// Many Execs and a Destroy at once: every Exec returns, each either finished or ErrDestroyed.
func TestConcurrentExecAndDestroy(t *testing.T) {
	s := newSandbox(t, local.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			var out bytes.Buffer
			argv := []string{"sh", "-c", "echo hi; sleep 0.05; echo bye"}
			if i%4 == 0 {
				argv = []string{"sleep", "300"}
			}
			code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: argv, Stdout: &out, Stderr: &out})
			switch {
			case err == nil && code == 0 && out.String() == "hi\nbye\n":
			case errors.Is(err, sandbox.ErrDestroyed) && code == -1:
			default:
				errs <- errors.New("unexpected result: " + out.String() + " " + errString(err))
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	var dwg sync.WaitGroup
	for range 3 {
		dwg.Go(func() {
			if err := s.Destroy(t.Context()); err != nil {
				errs <- err
			}
		})
	}
	dwg.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.assertNoProcesses(t)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// The overlap check sees through symlinks: a workspace reached through a link to the home folder
// is refused (Destroy would delete it).
func TestCreateRefusesAWorkspaceLinkedToHome(t *testing.T) {
	p := local.New(local.Options{})
	taskDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(taskDir, "home"), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "repo")
	if err := os.Symlink(filepath.Join(taskDir, "home"), link); err != nil {
		t.Fatal(err)
	}
	if sb, err := p.Create(t.Context(), sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: link}); err == nil {
		_ = sb.Destroy(t.Context())
		t.Fatal("Create accepted a workspace that is the home folder through a symlink")
	}
}

// Where bubblewrap cannot make namespaces (user namespaces forbidden), Create refuses with its words
// and how to allow them, rather than a task failing later. The stand-in for such a host is a
// bubblewrap that fails as the real one does there.
func TestCreateWhereNamespacesAreForbidden(t *testing.T) {
	fake := filepath.Join(sandboxtest.TaskBase(t), "bwrap")
	script := "#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	p := local.New(local.Options{Bwrap: fake})
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := p.Create(t.Context(), sandbox.Spec{TaskID: "t", TaskDir: taskDir, Workspace: ws, Policy: sandbox.Policy{Enabled: true}})
	if sesame.ErrorCode(err) != sesame.EUNAVAILABLE || !strings.Contains(err.Error(), "No permissions to create new namespace") ||
		!strings.Contains(err.Error(), "user.max_user_namespaces") {
		t.Fatalf("Create = %v; want EUNAVAILABLE with bubblewrap's words and how to allow user namespaces", err)
	}
}
