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

// checkSysProcAttr refuses a command whose SysProcAttr (after Options.Wrap) lost what Exec's kill
// guarantees rest on.
func checkSysProcAttr(a *syscall.SysProcAttr) error {
	if a == nil || !a.Setsid || a.Pdeathsig != syscall.SIGKILL {
		return errors.New("the wrap hook dropped Setsid or Pdeathsig=SIGKILL from SysProcAttr")
	}
	return nil
}

// signalSession sends sig to the process group sid and to every other live process of session sid
// (processes that moved to a group of their own, as a shell with job control does).
func signalSession(sid int, sig syscall.Signal) {
	_ = syscall.Kill(-sid, sig)
	for _, p := range sessionMembers(sid) {
		if p.pgrp != sid {
			_ = syscall.Kill(p.pid, sig)
		}
	}
}

// sessionAlive reports whether a process of group or session sid is still running; zombies do not
// count (they are dead, only not yet reaped by their new parent).
func sessionAlive(sid int) bool {
	return len(sessionMembers(sid)) > 0
}

type member struct{ pid, pgrp int }

// sessionMembers lists the live processes whose process group or session is sid, from /proc.
func sessionMembers(sid int) []member {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []member
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		state, pgrp, session, ok := parseStat(b)
		if !ok || state == 'Z' || state == 'X' {
			continue
		}
		if pgrp == sid || session == sid {
			out = append(out, member{pid: pid, pgrp: pgrp})
		}
	}
	return out
}

// parseStat reads the state, process group and session of a /proc/PID/stat line:
// "pid (comm) state ppid pgrp session ...", where comm may hold spaces and parentheses.
func parseStat(b []byte) (state byte, pgrp, session int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return 0, 0, 0, false
	}
	pgrp, err1 := strconv.Atoi(string(f[2]))
	session, err2 := strconv.Atoi(string(f[3]))
	if err1 != nil || err2 != nil {
		return 0, 0, 0, false
	}
	return f[0][0], pgrp, session, true
}
