package docker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-works/sesame/sandbox"
)

// TestHostileAgentCannotTamper attacks what the container is given besides its workspace, as an
// agent would: the mirror objects it may only read, the folder of its egress proxy's socket (a socket
// of its own there would be a way out), the init binary every command runs through, and the engine's
// socket. Every attempt fails and the host is unchanged.
func TestHostileAgentCannotTamper(t *testing.T) {
	p := newProvider(t, "test-hostile")
	taskDir := t.TempDir()
	ws := filepath.Join(taskDir, "repo")
	objects := filepath.Join(t.TempDir(), "objects")
	for _, d := range []string{ws, objects} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pack := filepath.Join(objects, "pack")
	if err := os.WriteFile(pack, []byte("mirror data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sb, err := p.Create(t.Context(), sandbox.Spec{TaskID: "task-hostile", TaskDir: taskDir, Workspace: ws,
		ReadOnly: []string{objects}, Policy: sandbox.Policy{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Destroy(context.Background()) })

	script := `
echo overwritten > ` + pack + ` 2>/dev/null && echo TAMPERED-MIRROR
touch ` + objects + `/new 2>/dev/null && echo TAMPERED-MIRROR-NEW
rm -f /run/sesame/proxy/proxy.sock 2>/dev/null; [ -S /run/sesame/proxy/proxy.sock ] || echo TAMPERED-PROXY-SOCKET
touch /run/sesame/proxy/other.sock 2>/dev/null && echo TAMPERED-PROXY-DIR
cp /bin/sh /run/sesame/init 2>/dev/null && echo TAMPERED-INIT
for s in /var/run/docker.sock /run/docker.sock /run/podman/podman.sock; do [ -e $s ] && echo ENGINE-SOCKET $s; done
echo attack done`
	out := mustRun(t, sb, "sh", "-c", script)
	if !strings.Contains(out, "attack done") {
		t.Fatalf("the attack did not run: %q", out)
	}
	for _, bad := range []string{"TAMPERED", "ENGINE-SOCKET"} {
		if strings.Contains(out, bad) {
			t.Errorf("the agent got through:\n%s", out)
		}
	}
	if b, _ := os.ReadFile(pack); string(b) != "mirror data\n" {
		t.Errorf("the mirror's file on the host is now %q", b)
	}
	if _, err := os.Stat(filepath.Join(objects, "new")); err == nil {
		t.Error("the agent made a file in the mirror on the host")
	}
}
