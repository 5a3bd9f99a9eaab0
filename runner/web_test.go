package runner_test

import (
	"context"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// A task from the web app: no permission check, no reaction, no comment; a pull request that names
// the requester in Sesame rather than an issue, and the result stored for the task's page.
func TestRunWebTask(t *testing.T) {
	h := newAgentHarness(t, typoFix()...)
	users := postgres.NewUserStore(h.db)
	h.runner.Users = users
	u, err := users.CreateUser(context.Background(), sesame.User{Email: "ann@example.com", Name: "Ann", Role: sesame.RoleUser, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	task := h.webTask(t, "Ann", u.ID, "fix the typo in README")
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusCompleted {
		t.Fatalf("task %s %q, want completed", got.Status, got.Reason)
	}
	prs := h.gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	pr := prs[0]
	if !strings.HasPrefix(pr.Head, "sesame/fix-the-typo-in-readme-") {
		t.Errorf("branch %q, want sesame/fix-the-typo-in-readme-…", pr.Head)
	}
	for _, want := range []string{"Requested by Ann in Sesame", "> fix the typo in README", "/tasks/" + task.ID} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	if strings.Contains(pr.Body, "Fixes") || strings.Contains(pr.Body, "#0") {
		t.Errorf("PR body points at an issue:\n%s", pr.Body)
	}
	msg := h.git(t, "log", "-1", "--format=%an <%ae>%n%B", pr.Head)
	if !strings.HasPrefix(msg, "Sesame Agent <agent@sesame.works>\n") || !strings.Contains(msg, "Requested by Ann in Sesame.") || strings.Contains(msg, "#0") {
		t.Errorf("commit (a user without a GitHub token) reads:\n%s", msg)
	}
	if got.Branch != pr.Head || got.PRNumber != pr.Number || got.PRURL == "" || got.InputTokens == 0 || got.OutputTokens == 0 {
		t.Errorf("stored result branch=%q pr=%d %q tokens=%d/%d, want the PR %s #%d and the tokens used",
			got.Branch, got.PRNumber, got.PRURL, got.InputTokens, got.OutputTokens, pr.Head, pr.Number)
	}
	if n := len(h.replies()); n != 0 {
		t.Errorf("%d comments posted for a web task", n)
	}
	for _, req := range h.gh.Requests() {
		if strings.Contains(req.Path, "/permission") || strings.Contains(req.Path, "/reactions") || strings.Contains(req.Path, "/comments") {
			t.Errorf("web task called GitHub %s %s", req.Method, req.Path)
		}
	}
	events, _ := h.store.Events(context.Background(), task.ID)
	var statuses []string
	opened := false
	for _, e := range events {
		if e.Type == "status" {
			statuses = append(statuses, e.Message)
		}
		opened = opened || e.Message == "pull request opened"
	}
	if strings.Join(statuses, ",") != "queued,preparing,running,pushing,completed" || !opened {
		t.Errorf("status events %v (pull request opened: %v)", statuses, opened)
	}
}
