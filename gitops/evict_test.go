package gitops

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lruFixture is a cache of three served repositories, acme/old, acme/mid and acme/new, synced with
// spares and last used 3, 2 and 1 hours ago.
type lruFixture struct {
	srv     *gitServer
	cache   *Cache
	tasks   string
	mirrors map[string]string // name → mirror
	used    map[string]time.Time
}

func newLRUFixture(t *testing.T) *lruFixture {
	t.Helper()
	ctx := context.Background()
	f := &lruFixture{srv: newGitServer(t, testToken), tasks: t.TempDir(),
		mirrors: map[string]string{}, used: map[string]time.Time{}}
	f.cache = &Cache{Dir: t.TempDir(), Spare: true, Workspaces: filepath.Join(f.tasks, "*", "repo")}
	t.Cleanup(func() { waitSpares(t, f.cache.Dir) })
	for i, name := range []string{"old", "mid", "new"} {
		// The same size each, so that a budget of all but one byte fits two of them.
		f.srv.newRepo(t, "acme", name, map[string]string{"README.md": "# " + name + "\n", "data.txt": strings.Repeat("x", 64<<10)})
		mirror, err := f.cache.Sync(ctx, f.srv.repoURL("acme", name), testToken)
		if err != nil {
			t.Fatalf("Sync %s: %v", name, err)
		}
		f.mirrors[name] = mirror
		f.used[name] = time.Now().Add(time.Duration(i-3) * time.Hour).Truncate(time.Second)
	}
	waitSpares(t, f.cache.Dir)
	for name, at := range f.used {
		if err := os.Chtimes(strings.TrimSuffix(f.mirrors[name], ".git")+usedSuffix, at, at); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// size is the cache's size as Evict measures it, evicting nothing.
func (f *lruFixture) size(t *testing.T) int64 {
	t.Helper()
	ev, err := f.cache.Evict(context.Background(), 0, 0)
	if err != nil {
		t.Fatalf("Evict: %v", err)
	}
	if ev.Repos != 3 && len(ev.Evicted) != 0 {
		t.Fatalf("Evict without budget: %+v", ev)
	}
	return ev.Bytes
}

// assertCached checks which repositories have their mirror, spare and marker.
func (f *lruFixture) assertCached(t *testing.T, want map[string]bool) {
	t.Helper()
	for name, cached := range want {
		m := f.mirrors[name]
		for _, p := range []string{filepath.Join(m, "HEAD"), spareDir(m), strings.TrimSuffix(m, ".git") + usedSuffix} {
			if _, err := os.Stat(p); (err == nil) != cached {
				t.Errorf("%s: %s exists = %v, want %v", name, p, err == nil, cached)
			}
		}
	}
}

// checkout checks name out into a new task folder.
func (f *lruFixture) checkout(t *testing.T, name, task string) string {
	t.Helper()
	dir := filepath.Join(f.tasks, task, "repo")
	if err := f.cache.Checkout(context.Background(), f.mirrors[name], dir, f.srv.repoURL("acme", name), "main", "sesame/"+task); err != nil {
		t.Fatalf("Checkout %s: %v", name, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil || string(b) != "# "+name+"\n" {
		t.Fatalf("checked out %s: README.md = %q, %v", name, b, err)
	}
	return dir
}

func TestEvictLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	f := newLRUFixture(t)
	total := f.size(t)
	ev, err := f.cache.Evict(ctx, total-1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Evicted) != 1 || ev.Evicted[0].Repo != strings.TrimPrefix(strings.TrimSuffix(f.mirrors["old"], ".git"), f.cache.Dir+"/") {
		t.Fatalf("evicted %+v, want acme/old alone", ev.Evicted)
	}
	if got := ev.Evicted[0]; got.Bytes < 64<<10 || !got.LastUsed.Equal(f.used["old"]) {
		t.Errorf("evicted %+v: want at least 64 KiB, last used %s", got, f.used["old"])
	}
	if ev.Bytes != total || ev.After != total-ev.Evicted[0].Bytes || ev.After > ev.Budget || ev.Took <= 0 {
		t.Errorf("eviction %+v: want %d bytes before, within budget after", ev, total)
	}
	f.assertCached(t, map[string]bool{"old": false, "mid": true, "new": true})
	// Give or take the .trash folder the eviction made (one block).
	if after := f.size(t); after < ev.After || after > ev.After+8<<10 {
		t.Errorf("cache measured %d after eviction, Evict said %d", after, ev.After)
	}
	// What stays still checks out.
	f.checkout(t, "mid", "t1")
	f.checkout(t, "new", "t2")

	// The evicted one comes back with its next Sync.
	mirror, err := f.cache.Sync(ctx, f.srv.repoURL("acme", "old"), testToken)
	if err != nil || mirror != f.mirrors["old"] {
		t.Fatalf("Sync after eviction = %q, %v", mirror, err)
	}
	f.checkout(t, "old", "t3")
	waitSpares(t, f.cache.Dir)
	f.assertCached(t, map[string]bool{"old": true})

	// Within budget: nothing goes.
	ev, err = f.cache.Evict(ctx, 1<<40, 0)
	if err != nil || len(ev.Evicted) != 0 || ev.Repos != 3 {
		t.Errorf("Evict within budget = %+v, %v", ev, err)
	}
}

// A repository in use is kept even when it is the least recently used: the next one goes.
func TestEvictSkipsBusy(t *testing.T) {
	for _, tc := range []struct {
		name string
		busy func(t *testing.T, f *lruFixture) func()
	}{
		{"a Sync holds its lock", func(t *testing.T, f *lruFixture) func() {
			l, err := lockFile(context.Background(), f.mirrors["old"]+".lock")
			if err != nil {
				t.Fatal(err)
			}
			return l.unlock
		}},
		{"its spare is being written", func(t *testing.T, f *lruFixture) func() {
			l, err := lockFile(context.Background(), spareLock(f.mirrors["old"]))
			if err != nil {
				t.Fatal(err)
			}
			return l.unlock
		}},
		{"a workspace borrows from it", func(t *testing.T, f *lruFixture) func() {
			dir := f.checkout(t, "old", "t1")
			waitSpares(t, f.cache.Dir)
			at := f.used["old"] // the checkout counted as a use: make it the oldest again
			if err := os.Chtimes(strings.TrimSuffix(f.mirrors["old"], ".git")+usedSuffix, at, at); err != nil {
				t.Fatal(err)
			}
			return func() { os.RemoveAll(filepath.Dir(dir)) }
		}},
		{"it was used less than minIdle ago", func(t *testing.T, f *lruFixture) func() {
			// All three were: none may go.
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newLRUFixture(t)
			total := f.size(t)
			release := tc.busy(t, f)
			minIdle := time.Minute
			if release == nil {
				minIdle = 4 * time.Hour
			}
			ev, err := f.cache.Evict(context.Background(), total-1, minIdle)
			if err != nil {
				t.Fatal(err)
			}
			if release == nil {
				if len(ev.Evicted) != 0 || ev.Kept != 3 || ev.After != total {
					t.Errorf("eviction %+v: want all three kept", ev)
				}
				f.assertCached(t, map[string]bool{"old": true, "mid": true, "new": true})
				return
			}
			if len(ev.Evicted) != 1 || !strings.HasSuffix(ev.Evicted[0].Repo, "/acme/mid") || ev.Kept != 1 {
				t.Errorf("eviction %+v: want acme/mid evicted, acme/old kept", ev)
			}
			f.assertCached(t, map[string]bool{"old": true, "mid": false, "new": true})
			// Once free, it is the next to go.
			release()
			ev, err = f.cache.Evict(context.Background(), ev.After-1, time.Minute)
			if err != nil || len(ev.Evicted) != 1 || !strings.HasSuffix(ev.Evicted[0].Repo, "/acme/old") {
				t.Errorf("Evict once free = %+v, %v; want acme/old", ev, err)
			}
		})
	}
}

// An eviction that died after renaming a repository into the trash leaves nothing a Sync trips
// over, and the next Evict deletes it.
func TestEvictFinishesCrashed(t *testing.T) {
	ctx := context.Background()
	f := newLRUFixture(t)
	total := f.size(t)
	// What evictRepo does before it deletes, as if the process died there.
	m := f.mirrors["old"]
	trash := filepath.Join(f.cache.Dir, trashName, "old-123")
	if err := os.MkdirAll(trash, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{spareDir(m), m} {
		if err := os.Rename(p, filepath.Join(trash, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	// The trash is no repository: not counted as one, never evicted as one, and Wait ignores it.
	if err := f.cache.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cache.Sync(ctx, f.srv.repoURL("acme", "old"), testToken); err != nil {
		t.Fatalf("Sync after a crashed eviction: %v", err)
	}
	f.checkout(t, "old", "t1")
	waitSpares(t, f.cache.Dir)
	ev, err := f.cache.Evict(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(trash); !os.IsNotExist(err) {
		t.Errorf("trash left after Evict: %v", err)
	}
	if ev.Repos != 3 || len(ev.Evicted) != 0 {
		t.Errorf("eviction %+v: want 3 repositories, none evicted", ev)
	}
	// The checkout made one workspace and a new spare; the cache holds about what it held.
	if ev.Bytes < total/2 || ev.Bytes > 2*total {
		t.Errorf("cache measured %d after the crash was cleaned up, was %d", ev.Bytes, total)
	}
}

// The size Evict measures is what du says.
func TestEvictMeasuresLikeDu(t *testing.T) {
	f := newLRUFixture(t)
	got := f.size(t)
	out, err := exec.Command("du", "-s", "-B1", f.cache.Dir).Output()
	if err != nil {
		t.Skipf("du: %v", err)
	}
	du, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if got != du {
		t.Errorf("Evict measured %d bytes, du -s says %d", got, du)
	}
}

// TestBorrowedResistsAHostileWorkspace: what an agent leaves as its workspace's alternates (a FIFO,
// a link to an endless file, a huge file) neither stalls nor swells the sweep; a real one still counts.
func TestBorrowedResistsAHostileWorkspace(t *testing.T) {
	base := t.TempDir()
	info := func(name string) string {
		d := filepath.Join(base, name, "repo", ".git", "objects", "info")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(d, "alternates")
	}
	if err := syscall.Mkfifo(info("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", info("zero")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(info("huge"), bytes.Repeat([]byte("/m/objects\n"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(info("real"), []byte("/cache/github.com/o/r.git/objects\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Cache{Workspaces: filepath.Join(base, "*", "repo")}
	done := make(chan map[string]bool, 1)
	go func() { done <- c.borrowed() }()
	select {
	case got := <-done:
		if len(got) != 1 || !got["/cache/github.com/o/r.git"] {
			t.Errorf("borrowed = %v, want only the real workspace's mirror", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sweep hangs on a workspace's alternates")
	}
}
