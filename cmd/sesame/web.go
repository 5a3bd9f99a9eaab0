package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/gin-gonic/gin"

	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/ratelimit"
)

// openWeb builds the HTTP side: gin receives GitHub's webhooks and answers health checks; every other
// path is the web app. Both sit behind one listener.
func (m *Main) openWeb(ctx context.Context, app *bot.LiveApp) error {
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.Use(gin.Recovery())
	engine.GET("/healthz", m.healthz)
	engine.GET("/readyz", m.readyz)
	hook := &bot.GitHubWebhook{
		// The secret and the app as the settings say at each delivery: an app created from
		// /admin/github is answered at once.
		Keys:   m.webhookKeys,
		Tasks:  m.Submitter,
		Logger: m.Logger,
		// An edited or deleted comment changes or cancels its task while the task waits.
		Comments: m.lines,
	}
	engine.POST("/webhooks/github", hook.Handle)
	m.slackRoutes(engine, app)

	web, err := m.newWebApp(app)
	if err != nil {
		return err
	}
	m.web = web
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", engine)
	mux.Handle("/healthz", engine)
	mux.Handle("/readyz", engine)
	mux.Handle("/metrics", m.metrics.onMain(m.Config.String(config.MetricsToken))) // 404 without METRICS_TOKEN
	mux.Handle("/", web)
	m.metrics.reg.MustRegister(hubCollector{hub: m.hub})

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", m.Config.String(config.ServerListen))
	if err != nil {
		return fmt.Errorf("listen on %s (LISTEN_ADDR): %w", m.Config.String(config.ServerListen), err)
	}
	m.listener = ln
	m.http = &http.Server{
		Handler:           logRequests(m.Logger, m.metrics.observeWebhooks(mux)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Headers are read before any handler can refuse them: 64 KB (not Go's 1 MB) bounds what a
		// connection holds before the webhook's body budget applies. GitHub sends a few KB.
		MaxHeaderBytes: 64 << 10,
	}
	// Event streams never end on their own: closing the hub ends them, so shutdown does not wait.
	m.http.RegisterOnShutdown(func() { m.hub.Close() })
	return nil
}

// newWebApp wires the web app to its stores, the live event hub and GitHub.
func (m *Main) newWebApp(app *bot.LiveApp) (*admin.App, error) {
	m.sessions = pgxstore.New(m.DB.Pool)
	m.hub = events.NewHub(m.Redis, m.Logger)
	stopMasker := mask.New(m.Live.Current().Secrets()...)
	m.maskers = append(m.maskers, stopMasker)
	opts := admin.Options{
		Config:     m.Config,
		Tasks:      m.Tasks,
		Submitter:  m.Submitter,
		Users:      postgres.NewUserStore(m.DB),
		Settings:   postgres.NewSettingStore(m.DB),
		Sessions:   m.sessions,
		Live:       m.hub,
		Stopper:    &events.Recorder{Store: m.Tasks, Redis: m.Redis, Masker: stopMasker, Logger: m.Logger, Audit: m.Audit},
		Audit:      m.Audit,
		Sealer:     m.Sealer,
		Current:    m.Live,
		Notifier:   settingsNotifier{rdb: m.Redis},
		Limiter:    &ratelimit.Redis{Client: m.Redis, Prefix: "sesame:signin:"},
		Status:     m.statusSource(),
		Previews:   previewDialer{base: m.Config.String(config.TasksBaseDirectory)},
		SlackLinks: postgres.NewSlackLinks(m.DB),
		// Each user's own agent keys and logins, sealed with ENCRYPTION_KEY.
		Credentials: postgres.NewUserCredentials(m.DB, m.Sealer),
		Budgets:     postgres.NewUserStore(m.DB),
		Logger:      m.Logger,
	}
	// Until an app is configured these answer that there is none (and where to create it).
	opts.Repos, opts.GitHub, opts.Permissions, opts.GitHubApps = app, app, &bot.GitHub{App: app}, m.appAdmin()
	opts.Mailer, opts.EmailTokens = m.emailOptions() // email over SMTP with the live settings (mail.go)
	return admin.New(opts)
}
