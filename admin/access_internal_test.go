package admin

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// slowGitHub answers every role after a delay, as a distant API does, and records how many
// questions it had in flight at once.
type slowGitHub struct {
	delay    time.Duration
	mu       sync.Mutex
	asked    int
	inFlight int
	most     int
}

func (g *slowGitHub) Permission(ctx context.Context, _ int64, repo, _ string) (string, error) {
	g.mu.Lock()
	g.asked++
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.inFlight--; g.mu.Unlock() }()
	select {
	case <-time.After(g.delay):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if len(repo)%2 == 0 {
		return "write", nil
	}
	return "read", nil
}

// TestOfferReposAsksConcurrentlyAndBriefly: a long repository list is checked a few at a time, not
// one after another, and a reload within accessTTL asks GitHub nothing; after it, it asks again.
func TestOfferReposAsksConcurrentlyAndBriefly(t *testing.T) {
	gh := &slowGitHub{delay: 50 * time.Millisecond}
	a := &App{Options: Options{Permissions: gh, Logger: slog.New(slog.DiscardHandler)}, access: newAccessCache()}
	clock := time.Now()
	a.access.now = func() time.Time { return clock }
	var repos []sesame.RepoRef
	for i := range 80 {
		repos = append(repos, sesame.RepoRef{FullName: fmt.Sprintf("octo/repo-%d", i), InstallationID: 9})
	}
	u := &sesame.User{ID: "u1", Role: sesame.RoleUser, GitHubLogin: "erin-gh"}

	start := time.Now()
	v := taskFormView{Repos: repos}
	a.offerRepos(context.Background(), u, &v)
	took := time.Since(start)
	if gh.asked != 80 || gh.most < 2 || gh.most > accessConcurrency {
		t.Errorf("asked %d roles, at most %d at once; want 80, between 2 and %d", gh.asked, gh.most, accessConcurrency)
	}
	if took > 80*gh.delay/2 {
		t.Errorf("80 roles took %s: asked one after another", took)
	}
	if len(v.Repos)+len(v.Unavailable) != 80 || len(v.Repos) == 0 || len(v.Unavailable) == 0 || !v.ByAccess {
		t.Errorf("%d offered, %d not offered", len(v.Repos), len(v.Unavailable))
	}

	again := taskFormView{Repos: repos}
	a.offerRepos(context.Background(), u, &again)
	if gh.asked != 80 || len(again.Repos) != len(v.Repos) {
		t.Errorf("a reload asked GitHub again (%d questions) or offered other repositories", gh.asked-80)
	}
	// A submitted task is always checked afresh.
	if why := a.refusal(context.Background(), u, v.Repos[0], true); why != "" || gh.asked != 81 {
		t.Errorf("fresh check: %q after %d questions", why, gh.asked)
	}
	clock = clock.Add(accessTTL)
	a.offerRepos(context.Background(), u, &taskFormView{Repos: repos})
	if gh.asked != 161 {
		t.Errorf("after %s GitHub was asked %d more times, want 80", accessTTL, gh.asked-81)
	}
}
