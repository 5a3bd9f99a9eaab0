// Package redistest gives tests a Redis database of their own on the machine's Redis.
//
// TEST_REDIS_ADDR names the server (default 127.0.0.1:6379). Each test takes one of the numbered
// databases 1–15 through a lock key in database 0, flushes it, and gives it back when it ends, so
// test packages running side by side never share one. When Redis cannot be reached the test fails.
package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr returns the address of the Redis server used by tests.
func Addr() string {
	if a := os.Getenv("TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// DB is a Redis database reserved for one test.
type DB struct {
	Addr   string
	Number int
}

// URL returns the database as a redis:// URL.
func (d DB) URL() string { return fmt.Sprintf("redis://%s/%d", d.Addr, d.Number) }

// Options returns go-redis options for the database.
func (d DB) Options() *redis.Options { return &redis.Options{Addr: d.Addr, DB: d.Number} }

// New reserves and flushes a database for t.
func New(t testing.TB) DB {
	t.Helper()
	ctx := context.Background()
	addr := Addr()
	lockClient := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { lockClient.Close() })
	if err := lockClient.Ping(ctx).Err(); err != nil {
		t.Fatalf("redistest: ping %s (set TEST_REDIS_ADDR; .ci/run starts Redis): %v", addr, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	owner := fmt.Sprintf("%d-%s-%d", os.Getpid(), t.Name(), time.Now().UnixNano())
	for {
		for n := 1; n <= 15; n++ {
			key := fmt.Sprintf("sesame:test:db:%d", n)
			ok, err := lockClient.SetNX(ctx, key, owner, 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("redistest: reserve database: %v", err)
			}
			if !ok {
				continue
			}
			db := DB{Addr: addr, Number: n}
			c := redis.NewClient(db.Options())
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("redistest: flush database %d: %v", n, err)
			}
			c.Close()
			t.Cleanup(func() {
				c := redis.NewClient(db.Options())
				c.FlushDB(ctx)
				c.Close()
				lockClient.Del(ctx, key)
			})
			return db
		}
		if time.Now().After(deadline) {
			t.Fatal("redistest: no free Redis database in 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
