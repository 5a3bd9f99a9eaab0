//go:build linux && (amd64 || arm64)

package confine

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// call is one system call as the filter sees it.
type call struct {
	arch uint32
	nr   uint32
	args []uint64
}

// seccompData lays c out as the kernel's struct seccomp_data on a little-endian machine: the
// filter's 32-bit loads see nr, arch, and the low then the high half of each argument. The words are
// written big endian because bpf.VM, made for packets, loads in network order.
func (c call) seccompData() []byte {
	d := make([]byte, 64)
	binary.BigEndian.PutUint32(d[offNr:], c.nr)
	binary.BigEndian.PutUint32(d[offArch:], c.arch)
	for i, a := range c.args {
		binary.BigEndian.PutUint32(d[argLow(i):], uint32(a))
		binary.BigEndian.PutUint32(d[argLow(i)+4:], uint32(a>>32))
	}
	return d
}

func mustAssemble(t testing.TB, a arch, rules []syscallRule) *bpf.VM {
	t.Helper()
	prog, err := assemble(a, rules)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("the kernel would refuse the program: %v", err)
	}
	return vm
}

func verdict(t *testing.T, vm *bpf.VM, c call) string {
	t.Helper()
	out, err := vm.Run(c.seccompData())
	if err != nil {
		t.Fatal(err)
	}
	return retName(uint32(out))
}

func retName(r uint32) string {
	switch {
	case r == retAllow:
		return "allow"
	case r == retKill:
		return "kill"
	case r&unix.SECCOMP_RET_ACTION_FULL == unix.SECCOMP_RET_ERRNO:
		return unix.ErrnoName(unix.Errno(r & unix.SECCOMP_RET_DATA))
	}
	return fmt.Sprintf("%#x", r)
}

// deniedCalls is the policy written out again, independently of policy(): removing a rule there
// fails TestPolicy.
var deniedCalls = map[string]uintptr{
	"io_uring_setup": unix.SYS_IO_URING_SETUP, "io_uring_enter": unix.SYS_IO_URING_ENTER,
	"io_uring_register": unix.SYS_IO_URING_REGISTER,
	"ptrace":            unix.SYS_PTRACE, "process_vm_readv": unix.SYS_PROCESS_VM_READV,
	"process_vm_writev": unix.SYS_PROCESS_VM_WRITEV, "pidfd_getfd": unix.SYS_PIDFD_GETFD,
	"mount": unix.SYS_MOUNT, "umount2": unix.SYS_UMOUNT2, "pivot_root": unix.SYS_PIVOT_ROOT,
	"move_mount": unix.SYS_MOVE_MOUNT, "open_tree": unix.SYS_OPEN_TREE,
	"open_tree_attr": unix.SYS_OPEN_TREE_ATTR, "fsopen": unix.SYS_FSOPEN,
	"fsconfig": unix.SYS_FSCONFIG, "fsmount": unix.SYS_FSMOUNT, "fspick": unix.SYS_FSPICK,
	"mount_setattr": unix.SYS_MOUNT_SETATTR,
	"unshare":       unix.SYS_UNSHARE, "setns": unix.SYS_SETNS,
	"keyctl": unix.SYS_KEYCTL, "add_key": unix.SYS_ADD_KEY, "request_key": unix.SYS_REQUEST_KEY,
	"bpf": unix.SYS_BPF, "perf_event_open": unix.SYS_PERF_EVENT_OPEN,
	"userfaultfd": unix.SYS_USERFAULTFD,
	"kexec_load":  unix.SYS_KEXEC_LOAD, "kexec_file_load": unix.SYS_KEXEC_FILE_LOAD,
	"init_module": unix.SYS_INIT_MODULE, "finit_module": unix.SYS_FINIT_MODULE,
	"delete_module": unix.SYS_DELETE_MODULE,
	"acct":          unix.SYS_ACCT, "swapon": unix.SYS_SWAPON, "swapoff": unix.SYS_SWAPOFF,
	"reboot": unix.SYS_REBOOT, "quotactl": unix.SYS_QUOTACTL, "quotactl_fd": unix.SYS_QUOTACTL_FD,
	"name_to_handle_at": unix.SYS_NAME_TO_HANDLE_AT, "open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT,
}

func TestPolicy(t *testing.T) {
	native := nativeArch()
	vm := mustAssemble(t, native, policy())
	sys := func(nr uintptr, args ...uint64) call { return call{arch: native.Audit, nr: uint32(nr), args: args} }

	type tc struct {
		name string
		call call
		want string
	}
	tests := []tc{
		{"read", sys(unix.SYS_READ, 0, 0, 0), "allow"},
		{"write", sys(unix.SYS_WRITE, 1, 0, 0), "allow"},
		{"openat", sys(unix.SYS_OPENAT, 0, 0, 0), "allow"},
		{"execve", sys(unix.SYS_EXECVE, 0, 0, 0), "allow"},
		{"getpid", sys(unix.SYS_GETPID), "allow"},
		{"seccomp (stacking more filters)", sys(unix.SYS_SECCOMP, 1, 0, 0), "allow"},

		{"socket(AF_UNIX)", sys(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM, 0), "EPERM"},
		{"socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC)", sys(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0), "EPERM"},
		{"socket(AF_VSOCK)", sys(unix.SYS_SOCKET, unix.AF_VSOCK, unix.SOCK_STREAM, 0), "EPERM"},
		{"socket(AF_UNIX) with garbage in the high half", sys(unix.SYS_SOCKET, 1<<32|unix.AF_UNIX, unix.SOCK_STREAM, 0), "EPERM"},
		{"socket(AF_INET)", sys(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, 0), "allow"},
		{"socket(AF_INET6)", sys(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_DGRAM, 0), "allow"},
		{"socket(AF_NETLINK)", sys(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, 0), "allow"},
		{"socket(AF_UNIX) in the type argument only", sys(unix.SYS_SOCKET, unix.AF_INET, unix.AF_UNIX, 0), "allow"},
		{"socketpair(AF_UNIX)", sys(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM, 0, 0), "allow"},

		{"clone for fork", sys(unix.SYS_CLONE, uint64(unix.SIGCHLD)), "allow"},
		{"clone for a thread", sys(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|
			unix.CLONE_THREAD|unix.CLONE_SYSVSEM|unix.CLONE_SETTLS|unix.CLONE_PARENT_SETTID|unix.CLONE_CHILD_CLEARTID), "allow"},
		{"clone for vfork", sys(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD)), "allow"},
		{"clone3", sys(unix.SYS_CLONE3, 0, 88), "ENOSYS"},

		{"foreign arch: i386", call{arch: unix.AUDIT_ARCH_I386, nr: 20}, "kill"},
		{"foreign arch: the other 64-bit one", call{arch: otherArch(native), nr: uint32(unix.SYS_GETPID)}, "kill"},
	}
	for name, flag := range map[string]uint64{
		"CLONE_NEWUSER": unix.CLONE_NEWUSER, "CLONE_NEWNS": unix.CLONE_NEWNS, "CLONE_NEWPID": unix.CLONE_NEWPID,
		"CLONE_NEWNET": unix.CLONE_NEWNET, "CLONE_NEWIPC": unix.CLONE_NEWIPC, "CLONE_NEWUTS": unix.CLONE_NEWUTS,
		"CLONE_NEWCGROUP": unix.CLONE_NEWCGROUP,
	} {
		tests = append(tests, tc{"clone(" + name + ")", sys(unix.SYS_CLONE, flag|uint64(unix.SIGCHLD)), "EPERM"})
	}
	for name, nr := range deniedCalls {
		tests = append(tests, tc{name, sys(nr, 0, 0, 0, 0, 0, 0), "EPERM"})
	}
	if native.X32Bit != 0 {
		tests = append(tests,
			tc{"x32 getpid", sys(unix.SYS_GETPID | uintptr(native.X32Bit)), "kill"},
			tc{"x32 read", sys(unix.SYS_READ | uintptr(native.X32Bit)), "kill"},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verdict(t, vm, tt.call); got != tt.want {
				t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

// TestPolicyIsTested fails when policy() gains a rule that TestPolicy does not check.
func TestPolicyIsTested(t *testing.T) {
	for _, r := range policy() {
		switch r.Name {
		case "socket", "clone", "clone3":
			continue
		}
		if nr, ok := deniedCalls[r.Name]; !ok || uint32(nr) != r.Nr {
			t.Errorf("rule %s (%d) is not in deniedCalls", r.Name, r.Nr)
		}
	}
}

func otherArch(a arch) uint32 {
	if a.Audit == unix.AUDIT_ARCH_X86_64 {
		return unix.AUDIT_ARCH_AARCH64
	}
	return unix.AUDIT_ARCH_X86_64
}

func TestAssemble(t *testing.T) {
	a := arch{Audit: unix.AUDIT_ARCH_X86_64, X32Bit: 0x40000000}
	tests := []struct {
		name    string
		rules   []syscallRule
		wantErr string
	}{
		{"empty policy", nil, ""},
		{"duplicate call", []syscallRule{{Name: "a", Nr: 1, Errno: unix.EPERM}, {Name: "b", Nr: 1, Errno: unix.EPERM}}, "both call 1"},
		{"no errno", []syscallRule{{Name: "a", Nr: 1}}, "no errno"},
		{"argument 6", []syscallRule{{Name: "a", Nr: 1, Errno: unix.EPERM, Arg: &argMatch{Index: 6, AnyBit: 1}}}, "does not exist"},
		{"no argument test", []syscallRule{{Name: "a", Nr: 1, Errno: unix.EPERM, Arg: &argMatch{Index: 0}}}, "0 argument tests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := assemble(a, tt.rules)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}

	// Several argument rules one after the other, each falling through to the next when its call
	// number does not match, and answering for its own call whatever the arguments.
	rules := []syscallRule{
		{Name: "a", Nr: 10, Errno: unix.EPERM, Arg: &argMatch{Index: 1, Equals: []uint32{7, 8, 9}}},
		{Name: "b", Nr: 11, Errno: unix.EACCES, Arg: &argMatch{Index: 5, Equals: []uint32{1}, AnyBit: 0xf0}},
		{Name: "c", Nr: 12, Errno: unix.ENOSYS},
	}
	vm := mustAssemble(t, a, rules)
	sys := func(nr uint32, args ...uint64) call { return call{arch: a.Audit, nr: nr, args: args} }
	for _, tt := range []struct {
		call call
		want string
	}{
		{sys(10, 0, 7), "EPERM"}, {sys(10, 0, 9), "EPERM"}, {sys(10, 7, 6), "allow"}, {sys(10, 0, 10), "allow"},
		{sys(11, 0, 0, 0, 0, 0, 1), "EACCES"}, {sys(11, 0, 0, 0, 0, 0, 0x10), "EACCES"},
		{sys(11, 0, 0, 0, 0, 0, 2), "allow"}, {sys(11, 1, 1, 1, 1, 1, 0x100), "allow"},
		{sys(12), "ENOSYS"}, {sys(13, 7, 7), "allow"}, {sys(9), "allow"},
	} {
		if got := verdict(t, vm, tt.call); got != tt.want {
			t.Errorf("call %d%v: got %s, want %s", tt.call.nr, tt.call.args, got, tt.want)
		}
	}
}

func TestPolicyFitsTheKernelCache(t *testing.T) {
	// Not a correctness property, a cost one: the kernel skips the filter for calls whose verdict
	// does not depend on the arguments, if the program only loads nr and arch on their way. Check
	// that allowed calls never load an argument.
	prog, err := assemble(nativeArch(), policy())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions on %s", len(prog), runtime.GOARCH)
	loadsArg := 0
	for _, ins := range prog {
		if ld, ok := ins.(bpf.LoadAbsolute); ok && ld.Off >= offArgs {
			loadsArg++
		}
	}
	if loadsArg != 2 { // socket's domain, clone's flags
		t.Errorf("%d argument loads, want 2", loadsArg)
	}
}
