package config

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Live is the settings as they are now on this node: the environment and the config file read at
// start, under the values admins saved, reloaded whenever Reload is called. Each node reloads when
// an admin saves a setting on any node (cmd/sesame publishes the change) and every few seconds
// besides, so a missed message only delays a change. Startup settings keep the value they had at
// start: Current reports them, but the parts they configured were built once.
type Live struct {
	base  *Config
	saved Saved
	cur   atomic.Pointer[Config]
	mu    sync.Mutex // one reload at a time, so an older read never replaces a newer one

	// BeforeSwap, when set, sees each newly loaded Config before it becomes current: what must know
	// a new secret (the maskers) learns it before any task can read it.
	BeforeSwap func(*Config)
}

// NewLive returns settings that start as base (which already holds what was saved, or nothing)
// and reload what admins saved from saved.
func NewLive(base *Config, saved Saved) *Live {
	l := &Live{base: base, saved: saved}
	l.cur.Store(base)
	return l
}

// Current returns the settings as last loaded. It never blocks.
func (l *Live) Current() *Config { return l.cur.Load() }

// Reload reads what admins saved and makes it current. When the saved values cannot be read the
// current settings stay; a saved secret that no longer opens (ErrSealed) is left out and reported,
// and the rest is applied.
func (l *Live) Reload(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	saved, err := l.saved.Settings(ctx)
	if saved == nil {
		return fmt.Errorf("saved settings: %w", err)
	}
	c, werr := l.base.WithAdmin(MapLayer(saved))
	if werr != nil {
		return werr
	}
	if l.BeforeSwap != nil {
		l.BeforeSwap(c)
	}
	l.cur.Store(c)
	return err
}
