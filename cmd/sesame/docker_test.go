package main

import (
	"context"
	"strings"
	"testing"
)

// A worker told to use the docker provider refuses to start, saying why, when its image is not on
// the engine: tasks never queue up behind a sandbox that cannot start.
func TestDockerProviderNeedsItsImage(t *testing.T) {
	env := mainEnv(t, map[string]string{
		"SANDBOX_PROVIDER":     "docker",
		"DOCKER_SANDBOX_IMAGE": "localhost/sesame-no-such-image:never",
	})
	m := &Main{Role: RoleWorker, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	err := m.Open(context.Background())
	m.Close()
	if err == nil {
		t.Fatal("the worker started without its sandbox image")
	}
	for _, want := range []string{"localhost/sesame-no-such-image:never", "DOCKER_SANDBOX_IMAGE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
