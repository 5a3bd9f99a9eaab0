package main

import (
	"github.com/gin-gonic/gin"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/runner"
)

var _ runner.Origin = (*bot.SlackOrigin)(nil)

// slackBot is the Slack app's bot, or nil when no bot token is set (SLACK_BOT_TOKEN).
func (m *Main) slackBot() *bot.Slack {
	token := m.Config.String(config.SlackBotToken)
	if token == "" {
		return nil
	}
	return bot.NewSlack(token, m.Config.String(config.SlackAPIURL), m.metrics.apiClient("slack")) // every call counted
}

// slackRoutes receives the /sesame slash command and the clicks on Sesame's Slack messages. Without
// a signing secret (SLACK_SIGNING_SECRET) both refuse every request.
func (m *Main) slackRoutes(engine *gin.Engine, app *bot.LiveApp) {
	commands := &bot.SlackCommands{
		Verifier: bot.SlackVerifier{Secret: []byte(m.Config.String(config.SlackSigningSecret))},
		Slack:    m.slackBot(),
		Tasks:    m.Submitter,
		Users:    postgres.NewUserStore(m.DB),
		Channels: postgres.NewSlackChannels(m.DB),
		Logger:   m.Logger.With("component", "slack"),
	}
	commands.Repos, commands.Permissions = app, &bot.GitHub{App: app}
	stopMasker := mask.New(m.Live.Current().Secrets()...)
	m.maskers = append(m.maskers, stopMasker)
	interact := &bot.SlackInteractivity{
		Verifier: commands.Verifier,
		Commands: commands,
		Tasks:    m.Tasks,
		Stopper:  &events.Recorder{Store: m.Tasks, Redis: m.Redis, Masker: stopMasker, Logger: m.Logger, Audit: m.Audit},
		Logger:   commands.Logger,
	}
	engine.POST("/webhooks/slack/commands", commands.Handle)
	engine.POST("/webhooks/slack/interactivity", interact.Handle)
}

// addSlackOrigin lets r answer tasks asked for in Slack, when the Slack app has a bot token.
func (m *Main) addSlackOrigin(r *runner.Runner, masker *mask.Masker) {
	sl := m.slackBot()
	if sl == nil {
		return
	}
	r.Origins[sesame.SourceSlack] = &bot.SlackOrigin{Slack: sl, Tasks: m.Tasks, Users: postgres.NewUserStore(m.DB), Events: r.Events,
		Masker: masker, TaskURL: func(id string) string { return r.BaseURL + "/tasks/" + id }, Logger: m.Logger.With("component", "slack")}
}
