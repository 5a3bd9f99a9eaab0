package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// GitHubApps creates Sesame's GitHub App from its manifest and describes the configured one.
// bot.AppAdmin implements it.
type GitHubApps interface {
	// Convert trades the code GitHub returned once the app was created for its credentials.
	Convert(ctx context.Context, apiURL, code string) (sesame.GitHubAppCredentials, error)
	// About describes the configured app: names, installations, webhook address.
	About(ctx context.Context) (sesame.GitHubAppInfo, error)
	// Ping sends webhookURL a ping signed with secret and checks that Sesame answered.
	Ping(ctx context.Context, webhookURL string, secret []byte) error
}

// sessionManifest holds the state of a manifest sent to GitHub, and the API it was sent for.
const sessionManifest = "github_manifest"

// githubOrg is what GitHub accepts as an organization's login.
var githubOrg = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

func (a *App) githubRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+sesame.GitHubAppPagePath, a.requireAdmin(a.adminGitHub))
	mux.Handle("POST /admin/github/manifest", a.requireAdmin(a.githubManifest))
	mux.Handle("GET "+sesame.GitHubAppCallbackPath, a.requireAdmin(a.githubCallback))
	mux.Handle("POST /admin/github/ping", a.requireAdmin(a.githubPing))
}

type githubView struct {
	Configured bool   // an app id is set
	LockedBy   string // the environment variable that sets the app, "" when none does
	Info       *sesame.GitHubAppInfo
	InfoErr    string
	InstallURL string
	WebhookURL string // where GitHub must send webhooks: BASE_URL/webhooks/github
	HookDiffer bool   // GitHub sends them elsewhere
	WebURL     string // the GitHub the app is created on
	APILocked  string // the variable that sets GITHUB_API_URL, "" when none
	Name, Org  string
	Error      string
}

// adminGitHub shows the app (or how to create one), its installations and the webhook check.
func (a *App) adminGitHub(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.serverError(w, r, "read settings", err)
		return
	}
	a.render(w, r, http.StatusOK, "admin_github", "GitHub App", a.githubView(r, cfg, githubView{}))
}

func (a *App) githubView(r *http.Request, cfg *config.Config, v githubView) githubView {
	v.Configured = cfg.Int(config.GitHubAppID) != 0
	if cfg.Locked(config.GitHubAppID) {
		v.LockedBy = cfg.Origin(config.GitHubAppID)
	}
	if cfg.Locked(config.GitHubAPIURL) {
		v.APILocked = cfg.Origin(config.GitHubAPIURL)
	}
	v.WebhookURL = a.baseURL() + "/webhooks/github"
	if v.WebURL == "" {
		v.WebURL = webURLOf(cfg.String(config.GitHubAPIURL))
	}
	if v.Name == "" {
		v.Name = "Sesame " + a.base.Host
	}
	if v.Configured && a.GitHubApps != nil {
		info, err := a.GitHubApps.About(r.Context())
		if err != nil {
			a.Logger.Warn("describe the GitHub App", "err", err)
			v.InfoErr = sesame.ErrorMessage(err)
		} else {
			v.Info = &info
			v.InstallURL = installURL(info.HTMLURL)
			v.HookDiffer = info.HookURL != "" && info.HookURL != v.WebhookURL
		}
	}
	return v
}

// baseURL is BASE_URL without a trailing slash.
func (a *App) baseURL() string { return strings.TrimRight(a.base.String(), "/") }

// installURL is where an app's page on GitHub installs it.
func installURL(appPage string) string {
	if appPage == "" {
		return ""
	}
	return strings.TrimRight(appPage, "/") + "/installations/new"
}

// webURLOf returns the web address of the GitHub whose REST API is at apiURL: github.com for
// api.github.com, the server for GitHub Enterprise Server's /api/v3.
func webURLOf(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return "https://github.com"
	}
	if strings.EqualFold(u.Host, "api.github.com") {
		return "https://github.com"
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/api/v3")
	return u.Scheme + "://" + u.Host + p
}

// apiURLOf is the REST API of the GitHub at webURL: the reverse of webURLOf.
func apiURLOf(webURL string) string {
	u, err := url.Parse(webURL)
	if err != nil {
		return ""
	}
	if strings.EqualFold(u.Host, "github.com") || strings.EqualFold(u.Host, "www.github.com") {
		return "https://api.github.com/"
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/") + "/api/v3/"
}

type manifestView struct {
	Action   string // GitHub's page that creates an app from a manifest, with the state
	Manifest string
	WebURL   string
	Owner    string // "your personal account" or the organization
	Name     string
}

// githubManifest sends the admin to GitHub with Sesame's manifest, built for this BASE_URL: a page
// with a form that posts it there (submitted by script at once, or by its button).
func (a *App) githubManifest(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, ok := a.settingsForm(w, r)
	if !ok {
		return
	}
	v := githubView{Name: strings.TrimSpace(r.PostForm.Get("name")), Org: strings.TrimSpace(r.PostForm.Get("org")),
		WebURL: strings.TrimRight(strings.TrimSpace(r.PostForm.Get("github")), "/")}
	refuse := func(msg string) {
		v.Error = msg
		a.render(w, r, http.StatusUnprocessableEntity, "admin_github", "GitHub App", a.githubView(r, cfg, v))
	}
	if cfg.Locked(config.GitHubAppID) {
		refuse("The environment variable " + cfg.Origin(config.GitHubAppID) + " sets the GitHub App: remove it (and the app's other variables) and restart Sesame to create one here.")
		return
	}
	current := webURLOf(cfg.String(config.GitHubAPIURL))
	apiURL := cfg.String(config.GitHubAPIURL)
	switch {
	case v.WebURL == "" || v.WebURL == current:
		v.WebURL = current
	case cfg.Locked(config.GitHubAPIURL):
		refuse("GITHUB_API_URL is set by " + cfg.Origin(config.GitHubAPIURL) + ", so the app can only be created on " + current + ".")
		return
	default:
		w, err := url.Parse(v.WebURL)
		if err != nil || (w.Scheme != "https" && w.Scheme != "http") || w.Host == "" || w.RawQuery != "" || w.Fragment != "" {
			refuse("The GitHub address must be like https://github.com or https://github.example.com.")
			return
		}
		apiURL = apiURLOf(v.WebURL)
	}
	if v.Org != "" && !githubOrg.MatchString(v.Org) {
		refuse("An organization's name on GitHub has only letters, digits and hyphens, at most 39 of them.")
		return
	}
	if len(v.Name) > 34 {
		refuse("GitHub allows at most 34 characters in an app's name.")
		return
	}
	manifest, err := sesame.GitHubAppManifest(a.baseURL(), v.Name)
	if err != nil {
		refuse(sesame.ErrorMessage(err))
		return
	}
	state := make([]byte, 32)
	rand.Read(state)
	s := hex.EncodeToString(state)
	a.sessions.Put(r.Context(), sessionManifest, s+" "+apiURL)
	action := v.WebURL + "/settings/apps/new"
	owner := "your personal account"
	if v.Org != "" {
		action = v.WebURL + "/organizations/" + url.PathEscape(v.Org) + "/settings/apps/new"
		owner = "the organization " + v.Org
	}
	a.Logger.Info("GitHub App manifest sent", "by", u.ID, "github", v.WebURL, "org", v.Org)
	r = withFormAction(r, v.WebURL)
	a.render(w, r, http.StatusOK, "github_manifest", "Create the GitHub App", manifestView{
		Action: action + "?state=" + s, Manifest: string(manifest), WebURL: v.WebURL, Owner: owner, Name: v.Name})
}

// githubCallback is where GitHub returns once the app is created: it trades the code for the app's
// id, key and webhook secret, saves them sealed in the admin settings (every node uses them within
// seconds), and sends the admin on to install the app.
func (a *App) githubCallback(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.serverError(w, r, "read settings", err)
		return
	}
	saved := a.sessions.PopString(r.Context(), sessionManifest)
	state, apiURL, _ := strings.Cut(saved, " ")
	got := r.URL.Query().Get("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(got)) != 1 {
		a.errorPage(w, r, http.StatusBadRequest, "This answer from GitHub does not belong to an app creation started here (or it was already used). Start again from the GitHub App page.")
		return
	}
	if cfg.Locked(config.GitHubAppID) {
		a.errorPage(w, r, http.StatusConflict, "The environment variable "+cfg.Origin(config.GitHubAppID)+" sets the GitHub App, so the app GitHub created was not saved. Delete it on GitHub, or remove the variable and restart Sesame.")
		return
	}
	if a.GitHubApps == nil {
		a.errorPage(w, r, http.StatusServiceUnavailable, "This server cannot talk to GitHub to finish creating the app.")
		return
	}
	creds, err := a.GitHubApps.Convert(r.Context(), apiURL, r.URL.Query().Get("code"))
	if err != nil {
		a.Logger.Warn("convert GitHub App manifest", "err", err)
		a.errorPage(w, r, http.StatusBadGateway, sesame.ErrorMessage(err))
		return
	}
	changes := newSettingChanges()
	changes.value(cfg, config.GitHubAppID, strconv.FormatInt(creds.ID, 10))
	changes.value(cfg, config.GitHubPrivateKey, creds.PEM)
	changes.value(cfg, config.GitHubWebhookSecret, creds.WebhookSecret)
	if apiURL != cfg.String(config.GitHubAPIURL) {
		changes.value(cfg, config.GitHubAPIURL, apiURL)
	}
	if cfg.String(config.GitHubPrivateKeyPath) != "" && cfg.Source(config.GitHubPrivateKeyPath) == config.SourceAdmin {
		changes.reset(cfg, config.GitHubPrivateKeyPath)
	}
	changes.message = "GitHub App " + creds.Name + " created and saved; every Sesame node uses it now. Install it on the repositories Sesame may work on."
	next := installURL(creds.HTMLURL)
	if next == "" {
		next = sesame.GitHubAppPagePath
	}
	a.applySettings(w, r, u, cfg, changes, sesame.AuditGitHubAppCreated,
		map[string]any{"appId": creds.ID, "slug": creds.Slug, "owner": creds.Owner, "github": webURLOf(apiURL)},
		func(problems map[string]string) {
			var why []string
			for k, p := range problems {
				why = append(why, k+": "+p)
			}
			a.errorPage(w, r, http.StatusConflict, "GitHub created the app "+creds.Slug+", but it could not be saved here: "+strings.Join(why, " "))
		}, next)
}

// githubPing checks that a delivery signed with the webhook secret, sent to BASE_URL's webhook, is
// answered by Sesame, and says what it found.
func (a *App) githubPing(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.serverError(w, r, "read settings", err)
		return
	}
	if a.GitHubApps == nil {
		a.errorPage(w, r, http.StatusServiceUnavailable, "This server cannot send a test ping.")
		return
	}
	target := a.baseURL() + "/webhooks/github"
	if err := a.GitHubApps.Ping(r.Context(), target, []byte(cfg.String(config.GitHubWebhookSecret))); err != nil {
		a.Logger.Warn("webhook test ping", "by", u.ID, "err", err)
		a.flash(r, "Test ping failed: "+sesame.ErrorMessage(err))
	} else {
		a.flash(r, "Test ping answered: "+target+" reaches Sesame, and it checks GitHub's signatures with this webhook secret.")
	}
	http.Redirect(w, r, sesame.GitHubAppPagePath, http.StatusSeeOther)
}
