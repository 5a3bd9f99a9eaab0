package main

import (
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/runner"
	"github.com/sesame-works/sesame/utility"
)

var _ runner.Namer = (*utility.Client)(nil)

// utilityNamer is the utility model the runner asks for a task's branch name, commit message and pull
// request title: AI_API_KEY (or OPENAI_API_KEY), AI_BASE_URL and AI_MODEL as they are at each
// question, so that a value saved in the admin settings applies to the next task without a restart.
func (m *Main) utilityNamer() runner.Namer {
	return &utility.Client{Settings: func() utility.Settings {
		now := m.Live.Current()
		return utility.Settings{APIKey: now.String(config.AIAPIKey), BaseURL: now.String(config.AIBaseURL), Model: now.String(config.AIModel)}
	}}
}
