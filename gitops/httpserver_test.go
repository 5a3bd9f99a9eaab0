package gitops

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gitServer serves the bare repositories under Root over git's smart HTTP
// protocol (git http-backend through net/http/cgi), fetch and push, to
// clients that authenticate as GitHub's installation tokens do: Basic auth
// with user "x-access-token" and the token as password.
type gitServer struct {
	URL   string // http://127.0.0.1:port; a repository is URL + "/owner/name.git"
	Root  string
	Token string

	mu       sync.Mutex
	stall    bool     // hold every request until its client goes away
	requests []string // "METHOD path?query status"
	authSeen []string // the Authorization headers received (to check the scheme)
}

func newGitServer(tb testing.TB, token string) *gitServer {
	tb.Helper()
	return newGitServerAt(tb, tb.TempDir(), token)
}

// newGitServerAt serves the repositories under root.
func newGitServerAt(tb testing.TB, root, token string) *gitServer {
	tb.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		tb.Fatalf("git is required: %v", err)
	}
	s := &gitServer{Root: root, Token: token}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_COUNT=2",
			"GIT_CONFIG_KEY_0=http.receivepack",
			"GIT_CONFIG_VALUE_0=true",
			"GIT_CONFIG_KEY_1=uploadpack.allowFilter",
			"GIT_CONFIG_VALUE_1=true",
		},
		InheritEnv: []string{"PATH"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		stall := s.stall
		s.authSeen = append(s.authSeen, r.Header.Get("Authorization"))
		s.mu.Unlock()
		if stall {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != "x-access-token" || pass != s.Token {
			s.record(r, http.StatusUnauthorized)
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, "Bad credentials", http.StatusUnauthorized)
			return
		}
		// http-backend needs a Content-Length: large chunked POSTs fail.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Transfer-Encoding")
		r.TransferEncoding = nil
		s.record(r, http.StatusOK)
		backend.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *gitServer) record(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI()+" "+http.StatusText(status))
}

// setStall makes the server hold requests without answering.
func (s *gitServer) setStall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = on
}

// repoURL is the clone URL of owner/name.
func (s *gitServer) repoURL(owner, name string) string {
	return s.URL + "/" + owner + "/" + name + ".git"
}

// gitDir is the bare repository behind owner/name.
func (s *gitServer) gitDir(owner, name string) string {
	return filepath.Join(s.Root, owner, name+".git")
}

// newRepo creates owner/name with one commit on main: files maps a path to
// its content.
func (s *gitServer) newRepo(tb testing.TB, owner, name string, files map[string]string) {
	tb.Helper()
	ctx := context.Background()
	bare := s.gitDir(owner, name)
	mustGit(tb, ctx, "", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	s.commit(tb, owner, name, "main", "initial commit", files)
}

// commit adds a commit on branch of owner/name that writes files (an empty
// content deletes the file), through a scratch clone.
func (s *gitServer) commit(tb testing.TB, owner, name, branch, message string, files map[string]string) string {
	tb.Helper()
	ctx := context.Background()
	bare := s.gitDir(owner, name)
	work := tb.TempDir()
	mustGit(tb, ctx, "", "clone", "--quiet", bare, work)
	if _, err := runTestGit(ctx, work, "rev-parse", "--verify", "--quiet", "origin/"+branch); err == nil {
		mustGit(tb, ctx, work, "checkout", "--quiet", branch)
	} else {
		mustGit(tb, ctx, work, "checkout", "--quiet", "-B", branch)
	}
	for p, content := range files {
		full := filepath.Join(work, p)
		if content == "" {
			mustGit(tb, ctx, work, "rm", "--quiet", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
		mustGit(tb, ctx, work, "add", p)
	}
	mustGit(tb, ctx, work, "commit", "--quiet", "--allow-empty", "-m", message)
	mustGit(tb, ctx, work, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return mustGit(tb, ctx, work, "rev-parse", "HEAD")
}

// strangeAuth returns the Authorization headers received that are not Basic
// (to catch a client that sends the token some other way).
func (s *gitServer) strangeAuth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, h := range s.authSeen {
		if h != "" && !strings.HasPrefix(h, "Basic ") {
			out = append(out, h)
		}
	}
	return out
}
