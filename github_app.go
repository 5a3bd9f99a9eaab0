package sesame

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// appManifest is app-manifest.json: the GitHub App Sesame needs (permissions, events, webhook).
//
//go:embed app-manifest.json
var appManifest []byte

// GitHubAppManifest returns the GitHub App manifest of app-manifest.json for the instance at baseURL:
// its links point at this instance (the webhook, the page GitHub returns to once the app is created,
// and the page it returns to once the app is installed), and the app is called name ("" keeps the
// manifest's). GitHub's manifest flow receives it as the form field "manifest".
func GitHubAppManifest(baseURL, name string) ([]byte, error) {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, Errorf(EINVALID, "BASE_URL %q is not an absolute http(s) URL, so GitHub could not reach this server.", baseURL)
	}
	var m map[string]any
	if err := json.Unmarshal(appManifest, &m); err != nil {
		return nil, fmt.Errorf("app-manifest.json: %w", err)
	}
	root := base.String()
	m["url"] = root
	hook, _ := m["hook_attributes"].(map[string]any)
	if hook == nil {
		hook = map[string]any{"active": true}
	}
	hook["url"] = root + "/webhooks/github"
	m["hook_attributes"] = hook
	m["redirect_url"] = root + GitHubAppCallbackPath
	m["setup_url"] = root + GitHubAppPagePath
	m["setup_on_update"] = true
	if name = strings.TrimSpace(name); name != "" {
		m["name"] = name
	}
	return json.Marshal(m)
}

// Paths of the web app that the GitHub App's manifest names.
const (
	GitHubAppCallbackPath = "/setup/github/callback" // GitHub returns here with a code once the app is created
	GitHubAppPagePath     = "/admin/github"          // and here once it is installed
)

// GitHubAppCredentials are what GitHub hands over once, when an app created from a manifest is
// converted: its id and names, and the secrets Sesame keeps sealed.
type GitHubAppCredentials struct {
	ID            int64
	Slug          string
	Name          string
	Owner         string // the account that owns the app
	HTMLURL       string // the app's page on GitHub
	ClientID      string
	ClientSecret  string
	WebhookSecret string
	PEM           string // the private key
}

// GitHubAppInfo is the configured GitHub App as GitHub describes it.
type GitHubAppInfo struct {
	ID            int64
	Slug          string
	Name          string
	Owner         string
	HTMLURL       string // the app's page; HTMLURL + "/installations/new" installs it
	Installations []GitHubInstallation
	// HookURL is where GitHub sends the app's webhooks, "" when GitHub did not say.
	HookURL string
}

// GitHubInstallation is one account the GitHub App is installed on.
type GitHubInstallation struct {
	ID        int64
	Account   string
	AllRepos  bool // "all" repositories rather than "selected" ones
	Suspended bool
	HTMLURL   string // the installation's settings page on GitHub
}
