// Package sandbox declares the contract between the runner and the places an agent runs in (the
// host with OS-level restrictions, a container, later a cloud VM): the Provider and Sandbox
// interfaces and the security Policy a task runs with. Each provider lives in a sub-package
// (sandbox/local, sandbox/docker, ...) and is chosen by SANDBOX_PROVIDER; only cmd/sesame knows the
// concrete types.
//
// # Ownership
//
// The runner owns the task directory ({TASK_DIR_BASE}/{taskId}) and the workspace inside it (the
// git checkout): it creates both before [Provider.Create] and removes the task directory after
// [Sandbox.Destroy] unless the task is kept alive. A provider owns only what it creates itself (for
// the local provider the home and tmp folders inside the task directory; for a container provider
// the container) and removes exactly that in Destroy. No provider ever deletes the workspace.
//
// # Secrets
//
// Nothing of the host's environment reaches a sandboxed process. A process sees a fixed,
// provider-defined set of variables (PATH, HOME, locale and the like), then [Spec.Env], then
// [ExecRequest.Env], and nothing else. The runner puts only the agent's own model credential in
// Spec.Env; the GitHub installation token that pushes the branch stays in the runner and never
// enters a sandbox.
package sandbox

import (
	"context"
	"errors"
	"io"

	sesame "github.com/sesame-works/sesame"
)

// ErrDestroyed is wrapped by the error of an Exec that was started after Destroy, or whose process
// Destroy killed.
var ErrDestroyed = errors.New("sandbox destroyed")

// Policy is the security settings a task runs with: whether OS-level restrictions apply and which
// network destinations the agent may reach.
type Policy struct {
	// Enabled turns the OS-level restrictions on: file system confinement (Landlock), a seccomp
	// filter, and a network namespace whose only way out is the task's egress proxy. With it off a
	// provider still isolates processes, the environment and other tasks (see the provider's docs).
	Enabled bool
	// AllowedDomains are the host names the agent may reach through the proxy: its adapter's API
	// domains plus the admin's global allowed domains. "*.example.com" matches subdomains only, never
	// the apex; matching is case-insensitive. Anything else is denied.
	AllowedDomains []string
	// DeniedDomains win over AllowedDomains and Endpoints.
	DeniedDomains []string
	// Endpoints are "host:port" pairs an operator configured for the agent (ANTHROPIC_BASE_URL, a
	// gateway): each is allowed exactly as written, even on a loopback or private address. Nothing
	// else on that host is.
	Endpoints []string
}

// Spec describes the sandbox the runner asks a Provider for: one per task.
type Spec struct {
	// TaskID identifies the task; providers use it in names and labels.
	TaskID string
	// TaskDir is {TASK_DIR_BASE}/{taskId}, an absolute path to an existing directory owned by the
	// runner. A provider may create subfolders in it (the local provider makes home and tmp) and
	// removes them again in Destroy. Only one sandbox may use a TaskDir at a time.
	TaskDir string
	// Workspace is the checkout inside TaskDir, an absolute path to an existing directory. The
	// runner creates it before Create and owns it: a provider lets processes read and write it but
	// never removes it.
	Workspace string
	// ReadOnly are host paths the sandbox's processes may read, bound read-only at the same path:
	// the mirror's objects folder that the workspace borrows through its alternates file.
	ReadOnly []string
	// Env is extra environment for every process of the sandbox (the agent's own model credential,
	// its quiet/offline switches). It is the only way a secret enters a sandbox. Keys must be
	// non-empty and contain neither '=' nor NUL; values must not contain NUL.
	Env map[string]string
	// Policy is the security policy the task runs with.
	Policy Policy
	// PreviewSocket, when set, is the host path of the unix socket the task's preview gateway
	// listens on (see sandbox/preview). A provider that supports previews binds it into the sandbox
	// and runs preview.Serve next to the sandbox's processes, in their network namespace, so that
	// the servers they start on loopback ports can be reached from the host; the egress relay's
	// port is never offered. The local provider does this only when Policy.Enabled (without it the
	// agent shares the host's network, where Sesame cannot tell its ports from anyone else's); a
	// provider that does not support previews ignores it.
	PreviewSocket string
	// KeepAlive says the task is kept after it ends (the runner keeps its folder, with the
	// workspace). A provider that makes something outside the task folder (a container) keeps it
	// too, stopped, after Destroy has killed every process; the local provider keeps nothing of its
	// own. What is kept goes when the task's folder goes.
	KeepAlive bool
	// OnViolation, when set, is called for everything the sandbox refuses the task's processes (a
	// connection, a file access) as it happens, from any goroutine, possibly concurrently. It must
	// not block for long.
	OnViolation func(sesame.Violation)
}

// ExecRequest is one command to run in a sandbox.
type ExecRequest struct {
	// Argv is the program and its arguments; Argv[0] is looked up in the sandbox's PATH (not the
	// host's) unless it contains a slash. Required.
	Argv []string
	// Dir is the working directory relative to the workspace; "" means the workspace itself. An
	// absolute path, or one that leaves the workspace ("../..", or a symlink that points out of
	// it), is refused with an EINVALID error.
	Dir string
	// Env is added on top of Spec.Env (a key here wins). Same rules as Spec.Env.
	Env map[string]string
	// Stdin is the process's standard input; nil means empty (/dev/null). It is read until EOF or
	// until the process exits, whichever comes first; a Read still blocked when Exec returns is
	// abandoned, not waited for.
	Stdin io.Reader
	// Stdout and Stderr receive the process's output as it is produced; nil discards it. The
	// provider never calls them concurrently (one non-thread-safe sink may back both; passing the
	// same writer for both interleaves the two streams in order). They must not block
	// indefinitely: Exec waits for the last Write before it returns. A Write error discards the
	// rest of that stream; it does not stop the process.
	Stdout, Stderr io.Writer
}

// Provider makes sandboxes. Implementations are safe for concurrent use.
type Provider interface {
	// Name is the provider's SANDBOX_PROVIDER value ("local", "docker").
	Name() string

	// Create prepares a sandbox for spec and returns it ready for Exec. spec.TaskDir and
	// spec.Workspace must already exist. On error nothing is left behind to destroy. ctx bounds
	// the preparation only, not the sandbox's life. The caller must call Destroy on the returned
	// Sandbox when the task ends, whatever its outcome.
	Create(ctx context.Context, spec Spec) (Sandbox, error)
}

// Sandbox is a place where one task's processes run. All methods are safe for concurrent use.
type Sandbox interface {
	// Exec runs req.Argv in the sandbox and waits for it to finish.
	//
	// It returns the process's exit code with a nil error when the process ran to its end,
	// whatever the code; a non-zero code is not an error. It returns -1 and an error when the
	// process could not start (bad request, program not found, sandbox destroyed), when it was
	// killed by a signal, or when it was stopped because ctx ended or Destroy was called. (A provider
	// that runs the command under an init of its own, as the local one runs it under bubblewrap,
	// sees a command killed by signal N as exit code 128+N, as a shell does.)
	//
	// Every process req.Argv starts belongs to the Exec: when ctx is cancelled or its deadline
	// passes, the process and everything it started (its whole process group and session, or its
	// container exec) get SIGTERM and, after the provider's grace period, SIGKILL. Exec then
	// returns promptly (the wait for output pipes is bounded) with -1 and an error that wraps
	// ctx.Err(). When the process exits on its own, what it left running in the background is
	// killed the same way before Exec returns. Exec after Destroy returns an error wrapping
	// ErrDestroyed, and so does an Exec that Destroy interrupted.
	//
	// When Exec returns, every byte the process wrote to its stdout and stderr has been passed to
	// req.Stdout and req.Stderr, and no further Write will come.
	Exec(ctx context.Context, req ExecRequest) (exitCode int, err error)

	// Workspace is the workspace's path as processes inside the sandbox see it; the base for
	// ExecRequest.Dir and what an agent is told its project directory is.
	Workspace() string

	// Destroy kills every process still running in the sandbox, waits for the running Execs to
	// return, and removes what Create made. It never removes the workspace or the task directory
	// (the runner's). It is idempotent and safe to call concurrently with Exec and with itself; an
	// Exec that starts after it fails with ErrDestroyed. If ctx ends before the processes are gone
	// it returns an error wrapping ctx.Err() and the cleanup is not complete: call it again.
	Destroy(ctx context.Context) error
}
