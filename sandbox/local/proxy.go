package local

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/egress"
)

// startProxy serves the task's egress proxy on a unix socket at path, which only the sandbox's
// user (and Sesame) may connect to. Each task has its own socket, so a connection is the task's
// by where it arrives, never by anything the agent sends.
func startProxy(path string, spec sandbox.Spec, log *slog.Logger, uid, gid int, drop bool) (io.Closer, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	// A socket's path is at most 107 bytes and TASK_DIR_BASE may be deep: bind through the
	// folder's descriptor instead (/proc/self/fd/N/proxy.sock).
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	l, err := net.Listen("unix", fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path)))
	dir.Close()
	if err != nil {
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false) // Destroy removes the folder
	perm := os.FileMode(0o600)
	if drop {
		if err := os.Chown(path, 0, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("proxy socket: %w", err)
		}
		perm = 0o660
	}
	if err := os.Chmod(path, perm); err != nil {
		l.Close()
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	rules := egress.Rules{
		AllowedDomains: spec.Policy.AllowedDomains,
		DeniedDomains:  spec.Policy.DeniedDomains,
		Endpoints:      spec.Policy.Endpoints,
	}
	p := egress.New(rules, egress.Options{
		OnViolation: spec.OnViolation,
		Logger:      log.With("task_id", spec.TaskID),
	})
	go func() {
		if err := p.Serve(l); err != nil {
			log.Warn("egress proxy stopped", "task_id", spec.TaskID, "err", err)
		}
	}()
	return p, nil
}
