package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// A task's commit is authored by the GitHub identity its requester connected to Sesame: the web user's
// own, or that of the Sesame user who connected the GitHub commenter's login.
func TestCommitAttribution(t *testing.T) {
	const dev = "octo-dev <octo-dev@users.noreply.github.com>"
	for _, tc := range []struct {
		name   string
		task   func(h *agentHarness, userID string) *sesame.Task
		broken bool // the user lookup fails
		want   string
	}{
		{name: "web user", want: dev, task: func(h *agentHarness, userID string) *sesame.Task {
			return h.webTask(t, "Ann", userID, "fix the typo in README")
		}},
		{name: "github commenter", want: dev, task: func(h *agentHarness, _ string) *sesame.Task {
			h.gh.SetPermission(repo, "Octo-Dev", "write")
			return h.task(t, "Octo-Dev", sesame.KindRun, "fix the typo in README")
		}},
		{name: "lookup fails", broken: true, want: "Sesame Agent <agent@sesame.works>", task: func(h *agentHarness, userID string) *sesame.Task {
			return h.webTask(t, "Ann", userID, "fix the typo in README")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newAgentHarness(t, typoFix()...)
			users := postgres.NewUserStore(h.db)
			h.runner.Users = users
			if tc.broken {
				h.runner.Users = brokenUsers{}
			}
			ctx := context.Background()
			u, err := users.CreateUser(ctx, sesame.User{Email: "ann@example.com", Name: "Ann", Role: sesame.RoleUser, PasswordHash: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if err := users.SetGitHubToken(ctx, u.ID, sesame.GitHubToken{Login: "octo-dev", Sealed: []byte("sealed"), Last4: "abcd"}); err != nil {
				t.Fatal(err)
			}
			task := tc.task(h, u.ID)
			if err := h.runner.Run(ctx, task.ID); err != nil {
				t.Fatal(err)
			}
			if got := h.reload(t, task.ID); got.Status != sesame.StatusCompleted || got.Branch == "" {
				t.Fatalf("task %s %q, branch %q; want completed", got.Status, got.Reason, got.Branch)
			}
			who := h.git(t, "log", "-1", "--format=%an <%ae>|%cn <%ce>", h.reload(t, task.ID).Branch)
			if strings.TrimSpace(who) != tc.want+"|"+tc.want {
				t.Errorf("author|committer = %q, want %s for both", strings.TrimSpace(who), tc.want)
			}
		})
	}
}

type brokenUsers struct{}

func (brokenUsers) CommitLogin(context.Context, string, string) (string, error) {
	return "", errors.New("database is down")
}
