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
			body: "group=smtp&s%3Asmtp.host=evil.example"}).then(r => r.status)`, &crafted, awaitPromise),
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
	// The audit log holds the settings change (its key, not its value) and the task's life.
	if n := countRows(t, dbURL, `SELECT count(*) FROM audit_events WHERE action = 'settings_changed'
		AND payload->'keys' = '["git.includeCoAuthoredBy"]' AND payload::text NOT LIKE '%false%'`); n != 1 {
		t.Errorf("%d settings_changed events naming only the key", n)
	}
	for _, action := range []string{"task_created", "task_started", "task_completed"} {
		if n := countRows(t, dbURL, `SELECT count(*) FROM audit_events WHERE resource_type = 'task' AND resource_id = '`+resp["task_id"]+`' AND action = '`+action+`'`); n != 1 {
			t.Errorf("%d %s events for the task", n, action)
		}
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
			body: "role=user&confirm=yes"}).then(r => r.status)`, &status, awaitPromise),
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

// TestBrowserAdminAudit: the audit page shows what setup did, filters by action, shows a failed
// sign-in that happens while it is open without a reload, opens an event's detail, and exports the
// filtered events as CSV and JSON.
func TestBrowserAdminAudit(t *testing.T) {
	model := modeltest.NewServer(t)
	base, _, _, _, _ := adminEnv(t, model)
	ctx := browser(t)
	setUpInBrowser(t, ctx, base)

	var all, initial string
	run(t, ctx, "open the audit log", 20*time.Second,
		chromedp.Navigate(base+"/admin/audit"),
		chromedp.WaitVisible(`#audit-events tbody tr`, chromedp.ByQuery),
		text(`#audit-events tbody`, &all),
		// Gravatar cannot be reached from here: the broken picture goes and the initial shows.
		chromedp.Poll(`document.querySelector(".avatar img") === null`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		text(`.avatar-initial`, &initial),
	)
	if initial != "A" {
		t.Errorf("avatar shows %q; want Ada's initial", initial)
	}
	for _, want := range []string{"user_registered", "session_created", "registration_changed"} {
		if !strings.Contains(all, want) {
			t.Errorf("audit log after setup lacks %s:\n%s", want, all)
		}
	}

	// Live tail: a failed sign-in from elsewhere shows up on the open page.
	var marked bool
	run(t, ctx, "mark the page", 5*time.Second, chromedp.Evaluate(`window.__sesameTest = 1; true`, &marked))
	res, err := http.PostForm(base+"/login", map[string][]string{"email": {"mallory@example.com"}, "password": {"guess-guess-guess"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var reloaded bool
	run(t, ctx, "the failed sign-in arrives live", 20*time.Second,
		chromedp.Poll(`document.querySelector("#audit-events tbody").innerText.includes("user_login_failed")`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(`window.__sesameTest !== 1`, &reloaded),
	)
	if reloaded {
		t.Error("the page reloaded instead of tailing")
	}

	// Filter, then the detail view of the failed sign-in.
	var rows int
	var detail string
	run(t, ctx, "filter by action and open the event", 20*time.Second,
		chromedp.SetValue(`select[name=action]`, "user_login_failed", chromedp.ByQuery),
		chromedp.Click(`.audit-filters button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.audit-filter-buttons a[href="/admin/audit"]`, chromedp.ByQuery), // "Clear": only on a filtered page
		chromedp.WaitVisible(`#audit-events tbody tr`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#audit-events tbody tr").length`, &rows),
		chromedp.Click(`#audit-events tbody tr a`, chromedp.ByQuery),
		chromedp.WaitVisible(`main pre`, chromedp.ByQuery),
		text(`main`, &detail),
	)
	if rows != 1 {
		t.Errorf("filtered by user_login_failed: %d rows", rows)
	}
	for _, want := range []string{"user_login_failed", "mallory@example.com", "Go-http-client", "wrong email or password"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail view lacks %q:\n%s", want, detail)
		}
	}
	if strings.Contains(detail, "guess-guess-guess") {
		t.Error("the password tried reached the audit log")
	}

	// Export what the filter selects, from the signed-in browser.
	var csv, jsonRows string
	run(t, ctx, "export as CSV and JSON", 20*time.Second,
		chromedp.Evaluate(`fetch("/api/admin/audit/export?format=csv&action=user_login_failed").then(r => r.text())`, &csv, awaitPromise),
		chromedp.Evaluate(`fetch("/api/admin/audit/export?format=json&action=user_login_failed").then(r => r.json()).then(a => a.map(e => e.action + " " + JSON.stringify(e.payload)).join("\n"))`, &jsonRows, awaitPromise),
	)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,time,actor_id") || !strings.Contains(lines[1], "user_login_failed") {
		t.Errorf("CSV export:\n%s", csv)
	}
	if strings.Count(jsonRows, "user_login_failed") != 1 || !strings.Contains(jsonRows, "mallory@example.com") {
		t.Errorf("JSON export:\n%s", jsonRows)
	}
}

// awaitPromise makes chromedp.Evaluate wait for the promise the expression returns.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
