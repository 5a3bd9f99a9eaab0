package bot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v66/github"
	"golang.org/x/sync/singleflight"
)

// App authenticates as a GitHub App through ghinstallation: as the app itself with a JWT signed by
// the app's private key on every request, and as each installation with an installation token.
//
// Each installation has one ghinstallation.Transport, kept for the App's life, that caches its token
// and trades a new one for it a minute before it expires. The Transport holds a lock while it trades,
// so concurrent callers for one installation share one exchange (TestTokenSharedExchange).
type App struct {
	id      int64
	apiURL  *url.URL // ends in "/"
	timeout time.Duration
	base    http.RoundTripper             // under every request: the caller's transport
	jwt     *ghinstallation.AppsTransport // signs a JWT on each request; copied for installations

	app    *github.Client     // authenticated with the app's JWT
	flight singleflight.Group // one refresh of Repositories at a time
	repos  repoCache          // the answer of Repositories

	mu            sync.Mutex
	installations map[int64]*installation
}

// installation is how the App acts as one installation of the app.
type installation struct {
	tr     *ghinstallation.Transport
	client *github.Client
}

// NewApp returns an App for the GitHub App id with the PEM private key, talking to the REST API at
// apiURL (https://api.github.com/, or https://HOST/api/v3/ for GitHub Enterprise Server) through hc's
// transport and within its timeout (nil: http.DefaultTransport, 30 seconds).
func NewApp(id int64, privateKeyPEM []byte, apiURL string, hc *http.Client) (*App, error) {
	if id <= 0 {
		return nil, fmt.Errorf("github app id %d: set GITHUB_APP_ID to the App ID shown on the app's settings page", id)
	}
	base, err := url.Parse(apiURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("github api url %q: want an absolute http(s) URL", apiURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	a := &App{id: id, apiURL: base, timeout: hc.Timeout, base: hc.Transport, installations: map[int64]*installation{}}
	if a.base == nil {
		a.base = http.DefaultTransport
	}
	// ghinstallation v2.12.0 leaves the body of a failed token exchange open in its error.
	a.jwt, err = ghinstallation.NewAppsTransport(closeFailures{a.base}, id, privateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("github app private key: %w", err)
	}
	a.jwt.BaseURL = base.String()
	a.repos.now = time.Now
	a.app = a.newClient(a.jwt)
	return a, nil
}

// ID returns the GitHub App id.
func (a *App) ID() int64 { return a.id }

// Token returns an installation token for installationID, from the cache while it has more than a
// minute left. Concurrent callers share one exchange. The exchange is bounded by the App's timeout.
func (a *App) Token(ctx context.Context, installationID int64) (string, error) {
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	tok, err := a.installation(installationID).tr.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("create installation token for installation %d: %w", installationID, err)
	}
	if tok == "" {
		return "", fmt.Errorf("create installation token for installation %d: empty token", installationID)
	}
	return tok, nil
}

// Client returns a go-github client that acts as the app's installation installationID.
func (a *App) Client(installationID int64) *github.Client {
	return a.installation(installationID).client
}

func (a *App) installation(id int64) *installation {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in, ok := a.installations[id]; ok {
		return in
	}
	// A Transport writes its BaseURL and Client into the AppsTransport it trades through, under its
	// own lock only: installations that trade at the same time must not share one.
	jwt := *a.jwt
	tr := ghinstallation.NewFromAppsTransport(&jwt, id)
	tr.BaseURL = a.apiURL.String()
	in := &installation{tr: tr, client: a.newClient(newAPIBudget(tr))}
	a.installations[id] = in
	return in
}

func (a *App) newClient(rt http.RoundTripper) *github.Client {
	c := github.NewClient(&http.Client{Transport: rt, Timeout: a.timeout})
	c.BaseURL = a.apiURL
	c.UploadURL = a.apiURL
	return c
}

// closeFailures reads the body of an answer that is not a 2xx into memory, up to 1 MiB, and closes
// it. ghinstallation returns a failed token exchange's response in its error without closing its
// body, which would keep the connection and its goroutines for as long as the process lives.
type closeFailures struct{ next http.RoundTripper }

func (t closeFailures) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode/100 == 2 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s %s answer: %w", r.Method, r.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
