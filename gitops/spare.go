package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The spares of a mirror are working trees made by build (detached HEAD, no refs, no remote), kept
// in {name}.spare/ until a Checkout renames one into place. Each is made in {name}.spare/tmp-* and
// renamed to {name}.spare/ready-* only once complete (checked out and handed to Cache.Owner), so a
// half-built spare is never claimed; and claiming one is a rename out of the folder, so two
// Checkouts, in one process or several, never get the same. Cache.Spares of them are kept per
// mirror: the refill that makes them runs in the background, one tree at a time, under
// {name}.spare.lock, so the lock also says "spares are on their way".
//
// A Checkout that finds none ready (more tasks at once than spares) waits for the refill's next
// one, as long as a refill runs, rather than check out its own tree beside it: measured by
// BenchmarkCheckoutConcurrent (bench_test.go), ten at once with two ready, the eight that waited
// had theirs after 2.4 to 17.3 s (median 7.7 s), one tree every 2.1 s; the eight that checked out
// their own side by side all had theirs after 67-68 s: 50,000-file checkouts at once thrash the
// disk and the 2 cores, one at a time they do not. Only with no refill running (it failed, or a
// refill made its spares and others claimed them) does a Checkout check out its own.
const (
	sparePrefix = "ready-"
	spareLegacy = "ready" // the one spare of the versions that kept one: claimed like the others
	spareTemp   = "tmp-"
	refillLimit = 30 * time.Minute // for each tree
	// refillDelay is how long a refill lets the Checkouts that started it finish before it writes
	// trees: ten tasks started at once claim their spares without a 50,000-file checkout beside
	// them (BenchmarkCheckoutConcurrent).
	refillDelay = time.Second
	// maxSpareAge bounds how long a spare may wait: it borrows objects from the
	// mirror, and a gc prunes objects unreachable for 2 weeks.
	maxSpareAge = 3 * 24 * time.Hour
)

// readySpares lists the complete spares in the spare folder spares, oldest first (their names
// hold the time they were made).
func readySpares(spares string) []string {
	entries, err := os.ReadDir(spares) // sorted by name
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if name := e.Name(); name == spareLegacy || strings.HasPrefix(name, sparePrefix) {
			out = append(out, filepath.Join(spares, name))
		}
	}
	return out
}

// claimSpare moves one of the mirror's ready spares to dir and checks out commit in it. It does
// not wait for a spare being made; it returns false, with dir untouched, when none is ready (or
// spares are off for this mirror).
//
// A spare handed to owner stays owner's whole: what the checkout rewrites is handed over too.
func claimSpare(ctx context.Context, mirror, dir, commit string, owner *Owner) (bool, error) {
	claimed := false
	for _, ready := range readySpares(spareDir(mirror)) {
		if fi, err := os.Stat(filepath.Join(ready, ".git", "index")); err == nil && time.Since(fi.ModTime()) > maxSpareAge {
			discard(ready)
			continue
		}
		err := os.Rename(ready, dir)
		if err == nil {
			claimed = true
			break
		}
		if errors.Is(err, os.ErrNotExist) {
			continue // another Checkout claimed it first
		}
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, os.ErrExist) {
			return false, fmt.Errorf("check out into %s: folder is not empty", dir)
		}
		return false, nil // e.g. another file system: build instead
	}
	if !claimed {
		return false, nil
	}

	head, err := os.ReadFile(filepath.Join(dir, ".git", "HEAD"))
	if err == nil && strings.TrimSpace(string(head)) == commit {
		return true, nil
	}
	// The mirror moved since the spare was made: update the files that
	// differ (a two-way merge, as `git checkout` does when switching).
	args := []string{"-c", "checkout.workers=" + checkoutWorkers, "checkout", "--quiet", "--detach", commit}
	// The spare may be the sandbox's user's (Cache.Owner); no agent has had it yet.
	if _, err = (gitRun{dir: dir, args: args, workspace: true}).run(ctx); err != nil {
		os.RemoveAll(dir)
		if ctx.Err() != nil {
			return false, fmt.Errorf("check out %s: %w", commit, err)
		}
		return false, nil // a broken spare: build afresh
	}
	if owner != nil {
		if err := handOver(ctx, dir, strings.TrimSpace(string(head)), commit, owner); err != nil {
			os.RemoveAll(dir)
			return false, fmt.Errorf("check out %s: %w", commit, err)
		}
	}
	return true, nil
}

// waitSpare waits for the refill to make a spare (starting it if none runs) and claims it as
// claimSpare does. It returns false, with dir untouched, once no refill runs and none is ready.
func waitSpare(ctx context.Context, mirror, dir, commit, base string, n int, owner *Owner) (bool, error) {
	startRefill(mirror, base, n, owner)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("check out: wait for spare: %w", ctx.Err())
		case <-time.After(wait):
		}
		if ok, err := claimSpare(ctx, mirror, dir, commit, owner); ok || err != nil {
			return ok, err
		}
		l, err := tryLockFile(spareLock(mirror))
		if err != nil {
			return false, nil
		}
		if l != nil { // no refill runs: take what it left, else check out afresh
			l.unlock()
			return claimSpare(ctx, mirror, dir, commit, owner)
		}
	}
}

// handOver gives owner what moving dir's working tree from commit old to new wrote: the files that
// differ and the folders they are in.
func handOver(ctx context.Context, dir, old, new string, owner *Owner) error {
	out, err := (gitRun{dir: dir, args: []string{"diff", "--name-only", "-z", "--no-renames", old, new}, workspace: true}).run(ctx)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, name := range strings.Split(string(out), "\x00") {
		for p := filepath.Join(dir, filepath.FromSlash(name)); name != "" && p != dir && !done[p]; p = filepath.Dir(p) {
			done[p] = true
			if err := os.Lchown(p, owner.UID, owner.GID); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// startRefill starts making the mirror's spares at base, in the background, until n are ready;
// unless n is 0, spares are off for the mirror or a refill is already running.
func startRefill(mirror, base string, n int, owner *Owner) {
	if n <= 0 {
		return
	}
	if _, err := os.Stat(spareDir(mirror)); err != nil {
		return
	}
	l, err := tryLockFile(spareLock(mirror))
	if err != nil || l == nil {
		return
	}
	go func() {
		time.Sleep(refillDelay)
		err := refill(mirror, base, n, owner)
		l.unlock()
		if err != nil {
			slog.Warn("prepare spare working tree", "mirror", mirror, "err", err)
			return
		}
		// A Checkout that claimed a spare while this refill was ending found the lock taken and
		// started none: look again now that it is free.
		if len(readySpares(spareDir(mirror))) < n {
			startRefill(mirror, base, n, owner)
		}
	}()
}

// refill makes spares at base, one at a time, until n are ready, and discards those beyond n
// (the setting was lowered). The caller holds the spare lock.
func refill(mirror, base string, n int, owner *Owner) error {
	spares := spareDir(mirror)
	entries, err := os.ReadDir(spares)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if name := e.Name(); name != spareLegacy && !strings.HasPrefix(name, sparePrefix) {
			// Leftovers of a refill that was killed (tmp-*) or of a discard (old-*).
			os.RemoveAll(filepath.Join(spares, name))
		}
	}
	for {
		ready := readySpares(spares)
		if len(ready) >= n {
			for _, r := range ready[:len(ready)-n] {
				discard(r)
			}
			return nil
		}
		if err := refillOne(mirror, base, owner); err != nil {
			return err
		}
	}
}

// refillOne makes one spare at base.
func refillOne(mirror, base string, owner *Owner) error {
	ctx, cancel := context.WithTimeout(context.Background(), refillLimit)
	defer cancel()
	spares := spareDir(mirror)
	commit, err := resolve(ctx, mirror, base)
	if err != nil && base != "" {
		commit, err = resolve(ctx, mirror, "")
	}
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(spares, spareTemp)
	if err != nil {
		return err
	}
	if err := build(ctx, mirror, tmp, commit); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if owner != nil {
		if err := chownTree(tmp, owner); err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	// The time orders the spares (readySpares); the rest of tmp's name keeps the name unique.
	ready := filepath.Join(spares, fmt.Sprintf("%s%020d-%s", sparePrefix, time.Now().UnixNano(), strings.TrimPrefix(filepath.Base(tmp), spareTemp)))
	if err := os.Rename(tmp, ready); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// discard removes a spare, first renaming it so that no Checkout claims it meanwhile.
func discard(ready string) {
	old := filepath.Join(filepath.Dir(ready), fmt.Sprintf("old-%d", time.Now().UnixNano()))
	if os.Rename(ready, old) == nil {
		os.RemoveAll(old)
	}
}

// chownTree hands every file of root to owner, without following symlinks.
func chownTree(root string, owner *Owner) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, owner.UID, owner.GID)
	})
}
