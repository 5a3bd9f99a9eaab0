package agent

import (
	"fmt"
	"strings"

	"github.com/sesame-works/sesame"
)

// Settings and environment variables Codex reads.
const (
	envOpenAIAPIKey  = "OPENAI_API_KEY"
	envOpenAIBaseURL = "OPENAI_BASE_URL"
	// EnvCodexAuthJSON carries the contents of Codex's auth.json (what `codex login` writes for a
	// ChatGPT subscription): a user's Codex login, written into the task's own HOME (HomeFiles).
	EnvCodexAuthJSON = "CODEX_AUTH_JSON"
)

// codexAuthFile is where Codex reads its login, relative to HOME (CODEX_HOME is left unset).
const codexAuthFile = ".codex/auth.json"

// openAIBaseURL is OpenAI's own API, the endpoint when no OPENAI_BASE_URL is set.
const openAIBaseURL = "https://api.openai.com/v1"

// codexProvider is the name of the model provider every run defines on its command line.
const codexProvider = "sesame"

// Codex runs OpenAI's Codex CLI (npm @openai/codex; tested with 0.169.0).
type Codex struct{}

var _ Adapter = Codex{}

func (Codex) Name() string        { return "codex" }
func (Codex) DisplayName() string { return "Codex" }

// Command returns:
//
//	codex exec --json --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check
//	  --disable plugins --disable unbounded_connection_retries -c analytics.enabled=false
//	  -c model_provider="sesame" -c model_providers.sesame.name="OpenAI"
//	  -c model_providers.sesame.base_url="https://api.openai.com/v1"
//	  -c model_providers.sesame.wire_api="responses" -c model_providers.sesame.env_key="OPENAI_API_KEY"
//	  -c model_providers.sesame.request_max_retries=0 -c model_providers.sesame.stream_max_retries=0
//	  [-m M] -- PROMPT
//
// All configuration is on the command line, none in a file: Codex keeps its state in $HOME/.codex
// (CODEX_HOME is left unset), and the sandbox gives each task its own HOME. The run defines its own
// model provider, pointed at OPENAI_BASE_URL when one is set (Codex ignores that variable itself) and
// at OpenAI's API otherwise, which reads the key from OPENAI_API_KEY. The prompt comes after "--" so
// that a prompt starting with "-" is not read as a flag; with a prompt argument and stdin empty, Codex
// reads nothing more. Options.Model "" leaves the model to Codex: 0.169.0 then asks for gpt-6.1-sol,
// and sends that model its tools in an "additional_tools" input item instead of the request's "tools".
func (Codex) Command(o Options) ([]string, map[string]string, error) {
	if strings.TrimSpace(o.Prompt) == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID, "Codex needs a prompt.")
	}
	if len(o.Prompt) > maxArgLen {
		return nil, nil, sesame.Errorf(sesame.ETOOLARGE, "The prompt is too long for Codex (%d bytes, at most %d).",
			len(o.Prompt), maxArgLen)
	}
	key := o.Credentials[envOpenAIAPIKey]
	if key == "" && o.Credentials[EnvCodexAuthJSON] != "" {
		return codexLoginCommand(o), map[string]string{}, nil
	}
	if key == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID,
			"Codex has no credential: set agents.openaiApiKey (OPENAI_API_KEY) in the settings, or save your Codex login on your settings page.")
	}
	name, base := "OpenAI", openAIBaseURL
	if b := o.Credentials[envOpenAIBaseURL]; b != "" {
		name, base = "OpenAI endpoint", b
	}

	exe := o.Executable
	if exe == "" {
		exe = "codex"
	}
	argv := []string{exe, "exec", "--json",
		// The sandbox is the task's: Codex's own would need namespaces the sandbox does not give it.
		"--dangerously-bypass-approvals-and-sandbox",
		// The workdir is a checkout, but a task may run in a subfolder or a fresh repository.
		"--skip-git-repo-check",
		// No plugin sync, no endless "waiting for network" retries, no analytics: the sandbox only lets
		// the model endpoint through, and each blocked call would cost a timeout.
		"--disable", "plugins",
		"--disable", "unbounded_connection_retries",
		"-c", "analytics.enabled=false",
		"-c", "model_provider=" + tomlString(codexProvider),
	}
	p := "model_providers." + codexProvider + "."
	for _, kv := range [][2]string{
		{"name", name},
		{"base_url", base},
		{"wire_api", "responses"},
		{"env_key", envOpenAIAPIKey},
	} {
		argv = append(argv, "-c", p+kv[0]+"="+tomlString(kv[1]))
	}
	// No retries: by default Codex tries a failing request five more times, a 401 included, with
	// backoff. A failed call fails the run at once; whether to try the task again is the runner's
	// decision.
	argv = append(argv, "-c", p+"request_max_retries=0", "-c", p+"stream_max_retries=0")
	if o.Model != "" {
		argv = append(argv, "-m", o.Model)
	}
	argv = append(argv, "--", o.Prompt)
	return argv, map[string]string{envOpenAIAPIKey: key}, nil
}

// codexLoginCommand is the command line of a run on a Codex login (a ChatGPT subscription) rather
// than an API key: Codex's own OpenAI provider, which reads the login from HOME/.codex/auth.json.
func codexLoginCommand(o Options) []string {
	exe := o.Executable
	if exe == "" {
		exe = "codex"
	}
	argv := []string{exe, "exec", "--json", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check",
		"--disable", "plugins", "--disable", "unbounded_connection_retries", "-c", "analytics.enabled=false"}
	if o.Model != "" {
		argv = append(argv, "-m", o.Model)
	}
	return append(argv, "--", o.Prompt)
}

// usesLogin reports whether a run of o uses a Codex login instead of an API key.
func (Codex) usesLogin(o Options) bool {
	return o.Credentials[envOpenAIAPIKey] == "" && o.Credentials[EnvCodexAuthJSON] != ""
}

// HomeFiles returns the Codex login as HOME/.codex/auth.json when the run uses one, and nothing
// otherwise. Codex reads a login only from that file; it is the task's own HOME, gone with the task.
func (c Codex) HomeFiles(o Options) (map[string][]byte, error) {
	if !c.usesLogin(o) {
		return nil, nil
	}
	return map[string][]byte{codexAuthFile: []byte(o.Credentials[EnvCodexAuthJSON])}, nil
}

// Domains returns api.openai.com, Codex's API, when no OPENAI_BASE_URL replaces it (an OPENAI_BASE_URL
// is an endpoint: see Endpoints); on a Codex login, ChatGPT's API and OpenAI's sign-in host, where
// Codex refreshes the login.
func (c Codex) Domains(o Options) []string {
	switch {
	case c.usesLogin(o):
		return []string{"chatgpt.com", "auth.openai.com"}
	case o.Credentials[envOpenAIBaseURL] != "":
		return nil
	}
	return []string{"api.openai.com"}
}

// Endpoints returns OPENAI_BASE_URL's host and port, when it is set and parses.
func (Codex) Endpoints(o Options) []string {
	if ep := endpoint(o.Credentials[envOpenAIBaseURL]); ep != "" {
		return []string{ep}
	}
	return nil
}

// NewParser returns a parser of codex exec --json output.
func (Codex) NewParser() Parser {
	return &codexParser{}
}

// tomlString quotes s as a TOML basic string, the way a -c value must be given for Codex to read it as
// a string and not try to parse it as another TOML value.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
