package admin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// sampleEvents has one event of every kind the task page shows.
func sampleEvents() []sesame.TaskEvent {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	long := strings.Repeat("line of output\n", 40)
	return []sesame.TaskEvent{
		{ID: 1, Type: "status", Message: "queued", Data: map[string]any{"status": "queued"}, CreatedAt: at},
		{ID: 2, Type: "step", Message: "workspace ready", Data: map[string]any{"branch": "sesame/fix-1a2b3c"}, CreatedAt: at},
		{ID: 3, Type: "agent", Message: "", Data: map[string]any{"kind": "system", "model": "claude-sonnet-4-5"}, CreatedAt: at},
		{ID: 4, Type: "agent", Message: "I'll fix the typo.", Data: map[string]any{"kind": "text"}, CreatedAt: at},
		{ID: 5, Type: "agent", Message: "Bash", Data: map[string]any{"kind": "tool_call", "tool": "Bash", "tool_id": "t1",
			"input": map[string]any{"command": "ls -la", "description": "list files"}}, CreatedAt: at},
		{ID: 6, Type: "agent", Message: "", Data: map[string]any{"kind": "tool_result", "tool_id": "t1", "output": long}, CreatedAt: at},
		{ID: 7, Type: "agent", Message: "", Data: map[string]any{"kind": "tool_result", "tool_id": "t2", "output": "permission denied", "is_error": true}, CreatedAt: at},
		{ID: 8, Type: "agent", Message: "model overloaded", Data: map[string]any{"kind": "error"}, CreatedAt: at},
		{ID: 9, Type: "agent", Message: "Fixed.", Data: map[string]any{"kind": "result", "usage": map[string]any{"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.01}}, CreatedAt: at},
		{ID: 10, Type: "reply", Message: "progress comment posted", Data: map[string]any{"comment_id": 7}, CreatedAt: at},
		{ID: 11, Type: "step", Message: "pull request opened", Data: map[string]any{"url": "https://github.com/o/r/pull/2", "number": 2}, CreatedAt: at},
		{ID: 12, Type: "status", Message: "failed", Data: map[string]any{"status": "failed", "reason": "<script>alert(1)</script>"}, CreatedAt: at},
		{ID: 13, Type: sesame.EventSandbox, Message: "OS-level restrictions on", Data: map[string]any{"provider": "local", "security": true,
			"allowed_domains": []any{"api.anthropic.com", "*.github.com"}}, CreatedAt: at},
		{ID: 14, Type: sesame.EventViolation, Message: "blocked connect example.org:443", Data: sesame.Violation{Kind: sesame.ViolationNetwork,
			Target: "example.org:443", Access: "connect", Reason: "example.org is not on the allowlist"}.Data(), CreatedAt: at},
		{ID: 15, Type: sesame.EventViolation, Message: "blocked read /etc/shadow", Data: sesame.Violation{Kind: sesame.ViolationFilesystem,
			Target: "/etc/shadow", Access: "read", Reason: "outside the <workspace>"}.Data(), CreatedAt: at},
	}
}

// TestEveryTemplateExecutes renders every page with data that exercises its branches, and checks that
// user text is escaped.
func TestEveryTemplateExecutes(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	sandbox := true
	task := &sesame.Task{ID: "0192", Request: sesame.Request{Source: sesame.SourceWeb, Kind: sesame.KindRun, Repo: "o/r",
		Requester: "ada", Instruction: "Fix <b>the</b> typo\nin README", UserID: "u1", SandboxSecurity: &sandbox},
		Status: sesame.StatusCompleted, Branch: "sesame/fix", PRNumber: 2, PRURL: "https://github.com/o/r/pull/2",
		InputTokens: 10, OutputTokens: 5, CostUSD: 0.01, CreatedAt: time.Now(), StartedAt: time.Now().Add(-time.Minute), FinishedAt: time.Now()}
	running := *task
	running.Status, running.StopRequestedBy, running.PRURL = sesame.StatusRunning, "Ada", ""
	var evs []eventView
	for _, e := range sampleEvents() {
		evs = append(evs, viewEvent(e))
	}
	user := &sesame.User{ID: "u1", Name: "Ada <Lovelace>", Role: sesame.RoleAdmin}
	tests := []struct {
		name, page string
		data       any
		want       []string
	}{
		{"setup", "setup", accountForm{Error: "Enter your name."}, []string{"Create the admin account", "Enter your name."}},
		{"login", "login", loginView{Email: "a@b.c", SignupOpen: true, Error: "nope"}, []string{`href="/signup"`, "nope"}},
		{"login closed", "login", loginView{}, []string{"Accounts are created by an admin"}},
		{"signup", "signup", accountForm{Name: "x"}, []string{"Create account"}},
		{"signup closed", "signup_closed", nil, []string{"Sign-ups are closed"}},
		{"login unconfirmed", "login", loginView{loginEmail: loginEmail{Confirm: &loginConfirm{Email: "a@b.c", Resend: true}, CanReset: true}},
			[]string{`action="/verify/resend"`, `value="a@b.c"`, `href="/password/forgot"`}},
		{"forgot", "password_forgot", forgotView{Email: "a@b.c", Error: "slow down", Mail: mailStatus{Ready: true}},
			[]string{`action="/password/forgot"`, "slow down", `value="a@b.c"`}},
		{"forgot without email", "password_forgot", forgotView{}, []string{"cannot send email"}},
		{"reset form", "email_link", linkView{Purpose: sesame.EmailPasswordReset, Token: "tok", Email: "a@b.c", Error: "too short"},
			[]string{`action="/password/reset"`, `value="tok"`, "too short", "a@b.c"}},
		{"reset gone", "email_link", linkView{Purpose: sesame.EmailPasswordReset, Gone: "This link has expired"},
			[]string{"This link has expired", `href="/password/forgot"`}},
		{"confirm", "email_link", linkView{Purpose: sesame.EmailVerify, Token: "tok", Email: "a@b.c"},
			[]string{`action="/verify"`, `value="tok"`, "Confirm a@b.c"}},
		{"confirm gone", "email_link", linkView{Purpose: sesame.EmailVerify, Gone: "This link was used already"},
			[]string{"This link was used already"}},
		{"tasks", "tasks", taskListView{Tasks: []*sesame.Task{task, &running}, AllUsers: true}, []string{"Fix &lt;b&gt;the&lt;/b&gt; typo …", "#2", "every task", "Web · ada"}},
		{"tasks empty", "tasks", taskListView{}, []string{"No tasks yet"}},
		{"new task", "task_new", taskFormView{Repos: []sesame.RepoRef{{FullName: "o/r", InstallationID: 1, Private: true}}, Agents: []agentChoice{{"claude", "Claude Code"}, {"codex", "Codex"}},
			Agent: "codex", Repo: "o/r", Nonce: "n", Sandbox: true, Error: "Say what the agent should do."}, []string{`<option value="o/r" selected>o/r (private)</option>`, `<option value="codex" selected>Codex</option>`, "Say what the agent should do."}},
		{"new task without repos", "task_new", taskFormView{ReposErr: "No GitHub App is configured"}, []string{"No GitHub App is configured", "disabled"}},
		{"new task by access", "task_new", taskFormView{Repos: []sesame.RepoRef{{FullName: "o/w"}}, ByAccess: true,
			Unavailable: []repoNote{{Repo: "o/r", Reason: "@ada has read access to o/r; starting a task there takes write access."}}},
			[]string{"your GitHub account can write", "1 repository is not offered", "@ada has read access to o/r"}},
		{"new task without a GitHub login", "task_new", taskFormView{ReposErr: "Connect your GitHub account in Settings", ConnectGitHub: true},
			[]string{"Connect your GitHub account in Settings", `<a href="/settings">Open Settings</a>`, "disabled"}},
		{"new task security required", "task_new", taskFormView{Sandbox: true, SandboxRequired: true},
			[]string{`<input type="checkbox" name="sandbox" checked disabled>`, "Required by the administrator"}},
		{"new task security optional", "task_new", taskFormView{},
			[]string{`<input type="checkbox" name="sandbox">`, "still runs isolated from the server and other tasks, but without the file-system and network restrictions"}},
		{"task ended", "task", taskView{Task: task, Security: taskSecurity{Line: securityOn, Violations: 2}, Events: evs, LastID: 15},
			[]string{"#2 https://github.com/o/r/pull/2", "show 600 bytes", "&lt;script&gt;", "1m0s", securityOn, ">2 blocked actions<",
				`<span class="label">Blocked</span> <span class="tag">network</span> <span class="body">connect example.org:443 — example.org is not on the allowlist</span>`,
				`<span class="tag">filesystem</span>`, "outside the &lt;workspace&gt;", "allowed domains: api.anthropic.com, *.github.com"}},
		{"task running", "task", taskView{Task: &running, Security: taskSecurity{Line: requestedOff}, Events: evs[:3], LastID: 3, Live: true},
			[]string{"Stop requested by Ada", "/static/task.js", `data-after="3"`, "off (requested)", `data-count="0">none<`}},
		{"task stoppable", "task", taskView{Task: &running, Live: true, CanStop: true}, []string{`action="/tasks/0192/stop"`}},
		{"settings connected", "settings", settingsView{GitHubLogin: "ada", Last4: "f00d", CanConnect: true}, []string{"@ada", "f00d", "Remove token"}},
		{"settings no github", "settings", settingsView{Error: "bad token"}, []string{"cannot check GitHub tokens", "bad token"}},
		{"error", "error", "There is no page at this address.", []string{"There is no page"}},
		{"slack link", "slack_link", slackLinkView{Link: &sesame.SlackLinkRequest{TeamID: "T1", SlackUser: "U1", SlackName: "<b>the</b>", ExpiresAt: time.Now()},
			Token: "tok", User: user}, []string{`action="/slack/link/tok"`, "@&lt;b&gt;the&lt;/b&gt;", "if someone sent you this link, do not"}},
		{"github manifest", "github_manifest", manifestView{Action: "https://github.com/settings/apps/new?state=s1", Manifest: `{"name":"<b>the</b> app"}`,
			WebURL: "https://github.com", Owner: "your personal account", Name: "Sesame x"},
			[]string{`action="https://github.com/settings/apps/new?state=s1"`, `name="manifest" value="{&#34;name&#34;:&#34;&lt;b&gt;the&lt;/b&gt; app&#34;}"`,
				"/static/autosubmit.js", "Continue to GitHub"}},
		{"slack linked", "slack_link", slackLinkView{Link: &sesame.SlackLinkRequest{SlackName: "bobby"}, User: user, Done: true},
			[]string{"Slack account linked", "@bobby"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			v := view{Title: "T", User: user, Flash: "hello", Path: "/tasks", Data: tt.data}
			if err := p.byName[tt.page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range append(tt.want, "Ada &lt;Lovelace&gt;", "hello") {
				if !strings.Contains(out, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(out, "<script>alert") || strings.Contains(out, "<b>the</b>") {
				t.Error("user text is not escaped")
			}
		})
	}
	for name := range p.byName {
		if strings.HasPrefix(name, "admin_") {
			continue // the admin section's pages are rendered by their own tests
		}
		found := false
		for _, tt := range tests {
			found = found || tt.page == name
		}
		if !found {
			t.Errorf("page %s is not rendered by this test", name)
		}
	}
}

func TestEventViews(t *testing.T) {
	evs := sampleEvents()
	got := map[int64]eventView{}
	for _, e := range evs {
		got[e.ID] = viewEvent(e)
	}
	if v := got[5]; v.Title != "Bash" || v.Body != "ls -la" || !strings.Contains(v.Detail, `"description": "list files"`) {
		t.Errorf("tool call view = %+v", v)
	}
	if v := got[6]; !v.Long || v.Kind != "tool_result" {
		t.Errorf("long tool result not collapsed: %+v", v)
	}
	if v := got[7]; !v.IsError || v.Long || v.Title != "Error" {
		t.Errorf("error result view = %+v", v)
	}
	if v := got[11]; v.Link != "https://github.com/o/r/pull/2" {
		t.Errorf("pull request step has no link: %+v", v)
	}
	if v := got[12]; !v.IsError || !strings.Contains(v.Body, "failed — <script>") {
		t.Errorf("failed status view = %+v", v)
	}
	if v := got[13]; v.Kind != "step" || v.Title != "Sesame" || v.Body != "OS-level restrictions on · local sandbox" ||
		v.Detail != "allowed domains: api.anthropic.com, *.github.com" {
		t.Errorf("sandbox view = %+v", v)
	}
	if v := got[14]; v.Kind != "violation" || v.Title != "Blocked" || v.Tag != "network" || v.IsError ||
		v.Body != "connect example.org:443 — example.org is not on the allowlist" {
		t.Errorf("network violation view = %+v", v)
	}
	if v := got[15]; v.Tag != "filesystem" || v.Body != "read /etc/shadow — outside the <workspace>" {
		t.Errorf("file-system violation view = %+v", v)
	}
	// A violation whose data is missing still says what was blocked.
	if v := viewEvent(sesame.TaskEvent{Type: sesame.EventViolation, Message: "blocked connect a.b:1"}); v.Body != "blocked connect a.b:1" {
		t.Errorf("violation without data = %+v", v)
	}
}

func TestSecurityOf(t *testing.T) {
	on, off := true, false
	sandbox := func(security bool) sesame.TaskEvent {
		return sesame.TaskEvent{Type: sesame.EventSandbox, Data: map[string]any{"provider": "local", "security": security}}
	}
	violation := sesame.TaskEvent{Type: sesame.EventViolation, Message: "blocked read /etc/shadow"}
	agent := sesame.TaskEvent{Type: sesame.EventAgent, Data: map[string]any{"kind": "text"}}
	tests := []struct {
		name      string
		kind      sesame.TaskKind
		requested *bool
		events    []sesame.TaskEvent
		want      taskSecurity
	}{
		{"server default, not started", sesame.KindRun, nil, nil, taskSecurity{Line: requestedDefault}},
		{"on, not started", sesame.KindRun, &on, []sesame.TaskEvent{agent}, taskSecurity{Line: requestedOn}},
		{"off, not started", sesame.KindRun, &off, nil, taskSecurity{Line: requestedOff}},
		{"on, applied", sesame.KindRun, &on, []sesame.TaskEvent{sandbox(true), violation, agent, violation}, taskSecurity{Line: securityOn, Violations: 2}},
		{"asked on, ran off", sesame.KindRun, &on, []sesame.TaskEvent{sandbox(false)}, taskSecurity{Line: securityOff, RanOff: true}},
		{"server default, applied", sesame.KindRun, nil, []sesame.TaskEvent{sandbox(true)}, taskSecurity{Line: securityOn}},
		{"the last sandbox counts", sesame.KindRun, nil, []sesame.TaskEvent{sandbox(false), sandbox(true)}, taskSecurity{Line: securityOn}},
		{"the last sandbox counts, off", sesame.KindRun, nil, []sesame.TaskEvent{sandbox(true), sandbox(false)}, taskSecurity{Line: securityOff, RanOff: true}},
		{"message without data", sesame.KindRun, nil, []sesame.TaskEvent{{Type: sesame.EventSandbox, Message: "OS-level restrictions on"}}, taskSecurity{Line: securityOn}},
		{"no agent runs", sesame.KindHelp, nil, nil, taskSecurity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &sesame.Task{Request: sesame.Request{Kind: tt.kind, SandboxSecurity: tt.requested}}
			if got := securityOf(task, tt.events); got != tt.want {
				t.Errorf("securityOf = %+v, want %+v", got, tt.want)
			}
		})
	}
	for n, want := range map[int]string{0: "none", 1: "1 blocked action", 2: "2 blocked actions", 12: "12 blocked actions"} {
		if got := blockedActions(n); got != want {
			t.Errorf("blockedActions(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFrameCacheRendersOnceAndEvicts(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := newFrameCache(2)
	e := sampleEvents()[4]
	f1 := c.frame(e, p)
	if !bytes.HasPrefix(f1, []byte("id: 5\nevent: task\ndata: {")) || !bytes.HasSuffix(f1, []byte("}\n\n")) || bytes.Count(f1, []byte("\n")) != 4 {
		t.Fatalf("frame = %q", f1)
	}
	if f2 := c.frame(e, p); &f2[0] != &f1[0] {
		t.Error("the same event was rendered twice")
	}
	c.frame(sampleEvents()[0], p)
	c.frame(sampleEvents()[1], p)
	if len(c.frames) != 2 {
		t.Errorf("cache holds %d frames, want 2", len(c.frames))
	}
	if _, ok := c.frames[5]; ok {
		t.Error("the oldest frame was not evicted")
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %s", h)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}} {
		ok, err := checkPassword(h, tt.pw)
		if err != nil || ok != tt.want {
			t.Errorf("checkPassword(%q) = %v, %v", tt.pw, ok, err)
		}
	}
	if h2, _ := hashPassword("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	if _, err := checkPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("an unknown format was accepted")
	}
}
