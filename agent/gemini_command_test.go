package agent_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

func TestGeminiCommand(t *testing.T) {
	quiet := map[string]string{"GEMINI_TELEMETRY_ENABLED": "false", "GEMINI_CLI_NO_RELAUNCH": "true"}
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
	argv := func(exe, model, prompt string) []string {
		return []string{exe, "--output-format", "stream-json", "--yolo", "--skip-trust", "-m", model, "--prompt=" + prompt}
	}
	tests := []struct {
		name     string
		opts     agent.Options
		wantArgv []string
		wantEnv  map[string]string
		wantCode string
		wantMsg  string
	}{{
		name:     "API key, default model, gemini on PATH",
		opts:     agent.Options{Prompt: "fix it", Credentials: map[string]string{"GEMINI_API_KEY": "k"}},
		wantArgv: argv("gemini", "gemini-2.5-pro", "fix it"),
		wantEnv:  with("GEMINI_API_KEY", "k"),
	}, {
		name: "model, executable, endpoint; other settings stay out",
		opts: agent.Options{Prompt: "fix it", Model: "gemini-3.5-flash", Executable: "/opt/gemini",
			Credentials: map[string]string{"GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9",
				"ANTHROPIC_API_KEY": "other"}},
		wantArgv: argv("/opt/gemini", "gemini-3.5-flash", "fix it"),
		wantEnv:  with("GEMINI_API_KEY", "k", "GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9"),
	}, {
		name:     "a prompt that looks like a flag stays the prompt",
		opts:     agent.Options{Prompt: "--version", Credentials: map[string]string{"GEMINI_API_KEY": "k"}},
		wantArgv: argv("gemini", "gemini-2.5-pro", "--version"),
		wantEnv:  with("GEMINI_API_KEY", "k"),
	}, {
		name:     "no credential",
		opts:     agent.Options{Prompt: "x", Credentials: map[string]string{"GOOGLE_GEMINI_BASE_URL": "http://x"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "set agents.geminiApiKey (GEMINI_API_KEY)",
	}, {
		name:     "no prompt",
		opts:     agent.Options{Prompt: "\t", Credentials: map[string]string{"GEMINI_API_KEY": "k"}},
		wantCode: sesame.EINVALID,
		wantMsg:  "needs a prompt",
	}, {
		name:     "prompt longer than one argument may be",
		opts:     agent.Options{Prompt: strings.Repeat("x", 128*1024), Credentials: map[string]string{"GEMINI_API_KEY": "k"}},
		wantCode: sesame.ETOOLARGE,
		wantMsg:  "too long",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, env, err := agent.Gemini{}.Command(tt.opts)
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

func TestGeminiHomeFiles(t *testing.T) {
	files, err := agent.Gemini{}.HomeFiles(agent.Options{Credentials: map[string]string{"GEMINI_API_KEY": "secret-key"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("files = %v, want only .gemini/settings.json", files)
	}
	b := files[".gemini/settings.json"]
	if strings.Contains(string(b), "secret-key") {
		t.Error("the settings file holds the key")
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("settings: %v\n%s", err, b)
	}
	want := map[string]any{
		"security": map[string]any{"auth": map[string]any{"selectedType": "gemini-api-key"},
			"environmentVariableRedaction": map[string]any{"enabled": true, "blocked": []any{"GEMINI_API_KEY"}}},
		"privacy":   map[string]any{"usageStatisticsEnabled": false},
		"telemetry": map[string]any{"enabled": false},
		"general": map[string]any{"enableAutoUpdate": false, "enableAutoUpdateNotification": false,
			"maxAttempts": 1.0, "retryFetchErrors": false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

func TestGeminiDomainsAndEndpoints(t *testing.T) {
	a := agent.Gemini{}
	if a.Name() != "gemini" || a.DisplayName() != "Gemini CLI" {
		t.Errorf("names %q, %q", a.Name(), a.DisplayName())
	}
	tests := []struct {
		name      string
		base      string
		endpoints []string
	}{
		{name: "Google"},
		{name: "gateway with a port", base: "https://llm.example.com:8443/gemini", endpoints: []string{"llm.example.com:8443"}},
		{name: "plain http on loopback", base: "http://127.0.0.1:41234", endpoints: []string{"127.0.0.1:41234"}},
		{name: "unparseable endpoint", base: "://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := agent.Options{Credentials: map[string]string{"GEMINI_API_KEY": "k"}}
			if tt.base != "" {
				o.Credentials["GOOGLE_GEMINI_BASE_URL"] = tt.base
			}
			if diff := cmp.Diff([]string{"generativelanguage.googleapis.com"}, a.Domains(o)); diff != "" {
				t.Errorf("domains (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.endpoints, a.Endpoints(o)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}
