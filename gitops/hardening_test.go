package gitops

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The agent has the workspace to itself between Checkout and Commit, and
// the server runs git on it afterwards: these tests plant what would make
// git run a command (hooks, core.hooksPath, core.fsmonitor, filters) or send
// the push elsewhere (insteadOf, http.proxy, core.sshCommand, include.path)
// and check that nothing of it ever takes effect on the host.

// hookNames are the hooks planted: every one git runs on its own during a
// fetch, a checkout, an update of refs or of the index, a commit or a push.
var hookNames = []string{"reference-transaction", "post-checkout", "post-index-change", "pre-commit",
	"prepare-commit-msg", "commit-msg", "post-commit", "pre-push", "post-merge", "pre-auto-gc", "post-rewrite"}

// plantHooks writes an executable hook of each name into dir: each appends
// its name to marker.
func plantHooks(t *testing.T, dir, marker string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range hookNames {
		script := fmt.Sprintf("#!/bin/sh\necho %s >> %s\ncat > /dev/null\n", name, marker)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// plantScript writes an executable script that appends what to marker, and
// returns its path.
func plantScript(t *testing.T, marker, what string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), what+".sh")
	if err := os.WriteFile(p, []byte(fmt.Sprintf("#!/bin/sh\necho %s >> %s\n", what, marker)), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNotRun fails if marker exists, saying what wrote it.
func assertNotRun(t *testing.T, marker string) {
	t.Helper()
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("planted commands ran on the host: %q", strings.Fields(string(b)))
	}
}

// setConfig sets key to value in the configuration file of the repository
// at gitDir, as an agent would edit it, without running anything of it.
func setConfig(t *testing.T, gitDir, key, value string) {
	t.Helper()
	mustGit(t, context.Background(), "", "config", "--file", filepath.Join(gitDir, "config"), key, value)
}

func TestNoHooksFolders(t *testing.T) {
	f := newFixture(t, true)
	mirror := f.sync(t)
	waitSpares(t, f.cache.Dir)
	spare := oneSpare(t, mirror)
	if _, err := os.Stat(filepath.Join(spare, ".git", "HEAD")); err != nil {
		t.Fatalf("no spare: %v", err)
	}
	assertNoHooks(t, filepath.Join(mirror, "hooks"))
	assertNoHooks(t, filepath.Join(spare, ".git", "hooks"))
	_, dir := f.checkout(t, "main", "sesame/1-hooks-aaaaaa") // from the spare
	assertNoHooks(t, filepath.Join(dir, ".git", "hooks"))

	direct := newFixture(t, false)
	_, dir = direct.checkout(t, "main", "sesame/2-hooks-bbbbbb") // built afresh
	assertNoHooks(t, filepath.Join(direct.mirror, "hooks"))
	assertNoHooks(t, filepath.Join(dir, ".git", "hooks"))
}

// assertNoHooks fails unless dir is missing or empty.
func assertNoHooks(t *testing.T, dir string) {
	t.Helper()
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		t.Errorf("%s holds %d files", dir, len(entries))
	}
}

// TestPlantedHooksNeverRun: hooks planted in a mirror, in a spare working
// tree (which becomes a workspace), or in a workspace after Checkout, by
// the hooks folder, core.hooksPath or core.fsmonitor, never run during
// Sync, Checkout, Commit, Push or Stat.
func TestPlantedHooksNeverRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		where string // "mirror", "spare" (before Checkout claims it) or "workspace" (after Checkout)
		plant func(t *testing.T, gitDir, marker string)
	}{
		{"mirror hooks folder", "mirror", func(t *testing.T, gitDir, marker string) {
			plantHooks(t, filepath.Join(gitDir, "hooks"), marker)
		}},
		{"spare hooks folder", "spare", func(t *testing.T, gitDir, marker string) {
			plantHooks(t, filepath.Join(gitDir, "hooks"), marker)
		}},
		{"spare core.hooksPath", "spare", func(t *testing.T, gitDir, marker string) {
			hooks := filepath.Join(t.TempDir(), "hooks")
			plantHooks(t, hooks, marker)
			setConfig(t, gitDir, "core.hooksPath", hooks)
		}},
		{"spare core.fsmonitor", "spare", func(t *testing.T, gitDir, marker string) {
			setConfig(t, gitDir, "core.fsmonitor", plantScript(t, marker, "fsmonitor"))
		}},
		{"workspace hooks folder", "workspace", func(t *testing.T, gitDir, marker string) {
			plantHooks(t, filepath.Join(gitDir, "hooks"), marker)
		}},
		{"workspace core.hooksPath", "workspace", func(t *testing.T, gitDir, marker string) {
			hooks := filepath.Join(t.TempDir(), "hooks")
			plantHooks(t, hooks, marker)
			setConfig(t, gitDir, "core.hooksPath", hooks)
		}},
		{"workspace core.fsmonitor", "workspace", func(t *testing.T, gitDir, marker string) {
			setConfig(t, gitDir, "core.fsmonitor", plantScript(t, marker, "fsmonitor"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const branch = "sesame/1-hooks-aaaaaa"
			marker := filepath.Join(t.TempDir(), "ran")
			f := newFixture(t, true)
			mirror := f.sync(t)
			waitSpares(t, f.cache.Dir)
			switch tc.where {
			case "mirror":
				tc.plant(t, mirror, marker)
			case "spare":
				tc.plant(t, filepath.Join(oneSpare(t, mirror), ".git"), marker)
			}
			// Upstream moves: Sync fetches (updating the mirror's refs), and
			// Checkout checks the spare out anew before giving it its branch.
			f.srv.commit(t, "acme", "widget", "main", "upstream", map[string]string{"up.txt": "up\n"})
			_, dir := f.checkout(t, "main", branch)
			assertNotRun(t, marker)
			if tc.where == "workspace" {
				tc.plant(t, filepath.Join(dir, ".git"), marker)
			}

			if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# Widget\n\nFixed.\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			commitPushStat(t, f, dir, mirror, branch, "Fix", true)
			f.sync(t)
			waitSpares(t, f.cache.Dir) // the next spare, made from the mirror
			assertNotRun(t, marker)
		})
	}
}

// TestWorkspaceConfigIgnored: whatever the agent writes into the
// workspace's .git/config, Commit, Push and Stat run git with an empty
// configuration over its objects and index: no command of the agent's runs,
// the push goes to the remote it was given, and the token stays with it.
func TestWorkspaceConfigIgnored(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, dir, stolen string, real, trap *gitServer)
		files int // Stat counts README.md, more.txt and what plant adds
	}{
		{"hooks folder", func(t *testing.T, dir, stolen string, _, _ *gitServer) {
			plantHooks(t, filepath.Join(dir, ".git", "hooks"), stolen)
		}, 2},
		{"core.hooksPath", func(t *testing.T, dir, stolen string, _, _ *gitServer) {
			hooks := filepath.Join(t.TempDir(), "hooks")
			plantHooks(t, hooks, stolen)
			setConfig(t, filepath.Join(dir, ".git"), "core.hooksPath", hooks)
		}, 2},
		{"core.fsmonitor", func(t *testing.T, dir, stolen string, _, _ *gitServer) {
			setConfig(t, filepath.Join(dir, ".git"), "core.fsmonitor", "env > "+stolen+"; true")
		}, 2},
		{"filter", func(t *testing.T, dir, stolen string, _, _ *gitServer) {
			setConfig(t, filepath.Join(dir, ".git"), "filter.evil.clean", "env > "+stolen+"; cat")
			setConfig(t, filepath.Join(dir, ".git"), "filter.evil.required", "true")
			if err := os.WriteFile(filepath.Join(dir, ".gitattributes"), []byte("* filter=evil\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, 3},
		{"core.sshCommand", func(t *testing.T, dir, stolen string, real, _ *gitServer) {
			setConfig(t, filepath.Join(dir, ".git"), "url.ssh://git@127.0.0.1/.insteadOf", real.URL+"/")
			setConfig(t, filepath.Join(dir, ".git"), "core.sshCommand", "env > "+stolen+"; false")
		}, 2},
		{"http.proxy", func(t *testing.T, dir, _ string, _, trap *gitServer) {
			setConfig(t, filepath.Join(dir, ".git"), "http.proxy", trap.URL)
		}, 2},
		{"url.insteadOf", func(t *testing.T, dir, _ string, real, trap *gitServer) {
			setConfig(t, filepath.Join(dir, ".git"), "url."+trap.URL+"/.insteadOf", real.URL+"/")
		}, 2},
		{"include.path", func(t *testing.T, dir, stolen string, real, trap *gitServer) {
			hooks := filepath.Join(t.TempDir(), "hooks")
			plantHooks(t, hooks, stolen)
			inc := filepath.Join(t.TempDir(), "evil.config")
			content := fmt.Sprintf("[url %q]\n\tinsteadOf = %s/\n[core]\n\thooksPath = %s\n\tfsmonitor = env > %s; true\n",
				trap.URL+"/", real.URL, hooks, stolen)
			if err := os.WriteFile(inc, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			setConfig(t, filepath.Join(dir, ".git"), "include.path", inc)
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const branch = "sesame/1-fix-aaaaaa"
			f, dir, _ := pushFixture(t, branch)
			ctx := context.Background()
			stolen := filepath.Join(t.TempDir(), "stolen")
			trap := newGitServer(t, "other")
			tc.plant(t, dir, stolen, f.srv, trap)
			// The workspace's own git would obey it (the planting is real).
			if out, err := runTestGit(ctx, dir, "config", "--list", "--show-origin"); err != nil || !strings.Contains(out, ".git/config") {
				t.Fatalf("workspace config: %v\n%s", err, out)
			}

			if err := os.WriteFile(filepath.Join(dir, "more.txt"), []byte("more\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			hash, changed, err := Commit(dir, f.mirror, testSig, "More", false)
			if err != nil || !changed {
				t.Fatalf("Commit = %v, %v", changed, err)
			}
			if err := Push(ctx, dir, f.mirror, f.url, testToken, branch); err != nil {
				t.Fatalf("Push: %v", err)
			}
			if got := mustGit(t, ctx, f.srv.gitDir("acme", "widget"), "rev-parse", "refs/heads/"+branch); got != hash {
				t.Errorf("pushed %s, want %s", got, hash)
			}
			if files, _, _, err := Stat(ctx, dir, "main"); err != nil || files != tc.files {
				t.Errorf("Stat = %d, %v; want %d files", files, err, tc.files)
			}
			assertNotRun(t, stolen)
			trap.mu.Lock()
			defer trap.mu.Unlock()
			if len(trap.requests) > 0 || len(trap.authSeen) > 0 {
				t.Errorf("the push went to the trap: %v", trap.requests)
			}
		})
	}
}

// TestWorkspaceOwnedByAgent: the sandbox may run the agent as another uid,
// so the workspace may belong to another user when Commit, Push and Stat
// run; git's dubious-ownership check must not stop them.
func TestWorkspaceOwnedByAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to give the workspace to another user: run the tests as root (CI does)")
	}
	const branch = "sesame/1-fix-aaaaaa"
	f := newFixture(t, false)
	ctx := context.Background()
	mirror, dir := f.checkout(t, "main", branch)
	if err := os.WriteFile(filepath.Join(dir, "agent.txt"), []byte("by the agent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", "65534:65534", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	if _, err := runTestGit(ctx, dir, "status"); err == nil || !strings.Contains(err.Error(), "dubious ownership") {
		t.Fatalf("plain git status in the workspace = %v, want a dubious-ownership error", err)
	}
	commitPushStat(t, f, dir, mirror, branch, "Agent", false)
}

// commitPushStat commits the workspace's one changed file, pushes branch and checks that the
// remote has the commit and that Stat counts the file.
func commitPushStat(t *testing.T, f *fixture, dir, mirror, branch, message string, coAuthor bool) {
	t.Helper()
	ctx := context.Background()
	hash, changed, err := Commit(dir, mirror, testSig, message, coAuthor)
	if err != nil || !changed {
		t.Fatalf("Commit = %v, %v", changed, err)
	}
	if err := Push(ctx, dir, mirror, f.url, testToken, branch); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got := mustGit(t, ctx, f.srv.gitDir("acme", "widget"), "rev-parse", "refs/heads/"+branch); got != hash {
		t.Errorf("pushed %s, want %s", got, hash)
	}
	if files, _, _, err := Stat(ctx, dir, "main"); err != nil || files != 1 {
		t.Errorf("Stat = %d, %v", files, err)
	}
}
