package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/config"
)

// testConfig loads the settings from env alone.
func testConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Options{Dir: t.TempDir(), Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeProgram writes an executable shell script at path that prints out for --version.
func writeProgram(t *testing.T, path, out string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho '"+out+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// pathOf is a lookPath that finds name only in dir, the way exec.LookPath finds it on a PATH of dir.
func pathOf(dir string) func(string) (string, error) {
	return func(name string) (string, error) {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", exec.ErrNotFound
		}
		return p, nil
	}
}

func mustEntry(t *testing.T, name string) agent.Entry {
	t.Helper()
	e, ok := agent.Find(name)
	if !ok {
		t.Fatalf("no agent %s in the catalog", name)
	}
	return e
}

// TestAgentLookup: AGENTS_DIR wins; else the CLI found on the PATH at start, absolute, its links
// resolved; else an error that names the package to install.
func TestAgentLookup(t *testing.T) {
	root := t.TempDir()
	agentsDir := filepath.Join(root, "agents")
	inDir := filepath.Join(agentsDir, "claude", "node_modules", ".bin", "claude")
	writeProgram(t, inDir, "2.1.197 (Claude Code)")

	// A global npm install: the program on PATH is a link into node_modules.
	global := filepath.Join(root, "global", "lib", "node_modules", "@anthropic-ai", "claude-code", "cli.js")
	writeProgram(t, global, "2.1.197 (Claude Code)")
	bin := filepath.Join(root, "global", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../lib/node_modules/@anthropic-ai/claude-code/cli.js", filepath.Join(bin, "claude")); err != nil {
		t.Fatal(err)
	}
	claude, codex := mustEntry(t, "claude"), mustEntry(t, "codex")

	tests := []struct {
		name  string
		dir   string
		path  string // the directory lookPath searches
		entry agent.Entry
		want  string // the executable, or "" for the error
	}{
		{"AGENTS_DIR wins over PATH", agentsDir, bin, claude, inDir},
		{"PATH, resolved absolute", "", bin, claude, global},
		{"PATH when AGENTS_DIR lacks it", filepath.Join(root, "empty"), bin, claude, global},
		{"neither", agentsDir, filepath.Join(root, "nothing"), codex, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findAgents(tt.dir, pathOf(tt.path)).executable(tt.entry)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("executable = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			want := "Codex is not installed on this worker: install @openai/codex@0.169.0 (scripts/install-agents) or set AGENTS_DIR."
			if sesame.ErrorCode(err) != sesame.EUNAVAILABLE || sesame.ErrorMessage(err) != want {
				t.Fatalf("executable = %q, %v; want the error %q", got, err, want)
			}
		})
	}

	// A relative AGENTS_DIR is made absolute.
	t.Chdir(root)
	if got, err := findAgents("agents", pathOf(bin)).executable(claude); err != nil || got != inDir {
		t.Errorf("relative AGENTS_DIR: executable = %q, %v; want %q", got, err, inDir)
	}
}

// TestAgentSandboxPaths: a CLI found on the PATH outside the system folders is bound into the
// sandbox with its node_modules folder, and node's folder joins the sandbox's PATH.
func TestAgentSandboxPaths(t *testing.T) {
	p := agentPaths{
		onPath: map[string]string{
			"claude":   "/opt/node/lib/node_modules/@anthropic-ai/claude-code/cli.js",
			"codex":    "/opt/node/lib/node_modules/@openai/codex/bin/codex.js",
			"gemini":   "/usr/local/lib/node_modules/@google/gemini-cli/dist/index.js", // seen by every sandbox
			"opencode": "/opt/opencode/bin/opencode",                                   // a lone program
		},
		node: "/opt/node/bin/node",
	}
	ro, extra := p.sandboxPaths()
	if diff := cmp.Diff([]string{"/opt/node/lib/node_modules", "/opt/opencode/bin/opencode"}, ro); diff != "" {
		t.Errorf("read-only (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/opt/node/bin"}, extra); diff != "" {
		t.Errorf("extra PATH (-want +got):\n%s", diff)
	}
	if _, extra := (agentPaths{node: "/usr/bin/node"}).sandboxPaths(); len(extra) != 0 {
		t.Errorf("node in /usr/bin: extra PATH %v, want none", extra)
	}

	// An install the sandbox's user cannot reach is left out rather than breaking every sandbox.
	closed := filepath.Join(t.TempDir(), "closed")
	cli := filepath.Join(closed, "lib", "node_modules", "opencode-ai", "bin", "opencode")
	writeProgram(t, cli, "1.18.33")
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if ro, _ := (agentPaths{onPath: map[string]string{"opencode": cli}}).sandboxPaths(); len(ro) != 0 {
		t.Errorf("read-only %v for an install others cannot reach, want none", ro)
	}
}

// TestAgentCredentials: a run gets only its own agent's credentials; a user's own win over the
// system's; an agent Sesame cannot run yet, or one not installed, is a clear failure.
func TestAgentCredentials(t *testing.T) {
	cfg := testConfig(t, map[string]string{
		"ANTHROPIC_API_KEY":  "sk-ant-system",
		"ANTHROPIC_BASE_URL": "https://gateway.example.com",
		"OPENAI_API_KEY":     "sk-openai-system",
		"GEMINI_API_KEY":     "gemini-system",
		"GH_TOKEN":           "gho_system",
	})
	dir := t.TempDir()
	exe := filepath.Join(dir, "claude", "node_modules", ".bin", "claude")
	writeProgram(t, exe, "2.1.197")
	own := map[string]map[string]string{
		"bob": {"CLAUDE_CODE_OAUTH_TOKEN": "oauth-bob", "OPENAI_API_KEY": "sk-openai-bob"},
	}
	var asked []string
	c := agentCatalog{
		cfg:   func() *config.Config { return cfg },
		found: findAgents(dir, pathOf(t.TempDir())),
		User: func(_ context.Context, userID, agentName string) (map[string]string, error) {
			asked = append(asked, userID+"/"+agentName)
			if userID == "broken" {
				return nil, errors.New("database down")
			}
			return own[userID], nil
		},
	}
	ctx := context.Background()

	tests := []struct {
		name, user string
		want       map[string]string
	}{
		{"system", "", map[string]string{"ANTHROPIC_API_KEY": "sk-ant-system", "ANTHROPIC_BASE_URL": "https://gateway.example.com"}},
		{"user without credentials", "alice", map[string]string{"ANTHROPIC_API_KEY": "sk-ant-system", "ANTHROPIC_BASE_URL": "https://gateway.example.com"}},
		// Bob's OAuth token replaces the system's API key, which Claude Code would prefer; his OpenAI
		// key is not Claude Code's and stays out.
		{"user's own", "bob", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "oauth-bob", "ANTHROPIC_BASE_URL": "https://gateway.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, opts, err := c.Agent(ctx, "claude", tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if a.Name() != "claude" || opts.Executable != exe {
				t.Errorf("Agent = %s with %q, want claude with %q", a.Name(), opts.Executable, exe)
			}
			if diff := cmp.Diff(tt.want, opts.Credentials); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]string{"alice/claude", "bob/claude"}, asked); diff != "" {
		t.Errorf("User asked (-want +got):\n%s", diff)
	}

	if _, _, err := c.Agent(ctx, "claude", "broken"); sesame.ErrorMessage(err) != "Sesame could not read your own credentials for Claude Code." ||
		!strings.Contains(err.Error(), "database down") {
		t.Errorf("Agent for a user whose credentials cannot be read: %v", err)
	}
	// A store's own *sesame.Error reaches the requester as it is.
	sealedErr := sesame.Errorf(sesame.EINVALID, "Your saved Anthropic API key cannot be opened; save it again.")
	c.User = func(context.Context, string, string) (map[string]string, error) { return nil, sealedErr }
	if _, _, err := c.Agent(ctx, "claude", "bob"); !errors.Is(err, sealedErr) || sesame.ErrorMessage(err) != sealedErr.Message {
		t.Errorf("Agent when the store says why: %v", err)
	}
	c.User = func(_ context.Context, userID, _ string) (map[string]string, error) { return own[userID], nil }
	for _, e := range agent.Catalog() {
		_, _, err := c.Agent(ctx, e.Name, "")
		switch {
		case !e.Runnable():
			if want := "Sesame cannot run " + e.Title + " yet."; sesame.ErrorMessage(err) != want {
				t.Errorf("Agent(%s) = %v, want %q", e.Name, err, want)
			}
		case e.Name != "claude": // runnable, not installed here
			if !strings.Contains(sesame.ErrorMessage(err), "install "+e.Install()) {
				t.Errorf("Agent(%s) = %v, want an error naming %s", e.Name, err, e.Install())
			}
		}
	}

	// In the sandbox image the image's own CLI runs.
	c.inImage = true
	if _, opts, err := c.Agent(ctx, "claude", ""); err != nil || opts.Executable != "" {
		t.Errorf("in the image: Agent = %q, %v; want no executable", opts.Executable, err)
	}
}

// TestAgentSettings: every key and endpoint of the catalog is a setting named after its variable,
// keys secret, endpoints URLs and an endpoint's API type a choice; a user's own kind of key (a
// subscription's login) is not.
func TestAgentSettings(t *testing.T) {
	for _, e := range agent.Catalog() {
		for _, env := range e.UserKeys {
			if key, ok := settingOf(env); ok {
				t.Errorf("%s: %s is a user's only, but setting %s has it", e.Name, env, key)
			}
		}
		for _, env := range append(e.Keys, e.Endpoints...) {
			key, ok := settingOf(env)
			if !ok {
				t.Errorf("%s: no setting has the variable %s", e.Name, env)
				continue
			}
			s, _ := config.Lookup(key)
			endpoint := strings.HasSuffix(env, "_BASE_URL")
			choice := strings.HasSuffix(env, "_TYPE") // the API an endpoint speaks: one of a few names
			secret := !endpoint && !choice
			if s.Secret != secret || (endpoint && s.Format != config.FormatURL) || (choice && len(s.Choices) == 0) || s.NotYet != "" {
				t.Errorf("%s: setting %s (%s): secret %v, format %q, not yet %q", e.Name, key, env, s.Secret, s.Format, s.NotYet)
			}
		}
	}
}

// TestDoctorAgents: doctor lists every agent: where its CLI is, its version, whether a credential is
// set, never the credential itself.
func TestDoctorAgents(t *testing.T) {
	dir := t.TempDir()
	writeProgram(t, filepath.Join(dir, "claude", "node_modules", ".bin", "claude"), "2.1.197 (Claude Code)")
	writeProgram(t, filepath.Join(dir, "codex", "node_modules", ".bin", "codex"), "codex-cli 0.100.0")
	failing := filepath.Join(dir, "gemini", "node_modules", ".bin", "gemini")
	if err := os.MkdirAll(filepath.Dir(failing), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(failing, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "oauth-secret-value", "AGENTS_DIR": dir})
	found := findAgents(dir, pathOf(t.TempDir()))

	var out bytes.Buffer
	if err := listAgents(context.Background(), &out, cfg, found, false); err != nil {
		t.Fatalf("listAgents: %v\n%s", err, &out)
	}
	text := out.String()
	claude := mustEntry(t, "claude")
	want := []string{
		"· Claude Code (claude): " + filepath.Join(dir, "claude", "node_modules", ".bin", "claude") + "; version 2.1.197; credential CLAUDE_CODE_OAUTH_TOKEN set\n",
		`version "codex-cli 0.100.0", Sesame is tested with 0.169.0`,
		"--version failed (exit status 3)",
		"· Copilot CLI (copilot): ",
		"not installed (install @github/copilot@1.0.102: scripts/install-agents)",
		"no credential (set COPILOT_GITHUB_TOKEN or COPILOT_PROVIDER_API_KEY)",
		"· OpenCode (opencode): ",
	}
	if !claude.Runnable() {
		t.Fatal("Claude Code is not runnable")
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("doctor does not say %q:\n%s", w, text)
		}
	}
	for _, e := range agent.Catalog() {
		if !e.Runnable() && !strings.Contains(text, e.Title+" ("+e.Name+"): Sesame cannot run it yet") {
			t.Errorf("doctor does not say Sesame cannot run %s yet:\n%s", e.Title, text)
		}
	}
	if strings.Contains(text, "oauth-secret-value") {
		t.Errorf("doctor printed a credential:\n%s", text)
	}

	// No agent ready: the check fails.
	out.Reset()
	if err := listAgents(context.Background(), &out, testConfig(t, nil), found, false); err == nil {
		t.Errorf("listAgents with no credential passed:\n%s", &out)
	}
}

// TestOverlay: a user's own credential of any kind wins over every system key of the agent; the
// system's endpoint stays unless the user sets one; other agents' names are dropped.
func TestOverlay(t *testing.T) {
	codex, opencode := mustEntry(t, "codex"), mustEntry(t, "opencode")
	tests := []struct {
		name              string
		e                 agent.Entry
		system, own, want map[string]string
	}{
		{"subscription login over the system key", codex,
			map[string]string{"OPENAI_API_KEY": "sk-system", "OPENAI_BASE_URL": "https://gw.example.com/v1"},
			map[string]string{"CODEX_AUTH_JSON": `{"tokens":{}}`, "ANTHROPIC_API_KEY": "sk-ant-other"},
			map[string]string{"CODEX_AUTH_JSON": `{"tokens":{}}`, "OPENAI_BASE_URL": "https://gw.example.com/v1"}},
		{"user's fallback key over the system's own key", opencode,
			map[string]string{"OPENCODE_API_KEY": "sk-system"},
			map[string]string{"OPENAI_API_KEY": "sk-user"},
			map[string]string{"OPENAI_API_KEY": "sk-user"}},
		{"user's endpoint", opencode,
			map[string]string{"OPENCODE_API_KEY": "sk-system", "OPENCODE_BASE_URL": "https://a.example.com/v1"},
			map[string]string{"OPENCODE_BASE_URL": "https://b.example.com/v1"},
			map[string]string{"OPENCODE_API_KEY": "sk-system", "OPENCODE_BASE_URL": "https://b.example.com/v1"}},
		{"nothing of the user's", codex,
			map[string]string{"OPENAI_API_KEY": "sk-system"}, nil,
			map[string]string{"OPENAI_API_KEY": "sk-system"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, overlay(tt.e, tt.system, tt.own)); diff != "" {
				t.Errorf("overlay (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCopilotPackageCache: a Copilot CLI from AGENTS_DIR is handed the package scripts/install-agents
// unpacked there; one from the PATH, or without that package, is not.
func TestCopilotPackageCache(t *testing.T) {
	dir := t.TempDir()
	copilot := mustEntry(t, "copilot")
	exe := filepath.Join(dir, "copilot", "node_modules", ".bin", "copilot")
	writeProgram(t, exe, "GitHub Copilot CLI "+copilot.Version+".")
	p := findAgents(dir, pathOf(t.TempDir()))
	if env, got := p.packageCache(copilot, exe); env != "" {
		t.Errorf("packageCache before unpacking = %s=%s, want none", env, got)
	}
	cache := filepath.Join(dir, "copilot-cache")
	writeProgram(t, filepath.Join(cache, "pkg", "linux-x64", copilot.Version, "index.js"), "")
	if env, got := p.packageCache(copilot, exe); env != "COPILOT_PKG_CACHE_HOME" || got != cache {
		t.Errorf("packageCache = %s=%s, want COPILOT_PKG_CACHE_HOME=%s", env, got, cache)
	}
	if env, _ := p.packageCache(copilot, "/usr/local/bin/copilot"); env != "" {
		t.Errorf("packageCache of a CLI from the PATH = %s, want none", env)
	}
	if env, _ := p.packageCache(mustEntry(t, "claude"), exe); env != "" {
		t.Errorf("packageCache of Claude Code = %s, want none", env)
	}
}
