package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/confine"
)

// Check starts a secured sandbox in a scratch task folder under base (TASK_DIR_BASE) and runs
// /bin/true in it: bubblewrap, user namespaces, the init stage, Landlock and seccomp all have to
// work. It returns what failed and how to fix it, or a line saying what works.
func (p *Provider) Check(ctx context.Context, base string) (string, error) {
	abi, err := confine.Available()
	if err != nil {
		return "", fmt.Errorf("Landlock/seccomp: %w (Landlock needs Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK and landlock in the lsm= boot parameter)", err)
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("task folder %s: %w", base, err)
	}
	dir, err := os.MkdirTemp(base, ".doctor-")
	if err != nil {
		return "", fmt.Errorf("task folder %s: %w", base, err)
	}
	defer os.RemoveAll(dir)
	ws := filepath.Join(dir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		return "", err
	}
	sb, err := p.Create(ctx, sandbox.Spec{TaskID: "doctor", TaskDir: dir, Workspace: ws,
		Policy: sandbox.Policy{Enabled: true}})
	if err != nil {
		return "", err
	}
	defer sb.Destroy(context.WithoutCancel(ctx))
	var out bytes.Buffer
	code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{"/bin/true"}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		return "", fmt.Errorf("a secured sandbox could not run /bin/true (exit %d, %v): %s "+
			"(are user namespaces allowed? sysctl user.max_user_namespaces must be above 0, and on Ubuntu "+
			"kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap)", code, err, bytes.TrimSpace(out.Bytes()))
	}
	uid, _, _ := p.sandboxUser()
	return fmt.Sprintf("bubblewrap, Landlock ABI %d and seccomp work; agents run as uid %d", abi, uid), nil
}
