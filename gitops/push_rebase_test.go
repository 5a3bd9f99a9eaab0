package gitops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// prFixture checks out the branch "feature" of a pull request, which has one commit of its own, and
// commits a change of README.md on it as a task would.
func prFixture(t *testing.T) (f *fixture, dir, hash string) {
	t.Helper()
	f = newFixture(t, false)
	f.srv.commit(t, "acme", "widget", "feature", "start the feature", map[string]string{"feature.txt": "v1\n"})
	_, dir = f.checkout(t, "refs/heads/feature", "feature")
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# Widget\n\nThe typo.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hash, _, err := Commit(dir, f.mirror, testSig, "Fix the typo\n\nAsked in #7.", true)
	if err != nil {
		t.Fatal(err)
	}
	return f, dir, hash
}

func TestPushRebasedOnUnmovedBranch(t *testing.T) {
	f, dir, hash := prFixture(t)
	ctx := context.Background()
	bare := f.srv.gitDir("acme", "widget")
	before := mustGit(t, ctx, bare, "rev-parse", "refs/heads/feature")

	got, rebased, err := PushRebased(ctx, dir, f.mirror, f.url, testToken, "feature")
	if err != nil || rebased || got != hash {
		t.Fatalf("PushRebased = %s, %v, %v; want %s, false, nil", got, rebased, err, hash)
	}
	if parent := mustGit(t, ctx, bare, "rev-parse", "refs/heads/feature^"); parent != before {
		t.Errorf("the pushed commit's parent is %s, want the branch's head %s", parent, before)
	}
}

func TestPushRebasedReplaysOntoMovedBranch(t *testing.T) {
	f, dir, hash := prFixture(t)
	ctx := context.Background()
	bare := f.srv.gitDir("acme", "widget")
	// Someone pushes to the pull request's branch while the agent works.
	theirs := f.srv.commit(t, "acme", "widget", "feature", "their change", map[string]string{"feature.txt": "v2\n"})

	got, rebased, err := PushRebased(ctx, dir, f.mirror, f.url, testToken, "feature")
	if err != nil || !rebased {
		t.Fatalf("PushRebased = %s, %v, %v; want a rebased push", got, rebased, err)
	}
	if got == hash {
		t.Fatalf("the original commit was pushed, not one on the new head")
	}
	if head := mustGit(t, ctx, bare, "rev-parse", "refs/heads/feature"); head != got {
		t.Errorf("remote head %s, PushRebased said %s", head, got)
	}
	if parent := mustGit(t, ctx, bare, "rev-parse", got+"^"); parent != theirs {
		t.Errorf("the rebased commit's parent is %s, want their commit %s", parent, theirs)
	}
	if readme := mustGit(t, ctx, bare, "show", got+":README.md"); readme != "# Widget\n\nThe typo." {
		t.Errorf("README.md = %q, want the task's change", readme)
	}
	if feature := mustGit(t, ctx, bare, "show", got+":feature.txt"); feature != "v2" {
		t.Errorf("feature.txt = %q, want their change kept", feature)
	}
	want := mustGit(t, ctx, dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", hash)
	if meta := mustGit(t, ctx, bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", got); meta != want {
		t.Errorf("rebased commit reads %q, want %q", meta, want)
	}
	mustGit(t, ctx, bare, "fsck", "--no-progress")
}

func TestPushRebasedRefusesConflicts(t *testing.T) {
	f, dir, _ := prFixture(t)
	ctx := context.Background()
	bare := f.srv.gitDir("acme", "widget")
	theirs := f.srv.commit(t, "acme", "widget", "feature", "their README", map[string]string{"README.md": "# Widget\n\nTheir words.\n"})

	_, _, err := PushRebased(ctx, dir, f.mirror, f.url, testToken, "feature")
	if !errors.Is(err, ErrRebaseConflict) || !strings.Contains(err.Error(), "README.md") {
		t.Fatalf("PushRebased = %v, want ErrRebaseConflict naming README.md", err)
	}
	if head := mustGit(t, ctx, bare, "rev-parse", "refs/heads/feature"); head != theirs {
		t.Errorf("the remote branch moved to %s after a conflict", head)
	}
}
