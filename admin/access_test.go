package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
)

// TestWebTasksNeedWriteAccess: the form offers a user only the repositories their connected GitHub
// login can write to (an admin every one), says why the others are not offered, and a POST is
// checked with GitHub again, so a forged or stale form stores nothing.
func TestWebTasksNeedWriteAccess(t *testing.T) {
	e := newEnv(t)
	e.gh.AddInstallation(9, "octo/docs", "octo/infra")
	adminBrowser := e.setUp(t)
	carol, _ := e.addUser(t, "Carol", "carol@example.com", sesame.RoleUser) // no GitHub login
	dave, daveUser := e.addUser(t, "Dave", "dave@example.com", sesame.RoleUser)
	e.connectGitHub(t, daveUser, "dave-gh", "read")
	erin, erinUser := e.addUser(t, "Erin", "erin@example.com", sesame.RoleUser)
	e.connectGitHub(t, erinUser, "erin-gh", "write")
	e.gh.SetPermission("octo/docs", "erin-gh", "maintain")
	e.gh.SetPermission("octo/infra", "erin-gh", "triage")

	option := func(repo string) string { return `<option value="` + repo + `"` }
	forms := []struct {
		name     string
		c        *client
		want     []string
		wantNot  []string
		disabled bool
	}{
		{name: "admin", c: adminBrowser,
			want:    []string{option(testRepo), option("octo/docs"), option("octo/infra")},
			wantNot: []string{"not offered", "can write (admin, maintain or write)"}},
		{name: "no GitHub login", c: carol, disabled: true,
			want:    []string{"Connect your GitHub account in Settings to start tasks on repositories you can write to.", `<a href="/settings">`},
			wantNot: []string{"<option value=\"octo/"}},
		{name: "read access", c: dave, disabled: true,
			want: []string{"@dave-gh cannot write to any repository", "3 repositories are not offered",
				"@dave-gh has read access to octo/hello", "@dave-gh has no access to octo/docs"},
			wantNot: []string{"<option value=\"octo/"}},
		{name: "write access", c: erin,
			want: []string{option(testRepo), option("octo/docs"), "your GitHub account can write", "1 repository is not offered",
				"@erin-gh has triage access to octo/infra; starting a task there takes write access."},
			wantNot: []string{option("octo/infra")}},
	}
	for _, f := range forms {
		t.Run("form/"+f.name, func(t *testing.T) {
			page := f.c.mustStatus(f.c.get("/tasks/new"), http.StatusOK, "form")
			for _, w := range f.want {
				if !strings.Contains(page.body, w) {
					t.Errorf("form lacks %q", w)
				}
			}
			for _, w := range f.wantNot {
				if strings.Contains(page.body, w) {
					t.Errorf("form shows %q", w)
				}
			}
			if got := strings.Contains(page.body, `<button type="submit" disabled>Start task</button>`); got != f.disabled {
				t.Errorf("start button disabled = %v, want %v", got, f.disabled)
			}
		})
	}

	// A stale form: erin was offered octo/docs; her role there drops before she submits.
	e.gh.SetPermission("octo/docs", "erin-gh", "read")
	submit := func(repo string) url.Values {
		return url.Values{"nonce": {newNonce(t)}, "repo": {repo}, "agent": {"claude"}, "prompt": {"Fix the typo"}}
	}
	posts := []struct {
		name   string
		c      *client
		repo   string
		status int
		want   string
	}{
		{"admin on any repository", adminBrowser, "octo/infra", http.StatusSeeOther, ""},
		{"writer", erin, testRepo, http.StatusSeeOther, ""},
		{"forged: triage", erin, "octo/infra", http.StatusForbidden, "@erin-gh has triage access to octo/infra; starting a task there takes write access."},
		{"stale form: write taken away", erin, "octo/docs", http.StatusForbidden, "@erin-gh has read access to octo/docs"},
		{"forged: read", dave, testRepo, http.StatusForbidden, "@dave-gh has read access to octo/hello"},
		{"forged: no login", carol, testRepo, http.StatusForbidden, "Connect your GitHub account in Settings"},
		{"forged: a repository the App does not reach", erin, "octo/secret", http.StatusUnprocessableEntity, "Choose one of the repositories"},
	}
	for _, p := range posts {
		t.Run("post/"+p.name, func(t *testing.T) {
			r := p.c.post("/tasks", submit(p.repo))
			if r.status != p.status || !strings.Contains(r.body, p.want) {
				t.Fatalf("status %d, want %d with %q; location %q\n%s", r.status, p.status, p.want, r.location, snippet(r.body))
			}
		})
	}
	list, err := e.tasks.ListTasks(context.Background(), sesame.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, task := range list {
		got[task.Repo] = task.Requester
	}
	if len(list) != 2 || got["octo/infra"] != "Ada Admin" || got[testRepo] != "erin-gh" {
		t.Errorf("stored tasks (repo → requester) = %v, want only the admin's on octo/infra and erin's on octo/hello", got)
	}
	if n, _ := e.rdb.Keys(context.Background(), "asynq:{default}:t:*").Result(); len(n) != 2 {
		t.Errorf("%d jobs queued, want 2", len(n))
	}
}

// TestOnlyAdminsStartTasksWithoutPermissionChecks: a server that cannot check GitHub roles lets only
// admins start tasks, and says so.
func TestOnlyAdminsStartTasksWithoutPermissionChecks(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	_, erinUser := e.addUser(t, "Erin", "erin@example.com", sesame.RoleUser)
	e.connectGitHub(t, erinUser, "erin-gh", "write")
	srv := e.serve(t, func(o *admin.Options) { o.Permissions = nil })

	erin := e.clientOf(t, srv)
	erin.mustStatus(erin.post("/login", url.Values{"email": {"erin@example.com"}, "password": {password}}), http.StatusSeeOther, "erin signs in")
	form := erin.mustStatus(erin.get("/tasks/new"), http.StatusOK, "erin's form")
	if !strings.Contains(form.body, "Only admins can start tasks on this server") || strings.Contains(form.body, `<option value="octo/hello"`) {
		t.Errorf("erin's form:\n%s", snippet(form.body))
	}
	r := erin.post("/tasks", url.Values{"nonce": {newNonce(t)}, "repo": {testRepo}, "agent": {"claude"}, "prompt": {"do it"}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Only admins can start tasks") {
		t.Errorf("erin's POST: %d", r.status)
	}

	ada := e.clientOf(t, srv)
	ada.mustStatus(ada.post("/login", url.Values{"email": {"ada@example.com"}, "password": {password}}), http.StatusSeeOther, "ada signs in")
	ada.mustStatus(ada.post("/tasks", url.Values{"nonce": {newNonce(t)}, "repo": {testRepo}, "agent": {"claude"}, "prompt": {"do it"}}),
		http.StatusSeeOther, "the admin's task")
	if list, _ := e.tasks.ListTasks(context.Background(), sesame.TaskFilter{}); len(list) != 1 || list[0].Requester != "Ada Admin" {
		t.Errorf("stored tasks: %d, want only the admin's", len(list))
	}
}
