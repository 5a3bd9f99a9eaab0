//go:build unix

package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// Helpers shared by the tests that run the real agent CLIs.

// agentBinary returns the CLI bin installed for the agent called name, failing the test when it is
// missing.
func agentBinary(t *testing.T, name, bin, pkg string) string {
	t.Helper()
	dir := os.Getenv("AGENTS_DIR")
	if dir == "" {
		repo, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(repo, ".agents")
	}
	exe := filepath.Join(dir, name, "node_modules", ".bin", bin)
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("%s is not installed at %s: run scripts/install-agents, or npm install --prefix %s "+
			"--no-audit --no-fund --save-exact %s (%v)", name, exe, filepath.Join(dir, name), pkg, err)
	}
	return exe
}

// runAgent runs the adapter's CLI in o.Workdir the way the runner does: its own HOME and XDG_*
// directories, the adapter's HomeFiles (by path relative to HOME) written there, stdin empty, an
// environment of PATH plus what the adapter returned, its own process group, killed as a whole when
// ctx ends.
func runAgent(ctx context.Context, t *testing.T, a agent.Adapter, o agent.Options) cliRun {
	t.Helper()
	argv, env, err := a.Command(o)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	var homeFiles map[string][]byte
	if hf, ok := a.(agent.HomeFiler); ok {
		if homeFiles, err = hf.HomeFiles(o); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range homeFiles {
		path := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "TERM=dumb", "CI=true",
		"TMPDIR=" + t.TempDir()}
	for _, x := range []struct{ env, path string }{
		{"XDG_CONFIG_HOME", ".config"}, {"XDG_CACHE_HOME", ".cache"},
		{"XDG_DATA_HOME", ".local/share"}, {"XDG_STATE_HOME", ".local/state"},
	} {
		d := filepath.Join(home, x.path)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		environ = append(environ, x.env+"="+d)
	}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = o.Workdir, environ
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	run := cliRun{Start: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := a.NewParser()
	var out bytes.Buffer
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
		run.Events = append(run.Events, p.Feed(sc.Bytes())...)
	}
	run.Err = cmd.Wait()
	run.Elapsed = time.Since(run.Start)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			t.Logf("%s peak RSS: %d MB", a.Name(), ru.Maxrss/1024)
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the CLI left behind in its group
	run.Result, run.Stdout, run.Stderr = p.Result(), out.Bytes(), stderr.Bytes()
	t.Logf("%s exited after %v: %v\nstdout:\n%s\nstderr:\n%s", a.Name(), run.Elapsed.Round(time.Millisecond),
		run.Err, run.Stdout, run.Stderr)
	return run
}

// logRequests logs each request the server saw, relative to the start of the run, and the time to the
// first of them that took a step of the script.
func logRequests(t *testing.T, run cliRun, reqs []modeltest.Request) {
	t.Helper()
	first := time.Time{}
	for _, r := range reqs {
		t.Logf("+%d ms: %s %s?%s step=%d retry=%v body=%d bytes", r.Time.Sub(run.Start).Milliseconds(), r.Method,
			r.Path, r.Query, r.Step, r.Retry, len(r.Body))
		if first.IsZero() && r.Step >= 0 {
			first = r.Time
		}
	}
	if !first.IsZero() {
		t.Logf("start to first model turn: %d ms", first.Sub(run.Start).Milliseconds())
	}
}

// repeat returns n copies of step.
func repeat(step modeltest.Step, n int) []modeltest.Step {
	steps := make([]modeltest.Step, n)
	for i := range steps {
		steps[i] = step
	}
	return steps
}

// gaveUp checks that the run ended, within limit of the first agent turn that got an error, and
// returns how many agent turns it made.
func gaveUp(t *testing.T, run cliRun, reqs []modeltest.Request, limit time.Duration) (turns int) {
	t.Helper()
	logRequests(t, run, reqs)
	var first time.Time
	for _, r := range reqs {
		if r.Step >= 0 {
			turns++
			if first.IsZero() {
				first = r.Time
			}
		}
	}
	if first.IsZero() {
		t.Fatalf("the CLI never reached the model (ran %v): %v", run.Elapsed, run.Err)
	}
	took := run.Start.Add(run.Elapsed).Sub(first)
	t.Logf("gave up %v after the first error", took.Round(time.Millisecond))
	if took > limit {
		t.Errorf("the CLI gave up %v after the error, want at most %v", took, limit)
	}
	return turns
}
