package main_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// adminEnv starts a web node and a separate worker on one PostgreSQL and Redis, the web node served
// at its BASE_URL for the browser. extra is added to both processes' environment.
func adminEnv(t *testing.T, model *modeltest.Server, extra ...string) (base, dbURL, bare string, gh *githubtest.Server, web *process) {
	gh = githubtest.NewServer(t)
	bare = fixture(t, gh)
	addr := freeAddr(t)
	base = "http://" + addr
	env, _ := workerEnv(t, gh, model, append([]string{"LISTEN_ADDR=" + addr, "BASE_URL=" + base}, extra...)...)
	web = startSesame(t, env, "--role", "web")
	startSesame(t, env, "--role", "worker")
	return base, envValue(env, "DATABASE_URL"), bare, gh, web
}

// TestBrowserAdminSettingReachesWorker: an admin turns the Co-authored-by trailer off on the web
// node's settings page, and the worker, another process that was not restarted, commits the next
// task without it. A setting the environment locks is shown locked and a crafted POST for it is
// refused.
func TestBrowserAdminSettingReachesWorker(t *testing.T) {
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)
	base, dbURL, bare, gh, web := adminEnv(t, model, "SMTP_HOST=mail.internal.example")
	ctx := browser(t)
	setUpInBrowser(t, ctx, base)

	var flash, lockedNote string
	var lockedDisabled bool
	run(t, ctx, "turn the Co-authored-by trailer off in the admin settings", 20*time.Second,
		chromedp.Navigate(base+"/admin/settings"),
		chromedp.WaitVisible(`#git form`, chromedp.ByQuery),
		chromedp.SetValue(`#git select[name="s:git.includeCoAuthoredBy"]`, "false", chromedp.ByQuery),
		chromedp.Click(`#git form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
		text(`.flash`, &flash),
		text(`#setting-smtp\.host .badge-locked`, &lockedNote),
		chromedp.Evaluate(`document.querySelector('#setting-smtp\\.host input').disabled`, &lockedDisabled),
	)
	if !strings.Contains(flash, "Saved git.includeCoAuthoredBy") {
		t.Fatalf("after saving the page says %q", flash)
	}
	if !strings.Contains(lockedNote, "SMTP_HOST") || !lockedDisabled {
		t.Errorf("SMTP_HOST-locked setting: note %q, input disabled %v", lockedNote, lockedDisabled)
	}
	// A crafted POST from the signed-in admin's own browser changes nothing.
	var crafted int
	run(t, ctx, "post a locked setting by hand", 10*time.Second,
		chromedp.Evaluate(`fetch("/admin/settings", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "group=smtp&s%3Asmtp.host=evil.example"}).then(r => r.status)`, &crafted, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}),
	)
	if crafted != http.StatusUnprocessableEntity {
		t.Errorf("crafted POST of a locked setting answered %d", crafted)
	}

	// The worker applies the setting to the next task without a restart.
	code, resp := deliver(t, web, "admin-1", commentPayload(t, "alice", "/sesame fix the typo in README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	if status, reason := waitEnded(t, dbURL, resp["task_id"], 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests", len(prs))
	}
	if msg := gitOut(t, bare, "log", "-1", "--format=%B", prs[0].Head); strings.Contains(msg, "Co-authored-by") {
		t.Errorf("the worker still added the trailer after the admin turned it off:\n%s", msg)
	}
}

// TestBrowserAdminUsers: the admin re-opens sign-ups, Bob signs up in his own browser, the admin
// bans him while his session is open and he is signed out at his next request; the only admin
// cannot demote themselves; Bob never reaches anything under /admin.
func TestBrowserAdminUsers(t *testing.T) {
	model := modeltest.NewServer(t)
	base, _, _, _, _ := adminEnv(t, model)
	admin := browser(t)
	setUpInBrowser(t, admin, base)

	run(t, admin, "re-open sign-ups", 20*time.Second,
		chromedp.Navigate(base+"/admin/users"),
		chromedp.Click(`form[action="/admin/users/signups"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
	)
	bob := browser(t)
	var bobHome string
	run(t, bob, "Bob signs up", 20*time.Second,
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(`form[action="/signup"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=name]`, "Bob", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "bob@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, "correct horse battery", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password_confirm]`, "correct horse battery", chromedp.ByQuery),
		chromedp.Click(`form[action="/signup"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`a.button[href="/tasks/new"]`, chromedp.ByQuery),
		chromedp.Location(&bobHome),
	)
	for _, path := range []string{"/admin", "/admin/settings", "/admin/users", "/admin/sandbox", "/admin/audit"} {
		var h1 string
		run(t, bob, "Bob opens "+path, 10*time.Second, chromedp.Navigate(base+path), chromedp.WaitVisible(`h1`, chromedp.ByQuery), text(`h1`, &h1))
		if h1 != "Not Found" {
			t.Errorf("Bob at %s sees %q; want the page that does not exist", path, h1)
		}
	}

	// The only admin sees no way to demote themselves.
	var notice string
	var demote int
	run(t, admin, "the only admin opens their own page", 20*time.Second,
		chromedp.Navigate(base+"/admin/users?q=ada"),
		chromedp.Click(`table a[href^="/admin/users/"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#actions`, chromedp.ByQuery),
		text(`#actions .notice`, &notice),
		chromedp.Evaluate(`document.querySelectorAll('#actions form[action$="/role"], #actions form[action$="/ban"], #actions form[action$="/delete"]').length`, &demote),
	)
	if !strings.Contains(notice, "only admin") || demote != 0 {
		t.Errorf("own page of the only admin: notice %q, %d forms to demote, ban or delete", notice, demote)
	}
	// A crafted demotion is refused too.
	var status int
	run(t, admin, "post a demotion of themselves by hand", 10*time.Second,
		chromedp.Evaluate(`fetch(location.pathname + "/role", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "role=user&confirm=yes"}).then(r => r.status)`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}),
	)
	if status != http.StatusConflict {
		t.Errorf("crafted self-demotion of the last admin answered %d", status)
	}
	var role string
	run(t, admin, "still an admin", 10*time.Second, chromedp.Navigate(base+"/admin/users?q=ada"), chromedp.WaitVisible(`h1`, chromedp.ByQuery), text(`table`, &role))
	if !strings.Contains(role, "admin") {
		t.Errorf("users table after the refused demotion: %q", role)
	}

	// Ban Bob while his session is open.
	var flash string
	run(t, admin, "ban Bob", 20*time.Second,
		chromedp.Navigate(base+"/admin/users?q=bob"),
		chromedp.Click(`table a[href^="/admin/users/"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#actions form[action$="/ban"] button`, chromedp.ByQuery),
		chromedp.Click(`#actions form[action$="/ban"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#confirm form[action$="/ban"] button`, chromedp.ByQuery),
		chromedp.Click(`#confirm form[action$="/ban"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
		text(`.flash`, &flash),
	)
	if !strings.Contains(flash, "Bob is banned and signed out everywhere") {
		t.Errorf("after the ban the page says %q", flash)
	}
	var where string
	run(t, bob, "Bob's next request", 10*time.Second,
		chromedp.Navigate(bobHome),
		chromedp.WaitVisible(`form[action="/login"]`, chromedp.ByQuery),
		chromedp.Location(&where),
	)
	if !strings.Contains(where, "/login") {
		t.Errorf("banned Bob is at %s", where)
	}
}
