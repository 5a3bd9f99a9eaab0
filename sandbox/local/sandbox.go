package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
)

const (
	// outputGrace bounds the wait for EOF on the output pipes once every process of an Exec's
	// session is gone; only a process that left the session (setsid) can hold them longer.
	outputGrace = time.Second
	// killWait bounds how long Exec keeps sending SIGKILL to a session that does not die (a process
	// in uninterruptible sleep); Destroy tries once more.
	killWait = 2 * time.Second
	// pollInterval is how often a dying session is checked.
	pollInterval = 10 * time.Millisecond
)

// Sandbox is a local sandbox: processes on the host, running in the workspace with a per-task HOME
// and TMPDIR. It is safe for concurrent use.
type Sandbox struct {
	provider      *Provider
	spec          sandbox.Spec
	realWorkspace string // spec.Workspace with symlinks resolved, for Dir checks
	home, tmp     string
	own           string   // {TaskDir}/.sandbox: accounts files and the proxy socket, Sesame's
	bwrap         string   // bubblewrap's path
	jail          jail     // what every Exec's bubblewrap command line is built from
	visible       []string // host trees the sandbox sees; a program must lie in one
	proxy         io.Closer

	mu         sync.Mutex
	destroyed  bool
	runs       map[*run]struct{}
	stragglers []int // sessions that survived Exec's kill; Destroy tries again

	removeMu sync.Mutex // serialises Destroy's cleanup
}

var _ sandbox.Sandbox = (*Sandbox)(nil)

// run is one Exec in flight, as Destroy sees it.
type run struct {
	stop func(error) // cancels the Exec's context with a cause
	done chan struct{}

	mu       sync.Mutex
	cancelAt time.Time // when the process was first signalled to stop; zero if never
}

// Workspace returns the workspace path; processes see the host's paths.
func (s *Sandbox) Workspace() string { return s.spec.Workspace }

// Home returns the per-task HOME ({TaskDir}/home).
func (s *Sandbox) Home() string { return s.home }

// Exec runs req.Argv on the host as the leader of a new session; see sandbox.Sandbox for the
// contract. Stopping sends SIGTERM to the session, then SIGKILL after Options.KillGrace.
func (s *Sandbox) Exec(ctx context.Context, req sandbox.ExecRequest) (int, error) {
	if len(req.Argv) == 0 || req.Argv[0] == "" {
		return -1, sesame.Errorf(sesame.EINVALID, "exec: no command")
	}
	name := req.Argv[0]
	if err := sandbox.ValidateEnv(req.Env); err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}
	dir, err := s.workDir(req.Dir)
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}
	env := environ(s.provider.extraPath, dirs{home: s.home, tmp: s.tmp, work: dir}, s.spec.Env, req.Env)
	if s.jail.secure {
		env = withProxy(env)
	}
	path, err := lookPath(name, getenv(env, "PATH"), dir)
	if err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	if err := s.canSee(path); err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}

	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r := &run{stop: stop, done: make(chan struct{})}
	if err := s.register(r); err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}
	defer s.unregister(r)

	// bubblewrap is the session leader Exec kills; the command runs in the sandbox's PID
	// namespace, which dies with it (--die-with-parent, --unshare-pid).
	j := s.jail
	j.dir = dir
	argv := append([]string{path}, req.Argv[1:]...)
	cmd := exec.CommandContext(rctx, s.bwrap, j.args(argv, j.landlockRules())...)
	cmd.Args[0] = "bwrap"
	cmd.Dir = "/"
	cmd.Env = env
	cmd.SysProcAttr = sysProcAttr()
	if uid, gid, drop := s.provider.sandboxUser(); drop {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	if err := checkSysProcAttr(cmd.SysProcAttr); err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}

	out, err := newOutput(req.Stdout, req.Stderr)
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}
	in, stdin, err := newInput(req.Stdin)
	if err != nil {
		out.closeAll()
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if out.stdout != nil {
		cmd.Stdout = out.stdout
	}
	if out.stderr != nil {
		cmd.Stderr = out.stderr
	}
	grace := s.provider.killGrace
	// On cancel: SIGTERM to the whole session now; os/exec SIGKILLs the leader after WaitDelay, and
	// s.terminate SIGKILLs whatever else is left at the same deadline.
	cmd.Cancel = func() error {
		r.markCancel()
		signalSession(cmd.Process.Pid, syscall.SIGTERM)
		return nil
	}
	cmd.WaitDelay = grace

	if err := cmd.Start(); err != nil {
		in.close()
		out.closeAll()
		if cerr := s.stopped(ctx, rctx); cerr != nil {
			return -1, fmt.Errorf("exec %s: %w", name, cerr)
		}
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}
	in.started()
	out.started()
	sid := cmd.Process.Pid
	if j.secure {
		s.provider.denials.add(sid, s)
	}

	werr := cmd.Wait()
	// The leader is gone: stop what it left behind, then collect the rest of the output.
	deadline := time.Now().Add(grace)
	if at := r.cancelled(); !at.IsZero() {
		deadline = at.Add(grace)
	}
	if !s.terminate(sid, deadline) {
		s.mu.Lock()
		s.stragglers = append(s.stragglers, sid)
		s.mu.Unlock()
	}
	in.close()
	out.wait(outputGrace)

	if !r.cancelled().IsZero() {
		return -1, fmt.Errorf("exec %s: %w", name, s.stopped(ctx, rctx))
	}
	state := cmd.ProcessState
	switch {
	case state == nil:
		return -1, fmt.Errorf("exec %s: %w", name, werr)
	case state.Exited():
		return state.ExitCode(), nil
	default:
		if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, fmt.Errorf("exec %s: killed by signal %s", name, ws.Signal())
		}
		return -1, fmt.Errorf("exec %s: %s", name, state)
	}
}

// stopped returns why the Exec's context ended: the caller's ctx (its error, with its cause when
// that differs) or Destroy (ErrDestroyed); nil if it has not ended.
func (s *Sandbox) stopped(ctx, rctx context.Context) error {
	if err := ctx.Err(); err != nil {
		if cause := context.Cause(ctx); cause != nil && cause != err {
			return fmt.Errorf("%w: %w", err, cause)
		}
		return err
	}
	if rctx.Err() != nil {
		return context.Cause(rctx)
	}
	return nil
}

func (r *run) markCancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancelAt.IsZero() {
		r.cancelAt = time.Now()
	}
}

func (r *run) cancelled() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cancelAt
}

// terminate makes sure no process of session sid is left: SIGTERM, SIGKILL once deadline passes,
// until none is alive or killWait after the SIGKILL. It reports whether the session is gone.
func (s *Sandbox) terminate(sid int, deadline time.Time) bool {
	if !sessionAlive(sid) {
		return true
	}
	signalSession(sid, syscall.SIGTERM)
	for time.Now().Before(deadline) {
		time.Sleep(min(pollInterval, time.Until(deadline)))
		if !sessionAlive(sid) {
			return true
		}
	}
	for end := time.Now().Add(killWait); time.Now().Before(end); {
		signalSession(sid, syscall.SIGKILL)
		time.Sleep(pollInterval)
		if !sessionAlive(sid) {
			return true
		}
	}
	return false
}

// workDir resolves an ExecRequest.Dir to a directory inside the workspace, following symlinks to
// check where it really is.
func (s *Sandbox) workDir(dir string) (string, error) {
	path, err := sandbox.WorkDir(s.spec.Workspace, dir)
	if err != nil || path == s.spec.Workspace {
		return path, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", sesame.Errorf(sesame.EINVALID, "working directory %q does not exist in the workspace", dir)
	}
	if !within(real, s.realWorkspace) {
		return "", sesame.Errorf(sesame.EINVALID, "working directory %q is not inside the workspace", dir)
	}
	if err := isDir(real); err != nil {
		return "", sesame.Errorf(sesame.EINVALID, "working directory %q is not a directory", dir)
	}
	return path, nil
}

func (s *Sandbox) register(r *run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed {
		return sandbox.ErrDestroyed
	}
	s.runs[r] = struct{}{}
	return nil
}

func (s *Sandbox) unregister(r *run) {
	s.mu.Lock()
	delete(s.runs, r)
	s.mu.Unlock()
	close(r.done)
}

// Destroy stops every Exec in flight (each kills its whole session: SIGTERM, then SIGKILL after
// the grace), waits for them to return, and removes {TaskDir}/home and {TaskDir}/tmp. The
// workspace and the task directory are left to the runner. See sandbox.Sandbox.
func (s *Sandbox) Destroy(ctx context.Context) error {
	s.mu.Lock()
	s.destroyed = true
	runs := make([]*run, 0, len(s.runs))
	for r := range s.runs {
		runs = append(runs, r)
	}
	s.mu.Unlock()

	for _, r := range runs {
		r.stop(sandbox.ErrDestroyed)
	}
	for _, r := range runs {
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("destroy sandbox %s: %w", s.spec.TaskID, ctx.Err())
		}
	}

	s.removeMu.Lock()
	defer s.removeMu.Unlock()
	s.mu.Lock()
	stragglers := s.stragglers
	s.stragglers = nil
	s.mu.Unlock()
	for _, sid := range stragglers {
		if sessionAlive(sid) {
			signalSession(sid, syscall.SIGKILL)
		}
	}
	if s.proxy != nil {
		_ = s.proxy.Close()
	}
	s.provider.denials.forget(s)
	if err := s.removeDirs(); err != nil {
		return fmt.Errorf("destroy sandbox %s: %w", s.spec.TaskID, err)
	}
	return nil
}

// canSee checks that path (a program found on the host) lies in a tree the sandbox sees, so that
// a program the sandbox cannot run fails here with its name rather than inside bubblewrap.
func (s *Sandbox) canSee(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	for _, tree := range s.visible {
		rt, err := filepath.EvalSymlinks(tree)
		if err == nil && within(real, rt) {
			return nil
		}
	}
	return sesame.Errorf(sesame.EINVALID, "%s is outside the folders the sandbox sees (system folders, the workspace and the read-only folders configured for agents)", path)
}

// removeDirs removes home and tmp (not an error if they are already gone).
func (s *Sandbox) removeDirs() error {
	return errors.Join(removeAll(s.home), removeAll(s.tmp), removeAll(s.own))
}

// removeAll is os.RemoveAll that also copes with read-only directories inside path (Go's module
// cache makes them): on failure it makes every directory writable and tries again.
func removeAll(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}
