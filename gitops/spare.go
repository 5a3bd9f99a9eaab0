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

// A spare is a working tree made by build (detached HEAD, no refs, no
// remote) and kept at {name}.spare/ready until a Checkout renames it into
// place. Only one is kept per mirror; the refill that makes the next one runs
// in the background under {name}.spare.lock, so the lock also says "a spare
// is on its way".
const (
	spareReady  = "ready"
	refillLimit = 30 * time.Minute
	// maxSpareAge bounds how long a spare may wait: it borrows objects from the
	// mirror, and a gc prunes objects unreachable for 2 weeks.
	maxSpareAge = 3 * 24 * time.Hour
)

// claimSpare moves the mirror's spare working tree to dir (waiting for one
// that is being made) and checks out commit in it. It returns false, with
// dir untouched, when spares are off or none could be had.
//
// A spare handed to owner stays owner's whole: what the checkout rewrites is
// handed over too.
func claimSpare(ctx context.Context, mirror, dir, commit string, owner *Owner) (bool, error) {
	spares := spareDir(mirror)
	if _, err := os.Stat(spares); err != nil {
		return false, nil // spares are off for this mirror
	}
	ready := filepath.Join(spares, spareReady)
	for attempt := 0; ; attempt++ {
		if fi, err := os.Stat(filepath.Join(ready, ".git", "index")); err == nil && time.Since(fi.ModTime()) > maxSpareAge {
			discard(ready)
		}
		err := os.Rename(ready, dir)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) || attempt > 0 {
			if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, os.ErrExist) {
				return false, fmt.Errorf("check out into %s: folder is not empty", dir)
			}
			return false, nil // e.g. another file system: build instead
		}
		// None ready: wait for the one being made, if any.
		l, err := lockFile(ctx, spareLock(mirror))
		if err != nil {
			return false, fmt.Errorf("check out: wait for spare: %w", err)
		}
		l.unlock()
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

// startRefill starts making the mirror's next spare at base, in the
// background, unless spares are off or one is already being made.
func startRefill(mirror, base string, owner *Owner) {
	if _, err := os.Stat(spareDir(mirror)); err != nil {
		return
	}
	l, err := tryLockFile(spareLock(mirror))
	if err != nil || l == nil {
		return
	}
	go func() {
		defer l.unlock()
		ctx, cancel := context.WithTimeout(context.Background(), refillLimit)
		defer cancel()
		if err := refill(ctx, mirror, base, owner); err != nil {
			slog.Warn("prepare spare working tree", "mirror", mirror, "err", err)
		}
	}()
}

// refill makes a spare at base unless one is ready. The caller holds the
// spare lock.
func refill(ctx context.Context, mirror, base string, owner *Owner) error {
	spares := spareDir(mirror)
	entries, err := os.ReadDir(spares)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != spareReady { // leftovers of a refill that was killed
			os.RemoveAll(filepath.Join(spares, e.Name()))
		}
	}
	if _, err := os.Stat(filepath.Join(spares, spareReady)); err == nil {
		return nil
	}
	commit, err := resolve(ctx, mirror, base)
	if err != nil && base != "" {
		commit, err = resolve(ctx, mirror, "")
	}
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(spares, "tmp-")
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
	if err := os.Rename(tmp, filepath.Join(spares, spareReady)); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// discard removes a spare, first renaming it so that no Checkout claims it
// meanwhile.
func discard(ready string) {
	old := ready + fmt.Sprintf(".old-%d", time.Now().UnixNano())
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
