//go:build linux && (amd64 || arm64)

package confine

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// loadSeccomp installs prog as a seccomp filter on every thread of the process
// (SECCOMP_FILTER_FLAG_TSYNC), setting no_new_privs first as an unprivileged filter requires. The
// filter is inherited by every child and kept across execve; it cannot be removed.
func loadSeccomp(prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("seccomp: assemble: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}

	// no_new_privs is per thread: set it on the thread that makes the seccomp call (TSYNC then sets
	// it on the threads it synchronises).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	if r != 0 {
		// With TSYNC a positive result is the id of a thread that could not take the filter.
		return fmt.Errorf("seccomp: thread %d could not be synchronised to the filter", r)
	}
	return nil
}

// seccompAvailable reports whether this kernel takes seccomp filters with the actions the policy
// returns.
func seccompAvailable() error {
	for _, action := range []uint32{retKill, unix.SECCOMP_RET_ERRNO} {
		a := action
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&a)))
		switch {
		case errno == 0:
		case errors.Is(errno, unix.ENOSYS), errors.Is(errno, unix.EINVAL):
			return fmt.Errorf("seccomp filters are not supported by this kernel (CONFIG_SECCOMP_FILTER): %w", errno)
		case errors.Is(errno, unix.EOPNOTSUPP):
			return fmt.Errorf("seccomp action %#x is not supported by this kernel: %w", action, errno)
		default:
			return fmt.Errorf("seccomp(SECCOMP_GET_ACTION_AVAIL): %w", errno)
		}
	}
	return nil
}
