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

// These tests run the real OpenCode CLI, installed by scripts/install-agents, against a scripted OpenAI
// Chat Completions API on 127.0.0.1.

func openCodeOptions(t *testing.T, srv *modeltest.ChatServer, dir, prompt string) agent.Options {
	return agent.Options{Workdir: dir, Prompt: prompt, Model: "modeltest-model",
		Executable:  agentBinary(t, "opencode", "opencode", "opencode-ai@1.18.33"),
		Credentials: map[string]string{"OPENCODE_API_KEY": "sk-modeltest", "OPENCODE_BASE_URL": srv.URL + "/v1"}}
}

func TestOpenCodeCLIWritesAndRuns(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewChatServer(t,
		modeltest.WriteTool(filepath.Join(dir, "hello.txt"), "hello from the model\n"),
		modeltest.BashTool("echo hi > ran.txt"),
		modeltest.Step{Text: "Wrote hello.txt and ran a command."},
	)
	// OpenCode takes seconds to start, and tens of seconds on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	// The prompt starts with "-": it must reach the model as the prompt, not be read as a flag.
	run := runAgent(ctx, t, agent.OpenCode{}, openCodeOptions(t, srv, dir,
		"--help is not a flag here: create hello.txt, then run a command."))

	reqs := srv.Requests()
	logRequests(t, run, reqs)
	if run.Err != nil {
		t.Fatalf("opencode: %v", run.Err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "hello.txt")); err != nil || string(got) != "hello from the model\n" {
		t.Errorf("hello.txt = %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "ran.txt")); err != nil || string(got) != "hi\n" {
		t.Errorf("ran.txt = %q, %v", got, err)
	}
	var wrote, ran bool
	for _, e := range run.Events {
		wrote = wrote || e.Type == agent.EventToolResult && e.Tool == "write" && !e.IsError
		ran = ran || e.Type == agent.EventToolResult && e.Tool == "bash" && !e.IsError
	}
	if !wrote || !ran {
		t.Errorf("events lack a write (%v) or a bash result (%v): %+v", wrote, ran, run.Events)
	}
	r := run.Result
	if !r.OK || r.Summary != "Wrote hello.txt and ran a command." || r.Turns != 3 ||
		r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 {
		t.Errorf("result = %+v", r)
	}
	var turns int
	for _, r := range reqs {
		if r.Step < 0 {
			continue
		}
		turns++
		if r.Step == 0 && !bytes.Contains(r.Body, []byte(`--help is not a flag here`)) {
			t.Error("the first turn does not carry the prompt")
		}
		if !bytes.Contains(r.Body, []byte(`"model":"modeltest-model"`)) {
			t.Errorf("turn %d does not ask for the model given", r.Step)
		}
		if r.Headers.Get("Authorization") != "set" {
			t.Errorf("turn %d has no Authorization", r.Step)
		}
	}
	if turns != 3 {
		t.Errorf("%d agent turns, want 3", turns)
	}
}

func TestOpenCodeCLIAuthenticationError(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	// A wrong key stays wrong: every attempt gets a 401.
	srv := modeltest.NewChatServer(t, repeat(modeltest.Step{Status: 401}, 20)...)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	run := runAgent(ctx, t, agent.OpenCode{}, openCodeOptions(t, srv, dir, "Create hello.txt."))

	gaveUp(t, run, srv.Requests(), 10*time.Second)
	if run.Err == nil {
		t.Error("exit status 0 after a 401")
	}
	r := run.Result
	if r.OK || !strings.Contains(r.Error, "401") {
		t.Errorf("result = %+v, want a failure that mentions 401", r)
	}
}

func TestOpenCodeCLIHangIsKilled(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	srv := modeltest.NewChatServer(t, modeltest.Step{Hang: true})
	testHangIsKilled(t, srv.Requests, func(ctx context.Context) cliRun {
		return runAgent(ctx, t, agent.OpenCode{}, openCodeOptions(t, srv, dir, "Create hello.txt."))
	})
}
