package config

import (
	"context"
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

// Reload reads what admins saved and makes it current. On error the current settings stay.
func (l *Live) Reload(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := l.base.WithSaved(ctx, l.saved)
	if err != nil {
		return err
	}
	l.cur.Store(c)
	return nil
}
