package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/sealed"
)

// savedSettings reads the settings table as it is.
func savedSettings(t *testing.T, e *env) map[string]string {
	t.Helper()
	got, err := postgres.NewSettingStore(e.db).Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// liveEnv is the web app with settings reloaded as on a real node (Options.Current), so that a
// saved value is current at once.
func liveEnv(t *testing.T, extraEnv ...string) (*env, *config.Live) {
	t.Helper()
	e := newEnv(t, extraEnv...)
	box, err := sealed.New(encryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(e.opts.Config, config.OpenSaved{Saved: e.opts.Settings, Sealer: box})
	e.opts.Current = live
	e.srv = e.serve(t, nil)
	return e, live
}

func TestAdminSettingsPage(t *testing.T) {
	e, live := liveEnv(t, "SMTP_HOST=mail.internal.example")
	adm := e.setUp(t)

	page := adm.mustStatus(adm.get("/admin/settings"), http.StatusOK, "settings page")
	for _, want := range []string{
		"Registration", "AI utility provider", "SSO / OIDC", "SMTP", "Sandbox and tasks", "Audit log", "Git", "User avatars", "Agents",
		"Locked by the environment variable <code>SMTP_HOST</code>",
		"<code>git.includeCoAuthoredBy</code>",
		"Startup setting: set <code>WORKER_CONCURRENCY</code>",
		"register BASE_URL/auth/oidc/{this id}/callback as the redirect URL", // OIDC_PROVIDER_ID
		"Applies after Sesame restarts.",
		`href="/admin/github"`, // the GitHub App group leads to the one-click creation
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	for _, envOnly := range []string{"auth.secret", "encryption.key", "server.baseUrl"} {
		if strings.Contains(page.body, envOnly) {
			t.Errorf("settings page shows the environment-only setting %s", envOnly)
		}
	}

	// A valid change is saved and current at once.
	r := adm.mustStatus(adm.post("/admin/settings", url.Values{"group": {"git"}, "s:git.includeCoAuthoredBy": {"false"}}), http.StatusSeeOther, "save git")
	if r.location != "/admin/settings#git" {
		t.Errorf("save → %q", r.location)
	}
	if got := savedSettings(t, e)[config.GitIncludeCoAuthoredBy]; got != "false" {
		t.Errorf("saved git.includeCoAuthoredBy = %q", got)
	}
	if live.Current().Bool(config.GitIncludeCoAuthoredBy) {
		t.Error("the saved value is not current on this node")
	}
	if page := adm.get("/admin/settings"); !strings.Contains(page.body, "Saved git.includeCoAuthoredBy") {
		t.Errorf("no message after saving: %s", snippet(page.body))
	}

	// One bad field saves nothing of the form, and says why at the field.
	before := savedSettings(t, e)
	r = adm.post("/admin/settings", url.Values{"group": {"ai"}, "s:ai.model": {"gpt-x"}, "s:ai.baseUrl": {"api.example.com/v1"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "expected an http:// or https:// URL") {
		t.Errorf("bad URL: %d %s", r.status, snippet(r.body))
	}
	if !strings.Contains(r.body, `value="api.example.com/v1"`) {
		t.Error("the refused form does not show what was typed")
	}
	if after := savedSettings(t, e); len(after) != len(before) {
		t.Errorf("a refused form saved something: %v → %v", before, after)
	}

	// A crafted POST for a locked, an environment-only, a startup or an unknown setting is refused.
	for key, value := range map[string]string{
		config.SMTPHost:          "evil.example",
		config.EncryptionKey:     strings.Repeat("ab", 32),
		config.WorkerConcurrency: "99",
		"no.such.setting":        "x",
	} {
		r := adm.post("/admin/settings", url.Values{"group": {"smtp"}, "s:" + key: {value}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("crafted POST of %s: %d", key, r.status)
		}
		if _, saved := savedSettings(t, e)[key]; saved {
			t.Errorf("crafted POST saved %s", key)
		}
	}
	if live.Current().String(config.SMTPHost) != "mail.internal.example" {
		t.Error("the locked setting changed")
	}

	// Resetting removes the saved value.
	adm.mustStatus(adm.post("/admin/settings", url.Values{"group": {"git"}, "reset": {config.GitIncludeCoAuthoredBy}}), http.StatusSeeOther, "reset")
	if _, saved := savedSettings(t, e)[config.GitIncludeCoAuthoredBy]; saved || !live.Current().Bool(config.GitIncludeCoAuthoredBy) {
		t.Error("reset did not bring the default back")
	}
}

// A secret is write-only: stored sealed with ENCRYPTION_KEY, shown masked, replaced or cleared.
func TestAdminSettingsSecrets(t *testing.T) {
	e, live := liveEnv(t)
	adm := e.setUp(t)
	const key = "sk-ant-api03-very-secret-value-WXYZ"
	adm.mustStatus(adm.post("/admin/settings", url.Values{"group": {"agents"}, "s:agents.anthropicApiKey": {key}}), http.StatusSeeOther, "save secret")
	stored := savedSettings(t, e)[config.AgentsAnthropicAPIKey]
	if !strings.HasPrefix(stored, "sealed:") || strings.Contains(stored, "very-secret") {
		t.Errorf("stored secret = %q; want it sealed", stored)
	}
	if live.Current().String(config.AgentsAnthropicAPIKey) != key {
		t.Error("the saved secret does not open to its value")
	}
	page := adm.get("/admin/settings")
	if strings.Contains(page.body, "very-secret") || !strings.Contains(page.body, "****WXYZ") {
		t.Errorf("the settings page shows the secret or no mask: %s", snippet(page.body[strings.Index(page.body, "agents.anthropicApiKey"):]))
	}
	// Saving the group again with the field left empty keeps it.
	adm.mustStatus(adm.post("/admin/settings", url.Values{"group": {"agents"}, "s:agents.anthropicApiKey": {""}}), http.StatusSeeOther, "keep secret")
	if live.Current().String(config.AgentsAnthropicAPIKey) != key {
		t.Error("an empty secret field changed the secret")
	}
	// The sealed value is bound to its key: copied under another key it does not open.
	if err := postgres.NewSettingStore(e.db).SaveSetting(context.Background(), config.SMTPPass, stored, "attacker"); err != nil {
		t.Fatal(err)
	}
	if err := live.Reload(context.Background()); err == nil || live.Current().String(config.SMTPPass) != "" {
		t.Errorf("a sealed value copied to another key opened: %v, %q", err, live.Current().String(config.SMTPPass))
	}
	adm.mustStatus(adm.post("/admin/settings", url.Values{"group": {"agents"}, "clear": {config.AgentsAnthropicAPIKey}}), http.StatusSeeOther, "clear secret")
	if got := savedSettings(t, e)[config.AgentsAnthropicAPIKey]; got != "" || live.Current().String(config.AgentsAnthropicAPIKey) != "" {
		t.Errorf("cleared secret = %q", got)
	}
}

func TestAdminSandboxPolicy(t *testing.T) {
	e, live := liveEnv(t)
	adm := e.setUp(t)
	page := adm.mustStatus(adm.get("/admin/sandbox"), http.StatusOK, "sandbox page")
	for _, want := range []string{"Global allowed domains", "Global denied domains", "sandbox.security.allowDisable"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("sandbox page lacks %q", want)
		}
	}
	r := adm.post("/admin/sandbox", url.Values{
		"s:sandbox.allowedDomains": {"pypi.org\n*.npmjs.org\nhttps://bad.example"},
		"s:sandbox.deniedDomains":  {"evil.example"},
	})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `&#34;https://bad.example&#34; is not a domain`) {
		t.Errorf("bad domain: %d %s", r.status, snippet(r.body))
	}
	if len(live.Current().List(config.SandboxDeniedDomains)) != 0 {
		t.Error("a refused form changed the denied list")
	}
	adm.mustStatus(adm.post("/admin/sandbox", url.Values{
		"s:sandbox.security.enabled":      {"true"},
		"s:sandbox.security.allowDisable": {"true"},
		"s:sandbox.allowedDomains":        {"pypi.org\r\n*.npmjs.org\r\nregistry.internal:8443\r\n"},
		"s:sandbox.deniedDomains":         {"evil.example"},
	}), http.StatusSeeOther, "save sandbox policy")
	cfg := live.Current()
	if got := cfg.List(config.SandboxAllowedDomains); strings.Join(got, ",") != "pypi.org,*.npmjs.org,registry.internal:8443" {
		t.Errorf("allowed = %v", got)
	}
	if !cfg.Bool(config.SandboxSecurityAllowDisable) || strings.Join(cfg.List(config.SandboxDeniedDomains), ",") != "evil.example" {
		t.Errorf("policy not saved: allowDisable=%v denied=%v", cfg.Bool(config.SandboxSecurityAllowDisable), cfg.List(config.SandboxDeniedDomains))
	}
	// The page changes only the sandbox policy.
	if r := adm.post("/admin/sandbox", url.Values{"s:git.includeCoAuthoredBy": {"false"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("another setting through the sandbox page: %d", r.status)
	}
}

// Only admins reach the admin section: everyone else gets the page that does not exist.
func TestAdminSectionIsForAdminsOnly(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	user, _ := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	anon := e.client(t)
	for _, path := range []string{"/admin", "/admin/settings", "/admin/sandbox", "/admin/users", "/admin/audit"} {
		if r := user.get(path); r.status != http.StatusNotFound || strings.Contains(r.body, "Settings</h1>") {
			t.Errorf("user GET %s: %d", path, r.status)
		}
		if r := anon.get(path); r.status != http.StatusSeeOther || r.location != "/login?next="+url.QueryEscape(path) {
			t.Errorf("anonymous GET %s: %d → %q", path, r.status, r.location)
		}
	}
	for _, path := range []string{"/admin/settings", "/admin/sandbox"} {
		if r := user.post(path, url.Values{"group": {"git"}, "s:git.includeCoAuthoredBy": {"false"}}); r.status != http.StatusNotFound {
			t.Errorf("user POST %s: %d", path, r.status)
		}
	}
	if len(savedSettings(t, e)) != 1 { // registration.allowNewUsers, saved by setup
		t.Errorf("saved settings after refused posts: %v", savedSettings(t, e))
	}
}

// Setup closes sign-ups at once on a node that keeps its settings loaded (Options.Current).
func TestSetupClosesSignupsOnALiveNode(t *testing.T) {
	e, live := liveEnv(t)
	e.setUp(t)
	if live.Current().Bool(config.RegistrationAllowNewUsers) {
		t.Error("after setup this node still has sign-ups open")
	}
	c := e.client(t)
	if r := c.get("/signup"); !strings.Contains(r.body, "Sign-ups are closed") {
		t.Errorf("sign-up page after setup: %d %s", r.status, snippet(r.body))
	}
}
