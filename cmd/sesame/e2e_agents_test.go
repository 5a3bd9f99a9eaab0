package main_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// scripted is a model server of one wire format whose script can be set once the task's folder is known.
type scripted interface {
	SetSteps(steps ...modeltest.Step)
	Requests() []modeltest.Request
}

// Each agent CLI beside Claude Code, the real one from npm, runs a task through the real binary in a
// secured local sandbox against a scripted server of its own wire format: it writes a file with its
// file tool, fixes the typo with its shell tool, ends, and the pull request arrives with both changes.
func TestEndToEndEveryAgentOpensAPullRequest(t *testing.T) {
	type agentCase struct {
		name string
		// flags of the request: a CLI offers a model its own tools (GPT models get apply_patch instead
		// of Copilot's create or OpenCode's write), so the script's tools go with the model.
		flags string
		// start returns the server, the settings that point the agent at it, and the steps of the
		// task whose workspace is dir.
		start func(t *testing.T) (srv scripted, env []string, steps func(dir string) []modeltest.Step)
	}
	const notes, fix = "Notes written by the agent.\n", `sed -i 's/teh typo/the typo/' README.md`
	done := modeltest.Step{Text: "Fixed the typo and wrote NOTES.md."}
	cases := []agentCase{
		{"codex", "", func(t *testing.T) (scripted, []string, func(string) []modeltest.Step) {
			srv := modeltest.NewResponsesServer(t)
			// OPENAI_API_KEY alone also turns the utility model on, against OpenAI: here it asks a
			// closed local port instead, fails at once, and Sesame's own names are used.
			return srv, []string{"OPENAI_API_KEY=sk-e2e-codex-0123456789", "OPENAI_BASE_URL=" + srv.URL + "/v1", "AI_BASE_URL=http://127.0.0.1:9/v1"},
				func(string) []modeltest.Step {
					return []modeltest.Step{modeltest.AddFile("NOTES.md", notes), modeltest.ExecCommand(fix), done}
				}
		}},
		{"gemini", "", func(t *testing.T) (scripted, []string, func(string) []modeltest.Step) {
			srv := modeltest.NewGeminiServer(t)
			return srv, []string{"GEMINI_API_KEY=gemini-e2e-0123456789", "GOOGLE_GEMINI_BASE_URL=" + srv.URL},
				func(dir string) []modeltest.Step {
					return []modeltest.Step{modeltest.GeminiWrite(filepath.Join(dir, "NOTES.md"), notes), modeltest.GeminiShell(fix), done}
				}
		}},
		{"copilot", " --model claude-sonnet-4.6", func(t *testing.T) (scripted, []string, func(string) []modeltest.Step) {
			srv := modeltest.NewServer(t) // an Anthropic Messages provider
			return srv, []string{"COPILOT_PROVIDER_BASE_URL=" + srv.URL, "COPILOT_PROVIDER_API_KEY=sk-e2e-copilot-0123456789",
					"COPILOT_PROVIDER_TYPE=anthropic"},
				func(dir string) []modeltest.Step {
					return []modeltest.Step{
						{ToolName: "create", ToolInput: map[string]any{"path": filepath.Join(dir, "NOTES.md"), "file_text": notes}},
						{ToolName: "bash", ToolInput: map[string]any{"command": fix, "description": "fix the typo"}},
						done,
					}
				}
		}},
		{"opencode", " --model modeltest-model", func(t *testing.T) (scripted, []string, func(string) []modeltest.Step) {
			srv := modeltest.NewChatServer(t)
			return srv, []string{"OPENCODE_API_KEY=sk-e2e-opencode-0123456789", "OPENCODE_BASE_URL=" + srv.URL + "/v1"},
				func(dir string) []modeltest.Step {
					return []modeltest.Step{modeltest.WriteTool(filepath.Join(dir, "NOTES.md"), notes), modeltest.BashTool(fix), done}
				}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gh := githubtest.NewServer(t)
			bare := fixture(t, gh)
			srv, extra, steps := c.start(t)
			env, taskBase := workerEnv(t, gh, modeltest.NewServer(t), extra...)
			p := startSesame(t, env)
			dbURL := envValue(env, "DATABASE_URL")

			code, resp := deliver(t, p, "agent-"+c.name, commentPayload(t, "alice", "/sesame --agent "+c.name+c.flags+" fix the typo in README"))
			if code != http.StatusAccepted {
				t.Fatalf("webhook answered %d %v", code, resp)
			}
			id := resp["task_id"]
			// The task's workspace is known once it has an id; its agent asks the model seconds later.
			srv.SetSteps(steps(filepath.Join(taskBase, id, "repo"))...)
			start := time.Now()
			if status, reason := waitEnded(t, dbURL, id, 4*time.Minute); status != "completed" {
				t.Fatalf("task ended %s: %s\n%s", status, reason, p.Logs())
			}
			t.Logf("%s: task done in %s, %d model requests", c.name, time.Since(start).Round(100*time.Millisecond), len(srv.Requests()))

			prs := gh.PullRequests(repo)
			if len(prs) != 1 {
				t.Fatalf("%d pull requests, want 1", len(prs))
			}
			if !strings.Contains(prs[0].Body, c.name) {
				t.Errorf("PR body does not name the agent %s:\n%s", c.name, prs[0].Body)
			}
			if got := gitOut(t, bare, "show", prs[0].Head+":README.md"); !strings.Contains(got, "the typo") || strings.Contains(got, "teh") {
				t.Errorf("README.md on the branch = %q, want the typo fixed", got)
			}
			if got := gitOut(t, bare, "ls-tree", "--name-only", prs[0].Head); !strings.Contains(got, "NOTES.md") {
				t.Fatalf("the branch holds %q, no NOTES.md; stored events:\n%s", got, allStored(t, dbURL))
			}
			if got := gitOut(t, bare, "show", prs[0].Head+":NOTES.md"); got != notes {
				t.Errorf("NOTES.md on the branch = %q, want %q", got, notes)
			}
		})
	}
}
