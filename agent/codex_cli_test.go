//go:build unix

package agent_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// These tests run the real Codex CLI, installed by scripts/install-agents, against a scripted OpenAI
// Responses API on 127.0.0.1.

func codexOptions(t *testing.T, srv *modeltest.ResponsesServer, dir, prompt string) agent.Options {
	return agent.Options{Workdir: dir, Prompt: prompt, Model: "gpt-5.5",
		Executable:  agentBinary(t, "codex", "codex", "@openai/codex@0.169.0"),
		Credentials: map[string]string{"OPENAI_API_KEY": "sk-modeltest", "OPENAI_BASE_URL": srv.URL + "/v1"}}
}

func TestCodexCLIWritesAndRuns(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewResponsesServer(t,
		modeltest.AddFile("hello.txt", "hello from the model\n"),
		modeltest.ExecCommand("echo hi > ran.txt"),
		modeltest.Step{Text: "Wrote hello.txt and ran a command."},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	// The prompt starts with "-": it must reach the model as the prompt, not be read as a flag.
	run := runAgent(ctx, t, agent.Codex{}, codexOptions(t, srv, dir,
		"--help is not a flag here: create hello.txt, then run a command."))

	reqs := srv.Requests()
	logRequests(t, run, reqs)
	if run.Err != nil {
		t.Fatalf("codex: %v", run.Err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "hello.txt")); err != nil || string(got) != "hello from the model\n" {
		t.Errorf("hello.txt = %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "ran.txt")); err != nil || string(got) != "hi\n" {
		t.Errorf("ran.txt = %q, %v", got, err)
	}
	var patched, ran bool
	for _, e := range run.Events {
		patched = patched || e.Type == agent.EventToolResult && e.Tool == "file_change" && !e.IsError
		ran = ran || e.Type == agent.EventToolResult && e.Tool == "command_execution" && !e.IsError
	}
	if !patched || !ran {
		t.Errorf("events lack a file change (%v) or a command's result (%v): %+v", patched, ran, run.Events)
	}
	r := run.Result
	if !r.OK || r.Summary != "Wrote hello.txt and ran a command." || r.Turns != 1 ||
		r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 {
		t.Errorf("result = %+v", r)
	}
	var turns int
	for _, r := range reqs {
		if r.Step < 0 {
			continue
		}
		turns++
		if r.Step == 0 && !bytes.Contains(r.Body, []byte(`"text":"--help is not a flag here`)) {
			t.Error("the first turn does not carry the prompt as user text")
		}
		if r.Headers.Get("Authorization") != "set" {
			t.Errorf("turn %d has no Authorization", r.Step)
		}
	}
	if turns != 3 {
		t.Errorf("%d agent turns, want 3", turns)
	}
}

func TestCodexCLIAuthenticationError(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	// A wrong key stays wrong: every attempt gets a 401.
	srv := modeltest.NewResponsesServer(t, repeat(modeltest.Step{Status: 401}, 20)...)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	run := runAgent(ctx, t, agent.Codex{}, codexOptions(t, srv, dir, "Create hello.txt."))

	if turns := gaveUp(t, run, srv.Requests(), 5*time.Second); turns != 1 {
		t.Errorf("%d agent turns, want 1: a 401 must not be retried", turns)
	}
	if run.Err == nil {
		t.Error("exit status 0 after a 401")
	}
	r := run.Result
	if r.OK || !strings.Contains(r.Error, "401") {
		t.Errorf("result = %+v, want a failure that mentions 401", r)
	}
}

func TestCodexCLIHangIsKilled(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewResponsesServer(t, modeltest.Step{Hang: true})
	testHangIsKilled(t, srv.Requests, func(ctx context.Context) cliRun {
		return runAgent(ctx, t, agent.Codex{}, codexOptions(t, srv, dir, "Create hello.txt."))
	})
}

// testHangIsKilled runs a CLI whose first agent turn never gets an answer, and ends the run (its
// wall-clock timeout, as the runner's) a few seconds after that turn reached the server: however long
// the CLI took to start on a loaded machine, the hang is what the run ends on. The whole process group
// must be gone within WaitDelay, with exit status not 0 and a result that is not OK.
func testHangIsKilled(t *testing.T, requests func() []modeltest.Request, run func(context.Context) cliRun) {
	t.Helper()
	const hang = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	killed := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			for _, r := range requests() {
				if r.Step == 0 {
					select {
					case <-time.After(time.Until(r.Time.Add(hang))):
						killed <- time.Now()
						cancel()
					case <-ctx.Done():
					}
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	r := run(ctx)

	logRequests(t, r, requests())
	var at time.Time
	select {
	case at = <-killed:
	default:
		t.Fatalf("the run ended without its first agent turn hanging for %v: %v", hang, r.Err)
	}
	if r.Err == nil {
		t.Error("exit status 0 for a killed run")
	}
	end := r.Start.Add(r.Elapsed)
	t.Logf("killed %v after the hang began; gone %v after the kill", hang, end.Sub(at).Round(time.Millisecond))
	if end.Sub(at) > 6*time.Second { // WaitDelay is 5 s
		t.Errorf("the run took %v to end after it was killed", end.Sub(at))
	}
	if r.Result.OK || r.Result.Error == "" {
		t.Errorf("result = %+v, want not OK with an error", r.Result)
	}
}
