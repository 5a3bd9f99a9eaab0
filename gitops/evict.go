package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The cache's disk budget. Each repository's last use is the modification time of
// {name}.used beside its mirror, set by Sync and Checkout: a file of its own, because a mirror's
// own times say little (a fetch that brings nothing writes nothing; a folder's time changes only
// when an entry is added or removed directly in it). A repository with no such file (one synced
// before it existed) counts as last used when its mirror folder last changed.
//
// Evict removes a repository as a whole (its spare, then its mirror, then the marker) under the
// same two locks Sync and the spare's refill hold, so it never removes one that is being fetched,
// cloned or whose spare is being written: it takes them without waiting and leaves a busy
// repository for the next sweep. It first renames what it removes into {Dir}/.trash and only
// then deletes it, so a crash mid-removal leaves a folder no Sync or Checkout looks at (each
// Evict starts by finishing those), and the repository is either complete or gone.
//
// A workspace borrows its mirror's objects for as long as it lives (see Checkout), which no lock
// covers: so Evict never removes a mirror that one of Cache.Workspaces borrows from, nor a
// repository used less than minIdle ago (what covers a task between its Sync and its Checkout).
const (
	usedSuffix = ".used"
	trashName  = ".trash"
)

// Eviction is what one Evict found and did.
type Eviction struct {
	Budget  int64     // the budget it kept to; 0: none
	Bytes   int64     // the cache's size once the leftovers of earlier evictions were removed
	After   int64     // the cache's size when it ended
	Repos   int       // repositories in the cache (a mirror, a spare or both)
	Evicted []Evicted // the repositories it removed, least recently used first
	// Kept counts the repositories Evict would have removed (least recently used, the cache
	// still over budget) but left: in use by a Sync, a spare being written or a workspace, or
	// used less than minIdle ago.
	Kept int
	Took time.Duration // how long it took, measuring the cache included
}

// Evicted is a repository Evict removed.
type Evicted struct {
	Repo     string    // its path under Dir without the .git: host/owner/name
	Bytes    int64     // the disk space it freed: mirror, spare and marker
	LastUsed time.Time //
}

// EvictedBytes sums what e freed.
func (e Eviction) EvictedBytes() int64 {
	var n int64
	for _, r := range e.Evicted {
		n += r.Bytes
	}
	return n
}

// cached is one repository of the cache as Evict measured it.
type cached struct {
	key             string // the mirror's path without .git
	mirror, spare   bool   // whether its mirror and spare folders exist
	bytes           int64
	lastUsed        time.Time
	hasUsed, hasDir bool
}

// Evict measures the cache and, while it takes more than budget bytes (0: no limit), removes its
// least recently used repositories, skipping those in use (see above). Errors removing one
// repository do not stop it; the first is returned with what it did. It is safe to run in
// several processes at once, and beside Sync and Checkout in this or other processes.
func (c *Cache) Evict(ctx context.Context, budget int64, minIdle time.Duration) (Eviction, error) {
	start := time.Now()
	ev, err := c.evict(ctx, budget, minIdle)
	ev.Took = time.Since(start)
	return ev, err
}

func (c *Cache) evict(ctx context.Context, budget int64, minIdle time.Duration) (Eviction, error) {
	ev := Eviction{Budget: budget}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return ev, fmt.Errorf("evict: %w", err)
	}
	var errs []error
	if err := emptyTrash(filepath.Join(dir, trashName)); err != nil {
		errs = append(errs, err)
	}
	repos, total, err := measure(ctx, dir)
	if err != nil {
		return ev, fmt.Errorf("evict: measure %s: %w", dir, err)
	}
	ev.Bytes, ev.After, ev.Repos = total, total, len(repos)
	if budget <= 0 || total <= budget {
		return ev, errors.Join(errs...)
	}
	borrowed := c.borrowed()
	slices.SortFunc(repos, func(a, b *cached) int { return a.lastUsed.Compare(b.lastUsed) })
	for _, r := range repos {
		if ev.After <= budget || ctx.Err() != nil {
			break
		}
		if time.Since(r.lastUsed) < minIdle || borrowed[r.key+".git"] {
			ev.Kept++
			continue
		}
		done, err := evictRepo(dir, r)
		if err != nil {
			errs = append(errs, err)
		}
		if !done {
			ev.Kept++
			continue
		}
		ev.After -= r.bytes
		rel, _ := filepath.Rel(dir, r.key)
		ev.Evicted = append(ev.Evicted, Evicted{Repo: filepath.ToSlash(rel), Bytes: r.bytes, LastUsed: r.lastUsed})
	}
	return ev, errors.Join(errs...)
}

// evictRepo removes r unless it is busy, and reports whether it did.
func evictRepo(dir string, r *cached) (bool, error) {
	mirror := r.key + ".git"
	l, err := tryLockFile(mirror + ".lock")
	if err != nil || l == nil {
		return false, err // a Sync is fetching or cloning it
	}
	defer l.unlock()
	sl, err := tryLockFile(spareLock(mirror))
	if err != nil || sl == nil {
		return false, err // its spare is being written
	}
	defer sl.unlock()
	// A Sync or Checkout that ended since it was measured.
	if used, _ := lastUse(r.key); used.After(r.lastUsed) {
		return false, nil
	}
	trash := filepath.Join(dir, trashName)
	if err := os.MkdirAll(trash, 0o700); err != nil {
		return false, fmt.Errorf("evict %s: %w", mirror, err)
	}
	tmp, err := os.MkdirTemp(trash, filepath.Base(r.key)+"-")
	if err != nil {
		return false, fmt.Errorf("evict %s: %w", mirror, err)
	}
	// The spare first: it borrows from the mirror.
	for _, p := range []string{spareDir(mirror), mirror, r.key + usedSuffix} {
		if err := os.Rename(p, filepath.Join(tmp, filepath.Base(p))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("evict %s: %w", mirror, err)
		}
	}
	// Deleting may take a while: Sync may clone the repository again meanwhile.
	l.unlock()
	sl.unlock()
	if err := os.RemoveAll(tmp); err != nil {
		return true, fmt.Errorf("evict %s: %w (the next sweep retries)", mirror, err)
	}
	return true, nil
}

// emptyTrash removes what earlier evictions renamed into trash and did not delete (a crash).
func emptyTrash(trash string) error {
	entries, err := os.ReadDir(trash)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("evict: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(trash, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("evict: %w", err))
		}
	}
	return errors.Join(errs...)
}

// measure lists the repositories under dir with their disk space and last use, and returns the
// space everything under dir takes (the repositories, their lock files, clones in progress).
func measure(ctx context.Context, dir string) ([]*cached, int64, error) {
	byKey := map[string]*cached{}
	repo := func(key string) *cached {
		if byKey[key] == nil {
			byKey[key] = &cached{key: key}
		}
		return byKey[key]
	}
	u := usage{seen: map[[2]uint64]bool{}}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		switch {
		case p == dir:
			total += u.file(p)
			return nil
		case d.IsDir() && p == filepath.Join(dir, trashName): // what emptyTrash could not remove
			n, err := u.tree(ctx, p)
			total += n
			if err != nil {
				return err
			}
			return filepath.SkipDir
		case d.IsDir() && strings.HasSuffix(name, ".git") && !strings.HasPrefix(name, ".clone-"):
			n, err := u.tree(ctx, p)
			r := repo(strings.TrimSuffix(p, ".git"))
			r.mirror, r.bytes, total = true, r.bytes+n, total+n
			if err != nil {
				return err
			}
			return filepath.SkipDir
		case d.IsDir() && strings.HasSuffix(name, ".spare"):
			n, err := u.tree(ctx, p)
			r := repo(strings.TrimSuffix(p, ".spare"))
			r.spare, r.bytes, total = true, r.bytes+n, total+n
			if err != nil {
				return err
			}
			return filepath.SkipDir
		case !d.IsDir():
			n := u.file(p)
			total += n
			for _, suffix := range []string{".git.lock", ".spare.lock", usedSuffix} {
				if strings.HasSuffix(name, suffix) {
					r := repo(strings.TrimSuffix(p, suffix))
					r.bytes += n
					break
				}
			}
			return nil
		}
		total += u.file(p) // a folder (host, owner, .trash, a clone in progress)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	var repos []*cached
	for _, r := range byKey {
		if r.mirror || r.spare { // not a repository's lock files alone
			r.lastUsed, _ = lastUse(r.key)
			repos = append(repos, r)
		}
	}
	return repos, total, nil
}

// lastUse is when the repository at key (its mirror's path without .git) was last used: its
// marker's time, else its mirror's, else its spare's; false when none exists.
func lastUse(key string) (time.Time, bool) {
	for _, p := range []string{key + usedSuffix, key + ".git", key + ".spare"} {
		if fi, err := os.Stat(p); err == nil {
			return fi.ModTime(), true
		}
	}
	return time.Time{}, false
}

// touchUsed records that the repository of mirror is used now.
func touchUsed(mirror string) {
	p := strings.TrimSuffix(mirror, ".git") + usedSuffix
	now := time.Now()
	if err := os.Chtimes(p, now, now); errors.Is(err, os.ErrNotExist) {
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
	}
}

// borrowed returns the mirrors that the workspaces matching c.Workspaces borrow objects from.
func (c *Cache) borrowed() map[string]bool {
	out := map[string]bool{}
	if c.Workspaces == "" {
		return out
	}
	dirs, _ := filepath.Glob(c.Workspaces)
	for _, d := range dirs {
		// The workspace is the agent's: its alternates may be a link, a FIFO or huge.
		b, err := readSmallFile(filepath.Join(d, ".git", "objects", "info", "alternates"), maxAlternates)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); filepath.IsAbs(line) {
				out[filepath.Dir(filepath.Clean(line))] = true // {mirror}/objects
			}
		}
	}
	return out
}

// usage adds up disk space as du does: allocated blocks, each hard-linked file once.
type usage struct{ seen map[[2]uint64]bool }

func (u usage) file(p string) int64 {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.Size()
	}
	if st.Nlink > 1 && !fi.IsDir() {
		id := [2]uint64{uint64(st.Dev), st.Ino}
		if u.seen[id] {
			return 0
		}
		u.seen[id] = true
	}
	return st.Blocks * 512
}

func (u usage) tree(ctx context.Context, root string) (int64, error) {
	var n int64
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // removed meanwhile (a fetch's temporary files, a spare claimed)
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n += u.file(p)
		return nil
	})
	return n, err
}
