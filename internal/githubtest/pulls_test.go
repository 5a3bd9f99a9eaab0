package githubtest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

func TestGetRepository(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.AddInstallation(8, "octo/world")
	s.AddInstallation(9, "octo/hello")
	s.SetInstallationPermissions(9, map[string]string{"contents": "read", "metadata": "read"})
	s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "hi\n"})
	c := installationClient(t, s, 7)
	ctx := context.Background()

	repo, resp, err := c.Repositories.Get(ctx, "octo", "hello")
	if err != nil {
		t.Fatalf("Repositories.Get: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d", resp.StatusCode)
	}
	if repo.GetID() <= 1<<31 || repo.GetNodeID() == "" || repo.GetName() != "hello" || repo.GetFullName() != "octo/hello" ||
		!repo.GetPrivate() || repo.GetVisibility() != "private" || repo.GetOwner().GetLogin() != "octo" ||
		repo.GetHTMLURL() != s.URL+"/octo/hello" || repo.GetURL() != s.URL+"/repos/octo/hello" ||
		repo.GetCloneURL() != s.GitURL("octo/hello") || repo.GetDefaultBranch() != "main" ||
		repo.GetCreatedAt().IsZero() || repo.GetPushedAt().IsZero() {
		t.Errorf("repository = %v", repo)
	}
	want := map[string]bool{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}
	if diff := cmp.Diff(want, repo.GetPermissions()); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
	ro, _, err := installationClient(t, s, 9).Repositories.Get(ctx, "octo", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if p := ro.GetPermissions(); p["push"] || !p["pull"] {
		t.Errorf("read-only installation's permissions = %v", p)
	}

	raw := rawCall(t, c, "GET", "repos/octo/hello", nil)
	if got, want := undecoded(t, raw, new(github.Repository)), []string{"forks", "owner.user_view_type"}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}

	_, _, err = c.Repositories.Get(ctx, "octo", "world")
	wantAPIError(t, err, http.StatusNotFound, "Not Found")
	_, _, err = newClient(t, s, "ghs_bogus").Repositories.Get(ctx, "octo", "hello")
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
	s.FailNext("GET", "/repos/octo/hello", http.StatusServiceUnavailable, "")
	_, _, err = c.Repositories.Get(ctx, "octo", "hello")
	wantAPIError(t, err, http.StatusServiceUnavailable, "Service Unavailable")

	// Under /api/v3, the API URLs follow; the clone URL does not.
	ghes, err := github.NewClient(nil).WithAuthToken(tokenFor(t, s, 7)).WithEnterpriseURLs(s.URL, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	repo, _, err = ghes.Repositories.Get(ctx, "octo", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if repo.GetURL() != s.URL+"/api/v3/repos/octo/hello" || repo.GetCloneURL() != s.GitURL("octo/hello") {
		t.Errorf("under /api/v3: url %q, clone_url %q", repo.GetURL(), repo.GetCloneURL())
	}
}

// pushBranch commits path=content on branch of a clone of fullName and pushes it.
func pushBranch(t *testing.T, s *githubtest.Server, token, fullName, branch, path, content string) string {
	t.Helper()
	work := clone(t, s, token, fullName)
	sha := commitOn(t, work, branch, path, content)
	mustGit(t, work, "push", "--quiet", "origin", branch)
	return sha
}

func TestCreatePullRequest(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	bare := s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "# Hello\n\nThis fixes teh typo.\n"})
	s.AddComment(githubtest.Comment{Repo: "octo/hello", IssueNumber: 1, User: "alice", Body: "/sesame fix the typo"})
	token := tokenFor(t, s, 7)
	c := newClient(t, s, token)
	ctx := context.Background()
	head := pushBranch(t, s, token, "octo/hello", "sesame/1-fix-typo", "README.md", "# Hello\n\nThis fixes the typo.\nAnd more.\n")
	base := mustGit(t, "", "--git-dir", bare, "rev-parse", "main")

	pr, resp, err := c.PullRequests.Create(ctx, "octo", "hello", &github.NewPullRequest{
		Title: new("Fix the typo in README"), Head: new("sesame/1-fix-typo"), Base: new("main"),
		Body: new("Fixes #1"), Draft: new(false), MaintainerCanModify: new(true),
	})
	if err != nil {
		t.Fatalf("PullRequests.Create: %v", err)
	}
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != pr.GetURL() {
		t.Errorf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	n := pr.GetNumber()
	if n <= 100 {
		t.Errorf("number = %d, want above the issues' numbers (100+)", n)
	}
	if pr.GetID() == 0 || pr.GetNodeID() == "" || pr.GetState() != "open" || pr.GetTitle() != "Fix the typo in README" ||
		pr.GetBody() != "Fixes #1" || pr.GetDraft() || pr.GetMerged() || pr.Mergeable != nil || pr.GetMergeableState() != "unknown" ||
		pr.GetHTMLURL() != fmt.Sprintf("%s/octo/hello/pull/%d", s.URL, n) ||
		pr.GetURL() != fmt.Sprintf("%s/repos/octo/hello/pulls/%d", s.URL, n) ||
		pr.GetIssueURL() != fmt.Sprintf("%s/repos/octo/hello/issues/%d", s.URL, n) ||
		pr.GetUser().GetLogin() != "sesame-test[bot]" || pr.GetUser().GetType() != "Bot" || pr.GetCreatedAt().IsZero() ||
		pr.GetCommits() != 1 || pr.GetAdditions() != 2 || pr.GetDeletions() != 1 || pr.GetChangedFiles() != 1 ||
		pr.GetMaintainerCanModify() || pr.GetLinks().GetHTML().GetHRef() != pr.GetHTMLURL() {
		t.Errorf("pull request = %v", pr)
	}
	if h := pr.GetHead(); h.GetRef() != "sesame/1-fix-typo" || h.GetSHA() != head || h.GetLabel() != "octo:sesame/1-fix-typo" ||
		h.GetRepo().GetFullName() != "octo/hello" || h.GetRepo().GetCloneURL() != s.GitURL("octo/hello") || h.GetUser().GetLogin() != "octo" {
		t.Errorf("head = %v", h)
	}
	if b := pr.GetBase(); b.GetRef() != "main" || b.GetSHA() != base || b.GetRepo().GetDefaultBranch() != "main" {
		t.Errorf("base = %v", b)
	}

	// Numbers are shared with issues: past any a comment used.
	s.AddComment(githubtest.Comment{Repo: "octo/hello", IssueNumber: 250, User: "alice", Body: "hi"})
	pushBranch(t, s, token, "octo/hello", "draft", "NOTES.md", "notes\n")
	draft, _, err := c.PullRequests.Create(ctx, "octo", "hello", &github.NewPullRequest{
		Title: new("WIP"), Head: new("octo:draft"), Base: new("main"), Draft: new(true),
	})
	if err != nil {
		t.Fatalf("draft with owner:branch head: %v", err)
	}
	if draft.GetNumber() != 251 || !draft.GetDraft() || draft.Body != nil || draft.GetHead().GetRef() != "draft" {
		t.Errorf("draft = #%d draft %v body %v head %q", draft.GetNumber(), draft.GetDraft(), draft.Body, draft.GetHead().GetRef())
	}

	want := []githubtest.PullRequest{
		{Number: n, Title: "Fix the typo in README", Body: "Fixes #1", Head: "sesame/1-fix-typo", Base: "main",
			HTMLURL: pr.GetHTMLURL(), User: "sesame-test[bot]"},
		{Number: 251, Title: "WIP", Head: "draft", Base: "main", HTMLURL: s.URL + "/octo/hello/pull/251", User: "sesame-test[bot]", Draft: true},
	}
	if diff := cmp.Diff(want, s.PullRequests("Octo/Hello")); diff != "" {
		t.Errorf("PullRequests (-want +got):\n%s", diff)
	}

	pushBranch(t, s, token, "octo/hello", "raw", "raw.txt", "raw\n")
	raw := rawCall(t, c, "POST", "repos/octo/hello/pulls", map[string]any{"title": "raw", "head": "raw", "base": "main", "body": "b"})
	wantUndecoded := []string{
		"base.repo.forks", "base.repo.owner.user_view_type", "base.user.user_view_type",
		"head.repo.forks", "head.repo.owner.user_view_type", "head.user.user_view_type", "user.user_view_type",
	}
	if got := undecoded(t, raw, new(github.PullRequest)); !cmp.Equal(got, wantUndecoded) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, wantUndecoded)
	}
}

func TestCreatePullRequestErrors(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello", "octo/plain")
	s.AddInstallation(9, "octo/hello")
	s.SetInstallationPermissions(9, map[string]string{"contents": "write", "pull_requests": "read", "metadata": "read"})
	bare := s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "hi\n"})
	token := tokenFor(t, s, 7)
	c := newClient(t, s, token)
	ctx := context.Background()
	pushBranch(t, s, token, "octo/hello", "fix", "a.txt", "1\n")
	mustGit(t, "", "--git-dir", bare, "branch", "same", "main")
	create := func(c *github.Client, repo, head, base string) error {
		_, _, err := c.PullRequests.Create(ctx, "octo", repo, &github.NewPullRequest{Title: new("t"), Head: &head, Base: &base})
		return err
	}
	fieldErrors := func(er *github.ErrorResponse) string {
		var out []string
		for _, e := range er.Errors {
			out = append(out, strings.Join([]string{e.Resource, e.Field, e.Code, e.Message}, "/"))
		}
		return strings.Join(out, " ")
	}

	for _, tc := range []struct {
		name, repo, head, base, want string
	}{
		{"head missing", "hello", "nope", "main", "PullRequest/head/invalid/"},
		{"head of another owner", "hello", "someone:fix", "main", "PullRequest/head/invalid/"},
		{"base missing", "hello", "fix", "nope", "PullRequest/base/invalid/"},
		{"both missing", "hello", "nope", "nada", "PullRequest/head/invalid/ PullRequest/base/invalid/"},
		{"no git repository", "plain", "fix", "main", "PullRequest/head/invalid/ PullRequest/base/invalid/"},
		{"head is base", "hello", "main", "main", "PullRequest//custom/No commits between main and main"},
		{"no commits", "hello", "same", "main", "PullRequest//custom/No commits between main and same"},
		{"base behind", "hello", "main", "fix", "PullRequest//custom/No commits between fix and main"},
	} {
		er := wantAPIError(t, create(c, tc.repo, tc.head, tc.base), http.StatusUnprocessableEntity, "Validation Failed")
		if got := fieldErrors(er); got != tc.want {
			t.Errorf("%s: errors %q, want %q", tc.name, got, tc.want)
		}
	}

	if err := create(c, "hello", "fix", "main"); err != nil {
		t.Fatalf("first pull request: %v", err)
	}
	er := wantAPIError(t, create(c, "hello", "fix", "main"), http.StatusUnprocessableEntity, "Validation Failed")
	if got := fieldErrors(er); got != "PullRequest//custom/A pull request already exists for octo:fix." {
		t.Errorf("duplicate: errors %q", got)
	}
	er = wantAPIError(t, create(c, "hello", "octo:fix", "main"), http.StatusUnprocessableEntity, "Validation Failed")
	if got := fieldErrors(er); got != "PullRequest//custom/A pull request already exists for octo:fix." {
		t.Errorf("duplicate as owner:branch: errors %q", got)
	}
	// The same head may go to another base, as on GitHub.
	if err := create(c, "hello", "fix", "same"); err != nil {
		t.Errorf("same head, other base: %v", err)
	}

	_, _, err := c.PullRequests.Create(ctx, "octo", "hello", &github.NewPullRequest{Head: new("fix"), Base: new("main")})
	er = wantAPIError(t, err, http.StatusUnprocessableEntity, "Validation Failed")
	if got := fieldErrors(er); got != "PullRequest/title/missing_field/" {
		t.Errorf("no title: errors %q", got)
	}
	_, _, err = c.PullRequests.Create(ctx, "octo", "hello", &github.NewPullRequest{Title: new("t"), Base: new("main")})
	wantAPIError(t, err, http.StatusUnprocessableEntity, "Invalid request.\n\n\"head\" wasn't supplied.")

	wantAPIError(t, create(installationClient(t, s, 9), "hello", "fix", "main"), http.StatusForbidden, "Resource not accessible by integration")
	wantAPIError(t, create(c, "world", "fix", "main"), http.StatusNotFound, "Not Found")
	s.FailNext("POST", "/repos/octo/hello/pulls", http.StatusBadGateway, "")
	wantAPIError(t, create(c, "hello", "fix", "nope"), http.StatusBadGateway, "Bad Gateway")

	if got := len(s.PullRequests("octo/hello")); got != 2 {
		t.Errorf("%d pull requests recorded, want 2", got)
	}
}
