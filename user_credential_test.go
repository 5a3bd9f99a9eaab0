package sesame_test

import (
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
)

func kind(t *testing.T, name string) sesame.CredentialKind {
	t.Helper()
	k, ok := sesame.CredentialKindNamed(name)
	if !ok {
		t.Fatalf("no credential kind %q", name)
	}
	return k
}

func TestCredentialKindsAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range sesame.CredentialKinds {
		if seen[k.Name] || seen[k.Env] {
			t.Errorf("%s (%s) listed twice", k.Name, k.Env)
		}
		seen[k.Name], seen[k.Env] = true, true
		if k.Title == "" || k.Help == "" || len(k.Agents) == 0 {
			t.Errorf("%s lacks a title, help or agents", k.Name)
		}
		if k.Group != sesame.CredentialAPIKey && k.Group != sesame.CredentialSubscription {
			t.Errorf("%s: unknown group %q", k.Name, k.Group)
		}
	}
	for _, agent := range []string{"claude", "codex", "gemini", "copilot", "opencode"} {
		n := 0
		for _, k := range sesame.CredentialKinds {
			if k.UsedBy(agent) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no credential kind for %s", agent)
		}
	}
}

func TestCredentialClean(t *testing.T) {
	tests := []struct {
		name, kind, value string
		want              string // "" with problem set
		problem           string // part of the error message
	}{
		{name: "trimmed", kind: "anthropic_api_key", value: "  sk-ant-api03-WXYZ\n", want: "sk-ant-api03-WXYZ"},
		{name: "empty", kind: "anthropic_api_key", value: " \t ", problem: "Enter the Anthropic API key"},
		{name: "too short", kind: "openai_api_key", value: "sk-1", problem: "too short"},
		{name: "too long", kind: "openai_api_key", value: strings.Repeat("a", sesame.MaxCredentialLen+1), problem: "too long"},
		{name: "inner space", kind: "gemini_api_key", value: "AIza abc defgh", problem: "spaces"},
		{name: "control", kind: "gemini_api_key", value: "AIzaabc\x00defgh", problem: "control"},
		{name: "escape", kind: "gemini_api_key", value: "AIzaabc\x1b[2Jdefgh", problem: "control"},
		{name: "invisible", kind: "gemini_api_key", value: "AIzaabc\u200bdefgh", problem: "invisible"},
		{name: "invalid utf-8", kind: "gemini_api_key", value: "AIzaabc\xffdefgh", problem: "not valid text"},
		{name: "json", kind: "codex_auth_json", value: "{\n\t\"tokens\": {\"refresh_token\": \"rt_abcd\"}\n}\n", want: "{\n\t\"tokens\": {\"refresh_token\": \"rt_abcd\"}\n}"},
		{name: "json not an object", kind: "codex_auth_json", value: `["x", "yyyyyyyy"]`, problem: "JSON object"},
		{name: "json broken", kind: "codex_auth_json", value: `{"tokens": `, problem: "JSON object"},
		{name: "url", kind: "opencode_base_url", value: "https://llm.example.com/v1", want: "https://llm.example.com/v1"},
		{name: "url short", kind: "opencode_base_url", value: "http://h", want: "http://h"},
		{name: "url scheme", kind: "opencode_base_url", value: "file:///etc/passwd", problem: "http:// or https://"},
		{name: "url no host", kind: "opencode_base_url", value: "https:///v1", problem: "http:// or https://"},
		{name: "url user", kind: "opencode_base_url", value: "https://me:secret@llm.example.com/v1", problem: "plain address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kind(t, tt.kind).Clean(tt.value)
			if tt.problem != "" {
				msg := sesame.ErrorMessage(err)
				if sesame.ErrorCode(err) != sesame.EINVALID || !strings.Contains(msg, tt.problem) {
					t.Fatalf("Clean = %q, %v; want EINVALID saying %q", got, err, tt.problem)
				}
				if len(tt.value) > 6 && strings.Contains(msg, strings.TrimSpace(tt.value)) {
					t.Errorf("the message quotes the value: %s", msg)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Clean = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCredentialHint(t *testing.T) {
	tests := []struct{ kind, value, want string }{
		{"anthropic_api_key", "sk-ant-api03-abcdWXYZ", "WXYZ"},
		{"codex_auth_json", `{"tokens": {"refresh_token": "rt_1234"}}`, "1234"},
		{"opencode_base_url", "https://llm.example.com/v1", "https://llm.example.com/v1"},
	}
	for _, tt := range tests {
		if got := kind(t, tt.kind).Hint(tt.value); got != tt.want {
			t.Errorf("%s: Hint = %q, want %q", tt.kind, got, tt.want)
		}
	}
}
