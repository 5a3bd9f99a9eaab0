package githubtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// initialCommit is the author, committer and date of CreateRepo's commit;
// fixed, so the same files always make the same commit.
const (
	initialAuthor = "Octo Cat <octocat@github.com>"
	initialDate   = "1735787045 +0000" // 2025-01-02T03:04:05Z
	zeroOID       = "0000000000000000000000000000000000000000"
)

// Messages GitHub's git server answers with, as text/plain, which git
// prints after "remote: ".
const (
	msgGitBadCredentials = "Invalid username or token. Password authentication is not supported for Git operations."
	msgGitNotFound       = "Repository not found."
	msgGitDumb           = "Please upgrade your git client. GitHub does not support git over dumb-http."
)

// CreateRepo makes fullName ("owner/name") a real git repository: a bare
// repository in a fresh t.TempDir() whose main branch has one commit,
// "Initial commit" by Octo Cat, holding files (path -> content; paths may
// have directories). It registers the repository like AddInstallation does,
// without installing the app on it, and returns the bare repository's path
// for the test to inspect with git. Clients reach it at GitURL(fullName).
func (s *Server) CreateRepo(t testing.TB, fullName string, files map[string]string) string {
	t.Helper()
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/\\") || strings.HasSuffix(name, ".git") {
		t.Fatalf("githubtest: CreateRepo: %q is not owner/name", fullName)
	}
	dir := filepath.Join(t.TempDir(), name+".git")
	if out, err := gitCmd("", nil, "init", "--quiet", "--bare", "--initial-branch=main", dir); err != nil {
		t.Fatalf("githubtest: CreateRepo: git init: %v\n%s", err, out)
	}
	if out, err := gitCmd(dir, nil, "config", "http.receivepack", "true"); err != nil {
		t.Fatalf("githubtest: CreateRepo: git config: %v\n%s", err, out)
	}
	var stream bytes.Buffer
	msg := "Initial commit\n"
	fmt.Fprintf(&stream, "commit refs/heads/main\nauthor %s %s\ncommitter %s %s\ndata %d\n%s",
		initialAuthor, initialDate, initialAuthor, initialDate, len(msg), msg)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if p == "" || strings.ContainsAny(p, "\n\"") || filepath.IsAbs(p) || slices.Contains(strings.Split(p, "/"), "..") {
			t.Fatalf("githubtest: CreateRepo: bad path %q", p)
		}
		fmt.Fprintf(&stream, "M 100644 inline %s\ndata %d\n%s\n", p, len(files[p]), files[p])
	}
	if out, err := gitCmd(dir, &stream, "fast-import", "--quiet"); err != nil {
		t.Fatalf("githubtest: CreateRepo: git fast-import: %v\n%s", err, out)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repoLocked(fullName)
	if repo.gitDir != "" {
		t.Fatalf("githubtest: CreateRepo: %s already has a git repository", fullName)
	}
	repo.gitDir = dir
	repo.pushedAt = s.nowLocked().Truncate(time.Second)
	return dir
}

// GitURL is the HTTPS clone URL of fullName, shaped like GitHub's
// (https://github.com/owner/name.git). Git needs an installation token as
// the password of HTTP Basic authentication, with any username
// ("x-access-token" by convention).
func (s *Server) GitURL(fullName string) string { return s.URL + "/" + fullName + ".git" }

// Pushes returns the full names of the refs ("refs/heads/fix") that pushes
// to fullName updated, created or deleted, in the order they happened.
func (s *Server) Pushes(fullName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if repo := s.repos[repoKey(fullName)]; repo != nil {
		return slices.Clone(repo.pushes)
	}
	return nil
}

// RefExists reports whether fullName's git repository has ref: a full ref
// name ("refs/heads/main", "refs/tags/v1") or a branch name ("main").
func (s *Server) RefExists(fullName, ref string) bool {
	dir := s.gitDir(fullName)
	if dir == "" {
		return false
	}
	_, ok := resolveRef(dir, ref)
	return ok
}

func (s *Server) gitDir(fullName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if repo := s.repos[repoKey(fullName)]; repo != nil {
		return repo.gitDir
	}
	return ""
}

// resolveRef returns the object ref points to; a name without "refs/" is a
// branch.
func resolveRef(dir, ref string) (string, bool) {
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	// Exit status 1 without a word is "no such ref". Anything else (git could not start on a
	// machine out of processes, a lock) is tried again rather than taken for a missing ref.
	for try := 0; ; try++ {
		out, err := gitCmd(dir, nil, "rev-parse", "--verify", "--quiet", ref)
		if err == nil {
			return strings.TrimSpace(out), true
		}
		var exit *exec.ExitError
		if (errors.As(err, &exit) && exit.ExitCode() == 1 && strings.TrimSpace(out) == "") || try == 4 {
			return "", false
		}
		time.Sleep(time.Duration(try+1) * 50 * time.Millisecond)
	}
}

// gitCmd runs git on the bare repository dir ("" for none), isolated from
// the user's and the system's git configuration and from GIT_* variables.
func gitCmd(dir string, stdin io.Reader, args ...string) (string, error) {
	if dir != "" {
		args = append([]string{"--git-dir", dir}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Stdin = stdin
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// isGitPath reports whether path is one of git's smart HTTP endpoints.
func isGitPath(path string) bool {
	n := strings.Count(path, "/")
	return (n == 4 && strings.HasSuffix(path, "/info/refs")) ||
		(n == 3 && (strings.HasSuffix(path, "/git-upload-pack") || strings.HasSuffix(path, "/git-receive-pack")))
}

// writeGitError answers as GitHub's git server does: text/plain, which git
// shows after "remote: ".
func writeGitError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, message+"\n")
}

// handleGit serves git's smart HTTP protocol: GET .../info/refs?service=,
// POST .../git-upload-pack (fetch) and POST .../git-receive-pack (push), at
// /{owner}/{name}.git/ or /{owner}/{name}/ as GitHub does, never under
// /api/v3. The password of HTTP Basic authentication must be an unexpired
// installation token for the repository; a push needs contents: write.
func (s *Server) handleGit(w http.ResponseWriter, r *http.Request) {
	if info(r).prefix != "" {
		writeNotFound(w, docsREST)
		return
	}
	service := strings.TrimPrefix(r.URL.Path, "/"+r.PathValue("owner")+"/"+r.PathValue("repo")+"/")
	if service == "info/refs" {
		service = r.URL.Query().Get("service")
	}
	if service != "git-upload-pack" && service != "git-receive-pack" {
		writeGitError(w, http.StatusForbidden, msgGitDumb)
		return
	}
	fullName := r.PathValue("owner") + "/" + strings.TrimSuffix(r.PathValue("repo"), ".git")

	_, password, hasAuth := r.BasicAuth()
	s.mu.Lock()
	tok := s.tokens[password]
	valid := hasAuth && tok != nil && s.nowLocked().Before(tok.expiresAt)
	repo := s.repos[repoKey(fullName)]
	var contents string
	visible := false
	if valid {
		contents = tok.perms["contents"]
		visible = repo != nil && repo.gitDir != "" && slices.Contains(s.tokenReposLocked(tok), repoKey(fullName))
	}
	s.mu.Unlock()

	if !valid {
		writeGitError(w, http.StatusUnauthorized, msgGitBadCredentials)
		return
	}
	s.setInstallation(r, tok.installation)
	if !visible {
		writeGitError(w, http.StatusNotFound, msgGitNotFound)
		return
	}
	need := "read"
	if service == "git-receive-pack" {
		need = "write"
	}
	if levelRank(contents) < levelRank(need) {
		writeGitError(w, http.StatusForbidden, fmt.Sprintf("Permission to %s.git denied to %s.", repo.fullName, s.BotLogin()))
		return
	}

	if !strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
		s.gitBackend(w, r, repo.gitDir)
		return
	}
	// A push: note the refs it means to update, run it, and record those
	// that it did update.
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	cmds := receivePackCommands(body, r.Header.Get("Content-Encoding"))
	repo.pushMu.Lock()
	defer repo.pushMu.Unlock()
	s.gitBackend(w, r, repo.gitDir)
	var done []string
	for _, c := range cmds {
		got, ok := resolveRef(repo.gitDir, c.ref)
		if (c.newOID == zeroOID && !ok) || (ok && got == c.newOID) {
			done = append(done, c.ref)
		}
	}
	if len(done) > 0 {
		s.mu.Lock()
		repo.pushes = append(repo.pushes, done...)
		repo.pushedAt = s.nowLocked().Truncate(time.Second)
		s.mu.Unlock()
	}
}

// gitBackend hands the request to git http-backend over CGI. The body is
// already in memory with a Content-Length (see ServeHTTP); a gzip body
// passes as is, for http-backend inflates it itself.
func (s *Server) gitBackend(w http.ResponseWriter, r *http.Request, dir string) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		writeGitError(w, http.StatusInternalServerError, "git not found: "+err.Error())
		return
	}
	r = r.Clone(r.Context())
	r.Header.Del("Authorization") // keep the token out of the CGI environment
	suffix := strings.TrimPrefix(r.URL.Path, "/"+r.PathValue("owner")+"/"+r.PathValue("repo"))
	r.URL.Path = "/" + filepath.Base(dir) + suffix
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Dir:  filepath.Dir(dir),
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(dir),
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"REMOTE_USER=" + s.BotLogin(),
		},
		Stderr: io.Discard,
	}
	h.ServeHTTP(w, r)
}

type refUpdate struct{ newOID, ref string }

// receivePackCommands reads the ref updates at the start of a
// git-receive-pack request: pkt-lines "old new ref" up to a flush-pkt.
func receivePackCommands(body []byte, encoding string) []refUpdate {
	var rd io.Reader = bytes.NewReader(body)
	if strings.EqualFold(encoding, "gzip") {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil
		}
		rd = zr
	}
	br := bufio.NewReader(rd)
	var out []refUpdate
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return out
		}
		n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
		if err != nil || n == 0 || n < 4 {
			return out // flush-pkt or garbage: the commands are over
		}
		line := make([]byte, n-4)
		if _, err := io.ReadFull(br, line); err != nil {
			return out
		}
		text, _, _ := strings.Cut(string(line), "\x00") // capabilities
		f := strings.Fields(text)
		if len(f) == 3 && len(f[0]) == len(zeroOID) && len(f[1]) == len(zeroOID) {
			out = append(out, refUpdate{newOID: f[1], ref: f[2]})
		}
	}
}
