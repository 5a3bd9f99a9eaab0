// Package audit reads Landlock's denials from the kernel's audit log as they happen, without
// auditd: it joins the audit netlink socket's read-only multicast group, turns the records of each
// audit event into a [Denial], and hands it to a callback.
//
// With Landlock ABI 7 and later the kernel logs every access a Landlock domain refuses (package
// confine asks for this also after execve). Each refusal is one audit event: one
// AUDIT_LANDLOCK_ACCESS record per denied object (domain, blockers, path), an AUDIT_LANDLOCK_DOMAIN
// record describing the domain the first time it shows (its creator's pid, exe and comm), and, for a
// process the kernel keeps an audit context for, an AUDIT_SYSCALL record naming the refused process
// (pid, exe, comm), all under the same serial and closed by AUDIT_EOE. The formats are those of
// Documentation/admin-guide/LSM/landlock.rst and security/landlock/audit.c in the kernel.
package audit

import (
	"strings"

	sesame "github.com/sesame-works/sesame"
)

// Denial is one access a Landlock domain refused.
type Denial struct {
	// Domain is the id of the Landlock domain that refused, in hex as the kernel writes it. A domain
	// is created by confine.Apply and shared by every process the confined one starts.
	Domain string
	// Pid is the process that was refused (in the initial PID namespace). It comes from the event's
	// SYSCALL record; a process the kernel keeps no audit context for (one started before auditing
	// was turned on) has none, and then Pid is DomainPid.
	Pid int
	// DomainPid is the process that created the domain (the one that called confine.Apply, which
	// then executed the agent), 0 while no record about the domain has been seen.
	DomainPid int
	// Path is the file or folder the access was refused on. For a request about a folder's entries
	// (creating, removing, renaming) it is the folder. For some requests the kernel knows only the
	// entry's name, and then Path is that name, not absolute.
	Path string
	// Blockers are the access rights that were missing, as the kernel names them: fs.read_file,
	// fs.write_file, fs.execute, fs.make_reg, fs.remove_file, fs.refer, ...
	Blockers []string
	// Exe and Comm are the refused process's program and command name (from the SYSCALL record, or
	// else the domain creator's).
	Exe, Comm string
}

// accessWords maps blockers to an access word, strongest first: a denial missing several rights is
// named after the first that appears here.
var accessWords = []struct{ prefix, word string }{
	{"fs.write_file", "write"},
	{"fs.truncate", "write"},
	{"fs.make_", "create"},
	{"fs.remove_", "remove"},
	{"fs.refer", "rename"},
	{"fs.execute", "execute"},
	{"fs.read_", "read"},
	{"fs.ioctl_dev", "ioctl"},
	{"fs.change_topology", "mount"},
	{"net.bind_", "bind"},
	{"net.connect_", "connect"},
	{"scope.abstract_unix_socket", "connect"},
	{"scope.signal", "signal"},
	{"ptrace", "ptrace"},
}

// Access names what the refused process tried, in one word: "read", "write", "execute",
// "create", "remove", "rename", "ioctl", ...; "" if no blocker is known.
func (d Denial) Access() string {
	for _, w := range accessWords {
		for _, b := range d.Blockers {
			if strings.HasPrefix(b, w.prefix) {
				return w.word
			}
		}
	}
	return ""
}

// Violation is d as a sesame.Violation of the file system.
func (d Denial) Violation() sesame.Violation {
	return sesame.Violation{
		Kind:   sesame.ViolationFilesystem,
		Target: d.Path,
		Access: d.Access(),
		Reason: "outside the folders the agent may " + verbFor(d.Access()) + " (Landlock: " + strings.Join(d.Blockers, ",") + ")",
	}
}

func verbFor(access string) string {
	switch access {
	case "read", "execute":
		return "read"
	case "":
		return "use"
	}
	return "write"
}
