package agent

import (
	"strings"

	"github.com/sesame-works/sesame"
)

// Entry describes one agent CLI Sesame knows: what it is called, where it comes from, what it may be
// given and what it needs to reach. The catalog of entries (Catalog) is the only list of agents: the
// command grammar, the web form, the help text, `sesame doctor` and the wiring all read it.
type Entry struct {
	Name    string // short name used in commands, forms and settings, e.g. "claude"
	Title   string // the CLI's own name, e.g. "Claude Code"
	Package string // the npm package it is installed from, e.g. "@anthropic-ai/claude-code"
	Version string // the pinned version of Package that scripts/install-agents installs and the tests run
	// Executable is the name of the CLI's program: the file in node_modules/.bin of an AGENTS_DIR
	// install, or the name looked up on the server's PATH.
	Executable string
	// Keys are the environment names of the credentials the CLI signs in with; any one of them is
	// enough. Each is also the environment variable of the system-wide setting that holds it.
	Keys []string
	// UserKeys are credentials only a user can hold (a subscription's login), which no system-wide
	// setting has; a user's own is enough, like a key.
	UserKeys []string
	// Endpoints are the environment names of the endpoint overrides (base URLs of a gateway or
	// another provider, and the API such a provider speaks) the CLI reads; each is also the
	// environment variable of its setting.
	Endpoints []string
	// Domains are the host names the CLI reaches with no endpoint override: its vendor's API. They
	// are what the adapter's Domains returns.
	Domains []string
	// DefaultModel is the model a run asks for when its request names none; "" leaves the choice to
	// the CLI.
	DefaultModel string
	// Adapter runs the CLI; nil while Sesame cannot run it yet (Get then says so).
	Adapter Adapter
}

// Credentials returns the environment names the CLI may be given, Keys, UserKeys then Endpoints: the
// only values of the settings (and of a user's own credentials) that reach a run of this agent.
func (e Entry) Credentials() []string {
	return append(append(append([]string(nil), e.Keys...), e.UserKeys...), e.Endpoints...)
}

// Runnable reports whether Sesame can run the agent: it has an adapter.
func (e Entry) Runnable() bool { return e.Adapter != nil }

// Install is the npm package at its pinned version, as `npm install` takes it, e.g.
// "@openai/codex@0.169.0".
func (e Entry) Install() string { return e.Package + "@" + e.Version }

// Catalog returns every agent Sesame knows, in the order forms and help show them; the first, Claude
// Code, is the default. The slice and its entries are new on every call: callers may change them.
func Catalog() []Entry {
	return []Entry{
		{
			Name: "claude", Title: "Claude Code",
			Package: "@anthropic-ai/claude-code", Version: "2.1.197", Executable: "claude",
			Keys:      []string{envAnthropicAPIKey, envClaudeOAuth},
			Endpoints: []string{envAnthropicBase},
			Domains:   []string{"api.anthropic.com"},
			Adapter:   Claude{},
		},
		{
			Name: "codex", Title: "Codex",
			Package: "@openai/codex", Version: "0.169.0", Executable: "codex",
			Keys: []string{"OPENAI_API_KEY"},
			// A user's ChatGPT login: the whole of ~/.codex/auth.json.
			UserKeys: []string{"CODEX_AUTH_JSON"},
			// Codex itself ignores an OPENAI_BASE_URL in its environment: its adapter writes the URL
			// into a model_providers entry of the run's own config.
			Endpoints:    []string{"OPENAI_BASE_URL"},
			Domains:      []string{"api.openai.com"},
			DefaultModel: "gpt-5.5",
			Adapter:      Codex{},
		},
		{
			Name: "gemini", Title: "Gemini CLI",
			Package: "@google/gemini-cli", Version: "0.61.0", Executable: "gemini",
			Keys:         []string{"GEMINI_API_KEY"},
			Endpoints:    []string{"GOOGLE_GEMINI_BASE_URL"},
			Domains:      []string{"generativelanguage.googleapis.com"},
			DefaultModel: "gemini-2.5-pro",
			Adapter:      Gemini{},
		},
		{
			Name: "copilot", Title: "Copilot CLI",
			Package: "@github/copilot", Version: "1.0.102", Executable: "copilot",
			// COPILOT_GITHUB_TOKEN signs in to GitHub Copilot; COPILOT_PROVIDER_API_KEY is the key of
			// the provider at COPILOT_PROVIDER_BASE_URL, which Copilot sends nothing else to.
			Keys: []string{"COPILOT_GITHUB_TOKEN", "COPILOT_PROVIDER_API_KEY"},
			// COPILOT_PROVIDER_TYPE says which API the endpoint speaks (openai, azure, anthropic).
			Endpoints:    []string{"COPILOT_PROVIDER_BASE_URL", "COPILOT_PROVIDER_TYPE"},
			Domains:      []string{"api.githubcopilot.com", "api.individual.githubcopilot.com", "api.business.githubcopilot.com", "api.enterprise.githubcopilot.com", "api.github.com"},
			DefaultModel: "gpt-5.4",
			Adapter:      Copilot{},
		},
		{
			Name: "opencode", Title: "OpenCode",
			Package: "opencode-ai", Version: "1.18.33", Executable: "opencode",
			// OpenCode talks to one OpenAI-compatible provider: OPENCODE_BASE_URL, or OpenAI's API when
			// that is empty, with OPENCODE_API_KEY or, when that is not set, OPENAI_API_KEY (the key
			// Codex uses too).
			Keys:         []string{"OPENCODE_API_KEY", "OPENAI_API_KEY"},
			Endpoints:    []string{"OPENCODE_BASE_URL"},
			Domains:      []string{"api.openai.com"},
			DefaultModel: "gpt-5.5",
			Adapter:      OpenCode{},
		},
	}
}

// Find returns the entry named name (in lower case, as Catalog spells it), runnable or not, and false
// for a name the catalog does not hold.
func Find(name string) (Entry, bool) {
	for _, e := range Catalog() {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Get returns the entry named name when Sesame can run it. Otherwise the error is a *sesame.Error a
// requester can read: EINVALID for a name the catalog does not hold, ENOTIMPLEMENTED ("Sesame cannot
// run Codex yet.") for an agent without an adapter.
func Get(name string) (Entry, error) {
	e, ok := Find(name)
	if !ok {
		return Entry{}, sesame.Errorf(sesame.EINVALID, "Sesame knows no agent %q (it knows %s).",
			name, strings.Join(names(Catalog()), ", "))
	}
	if !e.Runnable() {
		return Entry{}, sesame.Errorf(sesame.ENOTIMPLEMENTED, "Sesame cannot run %s yet.", e.Title)
	}
	return e, nil
}

// Runnable returns the entries Sesame can run, in catalog order.
func Runnable() []Entry {
	var out []Entry
	for _, e := range Catalog() {
		if e.Runnable() {
			out = append(out, e)
		}
	}
	return out
}

// Lookup returns the adapter named name ("claude"), and false for a name the catalog does not hold
// or an agent Sesame cannot run yet. Get says which.
func Lookup(name string) (Adapter, bool) {
	e, err := Get(name)
	if err != nil {
		return nil, false
	}
	return e.Adapter, true
}

// Names lists the agents Lookup knows (those Sesame can run), in catalog order.
func Names() []string { return names(Runnable()) }

func names(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name
	}
	return out
}
