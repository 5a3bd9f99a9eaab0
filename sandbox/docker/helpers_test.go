package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/docker"
)

// defaultHost is the engine the tests use when DOCKER_HOST is unset: the Podman service that
// scripts/test starts.
const defaultHost = "unix:///run/podman/podman.sock"

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
	if os.Getenv("DOCKER_HOST") == "" {
		os.Setenv("DOCKER_HOST", defaultHost)
	}
	var err error
	cli, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		return nil, fmt.Errorf("no container engine at %s (scripts/test starts Podman's service): %w", cli.DaemonHost(), err)
	}
	dir, err := os.MkdirTemp("", "sesame-docker-init-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	testInit = filepath.Join(dir, "init")
	build := exec.Command("go", "build", "-o", testInit, "./internal/testinit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the init binary: %v\n%s", err, out)
	}
	if testImage, err = ensureImage(ctx); err != nil {
		return nil, err
	}
	return func(m *testing.M) int {
		defer os.RemoveAll(dir)
		return m.Run()
	}, nil
}

// ensureImage imports, once per content, a tiny image: busybox-static with every applet in /bin
// and a user sesame (1000:1000).
func ensureImage(ctx context.Context) (string, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", fmt.Errorf("the test image needs Debian's busybox-static: %w", err)
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return "", err
	}
	applets := strings.Fields(string(out))
	passwd := "root:x:0:0:root:/root:/bin/sh\nsesame:x:1000:1000:Sesame agent:/home/sesame:/bin/sh\n"
	group := "root:x:0:\nsesame:x:1000:\n"
	sum := sha256.Sum256(append(append(bb, passwd...), group+"home-1777"...))
	tag := "localhost/sesame-test-sandbox:" + hex.EncodeToString(sum[:6])
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin", "etc", "tmp", "home", "home/sesame", "run", "proc", "sys", "dev", "usr", "usr/bin"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		uid := 0
		if d == "home/sesame" {
			uid, mode = 1000, 0o1777
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, Uid: uid, Gid: uid})
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))})
	tw.Write(bb)
	for _, a := range applets {
		if a != "busybox" {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777})
		}
	}
	for name, body := range map[string]string{"etc/passwd": passwd, "etc/group": group} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, tag, image.ImportOptions{})
	if err != nil {
		return "", fmt.Errorf("import the test image: %w", err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return "", err
	}
	return tag, nil
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
