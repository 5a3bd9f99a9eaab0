package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// StagedDiff stages every change in dir's working tree, as Commit does, and returns what Commit would
// commit now: the diff of the index against HEAD, as `git diff` prints it (binary files named, not
// shown), at most limit bytes; truncated says a longer one was cut. A clean tree gives "". Like
// Commit, it first makes sure that dir borrows objects from mirror and from nowhere else, and runs git
// with none of the workspace's configuration: no hook, external diff or textconv filter an agent set up
// runs, and git's output is read only up to limit (git is stopped there), however large the change.
func StagedDiff(ctx context.Context, dir, mirror string, limit int) (diff string, truncated bool, err error) {
	if err := CheckAlternates(dir, mirror); err != nil {
		return "", false, fmt.Errorf("diff: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	if err := stageAll(ctx, dir); err != nil {
		return "", false, fmt.Errorf("diff in %s: stage: %w", dir, err)
	}
	repo, err := openRepo(dir)
	if err != nil {
		return "", false, fmt.Errorf("diff in %s: %w", dir, err)
	}
	head, err := repo.ResolveRevision("HEAD")
	if err != nil {
		return "", false, fmt.Errorf("diff in %s: HEAD: %w", dir, err)
	}
	gitDir, err := isolatedGitDir(ctx, dir)
	if err != nil {
		return "", false, fmt.Errorf("diff: %w", err)
	}
	defer os.RemoveAll(gitDir)
	dotGit := filepath.Join(dir, ".git")
	out, truncated, err := gitRun{
		dir:       dir,
		workspace: true,
		args: []string{"--git-dir=" + gitDir, "--work-tree=" + dir, "-c", "core.bare=false",
			"diff", "--cached", "--no-ext-diff", "--no-textconv", "--no-color", head.String()},
		env: []string{"GIT_INDEX_FILE=" + filepath.Join(dotGit, "index"), "GIT_OBJECT_DIRECTORY=" + filepath.Join(dotGit, "objects")},
	}.runLimited(ctx, limit)
	if err != nil {
		return "", false, fmt.Errorf("diff in %s: %w", dir, err)
	}
	return string(out), truncated, nil
}

// errFull stops the copy of a command's output at its limit.
var errFull = errors.New("output limit reached")

// limitWriter keeps the first limit bytes written to it, then refuses more.
type limitWriter struct {
	buf   bytes.Buffer
	limit int
	full  bool
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if room := w.limit - w.buf.Len(); len(p) > room {
		w.buf.Write(p[:max(room, 0)])
		w.full = true
		return max(room, 0), errFull
	}
	return w.buf.Write(p)
}

// runLimited runs git as run does but keeps only the first limit bytes of its output: past them the
// pipe closes, git stops on it, and truncated is true with no error.
func (g gitRun) runLimited(ctx context.Context, limit int) (out []byte, truncated bool, err error) {
	stdout := &limitWriter{limit: limit}
	err = g.runTo(ctx, stdout)
	if stdout.full && ctx.Err() == nil {
		return stdout.buf.Bytes(), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return stdout.buf.Bytes(), false, nil
}
