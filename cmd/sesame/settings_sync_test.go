package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
)

// A secret an admin saves on another node reaches this one sealed, opens, and is masked in what
// this node's tasks print from the moment a task can read it.
func TestSavedSecretIsMaskedEverywhere(t *testing.T) {
	env := mainEnv(t, nil)
	m := startMain(t, RoleAll, env)
	if len(m.maskers) != 3 {
		t.Fatalf("%d maskers; want the runner's, the web app's and the Slack stop button's", len(m.maskers))
	}
	ctx := context.Background()
	const key = "sk-ant-api03-saved-by-an-admin-0123456789"
	stored, err := config.SealSetting(m.Sealer, config.AgentsAnthropicAPIKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewSettingStore(m.DB).SaveSetting(ctx, config.AgentsAnthropicAPIKey, stored, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := (settingsNotifier{rdb: m.Redis}).SettingsChanged(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(settingsReloadEvery / 2)
	for m.Live.Current().String(config.AgentsAnthropicAPIKey) != key {
		if time.Now().After(deadline) {
			t.Fatal("the saved key did not reach this node")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, mk := range m.maskers {
		if out := mk.String("the agent printed " + key); strings.Contains(out, "saved-by-an-admin") {
			t.Errorf("masker %d lets the saved key through: %q", i, out)
		}
	}
}
