package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/gitops"
)

// mirrorMinIdle is how recently used a repository of the mirror cache may be and still be evicted:
// it covers a task between its Sync and its Checkout, before its workspace borrows from the mirror
// (from then on Cache.Workspaces keeps the mirror for as long as the workspace lives).
const mirrorMinIdle = 30 * time.Minute

// mirrorSweeper keeps a worker's mirror cache within tasks.mirrorCacheBudget. It is the worker's
// measurement of its mirror cache for the status page too (every mirrorEvery, the heartbeat's
// cluster.Sampler), so the cache is walked once a minute for both, and the size the page shows is
// the one eviction acted on. A worker that starts sweeps at its first heartbeat, right after it
// removed the task folders and sandboxes a dead predecessor left behind (Main.Run), whose
// workspaces kept their mirrors from being evicted.
type mirrorSweeper struct {
	cache   gitops.Cache // Dir and Workspaces: all Evict reads
	budget  func() int64 // read at each sweep: the setting is live
	minIdle time.Duration
	logger  *slog.Logger

	mu   sync.Mutex
	last gitops.Eviction // the last sweep that evicted anything
	at   time.Time       // when it ended
}

// newMirrorSweeper sweeps the cache under dir, whose workspaces live in the task folders under
// base (base/{task}/repo, see runner/execute.go; any folder two levels down is looked at).
func newMirrorSweeper(dir, base string, live func() *config.Config, logger *slog.Logger) *mirrorSweeper {
	return &mirrorSweeper{
		cache:   gitops.Cache{Dir: dir, Workspaces: filepath.Join(base, "*", "*")},
		minIdle: mirrorMinIdle,
		logger:  logger,
		budget: func() int64 {
			v := live().String(config.TasksMirrorCacheBudget)
			n, err := config.ParseLimit(v)
			if err != nil { // the settings refuse such a value; keep everything rather than guess
				logger.Warn("mirror cache budget unreadable: nothing is evicted", "value", v, "err", err)
				return 0
			}
			return n
		},
	}
}

// sweep evicts what is over budget and returns the cache's size afterwards.
func (s *mirrorSweeper) sweep(ctx context.Context) (int64, error) {
	budget := s.budget()
	ev, err := s.cache.Evict(ctx, budget, s.minIdle)
	for _, e := range ev.Evicted {
		s.logger.Info("mirror cache: evicted the least recently used repository", "repo", e.Repo, "bytes", e.Bytes,
			"last_used", e.LastUsed, "budget", budget)
	}
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("mirror cache: eviction", "err", err)
	}
	if budget > 0 && ev.After > budget && ctx.Err() == nil {
		s.logger.Warn("mirror cache over its budget: the rest is in use or was used lately", "bytes", ev.After,
			"budget", budget, "kept", ev.Kept)
	}
	if len(ev.Evicted) > 0 {
		s.mu.Lock()
		s.last, s.at = ev, time.Now().UTC()
		s.mu.Unlock()
	}
	if ev.Bytes == 0 && err != nil {
		return 0, err // not measured
	}
	return ev.After, nil
}

// lastEviction returns the last sweep that evicted anything and when it ended (zero: none yet).
func (s *mirrorSweeper) lastEviction() (gitops.Eviction, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.at
}
