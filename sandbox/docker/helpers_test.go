package docker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/client"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/dockertest"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/docker"
)

const testGrace = 300 * time.Millisecond

var (
	testInit  string // the static init binary
	testImage string // the busybox image's tag
	cli       *client.Client
)

// TestMain builds the static init binary and the test image once; a missing engine fails the
// whole package (never skips).
func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker sandbox tests:", err)
		os.Exit(1)
	}
	os.Exit(code(m))
}

func setup() (func(*testing.M) int, error) {
	os.Setenv("DOCKER_HOST", dockertest.Host()) // the provider reads it too
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if cli, err = dockertest.Client(ctx); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sesame-docker-init-")
	if err != nil {
		return nil, err
	}
	if testInit, err = dockertest.BuildInit(dir); err != nil {
		return nil, err
	}
	// A tiny image: busybox-static with every applet in /bin and the user sesame (1000:1000).
	if testImage, err = dockertest.Ensure(ctx, cli, dockertest.Image{Name: "sesame-test-sandbox", Busybox: true}); err != nil {
		return nil, err
	}
	return func(m *testing.M) int {
		defer os.RemoveAll(dir)
		return m.Run()
	}, nil
}

// newProvider returns a provider on the test image with the test init and instance.
func newProvider(t testing.TB, instance string) *docker.Provider {
	t.Helper()
	p, err := docker.New(docker.Options{
		Image:       testImage,
		Init:        testInit,
		Instance:    instance,
		KillGrace:   testGrace,
		MemoryBytes: 256 << 20,
		PIDs:        256,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type testSandbox struct {
	*docker.Sandbox
	spec sandbox.Spec
}

// newSandbox creates a sandbox in a fresh task directory with a workspace at {TaskDir}/repo,
// destroyed when the test ends.
func newSandbox(t testing.TB, p *docker.Provider, policy sandbox.Policy, onViolation func(sesame.Violation)) *testSandbox {
	t.Helper()
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{
		TaskID:      "task-" + filepath.Base(taskDir),
		TaskDir:     taskDir,
		Workspace:   ws,
		Env:         map[string]string{"SPEC_VAR": "from-spec"},
		Policy:      policy,
		OnViolation: onViolation,
	}
	sb, err := p.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	return &testSandbox{Sandbox: sb.(*docker.Sandbox), spec: spec}
}

// run execs argv and returns its exit code and output.
func run(t testing.TB, sb sandbox.Sandbox, req sandbox.ExecRequest) (code int, stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	req.Stdout, req.Stderr = &o, &e
	code, err = sb.Exec(t.Context(), req)
	return code, o.String(), e.String(), err
}

// mustRun execs argv and fails the test unless it exits 0.
func mustRun(t testing.TB, sb sandbox.Sandbox, argv ...string) string {
	t.Helper()
	code, out, errOut, err := run(t, sb, sandbox.ExecRequest{Argv: argv})
	if err != nil || code != 0 {
		t.Fatalf("%q: code %d, err %v, stderr %q", argv, code, err, errOut)
	}
	return out
}
