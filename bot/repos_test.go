package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/githubtest"
)

// newApp is an App for gh's app, talking to gh through hc (nil: the default client).
func newApp(t *testing.T, gh *githubtest.Server, hc *http.Client) *bot.App {
	t.Helper()
	app, err := bot.NewApp(gh.AppID, gh.PrivateKeyPEM, gh.URL+"/", hc)
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	return app
}

// clock is a settable time for the repository cache.
type clock struct{ t atomic.Int64 }

func newClock(a *bot.App) *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).UnixNano())
	bot.SetClock(a, func() time.Time { return time.Unix(0, c.t.Load()) })
	return c
}

func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

// count is how many requests gh received for path, by method GET.
func count(gh *githubtest.Server, path string) int {
	n := 0
	for _, r := range gh.Requests() {
		if r.Method == "GET" && r.Path == path {
			n++
		}
	}
	return n
}

func mustRepositories(t *testing.T, app *bot.App) []sesame.RepoRef {
	t.Helper()
	refs, err := app.Repositories(context.Background())
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	return refs
}

func TestRepositories(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello", "octo/Alpha")
	gh.AddInstallation(3, "acme/web")
	gh.AddInstallation(9, "Zeta/tools")
	gh.SetPrivate("acme/web", false)
	app := newApp(t, gh, nil)
	clk := newClock(app)

	want := []sesame.RepoRef{
		{FullName: "acme/web", InstallationID: 3, Private: false},
		{FullName: "octo/Alpha", InstallationID: 7, Private: true},
		{FullName: "octo/hello", InstallationID: 7, Private: true},
		{FullName: "Zeta/tools", InstallationID: 9, Private: true},
	}
	got := mustRepositories(t, app)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Repositories (-want +got):\n%s", diff)
	}
	sent := len(gh.Requests())
	if n := count(gh, "/installation/repositories"); n != 3 {
		t.Errorf("%d repository listings, want one per installation", n)
	}

	// From the cache: no request, and the caller's copy is its own.
	got[0].FullName = "changed/by-caller"
	gh.AddInstallation(3, "acme/new")
	clk.advance(59 * time.Second)
	if diff := cmp.Diff(want, mustRepositories(t, app)); diff != "" {
		t.Errorf("cached Repositories (-want +got):\n%s", diff)
	}
	if n := len(gh.Requests()); n != sent {
		t.Errorf("%d requests after a cache hit, want none", n-sent)
	}

	// A minute on, GitHub is asked again and the new repository shows.
	clk.advance(time.Second)
	got = mustRepositories(t, app)
	if n := count(gh, "/app/installations"); n != 2 {
		t.Errorf("%d installation listings after the cache expired, want 2", n)
	}
	if len(got) != 5 || got[0] != (sesame.RepoRef{FullName: "acme/new", InstallationID: 3, Private: true}) {
		t.Errorf("after expiry: %v, want acme/new first of 5", got)
	}
}

func TestRepositoriesPages(t *testing.T) {
	gh := githubtest.NewServer(t)
	var many []string
	for i := range 150 {
		many = append(many, fmt.Sprintf("big/r%03d", i))
	}
	gh.AddInstallation(1, many...)
	for id := int64(2); id <= 101; id++ {
		gh.AddInstallation(id, fmt.Sprintf("small%03d/only", id))
	}
	app := newApp(t, gh, nil)

	got := mustRepositories(t, app)
	if len(got) != 250 {
		t.Fatalf("%d repositories, want 150 + 100", len(got))
	}
	if got[0] != (sesame.RepoRef{FullName: "big/r000", InstallationID: 1, Private: true}) ||
		got[149].FullName != "big/r149" || got[150] != (sesame.RepoRef{FullName: "small002/only", InstallationID: 2, Private: true}) ||
		got[249] != (sesame.RepoRef{FullName: "small101/only", InstallationID: 101, Private: true}) {
		t.Errorf("repositories = %v ... %v", got[:2], got[148:])
	}
	var pages []string
	for _, r := range gh.Requests() {
		if r.Path == "/app/installations" || (r.Path == "/installation/repositories" && r.Installation == 1) {
			pages = append(pages, r.Path+"?"+r.Query)
		}
	}
	want := []string{
		"/app/installations?per_page=100", "/app/installations?page=2&per_page=100",
		"/installation/repositories?per_page=100", "/installation/repositories?page=2&per_page=100",
	}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages asked for (-want +got):\n%s", diff)
	}
}

func TestRepositoriesSkipsSuspended(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	gh.AddInstallation(8, "gone/away")
	gh.SuspendInstallation(8)
	got := mustRepositories(t, newApp(t, gh, nil))
	if want := []sesame.RepoRef{{FullName: "octo/hello", InstallationID: 7, Private: true}}; !cmp.Equal(want, got) {
		t.Errorf("Repositories = %v, want %v", got, want)
	}
}

func TestRepositoriesErrors(t *testing.T) {
	unreachable := httptest.NewServer(http.NotFoundHandler())
	unreachable.Close()

	for _, tc := range []struct {
		name     string
		setup    func(gh *githubtest.Server) *bot.App
		code     string
		message  string
		internal string // in the error's text, for the log
	}{
		{
			name: "installations 502",
			setup: func(gh *githubtest.Server) *bot.App {
				gh.FailNext("GET", "/app/installations", http.StatusBadGateway, "")
				return nil
			},
			code: sesame.EUNAVAILABLE, message: "GitHub could not be reached to list repositories.", internal: "502 Bad Gateway",
		},
		{
			name: "repositories 500",
			setup: func(gh *githubtest.Server) *bot.App {
				gh.FailNext("GET", "/installation/repositories", http.StatusInternalServerError, "")
				return nil
			},
			code: sesame.EUNAVAILABLE, message: "GitHub could not be reached to list repositories.", internal: "installation 7",
		},
		{
			name: "token 503",
			setup: func(gh *githubtest.Server) *bot.App {
				gh.FailNext("POST", "/app/installations/7/access_tokens", http.StatusServiceUnavailable, "")
				return nil
			},
			code: sesame.EUNAVAILABLE, message: "GitHub could not be reached to list repositories.", internal: "503",
		},
		{
			name: "connection refused",
			setup: func(gh *githubtest.Server) *bot.App {
				app, err := bot.NewApp(gh.AppID, gh.PrivateKeyPEM, unreachable.URL+"/", nil)
				if err != nil {
					panic(err)
				}
				return app
			},
			code: sesame.EUNAVAILABLE, message: "GitHub could not be reached to list repositories.", internal: "connect",
		},
		{
			name: "another app's id",
			setup: func(gh *githubtest.Server) *bot.App {
				app, err := bot.NewApp(gh.AppID+1, gh.PrivateKeyPEM, gh.URL+"/", nil)
				if err != nil {
					panic(err)
				}
				return app
			},
			code: sesame.EINTERNAL, message: "GitHub refused to list the app's repositories.", internal: "401",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := githubtest.NewServer(t)
			gh.AddInstallation(7, "octo/hello")
			app := tc.setup(gh)
			if app == nil {
				app = newApp(t, gh, nil)
			}
			_, err := app.Repositories(context.Background())
			if sesame.ErrorCode(err) != tc.code || sesame.ErrorMessage(err) != tc.message || !strings.Contains(err.Error(), tc.internal) {
				t.Fatalf("error = %v (%s, %q); want %s, %q, text with %q",
					err, sesame.ErrorCode(err), sesame.ErrorMessage(err), tc.code, tc.message, tc.internal)
			}
			if tc.code == sesame.EINTERNAL || tc.name == "connection refused" {
				return // the same on every try
			}
			// Not cached: the next call asks again, and succeeds.
			before := count(gh, "/app/installations")
			got := mustRepositories(t, app)
			if want := []sesame.RepoRef{{FullName: "octo/hello", InstallationID: 7, Private: true}}; !cmp.Equal(want, got) {
				t.Errorf("after the failure: %v, want %v", got, want)
			}
			if n := count(gh, "/app/installations") - before; n != 1 {
				t.Errorf("%d installation listings after a failure, want 1: an error is not cached", n)
			}
		})
	}
}

// gate holds requests for /app/installations until it is opened.
type gate struct {
	next    http.RoundTripper
	arrived chan struct{} // gets a value as each held request arrives
	open    chan struct{}
	held    atomic.Int32
}

func newGate() *gate {
	return &gate{next: http.DefaultTransport, arrived: make(chan struct{}, 100), open: make(chan struct{})}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/app/installations" {
		g.held.Add(1)
		g.arrived <- struct{}{}
		<-g.open
	}
	return g.next.RoundTrip(r)
}

func TestRepositoriesSharedRefresh(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	g := newGate()
	app := newApp(t, gh, &http.Client{Transport: g, Timeout: 10 * time.Second})

	const callers = 10
	var wg sync.WaitGroup
	results := make([][]sesame.RepoRef, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { results[i], errs[i] = app.Repositories(context.Background()) })
	}
	<-g.arrived
	time.Sleep(50 * time.Millisecond) // let the other callers reach the refresh in flight
	close(g.open)
	wg.Wait()

	want := []sesame.RepoRef{{FullName: "octo/hello", InstallationID: 7, Private: true}}
	for i := range callers {
		if errs[i] != nil || !cmp.Equal(want, results[i]) {
			t.Errorf("caller %d: %v, %v", i, results[i], errs[i])
		}
	}
	if n := g.held.Load(); n != 1 {
		t.Errorf("%d installation listings for %d concurrent callers, want 1", n, callers)
	}
}

func TestRepositoriesCallerGivesUp(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	g := newGate()
	app := newApp(t, gh, &http.Client{Transport: g, Timeout: 10 * time.Second})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := app.Repositories(ctx)
		done <- err
	}()
	<-g.arrived
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Repositories did not return when its context was canceled")
	}

	// The refresh went on; once it is through, its answer is cached.
	close(g.open)
	gh.WaitFor(t, func() bool { return count(gh, "/installation/repositories") == 1 }, 5*time.Second)
	var refs []sesame.RepoRef
	gh.WaitFor(t, func() bool {
		refs, _ = app.Repositories(context.Background())
		return len(refs) == 1
	}, 5*time.Second)
	if n := g.held.Load(); n != 1 {
		t.Errorf("%d installation listings, want 1: the abandoned refresh should have filled the cache", n)
	}
}

func TestTokenOwner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		token   func(gh *githubtest.Server) string
		fail    int // FailNext status for GET /user, if not 0
		login   string
		code    string
		message string
	}{
		{name: "classic token", token: func(*githubtest.Server) string { return "ghp_AliceToken0123456789" }, login: "alice"},
		{name: "fine-grained token", token: func(*githubtest.Server) string { return "github_pat_11BOB_x" }, login: "Bob"},
		{
			name: "unknown token", token: func(*githubtest.Server) string { return "ghp_NotAToken0123456789" },
			code: sesame.EINVALID, message: "GitHub did not accept this token.",
		},
		{
			name: "installation token", token: func(gh *githubtest.Server) string { return installationToken(t, gh, 7) },
			code: sesame.EINVALID, message: "GitHub did not accept this token as a user's token.",
		},
		{
			name: "GitHub fails", token: func(*githubtest.Server) string { return "ghp_AliceToken0123456789" }, fail: http.StatusBadGateway,
			code: sesame.EUNAVAILABLE, message: "GitHub could not be reached to check this token.",
		},
		{
			name: "line break", token: func(*githubtest.Server) string { return "ghp_AliceToken0123456789\n" },
			code: sesame.EINVALID, message: "A GitHub token has no spaces or line breaks.",
		},
		{name: "empty", token: func(*githubtest.Server) string { return "" }, code: sesame.EINVALID, message: "A GitHub token has no spaces or line breaks."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := githubtest.NewServer(t)
			gh.AddInstallation(7, "octo/hello")
			gh.AddUserToken("ghp_AliceToken0123456789", "alice")
			gh.AddUserToken("github_pat_11BOB_x", "Bob")
			if tc.fail != 0 {
				gh.FailNext("GET", "/user", tc.fail, "")
			}
			token := tc.token(gh)
			login, err := newApp(t, gh, nil).TokenOwner(context.Background(), token)
			if tc.code == "" {
				if err != nil || login != tc.login {
					t.Fatalf("TokenOwner = %q, %v; want %q", login, err, tc.login)
				}
				return
			}
			if login != "" || sesame.ErrorCode(err) != tc.code || sesame.ErrorMessage(err) != tc.message {
				t.Fatalf("TokenOwner = %q, %v (%s, %q); want %s, %q", login, err, sesame.ErrorCode(err), sesame.ErrorMessage(err), tc.code, tc.message)
			}
			if token != "" && (strings.Contains(err.Error(), strings.TrimSpace(token)) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), strings.TrimSpace(token))) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestTokenOwnerUsesAppAPIURL(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddUserToken("ghp_AliceToken0123456789", "alice")
	app, err := bot.NewApp(gh.AppID, gh.PrivateKeyPEM, gh.URL+"/api/v3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if login, err := app.TokenOwner(context.Background(), "ghp_AliceToken0123456789"); err != nil || login != "alice" {
		t.Fatalf("TokenOwner = %q, %v", login, err)
	}
	reqs := gh.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/user" || !reqs[0].Enterprise || reqs[0].Auth != "Bearer" {
		t.Errorf("requests = %+v, want one GET /user under /api/v3 with a Bearer token", reqs)
	}
}

// installationToken gets a token for installation id the way the bot does.
func installationToken(t *testing.T, gh *githubtest.Server, id int64) string {
	t.Helper()
	tok, err := newApp(t, gh, nil).Token(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
