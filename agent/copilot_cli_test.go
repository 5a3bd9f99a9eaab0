//go:build unix

package agent_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// These tests run the real Copilot CLI, installed by scripts/install-agents, against a scripted model
// server on 127.0.0.1: the Anthropic Messages server the Claude Code tests use, which Copilot talks to
// as a provider of type "anthropic". With a Claude model Copilot's tools are create{path, file_text},
// edit{...} and bash{command, description}.

const copilotVersion = "1.0.102"

var copilotUnpack struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
	took time.Duration
}

// copilotCache returns the folder that holds Copilot's unpacked package (AGENTS_DIR/copilot-cache),
// unpacking it there the first time, the way a worker does once at start: every run then finds it
// and starts at once instead of unpacking 235 MB into its own HOME.
func copilotCache(t *testing.T, exe string) string {
	t.Helper()
	u := &copilotUnpack
	u.once.Do(func() {
		u.dir = filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(exe)))), "copilot-cache")
		index := filepath.Join(u.dir, "pkg", "linux-x64", copilotVersion, "index.js")
		if _, err := os.Stat(index); err == nil {
			return
		}
		start := time.Now()
		cmd := exec.Command(exe, "--binary-version")
		cmd.Env = append(os.Environ(), "COPILOT_SEA_EXTRACT_ONLY=1", agent.EnvCopilotPackageCache+"="+u.dir)
		u.out, u.err = cmd.CombinedOutput()
		u.took = time.Since(start)
		if _, err := os.Stat(index); u.err == nil && err != nil {
			u.err = err
		}
	})
	if u.err != nil {
		t.Fatalf("unpack Copilot into %s: %v\n%s", u.dir, u.err, u.out)
	}
	if u.took > 0 {
		t.Logf("unpacked Copilot into %s in %v", u.dir, u.took.Round(time.Millisecond))
	}
	return u.dir
}

// runCopilot runs Copilot CLI in o.Workdir against srv as an Anthropic provider.
func runCopilot(ctx context.Context, t *testing.T, srv *modeltest.Server, o agent.Options) cliRun {
	t.Helper()
	o.Executable = agentBinary(t, "copilot", "copilot", "@github/copilot@"+copilotVersion)
	o.Credentials = map[string]string{
		"COPILOT_PROVIDER_BASE_URL":  srv.URL,
		"COPILOT_PROVIDER_API_KEY":   "sk-ant-modeltest",
		"COPILOT_PROVIDER_TYPE":      "anthropic",
		agent.EnvCopilotPackageCache: copilotCache(t, o.Executable),
	}
	return runAgent(ctx, t, agent.Copilot{}, o)
}

// firstCopilotTurn returns when the first agent turn reached the server.
func firstCopilotTurn(reqs []modeltest.Request) (time.Time, bool) {
	for _, r := range reqs {
		if r.Method == "POST" && r.Step >= 0 {
			return r.Time, true
		}
	}
	return time.Time{}, false
}

func TestCopilotCLIWritesAndRuns(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewServer(t,
		modeltest.Step{ToolName: "create", ToolInput: map[string]any{
			"path": filepath.Join(dir, "hello.txt"), "file_text": "hello from the model\n"}},
		modeltest.Step{ToolName: "bash", ToolInput: map[string]any{
			"command": "echo hi > ran.txt; echo key=${COPILOT_PROVIDER_API_KEY:-hidden} >> ran.txt", "description": "Run a command"}},
		modeltest.Step{Text: "Wrote hello.txt and ran a command."},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The prompt starts with "-": it must reach the model as the prompt, not be read as a flag.
	run := runCopilot(ctx, t, srv, agent.Options{Workdir: dir, Model: "claude-sonnet-4.6",
		Prompt: "--help is not a flag here: create hello.txt, then run a command."})

	if run.Err != nil {
		t.Fatalf("copilot: %v", run.Err)
	}
	reqs := srv.Requests()
	for _, r := range reqs {
		t.Logf("+%d ms: %s %s?%s step=%d body=%d bytes", r.Time.Sub(run.Start).Milliseconds(), r.Method, r.Path,
			r.Query, r.Step, len(r.Body))
	}
	if first, ok := firstCopilotTurn(reqs); ok {
		t.Logf("start to first model request: %d ms", first.Sub(run.Start).Milliseconds())
	}
	if got, err := os.ReadFile(filepath.Join(dir, "hello.txt")); err != nil || string(got) != "hello from the model\n" {
		t.Errorf("hello.txt = %q, %v", got, err)
	}
	// The key stays out of the environment of the agent's shell.
	if got, err := os.ReadFile(filepath.Join(dir, "ran.txt")); err != nil || string(got) != "hi\nkey=hidden\n" {
		t.Errorf("ran.txt = %q, %v", got, err)
	}
	var wrote, bashResult bool
	for _, e := range run.Events {
		wrote = wrote || e.Type == agent.EventToolCall && e.Tool == "create"
		bashResult = bashResult || e.Type == agent.EventToolResult && e.Tool == "bash" && !e.IsError
	}
	if !wrote || !bashResult {
		t.Errorf("events lack a create call (%v) or a bash result (%v): %+v", wrote, bashResult, run.Events)
	}
	r := run.Result
	if !r.OK || r.Summary != "Wrote hello.txt and ran a command." || r.Turns != 3 {
		t.Errorf("result = %+v", r)
	}
	for _, r := range reqs {
		if r.Step != 0 || r.Retry {
			continue
		}
		if !bytes.Contains(r.Body, []byte(`--help is not a flag here`)) {
			t.Error("the first turn does not carry the prompt")
		}
		if !bytes.Contains(r.Body, []byte(`"model":"claude-sonnet-4.6"`)) {
			t.Errorf("the first turn does not ask for the model given: %.80s", r.Body)
		}
		if r.Headers.Get("X-Api-Key") != "set" {
			t.Error("the first turn has no x-api-key")
		}
	}
}

func TestCopilotCLIAuthenticationError(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewServer(t, modeltest.Step{Status: 401})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	run := runCopilot(ctx, t, srv, agent.Options{Workdir: dir, Model: "claude-sonnet-4.6", Prompt: "Create hello.txt."})

	if ctx.Err() != nil {
		t.Fatalf("the CLI did not give up on a 401 within 60 s")
	}
	if code := exitCode(run.Err); code == 0 || code == -1 {
		t.Errorf("exit status %d after a 401", code)
	}
	var errorEvent bool
	for _, e := range run.Events {
		errorEvent = errorEvent || e.Type == agent.EventError
	}
	if !errorEvent {
		t.Errorf("no error event: %+v", run.Events)
	}
	r := run.Result
	if r.OK || !strings.Contains(r.Error, "401") {
		t.Errorf("result = %+v, want a failure that names the 401", r)
	}
	var posts int
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			posts++
		}
	}
	t.Logf("%d model requests", posts)
}

func TestCopilotCLIHangIsKilled(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewServer(t, modeltest.Step{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	killed := cancelAfterTurn(ctx, cancel, func() bool { _, ok := firstCopilotTurn(srv.Requests()); return ok })

	run := runCopilot(ctx, t, srv, agent.Options{Workdir: dir, Model: "claude-sonnet-4.6", Prompt: "Create hello.txt."})

	at, ok := killed()
	if !ok {
		t.Fatalf("the CLI ended before the timeout: %v", run.Err)
	}
	if run.Err == nil {
		t.Error("exit status 0 for a killed run")
	}
	if took := time.Since(at); took > 6*time.Second { // WaitDelay is 5 s
		t.Errorf("the run ended %v after the timeout", took)
	}
	if run.Result.OK {
		t.Errorf("result = %+v, want not OK", run.Result)
	}
	t.Logf("killed %v after the start; the result says: %s", at.Sub(run.Start).Round(time.Millisecond), run.Result.Error)
}
