package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/queue"
	"github.com/sesame-works/sesame/ratelimit"
	"github.com/sesame-works/sesame/sealed"
)

const (
	testRepo      = "octo/hello"
	encryptionKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	password      = "correct horse battery"
)

// env is the web app on real PostgreSQL and Redis, with the fake GitHub for repositories, tokens and
// permissions.
type env struct {
	srv   *httptest.Server
	opts  admin.Options // what srv's app was built with, for more apps on the same stores
	db    *postgres.DB
	tasks *postgres.TaskStore
	users *postgres.UserStore
	rec   *events.Recorder
	gh    *githubtest.Server
	rdb   *redis.Client
}

func newEnv(t testing.TB, extraEnv ...string) *env {
	t.Helper()
	db := pgtest.Open(t)
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	gh := githubtest.NewServer(t)
	gh.AddInstallation(9, testRepo)
	app, err := bot.NewApp(gh.AppID, gh.PrivateKeyPEM, gh.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"BETTER_AUTH_SECRET": "test-secret-test-secret-test-secret-1234", "BASE_URL": "http://sesame.test",
		"ENCRYPTION_KEY": encryptionKey}
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	cfg, err := config.Load(config.Options{Dir: t.TempDir(), Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	box, err := sealed.New(encryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	tasks := postgres.NewTaskStore(db)
	q := asynq.NewClientFromRedisClient(rdb)
	hub := events.NewHub(rdb, logger)
	t.Cleanup(func() { hub.Close() })
	rec := &events.Recorder{Store: tasks, Redis: rdb, Masker: mask.New(), Logger: logger}
	e := &env{db: db, tasks: tasks, users: postgres.NewUserStore(db), rec: rec, gh: gh, rdb: rdb}
	e.opts = admin.Options{
		Config: cfg, Tasks: tasks, Submitter: &queue.Submitter{Store: tasks, Client: q, Logger: logger},
		Users: e.users, Settings: postgres.NewSettingStore(db), Sessions: pgxstore.NewWithCleanupInterval(db.Pool, 0),
		Live: hub, Stopper: rec, Sealer: box, Limiter: &ratelimit.Redis{Client: rdb, Prefix: "sesame:signin:"},
		Repos: app, GitHub: app, Permissions: &bot.GitHub{App: app}, Logger: logger,
	}
	e.srv = e.serve(t, nil)
	return e
}

// serve starts another web app on e's stores and Redis, as a second web node would be; change, when
// not nil, alters its options first.
func (e *env) serve(t testing.TB, change func(*admin.Options)) *httptest.Server {
	t.Helper()
	opts := e.opts
	if change != nil {
		change(&opts)
	}
	web, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web)
	t.Cleanup(srv.Close)
	return srv
}

// client is one browser: it keeps cookies and does not follow redirects, so tests see them.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (e *env) client(t *testing.T) *client { return e.clientOf(t, e.srv) }

// clientOf is a browser of srv, one of e's web apps.
func (e *env) clientOf(t *testing.T, srv *httptest.Server) *client { return e.clientFrom(t, srv, "") }

// clientFrom is a browser of srv that connects from localIP (any of 127.0.0.0/8 on Linux), so that
// the app sees another client address; "" lets the system choose (127.0.0.1).
func (e *env) clientFrom(t *testing.T, srv *httptest.Server, localIP string) *client {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if localIP != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
		tr.DialContext = d.DialContext
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: srv.URL, hc: &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a finished response with its body read.
type response struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, location: res.Header.Get("Location"), header: res.Header, body: string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

// post submits a form as a browser on the same site would (Sec-Fetch-Site: same-origin), plus headers.
func (c *client) post(path string, form url.Values, headers ...string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

func (c *client) mustStatus(r response, status int, what string) response {
	c.t.Helper()
	if r.status != status {
		c.t.Fatalf("%s: status %d, want %d; location %q; body:\n%s", what, r.status, status, r.location, snippet(r.body))
	}
	return r
}

func snippet(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

func accountForm(name, email string) url.Values {
	return url.Values{"name": {name}, "email": {email}, "password": {password}, "password_confirm": {password}}
}

// setUp creates the first admin through /setup and returns their signed-in browser.
func (e *env) setUp(t *testing.T) *client {
	t.Helper()
	c := e.client(t)
	r := c.mustStatus(c.post("/setup", accountForm("Ada Admin", "ada@example.com")), http.StatusSeeOther, "setup")
	// To the GitHub App page when no app id is set (the harness's app is given, not configured).
	if r.location != "/tasks" && r.location != "/admin/github" {
		t.Fatalf("setup redirected to %q", r.location)
	}
	return c
}

// addUser creates a user with role directly in the store and returns their signed-in browser.
func (e *env) addUser(t *testing.T, name, email string, role sesame.Role) (*client, *sesame.User) {
	t.Helper()
	ctx := context.Background()
	hash := hashFor(t)
	u, err := e.users.CreateUser(ctx, sesame.User{Name: name, Email: email, Role: role, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	c.mustStatus(c.post("/login", url.Values{"email": {email}, "password": {password}}), http.StatusSeeOther, "login "+email)
	return c, u
}

// connectGitHub gives u a connected GitHub login with role on testRepo, as the settings page would
// after checking their token (the token itself plays no part in what is tested here).
func (e *env) connectGitHub(t *testing.T, u *sesame.User, login, role string) {
	t.Helper()
	if err := e.users.SetGitHubToken(context.Background(), u.ID, sesame.GitHubToken{Login: login, Sealed: []byte("sealed"), Last4: "abcd"}); err != nil {
		t.Fatal(err)
	}
	e.gh.SetPermission(testRepo, login, role)
}

var cachedHash string

// hashFor hashes password once, the way the app does, for users made directly in the store.
func hashFor(t testing.TB) string {
	t.Helper()
	if cachedHash == "" {
		h, err := admin.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		cachedHash = h
	}
	return cachedHash
}

// webTask stores a task of user as the form would, without running it.
func (e *env) webTask(t *testing.T, userID, instruction string) *sesame.Task {
	t.Helper()
	task, _, err := e.tasks.CreateTask(context.Background(), sesame.Request{Source: sesame.SourceWeb, DeliveryID: "web:" + instruction + userID,
		Kind: sesame.KindRun, Repo: testRepo, InstallationID: 9, Requester: "someone", Instruction: instruction, UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	return task
}
