package githubtest

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The GitHub App manifest flow, as "Registering a GitHub App from a manifest" describes it:
//
//  1. the person's browser POSTs a form with a "manifest" field to /settings/apps/new?state=S (or
//     /organizations/ORG/settings/apps/new?state=S); GitHub shows the app and a "Create GitHub App"
//     button;
//  2. once created, GitHub redirects to the manifest's redirect_url with ?code=C&state=S;
//  3. the app's server trades the code (POST /app-manifests/C/conversions, no authentication, once,
//     within an hour) for the app's id, private key (pem), webhook secret and client secret.
//
// This server creates the app it already is (AppID, PrivateKeyPEM), named as the manifest says, with
// a new webhook secret. /apps/{slug}/installations/new then installs it on an owner's repositories and
// returns to the manifest's setup_url.

const (
	docsManifest = "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest"
	codeLifetime = time.Hour
)

// Manifest is what the manifest flow received and created.
type Manifest struct {
	Raw           map[string]any // the manifest as posted
	Owner         string         // the organization, or "" for the person's account
	State         string
	Code          string
	WebhookSecret string // given to the app's server by the conversion
	Converted     bool
}

type pendingManifest struct {
	Manifest
	created time.Time
}

// Manifests returns the manifests received, oldest first.
func (s *Server) Manifests() []Manifest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Manifest, 0, len(s.manifests))
	for _, m := range s.manifests {
		out = append(out, m.Manifest)
	}
	return out
}

// WebhookSecret returns the webhook secret of the app created from the last converted manifest, or "".
func (s *Server) WebhookSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hookSecret
}

var createAppPage = template.Must(template.New("create").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Register new GitHub App</title></head><body>
<h1>Create GitHub App for {{.Owner}}</h1>
<p>Name: <strong id="app-name">{{.Name}}</strong></p>
<p>Webhook URL: <code id="hook-url">{{.Hook}}</code></p>
<form method="post" action="{{.Confirm}}">
<button type="submit" id="create-app">Create GitHub App for {{.Owner}}</button>
</form></body></html>`))

// handleNewApp serves POST /settings/apps/new and /organizations/{org}/settings/apps/new.
func (s *Server) handleNewApp(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.PostForm.Get("manifest")), &raw); err != nil {
		http.Error(w, "Invalid GitHub App configuration: the manifest is not JSON.", http.StatusUnprocessableEntity)
		return
	}
	hook, _ := raw["hook_attributes"].(map[string]any)
	hookURL, _ := hook["url"].(string)
	for _, k := range []string{"url", "redirect_url"} {
		if v, _ := raw[k].(string); v == "" {
			http.Error(w, "Invalid GitHub App configuration: "+k+" is missing.", http.StatusUnprocessableEntity)
			return
		}
	}
	if hookURL == "" {
		http.Error(w, "Invalid GitHub App configuration: hook_attributes.url is missing.", http.StatusUnprocessableEntity)
		return
	}
	code := randomString(20)
	owner := r.PathValue("org")
	s.mu.Lock()
	s.manifests = append(s.manifests, &pendingManifest{
		Manifest: Manifest{Raw: raw, Owner: owner, State: r.URL.Query().Get("state"), Code: code}, created: s.nowLocked()})
	s.mu.Unlock()
	name, _ := raw["name"].(string)
	shown := owner
	if shown == "" {
		shown = "your personal account"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	createAppPage.Execute(w, map[string]string{"Owner": shown, "Name": name, "Hook": hookURL,
		"Confirm": "/settings/apps/new/" + code + "/create"})
}

// handleCreateApp serves the "Create GitHub App" button: redirect to redirect_url with the code.
func (s *Server) handleCreateApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.manifestLocked(r.PathValue("code"))
	s.mu.Unlock()
	if m == nil {
		http.NotFound(w, r)
		return
	}
	back, err := url.Parse(m.Raw["redirect_url"].(string))
	if err != nil {
		http.Error(w, "bad redirect_url", http.StatusUnprocessableEntity)
		return
	}
	q := back.Query()
	q.Set("code", m.Code)
	if m.State != "" {
		q.Set("state", m.State)
	}
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (s *Server) manifestLocked(code string) *pendingManifest {
	for _, m := range s.manifests {
		if m.Code == code {
			return m
		}
	}
	return nil
}

// manifestConversionJSON is the answer of POST /app-manifests/{code}/conversions: the integration
// object with the app's secrets.
type manifestConversionJSON struct {
	appJSON
	ClientSecret  string `json:"client_secret"`
	WebhookSecret string `json:"webhook_secret"`
	PEM           string `json:"pem"`
}

// handleConversion serves POST /app-manifests/{code}/conversions: once per code, within an hour.
func (s *Server) handleConversion(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.manifestLocked(r.PathValue("code"))
	if m == nil || m.Converted || s.nowLocked().Sub(m.created) > codeLifetime {
		s.mu.Unlock()
		writeNotFound(w, docsManifest)
		return
	}
	m.Converted = true
	m.WebhookSecret = randomString(40)
	s.hookSecret = m.WebhookSecret
	s.appName, _ = m.Raw["name"].(string)
	hook, _ := m.Raw["hook_attributes"].(map[string]any)
	s.hookURL, _ = hook["url"].(string)
	s.setupURL, _ = m.Raw["setup_url"].(string)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, manifestConversionJSON{appJSON: s.appJSON(s.apiBase(r), false),
		ClientSecret: randomString(40), WebhookSecret: m.WebhookSecret, PEM: string(s.PrivateKeyPEM)})
}

// appHookConfigJSON is GET /app/hook/config's answer; GitHub never shows the secret.
type appHookConfigJSON struct {
	ContentType string `json:"content_type"`
	InsecureSSL string `json:"insecure_ssl"`
	URL         string `json:"url"`
	Secret      string `json:"secret,omitempty"`
}

// handleHookConfig serves GET /app/hook/config, which needs the app's JWT.
func (s *Server) handleHookConfig(w http.ResponseWriter, r *http.Request) {
	if !s.requireAppJWT(w, r) {
		return
	}
	s.mu.Lock()
	cfg := appHookConfigJSON{ContentType: "json", InsecureSSL: "0", URL: s.hookURL}
	if s.hookSecret != "" {
		cfg.Secret = "********"
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cfg)
}

var installPage = template.Must(template.New("install").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Install {{.Name}}</title></head><body>
<h1>Install {{.Name}}</h1>
<form method="post">
{{range .Owners}}<label><input type="radio" name="account" value="{{.}}" checked> {{.}}</label>
{{end}}<button type="submit" id="install-app">Install</button>
</form></body></html>`))

// handleInstallPage serves GET /apps/{slug}/installations/new: the owners whose repositories it can
// be installed on.
func (s *Server) handleInstallPage(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("slug") != s.AppSlug {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	var owners []string
	for _, repo := range s.repos {
		owner, _, _ := strings.Cut(repo.fullName, "/")
		if !slices.Contains(owners, owner) {
			owners = append(owners, owner)
		}
	}
	name := s.appNameLocked()
	s.mu.Unlock()
	slices.Sort(owners)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	installPage.Execute(w, map[string]any{"Name": name, "Owners": owners})
}

// handleInstall installs the app on every repository of the chosen account and returns to the
// manifest's setup_url, as GitHub does with ?installation_id=&setup_action=install.
func (s *Server) handleInstall(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PathValue("slug") != s.AppSlug {
		http.NotFound(w, r)
		return
	}
	account := r.PostForm.Get("account")
	s.mu.Lock()
	var repos []string
	for _, repo := range s.repos {
		if owner, _, _ := strings.Cut(repo.fullName, "/"); strings.EqualFold(owner, account) {
			repos = append(repos, repo.fullName)
		}
	}
	id := s.newIDLocked()
	setup := s.setupURL
	s.mu.Unlock()
	if len(repos) == 0 {
		http.Error(w, "no repositories for that account", http.StatusUnprocessableEntity)
		return
	}
	s.AddInstallation(id, repos...)
	next := s.URL + "/apps/" + s.AppSlug
	if setup != "" {
		u, err := url.Parse(setup)
		if err == nil {
			q := u.Query()
			q.Set("installation_id", strconv.FormatInt(id, 10))
			q.Set("setup_action", "install")
			u.RawQuery = q.Encode()
			next = u.String()
		}
	}
	http.Redirect(w, r, next, http.StatusFound)
}

func (s *Server) appNameLocked() string {
	if s.appName != "" {
		return s.appName
	}
	return s.AppSlug
}
