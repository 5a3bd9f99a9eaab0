package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/internal/sandboxtest"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/runner"
	"github.com/sesame-works/sesame/sandbox/local"
)

const (
	repo         = "octo/hello"
	anthropicKey = "sk-ant-api03-runner-test-key-0123456789"
	fixMe        = "# Hello\n\nThis fixes teh typo.\n"
)

// harness is a runner with a real database and a fake GitHub, and no sandbox: it can acknowledge and
// reply but not run an agent.
type harness struct {
	gh     *githubtest.Server
	db     *postgres.DB
	store  *postgres.TaskStore
	runner *runner.Runner
	origin *bot.GitHubOrigin // the GitHub requests' origin
	seq    int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db := pgtest.Open(t)
	gh := githubtest.NewServer(t)
	gh.AddInstallation(9, repo)
	app, err := bot.NewApp(gh.AppID, gh.PrivateKeyPEM, gh.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewTaskStore(db)
	github := &bot.GitHub{App: app}
	const base = "https://sesame.example.com"
	origin := &bot.GitHubOrigin{GitHub: github, Tasks: store, Events: &events.Recorder{Store: store, Masker: mask.New(), Logger: slog.New(slog.DiscardHandler)},
		TaskURL: func(id string) string { return base + "/tasks/" + id }}
	return &harness{gh: gh, db: db, store: store, origin: origin, runner: &runner.Runner{
		Store: store, Host: github, BaseURL: base, Logger: slog.New(slog.DiscardHandler),
		Origins: map[sesame.Source]runner.Origin{sesame.SourceGitHub: origin, sesame.SourceWeb: admin.WebOrigin{}},
	}}
}

// task stores a task for a comment by login; the comment exists on the fake GitHub.
func (h *harness) task(t *testing.T, login string, kind sesame.TaskKind, instruction string) *sesame.Task {
	t.Helper()
	c := h.gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: 5, Body: "/sesame " + instruction, User: login})
	return h.create(t, sesame.Request{Source: sesame.SourceGitHub, Kind: kind, Repo: repo, InstallationID: 9,
		IssueNumber: 5, CommentID: c.ID, Requester: login, Instruction: instruction})
}

// webTask stores a task asked for in the web app by the user with userID ("" for none).
func (h *harness) webTask(t *testing.T, requester, userID, instruction string) *sesame.Task {
	t.Helper()
	return h.create(t, sesame.Request{Source: sesame.SourceWeb, Kind: sesame.KindRun, Repo: repo, InstallationID: 9,
		Requester: requester, UserID: userID, Instruction: instruction})
}

func (h *harness) create(t *testing.T, r sesame.Request) *sesame.Task {
	t.Helper()
	h.seq++
	r.DeliveryID = fmt.Sprintf("d%d", h.seq)
	task, _, err := h.store.CreateTask(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func (h *harness) reload(t *testing.T, id string) *sesame.Task {
	t.Helper()
	task, err := h.store.Task(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// replies returns the comments Sesame posted (not the requests the test planted).
func (h *harness) replies() []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range h.gh.Comments(repo) {
		if c.User == h.gh.BotLogin() {
			out = append(out, c)
		}
	}
	return out
}

// agentHarness is a harness whose runner runs the real Claude Code CLI in the local sandbox against
// a scripted model, on a repository whose README has a typo, with events published on a real Redis.
type agentHarness struct {
	*harness
	model    *modeltest.Server
	rdb      *redis.Client
	recorder *events.Recorder
	bare     string // the repository on the fake GitHub
	taskBase string // the runner's TASK_DIR_BASE
}

func newAgentHarness(t *testing.T, steps ...modeltest.Step) *agentHarness {
	t.Helper()
	h := &agentHarness{harness: newHarness(t), model: modeltest.NewServer(t, steps...), taskBase: sandboxtest.TaskBase(t)}
	h.bare = h.gh.CreateRepo(t, repo, map[string]string{"README.md": fixMe})
	h.gh.AddInstallation(9, repo)
	h.rdb = redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { h.rdb.Close() })
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	masker := mask.New(anthropicKey)
	h.recorder = &events.Recorder{Store: h.store, Redis: h.rdb, Masker: masker, Logger: logger}
	r := h.runner
	r.Events, r.Masker, r.Logger = h.recorder, masker, logger
	h.origin.Masker, h.origin.Events = masker, h.recorder
	r.Sandbox = local.New(local.Options{ReadOnly: []string{agentsDir(t)}})
	r.Mirrors = &gitops.Cache{Dir: filepath.Join(h.taskBase, "mirrors")}
	r.Agents = claudeAgents{exe: claudePath(t), model: h.model.URL}
	r.Settings = runner.Settings{BaseDirectory: h.taskBase, MaxDuration: 2 * time.Minute, CoAuthoredBy: true, SandboxSecurity: true}
	return h
}

// run runs the task with id in the background and returns what Run returned, once it does.
func (h *agentHarness) run(t *testing.T, ctx context.Context, id string) <-chan error {
	t.Helper()
	done, ended := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(ended)
		done <- h.runner.Run(ctx, id)
	}()
	t.Cleanup(func() { <-ended })
	return done
}

// watchStops runs the runner's WatchStops until the test ends, once subscribed.
func (h *agentHarness) watchStops(t *testing.T, poll time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.runner.WatchStops(ctx, h.rdb, poll) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchStops: %v", err)
		}
	})
	waitFor(t, "the stop subscription", 10*time.Second, func() bool {
		n, _ := h.rdb.PubSubNumSub(context.Background(), events.StopChannel).Result()
		return n[events.StopChannel] > 0
	})
}

// waitHang waits until the agent sent the model the request that never gets an answer.
func (h *agentHarness) waitHang(t *testing.T) {
	t.Helper()
	waitFor(t, "the agent's first model turn", 90*time.Second, func() bool {
		for _, req := range h.model.Requests() {
			if req.Step == 0 {
				return true
			}
		}
		return false
	})
}

// git runs git on the fake GitHub's repository.
func (h *agentHarness) git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", h.bare}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// typoFix is a script that fixes the README's typo and says so.
func typoFix() []modeltest.Step {
	return []modeltest.Step{
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		{Text: "Fixed the typo in README.md."},
	}
}

// claudeAgents gives every task the Claude Code CLI installed by scripts/install-agents, talking to
// the scripted model.
type claudeAgents struct{ exe, model string }

func (a claudeAgents) Agent(_ context.Context, name, _ string) (agent.Adapter, agent.Options, error) {
	e, err := agent.Get(name)
	if err != nil {
		return nil, agent.Options{}, err
	}
	return e.Adapter, agent.Options{Executable: a.exe, Credentials: map[string]string{
		"ANTHROPIC_API_KEY": anthropicKey, "ANTHROPIC_BASE_URL": a.model,
	}}, nil
}

// agentsDir is AGENTS_DIR (default: the repository's .agents).
func agentsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AGENTS_DIR")
	if dir == "" {
		dir = "../.agents"
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// claudePath is the Claude Code CLI from AGENTS_DIR.
func claudePath(t *testing.T) string {
	t.Helper()
	dir := agentsDir(t)
	exe := filepath.Join(dir, "claude", "node_modules", ".bin", "claude")
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("Claude Code CLI not installed in %s: run scripts/install-agents (%v)", dir, err)
	}
	return exe
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
