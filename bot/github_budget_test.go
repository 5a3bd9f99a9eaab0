package bot_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/githubtest"
)

// statuses returns the status of each request the fake GitHub received for path.
func statuses(gh *githubtest.Server, method, path string) []int {
	var out []int
	for _, r := range gh.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r.Status)
		}
	}
	return out
}

func TestGitHubConditionalGets(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, "acme/widget")
	gh.SetPermission("acme/widget", "alice", "write")
	g := &bot.GitHub{App: newApp(t, gh, nil)}
	ctx := context.Background()

	for range 3 {
		repo, err := g.Repository(ctx, 1, "acme/widget")
		if err != nil || repo.CloneURL == "" {
			t.Fatalf("Repository = %+v, %v", repo, err)
		}
		if role, err := g.Permission(ctx, 1, "acme/widget", "alice"); err != nil || role != "write" {
			t.Fatalf("Permission = %q, %v", role, err)
		}
	}
	if got := statuses(gh, "GET", "/repos/acme/widget"); len(got) != 3 || got[0] != 200 || got[1] != 304 || got[2] != 304 {
		t.Errorf("repository answers %v, want 200 then 304s: the kept answer revalidated", got)
	}
	// A change is seen: the ETag no longer matches.
	gh.SetPermission("acme/widget", "alice", "read")
	if role, _ := g.Permission(ctx, 1, "acme/widget", "alice"); role != "read" {
		t.Errorf("after the change Permission = %q, want read", role)
	}
	if got := statuses(gh, "GET", "/repos/acme/widget/collaborators/alice/permission"); got[len(got)-1] != 200 {
		t.Errorf("permission answers %v, want a 200 once it changed", got)
	}
}

func TestGitHubWaitsForRateLimit(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, "acme/widget")
	g := &bot.GitHub{App: newApp(t, gh, nil)}
	if _, err := g.GitToken(context.Background(), 1); err != nil { // the token is not what waits
		t.Fatal(err)
	}
	gh.SpendRateLimit(2 * time.Second)

	var mu sync.Mutex
	var notices []string
	ctx := sesame.WithNotice(context.Background(), func(msg string) { mu.Lock(); notices = append(notices, msg); mu.Unlock() })
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = g.Repository(ctx, 1, "acme/widget") })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("a call failed instead of waiting for the reset: %v", err)
		}
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("the calls took %s: they did not wait for the reset", took)
	}
	if n := gh.RateLimited(); n > 3 {
		t.Errorf("%d calls refused for the spent limit: calls kept hammering GitHub instead of waiting", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notices) == 0 || !strings.Contains(notices[0], "rate limit") || !strings.Contains(notices[0], "waits until") {
		t.Errorf("notices = %q, want the wait told", notices)
	}

	// A wait past the caller's deadline fails at once, saying until when.
	gh.SpendRateLimit(time.Hour)
	short, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start = time.Now()
	_, err := g.Repository(short, 1, "acme/widget")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("Repository under an hour-long limit = %v after %s, want a quick error", err, time.Since(start))
	}
	if msg := sesame.ErrorMessage(err); !strings.Contains(msg, "rate limit") {
		t.Errorf("error message %q does not say why", msg)
	}
	if got := statuses(gh, "GET", "/repos/acme/widget"); got[len(got)-1] != http.StatusForbidden {
		t.Errorf("answers %v", got)
	}
}
