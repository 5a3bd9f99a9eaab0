// Package ratelimit counts attempts in Redis, so that every web node shares one count per key and a
// limit holds however many nodes answer. Each count lives in a fixed window: the window starts with
// a key's first attempt, and the key expires with it.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps counts under Prefix+key in a Redis database. Every method is one atomic script: two
// callers, on one node or many, never see the same count for a key.
type Redis struct {
	Client redis.UniversalClient
	Prefix string // put before every key, e.g. "sesame:signin:"
}

// takeScript adds one to each key and answers the longest time left in the window of a key now over
// its limit (0: every key is within its limit). A key without an expiry (its first attempt, or one
// left behind by a crash between commands of an older version) gets the window.
var takeScript = redis.NewScript(`
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = window
  end
  if n > tonumber(ARGV[i + 1]) and ttl > wait then
    wait = ttl
  end
end
return wait
`)

// giveBackScript takes one back from each key that still counts something; the window is kept.
var giveBackScript = redis.NewScript(`
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n > 0 then
    redis.call('DECR', key)
  end
end
return 0
`)

// Take counts one attempt under every key of limits (key → the most attempts its window allows),
// checking and counting in one step. It returns 0 when every count, this attempt included, is within
// its limit, and otherwise how long until the latest of the exceeded windows ends.
func (r *Redis) Take(ctx context.Context, window time.Duration, limits map[string]int) (time.Duration, error) {
	if window < time.Millisecond {
		return 0, fmt.Errorf("ratelimit: window %s is shorter than a millisecond", window)
	}
	keys := make([]string, 0, len(limits))
	args := []any{window.Milliseconds()}
	for k, limit := range limits {
		keys = append(keys, r.Prefix+k)
		args = append(args, limit)
	}
	wait, err := takeScript.Run(ctx, r.Client, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: take: %w", err)
	}
	return time.Duration(wait) * time.Millisecond, nil
}

// GiveBack takes back one attempt counted under each key (an attempt that turned out to be
// legitimate), never going below zero.
func (r *Redis) GiveBack(ctx context.Context, keys ...string) error {
	if err := giveBackScript.Run(ctx, r.Client, r.prefixed(keys)).Err(); err != nil {
		return fmt.Errorf("ratelimit: give back: %w", err)
	}
	return nil
}

// Reset forgets the counts under keys.
func (r *Redis) Reset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := r.Client.Del(ctx, r.prefixed(keys)...).Err(); err != nil {
		return fmt.Errorf("ratelimit: reset: %w", err)
	}
	return nil
}

func (r *Redis) prefixed(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = r.Prefix + k
	}
	return out
}
