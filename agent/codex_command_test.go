package agent_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

func TestCodexCommand(t *testing.T) {
	argv := func(exe, base string, rest ...string) []string {
		a := []string{exe, "exec", "--json", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check",
			"--disable", "plugins", "--disable", "unbounded_connection_retries",
			"-c", "analytics.enabled=false", "-c", `model_provider="sesame"`}
		name := "OpenAI"
		if base != `"https://api.openai.com/v1"` {
			name = "OpenAI endpoint"
		}
		a = append(a,
			"-c", `model_providers.sesame.name="`+name+`"`,
			"-c", `model_providers.sesame.base_url=`+base,
			"-c", `model_providers.sesame.wire_api="responses"`,
			"-c", `model_providers.sesame.env_key="OPENAI_API_KEY"`,
			"-c", "model_providers.sesame.request_max_retries=0",
			"-c", "model_providers.sesame.stream_max_retries=0")
		return append(a, rest...)
	}
	openai := `"https://api.openai.com/v1"`
	tests := []struct {
		name     string
		opts     agent.Options
		wantArgv []string
		wantEnv  map[string]string
		wantCode string // error code, "" for success
		wantMsg  string // part of the error message
	}{{
		name:     "API key, the CLI's model, codex on PATH",
		opts:     agent.Options{Prompt: "fix it", Credentials: map[string]string{"OPENAI_API_KEY": "sk"}},
		wantArgv: argv("codex", openai, "--", "fix it"),
		wantEnv:  map[string]string{"OPENAI_API_KEY": "sk"},
	}, {
		name: "model, executable, endpoint",
		opts: agent.Options{Prompt: "fix it", Model: "gpt-5.5", Executable: "/opt/codex",
			Credentials: map[string]string{"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}},
		wantArgv: argv("/opt/codex", `"http://127.0.0.1:9/v1"`, "-m", "gpt-5.5", "--", "fix it"),
		wantEnv:  map[string]string{"OPENAI_API_KEY": "sk"},
	}, {
		name: "an endpoint is quoted as a TOML string, whatever it holds",
		opts: agent.Options{Prompt: "x", Credentials: map[string]string{"OPENAI_API_KEY": "sk",
			"OPENAI_BASE_URL": "https://gw.example.com/v1?a=\"b\"\\\n"}},
		wantArgv: argv("codex", `"https://gw.example.com/v1?a=\"b\"\\\u000A"`, "--", "x"),
		wantEnv:  map[string]string{"OPENAI_API_KEY": "sk"},
	}, {
		name:     "a prompt that looks like a flag stays the prompt; other settings stay out",
		opts:     agent.Options{Prompt: "--version", Credentials: map[string]string{"OPENAI_API_KEY": "sk", "ANTHROPIC_API_KEY": "x"}},
		wantArgv: argv("codex", openai, "--", "--version"),
		wantEnv:  map[string]string{"OPENAI_API_KEY": "sk"},
	}, {
		name:     "no key",
		opts:     agent.Options{Prompt: "x", Credentials: map[string]string{"OPENAI_BASE_URL": "http://x/v1"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "set agents.openaiApiKey (OPENAI_API_KEY)",
	}, {
		name:     "no prompt",
		opts:     agent.Options{Prompt: " \n", Credentials: map[string]string{"OPENAI_API_KEY": "sk"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "needs a prompt",
	}, {
		name:     "prompt longer than one argument may be",
		opts:     agent.Options{Prompt: strings.Repeat("x", 128*1024), Credentials: map[string]string{"OPENAI_API_KEY": "sk"}},
		wantCode: sesame.ETOOLARGE,
		wantMsg:  "too long",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, env, err := agent.Codex{}.Command(tt.opts)
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

func TestCodexDomainsAndEndpoints(t *testing.T) {
	tests := []struct {
		name      string
		base      string
		domains   []string
		endpoints []string
	}{
		{name: "OpenAI", domains: []string{"api.openai.com"}},
		{name: "gateway with a port", base: "https://llm.example.com:8443/v1", endpoints: []string{"llm.example.com:8443"}},
		{name: "plain http on loopback", base: "http://127.0.0.1:41234/v1", endpoints: []string{"127.0.0.1:41234"}},
		{name: "unparseable endpoint: nothing to reach", base: "://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := agent.Options{Credentials: map[string]string{}}
			if tt.base != "" {
				o.Credentials["OPENAI_BASE_URL"] = tt.base
			}
			if diff := cmp.Diff(tt.domains, agent.Codex{}.Domains(o)); diff != "" {
				t.Errorf("domains (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.endpoints, agent.Codex{}.Endpoints(o)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

// A Codex login (no API key) runs on Codex's own provider with the login written to HOME, never in the
// environment or on the command line.
func TestCodexLoginGoesToHome(t *testing.T) {
	login := `{"auth_mode":"chatgpt","tokens":{"refresh_token":"rt-secret-0123456789"}}`
	o := agent.Options{Prompt: "fix it", Credentials: map[string]string{agent.EnvCodexAuthJSON: login}}
	argv, env, err := agent.Codex{}.Command(o)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(argv, " ")
	if strings.Contains(line, "rt-secret") || strings.Contains(line, "model_provider") {
		t.Errorf("argv = %q: want Codex's own provider and no login", line)
	}
	for k, v := range env {
		if strings.Contains(v, "rt-secret") {
			t.Errorf("env %s holds the login", k)
		}
	}
	files, err := agent.Codex{}.HomeFiles(o)
	if err != nil || string(files[".codex/auth.json"]) != login {
		t.Errorf("HomeFiles = %q, %v; want the login at .codex/auth.json", files, err)
	}
	if d := (agent.Codex{}).Domains(o); !slices.Contains(d, "chatgpt.com") {
		t.Errorf("Domains = %v, want chatgpt.com", d)
	}
	// An API key wins: no file.
	o.Credentials["OPENAI_API_KEY"] = "sk-test-0123456789"
	if files, _ := (agent.Codex{}).HomeFiles(o); len(files) != 0 {
		t.Errorf("with an API key HomeFiles = %v, want none", files)
	}
}
