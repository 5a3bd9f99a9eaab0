package main

import (
	"maps"
	"testing"

	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
)

// mainEnv is the environment of a Main under test: the required settings, a fresh database and
// Redis, a free port and a task folder of its own; extra adds to it or overrides it.
func mainEnv(t testing.TB, extra map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{
		"BETTER_AUTH_SECRET": "test-auth-secret-0123456789abcdefghijklmnopq",
		"ENCRYPTION_KEY":     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"BASE_URL":           "https://sesame.example.com",
		"DATABASE_URL":       pgtest.NewDatabase(t),
		"REDIS_URL":          redistest.New(t).URL(),
		"LISTEN_ADDR":        "127.0.0.1:0",
		"TASK_DIR_BASE":      t.TempDir(),
	}
	maps.Copy(env, extra)
	return env
}
