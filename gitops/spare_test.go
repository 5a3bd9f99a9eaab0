package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// inode identifies a folder: a spare renamed into place keeps its inode.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// spareInodes returns the inodes of mirror's ready spares.
func spareInodes(t *testing.T, mirror string) map[uint64]bool {
	t.Helper()
	out := map[uint64]bool{}
	for _, s := range readySpares(spareDir(mirror)) {
		out[inode(t, s)] = true
	}
	return out
}

// checkoutAll runs n Checkouts of main at once, each into its own task folder, and returns the
// workspaces.
func (f *fixture) checkoutAll(t *testing.T, mirror, prefix string, n int) []string {
	t.Helper()
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		dirs[i] = filepath.Join(f.tasks, fmt.Sprintf("%s-%d", prefix, i), "repo")
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.cache.Checkout(context.Background(), mirror, dirs[i], f.url, "main", fmt.Sprintf("sesame/%s-%d-aaaaaa", prefix, i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Checkout %d: %v", i, err)
		}
	}
	return dirs
}

// A pool of N spares: N tasks at once each get a spare of their own, the agents' writes stay in
// their workspace, and the refill makes N again. More tasks than spares check out their own trees.
func TestSparePool(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	f.cache.Spares = 3
	mirror := f.sync(t)
	waitSpares(t, f.cache.Dir)
	spares := spareInodes(t, mirror)
	if len(spares) != 3 {
		t.Fatalf("%d spares ready after the first Sync, want 3", len(spares))
	}
	commit := mustGit(t, ctx, mirror, "rev-parse", "main")

	dirs := f.checkoutAll(t, mirror, "pool", 3)
	got := map[uint64]bool{}
	for i, dir := range dirs {
		ino := inode(t, dir)
		if !spares[ino] {
			t.Errorf("workspace %d is not one of the spares", i)
		}
		got[ino] = true
		assertWorkspace(t, dir, fmt.Sprintf("sesame/pool-%d-aaaaaa", i), commit, f.url)
	}
	if len(got) != 3 {
		t.Errorf("3 Checkouts got %d distinct spares", len(got))
	}

	// The first agent writes: a new file, and README.md rewritten in place (O_TRUNC).
	if err := os.WriteFile(filepath.Join(dirs[0], "private.txt"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[0], "README.md"), []byte("# Changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitSpares(t, f.cache.Dir)
	ready := readySpares(spareDir(mirror))
	if len(ready) != 3 {
		t.Fatalf("spares after the refill: %q, want 3", ready)
	}
	for _, d := range append(dirs[1:], ready...) {
		if _, err := os.Stat(filepath.Join(d, "private.txt")); err == nil {
			t.Errorf("%s has the first workspace's new file", d)
		}
		if b, err := os.ReadFile(filepath.Join(d, "README.md")); err != nil || !strings.Contains(string(b), "Widget") {
			t.Errorf("%s: README.md = %q, %v; the first workspace's write leaked", d, b, err)
		}
	}

	// Five at once with three ready: three spares, two trees checked out afresh, all complete.
	spares = spareInodes(t, mirror)
	dirs = f.checkoutAll(t, mirror, "more", 5)
	got = map[uint64]bool{}
	fromSpare := 0
	for i, dir := range dirs {
		ino := inode(t, dir)
		if spares[ino] {
			fromSpare++
		}
		got[ino] = true
		assertWorkspace(t, dir, fmt.Sprintf("sesame/more-%d-aaaaaa", i), commit, f.url)
	}
	if fromSpare != 3 || len(got) != 5 {
		t.Errorf("5 Checkouts with 3 spares: %d from spares, %d distinct trees; want 3 and 5", fromSpare, len(got))
	}
	waitSpares(t, f.cache.Dir)
	if ready := readySpares(spareDir(mirror)); len(ready) != 3 {
		t.Errorf("spares after the second refill: %q, want 3", ready)
	}

	// The setting lowered: the next Sync's refill discards the spares beyond it.
	f.cache.Spares = 1
	f.sync(t)
	waitSpares(t, f.cache.Dir)
	if ready := readySpares(spareDir(mirror)); len(ready) != 1 {
		t.Errorf("spares once lowered to 1: %q", ready)
	}
	// Spares off: the next Sync removes them all.
	f.cache.Spare = false
	f.sync(t)
	if _, err := os.Stat(spareDir(mirror)); !os.IsNotExist(err) {
		t.Errorf("spare folder with spares off: %v", err)
	}
}

// A spare still being made (tmp-*, e.g. its refill was killed) is never claimed: the Checkout that
// finds none ready waits for the refill, which removes it and makes a new one.
func TestSpareHalfBuiltNeverClaimed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	mirror := f.sync(t)
	waitSpares(t, f.cache.Dir)
	// Holding the lock keeps refills away: the ready spare is claimed and none replaces it.
	l, err := lockFile(ctx, spareLock(mirror))
	if err != nil {
		t.Fatal(err)
	}
	defer l.unlock() // should the test fail before it does: the fixture's cleanup waits for the lock
	f.checkout(t, "main", "sesame/1-first-aaaaaa")
	if ready := readySpares(spareDir(mirror)); len(ready) != 0 {
		t.Fatalf("spares after a Checkout with the refill held off: %q", ready)
	}
	// With none ready and a refill running (the lock held), a Checkout waits for its spare.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	waiting := filepath.Join(f.tasks, "waiting", "repo")
	if err := f.cache.Checkout(short, mirror, waiting, f.url, "main", "sesame/w-wait-cccccc"); err == nil || short.Err() == nil {
		t.Fatalf("Checkout with a refill running and no spare = %v, want it to wait until its context ends", err)
	}
	if entries, _ := os.ReadDir(waiting); len(entries) != 0 {
		t.Errorf("a Checkout that gave up waiting left %d files", len(entries))
	}
	l.unlock()
	// A tree that looks complete but was never renamed to ready-*.
	half := filepath.Join(spareDir(mirror), spareTemp+"killed")
	if err := build(ctx, mirror, half, mustGit(t, ctx, mirror, "rev-parse", "main")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(half, "half.txt"), []byte("half\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	_, dir := f.checkout(t, "main", "sesame/2-second-bbbbbb") // waits for the refill
	// (Not by inode: the refill removes the half-built tree first, and its inode may be reused.)
	if _, err := os.Stat(filepath.Join(dir, "half.txt")); err == nil {
		t.Error("Checkout claimed the half-built spare")
	}

	waitSpares(t, f.cache.Dir)
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Errorf("the half-built spare outlived a refill: %v", err)
	}
	if _, err := os.Stat(filepath.Join(oneSpare(t, mirror), "half.txt")); err == nil {
		t.Error("the new spare has the half-built one's file")
	}
}

// A spare older than maxSpareAge is discarded, not claimed.
func TestSpareTooOld(t *testing.T) {
	f := newFixture(t, true)
	mirror := f.sync(t)
	waitSpares(t, f.cache.Dir)
	old := oneSpare(t, mirror)
	if err := os.WriteFile(filepath.Join(old, "old.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-maxSpareAge - time.Hour)
	if err := os.Chtimes(filepath.Join(old, ".git", "index"), when, when); err != nil {
		t.Fatal(err)
	}
	_, dir := f.checkout(t, "main", "sesame/1-old-aaaaaa")
	if _, err := os.Stat(filepath.Join(dir, "old.txt")); err == nil {
		t.Error("Checkout claimed a spare older than maxSpareAge")
	}
	waitSpares(t, f.cache.Dir)
	if ready := readySpares(spareDir(mirror)); len(ready) != 1 || slices.Contains(ready, old) {
		t.Errorf("spares after the refill: %q, want one new one", ready)
	}
}

// Evict counts every spare of a repository and removes them all with it.
func TestEvictRemovesAllSpares(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	f.cache.Spares = 3
	mirror := f.sync(t)
	waitSpares(t, f.cache.Dir)
	if ready := readySpares(spareDir(mirror)); len(ready) != 3 {
		t.Fatalf("spares: %q, want 3", ready)
	}
	var one int64 // one spare's size
	for _, s := range readySpares(spareDir(mirror)) {
		n, err := usage{seen: map[[2]uint64]bool{}}.tree(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		one = n
	}
	mirrorBytes, err := usage{seen: map[[2]uint64]bool{}}.tree(ctx, mirror)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := f.cache.Evict(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Evicted) != 1 || ev.Evicted[0].Bytes < mirrorBytes+3*one {
		t.Errorf("evicted %+v: want one repository of at least %d bytes (its mirror and 3 spares of %d)", ev.Evicted, mirrorBytes+3*one, one)
	}
	for _, p := range []string{spareDir(mirror), mirror} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s after eviction: %v", p, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(f.cache.Dir, trashName)); len(entries) != 0 {
		t.Errorf("left in the trash: %v", entries)
	}
}
