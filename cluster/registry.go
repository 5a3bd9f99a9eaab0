// Package cluster is the registry of the running Sesame processes (nodes) in Redis. Every `sesame
// serve` process, whatever its role, lists itself and refreshes its entry with a heartbeat; an entry
// that is not refreshed expires, and a process that shuts down cleanly removes its own. The admin's
// status page reads the list.
//
// The package knows nothing of runners or sandboxes: what a worker reports about itself comes from
// a probe its wiring supplies (see [Self.Probe]).
package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// DefaultInterval is how often a node refreshes its entry.
	DefaultInterval = 5 * time.Second
	// DefaultTTL is how long an entry lasts without a heartbeat: a node that stopped sending them
	// (it died, or cannot reach Redis) disappears from the list within DefaultTTL.
	DefaultTTL = 20 * time.Second
	// DefaultPrefix starts every key of the registry.
	DefaultPrefix = "sesame:cluster:"
)

// Node is one running Sesame process as it last described itself.
type Node struct {
	ID        string    `json:"id"`         // unique per process (NewID)
	Role      string    `json:"role"`       // all, web or worker
	Version   string    `json:"version"`    // Sesame's version (Version)
	Hostname  string    `json:"hostname"`   //
	PID       int       `json:"pid"`        //
	GoVersion string    `json:"go_version"` // the Go release that built it
	StartedAt time.Time `json:"started_at"` //
	LastSeen  time.Time `json:"last_seen"`  // the node's clock at its last heartbeat
	// Worker is what a node that runs tasks reports about itself; nil for a web node.
	Worker *WorkerInfo `json:"worker,omitempty"`
}

// WorkerInfo is what a worker node reports at each heartbeat. A field that could not be measured
// says why in its Err companion and keeps its zero value.
type WorkerInfo struct {
	WorkerID        string `json:"worker_id"`        // the id its task leases carry (tasks.worker_id)
	SandboxProvider string `json:"sandbox_provider"` // SANDBOX_PROVIDER
	// Isolation tells whether OS-level isolation (the secured sandbox) works on this host, as last
	// checked at IsolationCheckedAt (zero: not checked yet). IsolationDetail says what works, or
	// what is missing and how to fix it.
	Isolation          bool      `json:"isolation"`
	IsolationDetail    string    `json:"isolation_detail,omitempty"`
	IsolationCheckedAt time.Time `json:"isolation_checked_at,omitzero"`

	RunningTasks    int    `json:"running_tasks"` // tasks preparing, running or pushing here
	RunningTasksErr string `json:"running_tasks_err,omitempty"`

	TaskDir   string `json:"task_dir"`   // TASK_DIR_BASE
	FreeBytes int64  `json:"free_bytes"` // free for Sesame on TaskDir's file system
	DiskErr   string `json:"disk_err,omitempty"`
	// MirrorBytes is the disk space of the mirror cache (TaskDir/mirrors), as measured at
	// MirrorMeasuredAt (zero: not measured yet).
	MirrorBytes      int64     `json:"mirror_bytes"`
	MirrorMeasuredAt time.Time `json:"mirror_measured_at,omitzero"`
	MirrorErr        string    `json:"mirror_err,omitempty"`
	// MirrorBudget is tasks.mirrorCacheBudget (0: no limit); the last sweep that evicted
	// repositories to keep to it ended at MirrorEvictedAt (zero: none since the worker started),
	// removing MirrorEvicted of them, MirrorEvictedBytes in all.
	MirrorBudget       int64     `json:"mirror_budget"`
	MirrorEvictedAt    time.Time `json:"mirror_evicted_at,omitzero"`
	MirrorEvicted      int       `json:"mirror_evicted,omitempty"`
	MirrorEvictedBytes int64     `json:"mirror_evicted_bytes,omitempty"`
}

// Registry is the list of nodes in Redis. Each node is a key holding its JSON with a TTL, and a set
// indexes the keys, so listing never scans the key space. It is safe for concurrent use.
type Registry struct {
	Client redis.UniversalClient
	Prefix string        // "" means DefaultPrefix
	TTL    time.Duration // 0 means DefaultTTL
}

func (r *Registry) prefix() string { return cmp.Or(r.Prefix, DefaultPrefix) }
func (r *Registry) ttl() time.Duration {
	if r.TTL <= 0 {
		return DefaultTTL
	}
	return r.TTL
}
func (r *Registry) index() string        { return r.prefix() + "nodes" }
func (r *Registry) key(id string) string { return r.prefix() + "node:" + id }

// Put lists n, or refreshes its entry, for another TTL.
func (r *Registry) Put(ctx context.Context, n Node) error {
	if n.ID == "" {
		return errors.New("cluster: a node needs an id")
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = r.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.key(n.ID), b, r.ttl())
		p.SAdd(ctx, r.index(), n.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.ID, err)
	}
	return nil
}

// Remove takes the node with id off the list. Removing a node that is not listed is not an error.
func (r *Registry) Remove(ctx context.Context, id string) error {
	_, err := r.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.key(id))
		p.SRem(ctx, r.index(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove node %s: %w", id, err)
	}
	return nil
}

// Nodes returns the listed nodes, ordered by role, host and start. It drops from the index the
// nodes whose entry expired.
func (r *Registry) Nodes(ctx context.Context) ([]Node, error) {
	ids, err := r.Client.SMembers(ctx, r.index()).Result()
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = r.key(id)
	}
	vals, err := r.Client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read nodes: %w", err)
	}
	nodes := make([]Node, 0, len(ids))
	var gone []any
	for i, v := range vals {
		s, ok := v.(string)
		if !ok { // expired: the node stopped sending heartbeats
			gone = append(gone, ids[i])
			continue
		}
		var n Node
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			return nil, fmt.Errorf("read node %s: %w", ids[i], err)
		}
		nodes = append(nodes, n)
	}
	if len(gone) > 0 {
		// A node that registers again meanwhile is indexed again at its next heartbeat.
		r.Client.SRem(ctx, r.index(), gone...)
	}
	slices.SortFunc(nodes, func(a, b Node) int {
		return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.Hostname, b.Hostname),
			a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
	})
	return nodes, nil
}
