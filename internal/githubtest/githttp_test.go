package githubtest_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sesame-works/sesame/internal/githubtest"
)

// runGit runs the real git CLI in dir, isolated from the user's git
// configuration, never prompting for credentials.
func runGit(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Sesame Agent", "GIT_AUTHOR_EMAIL=agent@sesame.works",
		"GIT_COMMITTER_NAME=Sesame Agent", "GIT_COMMITTER_EMAIL=agent@sesame.works")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := runGit(t, dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// basicAuth is the git -c option that sends the token the way a bot does:
// HTTP Basic, username x-access-token.
func basicAuth(token string) string {
	return "http.extraHeader=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
}

// clone clones fullName with token into a new directory and returns it.
func clone(t *testing.T, s *githubtest.Server, token, fullName string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	mustGit(t, "", "-c", basicAuth(token), "clone", "--quiet", s.GitURL(fullName), dir)
	mustGit(t, dir, "config", "http.extraHeader", strings.TrimPrefix(basicAuth(token), "http.extraHeader="))
	return dir
}

// commitOn commits path=content on a new branch of the clone dir.
func commitOn(t *testing.T, dir, branch, path, content string) string {
	t.Helper()
	mustGit(t, dir, "checkout", "--quiet", "-B", branch)
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, dir, "add", path)
	mustGit(t, dir, "commit", "--quiet", "-m", "Change "+path)
	return mustGit(t, dir, "rev-parse", "HEAD")
}

// withURLToken is the clone URL with the token in it, as git's docs show.
func withURLToken(s *githubtest.Server, fullName, token string) string {
	return strings.Replace(s.GitURL(fullName), "://", "://x-access-token:"+token+"@", 1)
}

func TestCreateRepo(t *testing.T) {
	s := githubtest.NewServer(t)
	bare := s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "# Hello\n", "src/a/main.go": "package a\n"})

	if got, want := s.GitURL("octo/hello"), s.URL+"/octo/hello.git"; got != want {
		t.Errorf("GitURL = %q, want %q", got, want)
	}
	if filepath.Base(bare) != "hello.git" || mustGit(t, "", "--git-dir", bare, "rev-parse", "--is-bare-repository") != "true" {
		t.Errorf("CreateRepo returned %q, want a bare repository named hello.git", bare)
	}
	if got := mustGit(t, "", "--git-dir", bare, "log", "--format=%an <%ae>|%cn <%ce>|%s", "main"); got != "Octo Cat <octocat@github.com>|Octo Cat <octocat@github.com>|Initial commit" {
		t.Errorf("log = %q, want one initial commit by Octo Cat", got)
	}
	if got := mustGit(t, "", "--git-dir", bare, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Errorf("HEAD = %q", got)
	}
	if got := mustGit(t, "", "--git-dir", bare, "show", "main:src/a/main.go"); got != "package a" {
		t.Errorf("src/a/main.go = %q", got)
	}
	if got := mustGit(t, "", "--git-dir", bare, "ls-tree", "-r", "--name-only", "main"); got != "README.md\nsrc/a/main.go" {
		t.Errorf("files = %q", got)
	}
	for ref, want := range map[string]bool{"main": true, "refs/heads/main": true, "fix": false, "refs/heads/fix": false} {
		if got := s.RefExists("octo/hello", ref); got != want {
			t.Errorf("RefExists(%q) = %v, want %v", ref, got, want)
		}
	}
	if s.RefExists("octo/other", "main") || s.Pushes("octo/hello") != nil {
		t.Errorf("RefExists on an unknown repository, or pushes before any")
	}
	// Same files, same commit: the date is fixed.
	again := githubtest.NewServer(t).CreateRepo(t, "octo/hello", map[string]string{"README.md": "# Hello\n", "src/a/main.go": "package a\n"})
	if a, b := mustGit(t, "", "--git-dir", bare, "rev-parse", "main"), mustGit(t, "", "--git-dir", again, "rev-parse", "main"); a != b {
		t.Errorf("same files made commits %s and %s", a, b)
	}
}

func TestGitCloneFetchPush(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	bare := s.CreateRepo(t, "Octo/Hello", map[string]string{"README.md": "# Hello\n\nThis fixes teh typo.\n"})
	token := tokenFor(t, s, 7)

	work := clone(t, s, token, "octo/hello")
	if b, err := os.ReadFile(filepath.Join(work, "README.md")); err != nil || !strings.Contains(string(b), "teh typo") {
		t.Fatalf("cloned README = %q, %v", b, err)
	}
	sha := commitOn(t, work, "sesame/1-fix-typo", "README.md", "# Hello\n\nThis fixes the typo.\n")
	mustGit(t, work, "push", "--quiet", "origin", "sesame/1-fix-typo")

	if diff := cmp.Diff([]string{"refs/heads/sesame/1-fix-typo"}, s.Pushes("octo/hello")); diff != "" {
		t.Errorf("Pushes (-want +got):\n%s", diff)
	}
	if !s.RefExists("octo/hello", "sesame/1-fix-typo") || mustGit(t, "", "--git-dir", bare, "rev-parse", "sesame/1-fix-typo") != sha {
		t.Errorf("pushed branch missing from the bare repository")
	}
	if got := mustGit(t, "", "--git-dir", bare, "show", "sesame/1-fix-typo:README.md"); !strings.Contains(got, "fixes the typo") {
		t.Errorf("pushed README = %q", got)
	}

	// A second clone, with the token in the URL (git first asks without
	// credentials and gets 401), pushes main; the first fetches it.
	other := filepath.Join(t.TempDir(), "other")
	mustGit(t, "", "clone", "--quiet", withURLToken(s, "octo/hello", token), other)
	main := commitOn(t, other, "main", "docs/guide.md", "guide\n")
	mustGit(t, other, "push", "--quiet", "origin", "main")
	mustGit(t, work, "fetch", "--quiet", "origin")
	if got := mustGit(t, work, "rev-parse", "origin/main"); got != main {
		t.Errorf("fetched origin/main = %s, want %s", got, main)
	}

	// Deleting a branch is a push too.
	mustGit(t, work, "push", "--quiet", "origin", "--delete", "sesame/1-fix-typo")
	if s.RefExists("octo/hello", "sesame/1-fix-typo") {
		t.Errorf("deleted branch still exists")
	}
	want := []string{"refs/heads/sesame/1-fix-typo", "refs/heads/main", "refs/heads/sesame/1-fix-typo"}
	if diff := cmp.Diff(want, s.Pushes("OCTO/hello")); diff != "" {
		t.Errorf("Pushes (-want +got):\n%s", diff)
	}

	statuses := map[string]int{}
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/octo/hello.git/") || strings.HasPrefix(r.Path, "/Octo/Hello.git/") {
			if r.Body != "" || (r.Status == 200 && (r.Auth != "Basic" || r.Installation != 7)) {
				t.Errorf("recorded %+v", r)
			}
			statuses[fmt.Sprint(r.Method, " ", r.Status)]++
		}
	}
	if statuses["GET 401"] == 0 || statuses["POST 200"] == 0 {
		t.Errorf("statuses of git requests = %v, want some 401 (URL credentials) and POST 200", statuses)
	}
}

func TestGitAuthentication(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.AddInstallation(8, "octo/world")
	s.AddInstallation(9, "octo/hello")
	s.SetInstallationPermissions(9, map[string]string{"contents": "read", "metadata": "read"})
	s.AddInstallation(10, "octo/hello")
	s.SetInstallationPermissions(10, map[string]string{"issues": "write", "metadata": "read"})
	s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "hi\n"})
	s.CreateRepo(t, "octo/world", map[string]string{"README.md": "world\n"})
	dest := func() string { return filepath.Join(t.TempDir(), "w") }

	// No credentials at all: GitHub asks for them, and git may not prompt.
	out, err := runGit(t, "", nil, "clone", s.GitURL("octo/hello"), dest())
	if err == nil || !strings.Contains(out, "could not read Username") {
		t.Errorf("clone without credentials: %v\n%s", err, out)
	}
	// A token the server never issued, in the URL: git shows GitHub's answer.
	bogus := "ghs_notatokenNOTATOKENnotatokenNOTATOKE"
	out, err = runGit(t, "", nil, "clone", withURLToken(s, "octo/hello", bogus), dest())
	if err == nil || !strings.Contains(out, "remote: Invalid username or token.") || !strings.Contains(out, "Authentication failed") {
		t.Errorf("clone with a wrong token: %v\n%s", err, out)
	}
	// In a header, a refused token makes git ask for credentials instead.
	refusedBasic := func(what string) {
		t.Helper()
		reqs := s.Requests()
		if last := reqs[len(reqs)-1]; last.Auth != "Basic" || last.Status != http.StatusUnauthorized {
			t.Errorf("%s: last request %+v, want a refused Basic", what, last)
		}
	}
	out, err = runGit(t, "", nil, "-c", basicAuth(bogus), "clone", s.GitURL("octo/hello"), dest())
	if err == nil {
		t.Errorf("clone with a wrong token in a header worked:\n%s", out)
	}
	refusedBasic("wrong token in a header")
	// An expired token.
	expired := tokenFor(t, s, 7)
	s.ExpireTokens()
	out, err = runGit(t, "", nil, "clone", withURLToken(s, "octo/hello", expired), dest())
	if err == nil || !strings.Contains(out, "Authentication failed") {
		t.Errorf("clone with an expired token: %v\n%s", err, out)
	}
	refusedBasic("expired token")
	// The token of an installation without the repository.
	out, err = runGit(t, "", nil, "-c", basicAuth(tokenFor(t, s, 8)), "clone", s.GitURL("octo/hello"), dest())
	if err == nil || !strings.Contains(out, "remote: Repository not found.") {
		t.Errorf("clone with another installation's token: %v\n%s", err, out)
	}
	// An installation without contents permission may not even read.
	out, err = runGit(t, "", nil, "-c", basicAuth(tokenFor(t, s, 10)), "clone", s.GitURL("octo/hello"), dest())
	if err == nil || !strings.Contains(out, "403") {
		t.Errorf("clone without contents permission: %v\n%s", err, out)
	}
	// contents: read clones and fetches but may not push.
	work := clone(t, s, tokenFor(t, s, 9), "octo/hello")
	commitOn(t, work, "fix", "README.md", "fixed\n")
	out, err = runGit(t, work, nil, "push", "origin", "fix")
	if err == nil || !strings.Contains(out, "remote: Permission to octo/hello.git denied to sesame-test[bot].") || !strings.Contains(out, "403") {
		t.Errorf("push with contents: read: %v\n%s", err, out)
	}
	if s.RefExists("octo/hello", "fix") || len(s.Pushes("octo/hello")) != 0 {
		t.Errorf("a refused push changed the repository: %v", s.Pushes("octo/hello"))
	}

	// GitHub's answer to a git request without credentials.
	resp, err := http.Get(s.GitURL("octo/hello") + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="GitHub"` {
		t.Errorf("no credentials: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Git is not served under the REST API's /api/v3, nor over dumb HTTP.
	for _, u := range []string{s.URL + "/api/v3/octo/hello.git/info/refs?service=git-upload-pack", s.GitURL("octo/hello") + "/info/refs"} {
		req, _ := http.NewRequest("GET", u, nil)
		req.SetBasicAuth("x-access-token", tokenFor(t, s, 7))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 403 {
			t.Errorf("GET %s = %d", u, resp.StatusCode)
		}
	}
}

func TestGitLargePushAndGzipFetch(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	bare := s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "hi\n"})
	token := tokenFor(t, s, 7)
	trace := []string{"GIT_TRACE_CURL=1", "GIT_TRACE_CURL_NO_DATA=1"}

	// A pack larger than http.postBuffer (1 MiB) goes chunked.
	work := clone(t, s, token, "octo/hello")
	big := make([]byte, 5<<20)
	_, _ = rand.Read(big)
	commitOn(t, work, "big", "blob.bin", string(big))
	out, err := runGit(t, work, trace, "push", "origin", "big")
	if err != nil {
		t.Fatalf("large push: %v\n%s", err, lastLines(out, 20))
	}
	if !strings.Contains(out, "Transfer-Encoding: chunked") {
		t.Errorf("the large push was not chunked; the test no longer covers that")
	}
	if got := mustGit(t, "", "--git-dir", bare, "cat-file", "-s", "big:blob.bin"); got != fmt.Sprint(len(big)) {
		t.Errorf("pushed blob has %s bytes, want %d", got, len(big))
	}

	// A fetch that wants many commits sends a request git gzips.
	var stream bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&stream, "commit refs/heads/b%02d\ncommitter A <a@example.com> 1700000000 +0000\ndata 3\n%02d\nfrom refs/heads/main\n\n", i, i)
	}
	cmd := exec.Command("git", "--git-dir", bare, "fast-import", "--quiet")
	cmd.Stdin = &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fast-import: %v\n%s", err, out)
	}
	out, err = runGit(t, "", trace, "-c", basicAuth(token), "clone", s.GitURL("octo/hello"), filepath.Join(t.TempDir(), "w"))
	if err != nil {
		t.Fatalf("clone of 42 branches: %v\n%s", err, lastLines(out, 20))
	}
	if !strings.Contains(out, "Content-Encoding: gzip") {
		t.Errorf("the fetch request was not gzipped; the test no longer covers that")
	}
}

func TestGitPushRejectedByServer(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	bare := s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "hi\n"})
	work := clone(t, s, tokenFor(t, s, 7), "octo/hello")
	commitOn(t, work, "fix", "a.txt", "1\n")
	mustGit(t, work, "push", "--quiet", "origin", "fix")

	mustGit(t, "", "--git-dir", bare, "config", "receive.denyNonFastForwards", "true")
	mustGit(t, work, "commit", "--quiet", "--amend", "-m", "Rewritten")
	out, err := runGit(t, work, nil, "push", "--force", "origin", "fix")
	if err == nil || !strings.Contains(out, "remote rejected") {
		t.Errorf("non-fast-forward push: %v\n%s", err, out)
	}
	if diff := cmp.Diff([]string{"refs/heads/fix"}, s.Pushes("octo/hello")); diff != "" {
		t.Errorf("Pushes recorded a rejected update (-want +got):\n%s", diff)
	}
}

func TestGitFailNext(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.CreateRepo(t, "octo/hello", map[string]string{"README.md": "hi\n"})
	token := tokenFor(t, s, 7)
	s.FailNext("POST", "/octo/hello.git/git-receive-pack", http.StatusInternalServerError, "")
	work := clone(t, s, token, "octo/hello")
	commitOn(t, work, "fix", "a.txt", "1\n")
	if out, err := runGit(t, work, nil, "push", "origin", "fix"); err == nil || !strings.Contains(out, "500") {
		t.Errorf("push during an outage: %v\n%s", err, out)
	}
	if s.RefExists("octo/hello", "fix") || len(s.Pushes("octo/hello")) != 0 {
		t.Errorf("a failed push changed the repository")
	}
	mustGit(t, work, "push", "--quiet", "origin", "fix")
	if !s.RefExists("octo/hello", "fix") {
		t.Errorf("retried push missing")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
