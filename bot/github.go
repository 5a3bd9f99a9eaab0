package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v66/github"

	sesame "github.com/sesame-works/sesame"
)

// GitHub sends Sesame's replies to GitHub as the app's installation. Its errors carry sesame codes:
// ENOTFOUND, EFORBIDDEN and EINVALID for answers a retry will not change, EUNAVAILABLE for the rest.
type GitHub struct {
	App AppSource
}

// Permission returns login's role on repo: "admin", "maintain", "write", "triage", "read" or "none".
func (g *GitHub) Permission(ctx context.Context, installationID int64, repo, login string) (string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return "", err
	}
	p, _, err := g.App.Client(installationID).Repositories.GetPermissionLevel(ctx, owner, name, login)
	if err != nil {
		var resp *github.ErrorResponse
		if errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusNotFound {
			return "none", nil // not a user GitHub knows on this repository
		}
		return "", classify("get permission of "+login+" on "+repo, err)
	}
	// role_name tells maintain from write and triage from read; permission folds them together.
	if role := p.GetRoleName(); role != "" {
		return role, nil
	}
	return p.GetPermission(), nil
}

// React adds a reaction (GitHub's names: "eyes", "rocket", "+1", ...) to an issue comment.
func (g *GitHub) React(ctx context.Context, installationID int64, repo string, commentID int64, content string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	_, _, err = g.App.Client(installationID).Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, content)
	return classify("react to comment", err)
}

// CreateComment comments on an issue or pull request and returns the new comment's id.
func (g *GitHub) CreateComment(ctx context.Context, installationID int64, repo string, issue int, body string) (int64, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return 0, err
	}
	c, _, err := g.App.Client(installationID).Issues.CreateComment(ctx, owner, name, issue, &github.IssueComment{Body: &body})
	if err != nil {
		return 0, classify("comment on issue", err)
	}
	return c.GetID(), nil
}

// EditComment replaces the body of an issue comment.
func (g *GitHub) EditComment(ctx context.Context, installationID int64, repo string, commentID int64, body string) error {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return err
	}
	_, _, err = g.App.Client(installationID).Issues.EditComment(ctx, owner, name, commentID, &github.IssueComment{Body: &body})
	return classify("edit comment", err)
}

func splitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", sesame.Errorf(sesame.EINVALID, "Repository %q is not of the form owner/name.", repo)
	}
	return owner, name, nil
}

// classify wraps a go-github error with a sesame code that says whether retrying can help.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	code := sesame.EUNAVAILABLE
	var rate *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	switch s := statusOf(err); {
	case errors.As(err, &rate), errors.As(err, &abuse):
		code = sesame.EUNAVAILABLE
	case s == http.StatusNotFound:
		code = sesame.ENOTFOUND
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		code = sesame.EFORBIDDEN
	case s == http.StatusUnprocessableEntity || s == http.StatusBadRequest || s == http.StatusGone:
		code = sesame.EINVALID
	}
	return fmt.Errorf("%s: %w", op, errors.Join(err, &sesame.Error{Code: code, Message: "GitHub refused the request."}))
}

// statusOf returns the HTTP status of GitHub's answer that err reports, from the API or from the
// installation token exchange that ghinstallation made for the request, or 0 when there was none.
func statusOf(err error) int {
	var resp *github.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		return resp.Response.StatusCode
	}
	var exchange *ghinstallation.HTTPError
	if errors.As(err, &exchange) && exchange.Response != nil {
		return exchange.Response.StatusCode
	}
	return 0
}

// Repository returns where to clone repo from and its default branch.
func (g *GitHub) Repository(ctx context.Context, installationID int64, repo string) (sesame.Repository, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return sesame.Repository{}, err
	}
	r, _, err := g.App.Client(installationID).Repositories.Get(ctx, owner, name)
	if err != nil {
		return sesame.Repository{}, classify("get repository "+repo, err)
	}
	return sesame.Repository{CloneURL: r.GetCloneURL(), DefaultBranch: r.GetDefaultBranch()}, nil
}

// GitToken returns the installation token, for git fetch and push by the runner.
func (g *GitHub) GitToken(ctx context.Context, installationID int64) (string, error) {
	tok, err := g.App.Token(ctx, installationID)
	return tok, classify("installation token", err)
}

// CreatePullRequest opens a pull request and returns its number and web URL.
func (g *GitHub) CreatePullRequest(ctx context.Context, installationID int64, repo string, pr sesame.PullRequest) (int, string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return 0, "", err
	}
	created, _, err := g.App.Client(installationID).PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: &pr.Title, Body: &pr.Body, Head: &pr.Head, Base: &pr.Base, MaintainerCanModify: github.Bool(true),
		Draft: &pr.Draft,
	})
	if err != nil {
		return 0, "", classify("open pull request", err)
	}
	return created.GetNumber(), created.GetHTMLURL(), nil
}

// FindPullRequest returns the number and web URL of the pull request from head into repo, open or
// closed, or 0 and "" when there is none. A task resumed after its worker died asks before opening one.
func (g *GitHub) FindPullRequest(ctx context.Context, installationID int64, repo, head string) (int, string, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return 0, "", err
	}
	pulls, _, err := g.App.Client(installationID).PullRequests.List(ctx, owner, name, &github.PullRequestListOptions{
		Head: owner + ":" + head, State: "all", ListOptions: github.ListOptions{PerPage: 10},
	})
	if err != nil {
		return 0, "", classify("list pull requests", err)
	}
	for _, p := range pulls {
		if p.GetHead().GetRef() == head {
			return p.GetNumber(), p.GetHTMLURL(), nil
		}
	}
	return 0, "", nil
}
