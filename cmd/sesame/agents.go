package main

import (
	"path/filepath"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/runner"
)

// agentCatalog finds agent adapters and gives each run this server's executable path and credentials.
type agentCatalog struct {
	cfg func() *config.Config // the settings as they are now: admins change shared credentials
	// inImage: the agents run in the sandbox image (docker provider), whose PATH has their CLIs;
	// AGENTS_DIR is a folder of this host and means nothing there.
	inImage bool
}

var _ runner.Agents = agentCatalog{}

// credentialSettings maps the env names an adapter reads to the settings holding them.
var credentialSettings = map[string]string{
	"ANTHROPIC_API_KEY":       config.AgentsAnthropicAPIKey,
	"CLAUDE_CODE_OAUTH_TOKEN": config.AgentsClaudeCodeOAuthToken,
	"ANTHROPIC_BASE_URL":      config.AgentsAnthropicBaseURL,
	"OPENAI_API_KEY":          config.AgentsOpenAIAPIKey,
	"GEMINI_API_KEY":          config.AgentsGeminiAPIKey,
	"COPILOT_GITHUB_TOKEN":    config.AgentsCopilotGitHubToken,
}

func (c agentCatalog) Agent(name string) (agent.Adapter, agent.Options, error) {
	a, ok := agent.Lookup(name)
	if !ok {
		return nil, agent.Options{}, sesame.Errorf(sesame.EINVALID, "Sesame cannot run the agent %q yet.", name)
	}
	cfg := c.cfg()
	opts := agent.Options{Credentials: map[string]string{}}
	for env, key := range credentialSettings {
		if v := cfg.String(key); v != "" {
			opts.Credentials[env] = v
		}
	}
	if dir := cfg.String(config.AgentsInstallDir); dir != "" && !c.inImage {
		opts.Executable = filepath.Join(dir, a.Name(), "node_modules", ".bin", a.Name())
	}
	return a, opts, nil
}
