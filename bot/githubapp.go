package bot

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v84/github"
	"golang.org/x/sync/singleflight"
)

// App authenticates as a GitHub App: it signs short-lived JWTs with the app's private key and trades
// them for installation tokens, which it caches until shortly before they expire. It does what
// ghinstallation does, on go-github's own token endpoint.
type App struct {
	id      int64
	key     *rsa.PrivateKey
	baseURL *url.URL
	hc      *http.Client

	app    *github.Client // authenticated with the app's JWT
	flight singleflight.Group
	repos  repoCache // the answer of Repositories

	mu      sync.Mutex
	tokens  map[int64]installationToken
	clients map[int64]*github.Client
}

type installationToken struct {
	token   string
	expires time.Time
}

// tokenSlack is how long before its expiry a cached installation token is replaced.
const tokenSlack = 5 * time.Minute

// NewApp returns an App for the GitHub App id with the PEM private key, talking to the REST API at
// apiURL (https://api.github.com/, or https://HOST/api/v3/ for GitHub Enterprise Server).
func NewApp(id int64, privateKeyPEM []byte, apiURL string, hc *http.Client) (*App, error) {
	if id <= 0 {
		return nil, fmt.Errorf("github app id %d: set GITHUB_APP_ID to the App ID shown on the app's settings page", id)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(privateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("github app private key: %w", err)
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
	a := &App{id: id, key: key, baseURL: base, hc: hc,
		tokens: map[int64]installationToken{}, clients: map[int64]*github.Client{}}
	a.repos.now = time.Now
	a.app = a.newClient(roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		signed, err := a.JWT()
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+signed)
		return a.transport().RoundTrip(r)
	}))
	return a, nil
}

// ID returns the GitHub App id.
func (a *App) ID() int64 { return a.id }

// JWT returns a token that authenticates as the app itself, valid for nine minutes. Its issue time is
// set a minute back to allow for clock drift, as GitHub recommends.
func (a *App) JWT() (string, error) {
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.id, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
}

// Token returns an installation token for installationID, from the cache while it has more than
// five minutes left. Concurrent callers share one exchange.
func (a *App) Token(ctx context.Context, installationID int64) (string, error) {
	a.mu.Lock()
	cached, ok := a.tokens[installationID]
	a.mu.Unlock()
	if ok && time.Until(cached.expires) > tokenSlack {
		return cached.token, nil
	}
	v, err, _ := a.flight.Do(strconv.FormatInt(installationID, 10), func() (any, error) {
		tok, _, err := a.app.Apps.CreateInstallationToken(ctx, installationID, nil)
		if err != nil {
			return "", fmt.Errorf("create installation token for installation %d: %w", installationID, err)
		}
		it := installationToken{token: tok.GetToken(), expires: tok.GetExpiresAt().Time}
		if it.token == "" {
			return "", fmt.Errorf("create installation token for installation %d: empty token", installationID)
		}
		a.mu.Lock()
		a.tokens[installationID] = it
		a.mu.Unlock()
		return it.token, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// Client returns a go-github client that acts as the app's installation installationID.
func (a *App) Client(installationID int64) *github.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[installationID]; ok {
		return c
	}
	c := a.newClient(roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		tok, err := a.Token(r.Context(), installationID)
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "token "+tok)
		return a.transport().RoundTrip(r)
	}))
	a.clients[installationID] = c
	return c
}

func (a *App) newClient(rt http.RoundTripper) *github.Client {
	c := github.NewClient(&http.Client{Transport: rt, Timeout: a.hc.Timeout})
	c.BaseURL = a.baseURL
	c.UploadURL = a.baseURL
	return c
}

func (a *App) transport() http.RoundTripper {
	if a.hc.Transport != nil {
		return a.hc.Transport
	}
	return http.DefaultTransport
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
