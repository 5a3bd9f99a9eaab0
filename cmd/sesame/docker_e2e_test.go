package main_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/dockertest"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// agentImage imports, once per content, an image in which Claude Code can run (see
// dockertest.ClaudeImage). No registry is reachable here, so it is made from this host's files, as
// the sandbox image's expectations say (sandbox/image/README.md).
func agentImage(t *testing.T) string {
	t.Helper()
	claude, err := filepath.EvalSymlinks(filepath.Join(agentsDir(t), "claude", "node_modules", ".bin", "claude"))
	if err != nil {
		t.Fatal(err)
	}
	return dockertest.MustImage(t, dockertest.ClaudeImage(claude))
}

// TestEndToEndDockerPullRequest: a comment → the real Claude Code CLI in a container of the docker
// provider (network none, its only way out the task's egress proxy) → a pull request.
func TestEndToEndDockerPullRequest(t *testing.T) {
	image := agentImage(t)
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	// What the agent must not reach: another task's files, the server's home and secrets.
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	canary := filepath.Join(home, ".sesame-docker-canary")
	if err := os.WriteFile(canary, []byte("host-secret-canary\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(canary) })
	model := modeltest.NewServer(t)
	p, taskBase, dbURL := prEnv(t, gh, model, "SANDBOX_PROVIDER=docker", "DOCKER_SANDBOX_IMAGE="+image, "SANDBOX_DENIED_DOMAINS=example.org",
		"DOCKER_HOST="+os.Getenv("DOCKER_HOST")) // scripts/test points it at Podman's service
	decoy := filepath.Join(taskBase, "01other-task", "repo", "README.md")
	if err := os.MkdirAll(filepath.Dir(decoy), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(decoy, []byte("other-task-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	model.SetSteps(
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		// The container cannot reach a host port directly (network none); through the relay to the
		// task's egress proxy a denied host gets 403. (busybox's wget crashes on this kernel: bash's
		// /dev/tcp speaks HTTP instead.)
		modeltest.Bash(`(echo > /dev/tcp/127.0.0.1/5432) 2>&1 | head -c 200 > reach.txt; exec 3<>/dev/tcp/127.0.0.1/3128 && printf "GET http://example.org/ HTTP/1.1\\r\\nHost: example.org\\r\\nConnection: close\\r\\n\\r\\n" >&3 && head -1 <&3 >> reach.txt; echo "uid=$(id -u)" >> reach.txt; true`),
		// Host files and other tasks are not in the container: not the decoy task, not the server's
		// home, not its environment.
		modeltest.Bash(`{ cat `+decoy+` `+canary+`; ls `+taskBase+`; cat /proc/1/environ | tr '\\0' '\\n' | grep -c DATABASE_URL; env | grep -c -e GITHUB_ -e DATABASE_URL -e ENCRYPTION_KEY; } >> reach.txt 2>&1; true`),
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)

	code, resp := deliver(t, p, "docker-1", commentPayload(t, "alice", "/sesame fix the typo in README"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	id := resp["task_id"]
	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1; the task's log:\n%s", len(prs), allStored(t, dbURL))
	}
	if got := gitOut(t, bare, "show", prs[0].Head+":README.md"); !strings.Contains(got, "fixes the typo") {
		t.Errorf("pushed README = %q, want the fix", got)
	}
	reach := gitOut(t, bare, "show", prs[0].Head+":reach.txt")
	if strings.Contains(reach, "other-task-secret") || strings.Contains(reach, "host-secret-canary") || strings.Contains(reach, "\n01other-task\n") {
		t.Errorf("the agent read another task's or the host's files:\n%s", reach)
	}
	if !strings.Contains(reach, "uid=1000") || !strings.Contains(reach, "403") || !strings.Contains(reach, "Connection refused") {
		t.Errorf("inside the container:\n%s", reach)
	}
	t.Logf("inside the container:\n%s", reach)
	var started float64
	if n := countRows(t, dbURL, `SELECT count(*) FROM task_events WHERE task_id = '`+id+`' AND type = 'violation'`); n == 0 {
		t.Errorf("the refused example.org is not a violation event")
	}
	started = float64(countRows(t, dbURL, `SELECT (extract(epoch FROM e.created_at - t.created_at) * 1000)::int FROM task_events e
		JOIN tasks t ON t.id = e.task_id WHERE e.task_id = '`+id+`' AND e.message = 'agent started'`))
	t.Logf("webhook accepted → agent started in its container: %.0f ms", started)
	if out, _ := exec.Command("podman", "ps", "-a", "--filter", "label=works.sesame.task="+id, "--format", "{{.ID}}").Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("the task's container is still there: %s", out)
	}
}
