package main

import (
	"net/http"
	"time"

	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/config"
)

// configureApp makes the GitHub App of cfg current: the one in the environment or the config file,
// or the one an admin created from the manifest on any node. It runs at start and at every reload of
// the settings, and says so in the log only when the app changes.
func (m *Main) configureApp(cfg *config.Config) {
	id := int64(cfg.Int(config.GitHubAppID))
	var key []byte
	if id != 0 {
		k, err := cfg.GitHubPrivateKey()
		if err != nil {
			m.appProblem(err.Error())
			m.app.Configure(0, nil, "")
			return
		}
		key = k
	}
	changed, err := m.app.Configure(id, key, cfg.String(config.GitHubAPIURL))
	switch {
	case err != nil:
		m.appProblem(err.Error())
	case id == 0:
		m.appProblem("no GitHub App configured (GITHUB_APP_ID): GitHub comments cannot be answered; an admin creates the app at /admin/github")
	case changed:
		m.appSaid = ""
		m.Logger.Info("GitHub App configured", "app_id", id, "api_url", cfg.String(config.GitHubAPIURL))
	}
}

// appProblem logs why there is no GitHub App, once for each new reason.
func (m *Main) appProblem(why string) {
	if why == m.appSaid {
		return
	}
	m.appSaid = why
	m.Logger.Warn("GitHub App", "problem", why)
}

// webhookKeys returns the webhook secret and the app id as the settings say now.
func (m *Main) webhookKeys() ([]byte, int64) {
	cfg := m.Live.Current()
	return []byte(cfg.String(config.GitHubWebhookSecret)), int64(cfg.Int(config.GitHubAppID))
}

// appAdmin is what the web app's GitHub App page uses: the manifest's conversion, the app as
// GitHub describes it, and the webhook self-check.
func (m *Main) appAdmin() *bot.AppAdmin {
	return &bot.AppAdmin{Live: m.app, HTTP: &http.Client{Timeout: 30 * time.Second}}
}
