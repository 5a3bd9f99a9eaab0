//go:build linux && (amd64 || arm64)

package confine

import (
	"errors"
	"fmt"

	llsyscall "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Apply confines the calling process, every thread of it and whatever it later executes, for good:
// it sets no_new_privs, enforces a Landlock ruleset that handles every file-system access right the
// running kernel knows (granting r and nothing else; denials logged to the audit log also after
// execve, ABI 7+), then loads the seccomp filter. It never confines more weakly than asked: without
// Landlock or seccomp it returns an error and changes nothing; an error after Landlock was enforced
// (seccomp failing) leaves the process half confined, and the caller must exit rather than run the
// agent.
//
// Apply does not restrict the network (TCP bind/connect are left out of the Landlock ruleset) and
// sets no Landlock IPC scopes. But after it the process can no longer create AF_UNIX sockets: a
// relay that must reach a unix socket (the egress proxy's) has to open it before Apply, or run as
// a process of its own that is not confined.
//
// Before Landlock ABI 8 each thread of the process gets a domain of its own (same rules, another
// id in the audit log); the agent, executed by one thread, and all its children share one.
func Apply(r Rules) error {
	abi, err := Available()
	if err != nil {
		return err
	}
	prog, err := assemble(nativeArch(), policy())
	if err != nil {
		return err
	}
	if err := restrictFS(abi, r); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	if err := loadSeccomp(prog); err != nil {
		return err
	}
	return nil
}

// ApplySeccomp loads only the seccomp filter (see policy) on every thread of the calling process,
// setting no_new_privs first; the process and whatever it starts keep it for good. It is for a
// process whose files another wall already confines: a container's command, behind its read-only
// root and its mounts, where Landlock would add little and the engine's own seccomp profile may be
// wider than this one (Podman's lets a process make user namespaces).
func ApplySeccomp() error {
	if err := seccompAvailable(); err != nil {
		return err
	}
	prog, err := assemble(nativeArch(), policy())
	if err != nil {
		return err
	}
	return loadSeccomp(prog)
}

// Available reports the Landlock ABI version of the running kernel and whether Apply can work here:
// a nil error means Landlock and seccomp filters are both usable; otherwise the error says why not.
// ABI 7 or later is needed for denials to reach the audit log after execve; older ABIs still confine.
func Available() (abi int, err error) {
	abi, err = llsyscall.LandlockGetABIVersion()
	switch {
	case errors.Is(err, unix.ENOSYS):
		return 0, fmt.Errorf("landlock is not built into this kernel (CONFIG_SECURITY_LANDLOCK): %w", err)
	case errors.Is(err, unix.EOPNOTSUPP):
		return 0, fmt.Errorf("landlock is built into this kernel but not enabled (add landlock to the lsm= boot parameter): %w", err)
	case err != nil:
		return 0, fmt.Errorf("landlock_create_ruleset(LANDLOCK_CREATE_RULESET_VERSION): %w", err)
	case abi < 1:
		return abi, fmt.Errorf("landlock reports ABI version %d", abi)
	}
	// Build (and drop) the ruleset Apply would enforce, so that what go-landlock makes of this
	// kernel is checked too.
	fd, _, err := fsConfig(abi).NewRulesetFD()
	if err != nil {
		return abi, fmt.Errorf("landlock ABI %d: %w", abi, err)
	}
	if fd < 0 {
		return abi, fmt.Errorf("landlock ABI %d: go-landlock found nothing to enforce", abi)
	}
	unix.Close(fd)
	if err := seccompAvailable(); err != nil {
		return abi, err
	}
	return abi, nil
}
