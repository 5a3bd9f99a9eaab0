package gitops

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// testGitEnv is the environment for the git commands the tests run
// themselves: no host configuration, a fixed identity.
func testGitEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test Author",
		"GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Author",
		"GIT_COMMITTER_EMAIL=author@example.com",
	}
}

// mustGit runs git in dir ("" = the current directory) and returns its
// trimmed standard output.
func mustGit(tb testing.TB, ctx context.Context, dir string, args ...string) string {
	tb.Helper()
	out, err := runTestGit(ctx, dir, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func runTestGit(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = testGitEnv()
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", &testGitError{args: args, err: err, stderr: stderr.String()}
	}
	return strings.TrimSpace(stdout.String()), nil
}

type testGitError struct {
	args   []string
	err    error
	stderr string
}

func (e *testGitError) Error() string {
	return "git " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.stderr
}
