package main_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/proctest"
)

const anthropicKey = "sk-ant-api03-e2e-test-key-0123456789"

// agentsDir is where scripts/install-agents put the CLIs; CI runs it before the tests.
func agentsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AGENTS_DIR")
	if dir == "" {
		dir, _ = filepath.Abs("../../.agents")
	}
	if _, err := os.Stat(filepath.Join(dir, "claude", "node_modules", ".bin", "claude")); err != nil {
		t.Fatalf("Claude Code CLI not installed in %s: run scripts/install-agents (%v)", dir, err)
	}
	return dir
}

// prEnv starts a worker-and-web Sesame whose agents talk to model and whose GitHub is gh.
func prEnv(t *testing.T, gh *githubtest.Server, model *modeltest.Server, extra ...string) (*process, string, string) {
	t.Helper()
	env, taskBase := workerEnv(t, gh, model, extra...)
	return startSesame(t, env), taskBase, envValue(env, "DATABASE_URL")
}

// fixture makes a repository with a typo, the request comment, and a maintainer.
func fixture(t *testing.T, gh *githubtest.Server) string {
	gh.AddInstallation(1, repo)
	gh.SetPermission(repo, "alice", "write")
	bare := gh.CreateRepo(t, repo, map[string]string{"README.md": "# Hello\n\nThis fixes teh typo.\n"})
	commentID := int64(jsonNumber(t, commentPayload(t, "alice", "x"), "comment", "id"))
	gh.AddComment(githubtest.Comment{ID: commentID, Repo: repo, IssueNumber: 1, User: "alice", Body: "/sesame fix the typo in README"})
	return bare
}

func taskStatus(t *testing.T, dbURL, id string) (status, reason string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	conn.QueryRow(context.Background(), "SELECT status, reason FROM tasks WHERE id = $1", id).Scan(&status, &reason)
	return status, reason
}

func waitEnded(t *testing.T, dbURL, id string, within time.Duration) (string, string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		status, reason := taskStatus(t, dbURL, id)
		if status == "completed" || status == "failed" || status == "stopped" {
			return status, reason
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s after %s", id, status, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allStored returns every stored event and task row as text, for secret greps.
func allStored(t *testing.T, dbURL string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var text string
	conn.QueryRow(context.Background(), `SELECT coalesce(string_agg(e::text, E'\n'), '') FROM (
		SELECT row_to_json(task_events)::text AS e FROM task_events UNION ALL SELECT row_to_json(tasks)::text FROM tasks) x`).Scan(&text)
	return text
}

func gitOut(t *testing.T, bare string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", bare}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestEndToEndPullRequest(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		// A host the administrator denied: refused by the task's egress proxy, reported.
		modeltest.Bash(`curl -s -o /dev/null -m 5 https://example.org/; true`),
		// The agent records what its environment holds: variable names, and how many values look like a
		// GitHub token or hold the webhook secret. The file is committed and pushed with the fix.
		modeltest.Bash(`env | cut -d= -f1 | sort > agent-env.txt; echo "tokens=$(env | grep -c -e ghs_ -e `+webhookSecret+`)" >> agent-env.txt`),
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)
	p, _, dbURL := prEnv(t, gh, model, "SANDBOX_ALLOWED_DOMAINS=docs.example.com", "SANDBOX_DENIED_DOMAINS=example.org")
	published := subscribeAll(t, p)

	code, resp := deliver(t, p, "pr-1", commentPayload(t, "alice", "/sesame fix the typo in README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	id := resp["task_id"]
	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}

	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	pr := prs[0]
	if !strings.HasPrefix(pr.Head, "sesame/1-fix-the-typo") || pr.Base != "main" {
		t.Errorf("PR %s → %s, want sesame/1-fix-the-typo… → main", pr.Head, pr.Base)
	}
	for _, want := range []string{"Fixes #1", "@alice", "https://sesame.example.com/tasks/" + id, "claude", "Fixed the typo"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	if got := gitOut(t, bare, "show", pr.Head+":README.md"); !strings.Contains(got, "fixes the typo") {
		t.Errorf("pushed README = %q, want the fix", got)
	}
	agentEnv := gitOut(t, bare, "show", pr.Head+":agent-env.txt")
	if !strings.Contains(agentEnv, "tokens=0") || !strings.Contains(agentEnv, "ANTHROPIC_API_KEY") {
		t.Errorf("agent environment holds a token or lacks its own key:\n%s", agentEnv)
	}
	for _, name := range []string{"GITHUB_TOKEN", "GH_TOKEN", "GITHUB_APP_PRIVATE_KEY", "DATABASE_URL", "GITHUB_WEBHOOK_SECRET", "ENCRYPTION_KEY"} {
		if strings.Contains(agentEnv, name+"\n") {
			t.Errorf("%s reached the agent's environment", name)
		}
	}
	msg := gitOut(t, bare, "log", "-1", "--format=%an <%ae>%n%B", pr.Head)
	if !strings.HasPrefix(msg, "Sesame Agent <agent@sesame.works>") || strings.Count(msg, "Co-authored-by: Sesame <agent@sesame.works>") != 1 {
		t.Errorf("commit author/trailer wrong:\n%s", msg)
	}
	final := replies(gh)
	if len(final) != 1 || !strings.Contains(final[0].Body, "opened #") {
		t.Errorf("progress comment not edited to the result: %+v", final)
	}
	commentID := int64(jsonNumber(t, commentPayload(t, "alice", "x"), "comment", "id"))
	if got := strings.Join(gh.Reactions(repo, commentID), ","); got != "eyes,rocket" {
		t.Errorf("reactions = %s, want eyes,rocket", got)
	}
	// No token nor key anywhere a user or an operator can read.
	everything := allStored(t, dbURL) + p.Logs() + pr.Body + final[0].Body + published()
	if !strings.Contains(published(), `"agent started"`) {
		t.Errorf("live events were not published on Redis")
	}
	// Secured by default, with the administrator's domain lists; the refusal is an event, in the
	// reply and in the pull request.
	for _, want := range []string{`"OS-level restrictions on"`, `docs.example.com`, `"type":"violation"`, `example.org is denied by the administrator`} {
		if !strings.Contains(published(), want) {
			t.Errorf("the published events lack %s", want)
		}
	}
	for _, body := range []string{pr.Body, final[0].Body} {
		if !strings.Contains(body, "1 connection blocked: `example.org:443`") {
			t.Errorf("the pull request or reply does not sum up what was blocked:\n%s", body)
		}
	}
	if tok := regexp.MustCompile(`ghs_[A-Za-z0-9]{36}`).FindString(everything); tok != "" {
		t.Errorf("an installation token was stored, logged, published or posted")
	}
	for _, secret := range []string{anthropicKey, webhookSecret} {
		if strings.Contains(everything, secret) {
			t.Errorf("%q found in what was stored, logged, published or posted", secret)
		}
	}
}

func TestEndToEndModelRefuses(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t, modeltest.Step{Status: 401})
	p, _, dbURL := prEnv(t, gh, model)
	_, resp := deliver(t, p, "401", commentPayload(t, "alice", "/sesame fix the typo in README"))
	status, reason := waitEnded(t, dbURL, resp["task_id"], 2*time.Minute)
	if status != "failed" || reason == "" {
		t.Fatalf("task %s %q, want failed with a reason", status, reason)
	}
	if len(gh.Pushes(repo)) != 0 || len(gh.PullRequests(repo)) != 0 {
		t.Errorf("pushed %v / opened %d PRs after a failed run", gh.Pushes(repo), len(gh.PullRequests(repo)))
	}
	if r := replies(gh); len(r) != 1 || !strings.Contains(r[0].Body, "could not finish") || !strings.Contains(r[0].Body, "/tasks/"+resp["task_id"]) {
		t.Errorf("reply does not explain the failure: %+v", r)
	}
}

func TestEndToEndModelHangsUntilTimeout(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t, modeltest.Step{Hang: true})
	p, taskBase, dbURL := prEnv(t, gh, model, "TASK_MAX_DURATION=8s")
	start := time.Now()
	_, resp := deliver(t, p, "hang", commentPayload(t, "alice", "/sesame fix the typo in README"))
	status, reason := waitEnded(t, dbURL, resp["task_id"], 90*time.Second)
	// Stopped at its time limit with nothing changed: no pull request (e2e_budget_test.go has one
	// with partial work).
	if status != "stopped" || !strings.Contains(reason, "time limit of 8s") || !strings.Contains(reason, "there is no pull request") {
		t.Fatalf("task %s %q, want stopped at the 8s limit without a pull request", status, reason)
	}
	if took := time.Since(start); took > 60*time.Second {
		t.Errorf("task took %s to stop with an 8s limit", took)
	}
	if n := len(gh.PullRequests(repo)); n != 0 {
		t.Errorf("%d pull requests opened for no changes", n)
	}
	if left := proctest.Under(taskBase); len(left) > 0 {
		t.Errorf("agent processes left after the timeout: %v", left)
	}
}

func TestEndToEndNoChanges(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t, modeltest.Step{Text: "The README already looks right to me."})
	p, _, dbURL := prEnv(t, gh, model)
	_, resp := deliver(t, p, "noop", commentPayload(t, "alice", "/sesame fix the typo in README"))
	if status, reason := waitEnded(t, dbURL, resp["task_id"], 2*time.Minute); status != "completed" {
		t.Fatalf("task %s %q, want completed", status, reason)
	}
	if n := len(gh.PullRequests(repo)); n != 0 {
		t.Errorf("%d PRs opened for no changes", n)
	}
	if r := replies(gh); len(r) != 1 || !strings.Contains(r[0].Body, "without changing anything") || !strings.Contains(r[0].Body, "already looks right") {
		t.Errorf("reply does not say nothing changed, with the summary: %+v", r)
	}
}

// subscribeAll listens to every task's live events on the Redis that p uses and returns a function
// giving all messages received so far.
func subscribeAll(t *testing.T, p *process) func() string {
	t.Helper()
	var url string
	for _, kv := range p.cmd.Env {
		if v, ok := strings.CutPrefix(kv, "REDIS_URL="); ok {
			url = v
		}
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	sub := rdb.PSubscribe(context.Background(), "sesame:task:*")
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var b strings.Builder
	go func() {
		for msg := range sub.Channel() {
			mu.Lock()
			b.WriteString(msg.Payload + "\n")
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { sub.Close() })
	return func() string {
		time.Sleep(100 * time.Millisecond) // let the last messages arrive
		mu.Lock()
		defer mu.Unlock()
		return b.String()
	}
}
