package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v66/github"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/textsafe"
)

// ReactToReviewComment adds a reaction to a pull request review comment.
func (g *GitHub) ReactToReviewComment(ctx context.Context, installationID int64, repo string, commentID int64, content string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	_, _, err = g.App.Client(installationID).Reactions.CreatePullRequestCommentReaction(ctx, owner, name, commentID, content)
	return classify("react to review comment", err)
}

// ReplyToReviewComment answers the review thread that begins with comment thread on pull request
// number, and returns the reply's id.
func (g *GitHub) ReplyToReviewComment(ctx context.Context, installationID int64, repo string, number int, thread int64, body string) (int64, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return 0, err
	}
	c, _, err := g.App.Client(installationID).PullRequests.CreateCommentInReplyTo(ctx, owner, name, number, body, thread)
	if err != nil {
		return 0, classify("reply to review comment", err)
	}
	return c.GetID(), nil
}

// EditReviewComment replaces the body of a pull request review comment.
func (g *GitHub) EditReviewComment(ctx context.Context, installationID int64, repo string, commentID int64, body string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	_, _, err = g.App.Client(installationID).PullRequests.EditComment(ctx, owner, name, commentID, &github.PullRequestComment{Body: &body})
	return classify("edit review comment", err)
}

// The comments a task's origin writes: in a review thread when the request was a review comment,
// else on the issue or pull request.

// react puts a reaction on the comment that asked for t.
func (o *GitHubOrigin) react(ctx context.Context, t *sesame.Task, content string) error {
	if t.OriginRef.Review != nil {
		return o.GitHub.ReactToReviewComment(ctx, t.InstallationID, t.Repo, t.CommentID, content)
	}
	return o.GitHub.React(ctx, t.InstallationID, t.Repo, t.CommentID, content)
}

// post answers the comment that asked for t and returns the answer's id.
func (o *GitHubOrigin) post(ctx context.Context, t *sesame.Task, body string) (int64, error) {
	if rc := t.OriginRef.Review; rc != nil {
		return o.GitHub.ReplyToReviewComment(ctx, t.InstallationID, t.Repo, t.IssueNumber, rc.Thread, body)
	}
	return o.GitHub.CreateComment(ctx, t.InstallationID, t.Repo, t.IssueNumber, body)
}

// edit replaces the text of t's answer id.
func (o *GitHubOrigin) edit(ctx context.Context, t *sesame.Task, id int64, body string) error {
	if t.OriginRef.Review != nil {
		return o.GitHub.EditReviewComment(ctx, t.InstallationID, t.Repo, id, body)
	}
	return o.GitHub.EditComment(ctx, t.InstallationID, t.Repo, id, body)
}

// reviewContext tells the agent where a review comment is: the file, the lines and the diff around
// them, as GitHub showed them to the reviewer.
func reviewContext(rc *sesame.ReviewComment) string {
	side := "in the pull request's version of the file"
	if rc.Side == "LEFT" {
		side = "in the base branch's version of the file (lines the pull request removes or changes)"
	}
	var where string
	switch {
	case rc.Line == 0:
		where = fmt.Sprintf("The review comment is on the file %s as a whole.", rc.Path)
	case rc.StartLine > 0 && rc.StartLine != rc.Line:
		where = fmt.Sprintf("The review comment is on lines %d to %d of %s, %s.", rc.StartLine, rc.Line, rc.Path, side)
	default:
		where = fmt.Sprintf("The review comment is on line %d of %s, %s.", rc.Line, rc.Path, side)
	}
	if hunk := strings.TrimSpace(textsafe.StripInvisible(rc.DiffHunk)); hunk != "" {
		where += "\n\nThe diff around it, as the reviewer saw it:\n```diff\n" + truncate(hunk, 6000) + "\n```"
	}
	return where
}
