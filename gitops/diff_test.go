package gitops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// StagedDiff shows what Commit commits (new, modified, deleted; not what is ignored), runs no diff
// driver the workspace names, and stops at its limit.
func TestStagedDiff(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	mirror, dir := f.checkout(t, "main", "sesame/1-fix-the-typo-aaaaaa")

	if diff, cut, err := StagedDiff(ctx, dir, mirror, 1<<20); err != nil || diff != "" || cut {
		t.Fatalf("StagedDiff on a clean tree = %q, %v, %v", diff, cut, err)
	}
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	marker := filepath.Join(t.TempDir(), "driver-ran")
	write("README.md", "# Widget\n\nA the typo.\n")
	write("pkg/new/file.go", "package new\n")
	write("debug.log", "ignored\n")
	os.Remove(filepath.Join(dir, "src/old.go"))
	// A diff driver the agent set up in the workspace's config and attributes: never run.
	write(".gitattributes", "*.md diff=evil\n")
	mustGit(t, ctx, dir, "config", "diff.evil.command", "touch "+marker)
	mustGit(t, ctx, dir, "config", "diff.evil.textconv", "touch "+marker)

	diff, cut, err := StagedDiff(ctx, dir, mirror, 1<<20)
	if err != nil || cut {
		t.Fatalf("StagedDiff = %v, cut %v", err, cut)
	}
	for _, want := range []string{"+A the typo.", "+++ b/pkg/new/file.go", "+package new", "--- a/src/old.go", "deleted file mode"} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "debug.log") {
		t.Errorf("diff shows an ignored file:\n%s", diff)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a diff driver of the workspace ran")
	}

	short, cut, err := StagedDiff(ctx, dir, mirror, 40)
	if err != nil || !cut || len(short) != 40 || !strings.HasPrefix(diff, short) {
		t.Fatalf("StagedDiff limited to 40 bytes = %q, cut %v, %v; want the first 40 bytes, cut", short, cut, err)
	}

	// What it staged is what Commit commits.
	if _, changed, err := Commit(dir, mirror, testSig, "Fix the typo", false); err != nil || !changed {
		t.Fatalf("Commit after StagedDiff = %v, %v", changed, err)
	}
	if diff, _, err := StagedDiff(ctx, dir, mirror, 1<<20); err != nil || diff != "" {
		t.Fatalf("StagedDiff after the commit = %q, %v; want nothing", diff, err)
	}
}
