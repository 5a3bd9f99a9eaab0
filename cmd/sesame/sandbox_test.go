package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sesame-works/sesame/config"
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
