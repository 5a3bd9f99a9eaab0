package docker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sesame-works/sesame/sandbox/confine"
	"github.com/sesame-works/sesame/sandbox/egress"
	"github.com/sesame-works/sesame/sandbox/preview"
)

// The init binary (the sesame binary, or any program that calls MaybeRunInit, built static) is
// bind-mounted read-only into every container at initPath and plays three parts there:
//
//   - serveArg: the container's main process (PID 1). It reaps orphans and, for a secured
//     sandbox, relays 127.0.0.1:ProxyPort to the task's egress proxy socket; with a preview
//     socket it serves the task's previews (preview.Serve) from the container's network.
//   - execArg: the process every Exec starts. It runs the command as the leader of a new session,
//     forwards stop requests to that whole session, kills what the command left behind when it
//     exits, and exits with the command's status (128+N when signal N killed it).
//   - signalArg: a short-lived helper Exec runs to stop another exec: it finds that exec's stage
//     by its id and signals it (SIGTERM: pass SIGTERM on to the session; SIGUSR1: SIGKILL it).
const (
	serveArg  = "__sesame-docker-serve"
	execArg   = "__sesame-docker-exec"
	signalArg = "__sesame-docker-signal"
)

// MaybeRunInit runs one of the in-container stages and exits when the process was started as one
// (os.Args[1] is a stage name); otherwise it returns at once. A program whose binary serves as
// Options.Init calls it first thing in main.
func MaybeRunInit() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case serveArg:
		os.Exit(runServe(os.Args[2:]))
	case execArg:
		os.Exit(runExec(os.Args[2:]))
	case signalArg:
		os.Exit(runSignal(os.Args[2:]))
	}
}

// runServe is PID 1 of the container: it reaps every orphan and runs the proxy relay until the
// container is stopped.
func runServe(args []string) int {
	fs := flag.NewFlagSet(serveArg, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	proxy := fs.String("proxy", "", "proxy socket")
	port := fs.Int("port", ProxyPort, "relay port")
	gateway := fs.String("preview", "", "preview gateway socket")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, "sesame docker init:", err)
		return 2
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT)
	if *proxy != "" {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "sesame docker init: proxy relay:", err)
			return 1
		}
		go egress.Relay(l, *proxy)
	}
	if *gateway != "" {
		go preview.Serve(context.Background(), *gateway, *port)
	}
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return 0
		}
		for {
			var st syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &st, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}

// runExec runs the command in a new session and waits for it. SIGTERM is passed on to the whole
// session; SIGUSR1 kills it. When the command exits, what is left of its session gets SIGTERM and,
// after the grace period, SIGKILL.
func runExec(args []string) int {
	fs := flag.NewFlagSet(execArg, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("id", "", "exec id, for the signal stage")
	grace := fs.Duration("grace", DefaultKillGrace, "time between SIGTERM and SIGKILL for leftovers")
	filter := fs.Bool("seccomp", false, "load Sesame's seccomp filter before the command")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "sesame docker exec: bad arguments")
		return 126
	}
	argv := fs.Args()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sesame docker exec:", err)
		return 127
	}
	if *filter {
		// Before the command starts, on this stage too: it needs none of what the filter refuses.
		if err := confine.ApplySeccomp(); err != nil {
			fmt.Fprintln(os.Stderr, "sesame docker exec: seccomp:", err)
			return 126
		}
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "sesame docker exec:", err)
		return 126
	}
	sid := cmd.Process.Pid
	go func() {
		for s := range sigs {
			if s == syscall.SIGUSR1 {
				// Again until nothing is left: a process may fork while the first round runs.
				for range 50 {
					killSession(sid, syscall.SIGKILL)
					time.Sleep(10 * time.Millisecond)
					if len(sessionMembers(sid)) == 0 {
						break
					}
				}
			} else {
				killSession(sid, syscall.SIGTERM)
			}
		}
	}()
	_ = cmd.Wait()
	// Leftovers of the session: TERM, then KILL after the grace period.
	if len(sessionMembers(sid)) > 0 {
		killSession(sid, syscall.SIGTERM)
		deadline := time.Now().Add(*grace)
		for len(sessionMembers(sid)) > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		for range 100 {
			if len(sessionMembers(sid)) == 0 {
				break
			}
			killSession(sid, syscall.SIGKILL)
			time.Sleep(10 * time.Millisecond)
		}
	}
	st, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if st.Signaled() {
		return 128 + int(st.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// killSession sends sig to the process group sid and to every process still in session sid (one
// that moved to another group of the session).
func killSession(sid int, sig syscall.Signal) {
	_ = syscall.Kill(-sid, sig)
	for _, pid := range sessionMembers(sid) {
		_ = syscall.Kill(pid, sig)
	}
}

// sessionMembers lists the live (not zombie) processes of session sid, from /proc, and every
// descendant of one of them that left the session (setsid) while its parent still lives.
func sessionMembers(sid int) []int {
	type proc struct{ ppid, sid int }
	procs := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, s, ok := procStat(pid); ok && state != "Z" {
			procs[pid] = proc{ppid, s}
		}
	}
	in := map[int]bool{}
	for pid, p := range procs {
		if p.sid == sid {
			in[pid] = true
		}
	}
	for grew := true; grew; {
		grew = false
		for pid, p := range procs {
			if !in[pid] && in[p.ppid] {
				in[pid], grew = true, true
			}
		}
	}
	pids := make([]int, 0, len(in))
	for pid := range in {
		pids = append(pids, pid)
	}
	return pids
}

// procStat reads a process's state, parent and session from /proc/PID/stat.
func procStat(pid int) (state string, ppid, sid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, 0, false
	}
	// The command name is in parentheses and may hold anything; the fields follow the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return "", 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	sid, _ = strconv.Atoi(f[3])
	return f[0], ppid, sid, true
}

// runSignal finds the exec stage started with -id ID and sends it SIGTERM ("term") or SIGUSR1
// ("kill"). It exits 0 when it signalled one, 1 when none runs (already gone).
func runSignal(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "sesame docker signal: want ID term|kill")
		return 2
	}
	id, which := args[0], args[1]
	sig := syscall.SIGTERM
	if which == "kill" {
		sig = syscall.SIGUSR1
	}
	pid, err := findExec(id)
	if err != nil {
		return 1
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return 1
	}
	return 0
}

// findExec returns the pid of the exec stage whose command line holds "-id" id.
func findExec(id string) (int, error) {
	entries, _ := os.ReadDir("/proc")
	want := "\x00" + execArg + "\x00-id\x00" + id + "\x00"
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), want) {
			return pid, nil
		}
	}
	return 0, errors.New("no such exec")
}
