package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/ratelimit"
)

func newLimiter(t *testing.T) (*ratelimit.Redis, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(redistest.New(t).Options())
	t.Cleanup(func() { rdb.Close() })
	return &ratelimit.Redis{Client: rdb, Prefix: "test:"}, rdb
}

// TestTakeIsAtomic: concurrent attempts from two "nodes" (two clients) on one key get distinct counts,
// so exactly the limit go ahead.
func TestTakeIsAtomic(t *testing.T) {
	l1, _ := newLimiter(t)
	l2 := &ratelimit.Redis{Client: redis.NewClient(l1.Client.(*redis.Client).Options()), Prefix: l1.Prefix}
	t.Cleanup(func() { l2.Client.Close() })
	ctx := context.Background()
	var mu sync.Mutex
	allowed, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 40 {
		l := l1
		if i%2 == 1 {
			l = l2
		}
		wg.Go(func() {
			wait, err := l.Take(ctx, time.Minute, map[string]int{"k": 7})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case wait == 0:
				allowed++
			case wait > time.Minute || wait < 50*time.Second:
				t.Errorf("wait %s, want about a minute", wait)
				refused++
			default:
				refused++
			}
		})
	}
	wg.Wait()
	if allowed != 7 || refused != 33 {
		t.Errorf("%d allowed, %d refused; want 7 and 33", allowed, refused)
	}
}

func TestWindowGiveBackAndReset(t *testing.T) {
	l, rdb := newLimiter(t)
	ctx := context.Background()
	take := func(limits map[string]int) time.Duration {
		t.Helper()
		wait, err := l.Take(ctx, 300*time.Millisecond, limits)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	// Two keys at once: the tighter one refuses, and only it names the wait.
	if w := take(map[string]int{"a": 1, "b": 5}); w != 0 {
		t.Fatalf("first attempt refused for %s", w)
	}
	if w := take(map[string]int{"a": 1, "b": 5}); w == 0 {
		t.Fatal("second attempt over a's limit of 1 went ahead")
	}
	if n, _ := rdb.Get(ctx, "test:b").Int(); n != 2 {
		t.Errorf("b counts %d, want 2 (a refused attempt still counts)", n)
	}
	if ttl, _ := rdb.PTTL(ctx, "test:a").Result(); ttl <= 0 || ttl > 300*time.Millisecond {
		t.Errorf("a's window has %s left", ttl)
	}

	// Giving back never goes below zero and keeps the window.
	if err := l.GiveBack(ctx, "b", "b", "b", "missing"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Get(ctx, "test:b").Int(); n != 0 {
		t.Errorf("b counts %d after giving back three, want 0", n)
	}
	if ex, _ := rdb.Exists(ctx, "test:missing").Result(); ex != 0 {
		t.Error("giving back made a key")
	}
	if ttl, _ := rdb.PTTL(ctx, "test:b").Result(); ttl <= 0 {
		t.Errorf("b lost its window: %s", ttl)
	}

	// Reset forgets; a key without an expiry gets one at its next attempt.
	if err := l.Reset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if w := take(map[string]int{"a": 1}); w != 0 {
		t.Errorf("refused after a reset, for %s", w)
	}
	rdb.Set(ctx, "test:stuck", 10, 0)
	if w := take(map[string]int{"stuck": 100}); w != 0 {
		t.Errorf("refused under the limit, for %s", w)
	}
	if ttl, _ := rdb.PTTL(ctx, "test:stuck").Result(); ttl <= 0 {
		t.Errorf("a key without an expiry kept none: %s", ttl)
	}

	// The window ends: counting starts again.
	time.Sleep(350 * time.Millisecond)
	if w := take(map[string]int{"a": 1}); w != 0 {
		t.Errorf("refused after the window ended, for %s", w)
	}
}
