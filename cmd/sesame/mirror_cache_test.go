package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-works/sesame/cluster"
	"github.com/sesame-works/sesame/config"
)

// syncWriter is a log sink that the background sweep and the test may use at once.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestWorkerProbeKeepsMirrorBudget: a worker's measurement of its mirror cache evicts the least
// recently used repositories over MIRROR_CACHE_BUDGET, never one a task's workspace borrows from,
// logs what it evicted and reports the budget and the eviction for the status page.
func TestWorkerProbeKeepsMirrorBudget(t *testing.T) {
	base := t.TempDir()
	mirrors := filepath.Join(base, "mirrors")
	repo := func(name string) string { return filepath.Join(mirrors, "example.com", "acme", name) }
	write := func(path string, size int) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, bytes.Repeat([]byte("x"), size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Three repositories as Sync leaves them (a mirror, a spare, the marker of their last use),
	// 2 MiB each, last used 3, 2 and 1 hours ago.
	for i, name := range []string{"old", "mid", "new"} {
		write(filepath.Join(repo(name)+".git", "objects", "pack", "pack-1.pack"), 1<<20)
		write(filepath.Join(repo(name)+".spare", "ready", "README.md"), 1<<20)
		write(repo(name)+".used", 0)
		at := time.Now().Add(time.Duration(i-3) * time.Hour)
		if err := os.Chtimes(repo(name)+".used", at, at); err != nil {
			t.Fatal(err)
		}
	}
	// A task's workspace borrows from the oldest: it stays, and the next one goes instead.
	alternates := filepath.Join(base, "0b8c5d2e-0000-4000-8000-000000000001", "repo", ".git", "objects", "info", "alternates")
	write(alternates, 0)
	if err := os.WriteFile(alternates, []byte(filepath.Join(repo("old")+".git", "objects")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, map[string]string{"MIRROR_CACHE_BUDGET": "5m"}) // two of the three
	var logs syncWriter
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	running := func(context.Context, string) (int, error) { return 0, nil }
	probe := newWorkerProbe("w-1", "local", nil, base, mirrors, running)
	probe.sweep(newMirrorSweeper(mirrors, base, func() *config.Config { return cfg }, logger))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var w cluster.WorkerInfo
	deadline := time.Now().Add(10 * time.Second)
	for w = probe.Probe(ctx); w.MirrorMeasuredAt.IsZero(); w = probe.Probe(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("mirror cache not swept after 10 s: %+v", w)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w.MirrorErr != "" || w.MirrorBudget != 5<<20 || w.MirrorBytes > 5<<20 || w.MirrorBytes < 4<<20 {
		t.Errorf("mirror cache = %d bytes of %d, %q; want 4-5 MiB of 5 MiB", w.MirrorBytes, w.MirrorBudget, w.MirrorErr)
	}
	if w.MirrorEvicted != 1 || w.MirrorEvictedBytes < 2<<20 || w.MirrorEvictedAt.IsZero() {
		t.Errorf("last eviction = %d repositories, %d bytes, at %s; want 1, 2 MiB", w.MirrorEvicted, w.MirrorEvictedBytes, w.MirrorEvictedAt)
	}
	for name, kept := range map[string]bool{"old": true, "mid": false, "new": true} {
		for _, p := range []string{repo(name) + ".git", repo(name) + ".spare", repo(name) + ".used"} {
			if _, err := os.Stat(p); (err == nil) != kept {
				t.Errorf("%s exists = %v, want %v", p, err == nil, kept)
			}
		}
	}
	if !strings.Contains(logs.String(), "repo=example.com/acme/mid") || strings.Contains(logs.String(), "acme/old") {
		t.Errorf("log does not name acme/mid alone as evicted:\n%s", logs.String())
	}
}
