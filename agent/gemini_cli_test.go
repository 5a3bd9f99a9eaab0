//go:build unix

package agent_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// These tests run the real Gemini CLI, installed by scripts/install-agents, against a scripted Gemini
// API on 127.0.0.1.

// exitCode is the exit status of a finished run: 0 for success, -1 when a signal ended it.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// runGemini runs Gemini CLI in o.Workdir against srv.
func runGemini(ctx context.Context, t *testing.T, srv *modeltest.GeminiServer, o agent.Options) cliRun {
	t.Helper()
	o.Executable = agentBinary(t, "gemini", "gemini", "@google/gemini-cli@0.61.0")
	o.Credentials = map[string]string{"GEMINI_API_KEY": "gemini-modeltest", "GOOGLE_GEMINI_BASE_URL": srv.URL}
	return runAgent(ctx, t, agent.Gemini{}, o)
}

// firstGeminiTurn returns when the first agent turn reached the server.
func firstGeminiTurn(reqs []modeltest.Request) (time.Time, bool) {
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, ":streamGenerateContent") {
			return r.Time, true
		}
	}
	return time.Time{}, false
}

func TestGeminiCLIWritesAndRuns(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewGeminiServer(t,
		modeltest.GeminiWrite(filepath.Join(dir, "hello.txt"), "hello from the model\n"),
		modeltest.GeminiShell("echo hi > ran.txt; echo key=${GEMINI_API_KEY:-hidden} >> ran.txt"),
		modeltest.Step{Text: "Wrote hello.txt and ran a command."},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The prompt starts with "-": it must reach the model as the prompt, not be read as a flag.
	run := runGemini(ctx, t, srv, agent.Options{Workdir: dir,
		Prompt: "--help is not a flag here: create hello.txt, then run a command."})

	if run.Err != nil {
		t.Fatalf("gemini: %v", run.Err)
	}
	reqs := srv.Requests()
	for _, r := range reqs {
		t.Logf("+%d ms: %s %s?%s step=%d body=%d bytes", r.Time.Sub(run.Start).Milliseconds(), r.Method, r.Path,
			r.Query, r.Step, len(r.Body))
	}
	if first, ok := firstGeminiTurn(reqs); ok {
		t.Logf("start to first model request: %d ms", first.Sub(run.Start).Milliseconds())
	}
	if got, err := os.ReadFile(filepath.Join(dir, "hello.txt")); err != nil || string(got) != "hello from the model\n" {
		t.Errorf("hello.txt = %q, %v", got, err)
	}
	// The key stays out of the environment of the agent's shell.
	if got, err := os.ReadFile(filepath.Join(dir, "ran.txt")); err != nil || string(got) != "hi\nkey=hidden\n" {
		t.Errorf("ran.txt = %q, %v", got, err)
	}
	var wrote, shellResult bool
	for _, e := range run.Events {
		wrote = wrote || e.Type == agent.EventToolCall && e.Tool == "write_file"
		shellResult = shellResult || e.Type == agent.EventToolResult && e.Tool == "run_shell_command" && !e.IsError
	}
	if !wrote || !shellResult {
		t.Errorf("events lack a write_file call (%v) or a run_shell_command result (%v): %+v", wrote, shellResult, run.Events)
	}
	r := run.Result
	if !r.OK || r.Summary != "Wrote hello.txt and ran a command." || r.Turns != 3 ||
		r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 {
		t.Errorf("result = %+v", r)
	}
	var turns int
	for _, r := range reqs {
		if r.Step == 0 && !r.Retry {
			turns++
			if !bytes.Contains(r.Body, []byte(`"text":"--help is not a flag here`)) {
				t.Error("the first turn does not carry the prompt as user text")
			}
			if r.Path != "/v1beta/models/gemini-2.5-pro:streamGenerateContent" {
				t.Errorf("the first turn went to %s, not to the default model", r.Path)
			}
			if r.Headers.Get("X-Goog-Api-Key") != "set" {
				t.Error("the first turn has no x-goog-api-key")
			}
		}
	}
	if turns != 1 {
		t.Errorf("%d first turns", turns)
	}
}

func TestGeminiCLIAuthenticationError(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewGeminiServer(t, modeltest.Step{Status: 401})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	run := runGemini(ctx, t, srv, agent.Options{Workdir: dir, Prompt: "Create hello.txt."})

	if ctx.Err() != nil {
		t.Fatalf("the CLI did not give up on a 401 within 60 s")
	}
	if code := exitCode(run.Err); code == 0 || code == -1 {
		t.Errorf("exit status %d after a 401", code)
	}
	var errorEvent bool
	for _, e := range run.Events {
		errorEvent = errorEvent || (e.Type == agent.EventError || e.Type == agent.EventResult && e.IsError)
	}
	if !errorEvent {
		t.Errorf("no error event: %+v", run.Events)
	}
	r := run.Result
	if r.OK || !strings.Contains(r.Error, "API key not valid") {
		t.Errorf("result = %+v, want a failure that says the API key is not valid", r)
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

func TestGeminiCLIHangIsKilled(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewGeminiServer(t, modeltest.Step{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The wall-clock timeout strikes 2 s after the model call began to hang: how long the CLI takes to
	// start varies with the machine's load, and is not what this test is about.
	killed := cancelAfterTurn(ctx, cancel, func() bool { _, ok := firstGeminiTurn(srv.Requests()); return ok })

	run := runGemini(ctx, t, srv, agent.Options{Workdir: dir, Prompt: "Create hello.txt."})

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

// cancelAfterTurn calls cancel 2 s after reached reports that the model call began, and returns a
// function that says when it did (false when it never did). It polls until ctx ends.
func cancelAfterTurn(ctx context.Context, cancel context.CancelFunc, reached func() bool) func() (time.Time, bool) {
	done := make(chan time.Time, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				close(done)
				return
			case <-tick.C:
			}
			if reached() {
				select {
				case <-ctx.Done():
					close(done)
				case <-time.After(2 * time.Second):
					done <- time.Now()
					cancel()
				}
				return
			}
		}
	}()
	return func() (time.Time, bool) {
		at, ok := <-done
		return at, ok
	}
}
