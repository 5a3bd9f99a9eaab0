package bot_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/githubtest"
)

// TestLiveAppFollowsTheSettings: without an app every call says where to create one; configuring it
// makes every holder act as it at once; the same settings keep the app (and its tokens); id 0 drops it.
func TestLiveAppFollowsTheSettings(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	gh.CreateRepo(t, "octo/hello", map[string]string{"README.md": "hi\n"})
	live := &bot.LiveApp{}
	gitHub := &bot.GitHub{App: live} // held from the start, as the runner holds it
	ctx := context.Background()

	if _, err := live.Repositories(ctx); err == nil || !strings.Contains(sesame.ErrorMessage(err), "/admin/github") {
		t.Fatalf("no app: repositories error %v", err)
	}
	if _, err := gitHub.Repository(ctx, 7, "octo/hello"); err == nil || !strings.Contains(sesame.ErrorMessage(err), "No GitHub App is configured") {
		t.Fatalf("no app: repository error %v (%s)", err, sesame.ErrorMessage(err))
	}

	changed, err := live.Configure(gh.AppID, gh.PrivateKeyPEM, gh.URL+"/")
	if err != nil || !changed {
		t.Fatalf("configure: changed %v, err %v", changed, err)
	}
	repo, err := gitHub.Repository(ctx, 7, "octo/hello")
	if err != nil || repo.DefaultBranch == "" {
		t.Fatalf("after configure: %+v %v", repo, err)
	}
	first := live.App()
	if changed, _ := live.Configure(gh.AppID, append(gh.PrivateKeyPEM, '\n'), gh.URL+"/"); changed || live.App() != first {
		t.Error("the same settings replaced the app and its cached tokens")
	}
	if _, err := live.Configure(gh.AppID, []byte("not a key"), gh.URL+"/"); err == nil || live.App() != nil {
		t.Errorf("a bad key: err %v, app %v", err, live.App())
	}
	if changed, err := live.Configure(0, nil, ""); err != nil || live.ID() != 0 || changed {
		t.Errorf("id 0 after a failed configure: changed %v err %v id %d", changed, err, live.ID())
	}
}

// TestAppAdminDescribesTheApp: name, owner, installations and webhook address, from GitHub.
func TestAppAdminDescribesTheApp(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(7, "octo/hello")
	gh.AddInstallation(8, "acme/tool")
	gh.SuspendInstallation(8)
	live := &bot.LiveApp{}
	if _, err := live.Configure(gh.AppID, gh.PrivateKeyPEM, gh.URL+"/api/v3/"); err != nil {
		t.Fatal(err)
	}
	info, err := (&bot.AppAdmin{Live: live}).About(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != gh.AppID || info.Slug != gh.AppSlug || info.HTMLURL != gh.URL+"/apps/"+gh.AppSlug || len(info.Installations) != 2 {
		t.Fatalf("about: %+v", info)
	}
	byAccount := map[string]sesame.GitHubInstallation{}
	for _, in := range info.Installations {
		byAccount[in.Account] = in
	}
	if byAccount["octo"].ID != 7 || byAccount["octo"].Suspended || !byAccount["acme"].Suspended {
		t.Errorf("installations %+v", info.Installations)
	}
}

// TestPingWebhook: a ping signed with the secret is answered by Sesame's webhook; a wrong secret, a
// server that is not Sesame and an address nobody serves each get their own explanation.
func TestPingWebhook(t *testing.T) {
	var secret atomic.Value
	secret.Store([]byte("right-secret"))
	hook := &bot.GitHubWebhook{Keys: func() ([]byte, int64) { return secret.Load().([]byte), 4242 },
		Tasks: newMemSubmitter(), Logger: slog.New(slog.DiscardHandler)}
	engine := gin.New()
	engine.POST("/webhooks/github", hook.Handle)
	srv := httptest.NewServer(engine)
	defer srv.Close()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	ctx := context.Background()

	if err := bot.PingWebhook(ctx, nil, srv.URL+"/webhooks/github", []byte("right-secret")); err != nil {
		t.Fatalf("ping: %v", err)
	}
	cases := []struct {
		url, secret, want string
	}{
		{srv.URL + "/webhooks/github", "wrong-secret", "another webhook secret"},
		{other.URL + "/webhooks/github", "right-secret", "not Sesame's pong"},
		{"http://127.0.0.1:1/webhooks/github", "right-secret", "could not be reached"},
		{srv.URL + "/webhooks/github", "", "no webhook secret"},
	}
	for _, c := range cases {
		err := bot.PingWebhook(ctx, nil, c.url, []byte(c.secret))
		if err == nil || !strings.Contains(sesame.ErrorMessage(err), c.want) {
			t.Errorf("ping %s with %q: %v, want %q", c.url, c.secret, err, c.want)
		}
		if err != nil && c.secret != "" && strings.Contains(err.Error(), c.secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	// The webhook takes a new secret at once (Keys), as when an admin creates the app.
	secret.Store([]byte("new-secret"))
	if err := bot.PingWebhook(ctx, nil, srv.URL+"/webhooks/github", []byte("new-secret")); err != nil {
		t.Errorf("after the secret changed: %v", err)
	}
}

// TestConvertManifestRefusesAnOldCode: GitHub answers a used code with 404, said in words.
func TestConvertManifestRefusesAnOldCode(t *testing.T) {
	gh := githubtest.NewServer(t)
	_, err := bot.ConvertManifest(context.Background(), nil, gh.URL+"/", "nosuchcode")
	if err == nil || !strings.Contains(sesame.ErrorMessage(err), "good once") {
		t.Fatalf("unknown code: %v", err)
	}
	if _, err := bot.ConvertManifest(context.Background(), nil, gh.URL+"/", "../app"); err == nil {
		t.Fatal("a code with a slash was sent")
	}
}
