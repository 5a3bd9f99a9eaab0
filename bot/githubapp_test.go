package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
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

// exchanges is how many installation tokens gh was asked for, by installation id.
func exchanges(gh *githubtest.Server) map[string]int {
	n := map[string]int{}
	for _, r := range gh.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/access_tokens") {
			n[r.Path]++
		}
	}
	return n
}

// exchangeGate holds token exchanges until it is opened, and counts them.
type exchangeGate struct {
	next    http.RoundTripper
	arrived chan struct{}
	open    chan struct{}
	held    atomic.Int32
}

func (g *exchangeGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/access_tokens") {
		g.held.Add(1)
		g.arrived <- struct{}{}
		<-g.open
	}
	return g.next.RoundTrip(r)
}

// TestTokenSharedExchange: ghinstallation's Transport holds a lock while it trades for a token, so
// 50 callers at once, through Token and through the installation's client, make one exchange.
func TestTokenSharedExchange(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	g := &exchangeGate{next: http.DefaultTransport, arrived: make(chan struct{}, 100), open: make(chan struct{})}
	app := newApp(t, gh, &http.Client{Transport: g, Timeout: 10 * time.Second})

	const callers = 50
	var wg sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			if i%2 == 0 {
				tokens[i], errs[i] = app.Token(context.Background(), 7)
				return
			}
			_, _, errs[i] = app.Client(7).Repositories.Get(context.Background(), "octo", "hello")
		})
	}
	<-g.arrived
	time.Sleep(100 * time.Millisecond) // let the other callers reach the exchange in flight
	close(g.open)
	wg.Wait()

	for i := range callers {
		if errs[i] != nil {
			t.Errorf("caller %d: %v", i, errs[i])
		}
		if i%2 == 0 && tokens[i] != tokens[0] {
			t.Errorf("caller %d got another token than caller 0", i)
		}
	}
	if n := g.held.Load(); n != 1 || gh.TokensIssued() != 1 {
		t.Errorf("%d exchanges sent, %d tokens issued for %d concurrent callers; want 1", n, gh.TokensIssued(), callers)
	}
}

func TestTokenCachedPerInstallation(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	gh.AddInstallation(8, "acme/web")
	app := newApp(t, gh, nil)
	ctx := context.Background()

	first, err := app.Token(ctx, 7)
	if err != nil || !strings.HasPrefix(first, "ghs_") {
		t.Fatalf("Token(7) = %q, %v", first, err)
	}
	if again, err := app.Token(ctx, 7); err != nil || again != first {
		t.Errorf("Token(7) again = %q, %v; want the cached token", again, err)
	}
	if _, _, err := app.Client(7).Repositories.Get(ctx, "octo", "hello"); err != nil {
		t.Fatal(err)
	}
	if other, err := app.Token(ctx, 8); err != nil || other == first {
		t.Errorf("Token(8) = %q, %v; want a token of its own", other, err)
	}
	want := map[string]int{"/app/installations/7/access_tokens": 1, "/app/installations/8/access_tokens": 1}
	if diff := cmp.Diff(want, exchanges(gh)); diff != "" {
		t.Errorf("exchanges (-want +got):\n%s", diff)
	}
	for _, r := range gh.Requests() {
		if r.Path == "/repos/octo/hello" && (r.Auth != "token" || r.Installation != 7) {
			t.Errorf("GET /repos/octo/hello authenticated as %q of installation %d, want token of 7", r.Auth, r.Installation)
		}
	}
}

// expiresIn rewrites the expiry of every installation token GitHub gives to now+d.
type expiresIn struct{ d time.Duration }

func (e expiresIn) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/access_tokens") || resp.StatusCode != http.StatusCreated {
		return resp, err
	}
	defer resp.Body.Close()
	var tok map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return nil, err
	}
	tok["expires_at"] = time.Now().Add(e.d).UTC().Format(time.RFC3339)
	body, _ := json.Marshal(tok)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestTokenRefreshedBeforeExpiry: a token is used until a minute before it expires, then traded for
// a new one.
func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		left      time.Duration // how long each token GitHub gives lasts
		exchanges int           // for three calls
	}{
		{name: "an hour", left: time.Hour, exchanges: 1},
		{name: "two minutes", left: 2 * time.Minute, exchanges: 1},
		{name: "under a minute", left: 50 * time.Second, exchanges: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := githubtest.NewServer(t)
			gh.AddInstallation(7, "octo/hello")
			app := newApp(t, gh, &http.Client{Transport: expiresIn{tc.left}, Timeout: 10 * time.Second})
			seen := map[string]bool{}
			for range 3 {
				tok, err := app.Token(context.Background(), 7)
				if err != nil {
					t.Fatal(err)
				}
				seen[tok] = true
			}
			if n := gh.TokensIssued(); n != tc.exchanges || len(seen) != tc.exchanges {
				t.Errorf("%d tokens issued, %d distinct tokens returned; want %d", n, len(seen), tc.exchanges)
			}
		})
	}
}

// closeTracker records whether the bodies of failed token exchanges were closed.
type closeTracker struct {
	mu     sync.Mutex
	bodies []*trackedBody
}

type trackedBody struct {
	io.ReadCloser
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return b.ReadCloser.Close() }

func (c *closeTracker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/access_tokens") && resp.StatusCode >= 400 {
		b := &trackedBody{ReadCloser: resp.Body}
		resp.Body = b
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
	}
	return resp, err
}

func TestTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		code   string // of GitHub.GitToken's error
	}{
		{name: "installation gone", status: http.StatusNotFound, code: sesame.ENOTFOUND},
		{name: "suspended", status: http.StatusForbidden, code: sesame.EFORBIDDEN},
		{name: "GitHub fails", status: http.StatusServiceUnavailable, code: sesame.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := githubtest.NewServer(t)
			gh.AddInstallation(7, "octo/hello")
			tracker := &closeTracker{}
			app := newApp(t, gh, &http.Client{Transport: tracker, Timeout: 10 * time.Second})
			gh.FailNext("POST", "/app/installations/7/access_tokens", tc.status, "")
			gh.FailNext("POST", "/app/installations/7/access_tokens", tc.status, "")

			tok, err := app.Token(context.Background(), 7)
			if tok != "" || err == nil || !strings.Contains(err.Error(), "create installation token for installation 7: ") ||
				!strings.Contains(err.Error(), http.StatusText(tc.status)) {
				t.Fatalf("Token = %q, %v; want an error that names the installation and the status", tok, err)
			}
			tok, err = (&bot.GitHub{App: app}).GitToken(context.Background(), 7)
			if tok != "" || sesame.ErrorCode(err) != tc.code {
				t.Errorf("GitToken = %q, %v (%s); want %s", tok, err, sesame.ErrorCode(err), tc.code)
			}
			tracker.mu.Lock()
			for i, b := range tracker.bodies {
				if !b.closed.Load() {
					t.Errorf("the body of failed exchange %d was left open", i)
				}
			}
			tracker.mu.Unlock()

			// A failure is not cached: the next call trades again, and succeeds.
			if tok, err := app.Token(context.Background(), 7); err != nil || tok == "" {
				t.Errorf("Token after the failures = %q, %v", tok, err)
			}
			if n := exchanges(gh)["/app/installations/7/access_tokens"]; n != 3 {
				t.Errorf("%d exchanges, want 3", n)
			}
		})
	}
}

// TestTokenEnterprise: the exchange goes to the configured API URL, as GitHub Enterprise Server
// serves it under /api/v3.
func TestTokenEnterprise(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	app, err := bot.NewApp(gh.AppID, gh.PrivateKeyPEM, gh.URL+"/api/v3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Client(7).Repositories.Get(context.Background(), "octo", "hello"); err != nil {
		t.Fatal(err)
	}
	for _, r := range gh.Requests() {
		if !r.Enterprise {
			t.Errorf("%s %s was not sent under /api/v3", r.Method, r.Path)
		}
	}
	if n := gh.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued, want 1", n)
	}
}

func TestNewAppErrors(t *testing.T) {
	gh := githubtest.NewServer(t)
	for _, tc := range []struct {
		name string
		id   int64
		key  []byte
		url  string
		want string
	}{
		{name: "no id", id: 0, key: gh.PrivateKeyPEM, url: gh.URL, want: "set GITHUB_APP_ID"},
		{name: "bad key", id: gh.AppID, key: []byte("not a key"), url: gh.URL, want: "github app private key: "},
		{name: "relative url", id: gh.AppID, key: gh.PrivateKeyPEM, url: "api.github.com", want: "want an absolute http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bot.NewApp(tc.id, tc.key, tc.url, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewApp = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
