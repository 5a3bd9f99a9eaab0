package githubtest_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

func TestListInstallations(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.AddInstallation(3, "Acme/api", "acme/web")
	s.AddInstallation(9)
	c := newClient(t, s, appJWT(t, s))
	ctx := context.Background()

	first, resp, err := c.Apps.ListInstallations(ctx, &github.ListOptions{PerPage: 2})
	if err != nil {
		t.Fatalf("ListInstallations: %v", err)
	}
	wantLink := `<` + s.URL + `/app/installations?per_page=2&page=2>; rel="next", <` + s.URL + `/app/installations?per_page=2&page=2>; rel="last"`
	if got := resp.Header.Get("Link"); got != wantLink {
		t.Errorf("Link = %s\nwant   %s", got, wantLink)
	}
	if resp.NextPage != 2 || resp.LastPage != 2 {
		t.Errorf("NextPage, LastPage = %d, %d; want 2, 2", resp.NextPage, resp.LastPage)
	}
	second, resp, err := c.Apps.ListInstallations(ctx, &github.ListOptions{PerPage: 2, Page: 2})
	if err != nil {
		t.Fatalf("ListInstallations page 2: %v", err)
	}
	if resp.NextPage != 0 || resp.PrevPage != 1 || resp.FirstPage != 1 {
		t.Errorf("page 2: NextPage, PrevPage, FirstPage = %d, %d, %d; want 0, 1, 1", resp.NextPage, resp.PrevPage, resp.FirstPage)
	}
	var ids []int64
	var accounts []string
	for _, in := range append(first, second...) {
		ids = append(ids, in.GetID())
		accounts = append(accounts, in.GetAccount().GetLogin())
	}
	if want := []int64{3, 7, 9}; !cmp.Equal(ids, want) {
		t.Errorf("ids = %v, want %v (oldest first, across pages)", ids, want)
	}
	if want := []string{"Acme", "octo", "sesame-works"}; !cmp.Equal(accounts, want) {
		t.Errorf("accounts = %v, want %v", accounts, want)
	}

	in := first[0]
	if in.GetAppID() != s.AppID || in.GetAppSlug() != "sesame-test" || in.GetTargetType() != "User" ||
		in.GetTargetID() != in.GetAccount().GetID() || in.GetRepositorySelection() != "selected" ||
		in.GetPermissions().GetIssues() != "write" || len(in.Events) == 0 || in.GetCreatedAt().IsZero() ||
		in.GetAccessTokensURL() != s.URL+"/app/installations/3/access_tokens" ||
		in.GetRepositoriesURL() != s.URL+"/installation/repositories" ||
		in.GetHTMLURL() != s.URL+"/settings/installations/3" || in.SuspendedAt != nil {
		t.Errorf("installation = %v", in)
	}
	raw := rawCall(t, c, "GET", "app/installations", nil)
	if got, want := slices.Compact(undecoded(t, raw, new([]*github.Installation))), []string{"[].account.user_view_type", "[].client_id"}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}

	_, _, err = newClient(t, s, tokenFor(t, s, 7)).Apps.ListInstallations(ctx, nil)
	wantAPIError(t, err, http.StatusUnauthorized, "A JSON web token could not be decoded")
}

func TestListInstallationsEnterprise(t *testing.T) {
	s := githubtest.NewServer(t)
	for id := int64(1); id <= 3; id++ {
		s.AddInstallation(id)
	}
	c, err := github.NewClient(nil).WithAuthToken(appJWT(t, s)).WithEnterpriseURLs(s.URL, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := c.Apps.ListInstallations(context.Background(), &github.ListOptions{PerPage: 1, Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	u := s.URL + "/api/v3/app/installations?per_page=1&page="
	want := `<` + u + `1>; rel="prev", <` + u + `3>; rel="next", <` + u + `3>; rel="last", <` + u + `1>; rel="first"`
	if got := resp.Header.Get("Link"); got != want {
		t.Errorf("Link = %s\nwant   %s", got, want)
	}
}

func TestSuspendedInstallation(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.SuspendInstallation(7)
	c := newClient(t, s, appJWT(t, s))
	ctx := context.Background()

	list, _, err := c.Apps.ListInstallations(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].SuspendedAt == nil || list[0].GetSuspendedBy().GetLogin() != "octo" {
		t.Errorf("installations = %v, want 7 suspended by octo", list)
	}
	_, _, err = c.Apps.CreateInstallationToken(ctx, 7, nil)
	wantAPIError(t, err, http.StatusForbidden, "This installation has been suspended")
}

// listAllRepos follows the Link header through every page of
// GET /installation/repositories.
func listAllRepos(t *testing.T, c *github.Client, perPage int) (names []string, pages int) {
	t.Helper()
	opt := &github.ListOptions{PerPage: perPage}
	for {
		list, resp, err := c.Apps.ListRepos(context.Background(), opt)
		if err != nil {
			t.Fatalf("ListRepos page %d: %v", opt.Page, err)
		}
		pages++
		for _, r := range list.Repositories {
			names = append(names, r.GetFullName())
		}
		if resp.NextPage == 0 {
			return names, pages
		}
		opt.Page = resp.NextPage
	}
}

func TestListInstallationRepos(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello", "octo/world", "Octo/Zed", "octo/alpha", "octo/pub")
	s.AddInstallation(8, "other/x")
	s.SetPrivate("octo/pub", false)
	ctx := context.Background()
	c := installationClient(t, s, 7)

	list, resp, err := c.Apps.ListRepos(ctx, &github.ListOptions{PerPage: 2})
	if err != nil {
		t.Fatalf("ListRepos: %v", err)
	}
	if list.GetTotalCount() != 5 || len(list.Repositories) != 2 || resp.NextPage != 2 || resp.LastPage != 3 {
		t.Errorf("first page: total %d, %d repositories, next %d, last %d; want 5, 2, 2, 3",
			list.GetTotalCount(), len(list.Repositories), resp.NextPage, resp.LastPage)
	}
	r := list.Repositories[0]
	if r.GetFullName() != "octo/hello" || r.GetName() != "hello" || r.GetID() == 0 || r.GetNodeID() == "" ||
		r.GetOwner().GetLogin() != "octo" || !r.GetPrivate() || r.GetVisibility() != "private" ||
		r.GetHTMLURL() != s.URL+"/octo/hello" || r.GetCloneURL() != s.GitURL("octo/hello") ||
		r.GetDefaultBranch() != "main" || !r.GetPermissions()["push"] || r.GetPermissions()["admin"] {
		t.Errorf("repository = %v", r)
	}

	names, pages := listAllRepos(t, c, 2)
	if want := []string{"octo/hello", "octo/world", "Octo/Zed", "octo/alpha", "octo/pub"}; !cmp.Equal(names, want) || pages != 3 {
		t.Errorf("repositories = %v in %d pages, want %v in 3", names, pages, want)
	}
	last, _, err := c.Apps.ListRepos(ctx, &github.ListOptions{PerPage: 2, Page: 3})
	if err != nil {
		t.Fatal(err)
	}
	if pub := last.Repositories[0]; pub.GetFullName() != "octo/pub" || pub.GetPrivate() || pub.GetVisibility() != "public" {
		t.Errorf("octo/pub = private %v, visibility %q; want public", pub.GetPrivate(), pub.GetVisibility())
	}
	for _, req := range s.Requests() {
		if req.Path == "/installation/repositories" && (req.Installation != 7 || req.Status != 200) {
			t.Errorf("recorded %+v, want installation 7, status 200", req)
		}
	}

	raw := rawCall(t, c, "GET", "installation/repositories", nil)
	if got, want := slices.Compact(undecoded(t, raw, new(github.ListRepositories))), []string{
		"repositories.[].forks", "repositories.[].owner.user_view_type", "repository_selection",
	}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}

	if names, _ := listAllRepos(t, installationClient(t, s, 8), 30); !cmp.Equal(names, []string{"other/x"}) {
		t.Errorf("installation 8 lists %v, want only other/x", names)
	}
}

func TestListInstallationReposFollowsToken(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello", "octo/world")
	ctx := context.Background()
	app := newClient(t, s, appJWT(t, s))

	whole := installationClient(t, s, 7)
	tok, _, err := app.Apps.CreateInstallationToken(ctx, 7, &github.InstallationTokenOptions{Repositories: []string{"world"}})
	if err != nil {
		t.Fatal(err)
	}
	some := newClient(t, s, tok.GetToken())
	s.AddInstallation(7, "octo/later")

	if names, _ := listAllRepos(t, whole, 30); !cmp.Equal(names, []string{"octo/hello", "octo/world", "octo/later"}) {
		t.Errorf("token for every repository lists %v, want the installation's, octo/later too", names)
	}
	if names, _ := listAllRepos(t, some, 30); !cmp.Equal(names, []string{"octo/world"}) {
		t.Errorf("token for world lists %v, want only octo/world", names)
	}
}

func TestListInstallationReposAuth(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.AddUserToken("ghp_alice", "alice")
	ctx := context.Background()

	_, _, err := newClient(t, s, appJWT(t, s)).Apps.ListRepos(ctx, nil)
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
	_, _, err = newClient(t, s, "ghp_alice").Apps.ListRepos(ctx, nil)
	wantAPIError(t, err, http.StatusForbidden, "You must authenticate with an installation access token in order to list repositories for an installation.")
	_, _, err = newClient(t, s, "").Apps.ListRepos(ctx, nil) // no Authorization header at all
	wantAPIError(t, err, http.StatusUnauthorized, "Requires authentication")

	c := installationClient(t, s, 7)
	s.ExpireTokens()
	_, _, err = c.Apps.ListRepos(ctx, nil)
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
}
