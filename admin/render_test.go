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
		{"tasks", "tasks", taskListView{Tasks: []*sesame.Task{task, &running}, AllUsers: true}, []string{"Fix &lt;b&gt;the&lt;/b&gt; typo …", "#2", "every task", "Web · ada"}},
		{"tasks empty", "tasks", taskListView{}, []string{"No tasks yet"}},
		{"new task", "task_new", taskFormView{Repos: []sesame.RepoRef{{FullName: "o/r", InstallationID: 1, Private: true}}, Agents: []string{"claude", "codex"},
			Agent: "codex", Repo: "o/r", Nonce: "n", Sandbox: true, Error: "Say what the agent should do."}, []string{`<option value="o/r" selected>o/r (private)</option>`, `<option value="codex" selected>`, "Say what the agent should do."}},
		{"new task without repos", "task_new", taskFormView{ReposErr: "No GitHub App is configured"}, []string{"No GitHub App is configured", "disabled"}},
		{"task ended", "task", taskView{Task: task, Events: evs, LastID: 12}, []string{"#2 https://github.com/o/r/pull/2", "show 600 bytes", "&lt;script&gt;", "1m0s"}},
		{"task running", "task", taskView{Task: &running, Events: evs[:3], LastID: 3, Live: true}, []string{"Stop requested by Ada", "/static/task.js", `data-after="3"`}},
		{"task stoppable", "task", taskView{Task: &running, Live: true, CanStop: true}, []string{`action="/tasks/0192/stop"`}},
		{"settings connected", "settings", settingsView{GitHubLogin: "ada", Last4: "f00d", CanConnect: true}, []string{"@ada", "f00d", "Remove token"}},
		{"settings no github", "settings", settingsView{Error: "bad token"}, []string{"cannot check GitHub tokens", "bad token"}},
		{"error", "error", "There is no page at this address.", []string{"There is no page"}},
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
	for _, name := range pageNames {
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

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"": "/tasks", "/tasks/1": "/tasks/1", "//evil.example": "/tasks",
		"https://evil.example": "/tasks", "/\\evil.example": "/tasks"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
