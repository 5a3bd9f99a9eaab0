package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// How Checkout makes a workspace, measured by BenchmarkCheckout (bench_test.go) on the 2-core VM of
// sandbox-facts.md, workspace on its ext4 disk: a repository of 50,001 files in 5,200 folders and
// 5,000 commits (84 MB pack) served by git http-backend over HTTP, and
// `go test ./gitops -run '^$' -bench . -benchtime 5x` (seconds per task; each includes the Sync
// that every task does, 0.10-0.13 s here when nothing is new):
//
//	Checkout with Cache.Spare: rename the spare into place                  0.15  (checkout 0.05)
//	  the same when base moved since the spare was made (10 files differ)   0.33-0.46  (checkout 0.23-0.35)
//	Checkout without spare: init + alternates + checkout, workers=8        10.5
//	git clone --shared --no-checkout + git checkout, workers=1 / 8         13.6 / 10.5
//	git worktree add from the mirror (rejected, see below)                 16.3
//	cp -al of a checked-out template + update-index (rejected)              2.6
//	plain git clone over HTTP, no mirror                                   17.9
//	(removing a workspace afterwards: 0.8-1.7; Commit of 4 files 0.50, Stat 0.04: BenchmarkCommit)
//
// Writing 50,000 files is what costs: 2-4 s on a quiet disk, 9-16 s once it has been busy with
// earlier workspaces (as in the benchmark, and on a worker that keeps making them); workers=8 helps as
// the disk is the bottleneck. So the only way under 0.5 s is to write the files before the task needs them:
// with Cache.Spare, Cache.Spares working trees of the mirror are checked out beside it in advance,
// Checkout renames one into place (same file system, so the index's stat data stays valid and git
// status is clean without a refresh), moves it to base if the mirror moved since, and checks out
// the next spare in the background (spare.go). So as many tasks as there are spares start at once
// without a checkout; those beyond them wait for the next spare, made one at a time
// (BenchmarkCheckoutConcurrent, spare.go).
//
// Overlayfs over one read-only tree would need no spare, but mounting needs privileges the worker
// does not have (it runs as a non-root user in the production image).
//
// Hard links were rejected because an agent that rewrites a file in place (open with O_TRUNC, as
// most editors' write calls do) would change the template and every workspace sharing the inode;
// `git worktree add` because the workspace's branch and commits would live in the mirror (where a
// fetch --prune deletes the branch) and a deleted workspace leaves the mirror with a stale worktree.

// Checkout makes dir a working tree of mirror at base (a branch, tag or commit of the mirror; "" is
// the mirror's HEAD), on a new local branch named branch, with origin set to remoteURL (no
// credentials). dir must not exist or be an empty folder.
//
// The workspace borrows the mirror's objects through .git/objects/info/alternates (like
// `git clone --shared`): new objects go into the workspace, nothing is written to the mirror, and
// removing the workspace leaves the mirror intact. But the workspace needs the mirror to be readable
// at the same path for as long as it is used, also from inside a sandbox; and a mirror's gc must
// not prune what a live workspace uses (git keeps unreachable objects for 2 weeks by default).
//
// The workspace has refs/remotes/origin/* and tags as the mirror has them, origin/HEAD for the
// mirror's HEAD, and HEAD on refs/heads/{branch} at base's commit.
//
// Checkout writes every file itself: it uses no spare (Cache.Checkout does).
func Checkout(ctx context.Context, mirror, dir, remoteURL, base, branch string) error {
	return checkout(ctx, mirror, dir, remoteURL, base, branch, 0, nil)
}

// Checkout is the package's Checkout with the spares of c: it claims a ready spare, or waits for
// the refill's next one (checks out its own tree only when no refill runs), and then has the spares refilled up to c.Spares in the
// background, each handed to c.Owner once checked out.
func (c *Cache) Checkout(ctx context.Context, mirror, dir, remoteURL, base, branch string) error {
	return checkout(ctx, mirror, dir, remoteURL, base, branch, c.spares(), c.Owner)
}

// checkout is Checkout with up to spares spares kept for mirror, handed to owner.
func checkout(ctx context.Context, mirror, dir, remoteURL, base, branch string, spares int, owner *Owner) error {
	if _, err := parseRemote(remoteURL); err != nil {
		return err
	}
	if err := checkBranchName(branch); err != nil {
		return err
	}
	if strings.HasPrefix(base, "-") {
		return fmt.Errorf("check out %q: bad base", base)
	}
	mirror, err := filepath.Abs(mirror)
	if err != nil {
		return fmt.Errorf("check out: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("check out: %w", err)
	}
	if err := checkEmpty(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("check out: %w", err)
	}
	commit, err := resolve(ctx, mirror, base)
	if err != nil {
		return err
	}
	touchUsed(mirror)

	done := false
	if spares > 0 {
		if done, err = claimSpare(ctx, mirror, dir, commit, owner); err != nil {
			return err
		}
		if !done {
			if done, err = waitSpare(ctx, mirror, dir, commit, base, spares, owner); err != nil {
				return err
			}
		}
	}
	if !done {
		if err := build(ctx, mirror, dir, commit); err != nil {
			os.RemoveAll(dir)
			return err
		}
	}
	if err := finish(ctx, mirror, dir, remoteURL, commit, branch); err != nil {
		os.RemoveAll(dir)
		return err
	}
	startRefill(mirror, base, spares, owner)
	return nil
}

// resolve returns the commit that base names in mirror.
func resolve(ctx context.Context, mirror, base string) (string, error) {
	rev := base
	if rev == "" {
		rev = "HEAD"
	}
	commit, err := gitRun{dir: mirror, args: []string{"rev-parse", "--verify", "--quiet", rev + "^{commit}"}}.output(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("check out %q: %w", base, ctx.Err())
		}
		return "", fmt.Errorf("check out %q: no such branch, tag or commit in %s", base, mirror)
	}
	return commit, nil
}

// checkEmpty accepts a dir that does not exist or is an empty folder.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check out into %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("check out into %s: folder is not empty", dir)
	}
	return nil
}

// checkoutWorkers is git's checkout.workers: on 2 cores, 8 still cut a
// checkout from 16 s to 10 s (see above): the disk, not the CPU, is the limit.
const checkoutWorkers = "8"

// build makes dir a repository that borrows mirror's objects, with commit
// checked out on a detached HEAD and nothing else: no refs, no remote.
func build(ctx context.Context, mirror, dir, commit string) error {
	if _, err := (gitRun{args: []string{"init", "--quiet", "--template=", dir}}).run(ctx); err != nil {
		return fmt.Errorf("check out: %w", err)
	}
	alternates := filepath.Join(dir, ".git", "objects", "info", "alternates")
	if err := os.MkdirAll(filepath.Dir(alternates), 0o755); err != nil {
		return fmt.Errorf("check out: %w", err)
	}
	if err := os.WriteFile(alternates, []byte(filepath.Join(mirror, "objects")+"\n"), 0o644); err != nil {
		return fmt.Errorf("check out: %w", err)
	}
	args := []string{"-c", "checkout.workers=" + checkoutWorkers, "checkout", "--quiet", "--detach", commit}
	if _, err := (gitRun{dir: dir, args: args}).run(ctx); err != nil {
		return fmt.Errorf("check out %s: %w", commit, err)
	}
	return nil
}

// finish gives a fresh tree from build (or a spare) its refs and remote:
// the mirror's branches as origin's, its tags, and HEAD on a new branch at commit.
func finish(ctx context.Context, mirror, dir, remoteURL, commit, branch string) error {
	refs, err := gitRun{dir: mirror, args: []string{"for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", "refs/heads", "refs/tags"}}.output(ctx)
	if err != nil {
		return fmt.Errorf("check out: list refs: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "packed-refs"), packedRefs(refs), 0o644); err != nil {
		return fmt.Errorf("check out: %w", err)
	}
	steps := [][]string{
		{"remote", "add", "origin", remoteURL},
		{"update-ref", "-m", "sesame: branch from " + commit, "refs/heads/" + branch, commit, ""},
		{"symbolic-ref", "HEAD", "refs/heads/" + branch},
	}
	if head, err := (gitRun{dir: mirror, args: []string{"symbolic-ref", "--quiet", "HEAD"}}).output(ctx); err == nil {
		if rest, ok := strings.CutPrefix(head, "refs/heads/"); ok {
			steps = append(steps, []string{"symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/" + rest})
		}
	}
	for _, args := range steps {
		// dir may be a spare handed to the sandbox's user (Cache.Owner); no agent has had it yet.
		if _, err := (gitRun{dir: dir, args: args, workspace: true}).run(ctx); err != nil {
			return fmt.Errorf("check out: %w", err)
		}
	}
	return nil
}

// packedRefs turns the mirror's "refname objectname peeled" lines into the
// workspace's packed-refs file (gitrepository-layout(5)), its branches
// renamed to refs/remotes/origin/*: one file rather than one per ref, as a
// repository may have thousands of tags.
func packedRefs(forEachRef string) []byte {
	type ref struct{ name, hash, peeled string }
	var refs []ref
	for _, line := range strings.Split(forEachRef, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		r := ref{name: f[0], hash: f[1]}
		if len(f) > 2 {
			r.peeled = f[2]
		}
		if rest, ok := strings.CutPrefix(r.name, "refs/heads/"); ok {
			r.name = "refs/remotes/origin/" + rest
		}
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b ref) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	b.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	for _, r := range refs {
		b.WriteString(r.hash + " " + r.name + "\n")
		if r.peeled != "" {
			b.WriteString("^" + r.peeled + "\n")
		}
	}
	return []byte(b.String())
}
