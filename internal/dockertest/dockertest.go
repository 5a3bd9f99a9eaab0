// Package dockertest gives tests what the docker sandbox provider needs on this machine: a client
// for the engine at DOCKER_HOST, sandbox images made from this host's own files (no registry is
// reachable here) and imported once per content, and the static init binary every container runs.
// The tests of sandbox/docker, runner (the escape suite) and cmd/sesame (the end-to-end run) share
// it, so that there is one way to make a test image.
package dockertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// DefaultHost is the engine used when DOCKER_HOST is unset: the Podman service scripts/test starts.
const DefaultHost = "unix:///run/podman/podman.sock"

// Host is the engine's address: DOCKER_HOST, else DefaultHost.
func Host() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return DefaultHost
}

// Client returns a client for the engine at Host, the API version negotiated, once the engine
// answers. A missing engine is an error (the tests fail, never skip).
func Client(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("no container engine at %s (scripts/test starts Podman's service): %w", cli.DaemonHost(), err)
	}
	return cli, nil
}

// BuildInit builds the docker provider's init for tests (sandbox/docker/internal/testinit, what the
// sesame binary is in production) statically into dir, made readable by all, and returns its path.
func BuildInit(dir string) (string, error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	exe := filepath.Join(dir, "sesame-test-init")
	build := exec.Command("go", "build", "-o", exe, "github.com/sesame-works/sesame/sandbox/docker/internal/testinit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the docker sandbox's init: %v\n%s", err, out)
	}
	return exe, nil
}

// MustInit is BuildInit into a folder removed when the test ends.
func MustInit(t testing.TB) string {
	t.Helper()
	exe, err := BuildInit(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// MustImage is Ensure with a client at Host; it fails the test on error.
func MustImage(t testing.TB, img Image) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli, err := Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	tag, err := Ensure(ctx, cli, img)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
