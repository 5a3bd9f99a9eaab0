package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ErrRebaseConflict is wrapped by PushRebased's error when the branch moved upstream and the
// workspace's changes do not apply on its new head.
var ErrRebaseConflict = errors.New("the changes conflict with the branch's new commits")

// rebaseAttempts is how often PushRebased fetches a branch that keeps moving before it gives up.
const rebaseAttempts = 3

// PushRebased pushes dir's local branch onto the branch of the same name at remoteURL, which exists
// there and which dir's branch was checked out from (a pull request's head), and returns the commit
// that the remote branch now points to. Like Push it never forces. When the remote branch moved since
// the checkout, the changes of dir's branch (everything since the commit it shares with the remote
// branch) are replayed onto the new head as one commit with the same message, author and committer,
// and that commit is pushed: rebased is true then. Changes that conflict with the new commits return
// ErrRebaseConflict and push nothing.
//
// Everything runs, as Push does, in a temporary repository that borrows the workspace's objects and
// reads none of its configuration or hooks: the replay is `git merge-tree --write-tree` (a merge of
// trees without a working tree, so no file of the agent's is read or written) and `git commit-tree`.
func PushRebased(ctx context.Context, dir, mirror, remoteURL, token, branch string) (commit string, rebased bool, err error) {
	if _, err := parseRemote(remoteURL); err != nil {
		return "", false, err
	}
	if err := checkBranchName(branch); err != nil {
		return "", false, err
	}
	if err := CheckAlternates(dir, mirror); err != nil {
		return "", false, fmt.Errorf("push %s: %w", branch, err)
	}
	if commit, err = branchCommit(dir, branch); err != nil {
		return "", false, fmt.Errorf("push %s: %w", branch, err)
	}
	gitDir, err := isolatedGitDir(ctx, dir)
	if err != nil {
		return "", false, fmt.Errorf("push %s: %w", branch, err)
	}
	defer os.RemoveAll(gitDir)

	for attempt := 1; ; attempt++ {
		out, err := gitRun{dir: gitDir, token: token, args: []string{"push", "--porcelain", "--no-verify",
			"--", remoteURL, commit + ":refs/heads/" + branch}}.output(ctx)
		if err == nil {
			return commit, rebased, nil
		}
		reason := rejection(out)
		if reason == "" {
			return "", false, networkError("push "+branch+" to", remoteURL, err)
		}
		if attempt == rebaseAttempts || !strings.Contains(reason, "non-fast-forward") && !strings.Contains(reason, "fetch first") {
			return "", false, fmt.Errorf("push %s to %s: %w: %s: %w", branch, remoteURL, ErrPushRejected, reason, err)
		}
		if commit, err = replay(ctx, gitDir, remoteURL, token, branch, commit); err != nil {
			return "", false, err
		}
		rebased = true
	}
}

// replay fetches the remote branch into gitDir and returns a commit on its head with the changes of
// commit since the two share history, or ErrRebaseConflict.
func replay(ctx context.Context, gitDir, remoteURL, token, branch, commit string) (string, error) {
	const upstream = "refs/sesame/upstream"
	if _, err := (gitRun{dir: gitDir, token: token, args: []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
		"--", remoteURL, "+refs/heads/" + branch + ":" + upstream}}).run(ctx); err != nil {
		return "", networkError("fetch "+branch+" from", remoteURL, err)
	}
	// Exit status 1 with a tree: the merge has conflicts.
	out, err := gitRun{dir: gitDir, args: []string{"merge-tree", "--write-tree", "--no-messages", "--name-only", upstream, commit}}.output(ctx)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		files := strings.Split(out, "\n")[1:]
		return "", fmt.Errorf("rebase %s: %w (%s)", branch, ErrRebaseConflict, strings.Join(files, ", "))
	case err != nil:
		return "", fmt.Errorf("rebase %s: %w", branch, err)
	}
	tree, _, _ := strings.Cut(out, "\n")
	meta, err := gitRun{dir: gitDir, args: []string{"log", "-1", "--format=%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%B", commit}}.output(ctx)
	if err != nil {
		return "", fmt.Errorf("rebase %s: %w", branch, err)
	}
	f := strings.SplitN(meta, "\x00", 6)
	if len(f) != 6 {
		return "", fmt.Errorf("rebase %s: unreadable commit %s", branch, commit)
	}
	env := []string{"GIT_AUTHOR_NAME=" + f[0], "GIT_AUTHOR_EMAIL=" + f[1], "GIT_AUTHOR_DATE=" + f[2],
		"GIT_COMMITTER_NAME=" + f[3], "GIT_COMMITTER_EMAIL=" + f[4]}
	rebased, err := gitRun{dir: gitDir, env: env, stdin: []byte(f[5]), args: []string{"commit-tree", tree, "-p", upstream, "-F", "-"}}.output(ctx)
	if err != nil {
		return "", fmt.Errorf("rebase %s: %w", branch, err)
	}
	return rebased, nil
}
