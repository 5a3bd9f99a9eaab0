package admin_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/bot"
)

// manifestForm finds the form the manifest page posts to GitHub: its action and the manifest.
func manifestForm(t *testing.T, body string) (action string, manifest map[string]any) {
	t.Helper()
	m := regexp.MustCompile(`<form method="post" action="([^"]+)" id="github-manifest"`).FindStringSubmatch(body)
	v := regexp.MustCompile(`name="manifest" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil || v == nil {
		t.Fatalf("no manifest form in:\n%s", snippet(body))
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(v[1])), &manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return html.UnescapeString(m[1]), manifest
}

func TestGitHubAppFromManifest(t *testing.T) {
	e := newEnv(t)
	live := &bot.LiveApp{}
	srv := e.serve(t, func(o *admin.Options) { o.GitHubApps = &bot.AppAdmin{Live: live} })
	c := e.clientOf(t, srv)
	r := c.mustStatus(c.post("/setup", accountForm("Ada Admin", "ada@example.com")), http.StatusSeeOther, "setup")
	if r.location != "/admin/github" {
		t.Fatalf("setup without a GitHub App leads to %q, want /admin/github", r.location)
	}
	page := c.mustStatus(c.get("/admin/github"), http.StatusOK, "GitHub App page")
	if !strings.Contains(page.body, `id="create-github-app"`) || !strings.Contains(page.body, "http://sesame.test/webhooks/github") {
		t.Fatalf("the page offers no app creation:\n%s", snippet(page.body))
	}

	sent := c.mustStatus(c.post("/admin/github/manifest", url.Values{"github": {e.gh.URL}, "org": {"octo"}, "name": {"Sesame test"}}),
		http.StatusOK, "send manifest")
	action, manifest := manifestForm(t, sent.body)
	if !strings.HasPrefix(action, e.gh.URL+"/organizations/octo/settings/apps/new?state=") {
		t.Errorf("the form posts to %q", action)
	}
	if csp := sent.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+e.gh.URL+";") {
		t.Errorf("the manifest page's CSP does not let its form reach GitHub: %q", csp)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("other pages' CSP lets forms go elsewhere: %q", csp)
	}
	hook := manifest["hook_attributes"].(map[string]any)
	perms := manifest["default_permissions"].(map[string]any)
	if manifest["name"] != "Sesame test" || hook["url"] != "http://sesame.test/webhooks/github" ||
		manifest["redirect_url"] != "http://sesame.test/setup/github/callback" || manifest["setup_url"] != "http://sesame.test/admin/github" ||
		perms["contents"] != "write" || perms["pull_requests"] != "write" {
		t.Errorf("manifest %v", manifest)
	}

	raw, _ := json.Marshal(manifest)
	res, err := http.PostForm(action, url.Values{"manifest": {string(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ms := e.gh.Manifests()
	if len(ms) != 1 || ms[0].Owner != "octo" {
		t.Fatalf("GitHub received %+v", ms)
	}
	code, state := ms[0].Code, ms[0].State

	// A callback whose state is not the session's changes nothing (and uses the session's state up).
	bad := c.get("/setup/github/callback?code=" + code + "&state=forged")
	c.mustStatus(bad, http.StatusBadRequest, "forged state")
	if saved, _ := e.opts.Settings.Settings(context.Background()); saved["github.appId"] != "" {
		t.Fatalf("a forged callback saved %v", saved["github.appId"])
	}
	again := c.get("/setup/github/callback?code=" + code + "&state=" + state)
	c.mustStatus(again, http.StatusBadRequest, "state used up by the forged attempt")

	// A new attempt, answered properly.
	sent = c.mustStatus(c.post("/admin/github/manifest", url.Values{"github": {e.gh.URL}}), http.StatusOK, "send manifest again")
	action, manifest = manifestForm(t, sent.body)
	if !strings.HasPrefix(action, e.gh.URL+"/settings/apps/new?state=") {
		t.Errorf("personal account: the form posts to %q", action)
	}
	raw, _ = json.Marshal(manifest)
	if res, err = http.PostForm(action, url.Values{"manifest": {string(raw)}}); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ms = e.gh.Manifests()
	code, state = ms[1].Code, ms[1].State
	done := c.mustStatus(c.get("/setup/github/callback?code="+code+"&state="+state), http.StatusSeeOther, "callback")
	if done.location != e.gh.URL+"/apps/"+e.gh.AppSlug+"/installations/new" {
		t.Errorf("after the callback the admin goes to %q, want the app's install page", done.location)
	}
	saved, err := e.opts.Settings.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if saved["github.appId"] != "424242" || !strings.HasPrefix(saved["github.privateKey"], "sealed:") ||
		!strings.HasPrefix(saved["github.webhookSecret"], "sealed:") || saved["github.apiUrl"] != e.gh.URL+"/api/v3/" {
		t.Errorf("saved %v", saved)
	}
	if strings.Contains(saved["github.webhookSecret"], e.gh.WebhookSecret()) {
		t.Error("the webhook secret is stored as text")
	}

	// The same code again: GitHub refuses it, nothing changes.
	sent = c.mustStatus(c.post("/admin/github/manifest", url.Values{"github": {e.gh.URL}}), http.StatusOK, "a third attempt")
	action, _ = manifestForm(t, sent.body)
	st, _ := url.Parse(action)
	reused := c.get("/setup/github/callback?code=" + code + "&state=" + st.Query().Get("state"))
	c.mustStatus(reused, http.StatusBadGateway, "reused code")
	if !strings.Contains(reused.body, "good once") {
		t.Errorf("reused code page:\n%s", snippet(reused.body))
	}

	// Once the node knows the app (cmd/sesame configures it at the reload), the page describes it.
	if _, err := live.Configure(e.gh.AppID, e.gh.PrivateKeyPEM, e.gh.URL+"/api/v3/"); err != nil {
		t.Fatal(err)
	}
	page = c.mustStatus(c.get("/admin/github?installation_id=9&setup_action=install"), http.StatusOK, "app page")
	for _, want := range []string{`data-github-app="sesame-test"`, `data-installation="9"`, "/apps/sesame-test/installations/new", "Send a test ping"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the app page lacks %q:\n%s", want, snippet(page.body))
		}
	}
}

func TestGitHubAppLockedByEnvironment(t *testing.T) {
	e := newEnv(t, "GITHUB_APP_ID=77")
	srv := e.serve(t, func(o *admin.Options) { o.GitHubApps = &bot.AppAdmin{Live: &bot.LiveApp{}} })
	c := e.clientOf(t, srv)
	c.mustStatus(c.post("/setup", accountForm("Ada Admin", "ada@example.com")), http.StatusSeeOther, "setup")
	page := c.mustStatus(c.get("/admin/github"), http.StatusOK, "page")
	if strings.Contains(page.body, `id="create-github-app"`) || !strings.Contains(page.body, "GITHUB_APP_ID") {
		t.Errorf("an app set by the environment can be replaced here:\n%s", snippet(page.body))
	}
	r := c.mustStatus(c.post("/admin/github/manifest", url.Values{"github": {e.gh.URL}}), http.StatusUnprocessableEntity, "manifest")
	if !strings.Contains(r.body, "GITHUB_APP_ID") {
		t.Errorf("refusal does not name the variable:\n%s", snippet(r.body))
	}
	other, _ := e.addUser(t, "Bob", "bob@example.com", "user")
	other.mustStatus(other.get("/admin/github"), http.StatusNotFound, "a user on the admin's GitHub page")
}
