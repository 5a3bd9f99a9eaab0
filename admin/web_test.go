package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
)

func TestSetupCreatesFirstAdminAndClosesSignups(t *testing.T) {
	e := newEnv(t)
	anon := e.client(t)
	for _, p := range []string{"/", "/login", "/tasks", "/signup", "/nowhere"} {
		if r := anon.get(p); r.status != http.StatusSeeOther || r.location != "/setup" {
			t.Errorf("GET %s before setup: %d → %q, want /setup", p, r.status, r.location)
		}
	}
	page := anon.mustStatus(anon.get("/setup"), http.StatusOK, "setup page")
	if !strings.Contains(page.body, "Create the admin account") {
		t.Fatal("setup page lacks its form")
	}
	// A bad form changes nothing.
	bad := accountForm("Ada", "ada@example.com")
	bad.Set("password_confirm", "something else entirely")
	if r := anon.post("/setup", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "The two passwords differ.") {
		t.Fatalf("mismatched passwords: %d", r.status)
	}
	if n, _ := e.users.CountUsers(context.Background()); n != 0 {
		t.Fatalf("%d users after a refused setup", n)
	}

	admin := e.setUp(t)
	tasks := admin.mustStatus(admin.get("/tasks"), http.StatusOK, "tasks after setup")
	if !strings.Contains(tasks.body, "Ada Admin · admin") || !strings.Contains(tasks.body, "sign-ups are now closed") {
		t.Errorf("tasks page after setup lacks the admin's name or the welcome:\n%s", snippet(tasks.body))
	}
	u, err := e.users.UserByEmail(context.Background(), "ADA@example.com")
	if err != nil || u.Role != sesame.RoleAdmin {
		t.Fatalf("first user = %+v, %v", u, err)
	}
	saved, _ := postgres.NewSettingStore(e.db).Settings(context.Background())
	if saved[config.RegistrationAllowNewUsers] != "false" {
		t.Errorf("registration.allowNewUsers saved as %q, want false", saved[config.RegistrationAllowNewUsers])
	}

	// Setup is over: a second attempt is refused and creates nobody; sign-up is closed.
	other := e.client(t)
	other.mustStatus(other.post("/setup", accountForm("Eve", "eve@example.com")), http.StatusConflict, "second setup")
	if r := other.get("/setup"); r.location != "/login" {
		t.Errorf("GET /setup after setup → %q, want /login", r.location)
	}
	closed := other.mustStatus(other.get("/signup"), http.StatusForbidden, "signup page")
	if !strings.Contains(closed.body, "Sign-ups are closed") {
		t.Error("signup page does not say sign-ups are closed")
	}
	other.mustStatus(other.post("/signup", accountForm("Eve", "eve@example.com")), http.StatusForbidden, "signup post")
	if n, _ := e.users.CountUsers(context.Background()); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
	if r := other.get("/login"); strings.Contains(r.body, `href="/signup"`) {
		t.Error("login page offers sign-up while it is closed")
	}
}

func TestSignupWhenOpenedByAdmin(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	if err := postgres.NewSettingStore(e.db).SaveSetting(context.Background(), config.RegistrationAllowNewUsers, "true", "test"); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	r := c.mustStatus(c.post("/signup", accountForm("Bob", "bob@example.com")), http.StatusSeeOther, "signup")
	if r.location != "/tasks" {
		t.Errorf("signup → %q", r.location)
	}
	u, err := e.users.UserByEmail(context.Background(), "bob@example.com")
	if err != nil || u.Role != sesame.RoleUser {
		t.Fatalf("signed-up user = %+v, %v", u, err)
	}
	if r := c.post("/signup", accountForm("Bob", "BOB@example.com")); r.status != http.StatusConflict {
		t.Errorf("second signup with the same email: %d", r.status)
	}
}

func TestLoginLogoutAndBan(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	c, u := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	c.mustStatus(c.get("/tasks"), http.StatusOK, "tasks when signed in")

	wrong := e.client(t)
	r := wrong.mustStatus(wrong.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"wrong password!"}}), http.StatusUnauthorized, "wrong password")
	if !strings.Contains(r.body, "do not match") {
		t.Error("wrong password page does not say so")
	}
	wrong.mustStatus(wrong.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {password}}), http.StatusUnauthorized, "unknown email")

	// Sign-in goes back to where the visitor was going, but never to another site.
	next := e.client(t)
	r = next.get("/tasks/new")
	if r.location != "/login?next=%2Ftasks%2Fnew" {
		t.Fatalf("anonymous /tasks/new → %q", r.location)
	}
	r = next.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}, "next": {"/tasks/new"}})
	if r.location != "/tasks/new" {
		t.Errorf("login with next → %q", r.location)
	}
	evil := e.client(t)
	if r := evil.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}, "next": {"//evil.example/x"}}); r.location != "/tasks" {
		t.Errorf("login with an off-site next → %q", r.location)
	}

	// Banning ends the open session at its next request and refuses a new sign-in.
	if err := e.users.SetBanned(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	if r := c.get("/tasks"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("banned user's session still works: %d %q", r.status, r.location)
	}
	r = e.client(t).post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "suspended") {
		t.Errorf("banned sign-in: %d", r.status)
	}

	// Sign out ends the session.
	a := e.client(t)
	a.mustStatus(a.post("/login", url.Values{"email": {"ada@example.com"}, "password": {password}}), http.StatusSeeOther, "admin login")
	a.mustStatus(a.post("/logout", nil), http.StatusSeeOther, "logout")
	if r := a.get("/tasks"); r.status != http.StatusSeeOther {
		t.Errorf("after logout /tasks: %d", r.status)
	}
}

func TestSessionCookieAndStoredToken(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/setup", strings.NewReader(accountForm("Ada", "ada@example.com").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "sesame_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("session cookie = %+v (http BASE_URL: not Secure)", cookie)
	}
	var stored int
	e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE token = $1`, cookie.Value).Scan(&stored)
	var total int
	e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&total)
	if stored != 0 || total != 1 {
		t.Errorf("sessions table: %d rows hold the cookie's token in clear, %d rows in all; want 0 and 1", stored, total)
	}
}

func TestSecureCookieUnderHTTPS(t *testing.T) {
	e := newEnv(t, "BASE_URL=https://sesame.example.com")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/setup", strings.NewReader(accountForm("Ada", "ada@example.com").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.client(t).hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "sesame_session" && !ck.Secure {
			t.Error("session cookie is not Secure under an https BASE_URL")
		}
	}
}

// TestAnonymousVisitorsAreSentToSignIn covers every page of a signed-in user.
func TestAnonymousVisitorsAreSentToSignIn(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	task := e.webTask(t, "", "anything")
	anon := e.client(t)
	for _, p := range []string{"/", "/tasks", "/tasks/new", "/tasks/" + task.ID, "/settings"} {
		if r := anon.get(p); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
			t.Errorf("anonymous GET %s: %d → %q", p, r.status, r.location)
		}
	}
	if r := anon.get("/tasks/" + task.ID + "/events"); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous event stream: %d", r.status)
	}
	for _, p := range []string{"/tasks", "/tasks/" + task.ID + "/stop", "/settings/github", "/settings/github/delete"} {
		if r := anon.post(p, url.Values{"prompt": {"x"}}); r.status != http.StatusSeeOther || r.location != "/login" {
			t.Errorf("anonymous POST %s: %d → %q", p, r.status, r.location)
		}
	}
	if got, _ := e.tasks.Task(context.Background(), task.ID); got.StopRequestedBy != "" {
		t.Error("an anonymous stop was recorded")
	}
}

// TestCrossOriginPostsAreRefused sends every state-changing request as another site would, signed in.
func TestCrossOriginPostsAreRefused(t *testing.T) {
	e := newEnv(t)
	adminBrowser := e.setUp(t)
	task := e.webTask(t, "", "cross origin target")
	forms := map[string]url.Values{
		"/setup":                      accountForm("Eve", "eve@example.com"),
		"/signup":                     accountForm("Eve", "eve@example.com"),
		"/login":                      {"email": {"ada@example.com"}, "password": {password}},
		"/logout":                     nil,
		"/tasks":                      {"repo": {testRepo}, "agent": {"claude"}, "prompt": {"delete everything"}},
		"/tasks/" + task.ID + "/stop": nil,
		"/settings/github":            {"token": {"ghp_0123456789abcdef0123456789abcdef0123"}},
		"/settings/github/delete":     nil,
	}
	for path, form := range forms {
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "", "Origin", "https://evil.example"}} {
			r := adminBrowser.post(path, form, h...)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "came from another site") {
				t.Errorf("cross-origin POST %s (%v): %d", path, h, r.status)
			}
		}
	}
	ctx := context.Background()
	if n, _ := e.users.CountUsers(ctx); n != 1 {
		t.Errorf("%d users after cross-origin posts", n)
	}
	if list, _ := e.tasks.ListTasks(ctx, sesame.TaskFilter{}); len(list) != 1 {
		t.Errorf("%d tasks after cross-origin posts", len(list))
	}
	if got, _ := e.tasks.Task(ctx, task.ID); got.StopRequestedBy != "" || got.Status != sesame.StatusQueued {
		t.Error("a cross-origin stop was recorded")
	}
	adminBrowser.mustStatus(adminBrowser.get("/tasks"), http.StatusOK, "still signed in after a cross-origin logout")
}

func TestUsersSeeOnlyTheirTasks(t *testing.T) {
	e := newEnv(t)
	adminBrowser := e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	carol, carolUser := e.addUser(t, "Carol", "carol@example.com", sesame.RoleUser)
	bobs := e.webTask(t, bobUser.ID, "Bob's task")
	carols := e.webTask(t, carolUser.ID, "Carol's task")
	github := e.webTask(t, "", "a GitHub task")

	list := bob.mustStatus(bob.get("/tasks"), http.StatusOK, "bob's list")
	if !strings.Contains(list.body, "Bob&#39;s task") || strings.Contains(list.body, "Carol&#39;s task") || strings.Contains(list.body, "a GitHub task") {
		t.Errorf("bob's list:\n%s", snippet(list.body))
	}
	for _, id := range []string{carols.ID, github.ID} {
		bob.mustStatus(bob.get("/tasks/"+id), http.StatusNotFound, "bob views another's task")
		bob.mustStatus(bob.get("/tasks/"+id+"/events"), http.StatusNotFound, "bob streams another's task")
		bob.mustStatus(bob.post("/tasks/"+id+"/stop", nil), http.StatusNotFound, "bob stops another's task")
	}
	if got, _ := e.tasks.Task(context.Background(), carols.ID); got.Status != sesame.StatusQueued || got.StopRequestedBy != "" {
		t.Errorf("carol's task after bob's stop: %s %q", got.Status, got.StopRequestedBy)
	}
	bob.mustStatus(bob.get("/tasks/"+bobs.ID), http.StatusOK, "bob views his task")
	carol.mustStatus(carol.get("/tasks/"+bobs.ID), http.StatusNotFound, "carol views bob's task")

	all := adminBrowser.mustStatus(adminBrowser.get("/tasks"), http.StatusOK, "admin list")
	for _, want := range []string{"Bob&#39;s task", "Carol&#39;s task", "a GitHub task"} {
		if !strings.Contains(all.body, want) {
			t.Errorf("admin's list lacks %q", want)
		}
	}
	adminBrowser.mustStatus(adminBrowser.get("/tasks/"+carols.ID), http.StatusOK, "admin views carol's task")
	adminBrowser.mustStatus(adminBrowser.get("/tasks/not-a-task"), http.StatusNotFound, "unknown task")
}

func TestTaskFormCreatesTaskThroughTheSubmitter(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	e.connectGitHub(t, bobUser, "bobthebuilder", "write")
	form := bob.mustStatus(bob.get("/tasks/new"), http.StatusOK, "form")
	if !strings.Contains(form.body, `<option value="octo/hello"`) {
		t.Fatalf("form does not offer the installation's repository:\n%s", snippet(form.body))
	}
	nonce := between(form.body, `name="nonce" value="`, `"`)
	if len(nonce) != 32 {
		t.Fatalf("nonce = %q", nonce)
	}
	submit := url.Values{"nonce": {nonce}, "repo": {testRepo}, "agent": {"claude"}, "model": {"claude-sonnet-4-5"},
		"prompt": {"Fix the typo in README"}, "keep_alive": {"on"}}
	r := bob.mustStatus(bob.post("/tasks", submit), http.StatusSeeOther, "submit")
	id := strings.TrimPrefix(r.location, "/tasks/")
	task, err := e.tasks.Task(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if task.Source != sesame.SourceWeb || task.UserID != bobUser.ID || task.Repo != testRepo || task.InstallationID != 9 ||
		task.Requester != "bobthebuilder" || task.Model != "claude-sonnet-4-5" || !task.KeepAlive ||
		task.SandboxSecurity == nil || !*task.SandboxSecurity { // the admin default (on) requires it
		t.Errorf("stored task = %+v", task)
	}
	// Its job is on the queue, as for a GitHub comment.
	if n, _ := e.rdb.Exists(context.Background(), "asynq:{default}:t:"+id).Result(); n != 1 {
		t.Error("the task's job is not on the queue")
	}
	// Sending the same form again (a double click) gives the same task.
	if again := bob.post("/tasks", submit); again.location != r.location {
		t.Errorf("resubmitted form → %q, want %q", again.location, r.location)
	}
	page := bob.mustStatus(bob.get(r.location), http.StatusOK, "task page")
	for _, want := range []string{"Fix the typo in README", "queued", "octo/hello", `action="/tasks/` + id + `/stop"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("task page lacks %q", want)
		}
	}

	bad := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"unknown repo", map[string]string{"repo": "octo/secret"}, "Choose one of the repositories"},
		{"unknown agent", map[string]string{"agent": "skynet"}, "Choose one of the agents"},
		{"empty prompt", map[string]string{"prompt": "   "}, "Say what the agent should do."},
		{"long prompt", map[string]string{"prompt": strings.Repeat("x", 8001)}, "too long"},
		{"bad model", map[string]string{"model": "a b"}, "A model name"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{"nonce": {newNonce(t)}, "repo": {testRepo}, "agent": {"claude"}, "prompt": {"do it"}}
			for k, v := range tt.set {
				f.Set(k, v)
			}
			r := bob.post("/tasks", f)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tt.want) {
				t.Errorf("status %d; body lacks %q", r.status, tt.want)
			}
		})
	}
	if list, _ := e.tasks.ListTasks(context.Background(), sesame.TaskFilter{}); len(list) != 1 {
		t.Errorf("%d tasks after refused forms, want 1", len(list))
	}
}

func TestStopQueuedTask(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	task := e.webTask(t, bobUser.ID, "stop me")
	r := bob.mustStatus(bob.post("/tasks/"+task.ID+"/stop", nil), http.StatusSeeOther, "stop")
	if r.location != "/tasks/"+task.ID {
		t.Errorf("stop → %q", r.location)
	}
	got, _ := e.tasks.Task(context.Background(), task.ID)
	if got.Status != sesame.StatusStopped || got.StopRequestedBy != "Bob" {
		t.Errorf("after stop: %s by %q", got.Status, got.StopRequestedBy)
	}
	page := bob.get("/tasks/" + task.ID)
	if !strings.Contains(page.body, "Stopped by Bob") || strings.Contains(page.body, "task.js") {
		t.Errorf("stopped task page:\n%s", snippet(page.body))
	}
	again := bob.mustStatus(bob.post("/tasks/"+task.ID+"/stop", nil), http.StatusSeeOther, "stop again")
	if p := bob.get(again.location); !strings.Contains(p.body, "already ended") {
		t.Error("stopping an ended task does not say it had ended")
	}
}

func TestGitHubTokenIsStoredSealed(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	const token = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz9f3c"
	e.gh.AddUserToken(token, "bobthebuilder")

	r := bob.post("/settings/github", url.Values{"token": {"ghp_notAKnownTokenAtAll000000000000000"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "did not accept") {
		t.Errorf("unknown token: %d\n%s", r.status, snippet(r.body))
	}
	bob.mustStatus(bob.post("/settings/github", url.Values{"token": {token}}), http.StatusSeeOther, "connect")
	page := bob.mustStatus(bob.get("/settings"), http.StatusOK, "settings")
	if !strings.Contains(page.body, "@bobthebuilder") || !strings.Contains(page.body, "<code>9f3c</code>") || strings.Contains(page.body, token[:20]) {
		t.Errorf("settings page after connecting:\n%s", snippet(page.body))
	}

	var sealedToken []byte
	var row string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT github_token_sealed, users::text FROM users WHERE id = $1`, bobUser.ID).Scan(&sealedToken, &row); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealedToken, []byte(token)) || strings.Contains(row, token) || strings.Contains(row, token[12:40]) {
		t.Fatal("the token is stored in clear text")
	}
	stored, _ := e.users.GitHubToken(context.Background(), bobUser.ID)
	if len(stored.Sealed) < len(token)+16 {
		t.Errorf("sealed token is %d bytes", len(stored.Sealed))
	}
	login, _ := e.users.CommitLogin(context.Background(), bobUser.ID, "")
	if login != "bobthebuilder" {
		t.Errorf("commit login = %q", login)
	}

	// A task from the form now names the GitHub identity.
	bob.mustStatus(bob.post("/settings/github/delete", nil), http.StatusSeeOther, "remove")
	if _, err := e.users.GitHubToken(context.Background(), bobUser.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("token after removal: %v", err)
	}
	if p := bob.get("/settings"); strings.Contains(p.body, "9f3c") {
		t.Error("settings still show the removed token")
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// newNonce is a fresh form nonce, as the form page would give.
func newNonce(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestBaseURLIsATrustedOrigin: behind a proxy that rewrites Host, a form posted from BASE_URL by a
// browser that sends no Sec-Fetch-Site is accepted; any other origin is not.
func TestBaseURLIsATrustedOrigin(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	r := c.post("/setup", accountForm("Ada", "ada@example.com"), "Sec-Fetch-Site", "", "Origin", "http://sesame.test")
	if r.status != http.StatusSeeOther {
		t.Fatalf("setup from BASE_URL's origin: %d", r.status)
	}
	if r := c.post("/logout", nil, "Sec-Fetch-Site", "", "Origin", "http://sesame.test.evil.example"); r.status != http.StatusForbidden {
		t.Errorf("post from a look-alike origin: %d", r.status)
	}
}
