// Package docker is the "docker" sandbox provider (SANDBOX_PROVIDER=docker): one container per task
// on a Docker-compatible engine (Docker, or Podman's compatible API service), reached with the
// official client at DOCKER_HOST (the local socket by default), the API version negotiated.
//
// What every container gets, whatever the task's policy:
//   - the image Options.Image, run as Options.User (never root), with all capabilities dropped,
//     no-new-privileges, a read-only root file system, private tmpfs /tmp and HOME;
//   - CPU, memory (no swap beyond it) and PID limits, and nofile/nproc ulimits;
//   - files: the workspace read-write and Spec.ReadOnly read-only, each at its host path (the
//     workspace's alternates file names the mirror's objects by their host path), and the init
//     binary read-only; nothing else of the host;
//   - environment: a fixed allowlist (PATH, HOME, locale, ...), Spec.Env, ExecRequest.Env; never
//     the host's (the image's own ENV lines do apply: the image is the operator's);
//   - lifetime: each Exec runs in a session of its own, stopped (SIGTERM, then SIGKILL after the
//     grace period) on cancel and when the command exits; Destroy removes the container, and every
//     process with it.
//
// Network: with Spec.Policy.Enabled the container has network "none" (a loopback only) and its
// only way out is the task's egress proxy: an in-container relay on 127.0.0.1:ProxyPort to a unix
// socket served by Sesame and bind-mounted in, which allows only the policy's domains and
// endpoints and reports each refusal to Spec.OnViolation. With the policy off, the container is on
// Options.OpenNetwork (the engine's default bridge unless set): open to the internet, like the
// local provider without security, but still apart from the host's loopback services.
//
// Known gap: a process that double-forks with setsid (reparented to the container's PID 1 in a
// new session) escapes an Exec's kill; it dies with the container on Destroy.
//
// Image expectations: a user Options.User with Options.Home as a folder it can write (owned by it,
// or mode 1777: Podman copies it onto the HOME tmpfs); /bin/sh and the tools agents use.
//
// The init binary (Options.Init, by default this program) must be statically linked
// (CGO_ENABLED=0), since it runs inside any image, and call [MaybeRunInit] first thing in main.
package docker

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
)

// Name is the provider's SANDBOX_PROVIDER value.
const Name = "docker"

// Defaults for the zero values of Options.
const (
	DefaultImage       = "sesame-sandbox:latest"
	DefaultUser        = "1000:1000"
	DefaultHome        = "/home/sesame"
	DefaultCPUs        = 2.0
	DefaultMemoryBytes = 4 << 30
	DefaultPIDs        = 1024
	DefaultKillGrace   = 5 * time.Second
)

// Options configures the docker provider.
type Options struct {
	// Host is the engine's address ("unix:///run/docker.sock", "tcp://..."); "" means DOCKER_HOST,
	// else the local socket.
	Host string
	// Image is the sandbox image (DOCKER_SANDBOX_IMAGE); "" means DefaultImage.
	Image string
	// User is the "uid:gid" processes run as; "" means DefaultUser. It must not be root. When
	// Sesame runs as root, the workspace is handed to it.
	User string
	// Home is the user's HOME inside the container, a private tmpfs; "" means DefaultHome.
	Home string
	// CPUs, MemoryBytes and PIDs limit each container; zero means the default.
	CPUs        float64
	MemoryBytes int64
	PIDs        int64
	// OpenNetwork is the network of a container whose policy is off; "" means "bridge".
	OpenNetwork string
	// Instance is the value of the works.sesame.instance label: what Sweep removes.
	Instance string
	// Init is the host path of the static init binary bound into every container (it must call
	// MaybeRunInit); "" means this program (os.Executable).
	Init string
	// KillGrace is the time between SIGTERM and SIGKILL when an Exec is stopped; zero means
	// DefaultKillGrace.
	KillGrace time.Duration
	// Logger receives what the provider has to say; nil discards it.
	Logger *slog.Logger
}

// Provider is the docker sandbox provider. It is safe for concurrent use.
type Provider struct {
	cli  *client.Client
	opts Options
	uid  int
	gid  int
	err  error // invalid options: every Create returns it
}

var _ sandbox.Provider = (*Provider)(nil)

// New returns a docker provider. It does not contact the engine (see Check). Invalid options make
// every Create fail with the reason.
func New(opts Options) (*Provider, error) {
	if opts.Image == "" {
		opts.Image = DefaultImage
	}
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.Home == "" {
		opts.Home = DefaultHome
	}
	if opts.CPUs <= 0 {
		opts.CPUs = DefaultCPUs
	}
	if opts.MemoryBytes <= 0 {
		opts.MemoryBytes = DefaultMemoryBytes
	}
	if opts.PIDs <= 0 {
		opts.PIDs = DefaultPIDs
	}
	if opts.OpenNetwork == "" {
		opts.OpenNetwork = "bridge"
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = DefaultKillGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Init == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("docker sandbox: init binary: %w", err)
		}
		opts.Init = exe
	}
	p := &Provider{opts: opts}
	p.uid, p.gid, p.err = parseUser(opts.User)
	if p.err == nil && (!filepath.IsAbs(opts.Home) || !filepath.IsAbs(opts.Init)) {
		p.err = sesame.Errorf(sesame.EINVALID, "docker sandbox: home %q and init %q must be absolute paths", opts.Home, opts.Init)
	}
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		copts = append(copts, client.WithHost(opts.Host))
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker sandbox: engine client: %w", err)
	}
	p.cli = cli
	return p, nil
}

// parseUser parses "uid:gid", refusing root.
func parseUser(s string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(s, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil || uid <= 0 || gid <= 0 {
		return 0, 0, sesame.Errorf(sesame.EINVALID, "docker sandbox: user %q must be a numeric non-root uid:gid", s)
	}
	return uid, gid, nil
}

// Name returns "docker".
func (p *Provider) Name() string { return Name }

// Owner returns the uid and gid the sandboxes' processes run as: what must be able to read the
// mirrors a workspace borrows from.
func (p *Provider) Owner() (uid, gid int) { return p.uid, p.gid }

// Close releases the engine client.
func (p *Provider) Close() error { return p.cli.Close() }

// Check pings the engine and looks the image up, for `sesame doctor` and start-up. Its errors say
// which of the two is missing, with code EUNAVAILABLE.
func (p *Provider) Check(ctx context.Context) error {
	if _, err := p.cli.Ping(ctx); err != nil {
		return sesame.Errorf(sesame.EUNAVAILABLE, "docker sandbox: the container engine at %s does not answer: %v", p.cli.DaemonHost(), err)
	}
	if _, err := p.cli.ImageInspect(ctx, p.opts.Image); err != nil {
		return sesame.Errorf(sesame.EUNAVAILABLE, "docker sandbox: image %s is not on the engine at %s (build or pull it): %v", p.opts.Image, p.cli.DaemonHost(), err)
	}
	if err := checkStatic(p.opts.Init); err != nil {
		return sesame.Errorf(sesame.EUNAVAILABLE, "docker sandbox: init binary %s: %v", p.opts.Init, err)
	}
	return nil
}

// checkStatic refuses an init binary that needs a dynamic loader, which the image may not have.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return errors.New("is dynamically linked: build it with CGO_ENABLED=0")
		}
	}
	return nil
}

// Sweep removes every container labelled with instance: what a dead predecessor of this Sesame
// instance left behind, and the stopped containers of keep-alive tasks whose folder is gone. A
// worker calls it at start, before taking tasks; a kept container whose folder is still there stays.
func (p *Provider) Sweep(ctx context.Context, instance string) (removed int, err error) {
	list, err := p.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelInstance+"="+instance)),
	})
	if err != nil {
		return 0, fmt.Errorf("sweep sandboxes: %w", err)
	}
	var errs []error
	for _, c := range list {
		if c.Labels[LabelInstance] != instance {
			continue
		}
		if kept := c.Labels[LabelKeptWith]; kept != "" && c.State != "running" {
			if _, err := os.Stat(kept); err == nil {
				continue // kept with its task's folder
			}
		}
		if err := p.remove(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
		p.opts.Logger.Info("removed a leftover sandbox container", "container", c.ID[:12], "task_id", c.Labels[LabelTask])
	}
	return removed, errors.Join(errs...)
}

// stop kills every process of a container and leaves it stopped; one already gone is not an error.
func (p *Provider) stop(ctx context.Context, id string) error {
	timeout := 0
	err := p.cli.ContainerStop(ctx, id, container.StopOptions{Signal: "SIGKILL", Timeout: &timeout})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %.12s: %w", id, err)
	}
	return nil
}

// remove force-removes a container; one already gone is not an error.
func (p *Provider) remove(ctx context.Context, id string) error {
	err := p.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %.12s: %w", id, err)
	}
	return nil
}
