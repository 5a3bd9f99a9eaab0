package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
)

// The server's own files are hidden from every sandbox: its home, working directory and .env, the
// config file and the App key file.
func TestServerPaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("log:\n  level: info\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "app.pem")
	env := map[string]string{"GITHUB_APP_PRIVATE_KEY_PATH": key}
	cfg, err := config.Load(config.Options{Path: file, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	got := serverPaths(cfg)
	home, _ := os.UserHomeDir()
	wd, _ := os.Getwd()
	for _, want := range []string{home, wd, filepath.Join(wd, ".env"), file, key} {
		if !slices.Contains(got, want) {
			t.Errorf("serverPaths = %v, missing %s", got, want)
		}
	}
	exe, _ := os.Executable()
	if slices.Contains(got, filepath.Dir(exe)) {
		t.Errorf("serverPaths hides the binary's folder %s (it may be /usr/local/bin, which agents need)", filepath.Dir(exe))
	}
}

// The runner's sandbox policy is read at each task from what admins saved (shared by every node),
// over the config; an environment variable locks its setting. A save on another node reaches this
// one through Redis well before the periodic reload.
func TestSandboxPolicyFollowsSavedSettings(t *testing.T) {
	env := mainEnv(t, map[string]string{"SANDBOX_DENIED_DOMAINS": "evil.example"})
	m := startMain(t, RoleWeb, env)
	settings := postgres.NewSettingStore(m.DB)
	ctx := context.Background()

	got, err := m.sandboxPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := sesame.SandboxPolicy{SecurityEnabled: true, DeniedDomains: []string{"evil.example"}}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("default policy (-want +got):\n%s", diff)
	}
	for k, v := range map[string]string{
		config.SandboxSecurityEnabled:      "false",
		config.SandboxSecurityAllowDisable: "true",
		config.SandboxAllowedDomains:       "docs.example.com,*.cdn.example.com,db.internal:5432",
		config.SandboxDeniedDomains:        "nothing.example", // locked by the environment
	} {
		if err := settings.SaveSetting(ctx, k, v, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	// Another node saved them and says so.
	start := time.Now()
	if err := (settingsNotifier{rdb: m.Redis}).SettingsChanged(ctx); err != nil {
		t.Fatal(err)
	}
	want = sesame.SandboxPolicy{SecurityEnabled: false, AllowDisable: true,
		AllowedDomains: []string{"docs.example.com", "*.cdn.example.com", "db.internal:5432"},
		DeniedDomains:  []string{"evil.example"}}
	for {
		got, err = m.sandboxPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cmp.Equal(want, got) {
			break
		}
		if time.Since(start) > settingsReloadEvery/2 {
			t.Fatalf("policy %s after the admin saved settings and told every node (-want +got):\n%s", time.Since(start), cmp.Diff(want, got))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("applied %s after the change was published", time.Since(start).Round(time.Millisecond))
}
