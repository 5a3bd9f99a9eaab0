package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/egress"
)

// ownDir is the provider's folder in the task directory: the proxy socket lives there.
const ownDir = ".docker-sandbox"

// Create checks spec, hands the workspace to the sandbox's user (when Sesame runs as root), starts
// the task's egress proxy for a secured policy, and creates and starts the task's container. On
// error it removes whatever it made.
func (p *Provider) Create(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	if p.err != nil {
		return nil, p.err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec.TaskDir = filepath.Clean(spec.TaskDir)
	spec.Workspace = filepath.Clean(spec.Workspace)
	spec.Env = maps.Clone(spec.Env)
	for i, ro := range spec.ReadOnly {
		if !filepath.IsAbs(ro) {
			return nil, sesame.Errorf(sesame.EINVALID, "sandbox spec: read-only path %q is not absolute", ro)
		}
		spec.ReadOnly[i] = filepath.Clean(ro)
	}
	// Podman reads a bind mount's source up to its first comma as the path: refuse such paths
	// clearly rather than fail at container creation.
	for _, path := range append([]string{spec.TaskDir, spec.Workspace, spec.PreviewSocket}, spec.ReadOnly...) {
		if strings.Contains(path, ",") {
			return nil, sesame.Errorf(sesame.EINVALID, "docker sandbox: %s has a comma in its path, which container engines cannot mount; choose a TASK_DIR_BASE without one", path)
		}
	}
	for _, dir := range []string{spec.TaskDir, spec.Workspace} {
		if fi, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("create sandbox: %w", err)
		} else if !fi.IsDir() {
			return nil, sesame.Errorf(sesame.EINVALID, "create sandbox: %s is not a directory", dir)
		}
	}
	realWorkspace, err := filepath.EvalSymlinks(spec.Workspace)
	if err != nil {
		return nil, fmt.Errorf("create sandbox: workspace: %w", err)
	}
	if err := checkStatic(p.opts.Init); err != nil {
		return nil, sesame.Errorf(sesame.EUNAVAILABLE, "docker sandbox: init binary %s: %v", p.opts.Init, err)
	}
	if os.Geteuid() == 0 {
		if err := sandbox.ChownTree(sandbox.HandedOver(spec.Workspace, p.uid, p.gid), p.uid, p.gid); err != nil {
			return nil, fmt.Errorf("create sandbox: hand the workspace to the sandbox's user: %w", err)
		}
	}

	s := &Sandbox{
		provider:      p,
		spec:          spec,
		realWorkspace: realWorkspace,
		own:           filepath.Join(spec.TaskDir, ownDir),
		runs:          map[*run]struct{}{},
	}
	cs := containerSpec{
		taskID:    spec.TaskID,
		instance:  p.opts.Instance,
		image:     p.opts.Image,
		user:      p.opts.User,
		home:      p.opts.Home,
		init:      p.opts.Init,
		workspace: spec.Workspace,
		readOnly:  spec.ReadOnly,
		network:   p.opts.OpenNetwork,
		cpus:      p.opts.CPUs,
		memory:    p.opts.MemoryBytes,
		pids:      p.opts.PIDs,
	}
	if spec.PreviewSocket != "" {
		if err := sandbox.IsSocket(spec.PreviewSocket); err != nil {
			return nil, err
		}
		cs.preview = spec.PreviewSocket
	}
	if spec.KeepAlive {
		cs.keptWith = spec.TaskDir
	}
	if spec.Policy.Enabled {
		cs.network = "none"
		cs.proxyDir = s.own
		if err := s.startProxy(); err != nil {
			s.cleanup(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("create sandbox: %w", err)
		}
	}
	cfg, host := cs.configs()
	created, err := p.cli.ContainerCreate(ctx, cfg, host, nil, nil, "")
	if err != nil {
		s.cleanup(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create sandbox: create container from %s: %w", p.opts.Image, err)
	}
	s.id = created.ID
	if err := p.cli.ContainerStart(ctx, s.id, container.StartOptions{}); err != nil {
		s.cleanup(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create sandbox: start container: %w", err)
	}
	return s, nil
}

// startProxy makes the provider's folder (Sesame's; the sandbox's user may only pass through it)
// and serves the task's egress proxy on a unix socket in it.
func (s *Sandbox) startProxy() error {
	p := s.provider
	if err := os.RemoveAll(s.own); err != nil {
		return err
	}
	if err := os.Mkdir(s.own, 0o710); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := errors.Join(os.Chown(s.own, 0, p.gid), os.Chmod(s.own, 0o710)); err != nil {
			return err
		}
	} else if err := os.Chmod(s.own, 0o711); err != nil {
		return err
	}
	l, err := egress.ListenUnix(filepath.Join(s.own, "proxy.sock"))
	if err != nil {
		return fmt.Errorf("proxy socket: %w", err)
	}
	log := p.opts.Logger.With(slog.String("task_id", s.spec.TaskID))
	proxy := egress.New(egress.Rules{
		AllowedDomains: s.spec.Policy.AllowedDomains,
		DeniedDomains:  s.spec.Policy.DeniedDomains,
		Endpoints:      s.spec.Policy.Endpoints,
	}, egress.Options{OnViolation: s.spec.OnViolation, Logger: log})
	go func() {
		if err := proxy.Serve(l); err != nil {
			log.Warn("egress proxy stopped", "err", err)
		}
	}()
	s.proxy = proxy
	return nil
}

// cleanup removes what Create made: the container (for a keep-alive task only stopped, every
// process killed), the proxy and the provider's folder.
func (s *Sandbox) cleanup(ctx context.Context) error {
	var errs []error
	if s.id != "" && s.spec.KeepAlive {
		if err := s.provider.stop(ctx, s.id); err != nil {
			errs = append(errs, err)
		}
	} else if s.id != "" {
		if err := s.provider.remove(ctx, s.id); err != nil {
			errs = append(errs, err)
		}
	}
	if s.proxy != nil {
		_ = s.proxy.Close()
	}
	if err := os.RemoveAll(s.own); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var _ io.Closer = (*egress.Proxy)(nil)
