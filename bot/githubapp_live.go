package bot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/google/go-github/v66/github"

	sesame "github.com/sesame-works/sesame"
)

// AppSource is the GitHub App that GitHub acts as: an App, or a LiveApp that follows the settings.
type AppSource interface {
	// Client returns a go-github client that acts as the installation installationID.
	Client(installationID int64) *github.Client
	// Token returns an installation token for git.
	Token(ctx context.Context, installationID int64) (string, error)
}

var (
	_ AppSource = (*App)(nil)
	_ AppSource = (*LiveApp)(nil)
)

// errNoApp is the answer of a LiveApp that has no app: nothing on GitHub can be done yet.
var errNoApp = sesame.Errorf(sesame.EUNAVAILABLE,
	"No GitHub App is configured on this server yet: an admin creates one at "+sesame.GitHubAppPagePath+".")

// LiveApp is the GitHub App as the settings say now. Configure replaces it when the app's id, key or
// API URL change (an admin created the app from its manifest, on any node), so that every part
// holding the LiveApp acts as the new app at once, without a restart. Until an app is configured every
// call fails with a message that says where to create one.
type LiveApp struct {
	// HTTP is the client apps are built with (nil: NewApp's default).
	HTTP *http.Client

	mu  sync.Mutex // one Configure at a time
	cur atomic.Pointer[liveApp]
}

type liveApp struct {
	app    *App
	id     int64
	key    [sha256.Size]byte
	apiURL string
}

// Configure makes the app with id, private key and apiURL current, keeping the current one (and its
// cached tokens) when nothing changed; changed says whether it did change. id 0 removes the app. A
// key or URL that does not work leaves no app and returns why.
func (l *LiveApp) Configure(id int64, privateKeyPEM []byte, apiURL string) (changed bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := &liveApp{id: id, key: sha256.Sum256(bytes.TrimSpace(privateKeyPEM)), apiURL: apiURL}
	if cur := l.cur.Load(); cur != nil && cur.id == next.id && cur.key == next.key && cur.apiURL == next.apiURL {
		return false, nil
	}
	if id == 0 {
		return l.cur.Swap(nil) != nil, nil
	}
	app, err := NewApp(id, privateKeyPEM, apiURL, l.HTTP)
	if err != nil {
		l.cur.Store(nil)
		return true, err
	}
	next.app = app
	l.cur.Store(next)
	return true, nil
}

// App returns the current app, or nil when none is configured.
func (l *LiveApp) App() *App {
	if cur := l.cur.Load(); cur != nil {
		return cur.app
	}
	return nil
}

// ID returns the current app's id, or 0.
func (l *LiveApp) ID() int64 {
	if a := l.App(); a != nil {
		return a.ID()
	}
	return 0
}

// Client returns a client of the current app's installation; without an app, one whose every call
// fails with errNoApp.
func (l *LiveApp) Client(installationID int64) *github.Client {
	if a := l.App(); a != nil {
		return a.Client(installationID)
	}
	return noAppClient
}

// Token returns an installation token of the current app.
func (l *LiveApp) Token(ctx context.Context, installationID int64) (string, error) {
	if a := l.App(); a != nil {
		return a.Token(ctx, installationID)
	}
	return "", errNoApp
}

// Repositories lists what the current app's installations reach.
func (l *LiveApp) Repositories(ctx context.Context) ([]sesame.RepoRef, error) {
	if a := l.App(); a != nil {
		return a.Repositories(ctx)
	}
	return nil, errNoApp
}

// TokenOwner returns whose personal access token token is, asked at the current app's API.
func (l *LiveApp) TokenOwner(ctx context.Context, token string) (string, error) {
	if a := l.App(); a != nil {
		return a.TokenOwner(ctx, token)
	}
	return "", errNoApp
}

// noAppClient is a go-github client whose transport refuses every request with errNoApp.
var noAppClient = github.NewClient(&http.Client{Transport: noAppTransport{}})

type noAppTransport struct{}

func (noAppTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, errNoApp
}
