package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
)

// usersAuditLog is an audit store in memory that remembers what was recorded.
type usersAuditLog struct {
	mu     sync.Mutex
	events []sesame.AuditEvent
}

var _ sesame.AuditStore = (*usersAuditLog)(nil)

func (l *usersAuditLog) Record(_ context.Context, e sesame.AuditEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ID, e.At = int64(len(l.events)+1), time.Now()
	l.events = append(l.events, e)
}

func (l *usersAuditLog) AuditEvents(_ context.Context, f sesame.AuditFilter) ([]sesame.AuditEvent, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sesame.AuditEvent
	for _, e := range l.events {
		if f.Action == "" || e.Action == f.Action {
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *usersAuditLog) AuditEvent(_ context.Context, id int64) (*sesame.AuditEvent, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id < 1 || int(id) > len(l.events) {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "No such event.")
	}
	e := l.events[id-1]
	return &e, nil
}

func (l *usersAuditLog) ExportAudit(ctx context.Context, f sesame.AuditFilter, fn func(sesame.AuditEvent) error) error {
	events, _ := l.AuditEvents(ctx, f)
	for _, e := range events {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (l *usersAuditLog) PruneAudit(context.Context) (int64, error) { return 0, nil }

// of returns the events recorded with action.
func (l *usersAuditLog) of(action sesame.AuditAction) []sesame.AuditEvent {
	events, _ := l.AuditEvents(context.Background(), sesame.AuditFilter{Action: action})
	return events
}

// usersEnv is the web app with an audit log in memory, its users made in the store and signed in
// through the sign-in form.
type usersEnv struct {
	*env
	app   *admin.App
	srv   *httptest.Server
	audit *usersAuditLog
}

func newUsersEnv(t *testing.T, extraEnv ...string) *usersEnv {
	t.Helper()
	e := newEnv(t, extraEnv...)
	ue := &usersEnv{env: e, audit: &usersAuditLog{}}
	opts := e.opts
	opts.Audit = ue.audit
	app, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ue.app, ue.srv = app, httptest.NewServer(app)
	t.Cleanup(ue.srv.Close)
	return ue
}

// user creates a user with role and returns their browser, signed in.
func (ue *usersEnv) user(t *testing.T, name, email string, role sesame.Role) (*client, *sesame.User) {
	t.Helper()
	u, err := ue.users.CreateUser(context.Background(), sesame.User{Name: name, Email: email, Role: role, PasswordHash: hashFor(t)})
	if err != nil {
		t.Fatal(err)
	}
	return ue.signIn(t, email), u
}

// signIn signs in as email in a new browser.
func (ue *usersEnv) signIn(t *testing.T, email string) *client {
	t.Helper()
	c := ue.clientOf(t, ue.srv)
	c.mustStatus(c.post("/login", url.Values{"email": {email}, "password": {password}}), http.StatusSeeOther, "sign in as "+email)
	return c
}

// liveSessions counts the sessions of userID in the session store.
func (ue *usersEnv) liveSessions(t *testing.T, userID string) int {
	t.Helper()
	var n int
	err := ue.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions s
		JOIN user_sessions us ON us.token = s.token WHERE us.user_id = $1`, userID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (ue *usersEnv) mustUser(t *testing.T, id string) *sesame.User {
	t.Helper()
	u, err := ue.users.User(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func confirm(extra ...string) url.Values {
	v := url.Values{"confirm": {"yes"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestAdminUsersAreNotFoundForOthers(t *testing.T) {
	ue := newUsersEnv(t)
	_, ada := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	bob, bobUser := ue.user(t, "Bob", "bob@example.com", sesame.RoleUser)
	for _, id := range []string{ada.ID, bobUser.ID} {
		for _, p := range []string{"/admin/users", "/admin/users?q=ada", "/admin/users/" + id} {
			r := bob.mustStatus(bob.get(p), http.StatusNotFound, "user GET "+p)
			if strings.Contains(r.body, "ada@example.com") {
				t.Errorf("GET %s shows a user's email to a non-admin", p)
			}
		}
		for _, p := range []string{"/role", "/ban", "/unban", "/delete"} {
			bob.mustStatus(bob.post("/admin/users/"+id+p, confirm("role", "admin")), http.StatusNotFound, "user POST "+p)
		}
	}
	bob.mustStatus(bob.post("/admin/users/signups", url.Values{"allow": {"false"}}), http.StatusNotFound, "user POST signups")

	anon := ue.clientOf(t, ue.srv)
	if r := anon.get("/admin/users"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("anonymous GET /admin/users: %d → %q", r.status, r.location)
	}
	if r := anon.post("/admin/users/"+ada.ID+"/delete", confirm()); r.status != http.StatusSeeOther || r.location != "/login" {
		t.Errorf("anonymous POST delete: %d → %q", r.status, r.location)
	}

	// Nothing changed.
	if u := ue.mustUser(t, bobUser.ID); u.Role != sesame.RoleUser || u.Banned {
		t.Errorf("bob after his attempts: %+v", u)
	}
	if u := ue.mustUser(t, ada.ID); u.Role != sesame.RoleAdmin || u.Banned {
		t.Errorf("ada after bob's attempts: %+v", u)
	}
	if saved, _ := postgres.NewSettingStore(ue.db).Settings(context.Background()); saved[config.RegistrationAllowNewUsers] != "" {
		t.Errorf("a non-admin saved registration.allowNewUsers = %q", saved[config.RegistrationAllowNewUsers])
	}
	for _, action := range []sesame.AuditAction{sesame.AuditRoleChanged, sesame.AuditUserBanned, sesame.AuditUserUnbanned,
		sesame.AuditUserDeleted, sesame.AuditRegistrationChanged} {
		if events := ue.audit.of(action); len(events) != 0 {
			t.Errorf("audit events of refused requests: %+v", events)
		}
	}
}

var userLink = regexp.MustCompile(`href="/admin/users/([0-9a-f-]{36})"`)
var nextLink = regexp.MustCompile(`href="(/admin/users\?[^"]+)" rel="next"`)

func TestAdminUsersListSearchAndPages(t *testing.T) {
	ue := newUsersEnv(t)
	ada, _ := ue.user(t, "Ada Admin", "ada@example.com", sesame.RoleAdmin)
	_, bob := ue.user(t, "Bob <Builder>", "bob@example.com", sesame.RoleUser)
	ue.webTask(t, bob.ID, "one")
	ue.webTask(t, bob.ID, "two")
	ctx := context.Background()
	carol, err := ue.users.CreateUser(ctx, sesame.User{Name: "Carol", Email: "carol@example.com", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ue.users.SetBanned(ctx, carol.ID, true); err != nil {
		t.Fatal(err)
	}

	r := ada.mustStatus(ada.get("/admin/users"), http.StatusOK, "users page")
	for _, want := range []string{"Ada Admin", "(you)", "Bob &lt;Builder&gt;", "bob@example.com", `<td class="num">2</td>`,
		`status-banned">banned<`, `<span class="muted">never</span>`, `<span class="role role-admin">admin</span>`,
		"Sign-ups are <strong>open</strong>", "Close sign-ups"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("users page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<Builder>") {
		t.Error("a user's name is not escaped")
	}

	r = ada.mustStatus(ada.get("/admin/users?q=BUILD"), http.StatusOK, "search")
	if got := userLink.FindAllStringSubmatch(r.body, -1); len(got) != 1 || got[0][1] != bob.ID {
		t.Errorf("search BUILD found %v, want bob alone", got)
	}
	r = ada.mustStatus(ada.get("/admin/users?q=%25"), http.StatusOK, "search %")
	if userLink.MatchString(r.body) || !strings.Contains(r.body, "No user's name or email contains “%”") {
		t.Error("searching % matches users without a %")
	}

	// 60 more users: two pages of 50, all of them once.
	for i := range 60 {
		if _, err := ue.users.CreateUser(ctx, sesame.User{Name: "Many", Email: "many" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "@example.com", PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	path, pages := "/admin/users", 0
	for path != "" {
		pages++
		r := ada.mustStatus(ada.get(path), http.StatusOK, "page "+path)
		for _, m := range userLink.FindAllStringSubmatch(r.body, -1) {
			seen[m[1]]++
		}
		path = ""
		if m := nextLink.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if n, _ := ue.users.CountUsers(ctx); pages != 2 || len(seen) != n {
		t.Errorf("%d pages showed %d users, want 2 pages and %d users", pages, len(seen), n)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("user %s shown %d times", id, n)
		}
	}
	ada.mustStatus(ada.get("/admin/users?after=garbage"), http.StatusBadRequest, "bad cursor")
}

func TestAdminBansUser(t *testing.T) {
	ue := newUsersEnv(t)
	ada, adaUser := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	laptop, bob := ue.user(t, "Bob", "bob@example.com", sesame.RoleUser)
	phone := ue.signIn(t, "bob@example.com")
	queued := ue.webTask(t, bob.ID, "queued")
	running := ue.webTask(t, bob.ID, "running")
	if _, err := ue.tasks.SetStatus(context.Background(), running.ID, sesame.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	if n := ue.liveSessions(t, bob.ID); n != 2 {
		t.Fatalf("bob has %d sessions, want 2", n)
	}

	// The first POST asks to confirm, and says what will happen.
	r := ada.mustStatus(ada.post("/admin/users/"+bob.ID+"/ban", nil), http.StatusOK, "ban without confirmation")
	for _, want := range []string{"Ban Bob?", "2 open sessions end", "1 queued task is stopped", `name="confirm" value="yes"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("confirmation lacks %q", want)
		}
	}
	if ue.mustUser(t, bob.ID).Banned {
		t.Fatal("banned before confirmation")
	}

	r = ada.mustStatus(ada.post("/admin/users/"+bob.ID+"/ban", confirm()), http.StatusSeeOther, "ban")
	if r.location != "/admin/users/"+bob.ID {
		t.Errorf("ban → %q", r.location)
	}
	// Every session of bob's is gone at once, before he makes another request.
	if n := ue.liveSessions(t, bob.ID); n != 0 {
		t.Errorf("%d sessions of the banned user left", n)
	}
	page := ada.mustStatus(ada.get(r.location), http.StatusOK, "user page after the ban")
	if !strings.Contains(page.body, "Bob is banned and signed out everywhere; 1 queued task stopped.") {
		t.Errorf("no flash after the ban:\n%s", snippet(page.body))
	}
	for _, c := range []*client{laptop, phone} {
		if r := c.get("/tasks"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
			t.Errorf("banned user's browser: GET /tasks %d → %q", r.status, r.location)
		}
	}
	if task, _ := ue.tasks.Task(context.Background(), queued.ID); task.Status != sesame.StatusStopped || task.StopRequestedBy != "Ada" {
		t.Errorf("queued task: %s, stop requested by %q; want stopped by Ada", task.Status, task.StopRequestedBy)
	}
	if task, _ := ue.tasks.Task(context.Background(), running.ID); task.Status != sesame.StatusRunning || task.StopRequestedBy != "" {
		t.Errorf("running task: %s, stop requested by %q; want untouched", task.Status, task.StopRequestedBy)
	}
	if r := ue.clientOf(t, ue.srv).post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}); r.status != http.StatusForbidden {
		t.Errorf("banned sign-in: %d", r.status)
	}
	banned := ue.audit.of(sesame.AuditUserBanned)
	want := []sesame.AuditEvent{{ActorID: adaUser.ID, ActorEmail: "ada@example.com", Action: sesame.AuditUserBanned,
		ResourceType: sesame.ResourceUser, ResourceID: bob.ID, IP: "127.0.0.1", UserAgent: "Go-http-client/1.1",
		Payload: map[string]any{"email": "bob@example.com", "stopped_tasks": 1}}}
	if diff := cmp.Diff(want, banned, cmpIgnoreIDAndTime); diff != "" {
		t.Errorf("ban audit (-want +got):\n%s", diff)
	}

	// Unbanning lets him in again.
	ada.mustStatus(ada.post("/admin/users/"+bob.ID+"/unban", nil), http.StatusSeeOther, "unban")
	if ue.mustUser(t, bob.ID).Banned {
		t.Error("still banned after unban")
	}
	if n := len(ue.audit.of(sesame.AuditUserUnbanned)); n != 1 {
		t.Errorf("%d unban events", n)
	}
	again := ue.signIn(t, "bob@example.com")
	again.mustStatus(again.get("/tasks"), http.StatusOK, "tasks after unban")
}

var cmpIgnoreIDAndTime = cmp.Transformer("noIDTime", func(e sesame.AuditEvent) sesame.AuditEvent {
	e.ID, e.At = 0, time.Time{}
	return e
})

func TestLastAdminCannotRemoveThemselves(t *testing.T) {
	ue := newUsersEnv(t)
	ada, adaUser := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	// A banned admin does not count.
	_, eve := ue.user(t, "Eve", "eve@example.com", sesame.RoleAdmin)
	if err := ue.users.SetBanned(context.Background(), eve.ID, true); err != nil {
		t.Fatal(err)
	}
	self := "/admin/users/" + adaUser.ID

	page := ada.mustStatus(ada.get(self), http.StatusOK, "own page")
	if !strings.Contains(page.body, "You are the only admin") || strings.Contains(page.body, self+"/ban") || strings.Contains(page.body, self+"/delete") {
		t.Errorf("the last admin's page offers to remove them:\n%s", snippet(page.body))
	}
	for _, tt := range []struct {
		name, path, what string
		form             url.Values
	}{
		{"demote", "/role", "demote", url.Values{"role": {"user"}}},
		{"demote, confirmed", "/role", "demote", confirm("role", "user")},
		{"ban", "/ban", "ban", nil},
		{"ban, confirmed", "/ban", "ban", confirm()},
		{"delete", "/delete", "delete", nil},
		{"delete, confirmed", "/delete", "delete", confirm()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ada.mustStatus(ada.post(self+tt.path, tt.form), http.StatusConflict, tt.name)
			if want := "You are the only admin left: make another user an admin before you " + tt.what + " yourself."; !strings.Contains(r.body, want) {
				t.Errorf("refusal lacks %q:\n%s", want, snippet(r.body))
			}
			if u := ue.mustUser(t, adaUser.ID); u.Role != sesame.RoleAdmin || u.Banned {
				t.Errorf("the last admin changed: %+v", u)
			}
			ada.mustStatus(ada.get("/admin/users"), http.StatusOK, "still an admin")
		})
	}
	if n := len(ue.audit.of(sesame.AuditRoleChanged)) + len(ue.audit.of(sesame.AuditUserBanned)) + len(ue.audit.of(sesame.AuditUserDeleted)); n != 0 {
		t.Errorf("%d audit events for refused changes", n)
	}

	// With another admin, Ada may step down, after confirming.
	_, bob := ue.user(t, "Bob", "bob@example.com", sesame.RoleUser)
	ada.mustStatus(ada.post("/admin/users/"+bob.ID+"/role", url.Values{"role": {"admin"}}), http.StatusSeeOther, "promote bob")
	r := ada.mustStatus(ada.post(self+"/role", url.Values{"role": {"user"}}), http.StatusOK, "demote self, unconfirmed")
	if !strings.Contains(r.body, "Stop being an admin?") || ue.mustUser(t, adaUser.ID).Role != sesame.RoleAdmin {
		t.Fatal("self-demotion did not ask for confirmation first")
	}
	r = ada.mustStatus(ada.post(self+"/role", confirm("role", "user")), http.StatusSeeOther, "demote self")
	if r.location != "/tasks" || ue.mustUser(t, adaUser.ID).Role != sesame.RoleUser {
		t.Errorf("self-demotion → %q, role %s", r.location, ue.mustUser(t, adaUser.ID).Role)
	}
	ada.mustStatus(ada.get("/admin/users"), http.StatusNotFound, "users page after stepping down")
	changes := ue.audit.of(sesame.AuditRoleChanged)
	if len(changes) != 2 || changes[1].ResourceID != adaUser.ID ||
		!cmp.Equal(changes[1].Payload, map[string]any{"email": "ada@example.com", "from": "admin", "to": "user"}) {
		t.Errorf("role change events: %+v", changes)
	}
}

func TestAdminDeletesUser(t *testing.T) {
	ue := newUsersEnv(t)
	ada, adaUser := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	bobBrowser, bob := ue.user(t, "Bob", "bob@example.com", sesame.RoleUser)
	ue.connectGitHub(t, bob, "bob-gh", "write")
	task := ue.webTask(t, bob.ID, "keep me")

	r := ada.mustStatus(ada.post("/admin/users/"+bob.ID+"/delete", nil), http.StatusOK, "delete, unconfirmed")
	if !strings.Contains(r.body, "Delete Bob?") || !strings.Contains(r.body, "1 task stay") {
		t.Errorf("delete confirmation:\n%s", snippet(r.body))
	}
	r = ada.mustStatus(ada.post("/admin/users/"+bob.ID+"/delete", confirm()), http.StatusSeeOther, "delete")
	if r.location != "/admin/users" {
		t.Errorf("delete → %q", r.location)
	}
	if _, err := ue.users.User(context.Background(), bob.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Fatalf("deleted user still found: %v", err)
	}
	var sessions int
	ue.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&sessions)
	if sessions != 1 { // Ada's
		t.Errorf("%d sessions in the store, want Ada's alone", sessions)
	}
	if r := bobBrowser.get("/tasks"); r.status != http.StatusSeeOther {
		t.Errorf("deleted user's browser: GET /tasks %d", r.status)
	}
	got, err := ue.tasks.Task(context.Background(), task.ID)
	if err != nil || got.UserID != "" || got.Requester != "someone" {
		t.Errorf("task after delete: %+v, %v", got, err)
	}
	page := ada.mustStatus(ada.get("/tasks/"+task.ID), http.StatusOK, "the deleted user's task")
	if !strings.Contains(page.body, "Web · someone") {
		t.Error("the deleted user's task lost its requester")
	}
	ada.mustStatus(ada.get("/admin/users/"+bob.ID), http.StatusNotFound, "deleted user's page")
	events := ue.audit.of(sesame.AuditUserDeleted)
	if len(events) != 1 || events[0].ActorID != adaUser.ID || events[0].ResourceID != bob.ID || events[0].Payload["email"] != "bob@example.com" {
		t.Errorf("delete events: %+v", events)
	}

	for _, id := range []string{bob.ID, "018f0000-0000-7000-8000-000000000000", "not-an-id"} {
		ada.mustStatus(ada.get("/admin/users/"+id), http.StatusNotFound, "GET unknown user")
		for _, p := range []string{"/role", "/ban", "/unban", "/delete"} {
			ada.mustStatus(ada.post("/admin/users/"+id+p, confirm("role", "admin")), http.StatusNotFound, "POST "+p+" of unknown user")
		}
	}
}

func TestAdminOpensAndClosesSignups(t *testing.T) {
	ue := newUsersEnv(t)
	ctx := context.Background()
	ada, adaUser := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	visitor := ue.clientOf(t, ue.srv)
	for _, step := range []struct {
		allow      string
		signup     int
		flash      string
		saved      string
		pageButton string
	}{
		{"false", http.StatusForbidden, "Sign-ups are closed", "false", "Re-open sign-ups"},
		{"true", http.StatusOK, "Sign-ups are open", "true", "Close sign-ups"},
		{"false", http.StatusForbidden, "Sign-ups are closed", "false", "Re-open sign-ups"},
	} {
		r := ada.mustStatus(ada.post("/admin/users/signups", url.Values{"allow": {step.allow}}), http.StatusSeeOther, "signups "+step.allow)
		page := ada.mustStatus(ada.get(r.location), http.StatusOK, "users page")
		if !strings.Contains(page.body, step.flash) || !strings.Contains(page.body, step.pageButton) {
			t.Errorf("after allow=%s the page lacks %q or %q", step.allow, step.flash, step.pageButton)
		}
		visitor.mustStatus(visitor.get("/signup"), step.signup, "signup page after allow="+step.allow)
		if saved, _ := postgres.NewSettingStore(ue.db).Settings(ctx); saved[config.RegistrationAllowNewUsers] != step.saved {
			t.Errorf("saved %q, want %q", saved[config.RegistrationAllowNewUsers], step.saved)
		}
	}
	events := ue.audit.of(sesame.AuditRegistrationChanged)
	if len(events) != 3 || events[1].ActorID != adaUser.ID || events[1].ResourceID != config.RegistrationAllowNewUsers ||
		events[1].Payload["allow_new_users"] != true || events[2].Payload["allow_new_users"] != false {
		t.Errorf("registration events: %+v", events)
	}
	// Asking for what is already so changes nothing.
	ada.mustStatus(ada.post("/admin/users/signups", url.Values{"allow": {"false"}}), http.StatusSeeOther, "close again")
	if n := len(ue.audit.of(sesame.AuditRegistrationChanged)); n != 3 {
		t.Errorf("%d registration events after a no-op", n)
	}
	ada.mustStatus(ada.post("/admin/users/signups", url.Values{"allow": {"maybe"}}), http.StatusBadRequest, "bad value")
}

func TestSignupsLockedByTheEnvironment(t *testing.T) {
	ue := newUsersEnv(t, "ALLOW_USER_REGISTRATION=true")
	ada, _ := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	page := ada.mustStatus(ada.get("/admin/users"), http.StatusOK, "users page")
	if !strings.Contains(page.body, "Locked by the environment variable <code>ALLOW_USER_REGISTRATION</code>") ||
		strings.Contains(page.body, `action="/admin/users/signups"`) {
		t.Errorf("locked sign-ups are not shown locked:\n%s", snippet(page.body))
	}
	r := ada.mustStatus(ada.post("/admin/users/signups", url.Values{"allow": {"false"}}), http.StatusConflict, "crafted POST")
	if !strings.Contains(r.body, "set by the environment variable ALLOW_USER_REGISTRATION") {
		t.Errorf("refusal does not say why:\n%s", snippet(r.body))
	}
	if saved, _ := postgres.NewSettingStore(ue.db).Settings(context.Background()); saved[config.RegistrationAllowNewUsers] != "" {
		t.Errorf("saved %q despite the lock", saved[config.RegistrationAllowNewUsers])
	}
	ue.clientOf(t, ue.srv).mustStatus(ue.clientOf(t, ue.srv).get("/signup"), http.StatusOK, "signup stays open")
	if n := len(ue.audit.of(sesame.AuditRegistrationChanged)); n != 0 {
		t.Errorf("%d registration events", n)
	}
}

func TestSignInTracksSessionsAndTheSweepAuditsTheirEnd(t *testing.T) {
	ue := newUsersEnv(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	bob, bobUser := ue.user(t, "Bob", "bob@example.com", sesame.RoleUser)
	ue.signIn(t, "bob@example.com")

	summary, err := ue.users.UserSummary(ctx, bobUser.ID)
	if err != nil || summary.LastSignInAt.Before(before) {
		t.Errorf("last sign-in = %v, %v; want set now", summary.LastSignInAt, err)
	}
	created := ue.audit.of(sesame.AuditSessionCreated)
	if len(created) != 2 || created[0].ActorID != bobUser.ID || created[0].ResourceType != sesame.ResourceSession ||
		created[0].ResourceID == "" || created[0].ResourceID == created[1].ResourceID || created[0].Payload["user_id"] != bobUser.ID {
		t.Fatalf("session events: %+v", created)
	}
	// Nothing ended yet.
	if n, err := ue.app.SweepSessions(ctx); err != nil || n != 0 {
		t.Fatalf("SweepSessions = %d, %v; want 0", n, err)
	}

	// Signing out ends the first session (audited as a sign-out, not an expiry); the second expires.
	bob.mustStatus(bob.post("/logout", nil), http.StatusSeeOther, "logout")
	if len(ue.audit.of(sesame.AuditSignOut)) != 1 {
		t.Errorf("sign-out events: %+v", ue.audit.of(sesame.AuditSignOut))
	}
	if _, err := ue.db.Pool.Exec(ctx, `UPDATE sessions SET expiry = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if n, err := ue.app.SweepSessions(ctx); err != nil || n != 1 {
		t.Fatalf("SweepSessions = %d, %v; want 1 (the session signed out is not an expiry)", n, err)
	}
	expired := ue.audit.of(sesame.AuditSessionExpired)
	var ids []string
	for _, e := range expired {
		if e.ActorID != sesame.ActorSystem || e.ResourceType != sesame.ResourceSession || e.Payload["user_id"] != bobUser.ID {
			t.Errorf("expiry event %+v", e)
		}
		ids = append(ids, e.ResourceID)
	}
	if diff := cmp.Diff([]string{created[1].ResourceID}, ids); diff != "" {
		t.Errorf("expired sessions (-created +expired):\n%s", diff)
	}
	var left int
	ue.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM user_sessions)`).Scan(&left)
	if left != 0 {
		t.Errorf("%d session rows left after the sweep", left)
	}
	if n, _ := ue.app.SweepSessions(ctx); n != 0 {
		t.Errorf("second sweep found %d", n)
	}
}

// An admin may ban or delete themselves while another admin remains; they are signed out at once.
func TestAdminRemovesThemselves(t *testing.T) {
	ue := newUsersEnv(t)
	ada, adaUser := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	grace, graceUser := ue.user(t, "Grace", "grace@example.com", sesame.RoleAdmin)

	r := ada.mustStatus(ada.post("/admin/users/"+adaUser.ID+"/ban", nil), http.StatusOK, "ban self, unconfirmed")
	if !strings.Contains(r.body, "Ban yourself") {
		t.Errorf("self-ban confirmation:\n%s", snippet(r.body))
	}
	r = ada.mustStatus(ada.post("/admin/users/"+adaUser.ID+"/ban", confirm()), http.StatusSeeOther, "ban self")
	if r.location != "/login" || !ue.mustUser(t, adaUser.ID).Banned {
		t.Errorf("self-ban → %q", r.location)
	}
	if n := ue.liveSessions(t, adaUser.ID); n != 0 {
		t.Errorf("%d sessions left after banning yourself", n)
	}
	if r := ada.get("/admin/users"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("after banning herself: GET /admin/users %d → %q", r.status, r.location)
	}

	// Grace is now the only active admin: she cannot delete herself, but may delete Ada.
	grace.mustStatus(grace.post("/admin/users/"+graceUser.ID+"/delete", confirm()), http.StatusConflict, "delete the last admin")
	grace.mustStatus(grace.post("/admin/users/"+adaUser.ID+"/delete", confirm()), http.StatusSeeOther, "delete the banned admin")
	if _, err := ue.users.User(context.Background(), adaUser.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("banned admin not deleted: %v", err)
	}
}
