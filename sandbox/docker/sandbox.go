package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/egress"
)

// outputGrace bounds the wait for the end of an exec's output once it was killed.
const outputGrace = 2 * time.Second

// Sandbox is one task's container. It is safe for concurrent use.
type Sandbox struct {
	provider      *Provider
	spec          sandbox.Spec
	realWorkspace string
	own           string // {TaskDir}/.docker-sandbox
	id            string // the container
	proxy         *egress.Proxy

	mu        sync.Mutex
	destroyed bool
	runs      map[*run]struct{}

	removeMu sync.Mutex
	removed  bool
}

var _ sandbox.Sandbox = (*Sandbox)(nil)

// run is one Exec in flight, as Destroy sees it.
type run struct {
	stop func(error)
	done chan struct{}
}

// ContainerID is the container's id on the engine.
func (s *Sandbox) ContainerID() string { return s.id }

// Workspace returns the workspace path: the container sees it at the host's path.
func (s *Sandbox) Workspace() string { return s.spec.Workspace }

// Exec runs req.Argv in the container under the init binary's exec stage; see sandbox.Sandbox for
// the contract. A program that cannot be found exits 127 with a message on stderr, as a shell's.
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
	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r := &run{stop: stop, done: make(chan struct{})}
	if err := s.register(r); err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, err)
	}
	defer s.unregister(r)

	p := s.provider
	id := randomID()
	cmd := []string{initPath, execArg, "-id", id, "-grace", p.opts.KillGrace.String()}
	if s.spec.Policy.Enabled {
		cmd = append(cmd, "-seccomp")
	}
	cmd = append(append(cmd, "--"), req.Argv...)
	// The engine calls are not bound to ctx: stopping is done by signalling the exec's session,
	// and the connection is closed once it is gone.
	ectx := context.WithoutCancel(ctx)
	created, err := p.cli.ContainerExecCreate(ectx, s.id, container.ExecOptions{
		User:         p.opts.User,
		Env:          execEnv(p.opts.Home, dir, s.spec.Env, req.Env, s.proxy != nil),
		WorkingDir:   dir,
		Cmd:          cmd,
		AttachStdin:  req.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, s.stopped(ctx, rctx, err))
	}
	hj, err := p.cli.ContainerExecAttach(ectx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, s.stopped(ctx, rctx, err))
	}
	defer hj.Close()
	if req.Stdin != nil {
		go func() {
			_, _ = io.Copy(hj.Conn, req.Stdin)
			_ = hj.CloseWrite()
		}()
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(sink(req.Stdout), sink(req.Stderr), hj.Reader)
	}()

	select {
	case <-copied:
	case <-rctx.Done():
		if !errors.Is(context.Cause(rctx), sandbox.ErrDestroyed) {
			s.signal(id, "term")
			select {
			case <-copied:
			case <-time.After(p.opts.KillGrace):
				s.signal(id, "kill")
			}
		}
		select {
		case <-copied:
		case <-time.After(outputGrace):
			hj.Close()
			<-copied
		}
		return -1, fmt.Errorf("exec %s: %w", name, s.stopped(ctx, rctx, nil))
	}
	code, err := s.exitCode(ectx, created.ID)
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", name, s.stopped(ctx, rctx, err))
	}
	if rctx.Err() != nil {
		return -1, fmt.Errorf("exec %s: %w", name, s.stopped(ctx, rctx, nil))
	}
	return code, nil
}

// exitCode waits for the engine to record the exec's end and returns its exit code.
func (s *Sandbox) exitCode(ctx context.Context, execID string) (int, error) {
	for range 200 {
		ins, err := s.provider.cli.ContainerExecInspect(ctx, execID)
		if err != nil {
			return -1, err
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return -1, errors.New("the engine still reports the exec running after its output ended")
}

// signal runs the init's signal stage to stop the exec with the given id ("term" or "kill").
func (s *Sandbox) signal(id, which string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli := s.provider.cli
	created, err := cli.ContainerExecCreate(ctx, s.id, container.ExecOptions{
		User: s.provider.opts.User,
		Cmd:  []string{initPath, signalArg, id, which},
	})
	if err == nil {
		err = cli.ContainerExecStart(ctx, created.ID, container.ExecStartOptions{Detach: true})
	}
	if err != nil {
		s.provider.opts.Logger.Warn("stop an exec", "task_id", s.spec.TaskID, "err", err)
	}
}

// stopped returns why the Exec's context ended (the caller's ctx, or Destroy), else err.
func (s *Sandbox) stopped(ctx, rctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if cause := context.Cause(rctx); cause != nil {
		return cause
	}
	if err != nil && s.isDestroyed() {
		return fmt.Errorf("%w: %w", sandbox.ErrDestroyed, err)
	}
	return err
}

// workDir resolves dir under the workspace, refusing one that leaves it, through symlinks too.
func (s *Sandbox) workDir(dir string) (string, error) {
	joined, err := sandbox.WorkDir(s.spec.Workspace, dir)
	if err != nil || joined == s.spec.Workspace {
		return joined, err
	}
	real, err := filepath.EvalSymlinks(joined)
	if err != nil {
		return "", sesame.Errorf(sesame.EINVALID, "working directory %q: %v", dir, err)
	}
	rel, err := filepath.Rel(s.realWorkspace, real)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", sesame.Errorf(sesame.EINVALID, "working directory %q is not inside the workspace", dir)
	}
	return filepath.Join(s.spec.Workspace, rel), nil
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

func (s *Sandbox) isDestroyed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.destroyed
}

// Destroy stops every Exec, removes the container (and with it every process) and the task's
// proxy. It never touches the workspace. It is idempotent.
func (s *Sandbox) Destroy(ctx context.Context) error {
	s.mu.Lock()
	s.destroyed = true
	var waits []chan struct{}
	for r := range s.runs {
		r.stop(sandbox.ErrDestroyed)
		waits = append(waits, r.done)
	}
	s.mu.Unlock()

	s.removeMu.Lock()
	defer s.removeMu.Unlock()
	if !s.removed {
		if err := s.cleanup(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("destroy sandbox: %w", ctx.Err())
			}
			return fmt.Errorf("destroy sandbox: %w", err)
		}
		s.removed = true
	}
	for _, done := range waits {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("destroy sandbox: %w", ctx.Err())
		}
	}
	return nil
}

// sink wraps a writer so that a Write error discards the rest of that stream without stopping the
// other; nil discards.
func sink(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &failSafe{w: w}
}

type failSafe struct {
	w      io.Writer
	failed bool
}

func (f *failSafe) Write(b []byte) (int, error) {
	if !f.failed {
		if _, err := f.w.Write(b); err != nil {
			f.failed = true
		}
	}
	return len(b), nil
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
