//go:build unix

package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// These tests run the real Claude Code CLI, installed by scripts/install-agents, against a scripted
// model server on 127.0.0.1.

// claudeBinary returns the installed CLI, failing the test when it is missing.
func claudeBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AGENTS_DIR")
	if dir == "" {
		repo, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(repo, ".agents")
	}
	exe := filepath.Join(dir, "claude", "node_modules", ".bin", "claude")
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("Claude Code is not installed at %s: run scripts/install-agents (%v)", exe, err)
	}
	return exe
}

// cliRun is what one run of the CLI produced.
type cliRun struct {
	Events  []agent.Event
	Result  agent.Result
	Err     error // from Wait: nil for exit 0
	Stdout  []byte
	Stderr  []byte
	Start   time.Time
	Elapsed time.Duration
}

// runClaude runs the CLI in workdir against srv, the way the runner does: its own HOME and XDG_*
// directories, stdin empty, an environment of PATH plus what the adapter returned, its own process
// group, killed as a whole when ctx ends.
func runClaude(ctx context.Context, t *testing.T, srv *modeltest.Server, o agent.Options) cliRun {
	t.Helper()
	a, _ := agent.Lookup("claude")
	workdir := o.Workdir
	o.Executable = claudeBinary(t)
	o.Credentials = map[string]string{"ANTHROPIC_API_KEY": "sk-ant-modeltest", "ANTHROPIC_BASE_URL": srv.URL}
	argv, env, err := a.Command(o)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	for _, x := range []string{"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"} {
		d := filepath.Join(home, strings.ToLower(strings.TrimPrefix(x, "XDG_")))
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		environ = append(environ, x+"="+d)
	}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = workdir, environ
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
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the CLI left behind in its group
	run.Result, run.Stdout, run.Stderr = p.Result(), out.Bytes(), stderr.Bytes()
	t.Logf("claude exited after %v: %v\nstdout:\n%s\nstderr:\n%s", run.Elapsed.Round(time.Millisecond), run.Err,
		run.Stdout, run.Stderr)
	return run
}

// gitRepo returns a temporary git repository with one commit.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "."},
		{"-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "init"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// firstModelRequest returns when the first agent turn reached the server.
func firstModelRequest(reqs []modeltest.Request) (time.Time, bool) {
	for _, r := range reqs {
		if r.Method == "POST" && r.Path == "/v1/messages" {
			return r.Time, true
		}
	}
	return time.Time{}, false
}

func TestClaudeCLIWritesAndRuns(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewServer(t,
		modeltest.Write(filepath.Join(dir, "hello.txt"), "hello from the model\n"),
		modeltest.Bash("echo hi > ran.txt"),
		modeltest.Step{Text: "Wrote hello.txt and ran a command."},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The prompt starts with "-": it must reach the model as the prompt, not be read as a flag.
	run := runClaude(ctx, t, srv, agent.Options{Workdir: dir, Model: "claude-haiku-4-5",
		Prompt: "--help is not a flag here: create hello.txt, then run a command."})

	if run.Err != nil {
		t.Fatalf("claude: %v", run.Err)
	}
	reqs := srv.Requests()
	for _, r := range reqs {
		t.Logf("+%d ms: %s %s?%s step=%d body=%d bytes", r.Time.Sub(run.Start).Milliseconds(), r.Method, r.Path,
			r.Query, r.Step, len(r.Body))
	}
	if first, ok := firstModelRequest(reqs); ok {
		t.Logf("start to first model request: %d ms", first.Sub(run.Start).Milliseconds())
	}
	if got, err := os.ReadFile(filepath.Join(dir, "hello.txt")); err != nil || string(got) != "hello from the model\n" {
		t.Errorf("hello.txt = %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "ran.txt")); err != nil || string(got) != "hi\n" {
		t.Errorf("ran.txt = %q, %v", got, err)
	}
	var wrote, bashResult bool
	for _, e := range run.Events {
		wrote = wrote || e.Type == agent.EventToolCall && e.Tool == "Write"
		bashResult = bashResult || e.Type == agent.EventToolResult && e.Tool == "Bash" && !e.IsError
	}
	if !wrote || !bashResult {
		t.Errorf("events lack a Write call (%v) or a Bash result (%v): %+v", wrote, bashResult, run.Events)
	}
	r := run.Result
	if !r.OK || r.Summary != "Wrote hello.txt and ran a command." || r.Turns == 0 ||
		r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 {
		t.Errorf("result = %+v", r)
	}
	for _, r := range reqs {
		if r.Step != 0 {
			continue
		}
		if !bytes.Contains(r.Body, []byte(`"text":"--help is not a flag here`)) {
			t.Error("the first turn does not carry the prompt as user text")
		}
		if !bytes.HasPrefix(r.Body, []byte(`{"model":"claude-haiku-4-5"`)) {
			t.Errorf("the first turn does not ask for the model given: %.60s", r.Body)
		}
		if r.Headers.Get("X-Api-Key") != "set" {
			t.Error("the first turn has no x-api-key")
		}
	}
}

func TestClaudeCLIAuthenticationError(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewServer(t, modeltest.Step{Status: 401})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	run := runClaude(ctx, t, srv, agent.Options{Workdir: dir, Prompt: "Create hello.txt."})

	if ctx.Err() != nil {
		t.Fatalf("the CLI did not give up on a 401 within 60 s")
	}
	if run.Err == nil {
		t.Error("exit status 0 after a 401")
	}
	r := run.Result
	if r.OK || !strings.Contains(r.Error, "authentication") {
		t.Errorf("result = %+v, want a failure that mentions authentication", r)
	}
	var posts int
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d model requests, want 1: a 401 must not be retried", posts)
	}
}

func TestClaudeCLIHangIsKilled(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewServer(t, modeltest.Step{Hang: true})
	const timeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	run := runClaude(ctx, t, srv, agent.Options{Workdir: dir, Prompt: "Create hello.txt."})

	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the CLI ended before the timeout: %v", run.Err)
	}
	if run.Err == nil {
		t.Error("exit status 0 for a killed run")
	}
	if limit := timeout + 6*time.Second; run.Elapsed > limit { // WaitDelay is 5 s
		t.Errorf("run took %v after a %v timeout", run.Elapsed, timeout)
	}
	if run.Result.OK {
		t.Errorf("result = %+v, want not OK", run.Result)
	}
	if _, ok := firstModelRequest(srv.Requests()); !ok {
		t.Error("the CLI never reached the model: it hung somewhere else")
	}
}
