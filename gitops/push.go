package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrPushRejected is wrapped by Push's error when the server refused the
// update: the branch exists there and does not lead to our commit, or a rule
// or hook of the server declined it.
var ErrPushRejected = errors.New("push rejected")

// Push pushes dir's local branch to the branch of the same name at
// remoteURL, authenticated by token. It never forces: a branch that exists
// upstream is only fast-forwarded, anything else returns ErrPushRejected.
// mirror is the mirror dir was checked out from: nothing is pushed unless
// CheckAlternates finds that dir borrows objects from it and from nowhere
// else.
//
// The agent had the workspace to itself, so its .git/config and hooks are
// not trusted with the token (a hook could read it, an insteadOf or proxy
// setting could send it elsewhere): the branch's commit is read with go-git,
// and git pushes it from a temporary repository made here, which borrows
// the workspace's objects and has no configuration of the workspace's.
func Push(ctx context.Context, dir, mirror, remoteURL, token, branch string) error {
	if _, err := parseRemote(remoteURL); err != nil {
		return err
	}
	if err := checkBranchName(branch); err != nil {
		return err
	}
	if err := CheckAlternates(dir, mirror); err != nil {
		return fmt.Errorf("push %s: %w", branch, err)
	}
	commit, err := branchCommit(dir, branch)
	if err != nil {
		return fmt.Errorf("push %s: %w", branch, err)
	}
	gitDir, err := isolatedGitDir(ctx, dir)
	if err != nil {
		return fmt.Errorf("push %s: %w", branch, err)
	}
	defer os.RemoveAll(gitDir)

	args := []string{"push", "--porcelain", "--no-verify",
		"--", remoteURL, commit + ":refs/heads/" + branch}
	out, err := gitRun{dir: gitDir, args: args, token: token}.output(ctx)
	if err != nil {
		if reason := rejection(out); reason != "" {
			return fmt.Errorf("push %s to %s: %w: %s: %w", branch, remoteURL, ErrPushRejected, reason, err)
		}
		return networkError("push "+branch+" to", remoteURL, err)
	}
	return nil
}

// rejection returns why `git push --porcelain` says a ref was refused, or "".
// Its lines are "flag \t from:to \t summary (reason)", flag "!" for refused.
func rejection(porcelain string) string {
	for _, line := range strings.Split(porcelain, "\n") {
		f := strings.Split(line, "\t")
		if len(f) >= 3 && f[0] == "!" {
			reason := strings.Join(f[2:], " ")
			if strings.Contains(reason, "non-fast-forward") || strings.Contains(reason, "fetch first") {
				reason += ": the branch exists on the remote with other commits, and Sesame does not force-push"
			}
			return reason
		}
	}
	return ""
}

// branchCommit reads refs/heads/{branch} of dir's repository with go-git.
func branchCommit(dir, branch string) (string, error) {
	repo, err := openRepo(dir)
	if err != nil {
		return "", err
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return "", fmt.Errorf("local branch: %w", err)
	}
	return ref.Hash().String(), nil
}

// isolatedGitDir makes a temporary bare repository whose objects are dir's
// (through alternates): git can read the workspace's commits there without
// reading anything else of the workspace's repository. The caller removes it.
func isolatedGitDir(ctx context.Context, dir string) (string, error) {
	objects, err := filepath.Abs(filepath.Join(dir, ".git", "objects"))
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(objects); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s is not a git working tree", dir)
	}
	tmp, err := os.MkdirTemp("", "sesame-git-")
	if err != nil {
		return "", err
	}
	if _, err := (gitRun{args: []string{"init", "--quiet", "--bare", "--template=", tmp}}).run(ctx); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	info := filepath.Join(tmp, "objects", "info")
	if err := os.MkdirAll(info, 0o700); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(info, "alternates"), []byte(objects+"\n"), 0o600); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}
