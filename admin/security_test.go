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
)

// TestSandboxSecuritySwitchWithinTheAdminDefault: when the admin default (sandbox.security.enabled,
// read live with the values admins saved) is on, the form cannot turn security off, not even with a
// crafted POST; when it is off, the user's choice is stored either way.
func TestSandboxSecuritySwitchWithinTheAdminDefault(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	e.connectGitHub(t, bobUser, "bobthebuilder", "write")
	settings := postgres.NewSettingStore(e.db)
	ctx := context.Background()

	tests := []struct {
		name     string
		saved    string   // the admin's saved sandbox.security.enabled; "" keeps what is saved (first: nothing, the built-in true)
		posted   []string // the form's sandbox field; nil leaves it out, as an unchecked box does
		want     bool
		formWant []string // what GET /tasks/new shows meanwhile
		formNot  []string
	}{
		{name: "default on, crafted post without the box", posted: nil, want: true,
			formWant: []string{`<input type="checkbox" name="sandbox" checked disabled>`, "Required by the administrator"},
			formNot:  []string{"without the file-system and network restrictions"}},
		{name: "default on, crafted post with another value", posted: []string{"off"}, want: true},
		{name: "default on, box on", posted: []string{"on"}, want: true},
		{name: "admin turns the default off, user leaves it off", saved: "false", posted: nil, want: false,
			formWant: []string{`<input type="checkbox" name="sandbox">`,
				"the agent then still runs isolated from the server and other tasks, but without the file-system and network restrictions."},
			formNot: []string{"disabled>", "Required by the administrator"}},
		{name: "default off, user turns it on", posted: []string{"on"}, want: true},
		{name: "admin turns the default on again", saved: "true", posted: nil, want: true,
			formWant: []string{"Required by the administrator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.saved != "" {
				if err := settings.SaveSetting(ctx, config.SandboxSecurityEnabled, tt.saved, "ada@example.com"); err != nil {
					t.Fatal(err)
				}
			}
			if tt.formWant != nil || tt.formNot != nil {
				form := bob.mustStatus(bob.get("/tasks/new"), http.StatusOK, "form")
				for _, w := range tt.formWant {
					if !strings.Contains(form.body, w) {
						t.Errorf("form lacks %q", w)
					}
				}
				for _, w := range tt.formNot {
					if strings.Contains(form.body, w) {
						t.Errorf("form shows %q", w)
					}
				}
			}
			f := url.Values{"nonce": {newNonce(t)}, "repo": {testRepo}, "agent": {"claude"}, "prompt": {"do it"}}
			if tt.posted != nil {
				f["sandbox"] = tt.posted
			}
			r := bob.mustStatus(bob.post("/tasks", f), http.StatusSeeOther, "submit")
			task, err := e.tasks.Task(ctx, strings.TrimPrefix(r.location, "/tasks/"))
			if err != nil {
				t.Fatal(err)
			}
			if task.SandboxSecurity == nil || *task.SandboxSecurity != tt.want {
				t.Errorf("stored SandboxSecurity = %v, want %v", fmtBool(task.SandboxSecurity), tt.want)
			}
			page := bob.mustStatus(bob.get(r.location), http.StatusOK, "task page")
			requested := "off (requested)"
			if tt.want {
				requested = "on (requested)"
			}
			if !strings.Contains(page.body, `<dd id="sandbox-security">`+requested+`</dd>`) {
				t.Errorf("task page before the sandbox starts lacks %q", requested)
			}
		})
	}

	// A refused form shows the switch as the admin default has it.
	r := bob.post("/tasks", url.Values{"nonce": {newNonce(t)}, "repo": {testRepo}, "agent": {"claude"}, "prompt": {" "}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `name="sandbox" checked disabled`) {
		t.Errorf("refused form: %d, switch not shown as required", r.status)
	}
}

func fmtBool(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "true"
	}
	return "false"
}

// taskWithSandbox stores a web task of user that asked for sandbox security or not (nil: the server's default).
func (e *env) taskWithSandbox(t *testing.T, userID, instruction string, security *bool) *sesame.Task {
	t.Helper()
	task, _, err := e.tasks.CreateTask(context.Background(), sesame.Request{Source: sesame.SourceWeb, DeliveryID: "web:" + instruction + userID,
		Kind: sesame.KindRun, Repo: testRepo, InstallationID: 9, Requester: "someone", Instruction: instruction, UserID: userID,
		SandboxSecurity: security})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// addEvent records an event the way the runner does.
func (e *env) addEvent(t *testing.T, ev sesame.TaskEvent) sesame.TaskEvent {
	t.Helper()
	stored, err := e.rec.Add(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func sandboxEvent(taskID string, security bool) sesame.TaskEvent {
	msg := "OS-level restrictions off"
	if security {
		msg = "OS-level restrictions on"
	}
	return sesame.TaskEvent{TaskID: taskID, Type: sesame.EventSandbox, Message: msg,
		Data: map[string]any{"provider": "local", "security": security, "allowed_domains": []string{"api.anthropic.com"}}}
}

func violationEvent(taskID string, v sesame.Violation) sesame.TaskEvent {
	return sesame.TaskEvent{TaskID: taskID, Type: sesame.EventViolation, Message: "blocked " + v.Access + " " + v.Target, Data: v.Data()}
}

var (
	networkViolation = sesame.Violation{Kind: sesame.ViolationNetwork, Target: "example.org:443", Access: "connect",
		Reason: "example.org is not on the allowlist"}
	fileViolation = sesame.Violation{Kind: sesame.ViolationFilesystem, Target: "/etc/shadow", Access: "read",
		Reason: "outside the folders the agent may read"}
)

// TestTaskPageShowsSandboxSecurity: the summary says what the task asked for until its sandbox
// starts, then what the sandbox event says; blocked actions are counted and each is its own row.
func TestTaskPageShowsSandboxSecurity(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	on, off := true, false
	ctx := context.Background()

	secured := e.taskWithSandbox(t, bobUser.ID, "secured", &on)
	open := e.taskWithSandbox(t, bobUser.ID, "open", &off)
	byDefault := e.taskWithSandbox(t, bobUser.ID, "by default", nil)
	for _, tt := range []struct {
		task *sesame.Task
		want string
	}{{secured, "on (requested)"}, {open, "off (requested)"}, {byDefault, "the server&#39;s default (requested)"}} {
		page := bob.mustStatus(bob.get("/tasks/"+tt.task.ID), http.StatusOK, "page of "+tt.task.Instruction)
		if !strings.Contains(page.body, `<dd id="sandbox-security">`+tt.want+`</dd>`) ||
			!strings.Contains(page.body, `<dd id="violations" data-count="0">none</dd>`) {
			t.Errorf("%s before its sandbox started: lacks %q or the empty count", tt.task.Instruction, tt.want)
		}
	}

	if err := e.rec.SetStatus(ctx, secured.ID, sesame.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	e.addEvent(t, sandboxEvent(secured.ID, true))
	e.addEvent(t, violationEvent(secured.ID, networkViolation))
	e.agentText(t, secured.ID, "trying something else")
	e.addEvent(t, violationEvent(secured.ID, fileViolation))
	page := bob.mustStatus(bob.get("/tasks/"+secured.ID), http.StatusOK, "secured task page")
	for _, want := range []string{
		`<dd id="sandbox-security">on — OS-level restrictions (file system, network allowlist) applied</dd>`,
		`<dd id="violations" data-count="2">2 blocked actions</dd>`,
		`<span class="label">Sesame</span> <span class="body">OS-level restrictions on · local sandbox</span>`,
		"allowed domains: api.anthropic.com",
		`<span class="label">Blocked</span> <span class="tag">network</span> <span class="body">connect example.org:443 — example.org is not on the allowlist</span>`,
		`<span class="label">Blocked</span> <span class="tag">filesystem</span> <span class="body">read /etc/shadow — outside the folders the agent may read</span>`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("secured task page lacks %q", want)
		}
	}
	if n := strings.Count(page.body, `class="event event-violation"`); n != 2 {
		t.Errorf("%d violation rows, want 2 (as warnings, not errors)", n)
	}
	if n := strings.Count(page.body, `class="event event-step"`); n != 1 {
		t.Errorf("%d step rows, want 1: the sandbox event", n)
	}

	e.addEvent(t, sandboxEvent(open.ID, false))
	if err := e.rec.SetStatus(ctx, open.ID, sesame.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	page = bob.mustStatus(bob.get("/tasks/"+open.ID), http.StatusOK, "open task page")
	if !strings.Contains(page.body, `<dd id="sandbox-security">off — the agent ran without OS-level restrictions</dd>`) ||
		!strings.Contains(page.body, `<dd id="violations" data-count="0">none (nothing is blocked with security off)</dd>`) {
		t.Errorf("task that ran without security:\n%s", snippet(page.body))
	}

	// A task asked on but run off (the sandbox could not apply it) says what happened, not what was asked.
	asked := e.taskWithSandbox(t, bobUser.ID, "asked", &on)
	e.addEvent(t, sandboxEvent(asked.ID, false))
	if page := bob.get("/tasks/" + asked.ID); !strings.Contains(page.body, "off — the agent ran without OS-level restrictions") {
		t.Error("the page shows what the task asked for rather than what its sandbox applied")
	}
}
