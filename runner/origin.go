package runner

import (
	"context"

	sesame "github.com/sesame-works/sesame"
)

// Origin is the place a task's request came from (a GitHub comment, a Slack command, the web app).
// It decides whether the requester may run the task and tells them how it goes, in its own words:
// the runner knows no origin's vocabulary. The runner calls it from the task's goroutine; the same
// Origin serves many tasks at once.
type Origin interface {
	// Describe says who asked for t and where, for the prompt, the commit and the pull request.
	Describe(t *sesame.Task) sesame.RequestDescription
	// Authorize reports whether t's requester may run it. When not, the origin has told the
	// requester why, and reason says it for the task's record.
	Authorize(ctx context.Context, t *sesame.Task) (ok bool, reason string, err error)
	// Acknowledge tells the requester the task was taken. It may be called again for the same
	// task (a retried job) and must then not say it twice. After Queued, it turns the reply that
	// said the task waits into the acknowledgement.
	Acknowledge(ctx context.Context, t *sesame.Task) error
	// Queued tells the requester that t waits in its thread's line at place: behind the task
	// place.Behind, with place.Position tasks before it. It is called again as the line moves, and
	// must then say the new place in the same reply. Only tasks on an issue or pull request wait.
	Queued(ctx context.Context, t *sesame.Task, place sesame.LinePlace) error
	// Progress tells the requester where the task is now. It is called often (each status, each
	// step of the agent): the origin coalesces, and failures are its own to log.
	Progress(ctx context.Context, t *sesame.Task, p sesame.TaskProgress)
	// Finish tells the requester how the task ended; for a help or usage task (t.Kind), it answers
	// the command, and for status, stop and retry it posts rep.Text, the runner's answer in markdown.
	// With OnlyIfSilent it says nothing when the requester already heard of the task.
	Finish(ctx context.Context, t *sesame.Task, rep sesame.TaskReport) error
}

// CodeHost is where the task's repository lives: it serves the repository, a token to fetch and
// push it, and pull requests.
type CodeHost interface {
	// Repository returns where to clone repo from and its default branch.
	Repository(ctx context.Context, installationID int64, repo string) (sesame.Repository, error)
	// GitToken returns a token that may fetch and push repo's contents. It is used by the runner only.
	GitToken(ctx context.Context, installationID int64) (string, error)
	// CreatePullRequest opens a pull request and returns its number and web URL.
	CreatePullRequest(ctx context.Context, installationID int64, repo string, pr sesame.PullRequest) (int, string, error)
	// FindPullRequest returns the pull request from the branch head of repo, or 0 and "" when none.
	FindPullRequest(ctx context.Context, installationID int64, repo, head string) (int, string, error)
	// PullRequest returns pull request number of repo: its branch, where that branch lives, its text.
	PullRequest(ctx context.Context, installationID int64, repo string, number int) (sesame.PullRequestInfo, error)
	// Conversation returns the comments of issue or pull request number of repo, oldest first: at
	// most the latest 100.
	Conversation(ctx context.Context, installationID int64, repo string, number int) ([]sesame.Comment, error)
}

// origin is where t's request came from; nil when this runner has none for its source.
func (r *Runner) origin(t *sesame.Task) Origin {
	return r.Origins[t.Source]
}

// describe is how t's origin describes its request; a task from an origin this runner does not
// have is described plainly.
func (r *Runner) describe(t *sesame.Task) sesame.RequestDescription {
	if o := r.origin(t); o != nil {
		return o.Describe(t)
	}
	return sesame.RequestDescription{Prompt: "Requested through Sesame", Commit: "Requested through Sesame.", PullRequest: "Requested through Sesame"}
}
