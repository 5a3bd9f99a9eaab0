package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
)

const (
	webhookSecret = "e2e-webhook-secret"
	authSecret    = "e2e-auth-secret-0123456789abcdefghijklmnop"
	encryptionKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	repo          = "Codertocat/Hello-World"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// sesameBinary builds cmd/sesame once per test run.
func sesameBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sesame-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sesame")
		build := exec.Command("go", "build", "-o", binPath, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as shipped: the binary is also the docker sandboxes' init
		out, err := build.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a running sesame binary.
type process struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	logs strings.Builder
	done chan error
}

func (p *process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// startSesame runs `sesame serve` with env and waits until it listens.
func startSesame(t testing.TB, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(sesameBinary(t), append([]string{"serve"}, args...)...)
	cmd.Dir = t.TempDir() // no config file there
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LOG_LEVEL=debug"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a crashed test
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	worker := slices.Contains(args, "worker")
	listening := make(chan string, 1)
	go func() {
		addrRE := regexp.MustCompile(`msg="web server listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := addrRE.FindStringSubmatch(line); m != nil {
				listening <- m[1]
			} else if worker && strings.Contains(line, `msg="worker started"`) {
				listening <- "" // a worker serves no HTTP
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("sesame did not stop within 20 s of SIGTERM")
		}
		if t.Failed() {
			logs := p.Logs()
			if len(logs) > 20000 {
				logs = "…" + logs[len(logs)-20000:]
			}
			t.Logf("sesame logs:\n%s", logs)
		}
	})
	select {
	case p.addr = <-listening:
	case err := <-p.done:
		p.done <- err // for the cleanup, which waits for the exit
		t.Fatalf("sesame exited before it was ready: %v\n%s", err, p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("sesame was not ready within 30 s\n%s", p.Logs())
	}
	return p
}

func baseEnv(t *testing.T, gh *githubtest.Server) []string {
	return []string{
		"BETTER_AUTH_SECRET=" + authSecret,
		"ENCRYPTION_KEY=" + encryptionKey,
		"BASE_URL=https://sesame.example.com",
		"DATABASE_URL=" + pgtest.NewDatabase(t),
		"REDIS_URL=" + redistest.New(t).URL(),
		"LISTEN_ADDR=127.0.0.1:0",
		fmt.Sprintf("GITHUB_APP_ID=%d", gh.AppID),
		"GITHUB_APP_PRIVATE_KEY=" + string(gh.PrivateKeyPEM),
		"GITHUB_WEBHOOK_SECRET=" + webhookSecret,
		"GITHUB_API_URL=" + gh.URL + "/",
	}
}

// commentPayload is GitHub's example issue_comment payload with body and commenter replaced.
func commentPayload(t *testing.T, login, body string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../bot/testdata/github/issue_comment.created.with-installation.json")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	json.Unmarshal(raw, &p)
	p["comment"].(map[string]any)["body"] = body
	p["comment"].(map[string]any)["user"].(map[string]any)["login"] = login
	p["sender"].(map[string]any)["login"] = login
	out, _ := json.Marshal(p)
	return out
}

func deliver(t *testing.T, p *process, delivery string, body []byte) (int, map[string]string) {
	t.Helper()
	req := githubtest.NewWebhookRequest("http://"+p.addr+"/webhooks/github", "issue_comment", delivery, webhookSecret, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// postedComments returns the bodies of the comments Sesame posted, as posted (before any edit).
func postedComments(gh *githubtest.Server) []string {
	var out []string
	for _, r := range gh.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/comments") && r.Status == http.StatusCreated {
			var c struct{ Body string }
			json.Unmarshal([]byte(r.Body), &c)
			out = append(out, c.Body)
		}
	}
	return out
}

// replies returns the comments Sesame posted.
func replies(gh *githubtest.Server) []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range gh.Comments(repo) {
		if c.User == gh.BotLogin() {
			out = append(out, c)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEndToEndCommentIsAcknowledged(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, repo)
	gh.SetPermission(repo, "alice", "maintain")
	gh.SetPermission(repo, "mallory", "read")
	p := startSesame(t, baseEnv(t, gh))
	// The comments the deliveries refer to exist on GitHub (a reaction on a missing comment is a 404).
	commentID := int64(jsonNumber(t, commentPayload(t, "alice", "x"), "comment", "id"))
	gh.AddComment(githubtest.Comment{ID: commentID, Repo: repo, IssueNumber: 1, User: "alice", Body: "/sesame fix the typo in the README"})

	// A maintainer asks: 👀 on the comment and one progress comment linking the task.
	code, resp := deliver(t, p, "e2e-1", commentPayload(t, "alice", "/sesame fix the typo in the README"))
	if code != http.StatusAccepted || resp["task_id"] == "" {
		t.Fatalf("webhook answered %d %v, want 202 with a task id", code, resp)
	}
	taskID := resp["task_id"]
	waitFor(t, "the progress comment", func() bool { return len(replies(gh)) == 1 })
	// The comment as first posted (the runner edits it later; this server has no repository to work on).
	posted := postedComments(gh)
	if len(posted) != 1 {
		t.Fatalf("%d comments posted, want 1", len(posted))
	}
	for _, want := range []string{"Sesame is on it", taskID, "https://sesame.example.com/tasks/" + taskID} {
		if !strings.Contains(posted[0], want) {
			t.Errorf("progress comment lacks %q:\n%s", want, posted[0])
		}
	}
	if got := gh.Reactions(repo, commentID); len(got) != 1 || got[0] != "eyes" {
		t.Errorf("reactions on the request = %v, want [eyes]", got)
	}

	// The same delivery again changes nothing.
	if code, resp := deliver(t, p, "e2e-1", commentPayload(t, "alice", "/sesame fix the typo in the README")); code != 200 || resp["status"] != "duplicate" {
		t.Errorf("repeated delivery answered %d %v, want 200 duplicate", code, resp)
	}

	// A reader is told, once, why nothing happens.
	if code, _ := deliver(t, p, "e2e-2", newComment(t, gh, "mallory", "/sesame delete everything")); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	waitFor(t, "the refusal", func() bool { return len(replies(gh)) == 2 })
	if body := replies(gh)[1].Body; !strings.Contains(body, "@mallory") || !strings.Contains(body, "write") {
		t.Errorf("refusal does not explain: %s", body)
	}

	// Help is answered with the usage text; a bad flag with the reason and the usage.
	deliver(t, p, "e2e-3", newComment(t, gh, "alice", "/sesame help"))
	deliver(t, p, "e2e-4", newComment(t, gh, "alice", "/sesame fix it --turbo"))
	waitFor(t, "help and usage replies", func() bool { return len(replies(gh)) == 4 })
	var bodies []string
	for _, c := range replies(gh)[2:] {
		bodies = append(bodies, c.Body)
	}
	all := strings.Join(bodies, "\n---\n")
	if !strings.Contains(all, "--turbo") || strings.Count(all, "--agent") < 2 {
		t.Errorf("help/usage replies lack the usage text or the reason:\n%s", all)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(replies(gh)); n != 4 {
		t.Errorf("%d comments, want exactly 4 (no reply posted twice)", n)
	}
	if gh.TokensIssued() != 1 {
		t.Errorf("%d installation tokens issued, want 1 (cached)", gh.TokensIssued())
	}
	if logs := p.Logs(); strings.Contains(logs, webhookSecret) || strings.Contains(logs, "ghs_") {
		t.Errorf("a secret reached the logs")
	}
}

func TestEndToEndHealthAndReadiness(t *testing.T) {
	gh := githubtest.NewServer(t)
	p := startSesame(t, baseEnv(t, gh), "--role", "web")
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		resp, err := http.Get("http://" + p.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestEndToEndReadinessWithoutRedis(t *testing.T) {
	gh := githubtest.NewServer(t)
	env := append(baseEnv(t, gh), "REDIS_URL=redis://127.0.0.1:1/0")
	p := startSesame(t, env, "--role", "web")
	resp, err := http.Get("http://" + p.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(b), `"redis":"unreachable"`) {
		t.Fatalf("GET /readyz = %d %s, want 503 naming redis", resp.StatusCode, b)
	}
	// A comment is still stored and acknowledged while Redis is down.
	code, _ := deliver(t, p, "redis-down", commentPayload(t, "alice", "/sesame fix it"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook with Redis down answered %d, want 202", code)
	}
}

func TestRefusesToStartWithoutRequiredEnv(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sesameBinary(t), "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("sesame started without required env:\n%s", out)
	}
	for _, want := range []string{"BETTER_AUTH_SECRET", "BASE_URL", "ENCRYPTION_KEY", "openssl rand -base64 32", "openssl rand -hex 32"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorShowsSourcesAndMasksSecrets(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("tasks:\n  baseDirectory: /srv/sesame\n"), 0o600)
	cmd := exec.Command(sesameBinary(t), "doctor")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"),
		"BETTER_AUTH_SECRET=" + authSecret, "ENCRYPTION_KEY=" + encryptionKey, "BASE_URL=https://sesame.example.com",
		"DATABASE_URL=" + pgtest.NewDatabase(t), "REDIS_URL=" + redistest.New(t).URL(),
		"GITHUB_WEBHOOK_SECRET=" + webhookSecret}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("doctor failed: %v\n%s", err, out)
	}
	text := string(out)
	for _, secret := range []string{authSecret, encryptionKey, webhookSecret} {
		if strings.Contains(text, secret) {
			t.Errorf("doctor printed a secret in clear")
		}
	}
	lines := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	for key, want := range map[string]string{
		"tasks.baseDirectory":  "file",
		"github.webhookSecret": "env (locked)",
		"server.listen":        "default",
	} {
		if !strings.Contains(lines[key], want) {
			t.Errorf("doctor line for %s = %q, want source %q", key, lines[key], want)
		}
	}
	if !strings.Contains(text, "✓ postgres") || !strings.Contains(text, "✓ redis") {
		t.Errorf("doctor did not check the services:\n%s", text)
	}
}

func jsonNumber(t *testing.T, raw []byte, path ...string) float64 {
	t.Helper()
	var v any
	json.Unmarshal(raw, &v)
	for _, k := range path {
		v = v.(map[string]any)[k]
	}
	return v.(float64)
}
