package gitops

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// waitDelay is how long a cancelled git command may take to exit, and to
// release its output pipes, after its process group got SIGKILL.
const waitDelay = 2 * time.Second

// ErrAuthentication is wrapped by the errors of Sync and Push when the server
// refused the token.
var ErrAuthentication = errors.New("authentication failed")

// gitRun is one git invocation. Only the fields that are set matter.
type gitRun struct {
	dir   string   // working directory ("" = the current one)
	args  []string // after "git"; never a credential
	token string   // for network commands: sent as an HTTP header, set through the environment only
	// workspace: the working tree may belong to the agent's uid, so git's ownership check is off
	// (safe.directory=*). Only for commands that name their own --git-dir (git reads none of the
	// workspace's configuration then, which is what the check protects), and for a tree this
	// package made and handed to the sandbox's user before any agent had it (a spare, a fresh
	// checkout).
	workspace bool
	env       []string // extra variables, e.g. GIT_INDEX_FILE
	stdin     []byte
}

// hardened is the configuration every git command of this package runs with, above the
// repository's own (command-line scope wins over a repository's config): no hook runs, wherever
// it was planted (a mirror's hooks/, a spare's or a workspace's .git/hooks, a core.hooksPath),
// and no fsmonitor.
var hardened = []configEntry{
	{"core.hooksPath", "/dev/null"},
	{"core.fsmonitor", "false"},
}

// configEntry is one key = value of git's command-line configuration.
type configEntry struct{ key, value string }

// config is g's command-line configuration, carried by the environment.
func (g gitRun) config() []configEntry {
	c := slices.Clone(hardened)
	if g.workspace {
		c = append(c, configEntry{"safe.directory", "*"})
	}
	if g.token != "" {
		c = append(c, configEntry{"http.extraHeader", "Authorization: Basic " + basicAuth(g.token)})
	}
	return c
}

// run runs git and returns its standard output. A failure returns an error
// that holds git's standard error with the token scrubbed out.
func (g gitRun) run(ctx context.Context) ([]byte, error) {
	var stdout bytes.Buffer
	err := g.runTo(ctx, &stdout)
	return stdout.Bytes(), err
}

// runTo runs git with its standard output written to stdout.
func (g gitRun) runTo(ctx context.Context, stdout io.Writer) error {
	home, err := os.MkdirTemp("", "sesame-git-home-")
	if err != nil {
		return fmt.Errorf("git home: %w", err)
	}
	defer os.RemoveAll(home)

	cmd := exec.CommandContext(ctx, "git", g.args...)
	cmd.Dir = g.dir
	cmd.Env = append(gitEnv(home, g.config()), g.env...)
	// Its own process group, so that cancelling kills git's helpers too
	// (git-remote-https, index-pack, pack-objects …), not only git.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	if g.stdin != nil {
		cmd.Stdin = bytes.NewReader(g.stdin)
	}
	var stderr bytes.Buffer
	cmd.Stdout = stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &gitError{
			args:   g.args,
			err:    err,
			stderr: scrub(strings.TrimSpace(stderr.String()), g.token),
		}
	}
	return nil
}

// output runs git and returns its standard output without the trailing newline.
func (g gitRun) output(ctx context.Context) (string, error) {
	out, err := g.run(ctx)
	return strings.TrimRight(string(out), "\n"), err
}

// gitEnv is the whole environment of a git command: nothing of the host's git
// configuration, no prompt, and config as git's command-line configuration
// carried by the environment (GIT_CONFIG_COUNT, GIT_CONFIG_KEY_n,
// GIT_CONFIG_VALUE_n), so that the token, an extra HTTP header there, is never
// in argv, in a file, or in a URL.
func gitEnv(home string, config []configEntry) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home, // empty: no ~/.gitconfig, no ~/.netrc (libcurl reads it)
		"XDG_CONFIG_HOME=" + home,
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"GIT_NO_REPLACE_OBJECTS=1",
	}
	// A proxy or a CA bundle the operator set up for reaching GitHub.
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
		"NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(config)))
	for i, c := range config {
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+c.key, "GIT_CONFIG_VALUE_"+n+"="+c.value)
	}
	return env
}

// basicAuth is GitHub's documented form of an installation token over HTTPS.
func basicAuth(token string) string {
	return base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
}

// scrub removes the token, in every form git could print it, from s.
func scrub(s, token string) string {
	if token == "" {
		return s
	}
	return strings.NewReplacer(
		basicAuth(token), "[REDACTED]",
		token, "[REDACTED]",
	).Replace(s)
}

// gitError is a failed git command: its arguments (never a secret), how it
// ended and its standard error, already scrubbed.
type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	msg := fmt.Sprintf("git %s: %v", subcommand(e.args), e.err)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// subcommand is the first argument that is not an option of git itself.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-c" || a == "-C":
			i++
		case !strings.HasPrefix(a, "-"):
			return a
		}
	}
	return strings.Join(args, " ")
}

// authFailed reports whether git's standard error says the server refused the
// credentials (or asked for some that git may not prompt for).
func authFailed(err error) bool {
	var ge *gitError
	if !errors.As(err, &ge) {
		return false
	}
	s := ge.stderr
	return strings.Contains(s, "Authentication failed") ||
		strings.Contains(s, "could not read Username") ||
		strings.Contains(s, "could not read Password") ||
		strings.Contains(s, "The requested URL returned error: 401") ||
		strings.Contains(s, "The requested URL returned error: 403")
}
