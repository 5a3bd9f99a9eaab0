// Package admin is Sesame's web app: first-admin setup, sign-in and sign-up, the task list, the form
// that starts a task, the live task page, and each user's settings. Pages are rendered on the server
// from embedded templates and work without JavaScript; a small script adds live updates over
// Server-Sent Events. Sessions live in Postgres through scs; every state-changing request passes the
// standard library's cross-origin protection.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// Repositories lists the repositories the GitHub App can reach.
type Repositories interface {
	Repositories(ctx context.Context) ([]sesame.RepoRef, error)
}

// TokenChecker tells whose GitHub personal access token a token is.
type TokenChecker interface {
	TokenOwner(ctx context.Context, token string) (login string, err error)
}

// Sealer encrypts secrets before they are stored.
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// Stopper asks for a task to be stopped (the worker running it stops it and tells its origin).
type Stopper interface {
	RequestStop(ctx context.Context, taskID, by string) (*sesame.Task, error)
}

// RepoPermissions tells a GitHub user's role on a repository, asked as the GitHub App's installation,
// as for the author of a /sesame comment. bot.GitHub implements it.
type RepoPermissions interface {
	// Permission returns login's role on repo: admin, maintain, write, triage, read or none.
	Permission(ctx context.Context, installationID int64, repo, login string) (string, error)
}

// SettingsNotifier tells every node that admins saved settings, so that each reloads them.
type SettingsNotifier interface {
	SettingsChanged(ctx context.Context) error
}

// Options are the parts the web app works with. Every field but Repos, GitHub, Permissions, Audit,
// Current, Notifier and Status is required.
type Options struct {
	Config    *config.Config // settings from env and file as read at start
	Tasks     sesame.TaskStore
	Submitter sesame.TaskSubmitter
	Users     sesame.UserStore
	Settings  sesame.SettingEditor
	Sessions  scs.Store // where sessions live (Postgres); tokens are keyed with BETTER_AUTH_SECRET here
	Live      Live      // live task events (Redis)
	Stopper   Stopper
	Sealer    Sealer
	Limiter   Limiter      // counts sign-in attempts for every web node (Redis)
	Repos     Repositories // nil: no GitHub App configured
	GitHub    TokenChecker // nil: tokens cannot be checked, so none can be connected
	// GitHubApps creates the GitHub App from its manifest and describes it (/admin/github). nil:
	// the page only says how to configure an app by hand.
	GitHubApps GitHubApps
	// Permissions checks that a user may start a task on a repository (write access through their
	// connected GitHub login). nil: only admins may start tasks from the web.
	Permissions RepoPermissions
	// Current is the settings as they are now, admin-saved values included, reloaded when they
	// change. nil: Config, with the saved values read from Settings on every use.
	Current *config.Live
	// Notifier tells every node that settings were saved. nil: only Current is reloaded.
	Notifier SettingsNotifier
	// Audit is the audit log. nil: nothing is recorded and the audit pages say so.
	Audit sesame.AuditStore
	// Status reports the health of the whole deployment for /admin. nil: the page says it is unknown.
	Status StatusSource
	// Previews reaches the servers agents run in their sandboxes. nil: previews are not offered.
	Previews Previews
	// SlackLinks keeps the Slack members linked to accounts with a one-time link. nil: no Slack app.
	SlackLinks sesame.SlackLinks
	// Budgets keeps users' own monthly cost budgets and what they spent. nil: the user page shows none.
	Budgets sesame.BudgetStore
	// Credentials keeps users' own API keys and agent credentials. nil: the settings page offers none.
	Credentials sesame.UserCredentials
	// Mailer sends email: address confirmations, password reset links, the admin's test message.
	// nil: this server sends no email, whatever the SMTP settings say.
	Mailer Mailer
	// EmailTokens keeps the single-use links sent by email. nil: no links (no address confirmation
	// by email, no password reset).
	EmailTokens sesame.EmailTokens
	Logger      *slog.Logger
}

// App is the web app.
type App struct {
	Options
	base     *url.URL
	sessions *scs.SessionManager
	pages    *pages
	frames   *frameCache
	proxies  proxies // TRUSTED_PROXIES
	access   *accessCache
	oidc     *oidcProviders // providers of OIDC sign-in, discovered once per issuer
	handler  http.Handler
	set      atomic.Bool // a user exists: setup is over
}

// New builds the web app.
func New(opts Options) (*App, error) {
	if opts.Config == nil || opts.Tasks == nil || opts.Submitter == nil || opts.Users == nil ||
		opts.Settings == nil || opts.Sessions == nil || opts.Live == nil || opts.Stopper == nil || opts.Sealer == nil ||
		opts.Limiter == nil {
		return nil, errors.New("admin: missing a required part")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	base, err := url.Parse(opts.Config.String(config.ServerBaseURL))
	if err != nil {
		return nil, err
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	trusted, err := parseProxies(opts.Config.List(config.ServerTrustedProxies))
	if err != nil {
		return nil, err
	}
	a := &App{Options: opts, base: base, pages: p, frames: newFrameCache(4096), proxies: trusted, access: newAccessCache()}
	a.sessions = newSessionManager(opts.Sessions, []byte(opts.Config.String(config.AuthSecret)), base.Scheme == "https")
	a.handler = a.routes()
	return a, nil
}

// ServeHTTP serves the web app.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", staticFiles())
	mux.HandleFunc("GET /{$}", a.home)

	mux.HandleFunc("GET /setup", a.setupPage)
	mux.HandleFunc("POST /setup", a.setup)
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /signup", a.signupPage)
	mux.HandleFunc("POST /signup", a.signup)
	a.emailRoutes(mux) // address confirmation, password reset, test email (verify.go)
	a.oidcRoutes(mux)

	mux.Handle("GET /tasks", a.requireUser(a.taskList))
	mux.Handle("GET /tasks/new", a.requireUser(a.taskForm))
	mux.Handle("POST /tasks", a.requireUser(a.createTask))
	mux.Handle("GET /tasks/{id}", a.requireUser(a.taskPage))
	mux.Handle("GET /tasks/{id}/events", a.requireUser(a.taskEvents))
	mux.Handle("POST /tasks/{id}/stop", a.requireUser(a.stopTask))

	mux.Handle("GET /slack/link/{token}", a.requireUser(a.slackLinkPage))
	mux.Handle("POST /slack/link/{token}", a.requireUser(a.slackLink))

	mux.Handle("GET /settings", a.requireUser(a.settingsPage))
	mux.Handle("POST /settings/github", a.requireUser(a.connectGitHub))
	mux.Handle("POST /settings/github/delete", a.requireUser(a.disconnectGitHub))
	mux.Handle("POST /settings/credentials/{kind}", a.requireUser(a.putCredential))
	mux.Handle("POST /settings/credentials/{kind}/delete", a.requireUser(a.deleteCredential))

	// The admin section: only admins reach it (requireAdmin), everyone else gets 404.
	a.statusRoutes(mux)
	a.settingsRoutes(mux)
	a.userRoutes(mux)
	a.auditRoutes(mux)
	a.githubRoutes(mux)

	mux.HandleFunc("/", a.notFound)

	cop := http.NewCrossOriginProtection()
	// Behind a proxy that rewrites Host, a browser without Sec-Fetch-Site still names BASE_URL as Origin.
	if a.base.Scheme != "" && a.base.Host != "" {
		if err := cop.AddTrustedOrigin(a.base.Scheme + "://" + a.base.Host); err != nil {
			a.Logger.Warn("BASE_URL cannot be a trusted origin", "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Logger.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		a.errorPage(w, r, http.StatusForbidden, "This request came from another site, so Sesame refused it. Go back to the page and submit the form again.")
	}))
	outer := http.NewServeMux()
	a.previewRoutes(outer)
	outer.Handle("/", cop.Handler(a.setupGate(mux)))
	return a.sessions.LoadAndSave(outer)
}

// setupGate sends every page to /setup until the first user exists.
func (a *App) setupGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.set.Load() || r.URL.Path == "/setup" || isStatic(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		done, err := a.setUp(r)
		if err != nil {
			a.serverError(w, r, "count users", err)
			return
		}
		if done {
			next.ServeHTTP(w, r)
			return
		}
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
	})
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	if a.currentUser(r) == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/tasks", http.StatusSeeOther)
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.errorPage(w, r, http.StatusNotFound, "There is no page at this address.")
}

// now is the clock pages use for durations.
var now = time.Now
