package sandboxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
)

// CreateFunc makes a sandbox of the provider under test for spec, adding what the provider's tests
// need (the policy, a marker in the environment), and returns Create's result unchanged. Contract
// destroys the sandbox when the test ends.
type CreateFunc func(t *testing.T, spec sandbox.Spec) (sandbox.Sandbox, error)

// Contract runs the cases of the contract in package sandbox against sandboxes made by create, each
// in a fresh task directory with its workspace at {TaskDir}/repo. The commands are POSIX sh and
// busybox, so that they run in any provider's sandbox.
func Contract(t *testing.T, create CreateFunc) {
	cases := []struct {
		name string
		run  func(t *testing.T, create CreateFunc)
	}{
		{"env allowlist", contractEnv},
		{"invalid spec env", contractSpecEnvInvalid},
		{"output complete", contractOutput},
		{"exit code", contractExitCode},
		{"cancel kills the tree", contractCancel},
		{"leftovers killed at exit", contractLeftovers},
		{"destroy idempotent", contractDestroy},
		{"path escapes refused", contractDir},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, create) })
	}
}

// newSpec returns a spec on a fresh task directory and workspace, with env as Spec.Env.
func newSpec(t *testing.T, env map[string]string) sandbox.Spec {
	t.Helper()
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if env == nil {
		env = map[string]string{}
	}
	return sandbox.Spec{TaskID: "contract-" + randomHex(t), TaskDir: taskDir, Workspace: ws, Env: env}
}

// mustCreate makes a sandbox for spec with create and destroys it when the test ends.
func mustCreate(t *testing.T, create CreateFunc, spec sandbox.Spec) sandbox.Sandbox {
	t.Helper()
	sb, err := create(t, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := sb.Destroy(ctx); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	return sb
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// run execs req with its output captured.
func run(ctx context.Context, sb sandbox.Sandbox, req sandbox.ExecRequest) (code int, stdout, stderr string, err error) {
	var o, e bytes.Buffer
	req.Stdout, req.Stderr = &o, &e
	code, err = sb.Exec(ctx, req)
	return code, o.String(), e.String(), err
}

// mustSh runs script with sh -c and fails the test unless it exits 0.
func mustSh(t *testing.T, sb sandbox.Sandbox, script string) string {
	t.Helper()
	code, out, errOut, err := run(t.Context(), sb, sandbox.ExecRequest{Argv: []string{"sh", "-c", script}})
	if code != 0 || err != nil {
		t.Fatalf("sh -c %q = %d, %v; stderr %q", script, code, err, errOut)
	}
	return out
}

// Nothing of the host's environment reaches the sandbox: only the provider's fixed variables,
// Spec.Env and ExecRequest.Env, the last winning.
func contractEnv(t *testing.T, create CreateFunc) {
	canary := "SESAME_CONTRACT_CANARY_" + strings.ToUpper(randomHex(t))
	canaryValue := "leaked-" + randomHex(t)
	t.Setenv(canary, canaryValue)
	spec := newSpec(t, map[string]string{"SPEC_ONLY": "spec", "BOTH": "spec"})
	sb := mustCreate(t, create, spec)

	code, out, errOut, err := run(t.Context(), sb, sandbox.ExecRequest{
		Argv: []string{"env"},
		Env:  map[string]string{"EXEC_ONLY": "exec", "BOTH": "exec"},
	})
	if code != 0 || err != nil {
		t.Fatalf("env = %d, %v; stderr %q", code, err, errOut)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	if v, ok := got[canary]; ok || strings.Contains(out, canaryValue) {
		t.Errorf("the host's %s reached the sandbox (%q); env:\n%s", canary, v, out)
	}
	for k, want := range map[string]string{"SPEC_ONLY": "spec", "EXEC_ONLY": "exec", "BOTH": "exec"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q; env:\n%s", k, got[k], want, out)
		}
	}

	for _, key := range []string{"BAD=KEY", "", "NUL\x00KEY"} {
		code, out, _, err := run(t.Context(), sb, sandbox.ExecRequest{
			Argv: []string{"echo", "ran"},
			Env:  map[string]string{key: "x"},
		})
		if err == nil || code != -1 || out != "" {
			t.Errorf("Exec with env key %q = %d, %v, stdout %q; want -1, an error, and nothing run", key, code, err, out)
		}
	}
}

// An invalid Spec.Env key is refused by Create.
func contractSpecEnvInvalid(t *testing.T, create CreateFunc) {
	spec := newSpec(t, map[string]string{"BAD=KEY": "x"})
	sb, err := create(t, spec)
	if err == nil {
		_ = sb.Destroy(context.Background())
		t.Fatal("Create with Spec.Env key \"BAD=KEY\" succeeded, want an error")
	}
	t.Logf("Create: %v", err)
}

// Every byte of stdout and stderr arrives, each on its own writer, before Exec returns.
func contractOutput(t *testing.T, create CreateFunc) {
	sb := mustCreate(t, create, newSpec(t, nil))
	const outSize, errSize = 2 << 20, 1 << 20
	// Both streams written at the same time, so that a provider that mixes them up shows it.
	script := `(yes o | head -c 2097152) & (yes e | head -c 1048576 >&2) & wait; exit 3`
	code, out, errOut, err := run(t.Context(), sb, sandbox.ExecRequest{Argv: []string{"sh", "-c", script}})
	if code != 3 || err != nil {
		t.Fatalf("Exec = %d, %v; want 3 and no error", code, err)
	}
	if len(out) != outSize || strings.Count(out, "o\n") != outSize/2 {
		t.Errorf("stdout: %d bytes, %d lines \"o\"; want %d bytes of \"o\\n\"", len(out), strings.Count(out, "o\n"), outSize)
	}
	if len(errOut) != errSize || strings.Count(errOut, "e\n") != errSize/2 {
		t.Errorf("stderr: %d bytes, %d lines \"e\"; want %d bytes of \"e\\n\"", len(errOut), strings.Count(errOut, "e\n"), errSize)
	}
}

// A non-zero exit is a code, not an error.
func contractExitCode(t *testing.T, create CreateFunc) {
	sb := mustCreate(t, create, newSpec(t, nil))
	for _, want := range []int{0, 3, 255} {
		code, _, _, err := run(t.Context(), sb, sandbox.ExecRequest{Argv: []string{"sh", "-c", "exit " + strconv.Itoa(want)}})
		if code != want || err != nil {
			t.Errorf("exit %d: Exec = %d, %v; want %d and no error", want, code, err, want)
		}
	}
}

// treeScript starts a child and a grandchild that ignore SIGTERM; each writes a counter to its
// beat file ten times a second for as long as it lives. The top shell waits.
const treeScript = `beat() { i=0; while :; do i=$((i+1)); echo $i > beat.$1; sleep 0.1; done; }
( trap '' TERM; ( beat grandchild ) & beat child ) &
wait`

// readBeats returns the beat files' contents, read from inside the sandbox; ok is false while one
// is missing.
func readBeats(t *testing.T, sb sandbox.Sandbox) (beats string, ok bool) {
	t.Helper()
	code, out, _, err := run(t.Context(), sb, sandbox.ExecRequest{Argv: []string{"cat", "beat.child", "beat.grandchild"}})
	if err != nil {
		t.Fatalf("read the beats: %v", err)
	}
	return out, code == 0
}

// Cancelling an Exec's ctx kills everything it started, including processes that ignore SIGTERM,
// and Exec returns promptly with -1 and the ctx's error.
func contractCancel(t *testing.T, create CreateFunc) {
	sb := mustCreate(t, create, newSpec(t, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{"sh", "-c", treeScript}})
		done <- result{code, err}
	}()

	// Wait for both processes to be beating.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, ok := readBeats(t, sb); ok {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the tree's Exec returned early: %d, %v", r.code, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the tree did not start within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The check below sees a live process; it would pass vacuously if the beats did not advance.
	assertBeating(t, sb)

	start := time.Now()
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not return within 10s of the cancel")
	}
	t.Logf("cancel to return: %v", time.Since(start))
	if r.code != -1 || !errors.Is(r.err, context.Canceled) {
		t.Errorf("Exec = %d, %v; want -1 and an error wrapping context.Canceled", r.code, r.err)
	}

	assertStill(t, sb)
}

// assertBeating fails the test unless the beat files advance within a second.
func assertBeating(t *testing.T, sb sandbox.Sandbox) {
	t.Helper()
	before, _ := readBeats(t, sb)
	time.Sleep(time.Second)
	if after, _ := readBeats(t, sb); after == before {
		t.Fatalf("the beats did not advance in a second: %q", after)
	}
}

// assertStill fails the test if the beat files advance: a live process of the tree keeps advancing
// its counter, and a second is ten beats.
func assertStill(t *testing.T, sb sandbox.Sandbox) {
	t.Helper()
	before, _ := readBeats(t, sb)
	time.Sleep(time.Second)
	if after, _ := readBeats(t, sb); after != before {
		t.Errorf("the tree still runs after Exec returned: beats went from %q to %q", before, after)
	}
}

// leftoverScript leaves a child and a grandchild that ignore SIGTERM running in the background,
// waits until both beat, and exits.
const leftoverScript = `beat() { i=0; while :; do i=$((i+1)); echo $i > beat.$1; sleep 0.1; done; }
( trap '' TERM; ( beat grandchild ) & beat child ) >/dev/null 2>&1 &
while ! [ -s beat.child ] || ! [ -s beat.grandchild ]; do sleep 0.1; done
exit 0`

// What a command leaves running in the background when it exits on its own is killed before Exec
// returns.
func contractLeftovers(t *testing.T, create CreateFunc) {
	sb := mustCreate(t, create, newSpec(t, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{"sh", "-c", leftoverScript}})
	if code != 0 || err != nil {
		t.Fatalf("Exec = %d, %v; want 0 and no error", code, err)
	}
	if _, ok := readBeats(t, sb); !ok {
		t.Fatal("the background processes never beat")
	}
	assertStill(t, sb)
}

// Destroy is idempotent, refuses later Execs with ErrDestroyed and leaves the workspace alone.
func contractDestroy(t *testing.T, create CreateFunc) {
	spec := newSpec(t, nil)
	sb := mustCreate(t, create, spec)
	mustSh(t, sb, "echo kept > kept")
	for i := range 2 {
		if err := sb.Destroy(t.Context()); err != nil {
			t.Fatalf("Destroy #%d: %v", i+1, err)
		}
	}
	code, err := sb.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"true"}})
	if code != -1 || !errors.Is(err, sandbox.ErrDestroyed) {
		t.Errorf("Exec after Destroy = %d, %v; want -1 and an error wrapping ErrDestroyed", code, err)
	}
	b, err := os.ReadFile(filepath.Join(spec.Workspace, "kept"))
	if err != nil || string(b) != "kept\n" {
		t.Errorf("workspace file after Destroy: %q, %v; want \"kept\\n\"", b, err)
	}
}

// A Dir that leaves the workspace is refused with EINVALID, and nothing runs.
func contractDir(t *testing.T, create CreateFunc) {
	sb := mustCreate(t, create, newSpec(t, nil))
	mustSh(t, sb, "mkdir sub && ln -s .. up && ln -s /etc etc && ln -s ../.. sub/up2")
	ran := sb.Workspace() + "/ran"
	tests := []struct{ name, dir string }{
		{"parent", ".."},
		{"parent with slash", "../"},
		{"grandparent", "../.."},
		{"through a subfolder", "sub/../.."},
		{"absolute outside", "/etc"},
		{"absolute workspace", sb.Workspace()},
		{"symlink to parent", "up"},
		{"symlink to /etc", "etc"},
		{"symlink in a subfolder", "sub/up2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _, err := run(t.Context(), sb, sandbox.ExecRequest{
				Argv: []string{"sh", "-c", `echo ran; touch "$1"`, "sh", ran},
				Dir:  tt.dir,
			})
			if code != -1 || sesame.ErrorCode(err) != sesame.EINVALID {
				t.Errorf("Exec in %q = %d, %v; want -1 and an EINVALID error", tt.dir, code, err)
			}
			if out != "" {
				t.Errorf("Exec in %q wrote %q; want nothing run", tt.dir, out)
			}
			if c, _, _, _ := run(t.Context(), sb, sandbox.ExecRequest{Argv: []string{"test", "-e", "ran"}}); c == 0 {
				t.Errorf("Exec in %q ran its command", tt.dir)
				mustSh(t, sb, "rm -f ran")
			}
		})
	}
}
