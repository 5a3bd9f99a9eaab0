package admin

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	sesame "github.com/sesame-works/sesame"
)

// Who may start a task from the web: an admin on any repository the GitHub App reaches; anyone else
// only on a repository their connected GitHub login can write to (admin, maintain or write), asked
// through the App as for the author of a /sesame comment.
const (
	accessTTL         = time.Minute      // how long the form trusts a role it asked for
	accessConcurrency = 8                // roles asked of GitHub at once for one form
	accessTimeout     = 10 * time.Second // the longest the form waits for them
	accessCacheSize   = 10_000
)

// canWrite reports whether role may start tasks, as for a /sesame comment.
func canWrite(role string) bool {
	switch role {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

// repoNote says why a repository is not offered.
type repoNote struct {
	Repo, Reason string
}

// offerRepos keeps in v.Repos (the repositories the App reaches) those u may start tasks on, and
// says why the others are not offered: in v.ReposErr when none is, in v.Unavailable for each one
// left out.
func (a *App) offerRepos(ctx context.Context, u *sesame.User, v *taskFormView) {
	all := v.Repos
	if v.ReposErr != "" || u.Role == sesame.RoleAdmin {
		return
	}
	v.Repos, v.ByAccess = nil, true
	switch {
	case a.Permissions == nil:
		v.ReposErr = "Only admins can start tasks on this server: it has no GitHub App to check your access to repositories with."
		return
	case u.GitHubLogin == "":
		v.ConnectGitHub = true
		v.ReposErr = "Connect your GitHub account in Settings to start tasks on repositories you can write to."
		return
	}
	ctx, cancel := context.WithTimeout(ctx, accessTimeout)
	defer cancel()
	reasons := make([]string, len(all))
	var g errgroup.Group
	g.SetLimit(accessConcurrency)
	for i, repo := range all {
		g.Go(func() error {
			reasons[i] = a.refusal(ctx, u, repo, false)
			return nil
		})
	}
	g.Wait()
	for i, repo := range all {
		if reasons[i] == "" {
			v.Repos = append(v.Repos, repo)
		} else {
			v.Unavailable = append(v.Unavailable, repoNote{Repo: repo.FullName, Reason: reasons[i]})
		}
	}
	if len(v.Repos) == 0 {
		v.ReposErr = fmt.Sprintf("@%s cannot write to any repository the Sesame GitHub App is installed on, so there is none to start a task on.", u.GitHubLogin)
	}
}

// refusal says why u may not start a task on repo, or "" when they may. fresh skips the cache: a task
// is only ever submitted on a role asked of GitHub for that request.
func (a *App) refusal(ctx context.Context, u *sesame.User, repo sesame.RepoRef, fresh bool) string {
	switch {
	case u.Role == sesame.RoleAdmin:
		return ""
	case a.Permissions == nil:
		return "Only admins can start tasks on this server: it has no GitHub App to check your access to repositories with."
	case u.GitHubLogin == "":
		return "Connect your GitHub account in Settings to start tasks on repositories you can write to."
	}
	key := accessKey{installationID: repo.InstallationID, repo: strings.ToLower(repo.FullName), login: strings.ToLower(u.GitHubLogin)}
	role, ok := "", false
	if !fresh {
		role, ok = a.access.get(key)
	}
	if !ok {
		var err error
		role, err = a.Permissions.Permission(ctx, repo.InstallationID, repo.FullName, u.GitHubLogin)
		if err != nil {
			a.Logger.Warn("check repository permission", "repo", repo.FullName, "github_login", u.GitHubLogin, "user_id", u.ID, "err", err)
			return fmt.Sprintf("Sesame could not check @%s's access to %s with GitHub; try again in a moment.", u.GitHubLogin, repo.FullName)
		}
		a.access.put(key, role)
	}
	switch {
	case canWrite(role):
		return ""
	case role == "none" || role == "":
		return fmt.Sprintf("@%s has no access to %s; starting a task there takes write access.", u.GitHubLogin, repo.FullName)
	}
	return fmt.Sprintf("@%s has %s access to %s; starting a task there takes write access.", u.GitHubLogin, role, repo.FullName)
}

type accessKey struct {
	installationID int64
	repo, login    string
}

type cachedRole struct {
	role string
	at   time.Time
}

// accessCache remembers roles asked of GitHub for accessTTL, so that reloading the form does not ask
// again for every repository.
type accessCache struct {
	mu    sync.Mutex
	roles map[accessKey]cachedRole
	now   func() time.Time
}

func newAccessCache() *accessCache {
	return &accessCache{roles: map[accessKey]cachedRole{}, now: time.Now}
}

func (c *accessCache) get(k accessKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.roles[k]
	if !ok || c.now().Sub(r.at) >= accessTTL {
		return "", false
	}
	return r.role, true
}

func (c *accessCache) put(k accessKey, role string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.roles) >= accessCacheSize {
		for k, r := range c.roles {
			if now.Sub(r.at) >= accessTTL {
				delete(c.roles, k)
			}
		}
		if len(c.roles) >= accessCacheSize {
			clear(c.roles)
		}
	}
	c.roles[k] = cachedRole{role: role, at: now}
}
