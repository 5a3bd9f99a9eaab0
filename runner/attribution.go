package runner

import (
	"context"
	"log/slog"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/gitops"
)

// Users finds whom a task's commits are attributed to. sesame.UserStore has it.
type Users interface {
	// CommitLogin returns the GitHub login of the user with userID when they connected a GitHub
	// token, else that of a user who connected one as githubLogin; "" when neither.
	CommitLogin(ctx context.Context, userID, githubLogin string) (string, error)
}

var _ Users = sesame.UserStore(nil)

// agentSignature signs the commits of a task whose requester has no GitHub identity in Sesame.
var agentSignature = gitops.Signature{Name: "Sesame Agent", Email: "agent@sesame.works"}

// signature is the author and committer of t's commit: the requester's GitHub identity when they
// connected a token to Sesame, else the Sesame Agent. A lookup that fails is logged and falls back.
func (r *Runner) signature(ctx context.Context, t *sesame.Task, log *slog.Logger) gitops.Signature {
	if r.Users == nil {
		return agentSignature
	}
	login, err := r.Users.CommitLogin(ctx, t.UserID, r.describe(t).GitHubLogin)
	if err != nil {
		log.Warn("look up commit author; committing as the Sesame Agent", "err", err)
		return agentSignature
	}
	if login == "" {
		return agentSignature
	}
	return gitops.Signature{Name: login, Email: login + "@users.noreply.github.com"}
}
