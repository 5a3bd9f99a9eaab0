package admin

import (
	"context"

	"github.com/sesame-works/sesame/config"
)

// settings returns the settings as they are now: env and file as read at start, under the values
// admins saved. It fails only without Current, when the saved values cannot be read.
func (a *App) settings(ctx context.Context) (*config.Config, error) {
	if a.Current != nil {
		return a.Current.Current(), nil
	}
	return a.Config.WithSaved(ctx, config.OpenSaved{Saved: a.Settings, Sealer: a.Sealer})
}

// settingsSaved makes a change saved by an admin current on this node and tells every other node.
func (a *App) settingsSaved(ctx context.Context) {
	if a.Current != nil {
		if err := a.Current.Reload(ctx); err != nil {
			a.Logger.Error("reload settings", "err", err)
		}
	}
	if a.Notifier != nil {
		if err := a.Notifier.SettingsChanged(ctx); err != nil {
			a.Logger.Warn("tell other nodes that settings changed; they pick it up at their next periodic reload", "err", err)
		}
	}
}
