package agent_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

func TestCopilotCommand(t *testing.T) {
	with := func(kv ...string) map[string]string {
		m := map[string]string{"COPILOT_AUTO_UPDATE": "false"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	argv := func(exe, prompt string) []string {
		return []string{exe, "--output-format", "json", "--allow-all", "--no-auto-update", "--disable-client-telemetry",
			"--prompt=" + prompt}
	}
	tests := []struct {
		name     string
		opts     agent.Options
		wantArgv []string
		wantEnv  map[string]string
		wantCode string
		wantMsg  string
	}{{
		name:     "GitHub token, default model, copilot on PATH",
		opts:     agent.Options{Prompt: "fix it", Credentials: map[string]string{"COPILOT_GITHUB_TOKEN": "ghu"}},
		wantArgv: argv("copilot", "fix it"),
		wantEnv:  with("COPILOT_GITHUB_TOKEN", "ghu", "COPILOT_MODEL", "gpt-5.4"),
	}, {
		name: "a provider wins over the token and runs offline; its type and wire API pass",
		opts: agent.Options{Prompt: "fix it", Model: "claude-sonnet-4.6", Executable: "/opt/copilot",
			Credentials: map[string]string{"COPILOT_GITHUB_TOKEN": "ghu", "COPILOT_PROVIDER_BASE_URL": "http://127.0.0.1:9/v1",
				"COPILOT_PROVIDER_API_KEY": "sk", "COPILOT_PROVIDER_TYPE": "anthropic",
				"COPILOT_PROVIDER_WIRE_API": "responses", "OPENAI_API_KEY": "other"}},
		wantArgv: argv("/opt/copilot", "fix it"),
		wantEnv: with("COPILOT_PROVIDER_BASE_URL", "http://127.0.0.1:9/v1", "COPILOT_PROVIDER_API_KEY", "sk",
			"COPILOT_OFFLINE", "true", "COPILOT_PROVIDER_TYPE", "anthropic", "COPILOT_PROVIDER_WIRE_API", "responses",
			"COPILOT_MODEL", "claude-sonnet-4.6"),
	}, {
		name: "the unpacked package's folder passes",
		opts: agent.Options{Prompt: "x", Credentials: map[string]string{"COPILOT_GITHUB_TOKEN": "ghu",
			agent.EnvCopilotPackageCache: "/opt/copilot-cache"}},
		wantArgv: argv("copilot", "x"),
		wantEnv: with("COPILOT_GITHUB_TOKEN", "ghu", "COPILOT_MODEL", "gpt-5.4",
			"COPILOT_PKG_CACHE_HOME", "/opt/copilot-cache"),
	}, {
		name:     "a prompt that looks like a flag stays the prompt",
		opts:     agent.Options{Prompt: "--help", Credentials: map[string]string{"COPILOT_GITHUB_TOKEN": "ghu"}},
		wantArgv: argv("copilot", "--help"),
		wantEnv:  with("COPILOT_GITHUB_TOKEN", "ghu", "COPILOT_MODEL", "gpt-5.4"),
	}, {
		name:     "no credential",
		opts:     agent.Options{Prompt: "x", Credentials: map[string]string{"COPILOT_PROVIDER_API_KEY": "sk"}},
		wantCode: sesame.EINVALID,
		wantMsg: "set agents.copilotGithubToken (COPILOT_GITHUB_TOKEN), or agents.copilotProviderBaseUrl " +
			"(COPILOT_PROVIDER_BASE_URL) with agents.copilotProviderApiKey (COPILOT_PROVIDER_API_KEY)",
	}, {
		name:     "a provider without its key",
		opts:     agent.Options{Prompt: "x", Credentials: map[string]string{"COPILOT_PROVIDER_BASE_URL": "http://x/v1", "COPILOT_GITHUB_TOKEN": "ghu"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "set agents.copilotProviderApiKey (COPILOT_PROVIDER_API_KEY)",
	}, {
		name:     "no prompt",
		opts:     agent.Options{Prompt: "", Credentials: map[string]string{"COPILOT_GITHUB_TOKEN": "ghu"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "needs a prompt",
	}, {
		name:     "prompt longer than one argument may be",
		opts:     agent.Options{Prompt: strings.Repeat("x", 128*1024), Credentials: map[string]string{"COPILOT_GITHUB_TOKEN": "ghu"}},
		wantCode: sesame.ETOOLARGE,
		wantMsg:  "too long",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, env, err := agent.Copilot{}.Command(tt.opts)
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

func TestCopilotDomainsAndEndpoints(t *testing.T) {
	a := agent.Copilot{}
	if a.Name() != "copilot" || a.DisplayName() != "Copilot CLI" {
		t.Errorf("names %q, %q", a.Name(), a.DisplayName())
	}
	github := []string{"api.githubcopilot.com", "api.individual.githubcopilot.com", "api.business.githubcopilot.com",
		"api.enterprise.githubcopilot.com", "api.github.com"}
	tests := []struct {
		name      string
		base      string
		domains   []string
		endpoints []string
	}{
		{name: "GitHub Copilot", domains: github},
		{name: "a provider: offline, its endpoint only", base: "https://llm.example.com/v1", endpoints: []string{"llm.example.com:443"}},
		{name: "a provider on loopback", base: "http://127.0.0.1:41234/v1", endpoints: []string{"127.0.0.1:41234"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := agent.Options{Credentials: map[string]string{"COPILOT_GITHUB_TOKEN": "ghu"}}
			if tt.base != "" {
				o.Credentials["COPILOT_PROVIDER_BASE_URL"] = tt.base
			}
			if diff := cmp.Diff(tt.domains, a.Domains(o)); diff != "" {
				t.Errorf("domains (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.endpoints, a.Endpoints(o)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}
