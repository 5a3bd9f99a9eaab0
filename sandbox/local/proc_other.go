//go:build unix && !linux

package local

import (
	"errors"
	"syscall"
)

// sysProcAttr starts a process as the leader of a new session (so of a new process group whose id
// is its pid). Outside Linux there is no parent-death signal: a crashed Sesame leaves it running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}

// checkSysProcAttr refuses a command whose SysProcAttr lost Setsid.
func checkSysProcAttr(a *syscall.SysProcAttr) error {
	if a == nil || !a.Setsid {
		return errors.New("SysProcAttr lacks Setsid")
	}
	return nil
}

// signalSession sends sig to the process group sid. Without /proc, processes that moved to a
// group of their own are not reached.
func signalSession(sid int, sig syscall.Signal) {
	_ = syscall.Kill(-sid, sig)
}

// sessionAlive reports whether process group sid still has a member (zombies included).
func sessionAlive(sid int) bool {
	err := syscall.Kill(-sid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
