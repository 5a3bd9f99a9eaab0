//go:build linux

package local

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// sysProcAttr starts a process as the leader of a new session (so of a new process group whose id
// is its pid, with no controlling terminal), and kills it when the thread that started it dies
// (Sesame crashed). Pdeathsig reaches the leader only; its descendants are caught by the session
// kill of a running Sesame, or, after a crash, by the OS-level layer's PID namespace.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}

// checkSysProcAttr refuses a command whose SysProcAttr lost what Exec's kill guarantees rest on.
func checkSysProcAttr(a *syscall.SysProcAttr) error {
	if a == nil || !a.Setsid || a.Pdeathsig != syscall.SIGKILL {
		return errors.New("SysProcAttr lacks Setsid or Pdeathsig=SIGKILL")
	}
	return nil
}

// signalSession sends sig to every process of the sandbox whose bubblewrap is session leader
// sid: the process group sid, every other live process of session sid, and every descendant of sid
// (the sandbox's processes, which bubblewrap's --new-session moved to sessions of their own inside
// its PID namespace). SIGTERM spares bubblewrap itself and the sandbox's PID 1 (sid and its direct
// children), whose death would SIGKILL the whole namespace at once: the command gets its grace.
func signalSession(sid int, sig syscall.Signal) {
	if sig != syscall.SIGTERM {
		_ = syscall.Kill(-sid, sig)
	}
	for _, p := range sessionMembers(sid) {
		if sig == syscall.SIGTERM && (p.pid == sid || p.ppid == sid) {
			continue
		}
		if p.pgrp != sid || sig == syscall.SIGTERM {
			_ = syscall.Kill(p.pid, sig)
		}
	}
}

// sessionAlive reports whether a process of group or session sid, or a descendant of sid, is
// still running; zombies do not count (they are dead, only not yet reaped by their new parent).
func sessionAlive(sid int) bool {
	return len(sessionMembers(sid)) > 0
}

type member struct{ pid, ppid, pgrp int }

// sessionMembers lists the live processes whose process group or session is sid, or that descend
// from sid, from /proc.
func sessionMembers(sid int) []member {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	type proc struct {
		member
		live, in bool
	}
	procs := map[int]*proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		state, ppid, pgrp, session, ok := parseStat(b)
		if !ok {
			continue
		}
		procs[pid] = &proc{member: member{pid: pid, ppid: ppid, pgrp: pgrp},
			live: state != 'Z' && state != 'X', in: pid == sid || pgrp == sid || session == sid}
	}
	var out []member
	for pid, p := range procs {
		in := p.in
		// A descendant of sid: walk up the parents (bounded, against a cycle of reused pids).
		for q, n := p, 0; !in && q != nil && n < 64; n++ {
			if q.ppid == sid {
				in = true
			}
			q = procs[q.ppid]
		}
		if in && p.live {
			out = append(out, member{pid: pid, ppid: p.ppid, pgrp: p.pgrp})
		}
	}
	return out
}

// parseStat reads the state, parent, process group and session of a /proc/PID/stat line:
// "pid (comm) state ppid pgrp session ...", where comm may hold spaces and parentheses.
func parseStat(b []byte) (state byte, ppid, pgrp, session int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return 0, 0, 0, 0, false
	}
	ppid, err0 := strconv.Atoi(string(f[1]))
	pgrp, err1 := strconv.Atoi(string(f[2]))
	session, err2 := strconv.Atoi(string(f[3]))
	if err0 != nil || err1 != nil || err2 != nil {
		return 0, 0, 0, 0, false
	}
	return f[0][0], ppid, pgrp, session, true
}
