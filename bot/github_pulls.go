package bot

import (
	"context"

	"github.com/google/go-github/v66/github"

	sesame "github.com/sesame-works/sesame"
)

// PullRequest returns pull request number of repo as a task on it needs it: its branch, the
// repository that branch lives in, and its text.
func (g *GitHub) PullRequest(ctx context.Context, installationID int64, repo string, number int) (sesame.PullRequestInfo, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return sesame.PullRequestInfo{}, err
	}
	p, _, err := g.App.Client(installationID).PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return sesame.PullRequestInfo{}, classify("get pull request", err)
	}
	return sesame.PullRequestInfo{
		Number: p.GetNumber(), URL: p.GetHTMLURL(), Title: p.GetTitle(), Body: p.GetBody(),
		State: p.GetState(), Merged: p.GetMerged(),
		HeadRef: p.GetHead().GetRef(), HeadRepo: p.GetHead().GetRepo().GetFullName(), HeadSHA: p.GetHead().GetSHA(),
		BaseRef: p.GetBase().GetRef(),
	}, nil
}

// Conversation returns the latest 100 comments of issue or pull request number of repo, oldest first.
// GitHub lists an issue's comments oldest first, so the latest are on the last two pages, which the
// first answer's Link header names.
func (g *GitHub) Conversation(ctx context.Context, installationID int64, repo string, number int) ([]sesame.Comment, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	const perPage = 100
	client := g.App.Client(installationID)
	page := func(n int) ([]*github.IssueComment, *github.Response, error) {
		return client.Issues.ListComments(ctx, owner, name, number, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: perPage, Page: n}})
	}
	comments, resp, err := page(1)
	if err == nil && resp.LastPage > 1 {
		var last []*github.IssueComment
		if resp.LastPage > 2 {
			comments, _, err = page(resp.LastPage - 1)
		}
		if err == nil {
			last, _, err = page(resp.LastPage)
		}
		comments = append(comments, last...)
		comments = comments[max(0, len(comments)-perPage):]
	}
	if err != nil {
		return nil, classify("list comments", err)
	}
	out := make([]sesame.Comment, 0, len(comments))
	for _, c := range comments {
		out = append(out, sesame.Comment{Author: c.GetUser().GetLogin(), Body: c.GetBody(), CreatedAt: c.GetCreatedAt().Time})
	}
	return out, nil
}
