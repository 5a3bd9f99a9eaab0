package agent

import (
	"encoding/json"
	"strings"

	"github.com/sesame-works/sesame"
)

// Settings OpenCode reads.
const (
	envOpenCodeBaseURL = "OPENCODE_BASE_URL" // an OpenAI-compatible provider's base URL
	envOpenCodeAPIKey  = "OPENCODE_API_KEY"  // that provider's key
)

// openCodeProvider is the id of the provider every run defines in its config.
const openCodeProvider = "sesame"

// openCodeModel is the model a run asks for when Options.Model is "" (the catalog's default normally
// fills it in): the provider defined for the run has no default of its own, and without a base URL it
// is OpenAI's API.
const openCodeModel = "gpt-5.5"

// OpenCode runs OpenCode (npm opencode-ai; tested with 1.18.33) against an OpenAI-compatible Chat
// Completions provider: OPENCODE_BASE_URL, or OpenAI's API when it is empty, with OPENCODE_API_KEY.
type OpenCode struct{}

var _ Adapter = OpenCode{}

func (OpenCode) Name() string        { return "opencode" }
func (OpenCode) DisplayName() string { return "OpenCode" }

// Command returns:
//
//	opencode run --format json --pure --auto -- PROMPT
//
// with the whole configuration in OPENCODE_CONFIG_CONTENT (never a file): one provider, "sesame",
// through OpenCode's bundled @ai-sdk/openai-compatible package with the base URL, key and model, that
// model as the model of the run and of its title, and no plugins, sharing or update checks. --auto
// approves every tool call that the config does not deny, as a task runs unattended; --pure loads
// no external plugins. The OPENCODE_DISABLE_* switches keep it from fetching model lists, updates,
// language servers and plugins, and from reading a config the repository brings.
func (OpenCode) Command(opts Options) ([]string, map[string]string, error) {
	if strings.TrimSpace(opts.Prompt) == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID, "OpenCode needs a prompt.")
	}
	if len(opts.Prompt) > maxArgLen {
		return nil, nil, sesame.Errorf(sesame.ETOOLARGE, "The prompt is too long for OpenCode (%d bytes, at most %d).",
			len(opts.Prompt), maxArgLen)
	}
	base, key, err := openCodeProviderOf(opts.Credentials)
	if err != nil {
		return nil, nil, err
	}
	model := opts.Model
	if model == "" {
		model = openCodeModel
	}
	config, err := json.Marshal(map[string]any{
		"$schema":     "https://opencode.ai/config.json",
		"model":       openCodeProvider + "/" + model,
		"small_model": openCodeProvider + "/" + model,
		"provider": map[string]any{openCodeProvider: map[string]any{
			"npm":     "@ai-sdk/openai-compatible",
			"name":    "Sesame",
			"options": map[string]any{"baseURL": base, "apiKey": key},
			"models":  map[string]any{model: map[string]any{"name": model}},
		}},
		"enabled_providers": []string{openCodeProvider},
		"plugin":            []string{},
		"autoupdate":        false,
		"share":             "disabled",
		// No snapshot repository of the workdir after every step: the task's checkout is under git
		// already, and snapshots cost a copy of the tree and seconds of CPU a step.
		"snapshot": false,
	})
	if err != nil {
		return nil, nil, err
	}
	env := map[string]string{
		"OPENCODE_CONFIG_CONTENT":          string(config),
		"OPENCODE_DISABLE_MODELS_FETCH":    "true",
		"OPENCODE_DISABLE_AUTOUPDATE":      "true",
		"OPENCODE_DISABLE_LSP_DOWNLOAD":    "true",
		"OPENCODE_DISABLE_DEFAULT_PLUGINS": "true",
		"OPENCODE_DISABLE_SHARE":           "true",
		"OPENCODE_DISABLE_PROJECT_CONFIG":  "true",
		// A one-shot run needs no file watcher.
		"OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER": "true",
	}

	exe := opts.Executable
	if exe == "" {
		exe = "opencode"
	}
	argv := []string{exe, "run", "--format", "json", "--pure", "--auto", "--", opts.Prompt}
	return argv, env, nil
}

// HomeFiles returns the files, by path relative to HOME, that keep OpenCode from installing packages
// from the npm registry in the background of every run. For each config folder (here
// $XDG_CONFIG_HOME/opencode, that is HOME/.config/opencode) OpenCode 1.18.33 runs an npm install of
// @opencode-ai/plugin unless the folder holds a node_modules folder and a package-lock.json whose root
// package depends on it; it does so even with --pure and OPENCODE_DISABLE_DEFAULT_PLUGINS, and no
// setting turns it off. The install is detached: without these files a run still works, but it tries
// the registry. node_modules/.package-lock.json (npm's own hidden lockfile) makes the folder exist.
func (OpenCode) HomeFiles(Options) (map[string][]byte, error) {
	return map[string][]byte{
		".config/opencode/package-lock.json":               []byte(`{"lockfileVersion":3,"packages":{"":{"dependencies":{"@opencode-ai/plugin":"1.18.33"}}}}` + "\n"),
		".config/opencode/node_modules/.package-lock.json": []byte(`{"lockfileVersion":3,"packages":{}}` + "\n"),
	}, nil
}

// openCodeProviderOf returns the base URL and key of the provider: OPENCODE_BASE_URL, or OpenAI's API
// when it is empty, with OPENCODE_API_KEY or, without one, OPENAI_API_KEY when the run was given it.
func openCodeProviderOf(creds map[string]string) (base, key string, err error) {
	base = firstNonEmpty(creds[envOpenCodeBaseURL], openAIBaseURL)
	key = firstNonEmpty(creds[envOpenCodeAPIKey], creds[envOpenAIAPIKey])
	if key == "" {
		return "", "", sesame.Errorf(sesame.EINVALID,
			"OpenCode has no credential: set its provider API key (OPENCODE_API_KEY), and its base URL "+
				"(OPENCODE_BASE_URL) for a provider other than OpenAI, in the settings.")
	}
	return base, key, nil
}

// Domains returns api.openai.com when OpenCode uses OpenAI's API, that is when no OPENCODE_BASE_URL is
// set; a base URL is an endpoint (see Endpoints).
func (OpenCode) Domains(o Options) []string {
	if o.Credentials[envOpenCodeBaseURL] != "" {
		return nil
	}
	return []string{"api.openai.com"}
}

// Endpoints returns OPENCODE_BASE_URL's host and port, when it is set and parses.
func (OpenCode) Endpoints(o Options) []string {
	if ep := endpoint(o.Credentials[envOpenCodeBaseURL]); ep != "" {
		return []string{ep}
	}
	return nil
}

// NewParser returns a parser of opencode run --format json output.
func (OpenCode) NewParser() Parser {
	return &openCodeParser{}
}
