package agent_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

func TestOpenCodeCommand(t *testing.T) {
	quiet := map[string]string{
		"OPENCODE_DISABLE_MODELS_FETCH":             "true",
		"OPENCODE_DISABLE_AUTOUPDATE":               "true",
		"OPENCODE_DISABLE_LSP_DOWNLOAD":             "true",
		"OPENCODE_DISABLE_DEFAULT_PLUGINS":          "true",
		"OPENCODE_DISABLE_SHARE":                    "true",
		"OPENCODE_DISABLE_PROJECT_CONFIG":           "true",
		"OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER": "true",
	}
	config := func(base, key, model string) map[string]any {
		return map[string]any{
			"$schema":     "https://opencode.ai/config.json",
			"model":       "sesame/" + model,
			"small_model": "sesame/" + model,
			"provider": map[string]any{"sesame": map[string]any{
				"npm":     "@ai-sdk/openai-compatible",
				"name":    "Sesame",
				"options": map[string]any{"baseURL": base, "apiKey": key},
				"models":  map[string]any{model: map[string]any{"name": model}},
			}},
			"enabled_providers": []any{"sesame"},
			"plugin":            []any{},
			"autoupdate":        false,
			"share":             "disabled",
			"snapshot":          false,
		}
	}
	argv := func(exe, prompt string) []string {
		return []string{exe, "run", "--format", "json", "--pure", "--auto", "--", prompt}
	}
	tests := []struct {
		name       string
		opts       agent.Options
		wantArgv   []string
		wantConfig map[string]any
		wantCode   string // error code, "" for success
		wantMsg    string // part of the error message
	}{{
		name:       "OpenAI with the provider key, default model, opencode on PATH",
		opts:       agent.Options{Prompt: "fix it", Credentials: map[string]string{"OPENCODE_API_KEY": "sk"}},
		wantArgv:   argv("opencode", "fix it"),
		wantConfig: config("https://api.openai.com/v1", "sk", "gpt-5.5"),
	}, {
		name: "a provider's base URL and key, a model, an executable",
		opts: agent.Options{Prompt: "fix it", Model: "qwen/qwen3-coder", Executable: "/opt/opencode",
			Credentials: map[string]string{"OPENCODE_API_KEY": "gw", "OPENCODE_BASE_URL": "http://127.0.0.1:9/v1",
				"OPENAI_API_KEY": "sk"}},
		wantArgv:   argv("/opt/opencode", "fix it"),
		wantConfig: config("http://127.0.0.1:9/v1", "gw", "qwen/qwen3-coder"),
	}, {
		name: "without a provider key, an OpenAI key given to the run",
		opts: agent.Options{Prompt: "--version", Credentials: map[string]string{"OPENAI_API_KEY": "sk",
			"OPENCODE_BASE_URL": "https://gw.example.com/v1"}},
		wantArgv:   argv("opencode", "--version"),
		wantConfig: config("https://gw.example.com/v1", "sk", "gpt-5.5"),
	}, {
		name:     "no key",
		opts:     agent.Options{Prompt: "x", Credentials: map[string]string{"OPENCODE_BASE_URL": "http://x/v1"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "OPENCODE_API_KEY",
	}, {
		name:     "no prompt",
		opts:     agent.Options{Prompt: "\t", Credentials: map[string]string{"OPENCODE_API_KEY": "sk"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "needs a prompt",
	}, {
		name:     "prompt longer than one argument may be",
		opts:     agent.Options{Prompt: strings.Repeat("x", 128*1024), Credentials: map[string]string{"OPENCODE_API_KEY": "sk"}},
		wantCode: sesame.ETOOLARGE,
		wantMsg:  "too long",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, env, err := agent.OpenCode{}.Command(tt.opts)
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
			var got map[string]any
			if err := json.Unmarshal([]byte(env["OPENCODE_CONFIG_CONTENT"]), &got); err != nil {
				t.Fatalf("OPENCODE_CONFIG_CONTENT: %v", err)
			}
			if diff := cmp.Diff(tt.wantConfig, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			delete(env, "OPENCODE_CONFIG_CONTENT")
			if diff := cmp.Diff(quiet, env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenCodeDomainsAndEndpoints(t *testing.T) {
	tests := []struct {
		name      string
		base      string
		domains   []string
		endpoints []string
	}{
		{name: "OpenAI", domains: []string{"api.openai.com"}},
		{name: "a provider", base: "https://openrouter.ai/api/v1", endpoints: []string{"openrouter.ai:443"}},
		{name: "plain http on loopback", base: "http://127.0.0.1:41234/v1", endpoints: []string{"127.0.0.1:41234"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := agent.Options{Credentials: map[string]string{}}
			if tt.base != "" {
				o.Credentials["OPENCODE_BASE_URL"] = tt.base
			}
			if diff := cmp.Diff(tt.domains, agent.OpenCode{}.Domains(o)); diff != "" {
				t.Errorf("domains (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.endpoints, agent.OpenCode{}.Endpoints(o)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenCodeHomeFiles: the files that stop the background npm install are valid JSON that name
// the package OpenCode would install.
func TestOpenCodeHomeFiles(t *testing.T) {
	files, err := agent.OpenCode{}.HomeFiles(agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lock := files[".config/opencode/package-lock.json"]
	var v struct {
		Packages map[string]struct {
			Dependencies map[string]string `json:"dependencies"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(lock), &v); err != nil || v.Packages[""].Dependencies["@opencode-ai/plugin"] == "" {
		t.Errorf("package-lock.json = %q (%v): no root dependency on @opencode-ai/plugin", lock, err)
	}
	if !json.Valid([]byte(files[".config/opencode/node_modules/.package-lock.json"])) {
		t.Errorf("node_modules/.package-lock.json is missing or not JSON: %v", files)
	}
}
