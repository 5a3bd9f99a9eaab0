package local

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/egress"
)

// startProxy serves the task's egress proxy on a unix socket at path. Each task has its own
// socket, so a connection is the task's by where it arrives, never by anything the agent sends. The
// socket's folder ({TaskDir}/.sandbox) is what keeps everyone else out: only Sesame and the
// sandbox's user may pass through it.
func startProxy(path string, spec sandbox.Spec, log *slog.Logger) (io.Closer, error) {
	l, err := egress.ListenUnix(path)
	if err != nil {
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
