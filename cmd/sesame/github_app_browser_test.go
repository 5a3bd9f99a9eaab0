package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// withoutGitHubApp drops the GitHub App's variables from env: the journey creates the app itself.
func withoutGitHubApp(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GITHUB_") {
			out = append(out, kv)
		}
	}
	return out
}

// TestBrowserFirstVisitToFirstPullRequest is a new self-hoster's first minutes: a fresh Sesame with no
// GitHub App (no GITHUB_* variable), a web node and a worker node. In the browser: /setup creates the
// admin, the GitHub App page sends Sesame's manifest to GitHub, GitHub's answer is converted and saved,
// the app is installed, the webhook check passes, and a task from the form opens a pull request, all
// without a restart. It reports the time and the steps a person takes.
func TestBrowserFirstVisitToFirstPullRequest(t *testing.T) {
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)
	gh := githubtest.NewServer(t)
	gh.CreateRepo(t, repo, map[string]string{"README.md": "# Hello\n\nThis fixes teh typo.\n"}) // not installed yet
	addr := freeAddr(t)
	base := "http://" + addr
	env, _ := workerEnv(t, gh, model, "LISTEN_ADDR="+addr, "BASE_URL="+base)
	env = withoutGitHubApp(env)
	dbURL := envValue(env, "DATABASE_URL")

	started := time.Now()
	startSesame(t, env, "--role", "web")
	startSesame(t, env, "--role", "worker")
	ctx := browser(t)
	steps := 0
	var stages []string
	stage := func(what string) {
		stages = append(stages, what+" "+time.Since(started).Round(100*time.Millisecond).String())
	}
	stage("started")

	setUpInBrowser(t, ctx, base) // step 1: the setup form
	steps++
	stage("admin created")
	var where, flash string
	run(t, ctx, "setup leads to the GitHub App page", 10*time.Second,
		chromedp.Location(&where), text(`.flash`, &flash))
	if !strings.HasSuffix(where, "/admin/github") || !strings.Contains(flash, "create the GitHub App") {
		t.Fatalf("after setup the browser is at %s saying %q", where, flash)
	}

	// Step 2: "Create the GitHub App". github.com is the form's default; this GitHub is the test's.
	var created string
	run(t, ctx, "send the manifest to GitHub", 20*time.Second,
		chromedp.SetValue(`input[name=github]`, gh.URL, chromedp.ByQuery),
		chromedp.Click(`#create-github-app`, chromedp.ByQuery),
		chromedp.WaitVisible(`#create-app`, chromedp.ByQuery), // GitHub's page, reached by the auto-submitted form
		text(`#hook-url`, &created),
	)
	steps++
	if created != base+"/webhooks/github" {
		t.Errorf("GitHub was given the webhook %q, want %s/webhooks/github", created, base)
	}
	ms := gh.Manifests()
	if len(ms) != 1 || ms[0].Raw["redirect_url"] != base+"/setup/github/callback" || ms[0].State == "" {
		t.Fatalf("manifests received: %+v", ms)
	}

	// Step 3: "Create GitHub App" on GitHub; GitHub returns to Sesame, which converts the code, saves
	// the app and sends the admin on to install it. Step 4: "Install".
	var app, installations string
	run(t, ctx, "create the app on GitHub and install it", 30*time.Second,
		chromedp.Click(`#create-app`, chromedp.ByQuery),
		chromedp.WaitVisible(`#install-app`, chromedp.ByQuery),
		chromedp.Click(`#install-app`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-github-app]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-installation]`, chromedp.ByQuery),
		text(`[data-github-app]`, &app),
		text(`.installations`, &installations),
	)
	steps += 2
	stage("app created and installed")
	if !strings.Contains(app, gh.AppSlug) || !strings.Contains(installations, "Codertocat") {
		t.Errorf("the GitHub App page shows app %q, installations %q", app, installations)
	}
	ms = gh.Manifests()
	if len(ms) != 1 || !ms[0].Converted {
		t.Fatalf("the manifest's code was not converted: %+v", ms)
	}

	// The webhook check: a signed ping through BASE_URL reaches Sesame.
	var pinged string
	run(t, ctx, "send a test ping", 20*time.Second,
		// The page before the click shows the app's creation in its flash: only the next page's is wanted.
		chromedp.Evaluate(`document.querySelectorAll(".flash").forEach(e => e.remove())`, nil),
		chromedp.Click(`form[action="/admin/github/ping"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
		text(`.flash`, &pinged),
	)
	if !strings.Contains(pinged, "Test ping answered") {
		t.Errorf("test ping: %q", pinged)
	}

	// Step 5: the first task, on the worker node, which learnt the app from the settings.
	startTask(t, ctx, base, "fix the typo in README")
	steps++
	stage("task started")
	var pr string
	run(t, ctx, "wait for the pull request", 3*time.Minute,
		chromedp.WaitVisible(`#task-summary .pr a`, chromedp.ByQuery),
		text(`#task-summary .pr a`, &pr),
	)
	elapsed := time.Since(started)
	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("pull requests: %+v", prs)
	}
	stage("pull request")
	t.Logf("fresh start to first pull request: %s, %d steps by a person, no environment variable for GitHub, no restart (%s)",
		elapsed.Round(100*time.Millisecond), steps, strings.Join(stages, ", "))

	// The web node checks GitHub's deliveries with the secret GitHub gave, without a restart.
	secret := gh.WebhookSecret()
	req := githubtest.NewWebhookRequest(base+"/webhooks/github", "ping", "journey-ping", secret, []byte(`{"zen":"hi","hook_id":1}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a ping signed with GitHub's webhook secret got %d", resp.StatusCode)
	}

	// The key and the secret are stored sealed, never as text.
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT key, value FROM settings WHERE key LIKE 'github.%'")
	if err != nil {
		t.Fatal(err)
	}
	saved := map[string]string{}
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		saved[k] = v
	}
	if saved["github.appId"] == "" || !strings.HasPrefix(saved["github.privateKey"], "sealed:") || !strings.HasPrefix(saved["github.webhookSecret"], "sealed:") {
		t.Errorf("saved GitHub settings: %v", keysOf(saved))
	}
	for k, v := range saved {
		if strings.Contains(v, secret) || strings.Contains(v, "PRIVATE KEY") {
			t.Errorf("setting %s holds a secret as text", k)
		}
	}
	// The audit log names the app created, without its secrets.
	var payload []byte
	conn.QueryRow(context.Background(), "SELECT payload FROM audit_events WHERE action = 'github_app_created'").Scan(&payload)
	var p map[string]any
	json.Unmarshal(payload, &p)
	if p["slug"] != gh.AppSlug || strings.Contains(string(payload), secret) {
		t.Errorf("audit payload %s", payload)
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
