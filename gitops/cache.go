package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Cache keeps one bare mirror per repository under Dir, at
// Dir/{host}/{owner}/{name}.git, with these beside it:
//
//	{name}.git.lock    flock(2) held by Sync while it clones or fetches
//	{name}.spare/      when Spare is set: working trees checked out in advance (see Checkout, spare.go)
//	{name}.spare.lock  flock(2) held while they are being made
//	{name}.used        its time is the repository's last use (Sync, Checkout)
//
// A mirror holds the remote's branches and tags (refs/heads/*, refs/tags/*;
// not refs/pull/*) and its configuration names the plain remote URL: no
// credential is ever stored in it. Mirrors are removed only by Evict, the
// least recently used first, to keep the cache within a budget (evict.go).
type Cache struct {
	Dir string
	// Spare keeps working trees of each mirror checked out in advance, so
	// that Checkout only renames one into place (0.05 s instead of 10 s for
	// 50,000 files, see checkout.go) and checks out the next one in the
	// background. Each costs a working tree's worth of disk per repository
	// and a background checkout after each Checkout; the workspaces must
	// be on the same file system as Dir (else Checkout checks out as if
	// Spare were off). Without it Checkout writes every file itself.
	Spare bool
	// Spares is how many spare working trees are kept ready per repository when Spare is set
	// (0 counts as 1): as many tasks as that can start at once on a repository without waiting
	// for a checkout; those beyond it wait for the next spare (spare.go).
	Spares int
	// Owner, when set with Spare, is who each spare working tree is handed to (its files' owner)
	// once it is checked out in the background: the sandbox's user, when Sesame runs as root, so
	// that a workspace made from a spare needs almost no change of owner when its task starts.
	Owner *Owner
	// Workspaces, when set, is a pattern (filepath.Glob) matching every workspace checked out
	// from the cache, e.g. TASK_DIR_BASE/*/repo: Evict never removes a mirror one of them borrows
	// objects from.
	Workspaces string
}

// Owner is a uid and gid to hand files to.
type Owner struct{ UID, GID int }

// Sync creates the mirror of remoteURL (the first time) or fetches into it,
// pruning branches and tags deleted upstream, and returns its path. token
// authenticates to the server and is never stored. Concurrent Syncs of the
// same repository, in one process or several, take turns.
func (c *Cache) Sync(ctx context.Context, remoteURL, token string) (mirror string, err error) {
	u, err := parseRemote(remoteURL)
	if err != nil {
		return "", err
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return "", fmt.Errorf("mirror folder: %w", err)
	}
	mirror = mirrorPath(dir, u)
	if err := os.MkdirAll(filepath.Dir(mirror), 0o700); err != nil {
		return "", fmt.Errorf("mirror folder: %w", err)
	}
	lock, err := lockFile(ctx, mirror+".lock")
	if err != nil {
		return "", err
	}
	defer lock.unlock()

	if _, statErr := os.Stat(filepath.Join(mirror, "HEAD")); statErr == nil {
		err = fetch(ctx, mirror, remoteURL, token)
	} else {
		err = cloneMirror(ctx, mirror, remoteURL, token)
	}
	if err != nil {
		return "", err
	}
	touchUsed(mirror)
	if err := c.keepSpare(mirror); err != nil {
		return "", err
	}
	return mirror, nil
}

// mirrorRefspecs are what a mirror fetches: every branch and tag, forced, so
// that a force-pushed branch follows upstream.
var mirrorRefspecs = []string{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}

func fetch(ctx context.Context, mirror, remoteURL, token string) error {
	args := append([]string{"fetch", "--quiet", "--prune", "--no-write-fetch-head", "--", remoteURL}, mirrorRefspecs...)
	if _, err := (gitRun{dir: mirror, args: args, token: token}).run(ctx); err != nil {
		return networkError("fetch", remoteURL, err)
	}
	return nil
}

// cloneMirror clones into a temporary folder beside mirror and renames it
// into place, so that a mirror that exists is complete.
func cloneMirror(ctx context.Context, mirror, remoteURL, token string) error {
	parent, base := filepath.Split(mirror)
	// Leftovers of a clone that was killed; we hold the lock, so none is running.
	if old, _ := filepath.Glob(filepath.Join(parent, ".clone-"+base+"-*")); len(old) > 0 {
		for _, o := range old {
			os.RemoveAll(o)
		}
	}
	tmp, err := os.MkdirTemp(parent, ".clone-"+base+"-")
	if err != nil {
		return fmt.Errorf("clone %s: %w", remoteURL, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	args := []string{"clone", "--bare", "--quiet", "--template=", "--", remoteURL, tmp}
	if _, err := (gitRun{args: args, token: token}).run(ctx); err != nil {
		return networkError("clone", remoteURL, err)
	}
	// Later fetches name their refspecs; this makes a plain `git fetch` in
	// the mirror (by hand) do the same.
	for i, spec := range mirrorRefspecs {
		args := []string{"config", "--add", "remote.origin.fetch", spec}
		if i == 0 {
			args = []string{"config", "remote.origin.fetch", spec}
		}
		if _, err := (gitRun{dir: tmp, args: args}).run(ctx); err != nil {
			return fmt.Errorf("clone %s: %w", remoteURL, err)
		}
	}
	if err := os.Rename(tmp, mirror); err != nil {
		return fmt.Errorf("clone %s: %w", remoteURL, err)
	}
	return nil
}

// networkError wraps the error of a command that talked to remoteURL, adding
// ErrAuthentication when the server refused the token.
func networkError(op, remoteURL string, err error) error {
	if authFailed(err) {
		return fmt.Errorf("%s %s: %w (is the token valid, with access to this repository?): %w", op, remoteURL, ErrAuthentication, err)
	}
	return fmt.Errorf("%s %s: %w", op, remoteURL, err)
}

// keepSpare makes the spare folder exist when c.Spare is set (and starts
// checking out the spare working trees that are missing), and removes it when not.
func (c *Cache) keepSpare(mirror string) error {
	dir := spareDir(mirror)
	if !c.Spare {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		// Spares were on and are now off: remove them unless some are being
		// made (then a later Sync does).
		if l, _ := tryLockFile(spareLock(mirror)); l != nil {
			defer l.unlock()
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("remove spare: %w", err)
			}
		}
		return nil
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("spare folder: %w", err)
	}
	startRefill(mirror, "", c.spares(), c.Owner)
	return nil
}

// spares is how many spares c keeps per mirror: 0 when spares are off.
func (c *Cache) spares() int {
	if !c.Spare {
		return 0
	}
	return max(c.Spares, 1)
}

// Wait returns when no spare working tree is being made under c.Dir (or
// when ctx is done): call it before removing Dir, e.g. at shutdown or in a
// test's cleanup.
func (c *Cache) Wait(ctx context.Context) error {
	var locks []string
	err := filepath.WalkDir(c.Dir, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (strings.HasSuffix(p, ".git") || strings.HasSuffix(p, ".spare") || d.Name() == trashName):
			return filepath.SkipDir // a mirror or spares: nothing to find inside
		case !d.IsDir() && strings.HasSuffix(p, ".spare.lock"):
			locks = append(locks, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wait for spares: %w", err)
	}
	for _, l := range locks {
		lock, err := lockFile(ctx, l)
		if err != nil {
			return fmt.Errorf("wait for spares: %w", err)
		}
		lock.unlock()
	}
	return nil
}

// spareDir and spareLock are the spare folder of mirror and its lock file.
func spareDir(mirror string) string  { return strings.TrimSuffix(mirror, ".git") + ".spare" }
func spareLock(mirror string) string { return spareDir(mirror) + ".lock" }
