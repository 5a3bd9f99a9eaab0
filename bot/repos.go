package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"
	"golang.org/x/sync/errgroup"

	sesame "github.com/sesame-works/sesame"
)

const (
	// repoCacheTTL is how long Repositories answers from its cache.
	repoCacheTTL = 60 * time.Second
	// repoListTimeout bounds one refresh of the repository list. A refresh runs on after the caller
	// that started it gives up, for the callers that share it.
	repoListTimeout = 2 * time.Minute
	// repoFlight is the singleflight key of a refresh of the repository list.
	repoFlight = "repositories"
	// listPageSize is the largest page GitHub serves.
	listPageSize = 100
	// installationsAtOnce is how many installations' repositories are listed at the same time.
	installationsAtOnce = 8
)

// repoCache holds the last answer of Repositories.
type repoCache struct {
	now func() time.Time // time.Now, but for tests

	mu      sync.Mutex
	refs    []sesame.RepoRef
	fetched time.Time // when the refresh that got refs started; zero if none has succeeded
}

func (c *repoCache) get(now time.Time) ([]sesame.RepoRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fetched.IsZero() || now.Sub(c.fetched) >= repoCacheTTL {
		return nil, false
	}
	return slices.Clone(c.refs), true
}

func (c *repoCache) set(refs []sesame.RepoRef, fetched time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs, c.fetched = refs, fetched
}

// Repositories returns every repository that an installation of the app can reach, with the
// installation that reaches it, sorted by FullName without regard to case. Installations that are
// suspended are left out: GitHub gives no token for them.
//
// The answer is cached for a minute; concurrent callers share one refresh, and a failed refresh is
// not cached. A caller whose ctx ends stops waiting, but the refresh goes on for the others.
// Errors carry EUNAVAILABLE when GitHub could not be reached or failed, and EINTERNAL when it refused
// the app's credentials.
func (a *App) Repositories(ctx context.Context) ([]sesame.RepoRef, error) {
	now := a.repos.now()
	if refs, ok := a.repos.get(now); ok {
		return refs, nil
	}
	ch := a.flight.DoChan(repoFlight, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), repoListTimeout)
		defer cancel()
		refs, err := a.listRepositories(ctx)
		if err != nil {
			return nil, err
		}
		a.repos.set(refs, now)
		return refs, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("list repositories: %w", context.Cause(ctx))
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return slices.Clone(res.Val.([]sesame.RepoRef)), nil
	}
}

// listRepositories asks GitHub for the app's installations, then for each installation's
// repositories, following every page.
func (a *App) listRepositories(ctx context.Context) ([]sesame.RepoRef, error) {
	var installs []*github.Installation
	opt := &github.ListOptions{PerPage: listPageSize}
	for {
		page, resp, err := a.app.Apps.ListInstallations(ctx, opt)
		if err != nil {
			return nil, listError("list installations", err)
		}
		installs = append(installs, page...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}

	found := make([][]sesame.RepoRef, len(installs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(installationsAtOnce)
	for i, in := range installs {
		if in.SuspendedAt != nil {
			continue
		}
		g.Go(func() error {
			refs, err := a.installationRepositories(ctx, in.GetID())
			found[i] = refs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	refs := slices.Concat(found...)
	slices.SortFunc(refs, func(x, y sesame.RepoRef) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.FullName), strings.ToLower(y.FullName)), cmp.Compare(x.FullName, y.FullName))
	})
	return refs, nil
}

func (a *App) installationRepositories(ctx context.Context, installationID int64) ([]sesame.RepoRef, error) {
	c := a.Client(installationID)
	var refs []sesame.RepoRef
	opt := &github.ListOptions{PerPage: listPageSize}
	for {
		page, resp, err := c.Apps.ListRepos(ctx, opt)
		if err != nil {
			return nil, listError(fmt.Sprintf("list repositories of installation %d", installationID), err)
		}
		for _, r := range page.Repositories {
			refs = append(refs, sesame.RepoRef{FullName: r.GetFullName(), InstallationID: installationID, Private: r.GetPrivate()})
		}
		if resp.NextPage == 0 {
			return refs, nil
		}
		opt.Page = resp.NextPage
	}
}

// listError gives a failure to list repositories its code: EINTERNAL when GitHub refused the request
// (the app's id, key or installations are wrong, which a retry will not mend), EUNAVAILABLE when it
// could not be reached, failed, or limited the rate.
func listError(op string, err error) error {
	if s := statusOf(err); s >= 400 && s < 500 && s != http.StatusTooManyRequests {
		return fmt.Errorf("%s: %w", op, errors.Join(err,
			sesame.Errorf(sesame.EINTERNAL, "GitHub refused to list the app's repositories.")))
	}
	return fmt.Errorf("%s: %w", op, errors.Join(err,
		sesame.Errorf(sesame.EUNAVAILABLE, "GitHub could not be reached to list repositories.")))
}

// TokenOwner returns the login of the GitHub user whose personal access token token is, asking
// GET /user at the app's API URL. A token GitHub refuses gives EINVALID; a token with spaces or
// control characters is refused before asking. Other failures give EUNAVAILABLE. No error holds the
// token, nor anything that does (go-github's errors hold the request, and so its header).
func (a *App) TokenOwner(ctx context.Context, token string) (login string, err error) {
	if token == "" || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", sesame.Errorf(sesame.EINVALID, "A GitHub token has no spaces or line breaks.")
	}
	u, _, err := a.newClient(a.base).WithAuthToken(token).Users.Get(ctx, "")
	if err != nil {
		return "", tokenOwnerError(ctx, err)
	}
	if u.GetLogin() == "" {
		return "", fmt.Errorf("get authenticated user: no login in the answer: %w",
			sesame.Errorf(sesame.EUNAVAILABLE, "GitHub could not be reached to check this token."))
	}
	return u.GetLogin(), nil
}

// tokenOwnerError keeps only the text of err, with a code.
func tokenOwnerError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("get authenticated user: %w", context.Cause(ctx))
	}
	code, msg := sesame.EUNAVAILABLE, "GitHub could not be reached to check this token."
	detail := err.Error()
	var resp *github.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		detail = fmt.Sprintf("GitHub answered %d %s", resp.Response.StatusCode, resp.Message)
		switch resp.Response.StatusCode {
		case http.StatusUnauthorized:
			code, msg = sesame.EINVALID, "GitHub did not accept this token."
		case http.StatusForbidden: // an app's token: /user is for users only
			code, msg = sesame.EINVALID, "GitHub did not accept this token as a user's token."
		}
	}
	return fmt.Errorf("get authenticated user: %s: %w", detail, &sesame.Error{Code: code, Message: msg})
}
