package sesame

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CredentialGroup is the section of the settings page a credential kind is shown in.
type CredentialGroup string

const (
	// CredentialAPIKey is a provider's API key, billed per use ("API Keys").
	CredentialAPIKey CredentialGroup = "api_key"
	// CredentialSubscription is a login to a subscription or a provider connection ("Agent Credentials").
	CredentialSubscription CredentialGroup = "subscription"
)

// CredentialFormat is what a credential's value looks like, for validation and for its form field.
type CredentialFormat string

const (
	FormatToken CredentialFormat = "token" // one line without spaces: an API key, an OAuth token
	FormatJSON  CredentialFormat = "json"  // a JSON document, such as a CLI's auth.json
	FormatURL   CredentialFormat = "url"   // an http(s) URL
)

// CredentialKind is one kind of credential a user may keep for the agents. CredentialKinds lists them.
type CredentialKind struct {
	// Name identifies the kind in the store, in form addresses and in audit events; never changes.
	Name   string
	Env    string // the environment variable the agent receives the value as
	Title  string
	Group  CredentialGroup
	Format CredentialFormat
	// Secret is false for a value that may be shown whole (a base URL); all values are stored sealed.
	Secret bool
	Agents []string // the agents (agent catalog names) that are given this credential
	Help   string   // where to get it, shown under its field
}

// MinCredentialLen and MaxCredentialLen bound a credential's value in bytes; a JSON login may be
// larger than a key (MaxCredentialJSONLen).
const (
	MinCredentialLen     = 8
	MaxCredentialLen     = 1024
	MaxCredentialJSONLen = 16 << 10
)

// CredentialKinds is every kind of credential a user may keep, in the order the settings page shows
// them. A user's own credential wins over the system-wide key for their tasks.
var CredentialKinds = []CredentialKind{
	{Name: "anthropic_api_key", Env: "ANTHROPIC_API_KEY", Title: "Anthropic API key", Group: CredentialAPIKey,
		Format: FormatToken, Secret: true, Agents: []string{"claude"},
		Help: "Used by Claude Code. Create one at console.anthropic.com (sk-ant-…)."},
	{Name: "openai_api_key", Env: "OPENAI_API_KEY", Title: "OpenAI API key", Group: CredentialAPIKey,
		Format: FormatToken, Secret: true, Agents: []string{"codex", "opencode"},
		Help: "Used by Codex, and by OpenCode when no OpenCode provider key is set. Create one at platform.openai.com (sk-…)."},
	{Name: "gemini_api_key", Env: "GEMINI_API_KEY", Title: "Gemini API key", Group: CredentialAPIKey,
		Format: FormatToken, Secret: true, Agents: []string{"gemini"},
		Help: "Used by Gemini CLI. Create one at aistudio.google.com (AIza…)."},
	{Name: "claude_oauth_token", Env: "CLAUDE_CODE_OAUTH_TOKEN", Title: "Claude subscription", Group: CredentialSubscription,
		Format: FormatToken, Secret: true, Agents: []string{"claude"},
		Help: "Claude Code with your Claude Pro or Max plan: run `claude setup-token` and paste the token it prints (sk-ant-oat…)."},
	{Name: "codex_auth_json", Env: "CODEX_AUTH_JSON", Title: "Codex login (ChatGPT)", Group: CredentialSubscription,
		Format: FormatJSON, Secret: true, Agents: []string{"codex"},
		Help: "Codex with your ChatGPT plan: run `codex login`, then paste the whole of ~/.codex/auth.json."},
	{Name: "copilot_github_token", Env: "COPILOT_GITHUB_TOKEN", Title: "GitHub Copilot", Group: CredentialSubscription,
		Format: FormatToken, Secret: true, Agents: []string{"copilot"},
		Help: "Copilot CLI with your Copilot plan: a fine-grained personal access token with the \"Copilot Requests\" permission (github_pat_…)."},
	{Name: "opencode_base_url", Env: "OPENCODE_BASE_URL", Title: "OpenCode provider base URL", Group: CredentialSubscription,
		Format: FormatURL, Secret: false, Agents: []string{"opencode"},
		Help: "OpenCode with an OpenAI-compatible provider: its base URL, such as https://api.example.com/v1."},
	{Name: "opencode_api_key", Env: "OPENCODE_API_KEY", Title: "OpenCode provider API key", Group: CredentialSubscription,
		Format: FormatToken, Secret: true, Agents: []string{"opencode"},
		Help: "The API key of that provider. Without one OpenCode uses your OpenAI API key."},
}

// CredentialKindNamed returns the kind called name, and false for an unknown name.
func CredentialKindNamed(name string) (CredentialKind, bool) {
	for _, k := range CredentialKinds {
		if k.Name == name {
			return k, true
		}
	}
	return CredentialKind{}, false
}

// UsedBy tells whether the agent called agent is given credentials of this kind.
func (k CredentialKind) UsedBy(agent string) bool { return slices.Contains(k.Agents, agent) }

// Clean returns value trimmed and checked for this kind, or an EINVALID error whose message names
// the kind and never quotes the value.
func (k CredentialKind) Clean(value string) (string, error) {
	v := strings.TrimSpace(value)
	limit := MaxCredentialLen
	if k.Format == FormatJSON {
		limit = MaxCredentialJSONLen
	}
	switch {
	case v == "":
		return "", Errorf(EINVALID, "Enter the %s.", k.Title)
	case len(v) > limit:
		return "", Errorf(EINVALID, "The %s is too long (at most %d characters).", k.Title, limit)
	case k.Secret && len(v) < MinCredentialLen:
		return "", Errorf(EINVALID, "The %s is too short to be one (at least %d characters).", k.Title, MinCredentialLen)
	case !utf8.ValidString(v):
		return "", Errorf(EINVALID, "The %s is not valid text.", k.Title)
	}
	for _, r := range v {
		if k.Format == FormatJSON && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", Errorf(EINVALID, "The %s contains a control or invisible character.", k.Title)
		}
		if k.Format != FormatJSON && unicode.IsSpace(r) {
			return "", Errorf(EINVALID, "The %s must not contain spaces.", k.Title)
		}
	}
	switch k.Format {
	case FormatJSON:
		var doc map[string]any
		if err := json.Unmarshal([]byte(v), &doc); err != nil {
			return "", Errorf(EINVALID, "The %s must be a JSON object: paste the whole file.", k.Title)
		}
	case FormatURL:
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", Errorf(EINVALID, "The %s must be an http:// or https:// address.", k.Title)
		}
		if u.User != nil || u.Fragment != "" || u.RawQuery != "" {
			return "", Errorf(EINVALID, "The %s must be a plain address, without a user, query or fragment.", k.Title)
		}
	}
	return v, nil
}

// Hint is what the settings page shows of a cleaned value: the whole of a value that is not secret,
// else its last four characters. A JSON login's trailing punctuation is passed over, so its hint
// shows part of its last value rather than `"}`.
func (k CredentialKind) Hint(value string) string {
	if !k.Secret {
		return value
	}
	if k.Format == FormatJSON {
		value = strings.TrimRightFunc(value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	r := []rune(value)
	if len(r) <= 4 {
		return string(r)
	}
	return string(r[len(r)-4:])
}

// UserCredential is a credential a user keeps, as listed: never its value.
type UserCredential struct {
	Kind      string // CredentialKind.Name
	Hint      string // CredentialKind.Hint of the value
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserCredentials keeps users' own credentials for the agents, sealed with ENCRYPTION_KEY and bound
// to their user and kind: a sealed value copied to another user's row or another kind does not open.
// Deleting a user deletes their credentials.
type UserCredentials interface {
	// PutCredential stores (replaces) the user's credential of kind, cleaned as CredentialKind.Clean
	// does, and tells whether it is new. EINVALID for an unknown kind or a bad value (the message
	// never quotes it); ENOTFOUND for an unknown user.
	PutCredential(ctx context.Context, userID, kind, value string) (created bool, err error)
	// Credentials lists the user's credentials in the order of CredentialKinds, without values.
	Credentials(ctx context.Context, userID string) ([]UserCredential, error)
	// DeleteCredential removes the user's credential of kind and tells whether there was one.
	DeleteCredential(ctx context.Context, userID, kind string) (deleted bool, err error)
	// AgentCredentials returns, by environment variable, the opened values of the user's credentials
	// that the agent called agentName is given (CredentialKind.Agents); empty for a user with none
	// (or userID ""). A value that does not open with this ENCRYPTION_KEY fails it with EINVALID,
	// naming the credential to save again.
	AgentCredentials(ctx context.Context, userID, agentName string) (map[string]string, error)
}
