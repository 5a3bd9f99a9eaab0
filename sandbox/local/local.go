// Package local is the "local" sandbox provider (SANDBOX_PROVIDER=local, the default): it runs a
// task's processes directly on the host, as the Sesame user, in the task's workspace.
//
// What it isolates on its own:
//   - environment: an allowlist, never the host's environment (see [Options.ExtraPath]);
//   - state: a per-task HOME, XDG_* folders and TMPDIR inside the task directory;
//   - lifetime: every Exec runs in a new session (so a new process group) with SIGKILL as its
//     parent-death signal; cancelling it, its own exit, or Destroy kills the whole session.
//
// What it does not isolate yet: the filesystem and the network. OS-level restrictions
// (bubblewrap, Landlock, seccomp, a filtering proxy) plug in through [Options.Wrap]. Without them
// this provider is for trusted repositories only.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
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
	// The host's PATH is never used.
	ExtraPath []string

	// KillGrace is the time between SIGTERM and SIGKILL when an Exec is stopped; zero means
	// DefaultKillGrace.
	KillGrace time.Duration

	// Wrap, when set, is the hook for OS-level restrictions. Exec calls it for every command after
	// building the *exec.Cmd (absolute Path, Args, Dir, the allowlisted Env, SysProcAttr with
	// Setsid and Pdeathsig) and before starting it; it may rewrite Path and Args (to run the
	// command under bubblewrap, say), Env, ExtraFiles and SysProcAttr's other fields, using
	// spec.Policy to decide. It must keep SysProcAttr.Setsid and Pdeathsig (Exec refuses to
	// start otherwise) and must not touch Stdin, Stdout, Stderr, Cancel or WaitDelay (Exec sets
	// them after the hook). The process it starts becomes the session leader Exec kills; if it
	// moves the real command out of that session (bubblewrap --new-session), it must make the
	// command die with it (--die-with-parent and --unshare-pid). An error stops the Exec before
	// anything starts. Nil runs commands unwrapped.
	Wrap func(cmd *exec.Cmd, spec sandbox.Spec) error
}

// Validate reports options New cannot honour: an ExtraPath entry that is relative or holds ':'.
// Wiring may call it at start to fail early; otherwise the provider's Create reports it.
func (o Options) Validate() error {
	for _, dir := range o.ExtraPath {
		if !filepath.IsAbs(dir) || strings.ContainsAny(dir, ":\x00") {
			return fmt.Errorf("local sandbox: extra PATH entry %q must be an absolute path without ':'", dir)
		}
	}
	return nil
}

// Provider is the local sandbox provider. It is safe for concurrent use.
type Provider struct {
	extraPath []string
	killGrace time.Duration
	wrap      func(*exec.Cmd, sandbox.Spec) error
	invalid   error // from Options.Validate; every Create returns it
}

var _ sandbox.Provider = (*Provider)(nil)

// New returns a local provider. A KillGrace of zero or less means DefaultKillGrace. Invalid options
// (see Options.Validate) make every Create fail with the reason.
func New(opts Options) *Provider {
	p := &Provider{
		extraPath: slices.Clone(opts.ExtraPath),
		killGrace: opts.KillGrace,
		wrap:      opts.Wrap,
		invalid:   opts.Validate(),
	}
	if p.killGrace <= 0 {
		p.killGrace = DefaultKillGrace
	}
	return p
}

// Name returns "local".
func (p *Provider) Name() string { return Name }

// Create checks spec, makes {TaskDir}/home (with the XDG folders inside) and {TaskDir}/tmp, each
// 0700, and returns the sandbox. home and tmp left over from an earlier sandbox on the same
// TaskDir are removed first: they belong to this provider. The workspace must not contain, or lie
// inside, either of them.
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
	spec.TaskDir = filepath.Clean(spec.TaskDir)
	spec.Workspace = filepath.Clean(spec.Workspace)
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
		runs:          make(map[*run]struct{}),
	}
	// Destroy removes home and tmp: they must never be, hold or sit inside the workspace, seen
	// through symlinks or not.
	for _, name := range []string{"home", "tmp"} {
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
	dirs := []string{s.home, s.tmp}
	for _, sub := range xdgDirs {
		dirs = append(dirs, filepath.Join(s.home, sub.path))
	}
	for _, dir := range dirs {
		// MkdirAll for the nested XDG folders; each level is created 0700 (the umask can only
		// narrow it), and Chmod pins it in case the umask had removed owner bits.
		if err := os.MkdirAll(dir, 0o700); err == nil {
			err = os.Chmod(dir, 0o700)
		}
		if err != nil {
			_ = s.removeDirs()
			return nil, fmt.Errorf("create sandbox: %w", err)
		}
	}
	return s, nil
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
