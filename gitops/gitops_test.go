package gitops

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

const testToken = "ghs_testTOKEN0123456789abcdefSECRET"

var testSig = Signature{Name: "Sesame Agent", Email: "agent@sesame.works"}

// fixture is a served repository acme/widget, a cache and a task folder.
type fixture struct {
	srv    *gitServer
	url    string
	cache  *Cache
	tasks  string
	mirror string // set by sync
}

func newFixture(t *testing.T, spare bool) *fixture {
	t.Helper()
	srv := newGitServer(t, testToken)
	srv.newRepo(t, "acme", "widget", map[string]string{
		"README.md":      "# Widget\n\nA teh typo.\n",
		"src/main.go":    "package main\n\nfunc main() {}\n",
		"src/old.go":     "package main\n",
		"docs/guide.txt": "line 1\nline 2\n",
		".gitignore":     "*.log\nbuild/\n",
	})
	f := &fixture{srv: srv, url: srv.repoURL("acme", "widget"), cache: &Cache{Dir: t.TempDir(), Spare: spare}, tasks: t.TempDir()}
	// Runs before the folders are removed: a spare may be being made.
	t.Cleanup(func() { waitSpares(t, f.cache.Dir) })
	return f
}

// waitSpares waits for every background refill under dir to end.
func waitSpares(tb testing.TB, dir string) {
	tb.Helper()
	if err := (&Cache{Dir: dir}).Wait(context.Background()); err != nil {
		tb.Error(err)
	}
}

// oneSpare returns the path of mirror's one ready spare.
func oneSpare(t *testing.T, mirror string) string {
	t.Helper()
	ready := readySpares(spareDir(mirror))
	if len(ready) != 1 {
		t.Fatalf("spares ready: %q, want one", ready)
	}
	return ready[0]
}

func (f *fixture) sync(t *testing.T) string {
	t.Helper()
	mirror, err := f.cache.Sync(context.Background(), f.url, testToken)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	f.mirror = mirror
	return mirror
}

// checkout syncs and checks out base on branch into a new task folder.
func (f *fixture) checkout(t *testing.T, base, branch string) (mirror, dir string) {
	t.Helper()
	mirror = f.sync(t)
	dir = filepath.Join(f.tasks, strings.ReplaceAll(branch, "/", "_"), "repo")
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := f.cache.Checkout(context.Background(), mirror, dir, f.url, base, branch); err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	return mirror, dir
}

func TestSyncCreatesThenFetches(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	mirror := f.sync(t)

	wantPath := filepath.Join(f.cache.Dir, strings.ReplaceAll(strings.TrimPrefix(f.srv.URL, "http://"), ":", "_"), "acme", "widget.git")
	if abs, _ := filepath.Abs(wantPath); mirror != abs {
		t.Errorf("mirror = %s, want %s", mirror, abs)
	}
	if got, want := mustGit(t, ctx, mirror, "rev-parse", "main"), mustGit(t, ctx, f.srv.gitDir("acme", "widget"), "rev-parse", "main"); got != want {
		t.Errorf("mirror main = %s, want %s", got, want)
	}
	if got := mustGit(t, ctx, mirror, "config", "remote.origin.url"); got != f.url {
		t.Errorf("mirror's origin = %q, want the plain URL %q", got, f.url)
	}

	// New commits, a new branch and a tag upstream: the next Sync fetches them.
	next := f.srv.commit(t, "acme", "widget", "main", "second", map[string]string{"new.txt": "new\n"})
	f.srv.commit(t, "acme", "widget", "feature", "feature work", map[string]string{"f.txt": "f\n"})
	mustGit(t, ctx, f.srv.gitDir("acme", "widget"), "tag", "v1.0", next)
	if again := f.sync(t); again != mirror {
		t.Errorf("second Sync returned %s, want %s", again, mirror)
	}
	if got := mustGit(t, ctx, mirror, "rev-parse", "main"); got != next {
		t.Errorf("after the second Sync main = %s, want %s", got, next)
	}
	refs := mustGit(t, ctx, mirror, "for-each-ref", "--format=%(refname)")
	if diff := cmp.Diff("refs/heads/feature\nrefs/heads/main\nrefs/tags/v1.0", refs); diff != "" {
		t.Errorf("mirror refs (-want +got):\n%s", diff)
	}

	// A branch deleted upstream is pruned.
	mustGit(t, ctx, f.srv.gitDir("acme", "widget"), "branch", "-D", "feature")
	f.sync(t)
	if _, err := runTestGit(ctx, mirror, "rev-parse", "--verify", "--quiet", "refs/heads/feature"); err == nil {
		t.Error("a branch deleted upstream is still in the mirror")
	}
}

func TestSyncConcurrent(t *testing.T) {
	f := newFixture(t, false)
	var wg sync.WaitGroup
	mirrors := make([]string, 4)
	errs := make([]error, 4)
	for i := range mirrors {
		wg.Go(func() { mirrors[i], errs[i] = f.cache.Sync(context.Background(), f.url, testToken) })
	}
	wg.Wait()
	for i := range mirrors {
		if errs[i] != nil {
			t.Fatalf("Sync %d: %v", i, errs[i])
		}
		if mirrors[i] != mirrors[0] {
			t.Errorf("Sync %d returned %s, want %s", i, mirrors[i], mirrors[0])
		}
	}
	mustGit(t, context.Background(), mirrors[0], "fsck", "--no-progress")
}

func TestSyncRejectsURLs(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	for _, u := range []string{
		"https://x-access-token:" + testToken + "@github.com/acme/widget.git",
		"ssh://git@github.com/acme/widget.git",
		"git@github.com:acme/widget.git",
		"https://github.com/widget",
		"https://github.com/acme/../widget",
		"https://github.com/acme/widget?x=1",
	} {
		_, err := c.Sync(context.Background(), u, testToken)
		if err == nil {
			t.Errorf("Sync(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("Sync(%q) error holds the token: %v", u, err)
		}
	}
}

func TestCheckout(t *testing.T) {
	for _, spare := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "spare"}[spare], func(t *testing.T) {
			f := newFixture(t, spare)
			ctx := context.Background()
			develop := f.srv.commit(t, "acme", "widget", "develop", "develop work", map[string]string{"dev.txt": "dev\n"})

			for i, tc := range []struct {
				base, branch, file string
			}{
				{"main", "sesame/1-fix-aaaaaa", "README.md"},
				{"develop", "sesame/2-dev-bbbbbb", "dev.txt"},
				{"", "sesame/web-cccccc", "README.md"},
				{"main", "sesame/4-again-dddddd", "README.md"}, // with spares: a claimed spare
			} {
				mirror, dir := f.checkout(t, tc.base, tc.branch)
				if spare {
					waitSpares(t, f.cache.Dir)
					if got := readySpares(spareDir(mirror)); len(got) != 1 {
						t.Errorf("checkout %d: spares ready after the refill: %q, want one", i, got)
					}
				}
				want := mustGit(t, ctx, mirror, "rev-parse", map[string]string{"": "HEAD"}[tc.base]+tc.base)
				if tc.base == "develop" && want != develop {
					t.Fatalf("develop = %s, want %s", want, develop)
				}
				assertWorkspace(t, dir, tc.branch, want, f.url)
				if _, err := os.Stat(filepath.Join(dir, tc.file)); err != nil {
					t.Errorf("checkout %d: %v", i, err)
				}
				// Removing the workspace leaves the mirror whole and unchanged.
				before := mustGit(t, ctx, mirror, "for-each-ref")
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				mustGit(t, ctx, mirror, "fsck", "--no-progress")
				if after := mustGit(t, ctx, mirror, "for-each-ref"); after != before {
					t.Errorf("the mirror's refs changed:\n%s\n%s", before, after)
				}
				if wt := mustGit(t, ctx, mirror, "worktree", "list"); strings.Count(wt, "\n") != 0 {
					t.Errorf("the mirror has worktrees: %s", wt)
				}
			}
		})
	}
}

// assertWorkspace checks a fresh checkout: on branch at commit, origin is
// the plain URL, origin/main is known and git status is clean.
func assertWorkspace(t *testing.T, dir, branch, commit, url string) {
	t.Helper()
	ctx := context.Background()
	if got := mustGit(t, ctx, dir, "symbolic-ref", "HEAD"); got != "refs/heads/"+branch {
		t.Errorf("HEAD -> %s, want refs/heads/%s", got, branch)
	}
	if got := mustGit(t, ctx, dir, "rev-parse", "HEAD"); got != commit {
		t.Errorf("HEAD = %s, want %s", got, commit)
	}
	if got := mustGit(t, ctx, dir, "remote", "get-url", "origin"); got != url {
		t.Errorf("origin = %s, want %s", got, url)
	}
	if got := mustGit(t, ctx, dir, "rev-parse", "--verify", "origin/HEAD"); got != mustGit(t, ctx, dir, "rev-parse", "--verify", "origin/main") {
		t.Errorf("origin/HEAD = %s, want origin/main", got)
	}
	if st := mustGit(t, ctx, dir, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("git status after checkout:\n%s", st)
	}
}

func TestCheckoutSpareFollowsMirror(t *testing.T) {
	f := newFixture(t, true)
	mirror := f.sync(t)
	waitSpares(t, f.cache.Dir) // a spare at the first commit
	spare := oneSpare(t, mirror)
	next := f.srv.commit(t, "acme", "widget", "main", "rewrite", map[string]string{
		"README.md": "# Widget\n\nThe typo is fixed.\n", "src/old.go": "", "added/x.txt": "x\n",
	})
	_, dir := f.checkout(t, "main", "sesame/5-later-eeeeee")
	if _, err := os.Stat(spare); err == nil {
		t.Error("the spare was not used")
	}
	assertWorkspace(t, dir, "sesame/5-later-eeeeee", next, f.url)
	if b, _ := os.ReadFile(filepath.Join(dir, "README.md")); !strings.Contains(string(b), "fixed") {
		t.Errorf("README.md = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "src/old.go")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a deleted file is still there: %v", err)
	}
}

func TestCheckoutErrors(t *testing.T) {
	f := newFixture(t, false)
	mirror := f.sync(t)
	ctx := context.Background()
	full := filepath.Join(t.TempDir(), "full")
	os.MkdirAll(full, 0o700)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	for _, tc := range []struct{ name, dir, base, branch, want string }{
		{"not empty", full, "main", "sesame/x-1", "not empty"},
		{"no base", filepath.Join(t.TempDir(), "a"), "nope", "sesame/x-1", "no such branch"},
		{"dash base", filepath.Join(t.TempDir(), "a"), "--output=/tmp/x", "sesame/x-1", "bad base"},
		{"bad branch", filepath.Join(t.TempDir(), "a"), "main", "sesame/x..y", "branch name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Checkout(ctx, mirror, tc.dir, f.url, tc.base, tc.branch)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Checkout = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestCommit(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	mirror, dir := f.checkout(t, "main", "sesame/1-fix-the-typo-aaaaaa")
	base := mustGit(t, ctx, mirror, "rev-parse", "main")

	// Clean tree: nothing to commit.
	if hash, changed, err := Commit(dir, mirror, testSig, "Nothing", true); err != nil || changed || hash != "" {
		t.Fatalf("Commit on a clean tree = %q, %v, %v", hash, changed, err)
	}

	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Widget\n\nA the typo.\n") // modified
	write("pkg/new/file.go", "package new\n")       // new, in a new folder
	write("debug.log", "ignored\n")                 // ignored by .gitignore
	write("build/out.bin", "ignored\n")             // ignored folder
	os.Remove(filepath.Join(dir, "src/old.go"))     // deleted
	write(".git/info/exclude", "local-only.txt\n")  // ignored by info/exclude
	write("local-only.txt", "not to commit\n")

	msg := "Fix the typo\n\nRequested by @octocat in acme/widget#1.\nSesame task: http://sesame/tasks/1"
	hash, changed, err := Commit(dir, mirror, testSig, msg, true)
	if err != nil || !changed || len(hash) != 40 {
		t.Fatalf("Commit = %q, %v, %v", hash, changed, err)
	}

	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	if c.Author.Name != testSig.Name || c.Author.Email != testSig.Email || c.Committer.Name != testSig.Name || c.Committer.Email != testSig.Email {
		t.Errorf("author %v, committer %v, want %v", c.Author, c.Committer, testSig)
	}
	if want := msg + "\n\n" + CoAuthorTrailer + "\n"; c.Message != want {
		t.Errorf("message:\n%q\nwant\n%q", c.Message, want)
	}
	if n := strings.Count(c.Message, "Co-authored-by:"); n != 1 {
		t.Errorf("the trailer is there %d times", n)
	}
	if len(c.ParentHashes) != 1 || c.ParentHashes[0].String() != base {
		t.Errorf("parents %v, want %s", c.ParentHashes, base)
	}
	if got := mustGit(t, ctx, dir, "rev-parse", "refs/heads/sesame/1-fix-the-typo-aaaaaa"); got != hash {
		t.Errorf("the branch is at %s, want %s", got, hash)
	}
	changes := mustGit(t, ctx, dir, "diff-tree", "--no-commit-id", "--name-status", "-r", hash)
	if diff := cmp.Diff("M\tREADME.md\nA\tpkg/new/file.go\nD\tsrc/old.go", changes); diff != "" {
		t.Errorf("committed changes (-want +got):\n%s", diff)
	}
	if st := mustGit(t, ctx, dir, "status", "--porcelain"); st != "" {
		t.Errorf("git status after Commit:\n%s", st)
	}

	files, ins, del, err := Stat(ctx, dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	if files != 3 || ins != 2 || del != 2 {
		t.Errorf("Stat = %d files, +%d -%d; want 3, +2 -2", files, ins, del)
	}

	// Nothing new: no second commit.
	if hash2, changed, err := Commit(dir, mirror, testSig, msg, true); err != nil || changed || hash2 != "" {
		t.Errorf("second Commit = %q, %v, %v", hash2, changed, err)
	}
}

func TestWithTrailer(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"subject only", "Fix it", "Fix it\n\n" + CoAuthorTrailer + "\n"},
		{"body", "Fix it\n\nBecause.\n", "Fix it\n\nBecause.\n\n" + CoAuthorTrailer + "\n"},
		{"already there", "Fix it\n\n" + CoAuthorTrailer + "\n", "Fix it\n\n" + CoAuthorTrailer + "\n"},
		{"trailer block", "Fix it\n\nSigned-off-by: A <a@b.c>", "Fix it\n\nSigned-off-by: A <a@b.c>\n" + CoAuthorTrailer + "\n"},
		{"subject looks like a trailer", "Fix: it", "Fix: it\n\n" + CoAuthorTrailer + "\n"},
		{"empty", "", CoAuthorTrailer + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := withTrailer(tc.in, CoAuthorTrailer); got != tc.want {
				t.Errorf("withTrailer(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestStatNoChanges(t *testing.T) {
	f := newFixture(t, false)
	_, dir := f.checkout(t, "main", "sesame/x-aaaaaa")
	for _, base := range []string{"main", "origin/main", "", "HEAD"} {
		files, ins, del, err := Stat(context.Background(), dir, base)
		if err != nil || files+ins+del != 0 {
			t.Errorf("Stat(%q) = %d %d %d %v, want zeros", base, files, ins, del, err)
		}
	}
	if _, _, _, err := Stat(context.Background(), dir, "nope"); err == nil {
		t.Error("Stat of an unknown base succeeded")
	}
}

func TestParseShortstat(t *testing.T) {
	for in, want := range map[string][3]int{
		"":                                 {0, 0, 0},
		" 1 file changed, 1 insertion(+)":  {1, 1, 0},
		" 2 files changed, 3 deletions(-)": {2, 0, 3},
		" 12 files changed, 340 insertions(+), 7 deletions(-)": {12, 340, 7},
	} {
		f, i, d := parseShortstat(in)
		if got := [3]int{f, i, d}; got != want {
			t.Errorf("parseShortstat(%q) = %v, want %v", in, got, want)
		}
	}
}

// pushFixture is a checkout with one commit of the agent's.
func pushFixture(t *testing.T, branch string) (*fixture, string, string) {
	t.Helper()
	f := newFixture(t, false)
	_, dir := f.checkout(t, "main", branch)
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# Widget\n\nThe typo.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hash, _, err := Commit(dir, f.mirror, testSig, "Fix the typo", true)
	if err != nil {
		t.Fatal(err)
	}
	return f, dir, hash
}

func TestPush(t *testing.T) {
	const branch = "sesame/1-fix-the-typo-aaaaaa"
	f, dir, hash := pushFixture(t, branch)
	ctx := context.Background()
	bare := f.srv.gitDir("acme", "widget")

	if err := Push(ctx, dir, f.mirror, f.url, testToken, branch); err != nil {
		t.Fatalf("Push: %v", err)
	}
	log := mustGit(t, ctx, bare, "log", "-1", "--format=%H%n%an <%ae>%n%cn <%ce>%n%s", "refs/heads/"+branch)
	want := hash + "\nSesame Agent <agent@sesame.works>\nSesame Agent <agent@sesame.works>\nFix the typo"
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("pushed commit (-want +got):\n%s", diff)
	}
	if got := mustGit(t, ctx, bare, "show", "refs/heads/"+branch+":README.md"); got != "# Widget\n\nThe typo." {
		t.Errorf("pushed README.md = %q", got)
	}
	mustGit(t, ctx, bare, "fsck", "--no-progress")

	// Pushing again is a no-op.
	if err := Push(ctx, dir, f.mirror, f.url, testToken, branch); err != nil {
		t.Errorf("second Push: %v", err)
	}
	if bad := f.srv.strangeAuth(); len(bad) > 0 {
		t.Errorf("non-Basic Authorization headers: %q", bad)
	}
}

func TestPushNeverForces(t *testing.T) {
	const branch = "sesame/1-fix-the-typo-aaaaaa"
	f, dir, _ := pushFixture(t, branch)
	ctx := context.Background()
	// Someone else's branch of the same name.
	theirs := f.srv.commit(t, "acme", "widget", branch, "someone else's", map[string]string{"theirs.txt": "x\n"})

	err := Push(ctx, dir, f.mirror, f.url, testToken, branch)
	if !errors.Is(err, ErrPushRejected) {
		t.Fatalf("Push = %v, want ErrPushRejected", err)
	}
	if !strings.Contains(err.Error(), "does not force-push") {
		t.Errorf("the error does not say why: %v", err)
	}
	if got := mustGit(t, ctx, f.srv.gitDir("acme", "widget"), "rev-parse", "refs/heads/"+branch); got != theirs {
		t.Errorf("the remote branch moved to %s", got)
	}
}

func TestWrongToken(t *testing.T) {
	const branch = "sesame/1-fix-aaaaaa"
	const wrong = "ghs_wrongTOKENwrongTOKENwrong"
	f, dir, _ := pushFixture(t, branch)
	ctx := context.Background()

	other := &Cache{Dir: t.TempDir()}
	_, err := other.Sync(ctx, f.url, wrong)
	if !errors.Is(err, ErrAuthentication) {
		t.Errorf("Sync with a wrong token = %v, want ErrAuthentication", err)
	}
	if err != nil && (strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), basicAuth(wrong))) {
		t.Errorf("the error holds the token: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(other.Dir, strings.ReplaceAll(strings.TrimPrefix(f.srv.URL, "http://"), ":", "_"), "acme")); len(entries) != 1 {
		// only the lock file: no half-made mirror
		t.Errorf("after a failed clone the cache holds %v", entries)
	}
	f.sync(t) // the good mirror still fetches
	if _, err := f.cache.Sync(ctx, f.url, wrong); !errors.Is(err, ErrAuthentication) {
		t.Errorf("fetch with a wrong token = %v, want ErrAuthentication", err)
	}

	err = Push(ctx, dir, f.mirror, f.url, wrong, branch)
	if !errors.Is(err, ErrAuthentication) {
		t.Errorf("Push with a wrong token = %v, want ErrAuthentication", err)
	}
	if err != nil && strings.Contains(err.Error(), wrong) {
		t.Errorf("the error holds the token: %v", err)
	}
	if _, err := runTestGit(ctx, f.srv.gitDir("acme", "widget"), "rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err == nil {
		t.Error("the branch was pushed with a wrong token")
	}
}

func TestTokenNeverStored(t *testing.T) {
	for _, spare := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "spare"}[spare], func(t *testing.T) {
			const branch = "sesame/1-fix-aaaaaa"
			f := newFixture(t, spare)
			ctx := context.Background()
			f.sync(t)
			f.srv.commit(t, "acme", "widget", "main", "more", map[string]string{"more.txt": "more\n"})
			mirror, dir := f.checkout(t, "main", branch) // a fetch, then a checkout
			os.WriteFile(filepath.Join(dir, "fix.txt"), []byte("fix\n"), 0o644)
			if _, _, err := Commit(dir, mirror, testSig, "Fix", true); err != nil {
				t.Fatal(err)
			}
			if err := Push(ctx, dir, f.mirror, f.url, testToken, branch); err != nil {
				t.Fatal(err)
			}
			Push(ctx, dir, f.mirror, f.url, testToken+"x", branch) // a failed push
			waitSpares(t, f.cache.Dir)

			for _, root := range []string{f.cache.Dir, mirror, dir} {
				assertNoToken(t, root)
			}
		})
	}
}

// assertNoToken fails if any file under root holds the token, plain or as
// the Basic credential.
func assertNoToken(t *testing.T, root string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, secret := range []string{testToken, basicAuth(testToken), "x-access-token"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %q", p, secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("only %d files under %s", n, root)
	}
}

// TestSyncCancel: a server that does not answer; cancelling the context
// ends Sync promptly, and meanwhile no process shows the token in its
// command line.
func TestSyncCancel(t *testing.T) {
	f := newFixture(t, false)
	f.srv.setStall(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.cache.Sync(ctx, f.url, testToken)
		done <- err
	}()

	// While git waits for the server, look at every process's argv.
	deadline := time.Now().Add(5 * time.Second)
	sawGit := false
	for time.Now().Before(deadline) && !sawGit {
		cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range cmdlines {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			s := string(b)
			if strings.Contains(s, testToken) || strings.Contains(s, basicAuth(testToken)) {
				t.Errorf("%s shows the token: %q", p, s)
			}
			if strings.Contains(s, "remote-http") && strings.Contains(s, f.url) {
				sawGit = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawGit {
		t.Error("never saw git's remote helper running")
	}

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Sync = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Sync took %v to return after cancel", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync did not return after cancel")
	}

	// The same holds while waiting for another Sync's lock.
	f.srv.setStall(false)
	lock, err := lockFile(context.Background(), f.sync(t)+".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.unlock()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if _, err := f.cache.Sync(ctx2, f.url, testToken); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sync while locked = %v, want context.DeadlineExceeded", err)
	}
}

func TestBranchName(t *testing.T) {
	const id = "019a4f2e-7b1c-7d3e-9f00-1a2b3c4d5e6f"
	for _, tc := range []struct {
		name        string
		issue       int
		instruction string
		id          string
		want        string
	}{
		{"issue", 12, "fix the typo", id, "sesame/12-fix-the-typo-4d5e6f"},
		{"web", 0, "Fix the typo", id, "sesame/fix-the-typo-4d5e6f"},
		{"punctuation", 3, "  Fix: the `README`'s typo!!  ", id, "sesame/3-fix-the-readme-s-typo-4d5e6f"},
		{"long", 7, "make the flaky integration test in the payments service deterministic again", id,
			"sesame/7-make-the-flaky-integration-test-in-the-4d5e6f"},
		{"one long word", 7, strings.Repeat("a", 60), id, "sesame/7-" + strings.Repeat("a", 40) + "-4d5e6f"},
		{"no ascii", 5, "修正してください ☃", id, "sesame/5-task-4d5e6f"},
		{"empty", 0, "", id, "sesame/task-4d5e6f"},
		{"dots and slashes", 1, "../x/.lock..y@{z}", id, "sesame/1-x-lock-y-z-4d5e6f"},
		{"odd id", 1, "fix", "task/42", "sesame/1-fix-" + suffix("task/42")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BranchName(tc.issue, tc.instruction, tc.id)
			if got != tc.want {
				t.Errorf("BranchName = %q, want %q", got, tc.want)
			}
			if _, err := runTestGit(context.Background(), "", "check-ref-format", "--branch", got); err != nil {
				t.Errorf("git rejects %q: %v", got, err)
			}
			if err := checkBranchName(got); err != nil {
				t.Error(err)
			}
		})
	}
	if a, b := BranchName(1, "fix", id), BranchName(1, "fix", "019a4f2e-7b1c-7d3e-9f00-aaaaaaaaaaaa"); a == b {
		t.Errorf("two tasks of the same hour share the branch %s", a)
	}
}

// FuzzBranchName: whatever the instruction, the name is one git accepts.
func FuzzBranchName(f *testing.F) {
	f.Add(12, "fix the typo", "019a4f2e-7b1c-7d3e-9f00-1a2b3c4d5e6f")
	f.Add(0, "..//@{", "")
	f.Fuzz(func(t *testing.T, issue int, instruction, id string) {
		name := BranchName(issue, instruction, id)
		if err := checkBranchName(name); err != nil {
			t.Fatal(err)
		}
		if len(name) > 80 {
			t.Fatalf("%q is too long", name)
		}
	})
}

func TestCheckBranchNameAgreesWithGit(t *testing.T) {
	for _, name := range []string{
		"sesame/1-fix", "a", "a/b/c", "-x", "a..b", "a//b", "a/", "a.", ".a", "a/.b", "a.lock", "a/b.lock/c",
		"a b", "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", `a\b`, "a@{b", "a\tb", "a\x7fb", "x@y", "é",
	} {
		_, gitErr := runTestGit(context.Background(), "", "check-ref-format", "--branch", name)
		ours := checkBranchName(name)
		if (gitErr == nil) != (ours == nil) {
			t.Errorf("%q: git says %v, we say %v", name, gitErr, ours)
		}
	}
}

// With Cache.Owner, spares are handed to the sandbox's user in advance, and a workspace made from
// one, also after the mirror moved, works for Sesame (root) and is that user's but for what
// Checkout itself wrote.
func TestCheckoutSpareOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test hands files to another user: run it as root (CI does)")
	}
	f := newFixture(t, true)
	f.cache.Owner = &Owner{UID: 65534, GID: 65534}
	mirror := f.sync(t)
	waitSpares(t, f.cache.Dir)
	if owner := ownerOf(t, filepath.Join(oneSpare(t, mirror), "README.md")); owner != 65534 {
		t.Fatalf("the spare's README.md belongs to %d, want 65534", owner)
	}
	next := f.srv.commit(t, "acme", "widget", "main", "rewrite", map[string]string{"README.md": "# Widget\n\nFixed.\n", "new/dir/file.txt": "x\n"})
	_, dir := f.checkout(t, "main", "sesame/6-owner-ffffff")
	out, err := exec.Command("git", "-c", "safe.directory=*", "-C", dir, "log", "-1", "--format=%D %H").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "HEAD -> sesame/6-owner-ffffff") || !strings.Contains(string(out), next) {
		t.Errorf("workspace HEAD: %s (%v), want sesame/6-owner-ffffff at %s", out, err, next)
	}
	for _, p := range []string{"src", "README.md", "new", "new/dir", "new/dir/file.txt"} {
		if owner := ownerOf(t, filepath.Join(dir, p)); owner != 65534 {
			t.Errorf("%s of the workspace belongs to %d, want 65534", p, owner)
		}
	}
	waitSpares(t, f.cache.Dir)
	if owner := ownerOf(t, filepath.Join(oneSpare(t, mirror), ".git", "index")); owner != 65534 {
		t.Errorf("the next spare's index belongs to %d, want 65534", owner)
	}
}

func ownerOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}
