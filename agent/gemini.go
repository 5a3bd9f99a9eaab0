package agent

import (
	"encoding/json"
	"strings"

	"github.com/sesame-works/sesame"
)

// Settings and environment variables Gemini CLI reads.
const (
	envGeminiAPIKey = "GEMINI_API_KEY"
	envGeminiBase   = "GOOGLE_GEMINI_BASE_URL"
)

// geminiDefaultModel is the model a run asks for when Options names none: the CLI's own non-routing
// default (DEFAULT_GEMINI_MODEL in 0.61.0). The CLI's default, "auto", first asks a flash-lite model
// to rate the prompt's complexity (a :generateContent call) and then picks a model: one more request,
// one more thing that can fail, and a model nobody chose.
const geminiDefaultModel = "gemini-2.5-pro"

// geminiSettingsPath is where Gemini CLI reads its user settings, relative to HOME.
const geminiSettingsPath = ".gemini/settings.json"

// Gemini runs Gemini CLI (npm @google/gemini-cli; tested with 0.61.0).
type Gemini struct{}

var _ Adapter = Gemini{}

func (Gemini) Name() string        { return "gemini" }
func (Gemini) DisplayName() string { return "Gemini CLI" }

// Command returns:
//
//	gemini --output-format stream-json --yolo --skip-trust -m MODEL --prompt=PROMPT
//
// The prompt is glued to its flag ("--prompt=...") so that a prompt starting with "-" stays the
// prompt. --yolo approves every tool call; --skip-trust trusts the checkout for this run only (without
// it a headless run in an untrusted folder refuses to start). The environment carries GEMINI_API_KEY,
// the endpoint when one is set, and telemetry off. The CLI also needs the settings file HomeFiles
// returns: without it the run fails with exit code 41.
func (Gemini) Command(o Options) ([]string, map[string]string, error) {
	if strings.TrimSpace(o.Prompt) == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID, "Gemini CLI needs a prompt.")
	}
	if len("--prompt=")+len(o.Prompt) > maxArgLen {
		return nil, nil, sesame.Errorf(sesame.ETOOLARGE, "The prompt is too long for Gemini CLI (%d bytes, at most %d).",
			len(o.Prompt), maxArgLen-len("--prompt="))
	}
	key := o.Credentials[envGeminiAPIKey]
	if key == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID,
			"Gemini CLI has no credential: set agents.geminiApiKey (GEMINI_API_KEY) in the settings.")
	}
	env := map[string]string{
		envGeminiAPIKey: key,
		// The settings file turns telemetry off too; the variable wins over anything a workspace's
		// .gemini/settings.json says.
		"GEMINI_TELEMETRY_ENABLED": "false",
		// By default the CLI starts itself again as a child process with a larger heap
		// (--max-old-space-size of half the machine's memory): one more Node.js start, and a heap
		// sized for the host rather than the sandbox.
		"GEMINI_CLI_NO_RELAUNCH": "true",
	}
	if base := o.Credentials[envGeminiBase]; base != "" {
		env[envGeminiBase] = base
	}
	exe := o.Executable
	if exe == "" {
		exe = "gemini"
	}
	model := o.Model
	if model == "" {
		model = geminiDefaultModel
	}
	argv := []string{exe, "--output-format", "stream-json", "--yolo", "--skip-trust", "-m", model,
		"--prompt=" + o.Prompt}
	return argv, env, nil
}

// geminiSettings is ~/.gemini/settings.json for a headless run: sign in with GEMINI_API_KEY (with
// GOOGLE_GEMINI_BASE_URL set and no selectedType the CLI would pick its "gateway" auth type and stop
// with exit code 41), no usage statistics, telemetry or update checks, no retries, and no key in the
// environment of the commands the agent runs.
var geminiSettings = map[string]any{
	"security": map[string]any{
		"auth": map[string]any{"selectedType": "gemini-api-key"},
		// The shell commands the agent runs do not get the key (nor other variables that look
		// secret) in their environment.
		"environmentVariableRedaction": map[string]any{"enabled": true, "blocked": []string{envGeminiAPIKey}},
	},
	"privacy":   map[string]any{"usageStatisticsEnabled": false},
	"telemetry": map[string]any{"enabled": false},
	"general": map[string]any{
		"enableAutoUpdate":             false,
		"enableAutoUpdateNotification": false,
		// No retries: by default a failed model call is tried up to ten times with backoff from 5 to
		// 30 s, and a dead endpoint ("fetch failed") is retried too, which holds a task for minutes
		// before it reports anything. A failed call fails the run at once; whether to try the task
		// again is the runner's decision.
		"maxAttempts":      1,
		"retryFetchErrors": false,
	},
}

// HomeFiles returns the files the run needs in its HOME, by path relative to HOME: the user settings
// file, .gemini/settings.json. Gemini CLI reads its settings only from files (this one, a workspace's
// .gemini/settings.json, or a system file named by GEMINI_CLI_SYSTEM_SETTINGS_PATH); the runner
// writes these into the sandbox's own HOME before the CLI starts, so no run shares them. They hold no
// secret: the key travels in the environment.
func (Gemini) HomeFiles(Options) (map[string][]byte, error) {
	b, err := json.MarshalIndent(geminiSettings, "", "  ")
	if err != nil {
		return nil, err
	}
	return map[string][]byte{geminiSettingsPath: append(b, '\n')}, nil
}

// Domains returns generativelanguage.googleapis.com: the Gemini API. A GOOGLE_GEMINI_BASE_URL is an
// endpoint (see Endpoints), not a domain.
func (Gemini) Domains(Options) []string {
	return []string{"generativelanguage.googleapis.com"}
}

// Endpoints returns GOOGLE_GEMINI_BASE_URL's host and port, when it is set and parses.
func (Gemini) Endpoints(o Options) []string {
	if ep := endpoint(o.Credentials[envGeminiBase]); ep != "" {
		return []string{ep}
	}
	return nil
}

// NewParser returns a parser of Gemini CLI's stream-json output.
func (Gemini) NewParser() Parser {
	return &geminiParser{tools: map[string]string{}}
}
