// Package local is the "local" sandbox provider (SANDBOX_PROVIDER=local, the default): it runs a
// task's processes on this host, each Exec inside its own bubblewrap sandbox.
//
// What every sandbox gets, whatever the task's policy:
//   - namespaces: user, PID (with a fresh /proc: no other process of the host is visible), mount,
//     IPC, UTS and cgroup; --die-with-parent and --new-session;
//   - a user: when Sesame runs as root, processes run as an unprivileged uid (DefaultSandboxUID),
//     never as root; the workspace and the per-task home are handed to it;
//   - files: the host's system folders read-only (/usr, /etc, /lib*, /bin, /sbin), private tmpfs
//     /tmp and /run, the workspace, the per-task HOME and TMPDIR read-write, the read-only paths of
//     Options and Spec, and nothing else: not the rest of TASK_DIR_BASE (other tasks, mirrors'
//     hooks and config, spares), not the server's home, working directory, config or key files
//     (Options.Hide), not credential folders;
//   - environment: an allowlist, never the host's environment (see [Options.ExtraPath]);
//   - lifetime: cancelling an Exec, its own exit, Destroy, or Sesame's death ends every process it
//     started, setsid or not: they live in the sandbox's PID namespace, which dies with it.
//
// With Spec.Policy.Enabled (sandbox security) it adds: a network namespace whose only way out is
// the task's egress proxy (an in-sandbox relay on 127.0.0.1:ProxyPort to a unix socket served by
// Sesame, which allows only the policy's domains and endpoints and reports each refusal), and an
// init stage that applies Landlock (read-write only on the workspace, home, /tmp and /dev) and a
// seccomp filter before the command runs. Create refuses a secured sandbox when any of that is
// unavailable, rather than running it open.
//
// The sesame binary is the init stage: a program using this provider calls [MaybeRunInit] first.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/confine"
)

// Name is the provider's SANDBOX_PROVIDER value.
const Name = "local"

// DefaultKillGrace is how long a process gets between SIGTERM and SIGKILL when Options.KillGrace
// is zero.
const DefaultKillGrace = 5 * time.Second

// DefaultPath is the PATH every process gets, after Options.ExtraPath.
const DefaultPath = "/usr/local/bin:/usr/bin:/bin"

// Options configures the local provider.
type Options struct {
	// ExtraPath are absolute directories put in front of DefaultPath in every process's PATH
	// (where the agent CLIs and their node are installed, e.g. /opt/agents/claude/node_modules/.bin).
	// The host's PATH is never used. They are bound read-only into every sandbox.
	ExtraPath []string

	// ReadOnly are further host folders every sandbox sees read-only at the same path: where the
	// agent CLIs are installed (AGENTS_DIR). The sandbox's user must be able to reach them.
	ReadOnly []string

	// Hide are host paths no sandbox may see even where they lie inside a folder it sees: the
	// server's home and working directory, its config file, .env, the GitHub App key file.
	Hide []string

	// SandboxUID is the uid and gid processes run as when Sesame runs as root; zero means
	// DefaultSandboxUID. Ignored otherwise (processes keep Sesame's ids).
	SandboxUID int

	// Bwrap is the bubblewrap binary; "" means "bwrap" on Sesame's PATH.
	Bwrap string

	// Init is the program bubblewrap runs as the sandbox's init stage (it must call
	// MaybeRunInit); "" means this program (os.Executable).
	Init string

	// KillGrace is the time between SIGTERM and SIGKILL when an Exec is stopped; zero means
	// DefaultKillGrace.
	KillGrace time.Duration

	// Logger receives what the provider has to say (a proxy's refusals); nil discards it.
	Logger *slog.Logger
}

// Validate reports options New cannot honour: an ExtraPath, ReadOnly or Hide entry that is
// relative or holds ':'. Wiring may call it at start to fail early; otherwise the provider's
// Create reports it.
func (o Options) Validate() error {
	for _, list := range [][]string{o.ExtraPath, o.ReadOnly, o.Hide} {
		for _, dir := range list {
			if !filepath.IsAbs(dir) || strings.ContainsAny(dir, ":\x00") {
				return fmt.Errorf("local sandbox: path %q must be absolute and without ':'", dir)
			}
		}
	}
	return nil
}

// Provider is the local sandbox provider. It is safe for concurrent use.
type Provider struct {
	extraPath []string
	readOnly  []string
	hide      []string
	uid       int
	bwrap     string
	init      string
	killGrace time.Duration
	logger    *slog.Logger
	invalid   error // from Options.Validate; every Create returns it

	initMu sync.Mutex
	staged map[string]string // init binary copies, by folder

	denials denials // Landlock's refusals, routed to their sandbox's OnViolation

	probeMu sync.Mutex
	probed  bool // bubblewrap made a sandbox here once
}

var _ sandbox.Provider = (*Provider)(nil)

// New returns a local provider. A KillGrace of zero or less means DefaultKillGrace. Invalid options
// (see Options.Validate) make every Create fail with the reason.
func New(opts Options) *Provider {
	p := &Provider{
		extraPath: cleanAll(opts.ExtraPath),
		readOnly:  cleanAll(opts.ReadOnly),
		hide:      cleanAll(opts.Hide),
		uid:       opts.SandboxUID,
		bwrap:     opts.Bwrap,
		init:      opts.Init,
		killGrace: opts.KillGrace,
		logger:    opts.Logger,
		invalid:   opts.Validate(),
		staged:    map[string]string{},
	}
	if p.killGrace <= 0 {
		p.killGrace = DefaultKillGrace
	}
	if p.uid <= 0 {
		p.uid = DefaultSandboxUID
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	return p
}

func cleanAll(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		out = append(out, filepath.Clean(p))
	}
	return out
}

// Name returns "local".
func (p *Provider) Name() string { return Name }

// Create checks spec, makes {TaskDir}/home (with the XDG folders inside), {TaskDir}/tmp and
// {TaskDir}/.sandbox (the sandbox's accounts and proxy socket), hands home, tmp and the workspace
// to the sandbox's user, and, for a secured policy, starts the task's egress proxy. It fails with
// an EUNAVAILABLE error naming what is missing when bubblewrap, or for a secured policy Landlock,
// cannot be used. home, tmp and .sandbox left over from an earlier sandbox on the same TaskDir
// are removed first: they belong to this provider. The workspace must not contain, or lie inside,
// any of them.
func (p *Provider) Create(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	if p.invalid != nil {
		return nil, p.invalid
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	bwrap, err := p.findBwrap()
	if err != nil {
		return nil, err
	}
	if err := p.probe(bwrap); err != nil {
		return nil, err
	}
	if spec.Policy.Enabled {
		if _, err := confine.Available(); err != nil {
			return nil, sesame.Errorf(sesame.EUNAVAILABLE, "sandbox security is on but this host cannot confine the agent: %v", err)
		}
	}
	spec.TaskDir = filepath.Clean(spec.TaskDir)
	spec.Workspace = filepath.Clean(spec.Workspace)
	spec.ReadOnly = cleanAll(spec.ReadOnly)
	if err := isDir(spec.TaskDir); err != nil {
		return nil, fmt.Errorf("create sandbox: task dir: %w", err)
	}
	if err := isDir(spec.Workspace); err != nil {
		return nil, fmt.Errorf("create sandbox: workspace: %w", err)
	}
	realWorkspace, err := filepath.EvalSymlinks(spec.Workspace)
	if err != nil {
		return nil, fmt.Errorf("create sandbox: workspace: %w", err)
	}
	realTaskDir, err := filepath.EvalSymlinks(spec.TaskDir)
	if err != nil {
		return nil, fmt.Errorf("create sandbox: task dir: %w", err)
	}

	s := &Sandbox{
		provider:      p,
		spec:          spec,
		realWorkspace: realWorkspace,
		home:          filepath.Join(spec.TaskDir, "home"),
		tmp:           filepath.Join(spec.TaskDir, "tmp"),
		own:           filepath.Join(spec.TaskDir, ".sandbox"),
		bwrap:         bwrap,
		runs:          make(map[*run]struct{}),
	}
	// Destroy removes home, tmp and .sandbox: they must never be, hold or sit inside the
	// workspace, seen through symlinks or not.
	for _, name := range []string{"home", "tmp", ".sandbox"} {
		if overlaps(filepath.Join(spec.TaskDir, name), spec.Workspace) ||
			overlaps(filepath.Join(realTaskDir, name), realWorkspace) {
			return nil, sesame.Errorf(sesame.EINVALID, "sandbox workspace %s overlaps the sandbox's own folder %s",
				spec.Workspace, filepath.Join(spec.TaskDir, name))
		}
	}
	s.spec.Env = maps.Clone(spec.Env)

	if err := s.removeDirs(); err != nil {
		return nil, fmt.Errorf("create sandbox: remove leftovers: %w", err)
	}
	if err := s.prepare(); err != nil {
		_ = s.removeDirs()
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	return s, nil
}

// prepare makes the sandbox's folders, gives them and the workspace to its user, and builds the
// jail every Exec runs in.
func (s *Sandbox) prepare() error {
	p := s.provider
	uid, gid, drop := p.sandboxUser()
	dirs := []string{s.home, s.tmp}
	for _, sub := range xdgDirs {
		dirs = append(dirs, filepath.Join(s.home, sub.path))
	}
	for _, dir := range append(dirs, s.own) {
		// MkdirAll for the nested XDG folders; each level is created 0700 (the umask can only
		// narrow it), and Chmod pins it in case the umask had removed owner bits.
		err := os.MkdirAll(dir, 0o700)
		if err == nil {
			err = os.Chmod(dir, 0o700)
		}
		if err != nil {
			return err
		}
	}
	base := filepath.Dir(s.spec.TaskDir)
	if drop {
		for _, tree := range []string{s.home, s.tmp, sandbox.HandedOver(s.spec.Workspace, uid, gid)} {
			if err := sandbox.ChownTree(tree, uid, gid); err != nil {
				return fmt.Errorf("hand %s to the sandbox's user: %w", tree, err)
			}
		}
		// .sandbox stays Sesame's: the sandbox may pass through it, not write in it.
		if err := errors.Join(os.Chown(s.own, 0, gid), os.Chmod(s.own, 0o710)); err != nil {
			return err
		}
	}
	binds := append(append(slices.Clone(p.extraPath), p.readOnly...), s.spec.ReadOnly...)
	rw := []string{s.spec.Workspace, s.home, s.tmp}
	for _, path := range append(append(slices.Clone(binds), rw...), s.own) {
		if err := traversable(path, base, uid, gid, drop); err != nil {
			return err
		}
	}
	passwd, group, err := writeAccounts(s.own, s.home, uid, gid)
	if err != nil {
		return err
	}
	j := jail{
		secure:    s.spec.Policy.Enabled,
		system:    systemPaths(),
		readOnly:  binds,
		readWrite: rw,
		files:     [][2]string{{"/etc/passwd", passwd}, {"/etc/group", group}},
	}
	var bound []string
	for _, sp := range j.system {
		if sp.symlink == "" {
			bound = append(bound, sp.path)
		}
	}
	bound = append(append(bound, binds...), rw...)
	j.hide = hidden(bound, binds, p.hide)
	s.visible = bound
	if j.secure {
		p.denials.watch(p.logger.Warn)
		if j.init, err = p.stagedInit(base, gid, drop); err != nil {
			return err
		}
		j.proxySocket = filepath.Join(s.own, "proxy.sock")
		if s.proxy, err = startProxy(j.proxySocket, s.spec, p.logger); err != nil {
			return err
		}
		if s.spec.PreviewSocket != "" {
			if err := sandbox.IsSocket(s.spec.PreviewSocket); err != nil {
				return err
			}
			j.previewSocket = s.spec.PreviewSocket
		}
	}
	s.jail = j
	return nil
}

// Warm prepares, ahead of the first secured task, what every secured sandbox under base
// (TASK_DIR_BASE) shares: the copy of the init binary, and the reader of Landlock's denials.
func (p *Provider) Warm(base string) error {
	uid, gid, drop := p.sandboxUser()
	if err := os.MkdirAll(base, 0o700); err != nil {
		return err
	}
	if err := traversable(base, base, uid, gid, drop); err != nil {
		return err
	}
	p.denials.watch(p.logger.Warn)
	_, err := p.stagedInit(base, gid, drop)
	return err
}

// stagedInit returns a copy of the init binary that the sandbox's user can run, in base/.sesame-init.
func (p *Provider) stagedInit(base string, gid int, drop bool) (string, error) {
	p.initMu.Lock()
	defer p.initMu.Unlock()
	if path, ok := p.staged[base]; ok {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	src := p.init
	if src == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("sandbox init: %w", err)
		}
		src = exe
	}
	dir := filepath.Join(base, ".sesame-init")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", fmt.Errorf("sandbox init: %w", err)
	}
	if drop {
		if err := errors.Join(os.Chown(dir, 0, gid), os.Chmod(dir, 0o710)); err != nil {
			return "", fmt.Errorf("sandbox init: %w", err)
		}
	}
	path, err := stageInit(src, dir)
	if err != nil {
		return "", err
	}
	// Copies of earlier builds: a running sandbox keeps its own open, so removing them is safe.
	if old, _ := filepath.Glob(filepath.Join(dir, "sesame-init-*")); len(old) > 1 {
		for _, o := range old {
			if o != path {
				os.Remove(o)
			}
		}
	}
	p.staged[base] = path
	return path, nil
}

// xdgDirs are the XDG base directories made inside the per-task HOME.
var xdgDirs = []struct{ env, path string }{
	{"XDG_CONFIG_HOME", ".config"},
	{"XDG_CACHE_HOME", ".cache"},
	{"XDG_DATA_HOME", ".local/share"},
	{"XDG_STATE_HOME", ".local/state"},
	{"XDG_RUNTIME_DIR", ".run"},
}

func isDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &fs.PathError{Op: "stat", Path: path, Err: errors.New("not a directory")}
	}
	return nil
}

// overlaps reports whether a is b, or one contains the other, lexically.
func overlaps(a, b string) bool {
	return within(a, b) || within(b, a)
}

// within reports whether path is root or lies inside it, lexically (both clean and absolute).
func within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && filepath.IsLocal(rel)
}
