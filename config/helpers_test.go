package config

import (
	"os"
	"path/filepath"
	"testing"
)

// env returns a Getenv that reads only m, so the tests never see the real
// environment (where GITHUB_TOKEN or OPENAI_API_KEY may well be set).
func env(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// writeFiles writes files (name → content) into a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustLoad loads a config from files, env and admin, failing the test on error.
func mustLoad(t *testing.T, files, environ map[string]string, admin Layer) *Config {
	t.Helper()
	c, err := Load(Options{Dir: writeFiles(t, files), Getenv: env(environ), Admin: admin})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}
