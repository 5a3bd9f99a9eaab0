//go:build linux && (amd64 || arm64)

package confine

import (
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// A syscallRule makes one system call fail with Errno instead of running. Without Arg it applies to
// every call; with Arg only to calls whose argument matches.
type syscallRule struct {
	Name  string // the call's name, for errors and tests
	Nr    uint32 // its number on the native architecture
	Errno unix.Errno
	Arg   *argMatch
}

// argMatch selects calls by one argument. Only the argument's low 32 bits are compared: every
// argument this policy looks at is an int (socket's domain) or is truncated to 32 bits by the
// kernel (clone's flags), so the high half is whatever the caller left in the register and must not
// decide anything. (A filter that also compares the high half, as github.com/elastic/go-seccomp-bpf
// does, lets socket(AF_UNIX | 1<<32, ...) through.)
type argMatch struct {
	Index  int      // 0..5
	Equals []uint32 // the rule applies if the argument equals one of these ...
	AnyBit uint32   // ... or has any of these bits set
}

// cloneNewFlags are the clone(2) flags that create namespaces. CLONE_NEWTIME is left out on purpose:
// its value (0x80) lies in clone's exit-signal byte, and clone(2) cannot create a time namespace
// anyway (only clone3 and unshare can, and both are refused whole).
const cloneNewFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// policy is what the seccomp filter refuses an agent, on top of Landlock. Everything not listed is
// allowed. The groups:
//   - local sockets: socket(AF_UNIX) would reach host daemons through any socket file the mount
//     namespace shows (a container engine's API is root), AF_VSOCK reaches the hypervisor. Pairs from
//     socketpair(2) stay allowed: they connect nothing outside, and node/libuv needs them for a
//     child's stdio.
//   - kernel attack surface with a history of escapes and no use to a coding agent: io_uring, bpf,
//     perf_event_open, userfaultfd, keyrings.
//   - other processes: ptrace, process_vm_readv/writev, pidfd_getfd.
//   - namespaces and mounts: unshare, setns, clone with CLONE_NEW*, the old and the new mount API.
//   - clone3 fails with ENOSYS rather than EPERM: its flags live in memory a filter cannot read, so
//     it is refused whole, and ENOSYS makes glibc (pthread_create, posix_spawn) fall back to clone(2),
//     whose flags the filter does see.
//   - the machine itself: kexec, modules, acct, swap, reboot, quotas, and file handles
//     (open_by_handle_at, given CAP_DAC_READ_SEARCH, opens any inode of a file system past every
//     path-based check, Landlock's included).
func policy() []syscallRule {
	deny := func(name string, nr uintptr) syscallRule {
		return syscallRule{Name: name, Nr: uint32(nr), Errno: unix.EPERM}
	}
	rules := []syscallRule{
		{Name: "socket", Nr: unix.SYS_SOCKET, Errno: unix.EPERM,
			Arg: &argMatch{Index: 0, Equals: []uint32{unix.AF_UNIX, unix.AF_VSOCK}}},
		{Name: "clone", Nr: unix.SYS_CLONE, Errno: unix.EPERM,
			Arg: &argMatch{Index: 0, AnyBit: cloneNewFlags}},
		{Name: "clone3", Nr: unix.SYS_CLONE3, Errno: unix.ENOSYS},
	}
	return append(rules,
		deny("io_uring_setup", unix.SYS_IO_URING_SETUP),
		deny("io_uring_enter", unix.SYS_IO_URING_ENTER),
		deny("io_uring_register", unix.SYS_IO_URING_REGISTER),
		deny("ptrace", unix.SYS_PTRACE),
		deny("process_vm_readv", unix.SYS_PROCESS_VM_READV),
		deny("process_vm_writev", unix.SYS_PROCESS_VM_WRITEV),
		deny("pidfd_getfd", unix.SYS_PIDFD_GETFD),
		deny("mount", unix.SYS_MOUNT),
		deny("umount2", unix.SYS_UMOUNT2),
		deny("pivot_root", unix.SYS_PIVOT_ROOT),
		deny("move_mount", unix.SYS_MOVE_MOUNT),
		deny("open_tree", unix.SYS_OPEN_TREE),
		deny("open_tree_attr", unix.SYS_OPEN_TREE_ATTR),
		deny("fsopen", unix.SYS_FSOPEN),
		deny("fsconfig", unix.SYS_FSCONFIG),
		deny("fsmount", unix.SYS_FSMOUNT),
		deny("fspick", unix.SYS_FSPICK),
		deny("mount_setattr", unix.SYS_MOUNT_SETATTR),
		deny("unshare", unix.SYS_UNSHARE),
		deny("setns", unix.SYS_SETNS),
		deny("keyctl", unix.SYS_KEYCTL),
		deny("add_key", unix.SYS_ADD_KEY),
		deny("request_key", unix.SYS_REQUEST_KEY),
		deny("bpf", unix.SYS_BPF),
		deny("perf_event_open", unix.SYS_PERF_EVENT_OPEN),
		deny("userfaultfd", unix.SYS_USERFAULTFD),
		deny("kexec_load", unix.SYS_KEXEC_LOAD),
		deny("kexec_file_load", unix.SYS_KEXEC_FILE_LOAD),
		deny("init_module", unix.SYS_INIT_MODULE),
		deny("finit_module", unix.SYS_FINIT_MODULE),
		deny("delete_module", unix.SYS_DELETE_MODULE),
		deny("acct", unix.SYS_ACCT),
		deny("swapon", unix.SYS_SWAPON),
		deny("swapoff", unix.SYS_SWAPOFF),
		deny("reboot", unix.SYS_REBOOT),
		deny("quotactl", unix.SYS_QUOTACTL),
		deny("quotactl_fd", unix.SYS_QUOTACTL_FD),
		deny("name_to_handle_at", unix.SYS_NAME_TO_HANDLE_AT),
		deny("open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT),
	)
}

// arch is what the filter needs to know about the architecture it runs on.
type arch struct {
	// Audit is the AUDIT_ARCH_* value of native system calls; a call made through any other
	// convention (i386's int 0x80 on amd64, AArch32 on arm64) kills the process, since the rules
	// above name native numbers only.
	Audit uint32
	// X32Bit, when not 0, is a bit of the call number that marks another calling convention sharing
	// the native audit arch (x86-64's x32 ABI); calls with it set kill the process too.
	X32Bit uint32
}

// Offsets into struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// argLow is the offset of the low 32 bits of argument i. Both supported architectures are little
// endian, so the low half comes first.
func argLow(i int) uint32 { return offArgs + 8*uint32(i) }

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retKill  = unix.SECCOMP_RET_KILL_PROCESS
)

func retErrno(e unix.Errno) uint32 {
	return unix.SECCOMP_RET_ERRNO | (uint32(e) & unix.SECCOMP_RET_DATA)
}

// assemble turns the rules into a classic BPF program for seccomp. The program is:
//
//	  ld  arch                  ; a call through a foreign convention
//	  jeq #native, +1           ;   ...
//	  ret KILL_PROCESS          ;   dies
//	  ld  nr
//	  jset #x32bit, 0, +1       ; (amd64) an x32 call
//	  ret KILL_PROCESS          ;   dies
//	then per rule either (unconditional)
//	  jeq #nr, 0, +1
//	  ret ERRNO|e
//	or (with an argument match)
//	  jeq #nr, 0, +len          ; not this call: skip the block
//	  ld  arg_low
//	  jeq #v1, ->deny           ; one test per value ...
//	  jset #bits, ->deny        ; ... and one for the bits
//	  ret ALLOW                 ; this call, other arguments
//	deny:
//	  ret ERRNO|e
//	and at the end
//	  ret ALLOW
//
// Every block ends in returns, so the accumulator holds the call number whenever a block starts, and
// each jump stays inside its block (well under the 255 instructions a conditional jump can skip).
// Paths that never load an argument are constant per call number, which lets the kernel cache the
// verdict for every allowed call and skip the filter for it.
func assemble(a arch, rules []syscallRule) ([]bpf.Instruction, error) {
	seen := map[uint32]string{}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: a.Audit, SkipTrue: 1},
		bpf.RetConstant{Val: retKill},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if a.X32Bit != 0 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: a.X32Bit, SkipFalse: 1},
			bpf.RetConstant{Val: retKill},
		)
	}
	for _, r := range rules {
		if other, dup := seen[r.Nr]; dup {
			return nil, fmt.Errorf("seccomp policy: %s and %s are both call %d", other, r.Name, r.Nr)
		}
		seen[r.Nr] = r.Name
		if r.Errno == 0 {
			return nil, fmt.Errorf("seccomp policy: %s has no errno", r.Name)
		}
		if r.Arg == nil {
			prog = append(prog,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.Nr, SkipFalse: 1},
				bpf.RetConstant{Val: retErrno(r.Errno)},
			)
			continue
		}
		m := r.Arg
		if m.Index < 0 || m.Index > 5 {
			return nil, fmt.Errorf("seccomp policy: %s: argument %d does not exist", r.Name, m.Index)
		}
		var tests []bpf.JumpIf
		for _, v := range m.Equals {
			tests = append(tests, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v})
		}
		if m.AnyBit != 0 {
			tests = append(tests, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: m.AnyBit})
		}
		if len(tests) == 0 || len(tests) > 200 {
			return nil, fmt.Errorf("seccomp policy: %s: %d argument tests", r.Name, len(tests))
		}
		// Block after the first jump: ld, the tests, ret ALLOW, ret ERRNO.
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.Nr, SkipFalse: uint8(len(tests) + 3)},
			bpf.LoadAbsolute{Off: argLow(m.Index), Size: 4},
		)
		for i, t := range tests {
			// On a match skip the remaining tests and the ret ALLOW.
			t.SkipTrue = uint8(len(tests) - i)
			prog = append(prog, t)
		}
		prog = append(prog,
			bpf.RetConstant{Val: retAllow},
			bpf.RetConstant{Val: retErrno(r.Errno)},
		)
	}
	prog = append(prog, bpf.RetConstant{Val: retAllow})
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp policy: %d instructions, more than the kernel takes", len(prog))
	}
	return prog, nil
}
