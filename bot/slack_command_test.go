package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/internal/slacktest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/queue"
)

const (
	slackSecret = "slack-signing-secret-for-tests"
	slackToken  = "xoxb-test-token"
)

// slackHarness is the Slack handlers on real Postgres and Redis, a fake Slack and a fake GitHub.
type slackHarness struct {
	engine    *gin.Engine
	db        *postgres.DB
	store     *postgres.TaskStore
	users     *postgres.UserStore
	links     *postgres.SlackLinks
	slack     *slacktest.Server
	gh        *githubtest.Server
	inspector *asynq.Inspector
	stopper   *recordingStopper
	seq       int
}

// recordingStopper is a bot.TaskStopper that remembers who asked to stop what.
type recordingStopper struct {
	mu      sync.Mutex
	stopped []string // "task by name"
}

func (s *recordingStopper) RequestStop(_ context.Context, id, by string) (*sesame.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = append(s.stopped, id+" by "+by)
	return &sesame.Task{ID: id}, nil
}

func (s *recordingStopper) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stopped)
}

func newSlackHarness(t testing.TB) *slackHarness {
	t.Helper()
	db := pgtest.Open(t)
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	logger := slog.New(slog.DiscardHandler)
	h := &slackHarness{db: db, store: postgres.NewTaskStore(db), users: postgres.NewUserStore(db), links: postgres.NewSlackLinks(db),
		inspector: asynq.NewInspectorFromRedisClient(rdb), stopper: &recordingStopper{}}
	submitter := &queue.Submitter{Store: h.store, Client: asynq.NewClientFromRedisClient(rdb), Logger: logger}

	h.slack = slacktest.New(slackToken,
		slacktest.User{ID: "U_ALICE", Name: "alice", Email: "alice@example.com"},
		slacktest.User{ID: "U_BOB", Name: "bob", Email: "bob@example.com"},
		slacktest.User{ID: "U_ADMIN", Name: "ada", Email: "ada@example.com"},
		slacktest.User{ID: "U_NOBODY", Name: "nobody", Email: "nobody@example.com"},
		slacktest.User{ID: "U_NOGH", Name: "carol", Email: "carol@example.com"},
	)
	t.Cleanup(h.slack.Close)
	h.gh = githubtest.NewServer(t)
	h.gh.AddInstallation(9, "octo/hello", "octo/other")
	h.gh.SetPermission("octo/hello", "alice-gh", "write")
	h.gh.SetPermission("octo/other", "alice-gh", "read")
	h.gh.SetPermission("octo/hello", "bob-gh", "write")
	app, err := bot.NewApp(h.gh.AppID, h.gh.PrivateKeyPEM, h.gh.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []sesame.User{
		{Email: "alice@example.com", Name: "Alice", Role: sesame.RoleUser, GitHubLogin: "alice-gh"},
		{Email: "bob@example.com", Name: "Bob", Role: sesame.RoleUser, GitHubLogin: "bob-gh"},
		{Email: "ada@example.com", Name: "Ada", Role: sesame.RoleAdmin},
		{Email: "carol@example.com", Name: "Carol", Role: sesame.RoleUser},
	} {
		created, err := h.users.CreateUser(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		if u.GitHubLogin != "" {
			if err := h.users.SetGitHubToken(context.Background(), created.ID, sesame.GitHubToken{Login: u.GitHubLogin, Sealed: []byte("sealed"), Last4: "abcd"}); err != nil {
				t.Fatal(err)
			}
		}
	}

	commands := &bot.SlackCommands{
		Verifier: bot.SlackVerifier{Secret: []byte(slackSecret)},
		Slack:    bot.NewSlack(slackToken, h.slack.APIURL(), nil),
		Tasks:    submitter, Users: h.users, Channels: postgres.NewSlackChannels(db),
		Repos: app, Permissions: &bot.GitHub{App: app}, Logger: logger,
		Links: h.links, BaseURL: "https://sesame.example.com",
	}
	interact := &bot.SlackInteractivity{Verifier: commands.Verifier, Commands: commands, Tasks: h.store, Stopper: h.stopper, Logger: logger}
	gin.SetMode(gin.ReleaseMode)
	h.engine = gin.New()
	h.engine.POST("/webhooks/slack/commands", commands.Handle)
	h.engine.POST("/webhooks/slack/interactivity", interact.Handle)
	return h
}

// command is a slash command from the Slack member user in channel C_ENG with text.
func (h *slackHarness) command(user, text string) slacktest.Command {
	h.seq++
	names := map[string]string{"U_ALICE": "alice", "U_BOB": "bob", "U_ADMIN": "ada", "U_NOBODY": "nobody", "U_NOGH": "carol"}
	return slacktest.Command{TeamID: "T_ACME", TeamDomain: "acme", ChannelID: "C_ENG", ChannelName: "eng", UserID: user,
		UserName: names[user], Text: text, TriggerID: fmt.Sprintf("trigger.%d.%d", time.Now().UnixNano(), h.seq),
		ResponseURL: "https://hooks.slack.com/commands/T_ACME/1/x"}
}

// send posts the command signed at ts and returns the status and the ephemeral text.
func (h *slackHarness) send(t testing.TB, c slacktest.Command, at time.Time) (int, string) {
	t.Helper()
	return h.serve(t, slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, at, c.Form()))
}

func (h *slackHarness) serve(t testing.TB, r *http.Request) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, r)
	var reply struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if rec.Code == http.StatusOK && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("answer %q: %v", rec.Body, err)
		}
		if reply.ResponseType != "ephemeral" {
			t.Errorf("response_type = %q, want ephemeral", reply.ResponseType)
		}
	}
	return rec.Code, reply.Text
}

func (h *slackHarness) tasks(t testing.TB) []*sesame.Task {
	t.Helper()
	ts, err := h.store.ListTasks(context.Background(), sesame.TaskFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// jobs counts the task jobs on the queue.
func (h *slackHarness) jobs(t testing.TB) int {
	t.Helper()
	pending, err := h.inspector.ListPendingTasks("default")
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	return len(pending)
}

func TestSlackCommandQueuesATask(t *testing.T) {
	h := newSlackHarness(t)
	start := time.Now()
	code, text := h.send(t, h.command("U_ALICE", "octo/hello fix the flaky login test --agent codex --model gpt-5 --budget 2.50"), time.Now())
	if code != http.StatusOK || !strings.Contains(text, "Got it") {
		t.Fatalf("answer %d %q", code, text)
	}
	t.Logf("acknowledged in %s", time.Since(start))
	tasks := h.tasks(t)
	if len(tasks) != 1 || h.jobs(t) != 1 {
		t.Fatalf("%d tasks, %d jobs; want 1 and 1", len(tasks), h.jobs(t))
	}
	got := tasks[0]
	alice, _ := h.users.UserByEmail(context.Background(), "alice@example.com")
	want := sesame.OriginRef{Workspace: "T_ACME", Channel: "C_ENG", ChannelName: "eng", User: "U_ALICE", UserName: "alice"}
	if got.Source != sesame.SourceSlack || got.Repo != "octo/hello" || got.InstallationID != 9 || got.Instruction != "fix the flaky login test" ||
		got.Agent != "codex" || got.Model != "gpt-5" || got.Budget != 2.5 || got.UserID != alice.ID || got.Requester != "alice" || got.OriginRef != want ||
		!strings.HasPrefix(got.DeliveryID, "slack:trigger.") {
		t.Errorf("task = %+v", got)
	}
}

func TestSlackCommandRefusesUnsignedRequests(t *testing.T) {
	h := newSlackHarness(t)
	c := h.command("U_ALICE", "octo/hello fix it")
	body := c.Form()
	stale := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now().Add(-6*time.Minute), body)
	future := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now().Add(6*time.Minute), body)
	forged := slacktest.SignedRequest("/webhooks/slack/commands", "not-the-secret", time.Now(), body)
	missing := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now(), body)
	missing.Header.Del("X-Slack-Signature")
	noTimestamp := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now(), body)
	noTimestamp.Header.Del("X-Slack-Request-Timestamp")
	// A signed body with a changed text: the signature no longer matches.
	tampered := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now(), body)
	tampered.Body = httptest.NewRequest("POST", "/", strings.NewReader(strings.Replace(string(body), "fix", "rm", 1))).Body
	for name, r := range map[string]*http.Request{"stale (6 min)": stale, "from the future": future, "forged": forged,
		"missing signature": missing, "missing timestamp": noTimestamp, "tampered": tampered} {
		t.Run(name, func(t *testing.T) {
			if code, _ := h.serve(t, r); code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", code)
			}
		})
	}
	if n := len(h.tasks(t)); n != 0 || h.jobs(t) != 0 || h.slack.CallCount("") != 0 {
		t.Fatalf("%d tasks, %d jobs, %d Slack calls after refused requests; want none", n, h.jobs(t), h.slack.CallCount(""))
	}

	// Replayed: the same signed request again, and Slack's retry of it, make one task.
	signed := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now(), body)
	replay := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now(), body)
	retry := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now().Add(time.Second), body)
	retry.Header.Set("X-Slack-Retry-Num", "1")
	if code, text := h.serve(t, signed); code != http.StatusOK || !strings.Contains(text, "Got it") {
		t.Fatalf("first: %d %q", code, text)
	}
	for _, r := range []*http.Request{replay, retry} {
		if code, text := h.serve(t, r); code != http.StatusOK || !strings.Contains(text, "already has this request") {
			t.Errorf("replayed: %d %q", code, text)
		}
	}
	if n := len(h.tasks(t)); n != 1 || h.jobs(t) != 1 {
		t.Fatalf("%d tasks, %d jobs after a replay; want 1 and 1", n, h.jobs(t))
	}
}

func TestSlackCommandUnlinkedUserIsToldHowToLink(t *testing.T) {
	h := newSlackHarness(t)
	for _, tt := range []struct {
		name, user, text string
		want             []string
	}{
		{name: "no Sesame account with their email", user: "U_NOBODY", text: "octo/hello fix it",
			want: []string{"No Sesame account has the email address you use in Slack (nobody@example.com)", "Ask a Sesame admin to create an account with that email", "connect your GitHub account"}},
		{name: "no GitHub account connected", user: "U_NOGH", text: "octo/hello fix it",
			want: []string{"no GitHub account connected", "connect your GitHub account in Settings"}},
		{name: "read access only", user: "U_ALICE", text: "octo/other fix it",
			want: []string{"@alice-gh has read access to octo/other", "takes write access"}},
		{name: "a repository the app does not reach", user: "U_ALICE", text: "octo/secret fix it",
			want: []string{"cannot reach *octo/secret*"}},
		{name: "no repository and no channel default", user: "U_ALICE", text: "fix it",
			want: []string{"Which repository?"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, text := h.send(t, h.command(tt.user, tt.text), time.Now())
			if code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("reply %q lacks %q", text, w)
				}
			}
		})
	}
	if n := len(h.tasks(t)); n != 0 || h.jobs(t) != 0 {
		t.Fatalf("%d tasks, %d jobs; want none", n, h.jobs(t))
	}
}

func TestSlackCommandHelp(t *testing.T) {
	h := newSlackHarness(t)
	for _, text := range []string{"help", "HELP", "", "--agent codex help"} {
		code, reply := h.send(t, h.command("U_NOBODY", text), time.Now())
		if code != http.StatusOK || !strings.Contains(reply, "*Usage:* `/sesame owner/repo <instruction>") {
			t.Errorf("%q: %d %q", text, code, reply)
		}
	}
	code, reply := h.send(t, h.command("U_ALICE", "octo/hello fix --frobnicate"), time.Now())
	if code != http.StatusOK || !strings.Contains(reply, "could not read that command: unknown flag") || !strings.Contains(reply, "*Usage:*") {
		t.Errorf("bad flag: %d %q", code, reply)
	}
	if n := len(h.tasks(t)); n != 0 || h.slack.CallCount("") != 0 {
		t.Fatalf("%d tasks, %d Slack calls for help; want none", n, h.slack.CallCount(""))
	}
}

func TestSlackChannelDefaultSetThenUsed(t *testing.T) {
	h := newSlackHarness(t)
	if _, text := h.send(t, h.command("U_ALICE", "repo"), time.Now()); !strings.Contains(text, "no default repository") {
		t.Errorf("before: %q", text)
	}
	if _, text := h.send(t, h.command("U_ALICE", "repo octo/other"), time.Now()); !strings.Contains(text, "read access") {
		t.Errorf("a reader set the default: %q", text)
	}
	if _, text := h.send(t, h.command("U_ALICE", "repo Octo/Hello"), time.Now()); !strings.Contains(text, "default repository is now *octo/hello*") {
		t.Fatalf("set: %q", text)
	}
	if _, text := h.send(t, h.command("U_BOB", "repo"), time.Now()); !strings.Contains(text, "default repository is *octo/hello*") {
		t.Errorf("show: %q", text)
	}
	// An instruction whose first word looks like owner/name but is none: the whole text is instruction.
	if _, text := h.send(t, h.command("U_BOB", "src/login.go has a race, fix it\nand add a test"), time.Now()); !strings.Contains(text, "Got it") {
		t.Fatalf("run on the default: %q", text)
	}
	tasks := h.tasks(t)
	if len(tasks) != 1 {
		t.Fatalf("%d tasks, want 1", len(tasks))
	}
	if got := tasks[0]; got.Repo != "octo/hello" || got.Instruction != "src/login.go has a race, fix it\nand add a test" || got.Requester != "bob" {
		t.Errorf("task on the default = %q %q %q", got.Repo, got.Instruction, got.Requester)
	}
}

func TestSlackStopButton(t *testing.T) {
	h := newSlackHarness(t)
	if _, text := h.send(t, h.command("U_ALICE", "octo/hello fix it"), time.Now()); !strings.Contains(text, "Got it") {
		t.Fatal(text)
	}
	task := h.tasks(t)[0]
	click := func(user, name string) int {
		body := slacktest.ButtonClick("T_ACME", user, name, "C_ENG", "1700000000.000100", bot.SlackStopAction, task.ID)
		code, _ := h.serve(t, slacktest.SignedRequest("/webhooks/slack/interactivity", slackSecret, time.Now(), body))
		return code
	}
	if code := click("U_BOB", "bob"); code != http.StatusOK {
		t.Fatalf("bob's click: %d", code)
	}
	if got := h.stopper.list(); len(got) != 0 {
		t.Fatalf("bob stopped alice's task: %v", got)
	}
	eph := h.slack.Ephemerals()
	if len(eph) != 1 || eph[0].User != "U_BOB" || !strings.Contains(eph[0].Text, "not yours to stop") {
		t.Fatalf("ephemerals = %+v", eph)
	}
	click("U_ALICE", "alice")
	click("U_ADMIN", "ada")
	if got, want := h.stopper.list(), []string{task.ID + " by Alice", task.ID + " by Ada"}; !slices.Equal(got, want) {
		t.Errorf("stops = %v, want %v", got, want)
	}
	// Unsigned clicks are refused.
	body := slacktest.ButtonClick("T_ACME", "U_ALICE", "alice", "C_ENG", "1", bot.SlackStopAction, task.ID)
	if code, _ := h.serve(t, slacktest.SignedRequest("/webhooks/slack/interactivity", "forged", time.Now(), body)); code != http.StatusUnauthorized {
		t.Errorf("forged click: %d", code)
	}
	if n := len(h.stopper.list()); n != 2 {
		t.Errorf("%d stops after a forged click, want 2", n)
	}
}

// TestSlackCommandAckLatency measures a slash command from received to acknowledged, through the
// real store and queue (a task stored and enqueued each time), and logs its percentiles. The
// requester's Slack profile is cached after the first command, as in a busy channel.
func TestSlackCommandAckLatency(t *testing.T) {
	h := newSlackHarness(t)
	const n = 200
	took := make([]time.Duration, 0, n)
	for range n {
		c := h.command("U_ALICE", "octo/hello fix the flaky test")
		r := slacktest.SignedRequest("/webhooks/slack/commands", slackSecret, time.Now(), c.Form())
		start := time.Now()
		code, text := h.serve(t, r)
		took = append(took, time.Since(start))
		if code != http.StatusOK || !strings.Contains(text, "Got it") {
			t.Fatalf("%d %q", code, text)
		}
	}
	slices.Sort(took)
	t.Logf("slash command → ephemeral ack over %d commands: p50 %s, p90 %s, p99 %s, max %s; Slack calls %d (users.info %d), GitHub permission checks each time",
		n, took[n/2], took[n*9/10], took[n*99/100-1], took[n-1], h.slack.CallCount(""), h.slack.CallCount("users.info"))
	if len(h.tasks(t)) != n {
		t.Fatalf("%d tasks, want %d", len(h.tasks(t)), n)
	}
}

// A Slack member whose email matches no account is offered a one-time link; opened (and confirmed)
// by a signed-in user, it makes the member act as that user from then on, whatever the email. The
// link works once.
func TestSlackOneTimeLink(t *testing.T) {
	h := newSlackHarness(t)
	_, text := h.send(t, h.command("U_NOBODY", "octo/hello fix it"), time.Now())
	m := regexp.MustCompile(`<https://sesame\.example\.com/slack/link/([A-Za-z0-9_-]{43})\|this link>`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no one-time link offered: %q", text)
	}
	if n := len(h.tasks(t)); n != 0 {
		t.Fatalf("%d tasks before linking", n)
	}
	ctx := context.Background()
	bob, err := h.users.UserByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	l, err := h.links.SlackLink(ctx, m[1])
	if err != nil || l.TeamID != "T_ACME" || l.SlackUser != "U_NOBODY" || l.SlackName != "nobody" {
		t.Fatalf("pending link: %+v %v", l, err)
	}
	if _, err := h.links.ConsumeSlackLink(ctx, m[1], bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.links.ConsumeSlackLink(ctx, m[1], bob.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("the link worked twice: %v", err)
	}
	code, text := h.send(t, h.command("U_NOBODY", "octo/hello fix it"), time.Now())
	tasks := h.tasks(t)
	if code != http.StatusOK || len(tasks) != 1 || tasks[0].UserID != bob.ID {
		t.Fatalf("after linking: %d %q, tasks %+v", code, text, tasks)
	}
	// A link of another workspace's member with the same id is not this one.
	other := h.command("U_NOBODY", "octo/hello fix it")
	other.TeamID = "T_OTHER"
	if _, text := h.send(t, other, time.Now()); !strings.Contains(text, "No Sesame account") {
		t.Errorf("a member of another workspace acted as the linked one: %q", text)
	}
}
