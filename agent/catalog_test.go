package agent_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

func TestCatalog(t *testing.T) {
	type row struct{ Name, Title, Install, Executable string }
	var got []row
	for _, e := range agent.Catalog() {
		got = append(got, row{e.Name, e.Title, e.Install(), e.Executable})
	}
	want := []row{
		{"claude", "Claude Code", "@anthropic-ai/claude-code@2.1.197", "claude"},
		{"codex", "Codex", "@openai/codex@0.169.0", "codex"},
		{"gemini", "Gemini CLI", "@google/gemini-cli@0.61.0", "gemini"},
		{"copilot", "Copilot CLI", "@github/copilot@1.0.102", "copilot"},
		{"opencode", "OpenCode", "opencode-ai@1.18.33", "opencode"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Catalog() mismatch (-want +got):\n%s", diff)
	}

	// A caller's change to its copy changes nobody else's.
	c := agent.Catalog()
	c[0].Name, c[0].Keys[0] = "changed", "CHANGED"
	if e := agent.Catalog()[0]; e.Name != "claude" || e.Keys[0] != "ANTHROPIC_API_KEY" {
		t.Errorf("Catalog()[0] = %q %v after a caller changed its copy", e.Name, e.Keys)
	}
}

// TestCatalogCredentials: each agent gets only its own credentials, and no two agents share one but
// OPENAI_API_KEY, which OpenCode falls back on.
func TestCatalogCredentials(t *testing.T) {
	want := map[string][]string{
		"claude":   {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_BASE_URL"},
		"codex":    {"OPENAI_API_KEY", "CODEX_AUTH_JSON", "OPENAI_BASE_URL"},
		"gemini":   {"GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"},
		"copilot":  {"COPILOT_GITHUB_TOKEN", "COPILOT_PROVIDER_API_KEY", "COPILOT_PROVIDER_BASE_URL", "COPILOT_PROVIDER_TYPE"},
		"opencode": {"OPENCODE_API_KEY", "OPENAI_API_KEY", "OPENCODE_BASE_URL"},
	}
	owner := map[string]string{}
	for _, e := range agent.Catalog() {
		if diff := cmp.Diff(want[e.Name], e.Credentials()); diff != "" {
			t.Errorf("%s: Credentials() mismatch (-want +got):\n%s", e.Name, diff)
		}
		if len(e.Keys) == 0 || len(e.Domains) == 0 {
			t.Errorf("%s: no keys (%v) or no domains (%v)", e.Name, e.Keys, e.Domains)
		}
		for _, env := range e.Credentials() {
			if other, ok := owner[env]; ok && env != "OPENAI_API_KEY" {
				t.Errorf("%s and %s both read %s", other, e.Name, env)
			}
			owner[env] = e.Name
		}
	}
}

// TestCatalogAdapters: an entry's adapter agrees with the entry on its name, title and domains.
func TestCatalogAdapters(t *testing.T) {
	for _, e := range agent.Catalog() {
		if e.Adapter == nil {
			continue
		}
		if e.Adapter.Name() != e.Name || e.Adapter.DisplayName() != e.Title {
			t.Errorf("%s: adapter says %q %q", e.Name, e.Adapter.Name(), e.Adapter.DisplayName())
		}
		if diff := cmp.Diff(e.Domains, e.Adapter.Domains(agent.Options{})); diff != "" {
			t.Errorf("%s: adapter's Domains differ from the catalog's (-catalog +adapter):\n%s", e.Name, diff)
		}
	}
	if e, ok := agent.Find("claude"); !ok || !e.Runnable() {
		t.Errorf("Find(claude) = %+v, %v: Claude Code must be runnable", e, ok)
	}
}

func TestGet(t *testing.T) {
	for _, e := range agent.Catalog() {
		got, err := agent.Get(e.Name)
		a, ok := agent.Lookup(e.Name)
		switch {
		case e.Runnable():
			if err != nil || got.Name != e.Name || !ok || a.Name() != e.Name {
				t.Errorf("Get(%q) = %v, %v; Lookup = %v, %v", e.Name, got.Name, err, a, ok)
			}
			if !slices.Contains(agent.Names(), e.Name) {
				t.Errorf("Names() = %v lacks runnable %s", agent.Names(), e.Name)
			}
		default:
			want := "Sesame cannot run " + e.Title + " yet."
			if sesame.ErrorCode(err) != sesame.ENOTIMPLEMENTED || sesame.ErrorMessage(err) != want {
				t.Errorf("Get(%q) = %v, want %s %q", e.Name, err, sesame.ENOTIMPLEMENTED, want)
			}
			if ok || a != nil || slices.Contains(agent.Names(), e.Name) {
				t.Errorf("Lookup(%q) = %v, %v; Names() = %v: an agent without adapter is not offered", e.Name, a, ok, agent.Names())
			}
		}
	}
	_, err := agent.Get("gpt")
	if sesame.ErrorCode(err) != sesame.EINVALID ||
		sesame.ErrorMessage(err) != `Sesame knows no agent "gpt" (it knows claude, codex, gemini, copilot, opencode).` {
		t.Errorf("Get(gpt) = %v", err)
	}
	if _, ok := agent.Find("gpt"); ok {
		t.Error("Find(gpt) found something")
	}
}
