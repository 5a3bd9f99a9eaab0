package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"time"
)

// removeTimeout bounds the removal of a node's entry at shutdown: a Redis that does not answer must
// not hold the process up (the entry then expires on its own).
const removeTimeout = 2 * time.Second

// Self is this process's entry in the registry: Run lists it, refreshes it every Interval and
// removes it when its context ends.
type Self struct {
	Registry *Registry
	Node     Node          // who this process is (NewSelf fills it)
	Interval time.Duration // 0 means DefaultInterval; keep it well under the registry's TTL
	// Probe, for a node that runs tasks, returns what it reports about itself. Run calls it before
	// every heartbeat, with Run's context, and waits for it: it must return quickly, and leave
	// slow measurements (a walk of a big folder, a test sandbox) to a Sampler.
	Probe  func(ctx context.Context) WorkerInfo
	Logger *slog.Logger // nil discards
}

// NewSelf describes this process, of role, for reg.
func NewSelf(reg *Registry, role string) *Self {
	host, _ := os.Hostname()
	return &Self{Registry: reg, Node: Node{
		ID:        NewID(),
		Role:      role,
		Version:   Version(),
		Hostname:  host,
		PID:       os.Getpid(),
		GoVersion: runtime.Version(),
		StartedAt: time.Now().UTC(),
	}}
}

// Run lists the node and refreshes its entry until ctx ends, then removes it. A heartbeat that
// fails (Redis unreachable) is logged and tried again at the next tick; Run only returns at the end
// of ctx, with nil, so a Redis outage never stops the process.
func (s *Self) Run(ctx context.Context) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	failing := false
	for {
		err := s.beat(ctx, interval)
		switch {
		case ctx.Err() != nil:
		case err != nil && !failing:
			logger.Warn("node heartbeat failed; the node drops off the admin's list until it succeeds", "node", s.Node.ID, "err", err)
			failing = true
		case err == nil && failing:
			logger.Info("node heartbeat works again", "node", s.Node.ID)
			failing = false
		}
		select {
		case <-ctx.Done():
			s.remove(ctx, logger)
			return nil
		case <-ticker.C:
		}
	}
}

// remove takes the node off the list, with a context of its own: ctx has ended.
func (s *Self) remove(ctx context.Context, logger *slog.Logger) {
	rm, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	if err := s.Registry.Remove(rm, s.Node.ID); err != nil {
		logger.Warn("remove node from the list at shutdown; it expires on its own", "node", s.Node.ID, "err", err)
	}
}

// beat sends one heartbeat, within interval.
func (s *Self) beat(ctx context.Context, interval time.Duration) error {
	n := s.Node
	if s.Probe != nil {
		w := s.Probe(ctx)
		n.Worker = &w
	}
	n.LastSeen = time.Now().UTC()
	put, cancel := context.WithTimeout(ctx, interval)
	defer cancel()
	return s.Registry.Put(put, n)
}

// NewID names a node: host, pid and a random part, so a restarted process is another node.
func NewID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Version is this binary's version: the main module's version when it was built from a tagged
// module or a VCS checkout that Go stamps, otherwise its VCS revision (12 digits, "-dirty" when the
// tree had changes), otherwise "dev".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return version(bi)
}

func version(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified {
		rev += "-dirty"
	}
	return rev
}
