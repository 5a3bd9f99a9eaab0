package main

import (
	"context"
	"time"
)

// sessionSweepEvery is how often a web node records the sessions that ended (expired, or ended by
// a ban) in the audit log.
const sessionSweepEvery = 5 * time.Minute

// auditPruneEvery is how often a worker deletes audit events older than audit.retentionDays.
const auditPruneEvery = 24 * time.Hour

// sweepSessions runs the web app's session sweep now and every sessionSweepEvery until ctx ends.
func (m *Main) sweepSessions(ctx context.Context) error {
	tick := time.NewTicker(sessionSweepEvery)
	defer tick.Stop()
	for {
		if n, err := m.web.SweepSessions(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Warn("record ended sessions", "recorded", n, "err", err)
		} else if n > 0 {
			m.Logger.Debug("ended sessions recorded", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// taskFolderSweepEvery is how often a worker removes the task folders, and kills the agents in them,
// that a worker which died on this host left behind (runner.Sweep; it also runs at start).
const taskFolderSweepEvery = time.Minute

// sweepTaskFolders runs the runner's sweep of task folders every taskFolderSweepEvery until ctx ends.
func (m *Main) sweepTaskFolders(ctx context.Context) error {
	tick := time.NewTicker(taskFolderSweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if n, err := m.runner.Sweep(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Warn("clean up task folders left behind", "err", err)
		} else if n > 0 {
			m.Logger.Info("cleaned up task folders left behind", "count", n)
		}
	}
}
