package agent_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

func TestLookup(t *testing.T) {
	for _, name := range agent.Names() {
		a, ok := agent.Lookup(name)
		if !ok || a.Name() != name {
			t.Errorf("Lookup(%q) = %v, %v", name, a, ok)
		}
	}
	if a, ok := agent.Lookup("claude"); !ok || a.DisplayName() != "Claude Code" {
		t.Errorf("Lookup(claude) = %v, %v", a, ok)
	}
	if a, ok := agent.Lookup("nope"); ok || a != nil {
		t.Errorf("Lookup(nope) = %v, %v", a, ok)
	}
}

func TestClaudeCommand(t *testing.T) {
	quiet := map[string]string{
		"IS_SANDBOX": "1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
		"DISABLE_AUTOUPDATER":                      "1",
		"DISABLE_TELEMETRY":                        "1",
		"DISABLE_ERROR_REPORTING":                  "1",
		"CLAUDE_CODE_MAX_RETRIES":                  "0",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range quiet {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	base := []string{"-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"}
	argv := func(exe string, rest ...string) []string {
		return append(append([]string{exe}, base...), rest...)
	}
	tests := []struct {
		name     string
		opts     agent.Options
		wantArgv []string
		wantEnv  map[string]string
		wantCode string // error code, "" for success
		wantMsg  string // part of the error message
	}{{
		name:     "API key, default model, claude on PATH",
		opts:     agent.Options{Prompt: "fix it", Credentials: map[string]string{"ANTHROPIC_API_KEY": "sk"}},
		wantArgv: argv("claude", "--", "fix it"),
		wantEnv:  with("ANTHROPIC_API_KEY", "sk"),
	}, {
		name: "OAuth token, model, executable, endpoint",
		opts: agent.Options{Prompt: "fix it", Model: "claude-haiku-4-5", Executable: "/opt/claude",
			Credentials: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "oat", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}},
		wantArgv: argv("/opt/claude", "--model", "claude-haiku-4-5", "--", "fix it"),
		wantEnv:  with("CLAUDE_CODE_OAUTH_TOKEN", "oat", "ANTHROPIC_BASE_URL", "http://127.0.0.1:9"),
	}, {
		name: "API key wins over an OAuth token; other settings stay out",
		opts: agent.Options{Prompt: "x", Credentials: map[string]string{"ANTHROPIC_API_KEY": "sk",
			"CLAUDE_CODE_OAUTH_TOKEN": "oat", "OPENAI_API_KEY": "other"}},
		wantArgv: argv("claude", "--", "x"),
		wantEnv:  with("ANTHROPIC_API_KEY", "sk"),
	}, {
		name:     "a prompt that looks like a flag stays the prompt",
		opts:     agent.Options{Prompt: "--version", Credentials: map[string]string{"ANTHROPIC_API_KEY": "sk"}},
		wantArgv: argv("claude", "--", "--version"),
		wantEnv:  with("ANTHROPIC_API_KEY", "sk"),
	}, {
		name:     "no credential",
		opts:     agent.Options{Prompt: "x", Credentials: map[string]string{"ANTHROPIC_BASE_URL": "http://x"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "set agents.anthropicApiKey (ANTHROPIC_API_KEY) or agents.claudeCodeOauthToken (CLAUDE_CODE_OAUTH_TOKEN)",
	}, {
		name:     "no prompt",
		opts:     agent.Options{Prompt: " \n", Credentials: map[string]string{"ANTHROPIC_API_KEY": "sk"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "needs a prompt",
	}, {
		name: "prompt longer than one argument may be",
		opts: agent.Options{Prompt: strings.Repeat("x", 128*1024),
			Credentials: map[string]string{"ANTHROPIC_API_KEY": "sk"}},
		wantCode: sesame.ETOOLARGE,
		wantMsg:  "too long",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, env, err := agent.Claude{}.Command(tt.opts)
			if tt.wantCode != "" {
				if sesame.ErrorCode(err) != tt.wantCode || !strings.Contains(sesame.ErrorMessage(err), tt.wantMsg) {
					t.Fatalf("err = %v, want code %s and a message with %q", err, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantArgv, argv); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEnv, env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaudeDomainsAndEndpoints(t *testing.T) {
	tests := []struct {
		name      string
		base      string
		endpoints []string
	}{
		{name: "Anthropic"},
		{name: "Anthropic given explicitly", base: "https://api.anthropic.com", endpoints: []string{"api.anthropic.com:443"}},
		{name: "gateway with a port", base: "https://llm.example.com:8443/anthropic", endpoints: []string{"llm.example.com:8443"}},
		{name: "plain http on loopback", base: "http://127.0.0.1:41234", endpoints: []string{"127.0.0.1:41234"}},
		{name: "http without a port", base: "http://gateway.internal/v1", endpoints: []string{"gateway.internal:80"}},
		{name: "IPv6", base: "http://[::1]:9000", endpoints: []string{"[::1]:9000"}},
		{name: "unparseable endpoint", base: "://"},
		{name: "no scheme, no port", base: "llm.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := agent.Options{Credentials: map[string]string{}}
			if tt.base != "" {
				o.Credentials["ANTHROPIC_BASE_URL"] = tt.base
			}
			if diff := cmp.Diff([]string{"api.anthropic.com"}, agent.Claude{}.Domains(o)); diff != "" {
				t.Errorf("domains (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.endpoints, agent.Claude{}.Endpoints(o)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}
