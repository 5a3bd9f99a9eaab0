package agent

import (
	"strings"

	"github.com/sesame-works/sesame"
)

// Settings and environment variables Copilot CLI reads.
const (
	envCopilotToken        = "COPILOT_GITHUB_TOKEN"
	envCopilotProviderBase = "COPILOT_PROVIDER_BASE_URL"
	envCopilotProviderKey  = "COPILOT_PROVIDER_API_KEY"
	// envCopilotProviderType ("openai", the default; "azure"; "anthropic") and envCopilotWireAPI
	// ("completions", the default; "responses") describe the provider at envCopilotProviderBase.
	envCopilotProviderType = "COPILOT_PROVIDER_TYPE"
	envCopilotWireAPI      = "COPILOT_PROVIDER_WIRE_API"
	// EnvCopilotPackageCache names the folder holding Copilot's unpacked package (pkg/linux-x64/VERSION/
	// under it). The npm package holds one 190 MB executable that unpacks its 235 MB of JavaScript,
	// native modules and tools there before it can start; without this variable it unpacks into
	// $XDG_CACHE_HOME/copilot, which in a sandbox is new for every task. The folder may be read-only:
	// unpack it once, beforehand, with
	//
	//	COPILOT_SEA_EXTRACT_ONLY=1 COPILOT_PKG_CACHE_HOME=DIR copilot --binary-version
	//
	// and pass the folder, as the sandbox sees it, in Options.Credentials under this name.
	EnvCopilotPackageCache = "COPILOT_PKG_CACHE_HOME"
)

// copilotDefaultModel is the model a run asks for when Options names none. Copilot CLI's own default
// depends on the account and the service's routing ("auto"); a named model gives the same tools and
// prompt every run. GPT models edit files with the apply_patch tool, Claude models with create/edit.
const copilotDefaultModel = "gpt-5.4"

// Copilot runs GitHub Copilot CLI (npm @github/copilot; tested with 1.0.102).
type Copilot struct{}

var _ Adapter = Copilot{}

func (Copilot) Name() string        { return "copilot" }
func (Copilot) DisplayName() string { return "Copilot CLI" }

// Command returns:
//
//	copilot --output-format json --allow-all --no-auto-update --disable-client-telemetry --prompt=PROMPT
//
// The prompt is glued to its flag so that a prompt starting with "-" stays the prompt. --allow-all
// approves every tool, path and URL. The model is COPILOT_MODEL.
//
// With COPILOT_PROVIDER_BASE_URL set, Copilot talks only to that provider (OpenAI Chat Completions by
// default), with COPILOT_PROVIDER_API_KEY, in offline mode: no GitHub sign-in, telemetry, web tools,
// GitHub MCP server or update check. Otherwise it signs in to GitHub Copilot with COPILOT_GITHUB_TOKEN.
//
// Copilot reports token usage only in a file (--usage-output-file FILE), which a parser of its stdout
// cannot read: the command does not ask for it, and the parser's usage stays at zero. A runner that
// adds the flag and reads the file after the run gets the tokens with ParseCopilotUsage.
func (Copilot) Command(o Options) ([]string, map[string]string, error) {
	if strings.TrimSpace(o.Prompt) == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID, "Copilot CLI needs a prompt.")
	}
	if len("--prompt=")+len(o.Prompt) > maxArgLen {
		return nil, nil, sesame.Errorf(sesame.ETOOLARGE, "The prompt is too long for Copilot CLI (%d bytes, at most %d).",
			len(o.Prompt), maxArgLen-len("--prompt="))
	}
	model := o.Model
	if model == "" {
		model = copilotDefaultModel
	}
	env := map[string]string{
		"COPILOT_MODEL":       model,
		"COPILOT_AUTO_UPDATE": "false",
	}
	if base := o.Credentials[envCopilotProviderBase]; base != "" {
		key := o.Credentials[envCopilotProviderKey]
		if key == "" {
			return nil, nil, sesame.Errorf(sesame.EINVALID,
				"Copilot CLI has no key for its provider (agents.copilotProviderBaseUrl): set "+
					"agents.copilotProviderApiKey (COPILOT_PROVIDER_API_KEY) in the settings.")
		}
		env[envCopilotProviderBase], env[envCopilotProviderKey] = base, key
		env["COPILOT_OFFLINE"] = "true"
		for _, name := range []string{envCopilotProviderType, envCopilotWireAPI} {
			if v := o.Credentials[name]; v != "" {
				env[name] = v
			}
		}
	} else if token := o.Credentials[envCopilotToken]; token != "" {
		env[envCopilotToken] = token
	} else {
		return nil, nil, sesame.Errorf(sesame.EINVALID,
			"Copilot CLI has no credential: set agents.copilotGithubToken (COPILOT_GITHUB_TOKEN), or "+
				"agents.copilotProviderBaseUrl (COPILOT_PROVIDER_BASE_URL) with agents.copilotProviderApiKey "+
				"(COPILOT_PROVIDER_API_KEY), in the settings.")
	}
	if dir := o.Credentials[EnvCopilotPackageCache]; dir != "" {
		env[EnvCopilotPackageCache] = dir
	}

	exe := o.Executable
	if exe == "" {
		exe = "copilot"
	}
	argv := []string{exe, "--output-format", "json", "--allow-all", "--no-auto-update",
		"--disable-client-telemetry", "--prompt=" + o.Prompt}
	return argv, env, nil
}

// copilotDomains are the hosts GitHub Copilot's service answers on: the API, its plan-specific
// hosts, and api.github.com, where the CLI exchanges the token and reads the user's plan.
var copilotDomains = []string{
	"api.githubcopilot.com",
	"api.individual.githubcopilot.com",
	"api.business.githubcopilot.com",
	"api.enterprise.githubcopilot.com",
	"api.github.com",
}

// Domains returns GitHub Copilot's hosts, or none when a provider is configured: then the CLI runs in
// offline mode and reaches only the provider's endpoint.
func (Copilot) Domains(o Options) []string {
	if o.Credentials[envCopilotProviderBase] != "" {
		return nil
	}
	return append([]string(nil), copilotDomains...)
}

// Endpoints returns COPILOT_PROVIDER_BASE_URL's host and port, when it is set and parses.
func (Copilot) Endpoints(o Options) []string {
	if ep := endpoint(o.Credentials[envCopilotProviderBase]); ep != "" {
		return []string{ep}
	}
	return nil
}

// NewParser returns a parser of Copilot CLI's JSON Lines output.
func (Copilot) NewParser() Parser {
	return &copilotParser{tools: map[string]string{}}
}
