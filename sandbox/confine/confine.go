// Package confine is the second wall around an agent: run inside the sandbox (after bubblewrap set
// up its namespaces and mounts), it confines its own process for good with Landlock and a seccomp
// filter, then the caller execve()s the agent, which inherits both and can shed neither.
//
// Landlock limits which files the process and everything it starts may read, write and execute:
// paths in [Rules.ReadWrite] with every access, paths in [Rules.ReadOnly] to read and execute,
// nothing else. With Landlock ABI 7 and later every denial, also those of programs executed after
// [Apply], is written to the kernel's audit log, where package audit reads it.
//
// The seccomp filter refuses what Landlock does not cover and a coding agent has no use for: local
// (AF_UNIX, AF_VSOCK) sockets, io_uring, ptrace and the like, namespaces and mounts, keyrings, bpf,
// and the calls that act on the whole machine. See policy for the list and why each is there. The
// network is not restricted here: the sandbox's network namespace and the egress proxy handle it.
package confine

// Rules say what a confined process may touch. Paths should be absolute; a path that does not exist
// is skipped. A rule on a directory covers everything beneath it, across mount points.
type Rules struct {
	// ReadWrite are directories and files with full access: the workspace, its home, /tmp, /dev.
	ReadWrite []string
	// ReadOnly are directories and files to read and execute: the system folders (/usr, /bin, /lib*,
	// /etc, /opt, ...), the agent's install folders, the mirror's objects, /proc.
	ReadOnly []string
}
