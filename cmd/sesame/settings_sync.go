package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/config"
)

// settingsChannel carries a message each time an admin saves settings on any node.
const settingsChannel = "sesame:settings:changed"

// settingsReloadEvery is how often a node reloads saved settings even when no message came: a
// message missed while Redis was away delays a change by this much at most.
const settingsReloadEvery = 10 * time.Second

// settingsNotifier tells every node that settings were saved (admin.SettingsNotifier).
type settingsNotifier struct{ rdb redis.UniversalClient }

func (n settingsNotifier) SettingsChanged(ctx context.Context) error {
	return n.rdb.Publish(ctx, settingsChannel, "reload").Err()
}

// maskSecrets feeds every secret of cfg to the maskers, so that a key an admin just saved is scrubbed
// from task logs like one from the environment. It runs before cfg becomes current (Live.BeforeSwap):
// no task can read a new key that the maskers do not know yet.
func (m *Main) maskSecrets(cfg *config.Config) {
	secrets := cfg.Secrets()
	for _, mk := range m.maskers {
		mk.Add(secrets...)
	}
}

// reloadSettings reloads the saved settings.
func (m *Main) reloadSettings(ctx context.Context) {
	err := m.Live.Reload(ctx)
	if err != nil {
		if errors.Is(err, config.ErrSealed) {
			m.Logger.Error("saved settings", "err", err)
		} else {
			m.Logger.Warn("reload saved settings; keeping the ones loaded before", "err", err)
		}
	}
}

// subscribeSettings listens for saved settings from the start, so that a save made once this
// process is up is never missed. When Redis does not answer yet the subscription is made when it
// does, and the periodic reload covers what is published meanwhile.
func (m *Main) subscribeSettings(ctx context.Context) {
	m.settings = m.Redis.Subscribe(ctx, settingsChannel)
	wait, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := m.settings.Receive(wait); err != nil {
		m.Logger.Warn("listen for saved settings; until Redis answers they apply within "+settingsReloadEvery.String(), "err", err)
	}
}

// syncSettings reloads the saved settings whenever any node says they changed, and every
// settingsReloadEvery besides, until ctx ends.
func (m *Main) syncSettings(ctx context.Context) error {
	defer m.settings.Close()
	changes := m.settings.Channel()
	tick := time.NewTicker(settingsReloadEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
			m.reloadSettings(ctx)
		case <-tick.C:
			m.reloadSettings(ctx)
		}
	}
}
