package admin_test

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
)

// TestTaskFormChecksTheModelAsACommentDoes: the form refuses the model names a /sesame comment's
// --model refuses, with the same reason, and stores nothing; it lets through the names a comment
// accepts.
func TestTaskFormChecksTheModelAsACommentDoes(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, _ := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	post := func(model, prompt string) response {
		t.Helper()
		return bob.post("/tasks", url.Values{"nonce": {newNonce(t)}, "repo": {testRepo}, "agent": {"claude"},
			"model": {model}, "prompt": {prompt}})
	}

	for _, model := range []string{"-x", "--help", "x;rm", "x;rm -rf /", "$(id)", "gpt 5", "gpt\x005", "cl\u0430ude",
		"gpt\u202e5", "/etc/passwd", strings.Repeat("m", 201)} {
		reason := sesame.CheckModel(model)
		if reason == nil {
			t.Fatalf("CheckModel(%q) = nil; this test needs a model it refuses", model)
		}
		// A comment gets the same reason, but for a NUL, which no comment may hold anywhere.
		want := reason.Error()
		if strings.ContainsRune(model, 0) {
			want = "the comment contains an invisible control character (U+0000); remove it and post the command again"
		}
		if _, _, err := command.Parse("/sesame fix it --model='" + model + "'"); err == nil || err.Error() != want {
			t.Errorf("Parse of --model=%q: %v, want the usage error %q", model, err, want)
		}
		r := post(model, "do it")
		msg := reason.Error()
		want = template.HTMLEscapeString(strings.ToUpper(msg[:1]) + msg[1:] + ". Leave it empty for the agent's default.")
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, want) {
			t.Errorf("model %q: status %d, want %d with %q in:\n%s", model, r.status, http.StatusUnprocessableEntity, want, snippet(r.body))
		}
	}
	if list, err := e.tasks.ListTasks(context.Background(), sesame.TaskFilter{}); err != nil || len(list) != 0 {
		t.Errorf("%d tasks (%v) after refused models, want none", len(list), err)
	}
	if keys, err := e.rdb.Keys(context.Background(), "asynq:*:t:*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("jobs on the queue after refused models: %v (%v)", keys, err)
	}

	// Real names pass the model check: the form stops at the next one, the empty prompt.
	for _, model := range []string{"", "claude-sonnet-4-5", "sonnet[1m]", "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
		"claude-3-5-sonnet-v2@20241022", "openrouter/anthropic/claude-3.5-sonnet"} {
		r := post(model, "")
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Say what the agent should do.") ||
			strings.Contains(r.body, "model name") {
			t.Errorf("model %q: status %d; want the empty prompt refused, not the model:\n%s", model, r.status, snippet(r.body))
		}
	}
}
